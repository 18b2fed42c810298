"""Tests of the ex02 reference solution (BPTT, gradient norms, clipping) against oracles
nobody here wrote: TensorFlow autodiff in float64, Keras's SimpleRNN, tf.clip_by_global_norm,
centred finite differences, and the exact r^k law of a linear orthogonal recurrence."""

import ast
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from solutions import ex02_bptt as ex  # noqa: E402

# float64 against float64 autodiff: the same operations in a different order, so the results
# differ only by accumulated rounding, ~1e-15 per operation times a few dozen operations.
# 1e-12 leaves three orders of margin and still catches any real bug.
AUTODIFF_RTOL = 1e-12
AUTODIFF_ATOL = 1e-12

# Centred differences with eps = 1e-6: truncation error ~eps^2 = 1e-12 times the third
# derivative, plus rounding ~1e-16 * |L| / eps ~ 1e-10 * |L| with |L| ~ 2 here. The largest
# error measured is ~4e-10 absolute; 1e-8 absolute leaves a 25x margin and still catches a
# wrong factor or a missing path (errors of order 1e-1).
FINITE_DIFF_ATOL = 1e-8

N, T, D, H = 3, 5, 4, 6  # all different, so a transposed or swapped axis cannot pass


def make_problem(seed=0, n=N, t=T, d=D, h=H):
    """Seeded, asymmetric inputs and weights of moderate size (tanh neither linear nor flat)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, t, d)),
        "h0": 0.5 * rng.standard_normal((n, h)),
        "Wx": rng.standard_normal((d, h)) / np.sqrt(d),
        "Wh": rng.standard_normal((h, h)) / np.sqrt(h),
        "b": np.linspace(-0.3, 0.4, h),
        "dh": rng.standard_normal((n, t, h)),
    }


def tf_rnn_states(x, h0, Wx, Wh, b):
    """Independent forward pass in TensorFlow; returns the list of T states, each (N, H)."""
    states, h_prev = [], h0
    for t in range(x.shape[1]):
        h_prev = tf.tanh(tf.matmul(x[:, t], Wx) + tf.matmul(h_prev, Wh) + b)
        states.append(h_prev)
    return states


def tf_rnn_gradients(p):
    """Gradients of L = sum(h * dh) with respect to x, h0, Wx, Wh, b by tf.GradientTape."""
    variables = [tf.constant(p[k], dtype=tf.float64) for k in ("x", "h0", "Wx", "Wh", "b")]
    with tf.GradientTape() as tape:
        for v in variables:
            tape.watch(v)
        h = tf.stack(tf_rnn_states(*variables), axis=1)  # (N, T, H)
        loss = tf.reduce_sum(h * p["dh"])
    return [g.numpy() for g in tape.gradient(loss, variables)]


def assert_close(actual, expected, name, rtol, atol):
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.float64, f"{name}: dtype {actual.dtype}, expected float64"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


def test_rnn_forward_matches_keras_simple_rnn():
    p = make_problem(seed=1)
    layer = keras.layers.SimpleRNN(H, return_sequences=True, dtype="float64")
    layer.build((N, T, D))
    layer.set_weights([p["Wx"], p["Wh"], p["b"]])  # kernel, recurrent_kernel, bias
    expected = keras.ops.convert_to_numpy(layer(p["x"], initial_state=[p["h0"]]))
    h, _ = ex.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    assert_close(h, expected, "h", AUTODIFF_RTOL, AUTODIFF_ATOL)


def test_rnn_step_backward_matches_gradient_tape():
    p = make_problem(seed=2)
    x, h_prev, dh_next = p["x"][:, 0], p["h0"], p["dh"][:, 0]
    variables = [tf.constant(a) for a in (x, h_prev, p["Wx"], p["Wh"], p["b"])]
    with tf.GradientTape() as tape:
        for v in variables:
            tape.watch(v)
        loss = tf.reduce_sum(tf_rnn_states(tf.expand_dims(variables[0], 1), *variables[1:])[0]
                             * dh_next)
    expected = [g.numpy() for g in tape.gradient(loss, variables)]
    _, cache = ex.rnn_step_forward(x, h_prev, p["Wx"], p["Wh"], p["b"])
    actual = ex.rnn_step_backward(dh_next, cache)
    for name, a, e in zip(("dx", "dh_prev", "dWx", "dWh", "db"), actual, expected):
        assert_close(a, e, name, AUTODIFF_RTOL, AUTODIFF_ATOL)


@pytest.mark.parametrize("seed", [3, 4])
def test_rnn_backward_matches_gradient_tape(seed):
    p = make_problem(seed=seed)
    _, cache = ex.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    actual = ex.rnn_backward(p["dh"], cache)
    expected = tf_rnn_gradients(p)
    for name, a, e in zip(("dx", "dh0", "dWx", "dWh", "db"), actual, expected):
        assert_close(a, e, name, AUTODIFF_RTOL, AUTODIFF_ATOL)


def central_differences(f, x, df, eps=1e-6):
    """A second, independent finite-difference routine (does not use ex.numerical_gradient)."""
    grad = np.zeros(x.size)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        grad[i] = np.sum((f(x + step) - f(x - step)) * df) / (2 * eps)
    return grad.reshape(x.shape)


def test_rnn_backward_matches_finite_differences():
    p = make_problem(seed=5, n=2, t=4, d=3, h=5)
    x, h0, Wx, Wh, b, dh = (p[k] for k in ("x", "h0", "Wx", "Wh", "b", "dh"))
    _, cache = ex.rnn_forward(x, h0, Wx, Wh, b)
    actual = ex.rnn_backward(dh, cache)
    expected = (
        central_differences(lambda v: ex.rnn_forward(v, h0, Wx, Wh, b)[0], x, dh),
        central_differences(lambda v: ex.rnn_forward(x, v, Wx, Wh, b)[0], h0, dh),
        central_differences(lambda v: ex.rnn_forward(x, h0, v, Wh, b)[0], Wx, dh),
        central_differences(lambda v: ex.rnn_forward(x, h0, Wx, v, b)[0], Wh, dh),
        central_differences(lambda v: ex.rnn_forward(x, h0, Wx, Wh, v)[0], b, dh),
    )
    for name, a, e in zip(("dx", "dh0", "dWx", "dWh", "db"), actual, expected):
        assert_close(a, e, name, rtol=0, atol=FINITE_DIFF_ATOL)


def test_numerical_gradient_helper_matches_gradient_tape():
    # The helper given to students, on a nonlinear array function with a known gradient.
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4))
    df = rng.standard_normal((3, 4))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(tf.sin(xt) * xt**2 * df)
    expected = tape.gradient(loss, xt).numpy()
    actual = ex.numerical_gradient(lambda v: np.sin(v) * v**2, x, df)
    assert_close(actual, expected, "numerical_gradient", rtol=0, atol=FINITE_DIFF_ATOL)


def test_main_gradient_check_reports_small_errors():
    # Relative errors of a correct backward pass against centred differences are ~3e-8 at
    # worst here (entries near zero inflate the relative error); a bug gives ~1e-2 or more.
    errors = ex.gradient_check()
    assert set(errors) == {"dx", "dh0", "dWx", "dWh", "db"}
    assert max(errors.values()) < 1e-6, errors


def test_hidden_grad_norms_matches_gradient_tape():
    p = make_problem(seed=7, t=8)
    dh_last = p["dh"][:, -1]
    variables = [tf.constant(p[k]) for k in ("x", "h0", "Wx", "Wh", "b")]
    with tf.GradientTape() as tape:
        for v in variables:
            tape.watch(v)  # so that the tape records the ops producing every state
        states = tf_rnn_states(*variables)
        loss = tf.reduce_sum(states[-1] * dh_last)
    totals = tape.gradient(loss, states)  # total dL/dh_t through all later steps
    expected = np.array([np.mean(np.linalg.norm(g.numpy(), axis=1)) for g in totals])
    actual = ex.hidden_grad_norms(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"], dh_last)
    assert_close(actual, expected, "norms", AUTODIFF_RTOL, AUTODIFF_ATOL)
    assert actual[-1] == pytest.approx(np.mean(np.linalg.norm(dh_last, axis=1)), rel=1e-15)


@pytest.mark.parametrize("radius", [0.5, 0.9, 1.0, 1.1, 1.5])
def test_hidden_grad_norms_follow_r_power_k_in_the_linear_regime(radius):
    # x = 0, h0 = 0, b = 0 keep every state at tanh(0) = 0, so each backward step multiplies
    # by radius * (orthogonal matrix) and the norm by exactly radius. Rounding over 29 steps
    # of a 16 x 16 product stays below ~1e-14 relative; 1e-12 leaves margin.
    n, t, d, h = 4, 30, 3, 16
    rng = np.random.default_rng(8)
    dh_last = rng.standard_normal((n, h))
    norms = ex.hidden_grad_norms(
        np.zeros((n, t, d)), np.zeros((n, h)), rng.standard_normal((d, h)),
        ex.scaled_orthogonal(h, radius, seed=9), np.zeros(h), dh_last,
    )
    distance = np.arange(t)[::-1]  # T-1-t
    expected = np.mean(np.linalg.norm(dh_last, axis=1)) * radius**distance
    assert_close(norms, expected, "norms", rtol=1e-12, atol=0)


def test_scaled_orthogonal_has_equal_singular_values_and_is_seeded():
    W = ex.scaled_orthogonal(7, 1.3, seed=0)
    assert W.shape == (7, 7) and W.dtype == np.float64
    # SVD of a well-conditioned 7 x 7 matrix is accurate to ~1e-15 relative.
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 1.3, rtol=1e-13)
    np.testing.assert_array_equal(W, ex.scaled_orthogonal(7, 1.3, seed=0))
    assert not np.allclose(W, ex.scaled_orthogonal(7, 1.3, seed=1))


def gradient_list(scale, seed=10):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal((4, 6)), scale * rng.standard_normal((6, 6)),
            scale * np.linspace(-1.0, 2.0, 6)]


@pytest.mark.parametrize(
    "grads, max_norm",
    [
        (gradient_list(10.0), 1.0),  # global norm ~90: clipped
        (gradient_list(0.01), 1.0),  # global norm ~0.09: unchanged
        ([np.zeros((4, 6)), np.zeros((6, 6)), np.zeros(6)], 1.0),  # zero stays zero
    ],
    ids=["above", "below", "all-zero"],
)
def test_clip_by_global_norm_matches_tensorflow(grads, max_norm):
    originals = [g.copy() for g in grads]
    clipped, global_norm = ex.clip_by_global_norm(grads, max_norm)
    expected, expected_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
    # tf scales by max_norm * (1 / norm) and we may compute max_norm / norm: one rounding
    # apart, so 1e-14 relative.
    assert float(global_norm) == pytest.approx(float(expected_norm), rel=1e-14, abs=0)
    assert len(clipped) == len(grads)
    for i, (c, e, g, o) in enumerate(zip(clipped, expected, grads, originals)):
        assert_close(c, e.numpy(), f"clipped[{i}]", rtol=1e-14, atol=0)
        assert np.all(np.isfinite(c)), f"clipped[{i}] has non-finite entries"
        assert not np.shares_memory(c, g), f"clipped[{i}] shares memory with its input"
        np.testing.assert_array_equal(g, o, err_msg=f"grads[{i}] was modified")


def test_clip_by_global_norm_caps_norm_and_keeps_direction():
    grads = gradient_list(10.0)
    clipped, global_norm = ex.clip_by_global_norm(grads, 2.5)
    after = np.sqrt(sum(np.sum(c**2) for c in clipped))
    assert after == pytest.approx(2.5, rel=1e-14)
    for c, g in zip(clipped, grads):
        np.testing.assert_allclose(c * global_norm / 2.5, g, rtol=1e-13)


def read_only_copies(arrays):
    """Copies that raise on any in-place write, so a mutation fails loudly at its source."""
    copies = []
    for a in arrays:
        c = np.array(a, copy=True)
        c.flags.writeable = False
        copies.append(c)
    return copies


def test_no_public_function_mutates_its_inputs():
    # Read-only copies make any in-place write raise at its source; comparing with the
    # originals afterwards also catches writes through a copy that was made writeable.
    names = ("x", "h0", "Wx", "Wh", "b", "dh")
    p = make_problem(seed=11)
    given = dict(zip(names, read_only_copies([p[k] for k in names])))
    x, h0, Wx, Wh, b, dh = (given[k] for k in names)
    grads = read_only_copies(gradient_list(10.0) + gradient_list(0.01))
    originals = [g.copy() for g in grads]

    _, step_cache = ex.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    ex.rnn_step_backward(dh[:, 0], step_cache)
    _, cache = ex.rnn_forward(x, h0, Wx, Wh, b)
    ex.rnn_backward(dh, cache)
    ex.hidden_grad_norms(x, h0, Wx, Wh, b, dh[:, -1])
    ex.clip_by_global_norm(grads[:3], 1.0)  # clipped
    ex.clip_by_global_norm(grads[3:], 1.0)  # unchanged
    ex.numerical_gradient(np.tanh, x[0], dh[0, :, :D])

    for name in names:
        np.testing.assert_array_equal(given[name], p[name], err_msg=f"{name} was modified")
    for i, (g, o) in enumerate(zip(grads, originals)):
        np.testing.assert_array_equal(g, o, err_msg=f"grads[{i}] was modified")


def test_backward_is_repeatable_from_the_same_cache():
    p = make_problem(seed=12)
    _, cache = ex.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    first = ex.rnn_backward(p["dh"], cache)
    second = ex.rnn_backward(p["dh"], cache)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_main_runs_and_saves_the_plot(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ex.main()
    assert (tmp_path / "runs" / "ex02" / "gradient_norms.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "gradient check" in out and "clipping" in out


def test_plot_helper_draws_one_line_per_radius_and_returns_ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norms = {0.5: 0.5 ** np.arange(5)[::-1], 1.5: 1.5 ** np.arange(5)[::-1]}
    fig, ax = plt.subplots()
    try:
        assert ex.plot_gradient_norms(ax, norms, "title", show_law=True) is ax
        assert ax.get_yscale() == "log"
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels.count("r = 0.5") == 1 and labels.count("r = 1.5") == 1
        solid = [line for line in ax.get_lines() if line.get_label() == "r = 1.5"][0]
        np.testing.assert_array_equal(solid.get_xdata(), [4, 3, 2, 1, 0])  # distance T-1-t
    finally:
        plt.close(fig)


def test_module_imports_without_tensorflow_or_keras():
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    root = Path(__file__).resolve().parents[3]
    env["PYTHONPATH"] = str(root)
    code = ("import sys; import solutions.ex02_bptt; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib.pyplot') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"module imported {result.stdout.strip()}"


STUDENT_FUNCTIONS = {"rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                     "hidden_grad_norms", "clip_by_global_norm"}


def test_solution_blocks_sit_inside_student_function_bodies_after_the_docstring():
    source = Path(ex.__file__).read_text()
    lines = source.splitlines()
    begins = [i + 1 for i, line in enumerate(lines) if line.strip() == "# BEGIN SOLUTION"]
    ends = [i + 1 for i, line in enumerate(lines) if line.strip() == "# END SOLUTION"]
    assert len(begins) == len(ends) and all(b < e for b, e in zip(begins, ends))
    assert all(e < b for e, b in zip(ends, begins[1:])), "blocks overlap or nest"
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    with_blocks = set()
    for begin, end in zip(begins, ends):
        # ast line spans stop at the last statement, so the END comment lies just past them.
        owner = [f for f in functions if f.lineno < begin <= f.end_lineno]
        assert len(owner) == 1, f"block at line {begin} is not inside a top-level function"
        f = owner[0]
        docstring = f.body[0]
        assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
        assert docstring.end_lineno < begin, f"{f.name}: block starts before the docstring ends"
        body_indent = " " * docstring.col_offset
        assert lines[begin - 1] == body_indent + "# BEGIN SOLUTION", f.name
        assert lines[end - 1] == body_indent + "# END SOLUTION", f.name
        # Nothing but the docstring precedes the block and nothing of the body follows it.
        assert all(n.lineno > begin for n in f.body[1:]), f"{f.name}: code before the block"
        assert f.end_lineno < end, f"{f.name}: code after the block"
        later = [n.lineno for n in tree.body if n.lineno > f.lineno]
        assert not later or end < min(later), f"{f.name}: END SOLUTION outside the function"
        with_blocks.add(f.name)
    assert with_blocks == STUDENT_FUNCTIONS
