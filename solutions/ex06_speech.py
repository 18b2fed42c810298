# %% [markdown]
# # ex06 — Speech recognition: features, words (many-to-one), phonemes with CTC
#
# The data are spoken words made by a source-filter synthesiser (`rnnkit/datasets/speech`):
# a pulse train at the speaker's pitch through formant resonators, vowels with Peterson and
# Barney's (1952) formants, consonants as noise bursts and silences, 16 words said by
# speakers who differ in pitch, vocal-tract length, speaking rate, loudness and background
# noise. Test speakers are never heard in training. Several words are anagrams (tea / eat,
# cat / tack, ten / net): which sounds occur does not tell them apart, their order does.
#
# Dimension letters: N batch, L samples, F frames, T padded frames, W frame length,
# K = fft_length // 2 + 1 frequency bins, M mel bins, C coefficients, H units,
# V words, P phonemes (+ 1 for the CTC blank), S label length.
#
# ## 1. Features (the front end of every speech recogniser)
#
#     frames     x[f, w] = waveform[f * step + w]          (F, W), F = ceil(L / step), zero-padded
#     window     x[f, w] * hann[w]                          periodic Hann: no jumps at frame edges
#     STFT       X[f, k] = sum_w x[f, w] hann[w] exp(-2 pi i k w / fft_length)
#     power      P[f, k] = |X[f, k]|^2                      (F, K)
#     mel        E[f, m] = sum_k P[f, k] B[k, m]            B: M triangles, equally spaced in mel,
#                                                           mel(f) = 2595 log10(1 + f / 700) (HTK)
#     log        log(E + 1e-6)                              loudness becomes an additive offset
#     MFCC       c[f, j] = sqrt(2 / M) sum_m logE[f, m] cos(pi j (2m + 1) / (2M)),  j < C
#
# The MFCC is a DCT-II of the log mel energies (tf.signal's scaling: sqrt(2 / M) for every j);
# its first coefficients describe the spectral envelope, i.e. the formants, and ignore the
# harmonics of the pitch. Write them with `tf.signal` and `keras.ops` (`tf.signal.frame`,
# `tf.signal.hann_window`, `tf.signal.rfft`), but not with tf.signal's ready-made `stft`,
# `linear_to_mel_weight_matrix` or `mfccs_from_log_mel_spectrograms`: the grader compares
# yours with those.

# %%
import os
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex06_speech.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from rnnkit import recognition  # noqa: E402
from rnnkit.datasets.speech import SAMPLE_RATE, SYMBOLS, WORD_NAMES, load_split  # noqa: E402

if __package__:
    from .ex03_gated_cells import GRUCell, LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import GRUCell, LSTMCell

FRAME_LENGTH, FRAME_STEP, FFT_LENGTH = 256, 128, 256     # 32 ms frames every 16 ms at 8 kHz
NUM_MEL_BINS, LOWER_HZ, UPPER_HZ = 20, 80.0, 3800.0
NUM_MFCC, LOG_OFFSET = 13, 1e-6
NUM_WORDS, NUM_PHONEMES = len(WORD_NAMES), len(SYMBOLS)    # V = 16, P = 13 (ids 1..P; 0 = blank)


def frame_signal(waveforms, frame_length=FRAME_LENGTH, frame_step=FRAME_STEP):
    """Cut waveforms into overlapping frames, zero-padding the end.

    Inputs:
    - waveforms: (N, L) float32.
    - frame_length, frame_step: W and the hop between frame starts, in samples.

    Returns:
    - frames: (N, F, W) float32, F = ceil(L / frame_step) (0 when L = 0); frame f holds
      samples f * frame_step ... f * frame_step + W - 1 (zeros past L).
    """
    # BEGIN SOLUTION
    return tf.signal.frame(waveforms, frame_length, frame_step, pad_end=True)   # (N, F, W)
    # END SOLUTION


def power_spectrogram(waveforms, frame_length=FRAME_LENGTH, frame_step=FRAME_STEP,
                      fft_length=FFT_LENGTH):
    """|STFT|^2 with a periodic Hann window: frame, window, real FFT, squared magnitude.

    Inputs:
    - waveforms: (N, L) float32.
    - frame_length, frame_step, fft_length: as in frame_signal; the FFT size.

    Returns:
    - power: (N, F, K) float32, K = fft_length // 2 + 1.
    """
    # BEGIN SOLUTION
    frames = frame_signal(waveforms, frame_length, frame_step)                # (N, F, W)
    window = tf.signal.hann_window(frame_length, periodic=True)               # (W,)
    spectrum = tf.signal.rfft(frames * window, fft_length=[fft_length])       # (N, F, K)
    return tf.math.real(spectrum) ** 2 + tf.math.imag(spectrum) ** 2          # (N, F, K)
    # END SOLUTION


