"""Known wrong versions of the recurrent cells, in pure NumPy (float64), to diagnose a student.

When a student's LSTM or GRU disagrees with Keras, the grader runs the same inputs and
weights through the variants below, each one a classic mistake (gates sliced in another
order, reset gate applied before the product, update gate's roles exchanged, bias left out,
tanh and sigmoid exchanged), and reports the sentence of the variant that matches:

    candidates = mistake_outputs(lstm_sequence, LSTM_MISTAKES, x, h0, c0, W, R, b)
    sentence = compare.diagnose(student_h_seq, candidates)   # None when none matches

With default arguments every function computes exactly what Keras computes (the kit's tests
hold them against keras.layers.LSTM / GRU / SimpleRNN), so a variant differs from Keras only
by its one mistake.

Shapes: N batch, T time steps, D input features, H units. Weights use Keras's layout:
    SimpleRNN  kernel (D, H),  recurrent_kernel (H, H),  bias (H,)
    LSTM       kernel (D, 4H), recurrent_kernel (H, 4H), bias (4H,)    gates i, f, c, o
    GRU        kernel (D, 3H), recurrent_kernel (H, 3H), bias (2, 3H)  gates z, r, h
               (bias row 0 is added to x W, row 1 to h_prev R; reset_after=True)
"""
from __future__ import annotations

import itertools

import numpy as np

LSTM_GATES = "ifco"
GRU_GATES = "zrh"



def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # = 1 / (1 + exp(-a)), without overflow


_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": _sigmoid, "linear": lambda a: a}


