"""ex10's oracles, for the grader: Keras's own AdditiveAttention fed by the same projections
of query and keys, the same residual stack built from Keras's LSTM layers, the gradient norm
by tf.GradientTape on that stack, and the classic mistakes of each (NumPy, float64) so the
feedback can name the one a student's result matches. Never loaded by a student's process.
"""
from __future__ import annotations

import numpy as np

PAD = 0                     # rnnkit.decoding.PAD
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


# The seq2seq with attention on ex09's dates: the same layers by name as
# build_attention_seq2seq, from Keras's own (LSTM; Dense projections without bias feeding
# AdditiveAttention(use_scale=True), whose scale is the student's score_vector).

def keras_attention_seq2seq(weights):
    """(model, encoder, step) from Keras's layers loaded with the student's `weights` by layer
    name: model [source, decoder_inputs] -> logits (N, T, V); encoder source -> [outputs,
    h, c]; step [token (N, 1), h, c, outputs, mask] -> [logits (N, 1, V), h, c]."""
    import keras
    from keras import layers, ops

    from rnnkit import seq2seq
    from rnnkit.grader.compare import fail

    units, attention_units = seq2seq.UNITS, seq2seq.ATTENTION_UNITS
    named = {
        "source_embedding": layers.Embedding(len(seq2seq.SOURCE), seq2seq.EMBED_DIM),
        "encoder": layers.LSTM(units, return_sequences=True, return_state=True,
                               use_cudnn=False),
        "target_embedding": layers.Embedding(len(seq2seq.TARGET), seq2seq.EMBED_DIM),
        "decoder": layers.LSTM(units, return_sequences=True, return_state=True,
                               use_cudnn=False),
        "combine": layers.Dense(units, activation="tanh"),
        "logits": layers.Dense(len(seq2seq.TARGET))}
    query_projection = layers.Dense(attention_units, use_bias=False)
    key_projection = layers.Dense(attention_units, use_bias=False)
    additive = layers.AdditiveAttention(use_scale=True)

    def attend(query, outputs, mask):
        inputs = [query_projection(query), outputs, key_projection(outputs)]  # query, value, key
        return additive(inputs, mask=[None, mask])

    def head(sequences, outputs, mask):
        context = attend(sequences, outputs, mask)
        return named["logits"](named["combine"](ops.concatenate([sequences, context], -1)))

    source = keras.Input((seq2seq.SOURCE_LENGTH,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    mask = ops.not_equal(source, PAD)
    outputs, h, c = named["encoder"](named["source_embedding"](source))
    sequences, _, _ = named["decoder"](named["target_embedding"](target), initial_state=[h, c])
    model = keras.Model([source, target], head(sequences, outputs, mask))
    h_in, c_in = keras.Input((units,)), keras.Input((units,))
    outputs_in = keras.Input((seq2seq.SOURCE_LENGTH, units))
    mask_in = keras.Input((seq2seq.SOURCE_LENGTH,), dtype="bool")
    out, h_out, c_out = named["decoder"](named["target_embedding"](target),
                                         initial_state=[h_in, c_in])
    step = keras.Model([target, h_in, c_in, outputs_in, mask_in],
                       [head(out, outputs_in, mask_in), h_out, c_out])
    attention_shapes = [(units, attention_units), (units, attention_units), (attention_units,)]
    got = [tuple(np.shape(w)) for w in weights.get("attention", [])]
    if got != attention_shapes:
        fail(f"layer 'attention' has weights of shapes {got}; the model needs "
             f"{attention_shapes} (BahdanauAttention({attention_units}, name='attention'))")
    for name, layer in named.items():
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(np.shape(w)) for w in weights.get(name, [])]
        if got != expected:
            fail(f"layer {name!r} has weights of shapes {got}; the model needs {expected}")
        layer.set_weights(weights[name])
    query_kernel, key_kernel, score_vector = weights["attention"]
    query_projection.set_weights([query_kernel])
    key_projection.set_weights([key_kernel])
    additive.set_weights([score_vector])
    return model, keras.Model(source, [outputs, h, c]), step


def keras_attention_logits(weights, sources, decoder_inputs):
    return np.asarray(keras_attention_seq2seq(weights)[0]([sources, decoder_inputs]))


def keras_attention_exact_match(weights, seed=2024, cipher_seed=0):
    """Greedy decoding by the grader, in Keras's twin, of ex09's N_TEST unseen test dates
    (drawn with `seed`, through the course's cipher): (accuracy, first miss)."""
    from rnnkit import seq2seq
    from rnnkit.official.ex09 import N_TEST, course_pairs, log_probs
    from rnnkit.probes.ex09 import START

    _, encoder, step = keras_attention_seq2seq(weights)
    sources, targets = zip(*course_pairs("test", N_TEST, seed, cipher_seed))
    encoded = seq2seq.encode_sources(sources)
    outputs, *states = [np.asarray(s) for s in encoder(encoded)]
    mask, fed, tokens = encoded != PAD, np.full(len(sources), START), []
    for _ in range(seq2seq.TARGET_LENGTH):
        logits, *states = [np.asarray(o) for o in step([fed[:, None], *states, outputs, mask])]
        fed = np.argmax(log_probs(logits[:, 0], START), axis=-1)
        tokens.append(fed)
    decoded = ["".join(seq2seq.TARGET.decode(row)) for row in np.stack(tokens, axis=1)]
    wrong = [k for k, (d, t) in enumerate(zip(decoded, targets)) if d != t]
    first = (sources[wrong[0]], targets[wrong[0]], decoded[wrong[0]]) if wrong else None
    return 1.0 - len(wrong) / len(sources), first


def course_pairs(split, n, seed, cipher_seed=0):
    """ex09's pairs through the course's cipher (rnnkit.official.ex09.course_pairs)."""
    from rnnkit.official.ex09 import course_pairs as ex09_pairs

    return ex09_pairs(split, n, seed, cipher_seed)
