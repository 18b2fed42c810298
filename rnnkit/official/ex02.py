"""ex02's oracles, for the grader: autodiff (`tf.GradientTape`, nobody here wrote it) and
TensorFlow's own clipping, and the outputs of the classic mistakes the feedback names. Never
loaded by a student's process.

Shapes: N batch, T time, D input features, H hidden units; float64 throughout.
"""
from __future__ import annotations

import numpy as np


def tape_sequence(x, h0, Wx, Wh, b, dh):
    """Every hidden state and dL/d(x, h0, Wx, Wh, b), L = sum(h * dh), by tf.GradientTape."""
    import tensorflow as tf

    variables = [tf.constant(v) for v in (x, h0, Wx, Wh, b)]
    with tf.GradientTape() as tape:
        tape.watch(variables)
        x_, h, Wx_, Wh_, b_ = variables
        states = []
        for t in range(x.shape[1]):
            h = tf.tanh(x_[:, t] @ Wx_ + h @ Wh_ + b_)
            states.append(h)
        hs = tf.stack(states, axis=1)
        loss = tf.reduce_sum(hs * dh)
    return hs.numpy(), [g.numpy() for g in tape.gradient(loss, variables)]


def tape_hidden_norms(x, h0, Wx, Wh, b, dh_last):
    """mean_n ||dL/dh_t[n]|| for L = sum(h_{T-1} * dh_last): the total derivative, by autodiff."""
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        h = tf.constant(h0)
        tape.watch(h)  # so every later state is recorded on the tape
        states = []
        for t in range(x.shape[1]):
            h = tf.tanh(x[:, t] @ Wx + h @ Wh + b)
            states.append(h)
        loss = tf.reduce_sum(states[-1] * dh_last)
    grads = [tape.gradient(loss, state).numpy() for state in states]
    return np.array([np.linalg.norm(g, axis=1).mean() for g in grads])


def step_backward_without_tanh_derivative(x, h_prev, Wx, Wh, b, dh_next):
    """The gradients a step backward gives when it forgets da = dh_next * (1 - h_next**2)."""
    da = dh_next                                                        # (N, H)
    return [da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)]


def tf_clip(grads, max_norm):
    import tensorflow as tf

    clipped, norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
    return [c.numpy() for c in clipped], float(norm.numpy())


def clip_mistakes(grads, max_norm):
    """[(sentence, the arrays that mistake returns)] for the classic clipping mistakes, in the
    order they are looked for: the arrays rescaled to max_norm although their global norm is
    not above it; each array clipped by its own norm (only when above max_norm, or always)."""
    global_norm = float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads])))
    mistakes = []
    if 0 < global_norm <= max_norm:
        mistakes.append((f"it was rescaled although the global norm {global_norm:.3g} is not "
                         f"above max_norm {max_norm:g}: rescale only when global_norm > "
                         "max_norm, otherwise return copies of the arrays unchanged",
                         [g * (max_norm / global_norm) for g in grads]))
    for always in (False, True):
        mistakes.append(("it was clipped by its own norm; clipping by global norm scales every "
                         "array by the same factor max_norm / global_norm, global_norm = "
                         "sqrt(sum of sum(g**2) over ALL the arrays)",
                         [g * (max_norm / np.linalg.norm(g))
                          if always or np.linalg.norm(g) > max_norm else g for g in grads]))
    return mistakes
