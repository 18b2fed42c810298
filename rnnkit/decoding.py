"""Decoding machinery shared by ex07, ex08 and ex09: token tables, the masked negative
log-likelihood, and the skeleton of the generation loop.

The strategies students write (greedy, temperature, top-k, top-p, beam, exhaustive) stay in
their exercises; this module holds only what every one of them needs.

Dimension letters: N batch (or hypotheses), T time steps, V vocabulary size.
"""
from __future__ import annotations

import numpy as np

PAD = 0                      # id 0 is padding in every table (Keras's mask_zero convention)
SPECIALS = ("<pad>", "<start>", "<stop>")


class TokenTable:
    """Token <-> id, with the ids PAD = 0, START = 1, STOP = 2 before the tokens.

    `TokenTable("abc")` has ids a=3, b=4, c=5 and `len(table) == 6` (V).
    `encode(tokens)` -> int32 ids (N,) (a str is a sequence of characters);
    `decode(ids)` -> the tokens up to the first STOP, PAD and START skipped.
    """

    PAD, START, STOP = 0, 1, 2

    def __init__(self, tokens):
        tokens = list(tokens)
        duplicates = sorted({str(t) for t in tokens if tokens.count(t) > 1})
        if duplicates:
            raise ValueError(f"tokens must be distinct; received duplicates {duplicates}")
        reserved = [t for t in tokens if t in SPECIALS]
        if reserved:
            raise ValueError(f"tokens must not include the special tokens {SPECIALS}; "
                             f"received {reserved}")
        self.tokens = list(SPECIALS) + tokens
        self.ids = {token: index for index, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens) -> np.ndarray:
        """Ids (N,) int32 of `tokens`; ValueError names the first unknown token."""
        try:
            return np.array([self.ids[t] for t in tokens], dtype="int32")
        except KeyError as error:
            raise ValueError(f"unknown token {error.args[0]!r} in {tokens!r}; the table has "
                             f"{self.tokens[len(SPECIALS):]}") from None

    def decode(self, ids) -> list:
        """The tokens of `ids` up to (not including) the first STOP; PAD and START skipped."""
        result = []
        for index in np.asarray(ids).reshape(-1).tolist():
            if index == self.STOP:
                break
            if index not in (self.PAD, self.START):
                result.append(self.tokens[index])
        return result


def masked_nll(logits, targets, mask):
    """Mean negative log-likelihood of `targets` over the positions where `mask` is 1.

    Inputs: logits (N, T, V) unnormalised scores; targets (N, T) int ids; mask (N, T)
    (bool or 0/1). Returns a scalar: sum(mask * -log softmax(logits)[targets]) / sum(mask)
    (0 when the mask is empty). Written in keras.ops, so it trains (Keras losses) and takes
    NumPy arrays alike.
    """
    from keras import ops

    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)          # (N, T, V)
    picked = ops.take_along_axis(log_probs, ops.expand_dims(ops.cast(targets, "int32"), -1),
                                 axis=-1)[..., 0]                             # (N, T)
    mask = ops.cast(mask, "float32")                                          # (N, T)
    return -ops.sum(picked * mask) / ops.maximum(ops.sum(mask), 1.0)


def generate(step, state, start_id, stop_id, max_length, choose):
    """Feed each chosen token back in until every row has emitted `stop_id` or `max_length`.

    Inputs:
      step(token_ids (N,), state) -> (logits (N, V), state): one decoder step.
      state: the decoder's initial state (any structure `step` accepts), N rows.
      start_id, stop_id: the first token fed in; the token that ends a row.
      max_length: the most tokens generated per row (a row never emitting stop is cut).
      choose(logits (N, V)) -> ids (N,): the strategy (greedy, sampling, ...).
    Returns ids (N, L) int64, L <= max_length: the generated tokens, the stop token included
    where emitted, PAD after it. Rows that have stopped are still fed (PAD) so N stays fixed.
    """
    if not isinstance(max_length, (int, np.integer)) or max_length < 1:
        raise ValueError(f"max_length must be a positive int, received {max_length!r}")
    rows = _rows(state)
    tokens = np.full(rows, start_id, dtype="int64")                                 # (N,)
    done, columns = np.zeros(rows, dtype=bool), []
    for _ in range(max_length):
        logits, state = step(tokens, state)                                         # (N, V)
        chosen = np.asarray(choose(np.asarray(logits)), dtype="int64").reshape(-1)  # (N,)
        tokens = np.where(done, PAD, chosen)                                        # (N,)
        columns.append(tokens)
        done = done | (tokens == stop_id)
        if done.all():
            break
    return np.stack(columns, axis=1)                                                # (N, L)


def _rows(state) -> int:
    """N: the length of the first axis of the first array in `state` (nested lists/tuples)."""
    while isinstance(state, (list, tuple)):
        if not state:
            raise ValueError("generate needs a state with at least one array to count rows")
        state = state[0]
    shape = np.shape(state)
    if not shape:
        raise ValueError(f"the state's arrays need a first (row) axis; received shape {shape}")
    return int(shape[0])
