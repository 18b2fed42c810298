"""Each classic ex06 mistake, planted in a copy of the solutions, loses exactly its own
check's points and is named by the feedback (fast checks only; the training checks are
deselected). The mistakes sit in independent functions, so one submission carries them all:
the frames, the filter bank and the phoneme model stay right and keep their points.

Below, the corpus of classic mistakes (issue 24): mistakes planted in a correct module written
in another style (tests/kit/exercises/styled/), four more gradings (`-k corpus`).
"""
import json
import shutil
import subprocess
import sys

import pytest

from rnnkit import KIT_ROOT

SOURCE = (KIT_ROOT / "solutions" / "ex06_speech.py").read_text()

PLANTS = {  # check title: (old, new, words the feedback must contain)
    "power_spectrogram equals": (
        "return tf.math.real(spectrum) ** 2 + tf.math.imag(spectrum) ** 2",
        "return tf.abs(spectrum)", "the magnitude |X|, not the power"),
    "log_mel_spectrogram is": (
        "return ops.log(ops.matmul(power, filter_bank) + log_offset)",
        "return ops.log(ops.matmul(power, filter_bank) + log_offset) / np.log(10.0)",
        "that is log10"),
    "mfcc equals": (
        "return ops.matmul(log_mel, basis.astype(np.float32))",
        "return ops.matmul(log_mel, (basis * np.where(j == 0, 0.5 ** 0.5, 1.0))"
        ".astype(np.float32))", "only c0 differs"),
    "ctc_greedy_decode equals": (
        "        keep[1:] = path[1:] != path[:-1]",
        "        path = path[path != 0]\n        keep = np.ones(len(path), dtype=bool)\n"
        "        keep[1:] = path[1:] != path[:-1]", "merge repeated classes first"),
    "ctc_loss equals": (
        "label_length = ops.sum(ops.cast(labels != 0, \"int32\"), axis=-1)",
        "label_length = ops.full((ops.shape(labels)[0],), ops.shape(labels)[1], dtype=\"int32\")",
        "count only the non-zero labels"),
    "build_word_model equals": (
        "masked = layers.Masking(mask_value=0.0)(inputs)", "masked = inputs",
        "reads the zero padding"),
}
KEPT = {"frame_signal equals": 1, "mel_filter_bank equals": 2, "build_phoneme_model equals": 1}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ex06_plants")
    source = SOURCE
    for old, new, _ in PLANTS.values():
        assert source.count(old) == 1, f"the plant no longer matches the solution: {old!r}"
        source = source.replace(old, new)
    (folder / "ex06_speech.py").write_text(source)
    for name in ("ex01_simple_rnn.py", "ex03_gated_cells.py"):
        shutil.copyfile(KIT_ROOT / "solutions" / name, folder / name)
    out = folder / "results.json"
    subprocess.run([sys.executable, "-m", "pytest", str(KIT_ROOT / "tests/grading/test_ex06.py"),
                    "--target", str(folder), "--rnnkit-json", str(out), "-k", "not recognition",
                    "-p", "no:terminal", "-p", "no:cacheprovider"],
                   cwd=KIT_ROOT, capture_output=True, timeout=900)
    return json.loads(out.read_text())["tests"]


def find(graded, check):
    matches = [test for test in graded if test["name"].startswith(f"ex06 {check}")]
    assert len(matches) == 1, f"{check} not found in {[t['name'] for t in graded]}"
    return matches[0]


@pytest.mark.parametrize("check", sorted(PLANTS))
def test_each_mistake_loses_its_check_and_is_named(graded, check):
    test = find(graded, check)
    assert test["score"] == 0, test
    assert PLANTS[check][2] in test["output"], test["output"]


@pytest.mark.parametrize("check", sorted(KEPT))
def test_the_right_parts_keep_their_points(graded, check):
    test = find(graded, check)
    assert test["score"] == test["max_score"] == KEPT[check], test["output"]


