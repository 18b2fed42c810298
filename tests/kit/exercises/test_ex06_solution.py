"""Tests of the ex06 reference (features, CTC, models) and of rnnkit.recognition, against
implementations nobody here wrote: tf.signal's helpers, keras.ops.ctc_loss / ctc_decode,
Keras's GRU / LSTM / Bidirectional layers, and exhaustive enumeration of CTC paths.

Tolerances: float32 FFTs and matmuls in another order differ by ~1e-6 relative; log and DCT
outputs by ~1e-5 absolute; anything wrong differs by > 1e-2.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex06_solution.py
"""
import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnkit import recognition  # noqa: E402
from solutions import ex06_speech as ex  # noqa: E402

RNG = np.random.default_rng(6)
LENGTHS = (1, 100, 255, 256, 257, 1000, 4001)     # incl. shorter than a frame


def test_settings_agree_with_the_graders_pipeline():
    """The grader featurises the training checks' data with these settings (rnnkit.official.ex06)."""
    from rnnkit.official.ex06 import SETTINGS

    assert (ex.FRAME_LENGTH, ex.FRAME_STEP, ex.FFT_LENGTH, ex.NUM_MEL_BINS, ex.LOWER_HZ,
            ex.UPPER_HZ, ex.NUM_MFCC, ex.LOG_OFFSET) == tuple(SETTINGS.values())


def waves(length, n=2):
    return RNG.uniform(-0.8, 0.8, size=(n, length)).astype(np.float32)


@pytest.mark.parametrize("length", LENGTHS)
def test_frames_and_power_match_tf_signal(length):
    x = waves(length)
    frames = np.asarray(ex.frame_signal(x))
    assert frames.shape == (2, -(-length // ex.FRAME_STEP), ex.FRAME_LENGTH)
    np.testing.assert_array_equal(frames, tf.signal.frame(x, ex.FRAME_LENGTH, ex.FRAME_STEP,
                                                          pad_end=True))
    want = np.abs(tf.signal.stft(x, ex.FRAME_LENGTH, ex.FRAME_STEP, ex.FFT_LENGTH,
                                 pad_end=True)) ** 2
    got = np.asarray(ex.power_spectrogram(x))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * want.max())
    # And NumPy's FFT in float64, with the periodic Hann window written out.
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(ex.FRAME_LENGTH) / ex.FRAME_LENGTH)
    numpy_power = np.abs(np.fft.rfft(frames.astype(np.float64) * window, ex.FFT_LENGTH)) ** 2
    np.testing.assert_allclose(got, numpy_power, rtol=1e-4, atol=1e-5 * want.max())


@pytest.mark.parametrize("settings", [
    (20, 129, 8000, 80.0, 3800.0), (40, 257, 16000, 20.0, 8000.0), (5, 33, 22050, 300.0, 4000.0)])
def test_mel_filter_bank_matches_tf_signal(settings):
    got = ex.mel_filter_bank(*settings)
    want = tf.signal.linear_to_mel_weight_matrix(*settings)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert not got[0].any() and got.max() <= 1.0


def test_log_mel_and_mfcc_match_tf_signal():
    power = np.asarray(ex.power_spectrogram(waves(3000)))
    bank = ex.mel_filter_bank()
    log_mel = np.asarray(ex.log_mel_spectrogram(power, bank))
    np.testing.assert_allclose(log_mel, np.log(power.astype(np.float64) @ bank + 1e-6),
                               rtol=1e-5, atol=1e-5)
    want = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :ex.NUM_MFCC]
    np.testing.assert_allclose(ex.mfcc(log_mel), want, rtol=1e-4, atol=1e-4)


