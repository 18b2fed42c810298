"""Issue 8's feedback: one mistake, one explanation.

Each plant is a copy of one solution module with one classic mistake, graded once (only its
own exercise) through `python -m rnnkit grade EXERCISE --target DIR --json FILE`:

- a check whose part runs on an earlier part that already failed says "same cause as" that
  check and points there (ex02: rnn_step_backward without the tanh derivative);
- mistakes that used to get only "N values differ" are named (ex01: the loop storing the
  state before reading x_t; ex02: clipping below the threshold, clipping array by array);
- one wrong cell turns several checks red, and only the first gives numbers (ex01: no bias).
"""
import pytest

from conftest import KIT_ROOT, grade
from rnnkit.grader.session import Grader

EX01, EX02 = "ex01_simple_rnn.py", "ex02_bptt.py"

# check titles (results.json names a check "<exercise> <title>")
STEP_BACKWARD = "rnn_step_backward equals autodiff (tf.GradientTape) for every input"
BACKWARD = "rnn_backward equals autodiff (tf.GradientTape) for x, h0, Wx, Wh and b"
FINITE = "rnn_backward agrees with centred finite differences of your own rnn_forward"
NORMS = "hidden_grad_norms equals the norms of dL/dh_t computed by autodiff"
CLIP = "clip_by_global_norm equals tf.clip_by_global_norm ({})"
ONE_STEP = "One step equals keras.layers.SimpleRNNCell with the same weights"
SEQUENCE = "RNN(SimpleRNNCell) equals keras.layers.SimpleRNN: every output and the final state"
GRADIENTS = "Gradients w.r.t. the inputs and every weight equal keras.layers.SimpleRNN's"
UNROLLED = "rnn_forward_unrolled returns every hidden state, with and without h0"
FIT = "One `fit` step (graph mode) updates the weights exactly as with keras.layers.SimpleRNN"
MASK = "With a right-padded mask, outputs and final state equal keras.layers.SimpleRNN's"
ROUND_TRIP = "A model with your cell saves to a .keras file and loads back identical"

PLANTS = {  # name: (exercise, file, [(old, new)])
    "step_backward_no_tanh": ("ex02", EX02, [
        ("    da = dh_next * (1.0 - h_next**2)  # (N, H) back through tanh\n",
         "    da = dh_next  # (N, H) the tanh derivative forgotten\n")]),
    "clip_always_rescales": ("ex02", EX02, [
        ("    global_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))\n"
         "    scale = max_norm / global_norm if global_norm > max_norm else 1.0\n",
         "    global_norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))\n"
         "    scale = max_norm / global_norm  # also when the norm is already small\n")]),
    "clip_array_by_array": ("ex02", EX02, [
        ("    clipped = [np.asarray(g, dtype=np.float64) * scale for g in grads]  # new arrays\n",
         "    clipped = [g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-12))"
         " for g in grads]  # each by its own norm\n")]),
    "unrolled_stores_before_step": ("ex01", EX01, [
        ("        h, _ = cell(x[:, t], [h])                                       # (N, H)\n"
         "        states.append(h)\n",
         "        states.append(h)                                                # too early\n"
         "        h, _ = cell(x[:, t], [h])                                       # (N, H)\n")]),
    "cell_without_bias": ("ex01", EX01, [
        ("                     + ops.matmul(h_prev, self.recurrent_kernel)\n"
         "                     + self.bias)\n",
         "                     + ops.matmul(h_prev, self.recurrent_kernel))\n")]),
}


