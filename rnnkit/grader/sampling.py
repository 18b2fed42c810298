"""Independent float64 NumPy implementations of the decoding strategies students write
(ex07; greedy is np.argmax), the specified inverse-CDF sampler, and the diagnosis of a wrong
distribution by the invariant it breaks. Trusted grader code: never loaded by a student's
process. Conventions (the exercise's docstrings say the same):

- temperature 0 is greedy: probability 1 on np.argmax (the first maximum);
- top-k keeps exactly min(k, V) tokens, ties at the k-th place broken toward the lower id;
- top-p keeps the smallest prefix of the tokens sorted by decreasing probability whose mass
  reaches p (cumulative sum >= p), plus every token tied with its least likely member;
- sampling: u = rng.random(N), id = number of cdf entries <= u (cdf = cumsum / sum).
"""
from __future__ import annotations

import numpy as np

from rnnkit.grader.compare import expect_close, fail

# A float32 softmax differs from float64 by ~1e-7 relative; a real mistake (a token too
# many, no renormalisation) by >= 1e-2.
DIST_TOL = dict(rtol=1e-6, atol=1e-7)


def softmax(z):
    z = np.asarray(z, dtype="float64")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def temperature(z, temperature):
    if temperature == 0:
        return np.eye(z.shape[-1])[np.argmax(z, axis=-1)]
    return softmax(np.asarray(z, dtype="float64") / temperature)


def top_k(z, k):
    out = np.zeros(z.shape)
    for row, values in enumerate(np.asarray(z, dtype="float64")):
        best = sorted(range(len(values)), key=lambda j: (-values[j], j))[:k]
        out[row, best] = softmax(values[best])
    return out


def top_p(z, p):
    out = np.zeros(z.shape)
    for row, q in enumerate(softmax(z)):
        total, kept = 0.0, []
        for j in sorted(range(len(q)), key=lambda j: -q[j]):
            kept.append(j)
            total += q[j]
            if total >= p:
                break
        kept = np.flatnonzero(q >= q[kept].min())            # ties with the last one included
        out[row, kept] = q[kept] / q[kept].sum()
    return out


def inverse_cdf(probabilities, seed):
    """ids by the specified method, and the rows whose u sits on a cumulative boundary."""
    cdf = np.cumsum(probabilities, axis=-1)
    cdf = cdf / cdf[:, -1:]
    u = np.random.default_rng(seed).random(len(probabilities))
    on_edge = (np.abs(cdf - u[:, None]) < 1e-9).any(axis=-1)
    ids = np.array([np.searchsorted(row, x, side="right") for row, x in zip(cdf, u)])
    return ids, on_edge


def support_problems(name, got, z, want, structural):
    """The invariant a distribution breaks, as a sentence (None when none is found).
    structural: the strategy zeroes tokens (top-k, top-p), so which ones keep mass is judged."""
    rows = np.abs(got.sum(axis=-1) - 1.0) > 1e-5
    if rows.any():
        row = int(np.flatnonzero(rows)[0])
        return (f"{name}: row {row} sums to {got[row].sum():.6g}, not 1 — renormalise over "
                "the tokens you keep")
    if (got < -1e-12).any():
        return f"{name}: negative probabilities"
    extra = (got > 0) & (want == 0)
    missing = (got == 0) & (want > 0)
    if structural and (extra.any() or missing.any()):
        row = int(np.flatnonzero(extra.any(-1) | missing.any(-1))[0])
        ranks = np.argsort(np.argsort(-np.asarray(z[row], "float64"), kind="stable"))
        return (f"{name}: row {row} keeps tokens {np.flatnonzero(got[row] > 0).tolist()}, "
                f"expected {np.flatnonzero(want[row] > 0).tolist()} (ranks by logit: "
                f"{ranks.tolist()})")
    return None


def expect_distributions(name, got_list, z, want_list, parameters, explain=None,
                         structural=True):
    for parameter, got, want in zip(parameters, got_list, want_list):
        label = f"{name}({parameter})"
        got = np.asarray(got)
        if got.shape == want.shape and np.isfinite(got).all():
            problem = support_problems(label, got.astype("float64"), z, want, structural)
            if problem:
                hint = explain(parameter, got) if explain else None
                fail(problem + (f"; {hint}" if hint else ""))
        expect_close(label, got, want, **DIST_TOL,
                     explain=(lambda a, bad: explain(parameter, a)) if explain else None)
