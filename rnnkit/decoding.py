"""Decoding machinery shared by the generative exercises (ex07 characters, ex08 captions,
ex09 seq2seq): a token table with the special ids, the masked negative log-likelihood, and
the skeleton of the generation loop.

The strategies that choose the next token (greedy, temperature, top-k, top-p, beam,
exhaustive search) are what students write; they stay in their exercises. What lives here
is what every one of them plugs into:

    table = TokenTable("abc ")              # ids: 0 PAD, 1 START, 2 STOP, then the tokens
    table.encode("ab", start=True, stop=True)   -> [1, 3, 4, 2]
    generate(step, state, table.START, table.STOP, max_length, choose) -> ids (N, L)

Dimension letters: N batch, T time steps, V vocabulary (including the special ids).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

PAD, START, STOP = 0, 1, 2
SPECIAL_TOKENS = ("<pad>", "<start>", "<stop>")


class TokenTable:
    """A vocabulary with fixed special ids: PAD = 0, START = 1, STOP = 2, then `tokens`.

    tokens: the ordinary tokens (characters of a string, or words), distinct, none of them
        one of SPECIAL_TOKENS; their ids are 3, 4, ... in the order given.
    PAD (0) fills sequences after their end and is what masks ignore; START is fed to a
    decoder before its first token; STOP is the token a model emits to end a sequence.
    """

    PAD, START, STOP = PAD, START, STOP

    def __init__(self, tokens: Iterable[str]):
        tokens = list(tokens)
        seen = set()
        for token in tokens:
            if not isinstance(token, str) or token == "":
                raise ValueError(f"tokens must be non-empty strings, received {token!r}")
            if token in SPECIAL_TOKENS or token in seen:
                raise ValueError(f"tokens must be distinct and not special "
                                 f"{SPECIAL_TOKENS}; received {token!r} twice or as special")
            seen.add(token)
        self.tokens = tuple(SPECIAL_TOKENS) + tuple(tokens)          # index = id
        self.ids = {token: index for index, token in enumerate(self.tokens)}

    @classmethod
    def from_text(cls, texts: Iterable[str]) -> "TokenTable":
        """A character table holding every character of `texts`, in sorted order."""
        return cls(sorted(set("".join(texts))))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def vocab_size(self) -> int:
        """V: the number of ids, special ones included."""
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"TokenTable({list(self.tokens[3:])!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, TokenTable) and self.tokens == other.tokens

    def encode(self, sequence: Iterable[str], *, start: bool = False,
               stop: bool = False) -> list[int]:
        """Ids of the tokens of `sequence` (a string is a sequence of characters), with
        START before and STOP after when asked. ValueError names an unknown token."""
        ids = [START] if start else []
        for position, token in enumerate(sequence):
            if token not in self.ids or self.ids[token] < 3:
                raise ValueError(f"token {token!r} at position {position} is not in the "
                                 f"table (known: {''.join(self.tokens[3:])[:60]!r}...)")
            ids.append(self.ids[token])
        return ids + [STOP] if stop else ids

    def encode_batch(self, sequences: Sequence[Iterable[str]], length: int, *,
                     start: bool = False, stop: bool = False) -> np.ndarray:
        """(N, length) int32: each encoded sequence, right-padded with PAD.

        ValueError when an encoded sequence is longer than `length`."""
        batch = np.full((len(sequences), length), PAD, dtype="int32")    # (N, T)
        for row, sequence in enumerate(sequences):
            ids = self.encode(sequence, start=start, stop=stop)
            if len(ids) > length:
                raise ValueError(f"sequence {row} encodes to {len(ids)} ids, more than "
                                 f"length={length}: {sequence!r}")
            batch[row, :len(ids)] = ids
        return batch

    def decode(self, ids: Iterable[int], *, join: str | None = "") -> str | list[str]:
        """The tokens of `ids` up to the first STOP (excluded), skipping PAD and START.

        Returns them joined by `join` ("" for characters, " " for words), or as a list when
        join is None. ValueError names an id outside 0..V-1."""
        tokens = []
        for token_id in np.asarray(ids, dtype="int64").reshape(-1):
            if not 0 <= token_id < len(self.tokens):
                raise ValueError(f"id {int(token_id)} is outside 0..{len(self.tokens) - 1}")
            if token_id == STOP:
                break
            if token_id > STOP:
                tokens.append(self.tokens[token_id])
        return tokens if join is None else join.join(tokens)


def masked_nll(logits, targets, mask=None):
    """Mean negative log-likelihood of `targets` under `logits`, over the positions `mask`
    keeps: sum_{n,t} mask * -log softmax(logits[n, t])[targets[n, t]] / sum mask.

    Inputs:
    - logits: (N, T, V) floats (unnormalised scores), or (N, V) with targets (N,)
    - targets: (N, T) ints in 0..V-1
    - mask: (N, T) bool or 0/1, or None for `targets != PAD`
    Returns a scalar tensor (Keras ops: differentiable, usable as a loss in `fit` and in a
    tf.function); exp of it is the perplexity per kept token. 0 when the mask keeps nothing.
    """
    from keras import ops

    logits = ops.convert_to_tensor(logits)
    targets = ops.cast(ops.convert_to_tensor(targets), "int32")
    mask = ops.not_equal(targets, PAD) if mask is None else ops.convert_to_tensor(mask)
    mask = ops.cast(mask, logits.dtype)                                 # (N, T)
    log_probabilities = ops.log_softmax(logits, axis=-1)                # (N, T, V)
    picked = ops.take_along_axis(log_probabilities, ops.expand_dims(targets, -1), axis=-1)
    nll = -ops.squeeze(picked, axis=-1)                                 # (N, T)
    return ops.sum(nll * mask) / ops.maximum(ops.sum(mask), 1.0)


def _batch_size(state, start_id) -> int:
    if np.ndim(start_id) == 1:
        return int(np.shape(start_id)[0])
    leaves = state if isinstance(state, (list, tuple)) else [state]
    while leaves and isinstance(leaves[0], (list, tuple)):
        leaves = list(leaves[0]) + list(leaves[1:])
    if not leaves or leaves[0] is None:
        raise ValueError("generate needs the batch size: pass start_id as an (N,) array when "
                         f"the state holds no array; received state={state!r}")
    return int(np.shape(leaves[0])[0])


def generate(step: Callable, state, start_id, stop_id: int, max_length: int,
             choose: Callable) -> np.ndarray:
    """The generation loop: feed each chosen token back in, carry the state, stop at STOP.

    Inputs:
    - step: step(token_ids, state) -> (logits, new_state); token_ids (N,) int32 are the
      tokens fed at this step, logits (N, V) the scores of the next token (array or tensor).
    - state: whatever `step` carries (e.g. [h, c] with arrays (N, H)); passed through as is.
    - start_id: the first token fed, an int for every row or an (N,) int array.
    - stop_id: the token that ends a row.
    - max_length: the most tokens generated per row (a row that never emits stop_id is cut).
    - choose: choose(logits (N, V) float numpy) -> ids (N,) ints: the decoding strategy.
    Returns ids (N, L) int32, L <= max_length: row n holds its chosen tokens in order, its
    stop_id included when it was chosen, then PAD. The loop ends as soon as every row has
    stopped. Rows that have stopped are still fed (stop_id) so shapes never change, but what
    is chosen for them is discarded.
    """
    if int(max_length) < 1:
        raise ValueError(f"max_length must be >= 1, received max_length={max_length!r}")
    n = _batch_size(state, start_id)
    tokens = np.broadcast_to(np.asarray(start_id, dtype="int32"), (n,)).copy()   # (N,)
    done = np.zeros(n, dtype=bool)                                                # (N,)
    columns = []
    for _ in range(int(max_length)):
        logits, state = step(tokens, state)
        logits = np.asarray(logits)                                               # (N, V)
        if logits.ndim != 2 or logits.shape[0] != n:
            raise ValueError(f"step must return logits of shape (N={n}, V); received "
                             f"{logits.shape}")
        chosen = np.asarray(choose(logits)).astype("int32").reshape(-1)           # (N,)
        if chosen.shape != (n,):
            raise ValueError(f"choose must return {n} ids, one per row; received shape "
                             f"{np.shape(chosen)}")
        columns.append(np.where(done, PAD, chosen))
        done |= chosen == stop_id
        tokens = np.where(done, stop_id, chosen).astype("int32")
        if done.all():
            break
    return np.stack(columns, axis=1).astype("int32")                              # (N, L)