def test_unfinished_ex03_costs_ex06_nothing(tmp_path):
    """With ex03's cells still stubs, Keras's cells stand in: every ex06 point, and a note."""
    shutil.copyfile(KIT_ROOT / "solutions" / "ex06_speech.py", tmp_path / "ex06_speech.py")
    for name in ("ex01_simple_rnn.py", "ex03_gated_cells.py"):
        shutil.copyfile(KIT_ROOT / "exercises" / name, tmp_path / name)
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "pytest", str(KIT_ROOT / "tests/grading/test_ex06.py"),
                    "--target", str(tmp_path), "--rnnkit-json", str(out),
                    "-p", "no:terminal", "-p", "no:cacheprovider"],
                   cwd=KIT_ROOT, capture_output=True, timeout=900)
    document = json.loads(out.read_text())
    lost = [(t["name"], t["output"]) for t in document["tests"] if t["score"] < t["max_score"]]
    assert not lost and len(document["tests"]) == 11, lost
    # an earlier exercise's stub is recognised as such: one short note, no traceback text
    for cell in ("GRUCell", "LSTMCell"):
        assert (f"your {cell} (from ex03, ex03_gated_cells.py) is not written yet: "
                f"keras.layers.{cell} stood in") in document["output"], document["output"]
    assert "NotImplementedError" not in document["output"], document["output"]


# -- the corpus of classic mistakes (issue 24), planted in a correct module of another style --
# tests/kit/exercises/styled/ex06_speech.py (NumPy frames, FFT and DCT by hand, tf.nn's CTC
# loss, itertools.groupby). One grading per group of mistakes that hit different checks; the
# training checks run only where a mistake concerns them (the CTC ones: a model trained and
# read with a wrong CTC is not credited, pointing to the check that names it; they fail before
# anything trains). Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex06_grading.py -k corpus
from corpus import (assert_named_where_it_costs,  # noqa: E402
                    assert_untouched_checks_keep_their_points)
from corpus import Group, Mistake, cases, grade_groups  # noqa: E402
from corpus import find as find_named  # noqa: E402  (find above reads a results list)

