"""Probes of ex02 (backpropagation through time by hand): run in the student's process.

NumPy only, like the exercise: this process never loads TensorFlow or Keras for ex02.
"""
import numpy as np


def _call(function, **arrays):
    """Call, and hand back the inputs as they are afterwards: the grader compares them with
    what it sent (judging here, with the student's own numpy, could be fooled)."""
    result = function(**arrays)
    return result, {name: np.array(value, copy=True) for name, value in arrays.items()}


def probe_step(module, x, h_prev, Wx, Wh, b, dh_next):
    (h, cache), after = _call(module.rnn_step_forward, x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b)
    grads, after_back = _call(lambda **a: module.rnn_step_backward(a["dh_next"], cache),
                              dh_next=dh_next)
    return {"h": np.asarray(h), "grads": [np.asarray(g) for g in grads],
            "after": {**after, **after_back}}


def probe_sequence(module, x, h0, Wx, Wh, b, dh):
    (h, cache), after = _call(module.rnn_forward, x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    grads, after_back = _call(lambda **a: module.rnn_backward(a["dh"], cache), dh=dh)
    return {"h": np.asarray(h), "grads": [np.asarray(g) for g in grads],
            "after": {**after, **after_back}}


def probe_numerical_gradients(module, x, h0, Wx, Wh, b, dh, eps=1e-6):
    """Centred differences of the student's own rnn_forward (diagnosis and self-consistency)."""
    params = dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    numeric = []
    for name in ("x", "h0", "Wx", "Wh", "b"):
        value = params[name]
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + eps
            plus = np.sum(np.asarray(module.rnn_forward(**params)[0]) * dh)
            value[index] = original - eps
            minus = np.sum(np.asarray(module.rnn_forward(**params)[0]) * dh)
            value[index] = original
            grad[index] = (plus - minus) / (2 * eps)
        numeric.append(grad)
    return numeric


def probe_hidden_norms(module, x, h0, Wx, Wh, b, dh_last):
    norms, after = _call(module.hidden_grad_norms, x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, dh_last=dh_last)
    return {"norms": np.asarray(norms), "after": after}


def probe_clip(module, grads, max_norm):
    clipped, norm = module.clip_by_global_norm(grads, max_norm)
    return {"clipped": [np.asarray(g) for g in clipped], "norm": float(norm),
            "after": [np.array(g, copy=True) for g in grads]}
