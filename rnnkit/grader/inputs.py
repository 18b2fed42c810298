"""Seeded, asymmetric inputs and weights for checks.

Constant or symmetric test weights cannot tell swapped weights or gates apart (the
difference is exactly zero), so everything here comes from a seeded generator, salted by a
name so two arrays drawn with the same seed still differ.
"""
from __future__ import annotations

import zlib

import numpy as np


def rng(seed: int, salt: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(salt.encode())])


def uniform(seed: int, salt: str, shape, low: float = -0.5, high: float = 0.5,
            dtype="float32") -> np.ndarray:
    return rng(seed, salt).uniform(low, high, size=shape).astype(dtype)


def simple_rnn_weights(seed: int, input_dim: int, units: int, dtype="float32") -> list:
    """[kernel (D, H), recurrent_kernel (H, H), bias (H,)] in Keras's SimpleRNN layout."""
    return [uniform(seed, "kernel", (input_dim, units), -0.6, 0.6, dtype),
            uniform(seed, "recurrent_kernel", (units, units), -0.6, 0.6, dtype),
            uniform(seed, "bias", (units,), -0.3, 0.3, dtype)]


def right_padded_mask(seed: int, batch: int, steps: int) -> np.ndarray:
    """(N, T) bool mask, True then False (right padding); lengths 1..T, first row full."""
    lengths = rng(seed, "lengths").integers(1, steps + 1, size=batch)
    lengths[0] = steps
    return np.arange(steps)[None, :] < lengths[:, None]