def mel_filter_bank(num_mel_bins=NUM_MEL_BINS, num_spectrogram_bins=FFT_LENGTH // 2 + 1,
                    sample_rate=SAMPLE_RATE, lower_edge_hertz=LOWER_HZ,
                    upper_edge_hertz=UPPER_HZ):
    """Triangular filters equally spaced on the HTK mel scale, as tf.signal builds them.

    The K bins sit at linspace(0, sample_rate / 2, K) Hz. M + 2 edges equally spaced in mel
    between the lower and upper edge; filter m rises linearly (in mel) from edge m to 1 at
    edge m + 1 and falls to 0 at edge m + 2. Row 0 (the DC bin) is all zeros.

    Inputs:
    - num_mel_bins, num_spectrogram_bins: M and K.
    - sample_rate, lower_edge_hertz, upper_edge_hertz: in Hz.

    Returns:
    - filter_bank: (K, M) float32.
    """
    # BEGIN SOLUTION
    def hertz_to_mel(hertz):
        return 1127.0 * np.log1p(np.asarray(hertz, dtype=np.float64) / 700.0)

    bins = hertz_to_mel(np.linspace(0.0, sample_rate / 2, num_spectrogram_bins))[1:, None]
    edges = np.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz),
                        num_mel_bins + 2)                                     # (M + 2,)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]                 # (M,) each
    rising = (bins - lower) / (centre - lower)                                # (K - 1, M)
    falling = (upper - bins) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [[1, 0], [0, 0]]).astype(np.float32)               # (K, M)
    # END SOLUTION


def log_mel_spectrogram(power, filter_bank, log_offset=LOG_OFFSET):
    """Mel energies, then their natural log.

    Inputs:
    - power: (N, F, K).
    - filter_bank: (K, M).
    - log_offset: a small float added before the log (a silent frame has no energy).

    Returns:
    - log_mel: (N, F, M) float32, log(power @ filter_bank + log_offset).
    """
    # BEGIN SOLUTION
    return ops.log(ops.matmul(power, filter_bank) + log_offset)               # (N, F, M)
    # END SOLUTION


def mfcc(log_mel, num_coefficients=NUM_MFCC):
    """The first C coefficients of the DCT-II of each frame's log mel energies.

    Inputs:
    - log_mel: (N, F, M).
    - num_coefficients: C.

    Returns:
    - mfccs: (N, F, C) float32, c[j] = sqrt(2 / M) sum_m log_mel[m] cos(pi j (2m + 1) / (2M)).
    """
    # BEGIN SOLUTION
    num_mel_bins = log_mel.shape[-1]
    m = np.arange(num_mel_bins)[:, None]                                      # (M, 1)
    j = np.arange(num_coefficients)[None, :]                                  # (1, C)
    basis = np.sqrt(2.0 / num_mel_bins) * np.cos(np.pi * j * (2 * m + 1) / (2 * num_mel_bins))
    return ops.matmul(log_mel, basis.astype(np.float32))                      # (N, F, C)
    # END SOLUTION


