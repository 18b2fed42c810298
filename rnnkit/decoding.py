"""Decoding machinery shared by the generative exercises (ex07, ex08, ex09).

- `TokenTable`: tokens <-> ids, with the reserved ids PAD = 0, START = 1, STOP = 2.
- `masked_nll`: the mean negative log-likelihood of the target tokens where the mask is 1.
- `generate`: the generation loop's skeleton, feeding each chosen token back in.

The strategies that choose the next token (greedy, temperature, top-k, top-p, beam search)
are what the exercises teach; they stay in the exercises and are passed to `generate` as
`choose`.
"""
from __future__ import annotations

import numpy as np
from keras import ops

PAD, START, STOP = 0, 1, 2
SPECIALS = ("<pad>", "<start>", "<end>")


class TokenTable:
    """Ids of a fixed list of tokens, after the three reserved ones.

    ids: 0 = "<pad>" (PAD), 1 = "<start>" (START), 2 = "<end>" (STOP), then `tokens` in the
    order given (fixed ids: never sorted by frequency).
    """

    PAD, START, STOP = PAD, START, STOP

    def __init__(self, tokens):
        tokens = list(tokens)
        clashes = sorted(set(tokens) & set(SPECIALS))
        if clashes or len(set(tokens)) != len(tokens):
            raise ValueError(f"tokens must be distinct and not reserved {SPECIALS}; received "
                             f"{clashes or 'duplicates'}")
        self.tokens = list(SPECIALS) + tokens
        self.ids = {token: k for k, token in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def encode(self, tokens):
        """list of tokens -> list of ids (no START/STOP added); ValueError on an unknown one."""
        unknown = [t for t in tokens if t not in self.ids]
        if unknown:
            raise ValueError(f"unknown tokens {unknown[:5]}; the table has {self.tokens[3:]}")
        return [self.ids[t] for t in tokens]

    def decode(self, ids):
        """ids -> list of tokens, up to (not including) the first STOP; PAD and START dropped."""
        tokens = []
        for k in np.asarray(ids).tolist():
            if k == STOP:
                break
            if k not in (PAD, START):
                tokens.append(self.tokens[k])
        return tokens


def masked_nll(logits, targets, mask):
    """Mean negative log-likelihood of `targets` over the positions where `mask` is 1.

    Inputs: logits (N, T, V) unnormalised scores; targets (N, T) int ids; mask (N, T) bool or
    0/1. Returns a scalar: sum over masked positions of -log softmax(logits)[target], divided
    by the number of masked positions (each real token counts once, whatever its sequence's
    length). A mask without any 1 gives 0.
    """
    log_probs = ops.log_softmax(logits, axis=-1)                              # (N, T, V)
    picked = ops.take_along_axis(log_probs, ops.expand_dims(ops.cast(targets, "int32"), -1),
                                 axis=-1)[..., 0]                             # (N, T)
    mask = ops.cast(mask, picked.dtype)
    return -ops.sum(picked * mask) / ops.maximum(ops.sum(mask), 1.0)


def generate(step, state, start_id, stop_id, max_length, choose):
    """Feed each chosen token back in, until every sequence has chosen `stop_id` or
    `max_length` tokens were chosen.

    step(token_ids (N,) int32, state) -> (logits (N, V), new state);
    choose(logits (N, V) as NumPy) -> ids (N,).
    The first step receives `start_id` for every sequence. Returns an int32 array (N,
    max_length): the chosen ids, each row's `stop_id` included, PAD after it.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, received max_length={max_length}")
    n = int(ops.shape(state[0] if isinstance(state, (list, tuple)) else state)[0])
    tokens = np.full((n,), start_id, np.int32)
    out = np.full((n, max_length), PAD, np.int32)                             # (N, L)
    done = np.zeros((n,), bool)
    for t in range(max_length):
        logits, state = step(tokens, state)                                  # (N, V)
        tokens = np.asarray(choose(ops.convert_to_numpy(logits))).astype(np.int32)  # (N,)
        out[:, t] = np.where(done, PAD, tokens)
        done |= tokens == stop_id
        if done.all():
            break
    return out