def _activation(name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, received {name!r}")
    return _ACTIVATIONS[name]


def _gate_slices(gate_order, gates, width):
    """{gate letter: column slice} for columns read in `gate_order`, each `width` wide."""
    if sorted(gate_order) != sorted(gates):
        raise ValueError(f"gate_order must be a permutation of {gates!r}, received {gate_order!r}")
    return {gate: slice(k * width, (k + 1) * width) for k, gate in enumerate(gate_order)}


def _as_float64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _initial(state, x, units):
    return np.zeros((x.shape[0], units)) if state is None else np.asarray(state, np.float64)


def simple_rnn_sequence(x, h0, kernel, recurrent_kernel, bias, *, activation="tanh",
                        use_bias=True):
    """Vanilla RNN over a sequence: h_t = act(x_t kernel + h_{t-1} recurrent_kernel + bias).

    Inputs: x (N, T, D); h0 (N, H) or None for zeros; kernel (D, H); recurrent_kernel (H, H);
    bias (H,). Returns (h_seq (N, T, H), h_T (N, H)), float64.
    """
    x, kernel, recurrent_kernel, bias = _as_float64(x, kernel, recurrent_kernel, bias)
    act = _activation(activation)
    h = _initial(h0, x, recurrent_kernel.shape[0])              # (N, H)
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + h @ recurrent_kernel              # (N, H)
        h = act(a + bias if use_bias else a)
        outputs.append(h)
    return np.stack(outputs, axis=1), h                          # (N, T, H), (N, H)


def lstm_sequence(x, h0, c0, kernel, recurrent_kernel, bias, *, gate_order="ifco",
                  activation="tanh", recurrent_activation="sigmoid", use_bias=True):
    """LSTM over a sequence, as keras.layers.LSTM computes it with the default arguments.

        a = x_t kernel + h_{t-1} recurrent_kernel + bias        (N, 4H)
        i, f, o = recurrent_activation of their slices of a     (N, H) each
        g = activation of the candidate slice ("c")             (N, H)
        c_t = f * c_{t-1} + i * g;   h_t = o * activation(c_t)

    `gate_order` says how the 4H columns are read, slice k being gate gate_order[k]; any
    permutation of "ifco" ("g" is accepted for "c", so CS231n's "ifog" means "ifoc").
    Keras's order is "ifco".

    Inputs: x (N, T, D); h0, c0 (N, H) or None for zeros; kernel (D, 4H);
    recurrent_kernel (H, 4H); bias (4H,).
    Returns (h_seq (N, T, H), h_T (N, H), c_T (N, H)), float64.
    """
    x, kernel, recurrent_kernel, bias = _as_float64(x, kernel, recurrent_kernel, bias)
    units = recurrent_kernel.shape[0]
    part = _gate_slices(gate_order.replace("g", "c"), LSTM_GATES, units)
    act, gate_act = _activation(activation), _activation(recurrent_activation)
    h, c = _initial(h0, x, units), _initial(c0, x, units)       # (N, H) each
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + h @ recurrent_kernel              # (N, 4H)
        if use_bias:
            a = a + bias
        i, f, o = (gate_act(a[:, part[gate]]) for gate in "ifo")
        g = act(a[:, part["c"]])
        c = f * c + i * g                                        # (N, H)
        h = o * act(c)                                           # (N, H)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def gru_sequence(x, h0, kernel, recurrent_kernel, bias, *, gate_order="zrh", reset_after=True,
                 swap_update=False, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True):
    """GRU over a sequence, as keras.layers.GRU (reset_after=True) computes it by default.

        ax = x_t kernel + b_x,  ah = h_{t-1} recurrent_kernel + b_h     (N, 3H) each
        z = recurrent_activation(ax_z + ah_z);  r = recurrent_activation(ax_r + ah_r)
        reset_after=True:  hh = activation(ax_h + r * ah_h)
        reset_after=False: hh = activation(ax_h + (r * h_{t-1}) R_h + b_h[h slice])
        h_t = z * h_{t-1} + (1 - z) * hh      (swap_update: (1 - z) * h_{t-1} + z * hh)

    `gate_order` says how the 3H columns are read, slice k being gate gate_order[k]; Keras's
    order is "zrh". `bias` is (2, 3H), row 0 = b_x and row 1 = b_h; a (3H,) bias is taken
    as b_x with b_h = 0 (the layout of keras.layers.GRU(reset_after=False)).

    Inputs: x (N, T, D); h0 (N, H) or None for zeros; kernel (D, 3H);
    recurrent_kernel (H, 3H); bias (2, 3H) or (3H,).
    Returns (h_seq (N, T, H), h_T (N, H)), float64.
    """
    x, kernel, recurrent_kernel, bias = _as_float64(x, kernel, recurrent_kernel, bias)
    units = recurrent_kernel.shape[0]
    part = _gate_slices(gate_order, GRU_GATES, units)
    act, gate_act = _activation(activation), _activation(recurrent_activation)
    if not use_bias:
        bias = np.zeros((2, 3 * units))
    elif bias.ndim == 1:
        bias = np.stack([bias, np.zeros_like(bias)])
    b_x, b_h = bias[0], bias[1]                                  # (3H,) each
    h = _initial(h0, x, units)                                   # (N, H)
    outputs = []
    for t in range(x.shape[1]):
        ax = x[:, t] @ kernel + b_x                              # (N, 3H)
        ah = h @ recurrent_kernel + b_h                          # (N, 3H)
        z = gate_act(ax[:, part["z"]] + ah[:, part["z"]])        # (N, H)
        r = gate_act(ax[:, part["r"]] + ah[:, part["r"]])        # (N, H)
        if reset_after:
            hh = act(ax[:, part["h"]] + r * ah[:, part["h"]])
        else:
            hh = act(ax[:, part["h"]] + (r * h) @ recurrent_kernel[:, part["h"]]
                     + b_h[part["h"]])
        h = (1.0 - z) * h + z * hh if swap_update else z * h + (1.0 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1), h


# -- the catalogue of mistakes: sentence -> keyword overrides ---------------------------------
_LSTM_KNOWN = {"ifoc": " (CS231n's i, f, o, g order)"}
_GRU_KNOWN = {"rzh": " (PyTorch's r, z, n order)"}
_LSTM_KERAS = ("Keras orders the 4H columns of kernel, recurrent_kernel and bias as i, f, c, o "
               "(input, forget, candidate, output)")
_GRU_KERAS = ("Keras orders the 3H columns of kernel, recurrent_kernel and bias as z, r, h "
              "(update, reset, candidate)")


def _order_mistakes(cell, gates, known, keras_sentence):
    mistakes = {}
    for order in map("".join, itertools.permutations(gates)):
        if order != gates:
            sentence = (f"your {cell} matches one that reads the gate columns in the order "
                        f"{', '.join(order)}{known.get(order, '')}; {keras_sentence}")
            mistakes[sentence] = {"gate_order": order}
    return mistakes


