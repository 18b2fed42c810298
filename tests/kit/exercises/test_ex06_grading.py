"""Each classic ex06 mistake, planted in a copy of the solutions, loses exactly its own
check's points and is named by the feedback (fast checks only; the training checks are
deselected). The mistakes sit in independent functions, so one submission carries them all:
the frames, the filter bank and the phoneme model stay right and keep their points.
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
