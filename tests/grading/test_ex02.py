"""Grading ex02 — backpropagation through time by hand (`ex02_bptt.py`).

Hand-written gradients are compared with `tf.GradientTape` (autodiff nobody here wrote)
on the loss L = sum(h * dh); forwards are compared with the instructor's reference.

Tolerances (float64 on both sides): autodiff and a hand-written backward differ only by
summation order, ~1e-13 on these sizes; rtol 1e-7 + atol 1e-9 leaves a wide margin and is
still ~1e5 below any real mistake. Finite differences (eps 1e-6, centred) carry an
error ~eps^2 + 1e-16/eps ~ 1e-10, so the self-consistency check uses rtol 1e-5.
"""
import numpy as np
import pytest

from rnnkit.grader import inputs
from rnnkit.probes.ex02 import (  # noqa: F401
    probe_step, probe_sequence, probe_numerical_gradients, probe_hidden_norms, probe_clip)
from rnnkit.grader.compare import expect_close, fail
from rnnkit.grader import oracles

official = oracles.of("ex02")       # the oracles (rnnkit/official/ex02.py), by name

N, T, D, H = 3, 6, 4, 5
TOL = dict(rtol=1e-7, atol=1e-9)
GRAD_NAMES = ("dx", "dh0", "dWx", "dWh", "db")


def problem(seed, steps=T):
    """x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,), dh (N, T, H) — float64."""
    f64 = "float64"
    return dict(x=inputs.uniform(seed, "x", (N, steps, D), -1, 1, f64),
                h0=inputs.uniform(seed, "h0", (N, H), -1, 1, f64),
                Wx=inputs.uniform(seed, "Wx", (D, H), -0.6, 0.6, f64),
                Wh=inputs.uniform(seed, "Wh", (H, H), -0.6, 0.6, f64),
                b=inputs.uniform(seed, "b", (H,), -0.3, 0.3, f64),
                dh=inputs.uniform(seed, "dh", (N, steps, H), -1, 1, f64))




def explain_clip(grader, grads, max_norm):
    """explain(i, clipped_i): the classic clipping mistake clipped array i matches, if any
    (their outputs: rnnkit.official.ex02.clip_mistakes)."""
    mistakes = grader.oracle(official.clip_mistakes, grads, max_norm)

    def explain(i, actual):
        return next((sentence for sentence, arrays in mistakes
                     if np.allclose(actual, arrays[i], **TOL)), None)

    return explain


def mutated(sent: dict, after: dict, names) -> list[str]:
    """The inputs among `names` that came back different from what the grader sent."""
    return [name for name in names
            if not np.array_equal(np.asarray(after[name]), sent[name], equal_nan=True)]


def _no_mutation(function: str, mutated) -> None:
    if mutated:
        fail(f"{function} modified its input(s) {', '.join(mutated)} in place; "
             "compute new arrays instead (the caller still needs the originals)")


# -- checks ---------------------------------------------------------------------------------
@pytest.mark.points(1)
@pytest.mark.part("rnn_step_forward")
def test_step_forward(grader):
    """rnn_step_forward computes tanh(x Wx + h_prev Wh + b)"""
    for seed in grader.seeds():
        p = problem(seed)
        args = dict(x=p["x"][:, 0], h_prev=p["h0"], Wx=p["Wx"], Wh=p["Wh"], b=p["b"],
                    dh_next=p["dh"][:, 0])
        got = grader.run(probe_step, **args)
        want = grader.reference(probe_step, **args)
        expect_close("h_next", got["h"], want["h"], **TOL, dtype="float64")
        _no_mutation("rnn_step_forward", mutated(args, got["after"], ["x", "h_prev", "Wx", "Wh", "b"]))


