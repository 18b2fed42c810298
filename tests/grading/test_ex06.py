"""Grading ex06 — speech recognition: features, words with masking, phonemes with CTC
(`ex06_speech.py`).

Features: each stage is compared with tf.signal's ready-made helpers (`frame`, `stft`,
`linear_to_mel_weight_matrix`, `mfccs_from_log_mel_spectrograms`), on waveforms of several
lengths including one shorter than a frame; each stage gets the grader's own input (the log
mel energies a power spectrogram with silent frames, whose log needs the offset), so one
mistake costs one check (a power spectrogram built on a wrong frame_signal says "same cause").
CTC: the student's loss against `keras.ops.ctc_loss`, the greedy decoder against
`keras.ops.ctc_decode` on fixed logits (all blank, repeats with and without a blank between
them, shorter lengths). Models: the student's builders with given weights against the same
architecture made of Keras's own layers; then trained (in the student's process, on the
grader's features of 32 training speakers) and scored here, in Keras's layers, on 16 test
speakers whose features and labels never leave the grader. The phoneme model is trained with
Keras's CTC loss and decoded by keras.ops.ctc_decode, which stand for the student's CTC
functions (main() trains and reads it with them) only when those equal Keras's: a wrong blank,
label length or merge order leaves that training not credited, pointing to the check that
names it. Every named mistake's output comes from rnnkit.official.ex06 (its `*_mistakes`).

Tolerances (float32), measured against the reference: frames are copies (exact); power
spectra agree to ~1e-6 of the spectrum's peak, filter banks to ~1e-7, log mel energies and
MFCCs to ~1e-5; a real mistake (no window, a symmetric window, magnitude instead of power,
log10, an orthonormal DCT, no DC row) changes values by more than 1e-2. Loss values at 1e-4.
"""
import numpy as np
import pytest

from rnnkit import KIT_ROOT, recognition
from rnnkit.datasets.speech import SYMBOLS, WORD_NAMES
from rnnkit.grader import inputs, oracles
from rnnkit.grader.handles.process import StudentError
from rnnkit.grader.compare import CheckFailed, expect_close, expect_equal, fail, run_in_graph
from rnnkit.probes.ex06 import (
    probe_ctc_loss, probe_ctc_loss_in_graph, probe_decode, probe_filter_bank, probe_frames,
    probe_log_mel, probe_mfcc,
    probe_phoneme_logits, probe_power, probe_train_phonemes, probe_train_words,
    probe_word_logits)

official = oracles.of("ex06")       # the oracles (rnnkit/official/ex06.py), by name
SAMPLE_RATE, FRAME_STEP = 8000, 128  # the exercise's settings (its docstrings say so)
LENGTHS = (100, 256, 1000, 3001)    # shorter than a frame, exactly one frame, two uneven ones
C, V, P = 13, len(WORD_NAMES), len(SYMBOLS)      # coefficients, words, phonemes


def waveforms(seed, length):
    return inputs.uniform(seed, f"wave{length}", (2, length), -0.8, 0.8)


# -- checks: features ------------------------------------------------------------------------
def explain_frames(got, mistakes):
    """The sentence of the framing mistake (rnnkit.official.ex06.frame_mistakes) whose frames
    the student's equal, or None."""
    return next((sentence for sentence, frames in mistakes
                 if np.shape(got) == np.shape(frames) and np.array_equal(got, frames)), None)


@pytest.mark.points(1)
@pytest.mark.part("frame_signal")
def test_frames(grader):
    """frame_signal equals tf.signal.frame(pad_end=True), also for waves shorter than a frame"""
    for seed in grader.seeds():
        for length in LENGTHS:
            x = waveforms(seed, length)
            got = grader.run(probe_frames, waveforms=x)
            want = grader.oracle(official.helper_frames, x)
            mistakes = grader.oracle(official.frame_mistakes, x)
            if np.shape(got) != want.shape and len(np.shape(got)) == 3:
                cause = explain_frames(got, mistakes)
                fail(f"{length} samples: got {np.shape(got)[1]} frames, expected "
                     f"{want.shape[1]} = ceil({length} / {FRAME_STEP}): " + (cause or
                     "pad the end with zeros so the last samples get a frame "
                     "(tf.signal.frame(..., pad_end=True))"))
            expect_close(f"frames of {length} samples", got, want, rtol=0, atol=0,
                         explain=lambda a, bad, mistakes=mistakes: explain_frames(a, mistakes))


