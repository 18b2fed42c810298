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


def probe_seq2seq(module, weights, sources, decoder_inputs, stand_in=False):
    """build_attention_seq2seq with the given weights (by layer name): the training model's
    logits (N, T, V), and the same logits from the encoder and the step model, step by step."""
    import keras

    keras.utils.set_random_seed(0)
    model, encoder, step_model = module.build_attention_seq2seq(_cell(module, stand_in))
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    forced = np.asarray(model([sources, decoder_inputs], training=False))
    outputs, *states = [np.asarray(a) for a in encoder(sources, training=False)]
    mask, stepped = np.asarray(sources) != 0, []              # PAD is 0
    for t in range(np.shape(decoder_inputs)[1]):
        found = step_model([decoder_inputs[:, t:t + 1], *states, outputs, mask], training=False)
        stepped.append(np.asarray(found[0]))
        states = [np.asarray(s) for s in found[1:1 + len(states)]]
    return {"forced": forced, "stepped": np.stack(stepped, axis=1)}


def probe_train(module, pairs, stand_in=False, seed=0, test=None):
    """Train with the exercise's own train_attention_seq2seq on `pairs` with its graded
    budget (rnnkit.seq2seq.ATTENTION_TRAINING); return the trained weights by layer name. With `test` (a
    self-check: public (source, target) pairs), return instead the exact match of the
    model's own greedy translations of them (greedy_translate)."""
    from rnnkit import seq2seq

    budget = {k: v for k, v in seq2seq.ATTENTION_TRAINING.items() if k != "n"}
    model, encoder, step_model = module.train_attention_seq2seq(
        _cell(module, stand_in), [tuple(p) for p in pairs], seed=seed, **budget)
    if test is None:
        return {"weights": {name: [np.asarray(w) for w in model.get_layer(name).get_weights()]
                            for name in seq2seq.ATTENTION_LAYER_NAMES}}   # no timings: references reproduce
    sources, targets = zip(*test)
    decoded, _ = module.greedy_translate(encoder, step_model, list(sources))
    wrong = [k for k, (d, t) in enumerate(zip(decoded, targets)) if d != t]
    return {"exact": 1.0 - len(wrong) / len(targets),
            "first": [sources[wrong[0]], targets[wrong[0]], decoded[wrong[0]]] if wrong else None}
