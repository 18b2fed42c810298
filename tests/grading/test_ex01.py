"""Grading ex01 — the vanilla RNN cell (`ex01_simple_rnn.py`).

Each check has a probe, `probe_*(module, **args)`, that runs in the student's process and
returns plain data, and a test that compares it — with `keras.layers.SimpleRNN` (an
implementation nobody here wrote) or with the instructor's reference.

Tolerances (float32): the student's cell and Keras do the same products in possibly another
order; measured differences are <= 2e-7, Keras's own SimpleRNN tests use 1e-6. We allow
atol 1e-5 + rtol 1e-5 for values (50x the measured noise) and 1e-4 for gradients (sums over
T steps and N examples); any real mistake (a missing bias, a wrong weight) is >= 1e-2.
"""
import numpy as np
import pytest

from rnnkit.grader import archive, compare, inputs, oracles
from rnnkit.grader.compare import expect_close, expect_equal, fail
from rnnkit.grader.oracles import OfficialOnly
from rnnkit.probes.ex01 import (
    D, H, N, QUIZ_APPLICATIONS, SHAPE_BUILDERS, T, probe_application_shape, probe_cell_contract,
    probe_cell_step, probe_fit_steps, probe_gradients, probe_parameter_count,
    probe_problem_shapes, probe_round_trip, probe_sequence, probe_unrolled)

official = oracles.of("ex01")       # the oracles (rnnkit/official/ex01.py), by name
VALUE_TOL = dict(rtol=1e-5, atol=1e-5)
GRAD_TOL = dict(rtol=1e-4, atol=1e-4)


def classifier_weights(seed):
    return inputs.simple_rnn_weights(seed, D, H) + [
        inputs.uniform(seed, "dense_kernel", (H, 2)), inputs.uniform(seed, "dense_bias", (2,))]


def explain_cell(grader, x, h0, weights, step=False):
    """Name the common mistake the student's output matches, if any (the mistaken cells'
    outputs on the same inputs: rnnkit.official.ex01.cell_mistakes)."""
    candidates = grader.oracle(official.cell_mistakes, x, h0, weights, step)
    return lambda actual, bad: compare.diagnose(actual, candidates)


def explain_unrolled(actual, states, h0):
    """The loop's classic mistake: the state stored before the cell reads x_t, so the outputs
    are [h0, h_0, ..., h_{T-2}] instead of [h_0, ..., h_{T-1}] (N, T, H)."""
    shifted = np.concatenate([np.asarray(h0)[:, None], states[:, :-1]], axis=1)   # (N, T, H)
    if np.allclose(actual, shifted, **VALUE_TOL):
        return ("your states are shifted by one step: h[:, t] holds the state before reading "
                "x[:, t] (h[:, 0] is the initial state); store the state after calling the cell")
    return None


def structure_credited(grader):
    """What the student's process says about the cell's structure counts only when the cell's
    values on the grader's inputs bear it out (rnnkit.grader.cellcheck.structure_verified)."""
    why = grader.structure_verified("SimpleRNNCell")
    if why:
        fail(why)


# -- checks ---------------------------------------------------------------------------------
@pytest.mark.points(1)
@pytest.mark.part("SimpleRNNCell")
def test_cell_contract(grader):
    """SimpleRNNCell follows the Keras cell protocol"""
    x, h = inputs.uniform(grader.seed, "x", (N, D)), inputs.uniform(grader.seed, "h", (N, H))
    got = grader.run(probe_cell_contract, x=x, h=h)
    if not got["is_layer"]:
        fail("SimpleRNNCell must subclass keras.layers.Layer")
    expect_equal("state_size", got["state_size"], [H])
    expect_equal("output_size", got["output_size"], H)
    expect_equal("shape of the output of one step", got["output_shape"], [N, H])
    if not got["states_is_list"] or got["n_states"] != 1:
        fail(f"call must return (output, [new_state]), a list holding one state; got "
             f"{got['n_states'] if got['states_is_list'] else 'no list'} state(s)")
    expect_equal("shape of the new state", got["state_shapes"], [[N, H]])
    structure_credited(grader)


