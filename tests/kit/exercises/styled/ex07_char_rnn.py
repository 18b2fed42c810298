"""ex07 as another student writes it (a kit test's submission, not a lesson): plain loops and
Python lists where the reference vectorises, its own generation loop instead of
rnnkit.decoding.generate, a chooser class instead of closures. Correct: full marks in the
official grade (tests/kit/exercises/test_ex07_grading.py grades it, then copies of it with
one classic mistake each)."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

from rnnkit import char_lm
from rnnkit.decoding import PAD, START, STOP

if __package__:
    from .ex03_gated_cells import GRUCell, LSTMCell  # noqa: F401
else:
    from ex03_gated_cells import GRUCell, LSTMCell  # noqa: F401


def teacher_forcing_pairs(table, texts, length):
    x = np.zeros((len(texts), length), dtype=np.int32)
    y = np.zeros((len(texts), length), dtype=np.int32)
    for i, text in enumerate(texts):
        ids = [table.ids[ch] for ch in text]
        fed = [START] + ids
        wanted = ids + [STOP]
        x[i, :len(fed)] = fed
        y[i, :len(wanted)] = wanted
    return x, y


def _softmax_rows(z):
    z = np.array(z, dtype=np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def greedy(logits):
    rows = np.asarray(logits)
    return np.array([int(np.argmax(row)) for row in rows], dtype=np.int64)


def temperature_probabilities(logits, temperature):
    if temperature < 0:
        raise ValueError(f"negative temperature {temperature}")
    z = np.array(logits, dtype=np.float64)
    if temperature == 0:
        one_hot = np.zeros_like(z)
        one_hot[np.arange(len(z)), z.argmax(axis=1)] = 1.0
        return one_hot
    z = z - z.max(axis=1, keepdims=True)
    with np.errstate(over="ignore"):
        z = z / temperature
    return _softmax_rows(z)


def top_k_probabilities(logits, k):
    if k < 1:
        raise ValueError(f"k={k} < 1")
    z = np.array(logits, dtype=np.float64)
    out = np.zeros_like(z)
    for i, row in enumerate(z):
        best = sorted(range(len(row)), key=lambda j: (-row[j], j))[:k]
        e = np.exp(row[best] - row[best].max())
        out[i, best] = e / e.sum()
    return out


def top_p_probabilities(logits, p):
    if p <= 0:
        raise ValueError(f"p={p} <= 0")
    q = _softmax_rows(logits)
    if p >= 1:
        return q
    out = np.zeros_like(q)
    for i, row in enumerate(q):
        total, smallest = 0.0, None
        for j in sorted(range(len(row)), key=lambda j: -row[j]):
            total += row[j]
            smallest = row[j]
            if total >= p:
                break
        keep = row >= smallest
        out[i, keep] = row[keep] / row[keep].sum()
    return out


def sample(probabilities, rng):
    q = np.asarray(probabilities, dtype=np.float64)
    ids = []
    for row in q:
        cdf = np.cumsum(row) / row.sum()
        u = rng.random()
        ids.append(int(np.searchsorted(cdf, u, side="right")))
    return np.array(ids, dtype=np.int64)


class Chooser:
    def __init__(self, strategy, seed, temperature, k, p):
        self.strategy, self.temperature, self.k, self.p = strategy, temperature, k, p
        self.rng = np.random.default_rng(seed)

    def __call__(self, logits):
        if self.strategy == "greedy":
            return greedy(logits)
        if self.strategy == "temperature":
            q = temperature_probabilities(logits, self.temperature)
        elif self.strategy == "top-k":
            q = top_k_probabilities(np.asarray(logits) / self.temperature, self.k)
        else:
            q = top_p_probabilities(np.asarray(logits) / self.temperature, self.p)
        return sample(q, self.rng)


def make_chooser(strategy, seed=0, *, temperature=1.0, k=10, p=0.9):
    if strategy not in ("greedy", "temperature", "top-k", "top-p"):
        raise ValueError(f"unknown strategy {strategy!r}")
    return Chooser(strategy, seed, temperature, k, p)


def lm_step(model, token_ids, state):
    rnn, dense = model.layers
    v = dense.units
    x = np.eye(v, dtype=np.float32)[np.asarray(token_ids, dtype=np.int64)]
    h, new_state = rnn.cell(x, list(state))
    return np.asarray(dense(h)), list(new_state)


def generate_text(model, table, choose, n=1, max_length=char_lm.SEQ_LEN):
    state = list(model.layers[0].get_initial_state(batch_size=n))
    feed = np.full(n, START)
    finished = [False] * n
    texts = [[] for _ in range(n)]
    for _ in range(max_length):
        logits, state = lm_step(model, feed, state)
        chosen = np.asarray(choose(logits)).reshape(-1)
        for i in range(n):
            if finished[i]:
                continue
            if chosen[i] == STOP:
                finished[i] = True
            elif chosen[i] != PAD:
                texts[i].append(int(chosen[i]))
        if all(finished):
            break
        feed = np.array([STOP if done else int(c) for done, c in zip(finished, chosen)])
    return [table.decode(ids) for ids in texts]