@pytest.mark.points(2)
@pytest.mark.part("rnn_step_backward", uses=("rnn_step_forward",))   # its cache holds h_next
def test_step_backward(grader):
    """rnn_step_backward equals autodiff (tf.GradientTape) for every input"""
    for seed in grader.seeds():
        p = problem(seed, steps=1)
        args = dict(x=p["x"][:, 0], h_prev=p["h0"], Wx=p["Wx"], Wh=p["Wh"], b=p["b"],
                    dh_next=p["dh"][:, 0])
        got = grader.run(probe_step, **args)
        _, want = grader.oracle(official.tape_sequence, **p)
        names = ("dx", "dh_prev", "dWx", "dWh", "db")
        if len(got["grads"]) != 5:
            fail(f"rnn_step_backward must return 5 arrays {names}, got {len(got['grads'])}")
        want[0] = want[0][:, 0]
        forgot = grader.oracle(official.step_backward_without_tanh_derivative, **args)
        for name, g, w, f in zip(names, got["grads"], want, forgot):
            expect_close(name, g, w, **TOL, explain=lambda a, bad, f=f:
                         "it is the gradient without the tanh derivative: multiply dh_next by "
                         "(1 - h_next**2) first" if np.allclose(a, f, rtol=1e-7, atol=1e-9)
                         else None)
        _no_mutation("rnn_step_backward", mutated(args, got["after"], ["dh_next"]))


@pytest.mark.points(1)
@pytest.mark.part("rnn_forward", uses=("rnn_step_forward",))
def test_forward(grader):
    """rnn_forward returns every hidden state (N, T, H)"""
    for seed in grader.seeds():
        p = problem(seed)
        got = grader.run(probe_sequence, **p)
        want = grader.reference(probe_sequence, **p)
        expect_close("h", got["h"], want["h"], **TOL, dtype="float64",
                     explain=lambda a, bad: "only the first step differs: is h0 used?"
                     if not bad[:, 1:].any() else None)
        _no_mutation("rnn_forward", mutated(p, got["after"], ["x", "h0", "Wx", "Wh", "b"]))


@pytest.mark.points(3)
@pytest.mark.part("rnn_backward", uses=("rnn_step_backward", "rnn_forward"))
def test_backward(grader):
    """rnn_backward equals autodiff (tf.GradientTape) for x, h0, Wx, Wh and b"""
    for seed in grader.seeds():
        p = problem(seed)
        got = grader.run(probe_sequence, **p)
        _, want = grader.oracle(official.tape_sequence, **p)
        if len(got["grads"]) != 5:
            fail(f"rnn_backward must return 5 arrays {GRAD_NAMES}, got {len(got['grads'])}")
        numeric = None

        def explain(actual, bad, index):
            nonlocal numeric
            if numeric is None:
                numeric = grader.run(probe_numerical_gradients, **p)
            if np.allclose(actual, numeric[index], rtol=1e-5, atol=1e-7):
                return ("it agrees with finite differences of your own rnn_forward, so the "
                        "mistake is in rnn_forward")
            if np.allclose(numeric[index], want[index], rtol=1e-5, atol=1e-7):
                return ("your rnn_forward is right (its finite differences match autodiff), so "
                        "the mistake is in rnn_backward: is dh[:, t] added to the gradient "
                        "flowing back from step t+1?")
            return None

        for index, (name, g, w) in enumerate(zip(GRAD_NAMES, got["grads"], want)):
            expect_close(name, g, w, **TOL, explain=lambda a, bad, i=index: explain(a, bad, i))
        _no_mutation("rnn_backward", mutated(p, got["after"], ["dh"]))