@pytest.mark.points(1)
@pytest.mark.part("SimpleRNNCell")
def test_weight_layout(grader):
    """Weights are kernel (D, H), recurrent_kernel (H, H), bias (H,), in Keras's order"""
    x, h = inputs.uniform(grader.seed, "x", (N, D)), inputs.uniform(grader.seed, "h", (N, H))
    got = grader.run(probe_cell_contract, x=x, h=h)["weights"]
    expected = [["kernel", [D, H]], ["recurrent_kernel", [H, H]], ["bias", [H]]]
    if [shape for _, shape in got] != [shape for _, shape in expected]:
        fail(f"expected weights {expected} (names, shapes) in this order, got {got}; "
             "create them in build() with add_weight in Keras's order")
    structure_credited(grader)


@pytest.mark.points(2)
@pytest.mark.part("SimpleRNNCell")
def test_cell_step_matches_keras(grader):
    """One step equals keras.layers.SimpleRNNCell with the same weights"""
    for seed in grader.seeds():
        x, h = inputs.uniform(seed, "x", (N, D), -1, 1), inputs.uniform(seed, "h", (N, H), -1, 1)
        weights = inputs.simple_rnn_weights(seed, D, H)
        got = grader.run(probe_cell_step, x=x, h=h, weights=weights)
        want = grader.oracle(official.keras_cell_step, x, h, weights)
        expect_close("output of one step", got["output"], want["output"], **VALUE_TOL,
                     dtype="float32", explain=explain_cell(grader, x, h, weights, step=True))
        expect_close("new state of one step", got["state"], want["state"], **VALUE_TOL)


@pytest.mark.points(2)
@pytest.mark.part("SimpleRNNCell")
def test_sequence_matches_keras(grader):
    """RNN(SimpleRNNCell) equals keras.layers.SimpleRNN: every output and the final state"""
    for seed in grader.seeds():
        x = inputs.uniform(seed, "x", (N, T, D), -1, 1)
        h0 = inputs.uniform(seed, "h0", (N, H), -1, 1)
        weights = inputs.simple_rnn_weights(seed, D, H)
        got = grader.run(probe_sequence, x=x, h0=h0, weights=weights)
        want = grader.oracle(official.keras_sequence, x, h0, weights)
        expect_close("outputs over time", got["outputs"], want["outputs"], **VALUE_TOL,
                     explain=explain_cell(grader, x, h0, weights))
        expect_close("final state", got["state"], want["state"], **VALUE_TOL)


@pytest.mark.points(2)
@pytest.mark.part("SimpleRNNCell")
def test_gradients_match_keras(grader):
    """Gradients w.r.t. the inputs and every weight equal keras.layers.SimpleRNN's"""
    names = ["dL/dx", "dL/dkernel", "dL/drecurrent_kernel", "dL/dbias"]
    for seed in grader.seeds():
        x = inputs.uniform(seed, "x", (N, T, D), -1, 1)
        h0 = inputs.uniform(seed, "h0", (N, H), -1, 1)
        weights = inputs.simple_rnn_weights(seed, D, H)
        upstream = inputs.uniform(seed, "upstream", (N, T, H), -1, 1)
        got = grader.run(probe_gradients, x=x, h0=h0, weights=weights, upstream=upstream)
        want = grader.oracle(official.keras_gradients, x, h0, weights, upstream)
        if len(got) != len(want):
            fail(f"expected 3 trainable weights, found {len(got) - 1}")
        for name, g, w in zip(names, got, want):
            if g is None:
                fail(f"{name} is None: that weight is not used in call()")
            expect_close(name, g, w, **GRAD_TOL)


