"""Comparisons that fail with a sentence a student can act on.

Every helper raises `CheckFailed` (an AssertionError) whose message says what was
expected, what came back and, where it can tell, the likely cause. The reference is always
the scale: `expect_close(name, actual=student, desired=reference)`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


class CheckFailed(AssertionError):
    """A check found a difference; the message is the student's feedback line."""


def fail(message: str):
    raise CheckFailed(message)


def _index(flat_index: int, shape) -> str:
    return "[" + ", ".join(str(i) for i in np.unravel_index(flat_index, shape)) + "]"


def as_array(name: str, value) -> np.ndarray:
    """`value` as a numeric array, or a CheckFailed saying what came back instead."""
    if value is None:
        fail(f"{name}: expected an array, got None (a missing return statement?)")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        fail(f"{name}: expected numbers, got {type(value).__name__} of dtype {array.dtype}")
    return array


def expect_shape(name: str, actual, shape: tuple) -> np.ndarray:
    array = as_array(name, actual)
    if array.shape != tuple(shape):
        hint = ""
        if sorted(array.shape) == sorted(shape) and array.ndim == 2:
            hint = " (transposed?)"
        elif array.ndim == len(shape) + 1 and array.shape[1:] == tuple(shape):
            hint = (" (an extra leading axis of size 1: keepdims=True?)" if array.shape[0] == 1
                    else " (an extra leading axis: every time step instead of the last one?)")
        elif array.ndim + 1 == len(shape) and tuple(shape[1:]) == array.shape:
            hint = " (a missing leading axis)"
        fail(f"{name}: expected shape {tuple(shape)}, got {array.shape}{hint}")
    return array


def expect_dtype(name: str, array: np.ndarray, dtype) -> None:
    if array.dtype != np.dtype(dtype):
        fail(f"{name}: expected dtype {np.dtype(dtype)}, got {array.dtype}")


def expect_close(name: str, actual, desired, *, rtol: float, atol: float, dtype=None,
                 explain: Callable[[np.ndarray, np.ndarray], str | None] | None = None) -> None:
    """Shape, dtype, finiteness, then |actual - desired| <= atol + rtol * |desired|.

    `explain(actual, bad)` may name the likely cause (`bad` marks the entries that differ).
    """
    desired = np.asarray(desired)
    actual = expect_shape(name, actual, desired.shape)
    if dtype is not None:
        expect_dtype(name, actual, dtype)
    if actual.dtype.kind == "f" and not np.all(np.isfinite(actual)):
        where = _index(int(np.flatnonzero(~np.isfinite(actual))[0]), actual.shape)
        bad_kind = "NaN" if np.isnan(actual).any() else "inf"
        fail(f"{name}: contains {bad_kind} (first at {where}); the reference is finite")
    actual64, desired64 = actual.astype(np.float64), desired.astype(np.float64)
    error = np.abs(actual64 - desired64)
    bad = error > atol + rtol * np.abs(desired64)
    if not bad.any():
        return
    worst = int(np.argmax(np.where(bad, error, -1.0)))
    where = _index(worst, actual.shape)
    message = (f"{name}: {int(bad.sum())} of {bad.size} values differ from the reference; "
               f"largest error {error.flat[worst]:.3g} at {where} "
               f"(got {actual64.flat[worst]:.6g}, expected {desired64.flat[worst]:.6g}; "
               f"tolerance {atol:g} + {rtol:g}*|expected|)")
    if np.allclose(actual64, -desired64, rtol=rtol, atol=atol):
        message += "; the values are the reference with the sign flipped"
    elif desired64.size > 1 and np.allclose(actual64, 2 * desired64, rtol=rtol, atol=atol):
        message += "; the values are twice the reference (a term counted twice?)"
    cause = explain(actual64, bad) if explain else None
    if cause:
        message += f"; {cause}"
    fail(message)


def expect_equal(name: str, actual, expected) -> None:
    if actual != expected:
        fail(f"{name}: expected {expected!r}, got {actual!r}")


def load_weights(model, weights, what: str):
    """`model` (built from Keras's own layers) with the student's trained `weights` set;
    CheckFailed naming both shape lists when the student's model is another architecture."""
    expected = [tuple(w.shape) for w in model.get_weights()]
    got = [tuple(np.shape(w)) for w in weights]
    if got != expected:
        fail(f"{what} has weights of shapes {got}; the architecture the lesson fixes has "
             f"{expected}: build exactly the layers its docstring lists")
    model.set_weights(weights)
    return model


# -- naming a mistake: which known wrong output the student's matches ---------------------------
# float32 student output against this float64 reference: float32 rounding (~6e-8 relative
# per operation) accumulated over a few dozen steps and dot products stays near 1e-6, and
# Keras's own RNN tests use 1e-5. A mistake changes the output by ~1e-2 or more on
# asymmetric weights, so 1e-4 is 100 times above rounding and still far below any mistake.
DIAGNOSE_RTOL = 1e-4
DIAGNOSE_ATOL = 1e-4


def diagnose(actual, candidates, rtol=DIAGNOSE_RTOL, atol=DIAGNOSE_ATOL):
    """The sentence of the candidate that `actual` matches, or None.

    A candidate matches when it has the shape of `actual` and
    |actual - candidate| <= atol + rtol * |candidate| everywhere (numpy.allclose); see
    DIAGNOSE_RTOL for why these tolerances suit float32 output against float64 variants.
    When several match (which the kit's tests rule out for its own catalogues), the one with
    the smallest largest-absolute-difference wins.
    """
    actual = np.asarray(actual, dtype=np.float64)
    best, best_error = None, np.inf
    for sentence, candidate in candidates.items():
        candidate = np.asarray(candidate, dtype=np.float64)
        if candidate.shape != actual.shape or not np.allclose(actual, candidate, rtol=rtol,
                                                              atol=atol):
            continue
        error = float(np.max(np.abs(actual - candidate), initial=0.0))
        if error < best_error:
            best, best_error = sentence, error
    return best


def run_in_graph(grader, probe, function: str, *, how: str = "", blame: dict | None = None,
                 **args):
    """`probe` calls the student's `function` inside a tf.function, as training does; its result.

    Call it after the eager call of the same function passed on the same kind of inputs: an
    error here is then graph mode's, and the check fails naming that cause (with what the
    student's code raised, and where). `how` says how training passes the inputs. `blame`:
    {function: its check's title} of the functions `function` calls that have a graph check
    of their own: an error raised inside one of them is that check's to charge (None back)."""
    from rnnkit.grader.handles.process import StudentError

    try:
        return grader.run(probe, **args)
    except StudentError as error:
        if error.kind != "exception":
            raise
        for callee in (blame or {}):
            if error.location and f" in {callee}" in error.location:
                return None
        fail(f"{function} is called inside a tf.function during training{how}: NumPy calls "
             f"like np.asarray on a symbolic tensor fail there (so do float(), int() and a "
             f"Python `if` on one); use tf/keras.ops ({error})")
