"""ex09 as another student writes it (a kit test's submission, not a lesson): teacher forcing
with Python lists, the loss from Keras's sparse cross-entropy and its own mask, greedy
search in its own loop instead of rnnkit.decoding.generate, beam search over lists of
candidates, exhaustive search depth first. The given code (train_seq2seq,
next_token_log_probs, _check_size) is the kit's. Correct: full marks in the official grade
(tests/kit/exercises/test_ex09_grading.py grades it, then copies with classic mistakes)."""
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from rnnkit.decoding import PAD
from rnnkit.seq2seq import (EMBED_DIM, SOURCE_LENGTH, TARGET, TARGET_LENGTH, UNITS,
                            encode_sources, encode_targets, seq2seq_layers)

if __package__:
    from .ex03_gated_cells import LSTMCell
else:
    from ex03_gated_cells import LSTMCell

ALPHA = 0.7


def teacher_forcing(sequences, length=TARGET_LENGTH):
    decoder_in, decoder_out = [], []
    for k, seq in enumerate(sequences):
        seq = [int(t) for t in seq]
        if len(seq) >= length:
            raise ValueError(f"sequence {k}: {len(seq)} tokens and <stop> exceed length={length}")
        pad = [PAD] * (length - len(seq) - 1)
        decoder_in.append([TARGET.START] + seq + pad)
        decoder_out.append(seq + [TARGET.STOP] + pad)
    return (np.array(decoder_in, dtype=np.int32).reshape(len(sequences), length),
            np.array(decoder_out, dtype=np.int32).reshape(len(sequences), length))


def seq2seq_loss(targets, logits):
    per_position = keras.losses.sparse_categorical_crossentropy(targets, logits,
                                                                from_logits=True)
    real = keras.ops.cast(keras.ops.greater(targets, PAD), per_position.dtype)
    return keras.ops.sum(per_position * real) / keras.ops.maximum(keras.ops.sum(real), 1.0)


def build_seq2seq(cell_class, units=UNITS, embed_dim=EMBED_DIM):
    parts = seq2seq_layers(cell_class, units, embed_dim)
    src = keras.Input(shape=(SOURCE_LENGTH,), dtype="int32")
    encoded = parts["encoder"](parts["source_embedding"](src))
    final_states = list(encoded[1:])
    tgt = keras.Input(shape=(None,), dtype="int32")
    decoded = parts["decoder"](parts["target_embedding"](tgt), initial_state=final_states)
    model = keras.Model([src, tgt], parts["logits"](decoded[0]))
    encoder = keras.Model(src, final_states)

    one = keras.Input(shape=(1,), dtype="int32")
    given = [keras.Input(shape=(units,)) for _ in final_states]
    stepped = parts["decoder"](parts["target_embedding"](one), initial_state=given)
    step_logits = keras.layers.Reshape((len(TARGET),))(parts["logits"](stepped[0]))
    step_model = keras.Model([one] + given, [step_logits] + list(stepped[1:]))
    return model, encoder, step_model


def train_seq2seq(cell_class, pairs, epochs=4, seed=0, batch_size=128, learning_rate=2e-2,
                  verbose=False):
    sources = encode_sources([source for source, _ in pairs])
    decoder_inputs, targets = teacher_forcing(encode_targets([t for _, t in pairs]))
    keras.utils.set_random_seed(seed)
    model, encoder, step_model = build_seq2seq(cell_class)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=seq2seq_loss, jit_compile=False)
    start = time.perf_counter()
    model.fit([sources, decoder_inputs], targets, batch_size=batch_size, epochs=epochs,
              verbose=2 if verbose else 0, shuffle=True)
    return model, encoder, step_model, time.perf_counter() - start


def next_token_log_probs(logits, start_id):
    logits = np.array(logits, dtype="float64")
    logits[:, [PAD, start_id]] = -np.inf
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def greedy_search(step, states, start_id, stop_id, max_length):
    n = len(states[0])
    fed = np.full(n, start_id)
    running = np.ones(n, dtype=bool)
    total = np.zeros(n)
    columns = []
    for _ in range(max_length):
        logits, states = step(fed, states)
        log_p = next_token_log_probs(logits, start_id)
        best = log_p.argmax(axis=1)
        total += np.where(running, log_p[np.arange(n), best], 0.0)
        columns.append(np.where(running, best, PAD))
        running = running & (best != stop_id)
        if not running.any():
            break
        fed = best
    return np.stack(columns, axis=1).astype(np.int64), total


def beam_search(step, states, start_id, stop_id, max_length, width, alpha=ALPHA):
    if width < 1:
        raise ValueError(f"width={width} < 1")
    active = [((), 0.0, 0)]                      # (tokens, log_prob, row of the states)
    fed = [start_id]
    finished = []
    for t in range(1, max_length + 1):
        logits, states = step(np.array(fed), states)
        log_p = next_token_log_probs(logits, start_id)
        candidates = []
        for k, (tokens, total, _) in enumerate(active):
            for token in range(log_p.shape[1]):
                if np.isfinite(log_p[k, token]):
                    candidates.append((tokens + (token,), total + log_p[k, token], k))
        candidates = sorted(candidates, key=lambda c: -c[1])[:width]
        active = []
        for tokens, total, row in candidates:
            if tokens[-1] == stop_id or t == max_length:
                finished.append((tokens, total, total / len(tokens) ** alpha))
            else:
                active.append((tokens, total, row))
        if not active:
            break
        rows = [row for _, _, row in active]
        states = [np.asarray(s)[rows] for s in states]
        fed = [tokens[-1] for tokens, _, _ in active]
        active = [(tokens, total, k) for k, (tokens, total, _) in enumerate(active)]
        if max(score for _, _, score in finished or [((), 0, -np.inf)]) >= \
                max(total for _, total, _ in active) / max_length ** alpha:
            break
    return sorted(finished, key=lambda h: -h[2])


def exhaustive_search(step, states, start_id, stop_id, max_length, alpha=ALPHA, top=1,
                      limit=100_000):
    found = []

    def visit(prefix, total, fed, states):
        logits, states = step(np.array([fed]), states)
        if not prefix:
            _check_size(np.shape(logits)[-1] - 2, max_length, limit)
        log_p = next_token_log_probs(logits, start_id)[0]
        for token in np.flatnonzero(np.isfinite(log_p)):
            tokens = prefix + (int(token),)
            score = total + log_p[token]
            if token == stop_id or len(tokens) == max_length:
                found.append((tokens, score, score / len(tokens) ** alpha))
            else:
                visit(tokens, score, int(token), states)

    visit((), 0.0, start_id, states)
    return sorted(found, key=lambda h: -h[2])[:top]


def _check_size(choices, max_length, limit):
    count = sum((choices - 1) ** (t - 1) for t in range(1, max_length + 1)) \
        + (choices - 1) ** max_length
    if count > limit:
        raise ValueError(f"{count} hypotheses for {choices} tokens and max_length="
                         f"{max_length}; exhaustive search allows at most limit={limit}")
