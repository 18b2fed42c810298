"""The grader's twins of ex01's models around a mistaken vanilla cell
(rnnkit.official.ex01.problem_shape_mistakes, classifier_mistakes): with no mistake each equals
the instructor's model (solutions/, the same weight list); with one, its recurrent part
computes what the NumPy variant of rnnkit.official.cells computes for that mistake (an
implementation of the mistakes written apart from these Keras cells).

Run: python -m pytest -q tests/kit/exercises/test_ex01_twins.py
"""
import numpy as np
import pytest

from rnnkit.official import cells as variants
from rnnkit.official import ex01 as official
from rnnkit.probes import ex01 as probes
from solutions import ex01_simple_rnn as solution

# float32 Keras against float32 Keras (the same layers) or float64 NumPy: products summed
# in another order, ~1e-7 measured; the tolerance of the checks, 1e-5. Mistakes differ from
# each other and from the right cell by >= 1e-2 on these inputs.
TOL = dict(rtol=1e-5, atol=1e-5)


def case(name, seed=3):
    rng = np.random.default_rng(seed)
    shapes = probes.probe_problem_shapes(solution, name)["weight_shapes"]
    weights = [rng.uniform(-0.6, 0.6, s).astype("float32") for s in shapes]
    xs = [rng.uniform(-1, 1, s).astype("float32") for s in probes.SHAPE_BUILDERS[name][1]]
    return weights, xs


@pytest.mark.parametrize("name", list(probes.SHAPE_BUILDERS))
def test_the_twin_with_no_mistake_is_the_instructors_model(name):
    weights, xs = case(name)
    want = probes.probe_problem_shapes(solution, name, weights, xs)["outputs"]
    for got, w in zip(official.problem_shape_outputs(name, weights, xs), want, strict=True):
        np.testing.assert_allclose(got, w, **TOL)


def test_each_twin_computes_its_mistake():
    """many_to_many's outputs are Dense(the cell's states), so the states are recovered
    through the Dense layer's weights and compared with the NumPy variant's."""
    weights, xs = case("many_to_many")
    kernel, bias = weights[3], weights[4]
    twins = official.problem_shape_mistakes("many_to_many", weights, xs)
    assert list(twins) == official.MISTAKES
    for k, x in enumerate(xs):
        states = variants.cell_mistakes("SimpleRNNCell", x, [None], weights[:3])
        for sentence, outputs in twins.items():
            got = outputs[k]
            np.testing.assert_allclose(got, states[sentence] @ kernel + bias, **TOL,
                                       err_msg=sentence)


def test_each_classifier_twin_computes_its_mistake():
    rng = np.random.default_rng(5)
    N, T, D, H = probes.N, probes.T, probes.D, probes.H
    x = rng.uniform(-1, 1, (N, T, D)).astype("float32")
    weights = [rng.uniform(-0.6, 0.6, s).astype("float32")
               for s in [(D, H), (H, H), (H,), (H, 2), (2,)]]
    states = variants.cell_mistakes("SimpleRNNCell", x, [None], weights[:3])
    twins = official.classifier_mistakes(x, weights)
    assert list(twins) == official.MISTAKES
    for sentence, got in twins.items():
        np.testing.assert_allclose(got, states[sentence][:, -1] @ weights[3] + weights[4],
                                   **TOL, err_msg=sentence)
