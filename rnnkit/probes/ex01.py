"""Probes of ex01 (the vanilla RNN cell): run in the student's process, return plain data.

Each `probe_*(module, **args)` drives the student's `ex01_simple_rnn` module; the checks in
`tests/grading/test_ex01.py` compare what comes back, in the grader.
"""
import numpy as np

from rnnkit.probes import cells

N, T, D, H = 3, 5, 4, 6

SHAPE_BUILDERS = {  # builder -> (arguments, shapes of the inputs it is fed)
    "one_to_one": ((D, H, 3), [(2, D)]),
    "one_to_many": ((D, H, 3, 6), [(2, D)]),
    "many_to_one": ((D, H, 3), [(2, 7, D), (2, 3, D)]),
    "many_to_many": ((D, H, 3), [(2, 7, D), (2, 3, D)]),
    "encoder_decoder": ((D, H, 3, 4), [(2, 7, D), (2, 3, D)]),
}

# The quiz's applications (the keys of the exercise's APPLICATIONS): the questions, public;
# the answers are the official grade's only (rnnkit/official/ex01.py).
QUIZ_APPLICATIONS = ("sentiment", "time_series", "speech_recognition", "translation",
                     "captioning", "summarisation", "structured_input", "variable_size",
                     "image_denoising", "question_answering")


def probe_cell_contract(module, x, h):
    import keras

    cell = module.SimpleRNNCell(H)
    output, states = cell(x, [h])
    listed = isinstance(states, (list, tuple))
    return {"is_layer": isinstance(cell, keras.layers.Layer),
            "state_size": [int(s) for s in cells.as_list(cell.state_size)],
            "output_size": int(getattr(cell, "output_size", -1) or -1),
            "output_shape": list(np.shape(output)),
            "states_is_list": listed,
            "n_states": len(states) if listed else -1,
            "state_shapes": [list(np.shape(s)) for s in states] if listed else [],
            "weights": [[w.path.split("/")[-1], list(w.shape)] for w in cell.weights]}


def probe_cell_step(module, x, h, weights):
    cell = module.SimpleRNNCell(H)
    cell(x, [h])
    cell.set_weights(weights)
    output, states = cell(x, [h])
    return {"output": np.asarray(output), "state": np.asarray(cells.as_list(states)[0])}


def probe_sequence(module, x, h0, weights, mask=None):
    layer = cells.rnn(module.SimpleRNNCell(H), weights, D, return_sequences=True,
                      return_state=True)
    outputs, state = cells.sequence(layer, x, None if mask is not None else [h0], mask=mask)
    return {"outputs": outputs, "state": state}


def probe_gradients(module, x, h0, weights, upstream):
    layer = cells.rnn(module.SimpleRNNCell(H), weights, D, return_sequences=True)
    return cells.gradients(layer, x, [h0], upstream)


def probe_unrolled(module, x, h0, weights):
    cell = module.SimpleRNNCell(H)
    cell(x[:, 0], [h0])
    cell.set_weights(weights)
    with_h0 = module.rnn_forward_unrolled(cell, x, h0)
    without_h0 = module.rnn_forward_unrolled(cell, x)
    return {"with_h0": np.asarray(with_h0), "zeros": np.asarray(without_h0),
            "n_weights": len(cell.weights)}


def probe_parameter_count(module):
    import keras

    counts = []
    for steps in (3, 30):
        inputs = keras.Input(shape=(steps, D))
        counts.append(keras.Model(inputs, keras.layers.RNN(module.SimpleRNNCell(H))(inputs))
                      .count_params())
    return counts


def probe_problem_shapes(module, name, weights=None, xs=None):
    """The model of the problem-shape builder `name`: whether it is a keras.Model, how many of
    its RNN layers use the cell, its weights' shapes; with `weights` set (when they fit) its
    outputs on each of `xs` (a list of inputs)."""
    import keras

    model = getattr(module, name)(*SHAPE_BUILDERS[name][0])
    found = [layer.cell for layer in model._flatten_layers() if isinstance(layer, keras.layers.RNN)]
    result = {"is_model": isinstance(model, keras.Model),
              "student_cells": sum(isinstance(cell, module.SimpleRNNCell) for cell in found),
              "weight_shapes": [list(np.shape(w)) for w in model.get_weights()],
              "outputs": None}
    if weights is not None and result["weight_shapes"] == [list(np.shape(w)) for w in weights]:
        model.set_weights(weights)
        result["outputs"] = [np.asarray(model(x)) for x in xs]
    return result


def probe_fit_steps(module, cases):
    import keras

    return cells.fit_steps(keras.layers.RNN(module.SimpleRNNCell(H)), cases)


def probe_round_trip(module, x, weights):
    import keras

    model = cells.classifier(keras.layers.RNN(module.SimpleRNNCell(H)), (T, D), weights)
    return cells.keras_archive(model, x)


def probe_application_shape(module, application):
    """The student's quiz answer for one application, as plain data: {"found": "none" (not a
    dict), "missing" (no entry), "pair" (shape and seq2seq, each as given when a str or a bool,
    else its repr) or "other" (the entry's repr)}."""
    answers = module.application_shapes()
    if not isinstance(answers, dict):
        return {"found": "none", "type": type(answers).__name__}
    if application not in answers:
        return {"found": "missing", "keys": sorted(map(str, answers))[:20]}
    value = answers[application]
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return {"found": "other", "value": repr(value)[:200]}
    shape, seq2seq = value
    if type(seq2seq) is np.bool_:
        seq2seq = bool(seq2seq)
    given = type(shape) is str
    return {"found": "pair", "shape": (str(shape) if given else repr(shape))[:200],
            "shape_is_str": given,
            "seq2seq": seq2seq if type(seq2seq) is bool else repr(seq2seq)[:200]}