def test_speech_features_of_a_padded_batch_equal_one_at_a_time():
    audio = [waves(n, 1)[0] for n in (90, 2000, 3333)]
    together = ex.speech_features(audio)
    for waveform, features in zip(audio, together):
        alone = ex.speech_features([waveform])[0]
        assert features.shape == (-(-len(waveform) // ex.FRAME_STEP), ex.NUM_MFCC)
        np.testing.assert_allclose(features, alone, rtol=1e-5, atol=1e-4)


def brute_force_ctc(labels, logits):
    """-log of the summed probability of every path that collapses to `labels`."""
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    total = 0.0
    for path in itertools.product(range(logits.shape[-1]), repeat=len(logits)):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != 0] == list(labels):
            total += np.prod(probabilities[np.arange(len(path)), path])
    return -np.log(total)


def test_ctc_loss_matches_keras_and_exhaustive_enumeration():
    logits = RNG.uniform(-2, 2, size=(3, 5, 4)).astype(np.float32)
    labels = np.array([[1, 2, 0], [3, 3, 0], [2, 0, 0]], dtype=np.int32)
    got = np.asarray(ex.ctc_loss(labels, logits))
    want = keras.ops.ctc_loss(labels, logits, np.array([2, 2, 1]), np.array([5, 5, 5]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for row in range(3):
        exhaustive = brute_force_ctc([c for c in labels[row] if c], logits[row].astype(float))
        np.testing.assert_allclose(got[row], exhaustive, rtol=1e-4)


def test_greedy_decode_matches_keras_ctc_decode():
    paths = np.array([[1, 1, 0, 2], [0, 0, 0, 0], [3, 0, 3, 3], [2, 2, 2, 2], [1, 2, 1, 2]])
    one_hot = 5.0 * np.eye(4, dtype=np.float32)[paths] + RNG.uniform(-1, 1, (5, 4, 4))
    random = RNG.uniform(-2, 2, size=(16, 9, 6)).astype(np.float32)
    assert ex.ctc_greedy_decode(one_hot) == [[1, 2], [], [3, 3], [2], [1, 2, 1, 2]]
    for logits, lengths in ((one_hot, np.full(5, 4)), (random, RNG.integers(1, 10, 16))):
        dense, _ = keras.ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=0)
        want = [[int(c) for c in row if c >= 0] for row in np.asarray(dense)[0]]
        assert ex.ctc_greedy_decode(logits, lengths) == want


def weights_like(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.4, 0.4, w.shape).astype(np.float32) for w in model.get_weights()]


def test_word_model_equals_keras_gru_and_ignores_padding():
    ours = ex.build_word_model(keras.layers.GRUCell)
    inputs = keras.Input((None, ex.NUM_MFCC))
    theirs = keras.Model(inputs, keras.layers.Dense(ex.NUM_WORDS)(keras.layers.GRU(
        recognition.WORD_UNITS)(keras.layers.Masking(0.0)(inputs))))
    weights = weights_like(theirs, 1)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.uniform(-1.5, 1.5, (3, 12, ex.NUM_MFCC)).astype(np.float32)
    x[1, 5:] = 0.0
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    longer = np.concatenate([x, np.zeros((3, 6, ex.NUM_MFCC), np.float32)], axis=1)
    np.testing.assert_allclose(ours(longer), ours(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(x[1:2, :5]), ours(x)[1:2], rtol=1e-5, atol=1e-5)


def test_phoneme_model_equals_keras_bidirectional_lstm():
    ours = ex.build_phoneme_model(keras.layers.LSTMCell)
    inputs = keras.Input((recognition.NUM_FRAMES, ex.NUM_MFCC))
    recurrent = keras.layers.Bidirectional(keras.layers.LSTM(
        recognition.PHONEME_UNITS, return_sequences=True, use_cudnn=False))
    theirs = keras.Model(inputs, keras.layers.Dense(ex.NUM_PHONEMES + 1)(recurrent(inputs)))
    weights = weights_like(theirs, 2)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.uniform(-1.5, 1.5, (2, recognition.NUM_FRAMES, ex.NUM_MFCC)).astype(np.float32)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def levenshtein_recursive(a, b):
    """The textbook recursion, memoised: an independent edit distance."""
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def d(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


def test_edit_distance_and_phoneme_error_rate():
    for _ in range(200):
        a = tuple(RNG.integers(1, 4, RNG.integers(0, 6)))
        b = tuple(RNG.integers(1, 4, RNG.integers(0, 6)))
        assert recognition.edit_distance(a, b) == levenshtein_recursive(a, b)
    assert recognition.phoneme_error_rate([[1, 2], [3]], [[1, 2], []]) == pytest.approx(1 / 3)
    assert recognition.phoneme_error_rate([[1, 2, 3]], [[4, 1, 2, 3, 5]]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="all empty"):
        recognition.phoneme_error_rate([[]], [[1]])


def test_padding_and_standardisation_keep_padded_frames_zero():
    features, lengths = recognition.pad_features([np.ones((3, 2)), 2 * np.ones((1, 2))], 4)
    assert features.shape == (2, 4, 2) and list(lengths) == [3, 1]
    standard, (mean, std) = recognition.standardise(features, lengths)
    assert not standard[0, 3:].any() and not standard[1, 1:].any()
    np.testing.assert_allclose(mean, [1.25, 1.25])
    with pytest.raises(ValueError, match="more than num_frames=2"):
        recognition.pad_features([np.ones((3, 2))], 2)
    np.testing.assert_array_equal(recognition.pad_labels([[1, 2], [3]]), [[1, 2], [3, 0]])


def test_decodings_table_shows_what_greedy_ctc_does():
    """The decodings figure of main(): wrongly decoded words first, then right ones; each row
    the best class per frame as runs (the blank "_"), the runs merged, the blanks dropped; a
    repeat split by a blank stays two phonemes; text >= 8 pt, right or wrong said in words."""
    import matplotlib

    matplotlib.use("Agg")
    from rnnkit.datasets.speech import SYMBOLS
    from rnnkit.speech_plots import pick_decodings, plot_decodings, runs

    s, iy, t = (SYMBOLS.index(name) + 1 for name in ("s", "iy", "t"))
    paths = [np.array([0, 0, iy, iy, s, 0, s, s, t, 0]),    # "s _ s": two s, decoded wrong
             np.array([0, s, s, iy, iy, iy, 0, t, 0, 0]),    # right
             np.array([s, 0, iy, 0, 0, 0, 0, 0, 0, 0])]      # right, another word
    references = [[iy, s, t], [s, iy, t], [s, iy]]
    hypotheses = [ex.ctc_greedy_decode(np.eye(len(SYMBOLS) + 1)[path][None])[0] for path in paths]
    assert hypotheses[0] == [iy, s, s, t] and hypotheses[1:] == references[1:]
    assert runs(paths[0], SYMBOLS) == [("_", 2), ("iy", 2), ("s", 1), ("_", 1), ("s", 2),
                                       ("t", 1), ("_", 1)]
    assert pick_decodings(references * 3, hypotheses * 3, count=4) == [0, 3, 1, 2]
    figure = plot_decodings(references, hypotheses, SYMBOLS, paths)
    figure.canvas.draw()
    table = figure.axes[0].tables[0]
    cells = table.get_celld()
    rows = [[cells[row, column].get_text().get_text() for column in range(5)]
            for row in range(len(references) + 1)]
    assert rows[1] == ["iy s t", "_×2 iy×2 s _ s×2 t _", "_ iy s _ s t _", "iy s s t", "NO"]
    assert [row[4] for row in rows[1:]] == ["NO", "yes", "yes"]
    texts = [cell.get_text() for cell in cells.values()] + [figure.axes[0].title]
    assert min(text.get_fontsize() for text in texts) >= 8
    import matplotlib.pyplot as plt

    plt.close(figure)