@pytest.mark.points(2)
@pytest.mark.part("power_spectrogram", uses=("frame_signal",))
def test_power_spectrogram(grader):
    """power_spectrogram equals |tf.signal.stft(pad_end=True)|^2 with a periodic Hann window"""
    for seed in grader.seeds():
        for length in LENGTHS:
            x = waveforms(seed, length)
            got = grader.run(probe_power, waveforms=x)
            want = grader.oracle(official.helper_power, x)
            mistakes = {f"you used {name}": grader.oracle(official.helper_power, x, **options)
                        for name, options in (
                            ("the magnitude |X|, not the power |X|^2", {"magnitude": True}),
                            ("no window", {"window": "none"}),
                            ("a symmetric Hann window: use periodic=True",
                             {"window": "symmetric"}))}
            atol = 1e-5 * float(np.abs(want).max())

            def explain(actual, bad, mistakes=mistakes, atol=atol):
                return next((why for why, values in mistakes.items() if values.shape ==
                             actual.shape and np.allclose(actual, values, rtol=1e-4, atol=atol)),
                            None)

            expect_close(f"power spectrogram of {length} samples", got, want, rtol=1e-4,
                         atol=atol, explain=explain)


@pytest.mark.points(2)
def test_mel_filter_bank(grader):
    """mel_filter_bank equals tf.signal.linear_to_mel_weight_matrix (HTK mel, DC row zero)"""
    cases = [dict(num_mel_bins=20, num_spectrogram_bins=129, sample_rate=8000,
                  lower_edge_hertz=80.0, upper_edge_hertz=3800.0),
             dict(num_mel_bins=7, num_spectrogram_bins=65, sample_rate=16000,
                  lower_edge_hertz=300.0, upper_edge_hertz=6000.0)]
    if grader.official:              # and banks no recording holds, drawn for this file
        rng = inputs.rng(grader.seeds()[-1], "filter bank")
        for _ in range(2):
            rate = int(rng.choice([8000, 11025, 16000]))
            cases.append(dict(num_mel_bins=int(rng.integers(6, 31)),
                              num_spectrogram_bins=int(rng.choice([65, 129, 257])),
                              sample_rate=rate,
                              lower_edge_hertz=float(rng.uniform(20.0, 400.0)),
                              upper_edge_hertz=float(rng.uniform(0.6, 0.95) * rate / 2)))
    for settings in cases:
        got = grader.run(probe_filter_bank, **settings)
        want = grader.oracle(official.helper_bank, **settings)
        expect_close(f"filter bank {settings}", got, want, rtol=1e-5, atol=1e-5,
                     explain=lambda a, bad: "only row 0 differs: the DC bin gets no weight"
                     if bad[1:].sum() == 0 else None)


@pytest.mark.points(1)
def test_log_mel(grader):
    """log_mel_spectrogram is the natural log of power @ filter bank + 1e-6"""
    for seed in grader.seeds():
        wave = waveforms(seed, 1000)
        wave[:, 512:] = 0.0      # silence: frames 4 to 7 of each wave have no energy at all
        power = grader.oracle(official.helper_power, wave)
        bank = grader.oracle(official.helper_bank, num_mel_bins=20, num_spectrogram_bins=129,
                             sample_rate=8000, lower_edge_hertz=80.0, upper_edge_hertz=3800.0)
        want = grader.oracle(official.log_mel, power, bank)
        log10 = grader.oracle(official.log_mel, power, bank, base=10.0)
        no_offset = grader.oracle(official.log_mel, power, bank, offset=0.0)
        got = grader.run(probe_log_mel, power=power, filter_bank=bank)
        got = np.asarray(got)
        silent = ~np.isfinite(no_offset)
        if got.shape == want.shape and got.dtype.kind == "f" and not np.isfinite(got).all() \
                and np.array_equal(~np.isfinite(got), silent):
            where = [int(i) for i in np.argwhere(silent)[0][:2]]
            fail(f"log mel energies: {got[tuple(np.argwhere(silent)[0])]} at frame {where} "
                 "(a silent frame: no energy, and log 0 = -inf); the log needs its offset, "
                 f"log(energies + 1e-6), which gives {want[tuple(np.argwhere(silent)[0])]:.4g} "
                 "there")
        expect_close("log mel energies", got, want, rtol=1e-4, atol=1e-4,
                     explain=lambda a, bad: "that is log10: use the natural log"
                     if np.allclose(a, log10, atol=1e-3) else None)


