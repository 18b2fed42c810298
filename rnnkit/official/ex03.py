"""ex03's oracles, for the grader: the twins of the probes around Keras's own LSTM and GRU
(`use_cudnn=False`), the memory task's score of trained weights in Keras's layer, and the
outputs of the classic mistaken gated cells (`rnnkit.official.cells`). Never loaded by a
student's process.

Shapes: N batch, T time, D input features, H units (`rnnkit.probes.ex03`).
"""
from __future__ import annotations

import numpy as np

from rnnkit import memory
from rnnkit.grader.compare import load_weights
from rnnkit.probes import cells
from rnnkit.probes.ex03 import D, H, round_trip_model

LAYERS = {"LSTMCell": "LSTM", "GRUCell": "GRU"}     # the student's class -> Keras's layer


def keras_layer(cell, **options):
    import keras

    if cell == "LSTMCell":
        return keras.layers.LSTM(H, use_cudnn=False, **options)
    return getattr(keras.layers, LAYERS[cell])(H, **options)


def keras_sequence(cell, x, states, weights, go_backwards=False, mask=None):
    layer = cells.built(keras_layer(cell, return_sequences=True, return_state=True,
                                    go_backwards=go_backwards), weights, np.shape(x)[-1])
    return cells.sequence(layer, x, states, mask=mask)


def keras_gradients(cell, x, states, weights, upstream):
    layer = cells.built(keras_layer(cell, return_sequences=True), weights, D)
    return cells.gradients(layer, x, states, upstream)


def keras_fit_steps(cell, cases):
    return cells.fit_steps(keras_layer(cell), cases)


def keras_bidirectional(cell, x, weights):
    return cells.bidirectional(keras_layer(cell, return_sequences=True), x, weights)


def keras_round_trip_outputs(cell, x, weights):
    model = round_trip_model(keras_layer(cell, return_sequences=True), keras_layer(cell), weights)
    return np.asarray(model(x))


def memory_accuracy(cell, weights, validation, classes=None):
    """Accuracy of trained weights loaded into Keras's own cell, on 1000 unseen sequences of
    the memory task (data of the seed `validation`, labels mapped by `classes`)."""
    import keras

    x_val, y_val = memory.memory_task(1000, memory.MEMORY_LAG, seed=validation, classes=classes)
    model = memory.memory_model(getattr(keras.layers, cell)(memory.UNITS), memory.N_SYMBOLS)
    model.build((None, memory.MEMORY_LAG + 1, memory.N_SYMBOLS))
    load_weights(model, weights, f"your trained {cell}")
    predictions = np.argmax(model.predict(x_val, batch_size=1000, verbose=0), axis=-1)
    return float(np.mean(predictions == y_val))