def speech_features(waveforms):
    """MFCCs of utterances of different lengths, computed as one zero-padded batch.

    Inputs: a list of N waveforms, each (L_i,) float32.
    Returns: a list of N NumPy arrays (F_i, C), F_i = ceil(L_i / FRAME_STEP). The zeros
    padded after an utterance only reach frames past its own F_i, which are dropped.
    """
    batch = np.zeros((len(waveforms), max(len(w) for w in waveforms)), dtype=np.float32)
    for row, waveform in enumerate(waveforms):
        batch[row, :len(waveform)] = waveform                                 # (N, L_max)
    coefficients = mfcc(log_mel_spectrogram(power_spectrogram(batch), mel_filter_bank()))
    coefficients = np.asarray(coefficients)                                   # (N, F_max, C)
    return [coefficients[row, :-(-len(w) // FRAME_STEP)] for row, w in enumerate(waveforms)]


# %% [markdown]
# ## 2. Words: many-to-one on variable-length sequences, with masking
#
# Utterances have different numbers of frames. A batch pads them with zero frames at the
# end, and `layers.Masking(0.0)` marks those frames (after standardisation a real frame is
# never exactly zero): a masked step carries the state over unchanged, so the final state is
# the state after the last REAL frame, wherever that is. Without the mask, the word would be
# read through a tail of silence-like zeros whose length depends on the batch.
#
#     (N, T, C) -> Masking(0.0) -> RNN(cell_class(H)) -> Dense(V) logits    (N, V)
#
# `cell_class` is your GRUCell from ex03 (the grader may hand in Keras's own GRUCell).

# %%
def build_word_model(cell_class, num_words=NUM_WORDS, units=recognition.WORD_UNITS,
                     num_features=NUM_MFCC):
    """Masking(0.0) -> RNN(cell_class(units)) -> Dense(num_words): (N, T, C) -> (N, V) logits.

    Inputs:
    - cell_class: a cell class called as cell_class(units) (your ex03 GRUCell).
    - num_words, units, num_features: V, H, C.

    Returns:
    - model: a functional keras.Model whose input is (None, num_features), any number of
      frames, and whose output is the logits (N, V).
    """
    # BEGIN SOLUTION
    inputs = keras.Input((None, num_features))                                # (N, T, C)
    masked = layers.Masking(mask_value=0.0)(inputs)
    state = layers.RNN(cell_class(units))(masked)                             # (N, H)
    return keras.Model(inputs, layers.Dense(num_words)(state))                # (N, V)
    # END SOLUTION


# %% [markdown]
# ## 3. Phonemes with CTC: many-to-many, not aligned
#
# The phoneme labels say WHICH phonemes a word has, not at which frames. Connectionist
# temporal classification (Graves et al., 2006) adds a blank class (id 0 here) and sums the
# probability of every frame labelling that collapses to the target: e.g. for "t iy",
# `_ t t _ iy iy _ _` and `t iy iy iy _ _ _ _` both count. A bidirectional RNN labels each
# frame knowing the whole word. Decoding greedily: the best class per frame, merge repeats,
# drop blanks — so a doubled phoneme needs a blank between its two copies.
#
#     (N, T, C) -> Bidirectional(RNN(cell_class(H), return_sequences=True)) -> Dense(P + 1)
#
# Every batch is padded to T = NUM_FRAMES and no Keras mask is used (padding is silence;
# the model learns to call it blank): one shape, one trace, and no masked-LSTM CTC bug.
# `keras.ops.ctc_loss(labels, logits, label_length, logit_length, mask_index=0)` takes
# logits (not probabilities) and needs each label's true length (labels are padded with 0).

# %%
def build_phoneme_model(cell_class, num_frames=recognition.NUM_FRAMES,
                        num_classes=NUM_PHONEMES + 1, units=recognition.PHONEME_UNITS,
                        num_features=NUM_MFCC):
    """Bidirectional(RNN(cell_class(units), return_sequences=True)) -> Dense(num_classes).

    Inputs:
    - cell_class: a cell class called as cell_class(units) (your ex03 LSTMCell).
    - num_frames, num_classes, units, num_features: T, P + 1, H, C.

    Returns:
    - model: a functional keras.Model, (N, T, C) features -> (N, T, P + 1) logits.
    """
    # BEGIN SOLUTION
    inputs = keras.Input((num_frames, num_features))                          # (N, T, C)
    recurrent = layers.Bidirectional(layers.RNN(cell_class(units), return_sequences=True))
    return keras.Model(inputs, layers.Dense(num_classes)(recurrent(inputs)))  # (N, T, P + 1)
    # END SOLUTION


def ctc_loss(labels, logits):
    """CTC loss of each sequence, blank = 0, every logit frame used.

    Called inside a tf.function during training (train_phoneme_model compiles it as fit's
    loss; fit passes the labels as float32): write it with keras.ops or tf, not NumPy.

    Inputs:
    - labels: (N, S) int (float32 under fit), padded with 0.
    - logits: (N, T, P + 1).

    Returns:
    - losses: (N,) float32 negative log-likelihoods.
    """
    # BEGIN SOLUTION
    labels = ops.cast(labels, "int32")
    label_length = ops.sum(ops.cast(labels != 0, "int32"), axis=-1)          # (N,)
    logit_length = ops.full((ops.shape(logits)[0],), ops.shape(logits)[1], dtype="int32")
    return ops.ctc_loss(labels, logits, label_length, logit_length, mask_index=0)
    # END SOLUTION


def ctc_greedy_decode(logits, lengths=None):
    """Best path decoding: per-frame argmax, merge repeated classes, drop blanks (0).

    Inputs:
    - logits: (N, T, P + 1), NumPy or tensor.
    - lengths: (N,) the frames to read, or None for all T.

    Returns:
    - a list of N lists of phoneme ids.
    """
    # BEGIN SOLUTION
    best = np.argmax(np.asarray(logits), axis=-1)                             # (N, T)
    lengths = [best.shape[1]] * len(best) if lengths is None else lengths
    decoded = []
    for path, length in zip(best, lengths):
        path = path[:int(length)]
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = path[1:] != path[:-1]                                      # merge repeats
        decoded.append([int(c) for c in path[keep] if c != 0])                # drop blanks
    return decoded
    # END SOLUTION


# %% [markdown]
# ## 4. Run it
#
# `python -m exercises.ex06_speech` computes features, trains both models on the 48
# training speakers (1536 words) and scores them on the 16 test speakers; figures go to
# runs/ex06/ (about two minutes on 2 cores). The training recipes are the kit's
# (`rnnkit/recognition.py`: Adam, clipnorm 1, fixed padded length so the step is traced once).
#
# The graded training checks use a smaller configuration: 32 training speakers saying each
# word once, features computed by the grader with tf.signal's helpers, the same recipes.
# The grader then loads your trained weights into the same architecture built from Keras's
# own layers and measures word accuracy and phoneme error rate (edit distance / number of
# phonemes) on the test speakers itself. It trains the phoneme model with Keras's CTC loss and
# decodes with keras.ops.ctc_decode, standing in for your ctc_loss and ctc_greedy_decode
# (which main() uses) only once their own checks find them equal: until then the CTC
# training does not count. A bag-of-frames model (the average feature vector
# of an utterance, an MLP) reaches about 55 % on words: the anagrams need the order.

# %%
def prepare(split, statistics=None, num_frames=None, **options):
    """Features of a split: (standardised (N, T, C), lengths, words, phoneme lists, stats)."""
    audio, words, phonemes, _ = load_split(split, **options)
    features, lengths = recognition.pad_features(speech_features(audio), num_frames)
    features, statistics = recognition.standardise(features, lengths, statistics)
    return features, lengths, words, phonemes, statistics


def main(epochs_words=15, epochs_phonemes=20):
    from rnnkit.plots import save_figure
    from rnnkit.speech_plots import (plot_confusion, plot_decodings, plot_features,
                                     pick_decodings)
    from rnnkit.mains import small_budget, working_cell

    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        epochs_words, epochs_phonemes = 1, 1
    lstm_cell, gru_cell = working_cell(LSTMCell), working_cell(GRUCell)
    frames = recognition.NUM_FRAMES
    train = prepare("train", num_frames=frames)
    test = prepare("test", statistics=train[4], num_frames=frames)
    print(f"{len(train[2])} training and {len(test[2])} test utterances, {frames} frames")
    shown = [WORD_NAMES.index(word) for word in ("tea", "eat", "shop")]
    audio = load_split("test", speakers=[56], repetitions=1)[0]
    save_figure(plot_features([audio[i] for i in shown], [WORD_NAMES[i] for i in shown],
                              power_spectrogram, speech_features), "runs/ex06/features.png")

    words = build_word_model(gru_cell)
    seconds = recognition.train_word_model(words, train[0], train[2], epochs=epochs_words)
    predicted = np.argmax(words.predict(test[0], verbose=0), axis=-1)
    print(f"word accuracy on unheard speakers: {np.mean(predicted == test[2]):.1%} "
          f"(chance {1 / NUM_WORDS:.1%}), {seconds:.1f} s")
    save_figure(plot_confusion(test[2], predicted, WORD_NAMES), "runs/ex06/confusion.png")

    phonemes = build_phoneme_model(lstm_cell)
    seconds = recognition.train_phoneme_model(phonemes, train[0],
                                              recognition.pad_labels(train[3]), ctc_loss,
                                              epochs=epochs_phonemes)
    logits = phonemes.predict(test[0], verbose=0)                             # (N, T, P + 1)
    decoded = ctc_greedy_decode(logits)
    per = recognition.phoneme_error_rate(test[3], decoded)
    print(f"phoneme error rate on unheard speakers: {per:.1%}, {seconds:.1f} s")
    rows = pick_decodings(test[3], decoded)          # the wrong ones first, then right ones
    paths = np.argmax(logits, axis=-1)                                        # (N, T)
    save_figure(plot_decodings([test[3][i] for i in rows], [decoded[i] for i in rows],
                               SYMBOLS, [paths[i] for i in rows]), "runs/ex06/decodings.png")
    print("saved runs/ex06/features.png, confusion.png, decodings.png")


if __name__ == "__main__":
    main()
