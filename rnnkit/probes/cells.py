"""Cell probes shared by every exercise that grades a recurrent cell (ex01, ex03, ...).

Each helper takes a *layer* (or a cell) and plain inputs and returns plain data, so the same
code runs twice: in the student's process around the student's cell (a probe), and in the
grader around Keras's built-in layer (the oracle, its "twin"). Nothing here judges anything.

Shapes: N batch, T time, D input features, H units.
"""
from __future__ import annotations

import numpy as np


def as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def cell_class(module, name: str, stand_in: bool = False):
    """The cell class `name` of the student's module, or Keras's built-in one standing in.

    Inputs: module, the student's exercise module (whose `name` is imported from the
    earlier exercise); stand_in, True when the grader found that earlier cell wrong.
    """
    if not stand_in:
        return getattr(module, name)
    from rnnkit.sandbox import standins

    return standins.keras_class(name)


def rnn(cell, weights, input_dim: int, **options):
    """keras.layers.RNN(cell, **options), built for input_dim features and loaded."""
    import keras

    layer = keras.layers.RNN(cell, **options)
    return built(layer, weights, input_dim)


def built(layer, weights, input_dim: int):
    """A recurrent layer built for (N, T, input_dim) inputs, with `weights` set."""
    layer.build((None, None, input_dim))
    layer.set_weights(weights)
    return layer


def sequence(layer, x, states=None, mask=None) -> list:
    """Every output of a layer with return_sequences and return_state: [(N, T, H), state...]."""
    outputs = layer(x, initial_state=list(states) if states else None, mask=mask)
    return [np.asarray(o) for o in as_list(outputs)]


def gradients(layer, x, states, upstream) -> list:
    """[dL/dx (N, T, D), dL/dw for each trainable weight], L = sum(outputs * upstream)."""
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, initial_state=[tf.constant(s) for s in states] if states else None)
        loss = tf.reduce_sum(outputs * upstream)
    grads = tape.gradient(loss, [x] + list(layer.trainable_weights))
    return [None if g is None else np.asarray(g) for g in grads]


def classifier(recurrent_layer, input_shape, weights, classes: int = 2):
    """Input input_shape (T, D) -> recurrent layer -> Dense(classes), loaded with weights."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    model = keras.Model(inputs, keras.layers.Dense(classes)(recurrent_layer(inputs)))
    model.set_weights(weights)
    return model


def fit_steps(recurrent_layer, cases) -> list:
    """For each case {"x", "y", "weights"} (same shapes): the weights after one SGD(0.5) step
    of `fit` (graph mode), from `weights`, on a classifier with MSE.

    One model serves every case: its weights are set before each step, and plain SGD keeps no
    state between steps, so each result is that of a fresh model; the train function is traced
    once instead of once per case (tracing is most of a step's cost)."""
    import keras

    first = cases[0]
    model = classifier(recurrent_layer, np.shape(first["x"])[1:], first["weights"],
                       classes=np.shape(first["y"])[-1])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse", jit_compile=False)
    results = []
    for case in cases:
        model.set_weights(case["weights"])
        model.fit(case["x"], case["y"], batch_size=len(case["x"]), epochs=1, verbose=0,
                  shuffle=False)
        results.append([np.asarray(w) for w in model.get_weights()])
    return results


def bidirectional(recurrent_layer, x, weights):
    """Bidirectional(recurrent_layer) outputs (N, T, 2H), built and loaded."""
    import keras

    layer = keras.layers.Bidirectional(recurrent_layer)
    layer.build((None, None, np.shape(x)[-1]))
    layer.set_weights(weights)
    return np.asarray(layer(x))


def keras_archive(model, x, path: str = "round_trip.keras") -> dict:
    """Save `model` to a .keras file; its bytes (judged by the grader), and the predictions
    of the model loaded back from it."""
    import keras

    before = np.asarray(model(x))
    model.save(path)
    with open(path, "rb") as handle:
        archive = handle.read()
    result = {"archive": np.frombuffer(archive, dtype=np.uint8), "before": before,
              "after": None, "error": None}
    try:
        result["after"] = np.asarray(keras.saving.load_model(path)(x))
    except Exception as error:  # noqa: BLE001 - judged by the grader after the file itself
        result["error"] = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
    return result


def probe_cell_values(module, name, x, states, weights):
    """Outputs and final states of RNN(the student's `name` cell) — how the grader decides
    whether an earlier exercise's cell may be used in a later one."""
    units = np.shape(weights[1])[0]
    layer = rnn(cell_class(module, name)(units), weights, np.shape(x)[-1],
                return_sequences=True, return_state=True)
    return sequence(layer, x, states)
