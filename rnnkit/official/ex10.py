"""ex10's oracles, for the grader: Keras's own AdditiveAttention fed by the same projections
of query and keys, the same residual stack built from Keras's LSTM layers, the gradient norm
by tf.GradientTape on that stack, and the classic mistakes of each (NumPy, float64) so the
feedback can name the one a student's result matches. Never loaded by a student's process.
"""
from __future__ import annotations

import numpy as np

MASKED_SCORE = 1.0e9        # Keras's: subtracted from the scores of masked keys

ATTENTION_MISTAKES = ("keys axis", "mask ignored", "no tanh", "decoder state")
GRADIENT_MISTAKES = ("last layer", "sum of norms", "kernel only")


def keras_attention(query, values, mask, weights):
    """{"context" (N, T, Dv), "weights" (N, T, S)} of keras.layers.AdditiveAttention(
    use_scale=True) on query q W_q, keys k W_k and values k, with scale = v; weights =
    [W_q (Dq, U), W_k (Dv, U), v (U,)]; mask None or (N, S) bool."""
    from keras import layers

    query_kernel, key_kernel, score_vector = (np.asarray(w, "float32") for w in weights)
    query, values = np.asarray(query, "float32"), np.asarray(values, "float32")
    layer = layers.AdditiveAttention(use_scale=True)
    inputs = [query @ query_kernel, values, values @ key_kernel]       # query, value, key
    masks = None if mask is None else [None, np.asarray(mask, bool)]
    layer(inputs, mask=masks)                                           # builds its scale
    layer.set_weights([score_vector])
    context, attention = layer(inputs, mask=masks, return_attention_scores=True)
    return {"context": np.asarray(context), "weights": np.asarray(attention)}


def attention(query, values, mask, weights, mistake=None):
    """Additive attention in NumPy float64, right or with one of ATTENTION_MISTAKES: "keys
    axis" (softmax over the query steps), "mask ignored", "no tanh" (e = v^T (q W_q + k
    W_k)), "decoder state" (context = weights . query; None unless T == S and Dq == Dv)."""
    query_kernel, key_kernel, score_vector = (np.asarray(w, "float64") for w in weights)
    query, values = np.asarray(query, "float64"), np.asarray(values, "float64")
    hidden = (query @ query_kernel)[:, :, None, :] + (values @ key_kernel)[:, None, :, :]
    scores = ((hidden if mistake == "no tanh" else np.tanh(hidden)) * score_vector).sum(-1)
    if mask is not None and mistake != "mask ignored":
        # in float32, as a layer computes it: a masked score minus 1e9 rounds to a multiple
        # of 64, which a softmax over the wrong axis (the query steps) makes visible
        pushed = (scores.astype("float32") - np.float32(MASKED_SCORE)).astype("float64")
        scores = np.where(np.asarray(mask, bool)[:, None, :], scores, pushed)
    axis = 1 if mistake == "keys axis" else -1
    shifted = np.exp(scores - scores.max(axis=axis, keepdims=True))
    weights_ = shifted / shifted.sum(axis=axis, keepdims=True)               # (N, T, S)
    if mistake == "decoder state":
        if weights_.shape[1] != weights_.shape[2] or query.shape[-1] != values.shape[-1]:
            return None
        return {"context": weights_ @ query, "weights": weights_}
    return {"context": weights_ @ values, "weights": weights_}


def attention_mistakes(query, values, mask, weights):
    """{mistake: attention(..., mistake)} for each of ATTENTION_MISTAKES that applies."""
    found = {m: attention(query, values, mask, weights, m) for m in ATTENTION_MISTAKES}
    return {m: result for m, result in found.items() if result is not None}


def keras_stack(depth, residual, weights):
    """The graded stack from Keras's own layers (LSTM, Add), loaded by layer name."""
    import keras
    from keras import layers

    from rnnkit.grader.compare import fail

    units = np.shape(weights["project"][0])[1]
    inputs = keras.Input((None, np.shape(weights["project"][0])[0]))
    named = {"project": layers.Dense(units, name="project")}
    x = named["project"](inputs)
    for index in range(depth):
        # unrolled: the graded sequences are a few steps long, and an unrolled LSTM is the
        # same arithmetic without the loop's overhead (measured: the same gradient norm to
        # the last bit; 0.16 s instead of 0.19 s for a stack of 8)
        named[f"rnn_{index}"] = layers.LSTM(units, return_sequences=True, use_cudnn=False,
                                            unroll=True, name=f"rnn_{index}")
        y = named[f"rnn_{index}"](x)
        x = layers.Add()([x, y]) if residual else y
    named["readout"] = layers.Dense(np.shape(weights["readout"][0])[1], name="readout")
    model = keras.Model(inputs, named["readout"](x))
    for name, layer in named.items():
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(np.shape(w)) for w in weights.get(name, [])]
        if got != expected:
            fail(f"layer {name!r} has weights of shapes {got}; the stack needs {expected}")
        layer.set_weights(weights[name])
    return model


def keras_stack_outputs(depth, residual, weights, x):
    return np.asarray(keras_stack(depth, residual, weights)(np.asarray(x, "float32")))


def keras_gradient_norm(depth, residual, weights, x, y, mistake=None):
    """The L2 norm of d mean((model(x) - y)^2) / d (every weight of rnn_0), by tf.GradientTape
    on Keras's stack; or one of GRADIENT_MISTAKES: "last layer" (rnn_{depth-1}'s), "sum of
    norms" (each weight's norm, added), "kernel only" (rnn_0's kernel alone)."""
    import tensorflow as tf

    model = keras_stack(depth, residual, weights)
    layer = model.get_layer(f"rnn_{depth - 1}" if mistake == "last layer" else "rnn_0")
    variables = layer.trainable_weights[:1] if mistake == "kernel only" else \
        layer.trainable_weights
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(np.asarray(x, "float32")) - y))
    gradients = [np.asarray(g, "float64") for g in tape.gradient(loss, variables)]
    if mistake == "sum of norms":
        return float(sum(np.sqrt((g ** 2).sum()) for g in gradients))
    return float(np.sqrt(sum((g ** 2).sum() for g in gradients)))


def gradient_mistakes(depth, residual, weights, x, y):
    return {m: keras_gradient_norm(depth, residual, weights, x, y, m) for m in GRADIENT_MISTAKES}
