"""Tests of the ex10 reference against implementations nobody here wrote:
keras.layers.AdditiveAttention(use_scale=True) fed by the same projections (masks included),
the same stack built from keras.layers.LSTM, and tf.GradientTape; and of what the grader
relies on: each named mistake moves the results far beyond the checks' tolerances, and the
lesson's numbers (the gradient at rnn_0 against depth) hold over seeds 0-4.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex10_solution.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnkit.official import ex10 as official  # noqa: E402
from rnnkit.probes import ex10 as probes  # noqa: E402
from solutions import ex10_attention as ex  # noqa: E402
from tests.grading import test_ex10 as checks  # noqa: E402


@pytest.mark.parametrize("square", [True, False])
def test_attention_equals_keras_additive_attention(square):
    case = checks.attention_case(3, "kit", square)
    got = probes.probe_attention(ex, units=checks.UNITS, **case)
    want = official.keras_attention(case["query"], case["values"], case["mask"], case["weights"])
    np.testing.assert_allclose(got["weights"], want["weights"], **checks.VALUE_TOL)
    np.testing.assert_allclose(got["context"], want["context"], **checks.VALUE_TOL)
    masked = ~case["mask"][:, None, :].repeat(got["weights"].shape[1], axis=1)
    assert masked.any() and np.all(got["weights"][masked] == 0.0)
    np.testing.assert_allclose(got["weights"].sum(-1), 1.0, rtol=1e-6)


def test_attention_without_mask_equals_keras():
    case = checks.attention_case(4, "nomask", False)
    case["mask"] = None
    got = probes.probe_attention(ex, units=checks.UNITS, **case)
    want = official.keras_attention(case["query"], case["values"], None, case["weights"])
    np.testing.assert_allclose(got["context"], want["context"], **checks.VALUE_TOL)


@pytest.mark.parametrize("square", [True, False])
def test_each_attention_mistake_is_far_from_the_answer(square):
    """Every named mistake differs from Keras's answer by far more than MISTAKE_TOL (so a
    correct layer is never named) and the NumPy oracle without a mistake equals Keras's."""
    case = checks.attention_case(0, "far", square)
    args = (case["query"], case["values"], case["mask"], case["weights"])
    want = official.keras_attention(*args)
    np.testing.assert_allclose(official.attention(*args)["context"], want["context"], atol=1e-6)
    mistakes = official.attention_mistakes(*args)
    assert ("decoder state" in mistakes) == square
    for mistake, result in mistakes.items():
        field = "context" if mistake == "decoder state" else "weights"
        assert np.abs(result[field] - want[field]).max() > 1e-2, mistake


def test_stack_equals_keras_and_gradient_equals_gradient_tape():
    x, y = checks.delayed_copy(1, n=8, steps=6)
    for residual in (True, False):
        weights = checks.stack_weights(1, 3)
        np.testing.assert_allclose(probes.probe_stack(ex, 3, residual, weights, x),
                                   official.keras_stack_outputs(3, residual, weights, x),
                                   **checks.VALUE_TOL)
        got = probes.probe_gradient_norm(ex, 3, residual, weights, x, y)
        want = official.keras_gradient_norm(3, residual, weights, x, y)
        assert np.isclose(got, want, rtol=checks.GRADIENT_TOL["rtol"])
        for mistake, value in official.gradient_mistakes(3, residual, weights, x, y).items():
            assert not np.isclose(value, want, **checks.MISTAKE_TOL), mistake


@pytest.mark.parametrize("seed", range(5))
def test_the_lesson_holds_over_seeds(seed):
    """The pass lines of test_residuals_carry_the_gradient, on the grader's weights drawn
    with seeds 0-4: plain stacks vanish by depth 8, residual ones do not."""
    x, y = checks.delayed_copy(seed)
    norms = {(depth, residual): official.keras_gradient_norm(
        depth, residual, checks.stack_weights(seed, depth), x, y)
        for depth in (1, checks.DEEP) for residual in (False, True)}
    assert norms[checks.DEEP, False] / norms[1, False] < checks.PLAIN_RATIO / 10, norms
    assert norms[checks.DEEP, True] / norms[1, True] > checks.RESIDUAL_RATIO * 2, norms
