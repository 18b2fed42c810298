"""Probes of ex03 (gated cells): run in the student's process, return plain data.

`cell` is the name of the student's class ("LSTMCell" or "GRUCell"); the checks in
`tests/grading/test_ex03.py` build the same things around Keras's own layers (the twins) and
compare, in the grader.
"""
import numpy as np

from rnnkit.probes import cells

N, T, D, H = 3, 5, 4, 6


def probe_contract(module, cell, x, states):
    import keras

    instance = getattr(module, cell)(H)
    output, new_states = instance(x, list(states))
    listed = isinstance(new_states, (list, tuple))
    return {"is_layer": isinstance(instance, keras.layers.Layer),
            "state_size": [int(s) for s in cells.as_list(instance.state_size)],
            "output_size": int(getattr(instance, "output_size", -1) or -1),
            "output_shape": list(np.shape(output)),
            "states_is_list": listed,
            "state_shapes": [list(np.shape(s)) for s in new_states] if listed else [],
            "weights": [[w.path.split("/")[-1], list(w.shape)] for w in instance.weights]}


def probe_sequence(module, cell, x, states, weights, go_backwards=False, mask=None):
    layer = cells.rnn(getattr(module, cell)(H), weights, np.shape(x)[-1],
                      return_sequences=True, return_state=True, go_backwards=go_backwards)
    return cells.sequence(layer, x, states, mask=mask)


def probe_gradients(module, cell, x, states, weights, upstream):
    layer = cells.rnn(getattr(module, cell)(H), weights, D, return_sequences=True)
    return cells.gradients(layer, x, states, upstream)


def probe_fit_steps(module, cell, cases):
    import keras

    return cells.fit_steps(keras.layers.RNN(getattr(module, cell)(H)), cases)


def probe_bidirectional(module, cell, x, weights):
    import keras

    return cells.bidirectional(keras.layers.RNN(getattr(module, cell)(H), return_sequences=True),
                               x, weights)


def round_trip_model(sequence_layer, summary_layer, weights):
    """Input (T, D) -> Bidirectional(sequence_layer) -> summary_layer -> Dense(2), loaded."""
    import keras

    inputs = keras.Input(shape=(T, D))
    summary = summary_layer(keras.layers.Bidirectional(sequence_layer)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(summary))
    model.set_weights(weights)
    return model


def probe_round_trip(module, cell, x, weights):
    import keras

    model = round_trip_model(keras.layers.RNN(getattr(module, cell)(H), return_sequences=True),
                             keras.layers.RNN(getattr(module, cell)(H)), weights)
    return cells.keras_archive(model, x)


def probe_memory(module, cell, stand_in=False, seed=0, classes=None, validation=None):
    """Train the cell on the memory task with the kit's code (`memory.train_memory_model`,
    data of `seed`, labels mapped by `classes`); return the trained weights. With `validation`
    (a seed: a self-check), return instead the trained model's accuracy on that many unseen
    sequences of the same task, {"accuracy"} (a self-check's recordings hold no weights).

    `stand_in`: the grader found this (earlier) cell wrong or unfinished, so Keras's own cell
    is trained in its place (the report says so)."""
    from rnnkit import memory
    from rnnkit.sandbox import standins

    factory = cells.cell_class(module, cell, stand_in)
    if not stand_in:
        standins.one_step(factory)   # an unfinished cell is "not started", not a later error
    model, _, _ = memory.train_memory_model(factory, memory.MEMORY_LAG, seed=seed,
                                            classes=classes)
    if validation is None:
        return {"weights": [np.asarray(w) for w in model.get_weights()]}
    x_val, y_val = memory.memory_task(1000, memory.MEMORY_LAG, seed=validation, classes=classes)
    predictions = np.argmax(model.predict(x_val, batch_size=1000, verbose=0), axis=-1)
    return {"accuracy": float(np.mean(predictions == y_val))}
