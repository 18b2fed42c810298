"""Is a student's cell right? Decided here, by values, against Keras's own layer.

A later exercise uses the student's earlier cell only when it computes what Keras's layer
computes with the same asymmetric weights; otherwise Keras's cell stands in and the report
says why — one mistake costs points once. Training checks score trained weights in Keras's
layers, so they too need this equality before the score is the student's own.
"""
from __future__ import annotations


from rnnkit.grader import inputs
from rnnkit.grader.compare import CheckFailed, expect_close

N, T, D, H = 3, 5, 4, 6
TOLERANCE = dict(rtol=1e-5, atol=1e-5)     # as the cells' own checks (ex01, ex03)
LAYOUT = {  # cell -> (Keras layer, gates, states, bias shape)
    "SimpleRNNCell": ("SimpleRNN", 1, 1, (H,)),
    "LSTMCell": ("LSTM", 4, 2, (4 * H,)),
    "GRUCell": ("GRU", 3, 1, (2, 3 * H)),
}


def case(name: str, seed: int = 7):
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


def problem(grader, name: str):
    """(None, None) when the student's `name` equals Keras's on values; else (one sentence
    why not, the StudentError behind it if the cell could not even run)."""
    from rnnkit.grader.handles.process import StudentError
    from rnnkit.probes.cells import probe_cell_values

    from rnnkit.course import closure

    owner = next((e for e in closure(grader.exercise) if name in e.stand_ins), None)
    where = f" (from {owner.id}, {owner.filename})" if owner else ""
    x, states, weights = case(name)
    try:
        got = grader.run(probe_cell_values, name=name, x=x, states=states, weights=weights)
    except StudentError as error:
        return (f"your {name}{where} could not run ({error.feedback()})"
                if error.kind != "not_started" else f"your {name}{where} is not written yet"), error
    want = grader.oracle(keras_values, name, x, states, weights)
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