LSTM_MISTAKES: dict[str, dict] = {
    **_order_mistakes("LSTM", LSTM_GATES, _LSTM_KNOWN, _LSTM_KERAS),
    "your LSTM matches one without bias; Keras adds bias (4H,) to the pre-activations of all "
    "four gates": {"use_bias": False},
    "your LSTM matches one with tanh and sigmoid exchanged (tanh on the gates i, f, o, sigmoid "
    "on the candidate and on the cell output); Keras uses sigmoid for the gates and tanh for "
    "the candidate g and in h_t = o * tanh(c_t)":
        {"activation": "sigmoid", "recurrent_activation": "tanh"},
}

GRU_MISTAKES: dict[str, dict] = {
    **_order_mistakes("GRU", GRU_GATES, _GRU_KNOWN, _GRU_KERAS),
    "your GRU matches one that applies the reset gate before the recurrent product, "
    "hh = tanh(x W_h + b_xh + (r * h_prev) R_h + b_rh) (d2l's and Cho et al.'s form); Keras "
    "(reset_after=True) applies it after: hh = tanh(x W_h + b_xh + r * (h_prev R_h + b_rh))":
        {"reset_after": False},
    "your GRU matches one with the update gate's roles exchanged, h = (1 - z) * h_prev + z * hh "
    "(the form of Chung et al. 2014); Keras keeps the old state with z: "
    "h = z * h_prev + (1 - z) * hh": {"swap_update": True},
    "your GRU matches one without bias; Keras adds bias[0] (3H,) to x W and bias[1] (3H,) to "
    "h_prev R": {"use_bias": False},
    "your GRU matches one with tanh and sigmoid exchanged (tanh on the gates z, r, sigmoid on "
    "the candidate); Keras uses sigmoid for the gates and tanh for the candidate hh":
        {"activation": "sigmoid", "recurrent_activation": "tanh"},
}


def mistake_outputs(sequence_function, mistakes, *args, **kwargs):
    """{sentence: h_seq (N, T, H)} of every mistake, e.g. for `diagnose`.

    `sequence_function` is lstm_sequence, gru_sequence or simple_rnn_sequence; `args` and
    `kwargs` are its inputs and weights; each mistake's overrides are added to `kwargs`.
    """
    return {sentence: sequence_function(*args, **{**kwargs, **overrides})[0]
            for sentence, overrides in mistakes.items()}


SIMPLE_RNN_MISTAKES: dict[str, dict] = {
    "your cell matches one without the bias b: add `+ self.bias`": {"use_bias": False},
    "your cell matches one without the tanh (a linear RNN): wrap the sum in ops.tanh":
        {"activation": "linear"},
    "your cell uses a sigmoid where the vanilla RNN uses tanh": {"activation": "sigmoid"},
}


# The mistakes of a cell that leaves one of its weights out of the sum: {sentence: weight}
# (that weight is read as zeros).
SIMPLE_RNN_IGNORED: dict[str, str] = {
    "your cell ignores the previous state: add `states[0] @ self.recurrent_kernel`":
        "recurrent_kernel",
    "your cell ignores the input: add `inputs @ self.kernel`": "kernel",
}


def cell_mistakes(cell, x, states, weights) -> dict:
    """{sentence: h_seq (N, T, H)} of every known mistake of `cell` ("SimpleRNNCell",
    "LSTMCell", "GRUCell") on the same inputs, initial states and weights (Keras's layout)."""
    kernel, recurrent, bias = weights
    if cell == "SimpleRNNCell":
        zeroed = {"kernel": np.zeros_like(kernel), "recurrent_kernel": np.zeros_like(recurrent)}
        mistakes = {**SIMPLE_RNN_MISTAKES,
                    **{sentence: {weight: zeroed[weight]}
                       for sentence, weight in SIMPLE_RNN_IGNORED.items()}}
        return mistake_outputs(simple_rnn_sequence, mistakes, x, states[0], kernel=kernel,
                               recurrent_kernel=recurrent, bias=bias)
    if cell == "LSTMCell":
        return mistake_outputs(lstm_sequence, LSTM_MISTAKES, x, states[0], states[1], *weights)
    if cell == "GRUCell":
        return mistake_outputs(gru_sequence, GRU_MISTAKES, x, states[0], *weights)
    raise ValueError(f"cell must be SimpleRNNCell, LSTMCell or GRUCell; received {cell!r}")
