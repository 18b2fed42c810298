"""ex10 written in another style than solutions/ (einsum, a softmax by hand, the mask as a
bias, a stack built layer by layer in a list): correct, so it scores every point; the
mistake corpus (test_ex10_grading.py) plants classic mistakes into copies of it."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import tensorflow as tf
from keras import layers

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
