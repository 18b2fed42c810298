"""Is a student's cell right? Decided here, by values, against Keras's own layer.

A later exercise uses the student's earlier cell only when it computes what Keras's layer
computes with the same asymmetric weights; otherwise Keras's cell stands in and the report
says why — one mistake costs points once. Training checks score trained weights in Keras's
layers, so they too need this equality before the score is the student's own. The inputs and
weights are the grader's: drawn from the course secret in an official grade, the public seed
in a self-check.

What a student's process says about a cell's structure (its state sizes, its weights' shapes)
is evidence only: a structural check is credited when the cell's values on these inputs are
Keras's, or those of a mistake the grader can name (`structure_verified`), since only a cell
that really computes a recurrent step with those weights produces either.
"""
from __future__ import annotations

from rnnkit.grader import inputs, oracles
from rnnkit.grader.compare import CheckFailed, diagnose, expect_close
from rnnkit.grader.oracles import OfficialOnly

N, T, D, H = 3, 5, 4, 6
TOLERANCE = dict(rtol=1e-5, atol=1e-5)     # as the cells' own checks (ex01, ex03)
PUBLIC_SEED = 7                            # a self-check's inputs (recorded by release)
LAYOUT = {  # cell -> (Keras layer, gates, states, bias shape)
    "SimpleRNNCell": ("SimpleRNN", 1, 1, (H,)),
    "LSTMCell": ("LSTM", 4, 2, (4 * H,)),
    "GRUCell": ("GRU", 3, 1, (2, 3 * H)),
}
CELLS = oracles.of("cells")


def case(name: str, seed: int = PUBLIC_SEED):
    """x (N, T, D), initial states, weights in Keras's layout for cell `name`."""
    layer, gates, n_states, bias = LAYOUT[name]
    x = inputs.uniform(seed, "cellcheck_x", (N, T, D), -1, 1)
    states = [inputs.uniform(seed, f"cellcheck_state{i}", (N, H), -1, 1) for i in range(n_states)]
    weights = [inputs.uniform(seed, "cellcheck_kernel", (D, gates * H), -0.6, 0.6),
               inputs.uniform(seed, "cellcheck_recurrent", (H, gates * H), -0.6, 0.6),
               inputs.uniform(seed, "cellcheck_bias", bias, -0.4, 0.4)]
    return x, states, weights


def keras_values(name, x, states, weights):
    import keras

    from rnnkit.probes import cells

    layer_name = LAYOUT[name][0]
    options = dict(return_sequences=True, return_state=True)
    if layer_name == "LSTM":
        options["use_cudnn"] = False
    layer = cells.built(getattr(keras.layers, layer_name)(H, **options), weights, D)
    return cells.sequence(layer, x, states)


def _seed(grader) -> int:
    return grader.course_seed("cellcheck") if grader.official else PUBLIC_SEED


def values(grader, name: str):
    """(the student's RNN(name) outputs and final states, Keras's, the inputs), or the
    StudentError that kept the cell from running."""
    from rnnkit.probes.cells import probe_cell_values

    x, states, weights = case(name, _seed(grader))
    got = grader.run(probe_cell_values, name=name, x=x, states=states, weights=weights)
    want = grader.oracle(keras_values, name, x, states, weights)
    return got, want, (x, states, weights)


def problem(grader, name: str):
    """(None, None) when the student's `name` equals Keras's on values; else (one sentence
    why not, the StudentError behind it if the cell could not even run)."""
    from rnnkit.course import closure
    from rnnkit.grader.handles.process import StudentError

    owner = next((e for e in closure(grader.exercise) if name in e.stand_ins), None)
    where = f" (from {owner.id}, {owner.filename})" if owner else ""
    try:
        got, want, (x, states, weights) = values(grader, name)
    except StudentError as error:
        return (f"your {name}{where} could not run ({error.feedback()})"
                if error.kind != "not_started" else f"your {name}{where} is not written yet"), error
    if grader.kind == "record":
        # What a self-check needs to name a wrong cell's mistake (and credit its structure)
        # on these public inputs: the mistaken cells' values, recorded though the reference's
        # own cell is right.
        grader.oracle(CELLS.cell_mistakes, name, x, states, weights)
    try:
        if not isinstance(got, list) or len(got) != len(want):
            return (f"your {name} returns {len(got) - 1 if isinstance(got, list) else '?'} "
                    f"state(s) where keras.layers.{LAYOUT[name][0]} returns {len(want) - 1}",
                    None)
        for index, (g, w) in enumerate(zip(got, want)):
            expect_close(f"{name} {'outputs' if index == 0 else 'state'}", g, w, **TOLERANCE)
    except CheckFailed as error:
        why = str(error) if len(str(error)) <= 300 else str(error)[:299] + "…"
        return f"your {name} differs from keras.layers.{LAYOUT[name][0]} ({why})", None
    return None, None


def mistake(grader, name: str) -> str | None:
    """The sentence of the named mistake whose values the student's wrong cell `name` has on
    the grader's inputs; None when the cell is right, or wrong in a way the grader cannot name
    (or could not run)."""
    from rnnkit.grader.handles.process import StudentError

    if grader.cell_problem(name) is None:
        return None
    error = grader.cell_error(name)
    if error is not None:
        raise error.again() if isinstance(error, StudentError) else error
    got, _, (x, states, weights) = values(grader, name)
    try:
        candidates = grader.oracle(CELLS.cell_mistakes, name, x, states, weights)
    except OfficialOnly:          # a kit released before these were recorded
        candidates = {}
    return diagnose(got[0], candidates) if isinstance(got, list) and got else None


def structure_verified(grader, name: str) -> str | None:
    """None when the cell's values on the grader's inputs are Keras's or a named mistake's
    (so its reported structure is real), else why its structure is not credited.

    A named mistake is evidence of the cell's structure only: a check that credits values
    computed around the cell (a model built with it) must hold them against the same model
    around that mistaken cell (`grader.cell_mistake`), since the cell's behaviour here, on
    these fixed inputs and in this probe, says nothing about what it does elsewhere."""
    if grader.cell_problem(name) is None or grader.cell_mistake(name) is not None:
        return None
    return (f"not credited: your {name}'s outputs on the grader's inputs match neither "
            f"keras.layers.{LAYOUT[name][0]}'s nor a mistake the grader can name, so what it "
            "reports about its structure is not evidence of one")