def plant(folder, filename, edits):
    folder.mkdir(parents=True)
    source = (KIT_ROOT / "solutions" / filename).read_text()
    for old, new in edits:
        assert source.count(old) == 1, f"the plant no longer matches the solution: {old!r}"
        source = source.replace(old, new)
    (folder / filename).write_text(source)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Each plant graded once, one after the other (each grading uses both cores)."""
    cache = {}

    def get(name):
        if name not in cache:
            exercise, filename, edits = PLANTS[name]
            root = tmp_path_factory.mktemp(name)
            result = grade(plant(root / "submission", filename, edits), exercise, tmp=root)
            cache[name] = {t["name"][len(exercise) + 1:]: t for t in result.tests
                           if t["tags"][0] == exercise}
        return cache[name]

    return get


def lost(checks) -> dict:
    """{check: points lost} of the checks that lost points."""
    return {name: t["max_score"] - t["score"] for name, t in checks.items()
            if t["score"] < t["max_score"]}


def test_a_check_on_a_failed_part_points_to_that_part_first(graded):
    checks = graded("step_backward_no_tanh")
    assert lost(checks) == {STEP_BACKWARD: 2, BACKWARD: 3, FINITE: 1, NORMS: 2}, lost(checks)
    assert "it is the gradient without the tanh derivative" in checks[STEP_BACKWARD]["output"]
    for name, function in [(BACKWARD, "rnn_backward"), (FINITE, "rnn_backward"),
                           (NORMS, "hidden_grad_norms")]:
        assert checks[name]["output"] == (
            f"same cause as '{STEP_BACKWARD}': your {function} uses your rnn_step_backward, "
            "which that check found wrong; fix rnn_step_backward first"), checks[name]["output"]
    assert not any("mistake is in rnn_backward" in t["output"] for t in checks.values())


def test_clipping_below_the_threshold_is_named(graded):
    checks = graded("clip_always_rescales")
    below, zero = CLIP.format("below"), CLIP.format("zero")
    assert lost(checks) == {below: 2, zero: 2}, lost(checks)
    assert "it was rescaled although the global norm" in checks[below]["output"]
    assert "rescale only when global_norm > max_norm" in checks[below]["output"]
    # max_norm / 0 makes the all-zero case NaN: the same mistake, said once
    assert checks[zero]["output"] == (
        f"same cause as '{below}': that check found your clip_by_global_norm wrong first; "
        "fix it there")


def test_clipping_array_by_array_is_named(graded):
    checks = graded("clip_array_by_array")
    above = CLIP.format("above")
    assert lost(checks) == {above: 2}, lost(checks)
    assert "clipped gradient 0: " in checks[above]["output"]
    assert ("it was clipped by its own norm; clipping by global norm scales every array by the "
            "same factor max_norm / global_norm" in checks[above]["output"])


def test_a_loop_storing_the_state_too_early_is_named(graded):
    checks = graded("unrolled_stores_before_step")
    assert lost(checks) == {UNROLLED: 2}, lost(checks)
    assert ("your states are shifted by one step: h[:, t] holds the state before reading "
            "x[:, t]" in checks[UNROLLED]["output"])


def test_one_wrong_cell_is_explained_once(graded):
    checks = graded("cell_without_bias")
    # the round trip still holds: the saved file is right and the loaded model predicts what
    # the (wrong) model predicted before saving — a wrong cell costs its value checks only
    assert lost(checks) == {ONE_STEP: 2, SEQUENCE: 2, GRADIENTS: 2, UNROLLED: 2, FIT: 2,
                            MASK: 1}, lost(checks)
    first = checks[ONE_STEP]["output"]
    assert "values differ" in first and "your cell matches one without the bias b" in first
    same = (f"same cause as '{ONE_STEP}': that check found your SimpleRNNCell wrong first; "
            "fix it there")
    for name in (SEQUENCE, GRADIENTS, FIT, MASK):
        assert checks[name]["output"] == same, checks[name]["output"]
    assert checks[UNROLLED]["output"] == (
        f"same cause as '{ONE_STEP}': your rnn_forward_unrolled uses your SimpleRNNCell, which "
        "that check found wrong; fix SimpleRNNCell first")


def test_the_record_keeps_the_first_finding_and_follows_blame():
    """Grader.attribute on its own (no student process): what ex04-ex09's checks rely on."""
    grader = object.__new__(Grader)
    grader.faults = {}
    assert grader.attribute("A", "step", (), "numbers of A") == "numbers of A"
    assert grader.found_wrong("step") == "A"
    assert grader.attribute("B", "loop", ("step",), "numbers of B") == (
        "same cause as 'A': your loop uses your step, which that check found wrong; fix step "
        "first")
    # blamed, the loop now points to A as well, naming the step as the culprit
    assert grader.attribute("C", "loop", (), "numbers of C") == (
        "same cause as 'A': your loop uses your step, which that check found wrong; fix step "
        "first")
    assert grader.attribute("D", "other", (), "numbers of D") == "numbers of D"
    assert grader.attribute("A", "step", (), "again") == "again"   # the same check, once more
    assert grader.found_wrong("unknown") is None
