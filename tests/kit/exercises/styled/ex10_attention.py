"""ex10 written in another style than solutions/ (einsum, a softmax by hand, the mask as a
bias, a stack built layer by layer in a list, the seq2seq's head as one shared function):
correct, so it scores every point; the
mistake corpus (test_ex10_grading.py) plants classic mistakes into copies of it."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from rnnkit.decoding import masked_nll
from rnnkit.seq2seq import (ATTENTION_UNITS, SOURCE_LENGTH, TARGET, TARGET_LENGTH, UNITS,
                            encode_sources, encode_targets, seq2seq_layers)

from .ex03_gated_cells import LSTMCell  # noqa: F401  (the stack's cell, passed in)


class BahdanauAttention(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, query_shape, values_shape):
        init = keras.initializers.GlorotUniform()
        self.query_kernel = self.add_weight(shape=(query_shape[-1], self.units), initializer=init)
        self.key_kernel = self.add_weight(shape=(values_shape[-1], self.units), initializer=init)
        self.score_vector = self.add_weight(shape=(self.units,), initializer=init)

    def call(self, query, values, mask=None):
        q = tf.einsum("ntd,du->ntu", query, self.query_kernel)
        k = tf.einsum("nsd,du->nsu", values, self.key_kernel)
        e = tf.einsum("ntsu,u->nts", tf.tanh(q[:, :, None] + k[:, None]), self.score_vector)
        if mask is not None:
            e += -1e9 * (1.0 - tf.cast(mask, e.dtype))[:, None, :]
        e = tf.exp(e - tf.reduce_max(e, axis=-1, keepdims=True))
        a = e / tf.reduce_sum(e, axis=-1, keepdims=True)
        return tf.einsum("nts,nsd->ntd", a, values), a

    def compute_mask(self, query, values, mask=None):
        return None


def build_stack(cell_class, depth, residual, input_dim=1, output_dim=1, units=16):
    inputs = keras.Input((None, input_dim))
    hidden = layers.Dense(units, name="project")(inputs)
    rnns = [layers.RNN(cell_class(units), return_sequences=True, name=f"rnn_{k}")
            for k in range(depth)]
    for rnn in rnns:
        out = rnn(hidden)
        hidden = hidden + out if residual else out
    return keras.Model(inputs, layers.Dense(output_dim, name="readout")(hidden))


def first_layer_gradient_norm(model, x, y):
    variables = model.get_layer("rnn_0").trainable_variables
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, variables)
    return float(tf.linalg.global_norm(grads))


def build_attention_seq2seq(cell_class, units=UNITS, embed_dim=16,
                            attention_units=ATTENTION_UNITS):
    parts = seq2seq_layers(cell_class, units, embed_dim)
    parts["encoder"] = layers.RNN(cell_class(units), return_sequences=True, return_state=True,
                                  name="encoder")
    parts["attention"] = BahdanauAttention(attention_units, name="attention")
    parts["combine"] = layers.Dense(units, activation="tanh", name="combine")

    def decode(tokens, states, outputs, mask):
        seq, *new_states = parts["decoder"](parts["target_embedding"](tokens),
                                            initial_state=states)
        context, weights = parts["attention"](seq, outputs, mask=mask)
        joined = layers.Concatenate()([seq, context])
        return parts["logits"](parts["combine"](joined)), new_states, weights

    source = keras.Input((SOURCE_LENGTH,), dtype="int32")
    targets_in = keras.Input((None,), dtype="int32")
    encoded = parts["encoder"](parts["source_embedding"](source))
    outputs, states = encoded[0], list(encoded[1:])
    mask = keras.ops.not_equal(source, 0)
    logits, _, _ = decode(targets_in, states, outputs, mask)
    model = keras.Model([source, targets_in], logits)
    encoder = keras.Model(source, [outputs] + states)
    token = keras.Input((1,), dtype="int32")
    state_inputs = [keras.Input((units,)) for _ in states]
    outputs_in = keras.Input((SOURCE_LENGTH, units))
    mask_in = keras.Input((SOURCE_LENGTH,), dtype="bool")
    logits, new_states, weights = decode(token, state_inputs, outputs_in, mask_in)
    step = keras.Model([token] + state_inputs + [outputs_in, mask_in],
                       [keras.ops.squeeze(logits, 1)] + new_states + [weights])
    return model, encoder, step


def train_attention_seq2seq(cell_class, pairs, epochs=1, seed=0, batch_size=32,
                            learning_rate=2e-2):
    sources = encode_sources([s for s, _ in pairs])
    decoder_inputs = np.zeros((len(pairs), TARGET_LENGTH), "int32")
    targets = np.zeros((len(pairs), TARGET_LENGTH), "int32")
    for row, ids in enumerate(encode_targets([t for _, t in pairs])):
        decoder_inputs[row, :len(ids) + 1] = [TARGET.START] + list(ids)
        targets[row, :len(ids) + 1] = list(ids) + [TARGET.STOP]
    keras.utils.set_random_seed(seed)
    model, encoder, step = build_attention_seq2seq(cell_class)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=lambda y, logits: masked_nll(logits, y))
    model.fit([sources, decoder_inputs], targets, batch_size=batch_size, epochs=epochs,
              verbose=0)
    return model, encoder, step


def greedy_translate(encoder, step_model, texts):
    sources = encode_sources(texts)
    outputs, *states = [np.asarray(a) for a in encoder(sources)]
    token = np.full((len(texts), 1), TARGET.START, "int32")
    rows, attended = [], []
    for _ in range(TARGET_LENGTH):
        logits, *states, weights = [np.array(o) for o in step_model(
            [token] + states + [outputs, sources != 0])]
        logits[:, :2] = -np.inf                     # PAD and <start> never generated
        token = logits.argmax(-1).astype("int32")[:, None]
        rows.append(token[:, 0])
        attended.append(weights[:, 0])
    return [TARGET.decode(row) for row in np.stack(rows, 1)], np.stack(attended, 1)