@pytest.mark.points(2)
def test_mfcc(grader):
    """mfcc equals tf.signal.mfccs_from_log_mel_spectrograms, first 13 coefficients"""
    for seed in grader.seeds():
        log_mel = inputs.uniform(seed, "log_mel", (2, 9, 20), -12.0, 4.0)
        got = grader.run(probe_mfcc, log_mel=log_mel)
        want = grader.oracle(official.helper_mfcc, log_mel)

        def explain(actual, bad, want=want):
            if not bad[..., 1:].any():
                return ("only c0 differs: tf.signal scales every coefficient by sqrt(2 / M); "
                        "the orthonormal DCT divides c0 by a further sqrt(2)")
            return None

        expect_close("MFCCs", got, want, rtol=1e-4, atol=1e-3, explain=explain)


# -- checks: CTC loss and greedy decoding ----------------------------------------------------
def decoding_cases(seed):
    """Fixed logits (N, T, P + 1) whose per-frame best classes are the paths below, and
    lengths; plus seeded random logits."""
    paths = [[1, 1, 0, 2, 0, 0, 0, 0], [0] * 8, [3, 0, 3, 3, 0, 0, 3, 0],
             [2, 2, 2, 2, 2, 2, 2, 2], [1, 2, 1, 2, 5, 5, 0, 13], [1, 0, 2, 2, 3, 3, 4, 4]]
    lengths = np.array([8, 8, 8, 8, 8, 4], dtype="int32")
    noise = inputs.uniform(seed, "decode_noise", (len(paths), 8, P + 1), -1.0, 1.0)
    logits = noise + 4.0 * np.eye(P + 1, dtype="float32")[np.array(paths)]
    random = inputs.uniform(seed, "decode_random", (5, 12, P + 1), -2.0, 2.0)
    return [(logits, lengths), (random, np.array([12, 12, 7, 1, 3], dtype="int32"))]


@pytest.mark.points(2)
def test_greedy_decode(grader):
    """ctc_greedy_decode equals keras.ops.ctc_decode (greedy): merge repeats, then drop blanks"""
    why = ctc_problem(grader, "decode")
    if why:
        fail(why)


def compare_decoder(grader):
    for seed in grader.seeds():
        for logits, lengths in decoding_cases(seed):
            got = grader.run(probe_decode, logits=logits, lengths=lengths)
            want = grader.oracle(official.keras_decode, logits, lengths)
            mistakes = grader.oracle(official.decode_mistakes, logits, lengths)
            best = np.argmax(logits, axis=-1)
            for row, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    path = best[row, :lengths[row]].tolist()
                    cause = next((sentence for sentence, decoded in mistakes
                                  if list(got) == list(decoded)), None)
                    fail(f"sequence {row}: best classes per frame {path} (blank = 0) decode to "
                         f"{w}, your decoder gave {g}: " + (cause or "merge repeated classes "
                         "first, then drop the blanks (a blank between two equal classes keeps "
                         "both), and read only the first `lengths` frames"))
            expect_equal("number of decoded sequences", len(got), len(want))


@pytest.mark.points(1)
def test_ctc_loss(grader):
    """ctc_loss equals keras.ops.ctc_loss with each label's true length and every frame"""
    why = ctc_problem(grader, "loss")
    if why:
        fail(why)


CTC_CHECKS = {   # the titles of the checks of the two CTC functions main() trains and reads with
    "loss": ("ctc_loss", "ctc_loss equals keras.ops.ctc_loss with each label's true length and "
                         "every frame"),
    "decode": ("ctc_greedy_decode", "ctc_greedy_decode equals keras.ops.ctc_decode (greedy): "
                                    "merge repeats, then drop blanks")}


def ctc_problem(grader, part):
    """None when the student's CTC `part` ("loss" or "decode") equals Keras's on the grader's
    inputs, else its feedback line; once per grading (the phoneme training check credits a
    model only when both are right: main() trains it with the one and reads it with the
    other)."""
    cache = grader.__dict__.setdefault("ex06_ctc", {})
    if part not in cache:
        try:
            (compare_ctc_loss if part == "loss" else compare_decoder)(grader)
            cache[part] = None
        except CheckFailed as failure:
            cache[part] = str(failure)
        except StudentError as error:     # a crash or a hang: met once, said by each check
            cache[part] = error
    if isinstance(cache[part], StudentError):
        raise cache[part].again()
    return cache[part]