FRAMES = "frame_signal equals tf.signal.frame(pad_end=True), also for waves shorter than a frame"
POWER = "power_spectrogram equals"
LOSS = "ctc_loss equals keras.ops.ctc_loss"
DECODE = "ctc_greedy_decode equals keras.ops.ctc_decode"
PHONEMES = "Trained with CTC, your phoneme model transcribes"
SAME_FRAMES = [f"same cause as '{FRAMES}'", "fix frame_signal first"]
CORPUS = {
    "frame step equal to the frame length": Mistake(
        [("    count = -(-length // frame_step)\n", "    count = -(-length // frame_length)\n"),
         ("    padded = np.zeros((batch, max(length, (count - 1) * frame_step + frame_length)), "
          "np.float32)\n", "    padded = np.zeros((batch, count * frame_length), np.float32)\n"),
         ("    index = np.arange(count)[:, None] * frame_step + np.arange(frame_length)[None, :]\n"
          "    return padded[:, index]", "    return padded.reshape(batch, count, frame_length)")],
        {FRAMES: ["your frames do not overlap", "f * frame_step"], POWER: SAME_FRAMES}),
    "no end padding": Mistake(
        [("    count = -(-length // frame_step)\n",
          "    count = 1 + (length - frame_length) // frame_step if length >= frame_length else 0\n")],
        {FRAMES: ["no end padding", "pad_end=True"], POWER: SAME_FRAMES}),
    "magnitude spectrum": Mistake(
        [("return (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)",
          "return np.abs(spectrum).astype(np.float32)")],
        {POWER: ["the magnitude |X|, not the power"]}),
    "symmetric window": Mistake(
        [("hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / frame_length)",
          "hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / (frame_length - 1))")],
        {POWER: ["a symmetric Hann window", "periodic=True"]}),
    "log without its offset": Mistake(
        [("return np.log(np.asarray(power) @ np.asarray(filter_bank) + log_offset)",
          "return np.log(np.asarray(power) @ np.asarray(filter_bank))")],
        {"log_mel_spectrogram is": ["a silent frame", "the log needs its offset"]}),
    "CTC label length": Mistake(
        [("    label_length = tf.math.count_nonzero(labels, axis=1, dtype=tf.int32)",
          "    label_length = tf.fill([tf.shape(labels)[0]], tf.shape(labels)[1])")],
        {LOSS: ["count only the non-zero labels"],
         PHONEMES: ["not credited", "your ctc_loss", f"'{LOSS}"]}),
    "merge order": Mistake(
        [("itertools.groupby(path[:end]) if k != blank]",
          "itertools.groupby(c for c in path[:end] if c != blank)]")],
        {DECODE: ["merge repeated classes first, then drop the blanks"],
         PHONEMES: ["not credited", "your ctc_greedy_decode", f"'{DECODE}"]}),
    "decoding every frame (lengths ignored)": Mistake(
        [("        end = len(path) if lengths is None else int(lengths[n])",
          "        end = len(path)")],
        {DECODE: ["you decoded every frame", "lengths[n]"]}),
    "CTC blank taken as the last class": Mistake(
        [("                          blank_index=0)", "                          blank_index=-1)"),
         ("    blank = 0\n", "    blank = np.shape(logits)[-1] - 1\n")],
        {LOSS: ["LAST class (13) as the CTC blank", "class 0"],
         DECODE: ["LAST class (13) as the CTC blank"],
         PHONEMES: ["not credited", "your ctc_loss", f"'{LOSS}"]}),
    # right when called eagerly, but fit calls a compiled loss in a tf.function
    "ctc_loss written with NumPy": Mistake(
        [("    label_length = tf.math.count_nonzero(labels, axis=1, dtype=tf.int32)",
          "    label_length = np.count_nonzero(np.asarray(labels), axis=1).astype(np.int32)")],
        {LOSS: ["ctc_loss is called inside a tf.function during training",
                "np.asarray on a symbolic tensor fail there", "use tf/keras.ops"]}),
    "missing mask (word model)": Mistake(
        [("                             layers.Masking(mask_value=0.0),\n", "")],
        {"build_word_model equals": ["reads the zero padding", "Masking(0.0)"],
         "Trained on 32 speakers, your word model": ["not credited", "build_word_model"]}),
}
QUICK_AND_PHONEMES = "not word_recognition"     # the word training concerns no mistake here
GROUPS = {
    "frame step, log offset, blank, word mask": Group(
        ("frame step equal to the frame length", "log without its offset",
         "CTC blank taken as the last class", "missing mask (word model)"), training=True),
    "end padding, label length, lengths": Group(("no end padding", "CTC label length",
                                                 "decoding every frame (lengths ignored)"),
                                       selection=QUICK_AND_PHONEMES, training=True),
    "magnitude, merge order": Group(("magnitude spectrum", "merge order"),
                                    selection=QUICK_AND_PHONEMES, training=True),
    "symmetric window, NumPy CTC loss": Group(("symmetric window", "ctc_loss written with NumPy"),
                                              selection="power or ctc_loss"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return grade_groups("ex06", CORPUS, GROUPS, tmp_path_factory.mktemp("ex06_corpus"))


@pytest.mark.parametrize("group, mistake, check, words", cases(CORPUS, GROUPS))
def test_corpus_each_mistake_is_named_where_it_costs(corpus, group, mistake, check, words):
    assert_named_where_it_costs(find_named(corpus[group], check), mistake, words)


@pytest.mark.parametrize("group", list(GROUPS))
def test_corpus_checks_no_mistake_names_keep_their_points(corpus, group):
    assert_untouched_checks_keep_their_points(CORPUS, GROUPS, corpus, group)
