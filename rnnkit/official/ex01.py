"""ex01's oracles, for the grader: the twins of the probes around Keras's own SimpleRNN (an
implementation nobody here wrote), and the outputs of the classic mistaken cells that the
feedback names. Never loaded by a student's process.

Shapes: N batch, T time, D input features, H units (`rnnkit.probes.ex01`).
"""
from __future__ import annotations

import numpy as np

from rnnkit.official import cells as variants
from rnnkit.probes import cells
from rnnkit.probes.ex01 import D, H, T


def keras_cell_step(x, h, weights):
    import keras

    cell = keras.layers.SimpleRNNCell(H)
    cell(x, [h])
    cell.set_weights(weights)
    output, states = cell(x, [h])
    return {"output": np.asarray(output), "state": np.asarray(states[0])}


def keras_sequence(x, h0, weights, mask=None):
    import keras

    layer = cells.built(keras.layers.SimpleRNN(H, return_sequences=True, return_state=True),
                        weights, D)
    outputs, state = cells.sequence(layer, x, None if mask is not None else [h0], mask=mask)
    return {"outputs": outputs, "state": state}


def keras_gradients(x, h0, weights, upstream):
    import keras

    layer = cells.built(keras.layers.SimpleRNN(H, return_sequences=True), weights, D)
    return cells.gradients(layer, x, [h0], upstream)


def keras_fit_steps(cases):
    import keras

    return cells.fit_steps(keras.layers.SimpleRNN(H), cases)


def keras_classifier_outputs(x, weights):
    import keras

    return np.asarray(cells.classifier(keras.layers.SimpleRNN(H), (T, D), weights)(x))


def cell_mistakes(x, h0, weights, step=False):
    """{sentence: output} of the classic mistaken vanilla cells on the same inputs and weights:
    the outputs (N, T, H), or with `step` one step's output (N, H) for x (N, D)."""
    sequences = x[:, None] if step else x                                 # (N, T, D)
    candidates = variants.cell_mistakes("SimpleRNNCell", sequences, [h0], weights)
    if step:
        candidates = {sentence: h_seq[:, 0] for sentence, h_seq in candidates.items()}
    return candidates