@pytest.mark.points(1)
@pytest.mark.part("rnn_backward", uses=("rnn_step_backward", "rnn_forward"))
def test_backward_matches_finite_differences(grader):
    """rnn_backward agrees with centred finite differences of your own rnn_forward"""
    p = problem(grader.seed)
    got = grader.run(probe_sequence, **p)
    numeric = grader.run(probe_numerical_gradients, **p)
    if len(got["grads"]) != 5:
        fail(f"rnn_backward must return 5 arrays {GRAD_NAMES}, got {len(got['grads'])}")
    for name, g, n in zip(GRAD_NAMES, got["grads"], numeric):
        expect_close(f"{name} against finite differences", g, n, rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
@pytest.mark.part("hidden_grad_norms", uses=("rnn_step_backward", "rnn_forward"))
def test_hidden_grad_norms(grader):
    """hidden_grad_norms equals the norms of dL/dh_t computed by autodiff"""
    for seed in grader.seeds():
        p = problem(seed, steps=12)
        args = dict(x=p["x"], h0=p["h0"], Wx=p["Wx"], Wh=p["Wh"], b=p["b"],
                    dh_last=p["dh"][:, -1])
        got = grader.run(probe_hidden_norms, **args)
        want = grader.oracle(official.tape_hidden_norms, **args)
        expect_close("norms", got["norms"], want, rtol=1e-7, atol=1e-9,
                     explain=lambda a, bad: "the order is reversed: norms[t] belongs to step t"
                     if np.allclose(a, want[::-1]) else None)
        _no_mutation("hidden_grad_norms", mutated(args, got["after"], list(args)))


@pytest.mark.points(1)
@pytest.mark.part("hidden_grad_norms", uses=("rnn_step_backward", "rnn_forward"))
@pytest.mark.parametrize("radius", [0.5, 1.5])
def test_vanishing_and_exploding(grader, radius):
    """With tanh' = 1 (x = 0, h0 = 0) the norms follow radius ** distance: they vanish or explode"""
    steps = 20
    for seed in grader.seeds():
        rng = inputs.rng(seed, "vanishing")
        q, _ = np.linalg.qr(rng.normal(size=(H, H)))
        args = dict(x=np.zeros((N, steps, D)), h0=np.zeros((N, H)), Wx=rng.normal(size=(D, H)),
                    Wh=radius * q, b=np.zeros(H), dh_last=rng.normal(size=(N, H)))
        got = grader.run(probe_hidden_norms, **args)
        distance = steps - 1 - np.arange(steps)
        law = np.linalg.norm(args["dh_last"], axis=1).mean() * radius ** distance
        expect_close(f"norms at radius {radius}", got["norms"], law, rtol=1e-6, atol=0)


def clip_shapes(seed):
    """The recorded shapes for seed 0; other seeds draw their own (so no answer can be tabled)."""
    if seed == 0:
        return [(D, H), (H, H), (H,)]
    rows, cols = inputs.rng(seed, "clip shapes").integers(2, 7, size=2)
    return [(int(rows), int(cols)), (int(cols), int(cols)), (int(cols),)]


@pytest.mark.points(2)
@pytest.mark.part("clip_by_global_norm")
@pytest.mark.parametrize("case", ["above", "below", "zero"])
def test_clip_by_global_norm(grader, case):
    """clip_by_global_norm equals tf.clip_by_global_norm"""
    scale = {"above": 3.0, "below": 0.01, "zero": 0.0}[case]
    for seed in grader.seeds():
        grads = [scale * inputs.uniform(seed, f"g{i}", shape, -1, 1, "float64")
                 for i, shape in enumerate(clip_shapes(seed))]
        got = grader.run(probe_clip, grads=grads, max_norm=1.0)
        want, norm = grader.oracle(official.tf_clip, grads, 1.0)
        expect_close("global norm", np.float64(got["norm"]), np.float64(norm), **TOL)
        if len(got["clipped"]) != len(want):
            fail(f"expected {len(want)} clipped arrays, got {len(got['clipped'])}")
        explain = explain_clip(grader, grads, 1.0)
        for i, (g, w) in enumerate(zip(got["clipped"], want)):
            expect_close(f"clipped gradient {i}", g, w, **TOL,
                         explain=lambda a, bad, i=i: explain(i, a))
        if not all(np.array_equal(np.asarray(a), g) for a, g in zip(got["after"], grads)):
            fail("clip_by_global_norm modified the gradients in place; return new arrays")