@pytest.mark.points(2)
@pytest.mark.part("rnn_forward_unrolled", uses=("SimpleRNNCell",))
def test_unrolled_forward(grader):
    """rnn_forward_unrolled returns every hidden state, with and without h0"""
    for seed in grader.seeds():
        x = inputs.uniform(seed, "x", (N, T, D), -1, 1)
        h0 = inputs.uniform(seed, "h0", (N, H), -1, 1)
        weights = inputs.simple_rnn_weights(seed, D, H)
        got = grader.run(probe_unrolled, x=x, h0=h0, weights=weights)
        with_h0 = grader.oracle(official.keras_sequence, x, h0, weights)["outputs"]
        zeros = grader.oracle(official.keras_sequence, x, np.zeros_like(h0), weights)["outputs"]
        expect_close("states with h0", got["with_h0"], with_h0, **VALUE_TOL,
                     explain=lambda a, bad: "only the first step differs: is h0 used?"
                     if not bad[:, 1:].any() else explain_unrolled(a, with_h0, h0))
        expect_close("states with h0=None (zeros)", got["zeros"], zeros, **VALUE_TOL,
                     explain=lambda a, bad: explain_unrolled(a, zeros, np.zeros_like(h0)))
        expect_equal("number of weights after the loop (one set, reused at every step)",
                     got["n_weights"], 3)


@pytest.mark.points(1)
@pytest.mark.part("SimpleRNNCell")
def test_parameters_shared_over_time(grader):
    """The parameter count is D*H + H*H + H whatever the sequence length"""
    counts = grader.run(probe_parameter_count)
    expected = D * H + H * H + H
    if counts[0] != counts[1]:
        fail(f"the parameter count depends on T ({counts[0]} at T=3, {counts[1]} at T=30): "
             "the weights must be shared over time")
    expect_equal("parameter count", counts[0], expected)
    structure_credited(grader)


@pytest.mark.points(1)  # per problem shape
@pytest.mark.parametrize("name", list(SHAPE_BUILDERS))
@pytest.mark.part("{name}", uses=("SimpleRNNCell",))
def test_problem_shapes(grader, name):
    """Problem-shape model has the right output shapes, built around your cell"""
    structure = grader.reference(probe_problem_shapes, name=name)
    seed = grader.seeds()[-1]             # in an official grade, drawn for this very file
    weights = [inputs.uniform(seed, f"{name}{k}", shape, -0.6, 0.6)
               for k, shape in enumerate(structure["weight_shapes"])]
    xs = [inputs.uniform(seed, f"{name}_x{k}", shape, -1, 1)
          for k, shape in enumerate(SHAPE_BUILDERS[name][1])]
    got = grader.run(probe_problem_shapes, name=name, weights=weights, xs=xs)
    want = grader.reference(probe_problem_shapes, name=name, weights=weights, xs=xs)
    if not got["is_model"]:
        fail(f"{name} must return a keras.Model")
    if got["student_cells"] != want["student_cells"]:
        fail(f"{name}: expected {want['student_cells']} RNN layer(s) using your SimpleRNNCell, "
             f"found {got['student_cells']}")
    if got["outputs"] is None:
        fail(f"{name}: the model's weights have shapes {got['weight_shapes']}, expected "
             f"{want['weight_shapes']} (the layers its docstring lists, with their sizes)")
    for k, (g, w) in enumerate(zip(got["outputs"], want["outputs"], strict=True)):
        expect_equal(f"{name}: output shape for inputs of shape {list(np.shape(xs[k]))}",
                     list(np.shape(g)), list(np.shape(w)))
    if grader.kind == "record":
        # What a self-check needs to judge a model around a wrong cell (below), on these
        # public inputs: the models around each named mistake, recorded though the
        # reference's own cell is right.
        grader.oracle(official.problem_shape_mistakes, name, weights, xs)
    if grader.cell_problem("SimpleRNNCell") is not None:
        # One mistake costs points once: a cell the grader names wrong (its own checks judge
        # it) leaves the model its points when the model computes, on these inputs, what the
        # same model computes around that mistaken cell. The cell's values were measured in
        # another probe, on other inputs, so they vouch for nothing here: the model's own
        # values must bear the shapes out.
        structure_credited(grader)
        mistake = grader.cell_mistake("SimpleRNNCell")
        twins = grader.oracle(official.problem_shape_mistakes, name, weights, xs)
        for g, w in zip(got["outputs"], twins[mistake]):
            if not np.allclose(g, w, **VALUE_TOL):
                fail(f"{name}: not credited: with the grader's weights its outputs are not "
                     f"those of this model around your cell, whose mistake the grader "
                     f"named ({mistake}): the model does not compute with your cell")
        return
    for g, w in zip(got["outputs"], want["outputs"]):
        expect_close(f"{name}: outputs with the grader's weights", g, w, **VALUE_TOL)


