"""The character-level language model of ex07, defined once for the exercise and the grader.

The architecture (one-hot characters -> RNN(cell) -> Dense logits), its training loop with a
fixed seed and budget, the perplexity it reaches, and a unigram baseline. The exercise
explains and uses them with the student's cell and the student's teacher-forcing pairs;
the grader trains with this same code in the student's process, then rebuilds the model
from Keras's own layers, loads the trained weights and measures it itself.

Dimension letters: N batch, T time steps, V vocabulary (special ids included), H units.
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import layers

from rnnkit.datasets import grammar
from rnnkit.decoding import PAD, START, STOP, TokenTable, generate, masked_nll

SEQ_LEN = grammar.MAX_CHARS + 1      # 41: <start> + 40 characters in, 40 characters + <stop> out
UNITS = 64
# The graded budget (see the grading file for the measurements behind it).
N_TRAIN, EPOCHS, BATCH_SIZE, LEARNING_RATE = 2000, 6, 128, 2e-2


def grammar_table() -> TokenTable:
    """The character table of the grammar corpus: PAD, START, STOP, then ALPHABET."""
    return TokenTable(grammar.ALPHABET)


def one_hot(ids, vocab_size: int) -> np.ndarray:
    """ids (...) ints -> (..., V) float32 one-hot rows (PAD, id 0, is a row like any other)."""
    return np.eye(vocab_size, dtype="float32")[np.asarray(ids)]


def char_lm(cell, vocab_size: int) -> keras.Model:
    """(N, T, V) one-hot characters -> (N, T, V) logits of the next character.

    RNN(cell, return_sequences=True) -> Dense(V) applied at every step. Weights, in order:
    the cell's (for an LSTM cell kernel (V, 4H), recurrent_kernel (H, 4H), bias (4H,)),
    then the Dense kernel (H, V) and bias (V,).
    """
    return keras.Sequential([keras.Input((None, vocab_size)),
                             layers.RNN(cell, return_sequences=True),
                             layers.Dense(vocab_size)])


def lm_loss(targets, logits):
    """Masked NLL per character: PAD targets (after <stop>) do not count."""
    return masked_nll(logits, targets)


def perplexity(model, x_onehot, targets, batch_size=500) -> float:
    """exp(mean NLL per kept target character) of `model` on one-hot inputs (N, T, V)."""
    logits = model.predict(x_onehot, batch_size=batch_size, verbose=0)   # (N, T, V)
    return float(np.exp(masked_nll(logits, targets)))


def unigram_perplexity(train_targets, targets, vocab_size: int) -> float:
    """Perplexity of the best order-blind model: each character's frequency in the training
    targets (add-one smoothed), whatever came before it. The baseline to beat."""
    kept = train_targets[train_targets != PAD]
    counts = np.bincount(kept, minlength=vocab_size) + 1.0
    log_p = np.log(counts / counts.sum())
    picked = log_p[targets[targets != PAD]]
    return float(np.exp(-picked.mean()))


def train_char_lm(cell_factory, pairs, texts, table, *, units=UNITS, length=SEQ_LEN,
                  epochs=EPOCHS, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=0,
                  validation=None, verbose=False):
    """Seed, build char_lm(cell_factory(units), V), train it with masked NLL and Adam.

    pairs: pairs(table, texts, length) -> (inputs (N, T) ids, targets (N, T) ids), the
        teacher-forcing pairs (the exercise's `teacher_forcing_pairs`).
    validation: optional list of texts; when given, the perplexity on them is measured
        after every epoch (for the plot; the grader measures its own).
    Returns (model, history) with history = {"loss": [...] per epoch (train NLL),
        "perplexity": [...] per epoch or [], "seconds": training time}.
    """
    x, y = pairs(table, texts, length)
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != (len(texts), length) or y.shape != x.shape:
        raise ValueError(f"pairs must return inputs and targets of shape ({len(texts)}, "
                         f"{length}); received {x.shape} and {y.shape}")
    keras.utils.set_random_seed(seed)
    model = char_lm(cell_factory(units), len(table))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=lm_loss, jit_compile=False)
    inputs = one_hot(x, len(table))                                     # (N, T, V)
    if validation is not None:
        x_val, y_val = pairs(table, validation, length)
        x_val, y_val = one_hot(x_val, len(table)), np.asarray(y_val)
    history = {"loss": [], "perplexity": []}
    start = time.perf_counter()
    for epoch in range(epochs):
        fit = model.fit(inputs, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
        history["loss"].append(float(fit.history["loss"][-1]))
        if validation is not None:
            history["perplexity"].append(perplexity(model, x_val, y_val))
        if verbose:
            shown = f", validation perplexity {history['perplexity'][-1]:.2f}" \
                if validation is not None else ""
            print(f"epoch {epoch + 1}/{epochs}: train NLL {history['loss'][-1]:.3f}{shown}",
                  flush=True)
    history["seconds"] = time.perf_counter() - start
    return model, history


N_SAMPLES, SAMPLE_SEED = 400, 11     # the samples a trained model is judged by


def evaluate(model, table, validation, training, *, n_samples=N_SAMPLES, seed=SAMPLE_SEED):
    """How a trained char_lm-shaped model (RNN, then Dense) does: {"perplexity" on the
    `validation` texts, "valid": the share of `n_samples` samples (temperature 1, seeded
    Gumbel-max sampling) that parse as sentences of the grammar, "novel": the share that
    parse and are not `training` texts, "samples": the first four, "baseline": the
    perplexity of character frequencies alone (a model that ignores the order)}."""
    v = len(table)
    x = table.encode_batch(validation, SEQ_LEN, start=True)              # (N, T)
    y = table.encode_batch(validation, SEQ_LEN, stop=True)               # (N, T)
    result = {"perplexity": perplexity(model, one_hot(x, v), y)}
    recurrent, dense = model.layers
    rng = np.random.default_rng(seed)

    def step(tokens, state):
        h, state = recurrent.cell(one_hot(tokens, v), state)
        return np.asarray(dense(h)), state

    def choose(logits):                  # one draw from softmax(logits) per row
        logits = np.asarray(logits, "float64")
        return np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)

    sizes = np.atleast_1d(recurrent.cell.state_size)
    ids = generate(step, [np.zeros((n_samples, int(size)), "float32") for size in sizes],
                   START, STOP, SEQ_LEN, choose)
    samples = [table.decode(row) for row in ids]
    valid = [grammar.parse(sample) for sample in samples]
    seen = set(training)
    result.update(valid=float(np.mean(valid)),
                  novel=float(np.mean([ok and s not in seen for ok, s in zip(valid, samples)])),
                  samples=samples[:4],
                  baseline=unigram_perplexity(table.encode_batch(training, SEQ_LEN, stop=True),
                                              y, v))
    return result
