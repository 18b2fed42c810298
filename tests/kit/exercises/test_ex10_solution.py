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


# -- the seq2seq with attention -------------------------------------------------------------

def seq2seq_case(seed, n=5):
    from rnnkit import seq2seq
    from rnnkit.datasets import dates

    pairs = dates.pairs("validation", n, seed=seed)
    sources = seq2seq.encode_sources([s for s, _ in pairs])
    decoder_inputs = np.zeros((n, seq2seq.TARGET_LENGTH), "int32")
    for k, (_, target) in enumerate(pairs):
        decoder_inputs[k, :len(target) + 1] = [1, *seq2seq.TARGET.encode(target)]
    return checks.seq2seq_weights(seed), sources, decoder_inputs


def test_attention_seq2seq_equals_its_keras_twin():
    """The reference's training model and step model against the twin made of Keras's LSTM
    and AdditiveAttention with the same weights; and the twin's mask matters (the sources
    are left-padded), so a model that ignores it would not pass."""
    weights, sources, decoder_inputs = seq2seq_case(2)
    got = probes.probe_seq2seq(ex, weights, sources, decoder_inputs)
    want = official.keras_attention_logits(weights, sources, decoder_inputs)
    np.testing.assert_allclose(got["forced"], want, **checks.VALUE_TOL)
    np.testing.assert_allclose(got["stepped"], want, **checks.VALUE_TOL)
    model, _, _ = official.keras_attention_seq2seq(weights)
    unmasked = np.asarray(model([np.where(sources == 0, 5, sources), decoder_inputs]))
    assert np.abs(unmasked - want).max() > 100 * checks.VALUE_TOL["atol"]


def test_twin_refuses_weights_of_another_shape():
    from rnnkit.grader.compare import CheckFailed

    weights, _, _ = seq2seq_case(0)
    weights["attention"] = [w[..., :4] for w in weights["attention"]]
    with pytest.raises(CheckFailed, match="'attention'"):
        official.keras_attention_seq2seq(weights)


def test_trained_model_scores_the_same_in_the_twin_and_by_greedy_translate():
    """A short training (1 epoch of 1,000 pairs): the exercise's greedy_translate and the
    grader's greedy decoding in Keras's twin agree on every one of 200 test dates, so the
    self-check and the official grade measure the same thing."""
    from rnnkit import seq2seq
    from rnnkit.datasets import dates

    model, encoder, step_model = ex.train_attention_seq2seq(
        ex.LSTMCell, dates.pairs("train", 1000, seed=0), epochs=1, seed=0)
    weights = {name: model.get_layer(name).get_weights()
               for name in seq2seq.ATTENTION_LAYER_NAMES}
    test = official.course_pairs("test", 200, 7)
    decoded, attended = ex.greedy_translate(encoder, step_model, [s for s, _ in test])
    np.testing.assert_allclose(attended.sum(-1), 1.0, rtol=1e-5)
    _, twin_encoder, twin_step = official.keras_attention_seq2seq(weights)
    sources = seq2seq.encode_sources([s for s, _ in test])
    outputs, *states = [np.asarray(a) for a in twin_encoder(sources)]
    fed, tokens = np.full(len(test), 1), []
    for _ in range(seq2seq.TARGET_LENGTH):
        logits, *states = [np.array(o) for o in twin_step([fed[:, None], *states, outputs,
                                                           sources != 0])]
        logits[:, 0, :2] = -np.inf
        fed = logits[:, 0].argmax(-1)
        tokens.append(fed)
    twin = ["".join(seq2seq.TARGET.decode(row)) for row in np.stack(tokens, axis=1)]
    assert decoded == twin


def test_pass_line_sits_between_ex09_and_attention():
    """The numbers PASS_LINE is fixed from (its comment), kept in step with it."""
    assert max(checks.EX09_PLAIN) < checks.PASS_LINE < min(checks.ATTENTION_MEASURED)