def compare_ctc_loss(grader):
    for seed in grader.seeds():
        logits = inputs.uniform(seed, "ctc_logits", (3, 10, P + 1), -2.0, 2.0)
        labels = np.array([[4, 5, 6], [7, 7, 0], [1, 0, 0]], dtype="int32")
        got = grader.run(probe_ctc_loss, labels=labels, logits=logits)
        want = grader.oracle(official.keras_ctc_loss, labels, logits, [3, 2, 1], 10)
        mistakes = grader.oracle(official.ctc_loss_mistakes, labels, logits, [3, 2, 1], 10)

        def explain(actual, bad, mistakes=mistakes):
            cause = next((sentence for sentence, losses in mistakes
                          if np.allclose(actual, losses, rtol=1e-4, atol=1e-4)), None)
            return cause or ("the first sequence (no padding) is right: count only the "
                             "non-zero labels as the label length" if not bad[0] else None)

        expect_close("CTC loss per sequence", got, want, rtol=1e-4, atol=1e-4, explain=explain)
        if seed != grader.seeds()[0]:
            continue            # once: graph mode fails on the code path, not the values (~0.8 s)
        traced = run_in_graph(grader, probe_ctc_loss_in_graph, "ctc_loss",
                              how=" (train_phoneme_model compiles it as fit's loss: fit passes "
                                  "the labels as a float32 symbolic tensor)",
                              labels=labels, logits=logits)
        expect_close("CTC loss per sequence inside a tf.function", traced, want, rtol=1e-4,
                     atol=1e-4)


# -- checks: the models ----------------------------------------------------------------------
@pytest.mark.points(1)
def test_word_model_masks_padding(grader):
    """build_word_model equals Masking + GRU + Dense (Keras's layers) on right-padded batches"""
    why = model_problem(grader, "word")
    if why:
        fail(why)


def model_problem(grader, kind):
    """None when the exercise's model of `kind` equals its Keras twin with the grader's
    weights on the grader's inputs, else the feedback line; once per grading (its training
    counts only when it does: the trained weights are scored in the twin)."""
    cache = grader.__dict__.setdefault("ex06_models", {})
    if kind not in cache:
        try:
            (compare_word_model if kind == "word" else compare_phoneme_model)(grader)
            cache[kind] = None
        except CheckFailed as failure:
            cache[kind] = str(failure)
        except StudentError as error:     # a crash or a hang: met once, said by each check
            cache[kind] = error
    if isinstance(cache[kind], StudentError):
        raise cache[kind].again()
    return cache[kind]


def compare_word_model(grader):
    stand_in = grader.cell_stand_in("GRUCell")
    for seed in grader.seeds():
        weights = grader.oracle(official.fixed_weights, "word", seed)
        x = inputs.uniform(seed, "word_x", (4, 10, C), -1.5, 1.5)
        x[1, 7:], x[2, 3:], x[3, 1:] = 0.0, 0.0, 0.0              # lengths 10, 7, 3, 1
        got = grader.run(probe_word_logits, weights=weights, x=x, stand_in=stand_in)
        want = grader.oracle(official.keras_logits, "word", weights, x)
        unmasked = grader.oracle(official.keras_logits, "word", weights, x, masking=False)
        expect_close("word logits", got, want, rtol=1e-4, atol=1e-4,
                     explain=lambda a, bad: "your model reads the zero padding: put "
                     "layers.Masking(0.0) before the RNN" if np.allclose(a, unmasked, atol=1e-4)
                     else None)


@pytest.mark.points(1)
def test_phoneme_model_architecture(grader):
    """build_phoneme_model equals Bidirectional(LSTM) + Dense(P + 1) of Keras's layers"""
    why = model_problem(grader, "phoneme")
    if why:
        fail(why)


def compare_phoneme_model(grader):
    stand_in = grader.cell_stand_in("LSTMCell")
    for seed in grader.seeds():
        weights = grader.oracle(official.fixed_weights, "phoneme", seed)
        x = inputs.uniform(seed, "phoneme_x", (2, recognition.NUM_FRAMES, C), -1.5, 1.5)
        got = grader.run(probe_phoneme_logits, weights=weights, x=x, stand_in=stand_in)
        want = grader.oracle(official.keras_logits, "phoneme", weights, x)
        expect_close("phoneme logits", got, want, rtol=1e-4, atol=1e-4)


PUBLIC_DATA = KIT_ROOT / "data" / "speech" / "ex06_grading.npz"   # the self-check's


