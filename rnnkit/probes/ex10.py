"""Probes of ex10 (attention and depth): run in the student's process, return plain data.

The attention probe loads the grader's weights into the student's BahdanauAttention and
returns its context vectors and weights; the stack probes build the student's stack (on
their ex03 LSTMCell, or Keras's standing in) with the grader's weights by layer name and
return its outputs and the gradient norm their own function measures. The checks in
`tests/grading/test_ex10.py` compare them with Keras's layers in the grader.
"""
import numpy as np

from rnnkit.probes import cells


def probe_attention(module, query, values, mask, weights, units):
    """(context (N, T, Dv), weights (N, T, S)) of BahdanauAttention(units) loaded with
    `weights` ([query_kernel, key_kernel, score_vector]); mask None or (N, S) bool."""
    layer = module.BahdanauAttention(units)
    layer(query, values, mask=mask)                       # builds it
    layer.set_weights(weights)
    context, attention = layer(query, values, mask=mask)
    return {"context": np.asarray(context), "weights": np.asarray(attention)}


def _cell(module, stand_in):
    from rnnkit.sandbox import standins

    cell = cells.cell_class(module, "LSTMCell", stand_in)
    if not stand_in:
        standins.one_step(cell)   # an unfinished cell is "not started", not a later error
    return cell


def _stack(module, depth, residual, weights, stand_in):
    model = module.build_stack(_cell(module, stand_in), depth, residual)
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    return model


def probe_stack(module, depth, residual, weights, x, stand_in=False):
    """The outputs (N, T, 1) of build_stack(LSTMCell, depth, residual) loaded with `weights`
    (by layer name) on x (N, T, 1)."""
    return np.asarray(_stack(module, depth, residual, weights, stand_in)(x, training=False))


def probe_gradient_norm(module, depth, residual, weights, x, y, stand_in=False):
    """first_layer_gradient_norm of that stack on (x, y), by the student's function."""
    model = _stack(module, depth, residual, weights, stand_in)
    return float(module.first_layer_gradient_norm(model, x, y))