@pytest.mark.points(2)
@pytest.mark.part("SimpleRNNCell")
def test_fit_step_graph_mode(grader):
    """One `fit` step (graph mode) updates the weights exactly as with keras.layers.SimpleRNN"""
    cases = [{"x": inputs.uniform(seed, "x", (8, T, D), -1, 1),
              "y": inputs.uniform(seed, "y", (8, 2), -1, 1),
              "weights": classifier_weights(seed)} for seed in grader.seeds()]
    got = grader.run(probe_fit_steps, cases=cases, timeout=60)
    want = grader.oracle(official.keras_fit_steps, cases)
    names = ["kernel", "recurrent_kernel", "bias", "dense kernel", "dense bias"]
    for got_case, want_case in zip(got, want, strict=True):
        for name, g, w in zip(names, got_case, want_case, strict=True):
            expect_close(f"{name} after one training step", g, w, **GRAD_TOL)


@pytest.mark.points(1)
@pytest.mark.part("SimpleRNNCell")
def test_masking_right_padded(grader):
    """With a right-padded mask, outputs and final state equal keras.layers.SimpleRNN's"""
    for seed in grader.seeds():
        x = inputs.uniform(seed, "x", (N + 2, T, D), -1, 1)
        mask = inputs.right_padded_mask(seed, N + 2, T)
        weights = inputs.simple_rnn_weights(seed, D, H)
        got = grader.run(probe_sequence, x=x, h0=None, mask=mask, weights=weights)
        want = grader.oracle(official.keras_sequence, x, None, weights, mask=mask)
        explain = (lambda a, bad: "the outputs differ only where the mask is 0"
                   if not bad[mask].any() else None)
        expect_close("masked outputs", got["outputs"], want["outputs"], **VALUE_TOL,
                     explain=explain)
        expect_close("final state with a mask", got["state"], want["state"], **VALUE_TOL)


@pytest.mark.points(1)
@pytest.mark.part("SimpleRNNCell")
def test_keras_file_round_trip(grader):
    """A model with your cell saves to a .keras file and loads back identical"""
    x = inputs.uniform(grader.seed, "x", (N, T, D), -1, 1)
    weights = classifier_weights(grader.seed)
    got = grader.run(probe_round_trip, x=x, weights=weights)
    want = grader.oracle(official.keras_classifier_outputs, x, weights)
    if grader.kind == "record":   # for a self-check of a wrong cell (below), as in the shapes
        grader.oracle(official.classifier_mistakes, x, weights)
    right = grader.cell_problem("SimpleRNNCell") is None
    if not right:
        # A wrong cell (its own checks judge it) round-trips when the model loaded back
        # predicts what it predicted before saving; those predictions count only when they are
        # the same model's around the mistake the grader named in the cell, not any numbers
        # the cell gives in this probe (zeros round-trip too).
        structure_credited(grader)
        mistake = grader.cell_mistake("SimpleRNNCell")
        twin = grader.oracle(official.classifier_mistakes, x, weights)[mistake]
        if not np.allclose(got["before"], twin, **VALUE_TOL):
            fail("not credited: before saving, the model's predictions are not those of the "
                 f"same model around your cell, whose mistake the grader named ({mistake})")
    archive.expect_round_trip(got, "SimpleRNNCell", weights, want, cell_right=right, **VALUE_TOL)


# A quarter point per application: the quiz weighs 2.5 points, a small part of the exercise
# next to the cell it teaches. No `part` marker: each application's answer is its own, so a
# wrong one never turns the next into "same cause as".
@pytest.mark.official
@pytest.mark.points(0.25)
@pytest.mark.parametrize("application", QUIZ_APPLICATIONS)
def test_quiz_application(grader, application):
    """Quiz: the application's problem shape, and whether it is seq2seq"""
    got = grader.run(probe_application_shape, application=application)
    if not oracles.available():
        raise OfficialOnly("the quiz's answers are the official grader's only")
    # Called here, never through grader.oracle: release would record its verdicts beside the
    # references, which a student kit carries; the answers stay in rnnkit/official/ex01.py.
    why = official.quiz_feedback.resolve()(application, got)
    if why:
        fail(why)