def training_data(grader) -> dict:
    """The training checks' features and labels: the public speakers' (shipped) in a
    self-check; in the official grade other voices, drawn from the course secret, with the
    words' and phonemes' labels relabelled by it (rnnkit.official.ex06.grading_data)."""
    if grader.official:
        return grader.oracle(official.grading_data, grader.course_seed("voices"),
                             prefer_recorded=True)
    with np.load(PUBLIC_DATA, allow_pickle=False) as archive:
        data = {key: archive[key] for key in archive.files}
    for name in ("train", "test"):
        data[f"{name}_features"] = data[f"{name}_features"].astype(np.float32)
    return data


def trained(grader, kind):
    """(student's metric, reference's metric): trained in their processes; official, scored
    here on test speakers whose features and labels never leave the grader; self-check, as
    each model measures itself on the public test speakers."""
    cache = grader.__dict__.setdefault("ex06_trained", {})
    if kind not in cache:
        why = model_problem(grader, kind)
        if why:
            builder = "build_word_model" if kind == "word" else "build_phoneme_model"
            fail(f"not credited: your {builder} is not the model the exercise asks for (see its "
                 "check above: Keras's layers with the same weights compute otherwise), so its "
                 "training does not count; fix that first")
        if kind == "phoneme":
            for part, use in (("loss", "trains your phoneme model with it"),
                              ("decode", "reads your model's transcriptions with it")):
                if ctc_problem(grader, part):
                    function, title = CTC_CHECKS[part]
                    fail(f"not credited: your {function} is not the exercise's (its check, "
                         f"'{title}', names what differs) and main() {use}; the grader trains "
                         "and decodes with Keras's CTC, which stands for yours only once yours "
                         "equals it, so this training does not count; fix that first")
        data = training_data(grader)
        cell = "GRUCell" if kind == "word" else "LSTMCell"
        probe = probe_train_words if kind == "word" else probe_train_phonemes
        args = {"features": data["train_features"]}
        args.update({"words": data["train_words"]} if kind == "word"
                    else {"labels": data["train_phonemes"]})
        held_out = (data["test_features"],
                    data["test_words"] if kind == "word" else data["test_phonemes"])
        if not grader.official:
            args["held_out"] = held_out
        reference = grader.reference(probe, stand_in=False, prefer_recorded=True, **args)
        if grader.official:
            score = official.word_accuracy if kind == "word" else official.phoneme_error_rate
            reference = grader.oracle(score, reference, *held_out,   # once per course
                                      prefer_recorded=True)
        cache[kind] = [None, reference]
        stand_in = grader.cell_stand_in(cell)
        got = grader.run(probe, stand_in=stand_in, timeout=120, **args)
        cache[kind][0] = grader.oracle(score, got, *held_out) if grader.official else got
    return cache[kind]


@pytest.mark.training
@pytest.mark.points(3)
def test_word_recognition(grader):
    """Trained on 32 speakers, your word model recognises the words of 16 unheard speakers"""
    accuracy, reference = trained(grader, "word")    # thresholds: see WORD_MARGIN below
    if accuracy < reference - WORD_MARGIN:
        fail(f"your trained word model recognised {accuracy:.0%} of the test speakers' words "
             f"(Keras's GRU scored your weights); the reference reaches {reference:.0%}, "
             f"chance is {1 / V:.0%}. Check the masking and that the model ends in "
             "Dense(num_words) logits (no softmax)")


@pytest.mark.training
@pytest.mark.points(3)
def test_phoneme_recognition(grader):
    """Trained with CTC, your phoneme model transcribes unheard speakers' words"""
    per, reference = trained(grader, "phoneme")
    if per > reference + PER_MARGIN:
        fail(f"your trained CTC model has a phoneme error rate of {per:.0%} on the test "
             f"speakers (Keras's LSTM scored your weights, decoded by keras.ops.ctc_decode); "
             f"the reference reaches {reference:.0%} (100% = nothing recognised). Check the "
             "Bidirectional RNN returns sequences and the last layer has P + 1 logits")


# Thresholds, measured with the reference on the shipped grading data and the kit's recipes,
# training seeds 0-4, on this 2-core machine (run-to-run float noise included):
#   word accuracy  0.832 0.828 0.828 0.812 0.867   (spread 0.055; chance 0.0625; a bag of
#                  frames -- mean feature vector + MLP, order ignored -- reaches 0.547)
#   phoneme error  0.088 0.043 0.043 0.129 0.170   (spread 0.127; a second run of seeds 0, 3,
#                  4 gave 0.043 0.134 0.088; a model that emits nothing scores 1.0)
# A correct model whose random initialisation differs from the reference's is one more draw
# from these; the margins are about twice (words) and slightly more than (phonemes) the spread.
WORD_MARGIN = 0.10
PER_MARGIN = 0.15
