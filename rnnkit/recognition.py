"""The speech recognition experiments of ex06, defined once for the exercise and the grader.

Batching variable-length feature sequences (`pad_features`, `fixed_frames`), the
standardisation statistics, the two training recipes (`train_word_model`: many-to-one
with masking; `train_phoneme_model`: CTC on fixed padded lengths) and the metrics
(`word_accuracy`, `edit_distance`, `phoneme_error_rate`). The exercise explains and uses
them; the grader trains the student's models with this same code and then scores the
trained weights with Keras's own layers.
"""
from __future__ import annotations

import time

import numpy as np

NUM_FRAMES = 40   # every batch is padded to 40 frames (0.64 s, the longest utterance): one shape
WORD_UNITS, PHONEME_UNITS = 32, 32


def pad_features(sequences, num_frames=None):
    """Stack (F_i, C) feature sequences into (N, T, C) float32, zero-padded at the end.

    T = num_frames, or the longest F_i when None; a longer sequence raises ValueError.
    Returns (features (N, T, C), lengths (N,) int32).
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int32)
    width = int(lengths.max(initial=0)) if num_frames is None else int(num_frames)
    if lengths.size and lengths.max() > width:
        raise ValueError(f"a sequence has {lengths.max()} frames, more than num_frames={width}")
    channels = np.shape(sequences[0])[-1] if len(sequences) else 0
    out = np.zeros((len(sequences), width, channels), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        out[row, :len(sequence)] = sequence
    return out, lengths


def standardise(features, lengths, statistics=None):
    """Scale each feature to zero mean and unit variance over the real (unpadded) frames;
    padded frames stay exactly 0, so a Masking(0.0) layer still finds them.

    statistics: (mean (C,), std (C,)) to reuse (the training set's); computed when None.
    Returns (standardised (N, T, C) float32, (mean, std)).
    """
    valid = np.arange(features.shape[1])[None, :] < lengths[:, None]          # (N, T)
    if statistics is None:
        frames = features[valid]                                               # (frames, C)
        statistics = (frames.mean(axis=0), frames.std(axis=0) + 1e-6)
    mean, std = statistics
    out = np.where(valid[..., None], (features - mean) / std, 0.0).astype(np.float32)
    return out, statistics


def pad_labels(label_lists, width=None):
    """Phoneme id lists -> (N, S) int32 padded with 0 (the CTC blank, never a label)."""
    width = max((len(labels) for labels in label_lists), default=0) if width is None else width
    out = np.zeros((len(label_lists), width), dtype=np.int32)
    for row, labels in enumerate(label_lists):
        out[row, :len(labels)] = labels
    return out


def train_word_model(model, features, words, *, seed=0, epochs=12, batch_size=64,
                     learning_rate=1e-2):
    """Train a (N, T, C) -> (N, W) logits model with cross-entropy. Returns fit seconds.

    All batches have the same padded length T, so the step is traced once.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keep = len(features) - len(features) % batch_size      # full batches only: one shape
    start = time.perf_counter()
    model.fit(features[:keep], words[:keep], batch_size=batch_size, epochs=epochs, verbose=0)
    return time.perf_counter() - start


def train_phoneme_model(model, features, labels, loss, *, seed=0, epochs=15, batch_size=64,
                        learning_rate=3e-2):
    """Train a (N, NUM_FRAMES, C) -> (N, NUM_FRAMES, P + 1) logits model with `loss`
    (labels (N, S) int32 padded with 0, logits) -> (N,). Returns fit seconds.

    No Keras mask: every sequence is padded to the same length and the padded frames are
    silence the model learns to label blank (KERAS_NOTES: a masked LSTM with CTC fails in fit).
    """
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss)
    keep = len(features) - len(features) % batch_size
    start = time.perf_counter()
    model.fit(features[:keep], labels[:keep], batch_size=batch_size, epochs=epochs, verbose=0)
    return time.perf_counter() - start


def word_accuracy(logits, words):
    """Fraction of utterances whose largest logit is the right word."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(words)))


def edit_distance(reference, hypothesis) -> int:
    """Levenshtein distance: fewest substitutions, insertions and deletions."""
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        current = [i]
        for j, h in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def phoneme_error_rate(references, hypotheses):
    """Total edit distance over total reference length (as word error rate is computed)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("the references are all empty: the phoneme error rate is undefined")
    return sum(edit_distance(r, h) for r, h in zip(references, hypotheses)) / total
