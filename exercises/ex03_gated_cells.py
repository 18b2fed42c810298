# %% [markdown]
# # ex03 — Gates and the cell state: LSTM, GRU; bidirectional RNNs; long-range dependencies
#
# Dimension letters, in every docstring below: N batch, T time steps, D input features,
# H units (`units`). `*` is the elementwise (Hadamard) product, sigma the logistic sigmoid.
#
# ex02 showed why a vanilla RNN forgets: the gradient reaching step t - k is a product of
# k Jacobians diag(1 - h^2) W_h^T, which shrinks (or explodes) geometrically with k.
# Gated cells add a path through time that is **additive**, and **gates** (numbers in
# (0, 1) multiplied elementwise) that decide at every step what to write, keep and read.
#
# Problem shapes: the memory task (part 3) is **many-to-one**, the bidirectional tagger
# (part 4) **many-to-many, aligned**.
#
# Write the cells yourself: outside `main()`, the grader refuses Keras's `LSTM`, `LSTMCell`,
# `GRU` and `GRUCell`. If your ex01 cell is unfinished, the memory experiment is graded with
# Keras's own SimpleRNNCell standing in for it (the report says so).

# %%
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex03_gated_cells.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers, ops

if __package__:
    from .ex01_simple_rnn import SimpleRNNCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex01_simple_rnn import SimpleRNNCell


# %% [markdown]
# ## 1. The LSTM cell (Hochreiter and Schmidhuber, 1997; forget gate: Gers et al., 2000)
#
# All four pre-activations come from one matrix product:
#
#     a   = x_t W + h_{t-1} U + b          W (D, 4H), U (H, 4H), b (4H,)
#     i   = sigma(a_i)      input gate: how much of the candidate to write
#     f   = sigma(a_f)      forget gate: how much of the old cell to keep
#     g   = tanh(a_c)       candidate cell content
#     o   = sigma(a_o)      output gate: how much of the cell to show
#     c_t = f * c_{t-1} + i * g            the cell state
#     h_t = o * tanh(c_t)                  the hidden state, also the output
#
# Keras slices the 4H columns in the order **i, f, c, o** (c = the candidate g): column
# slice k*H:(k+1)*H belongs to gate k. CS231n slices them i, f, o, g: the same cell with
# other weights, so weights trained in one convention are wrong in the other.
#
# **Why the cell state keeps gradients alive.** Along the direct cell path,
# dc_t / dc_{t-1} = diag(f_t): no weight matrix, no squashing derivative. The gradient
# reaching c_{t-k} from c_t is multiplied by f_t * ... * f_{t-k+1}, which stays close to 1
# while the forget gates stay open. The vanilla RNN has no such choice.
#
# Write `build` and `call` with `keras.ops` (`ops.matmul`, `ops.split`, `ops.sigmoid`,
# `ops.tanh`), so the cell runs inside `keras.layers.RNN`, in graph mode, under `fit`.

# %%
@keras.saving.register_keras_serializable(package="rnnkit")
class LSTMCell(layers.Layer):
    """One step of the LSTM, with the weight layout of `keras.layers.LSTM`.

    Weights, created in `build` in this order (so `set_weights` interchanges with Keras's),
    columns in gate order i, f, c, o:
        kernel            (D, 4H)  W, initialised glorot_uniform
        recurrent_kernel  (H, 4H)  U, initialised orthogonal
        bias              (4H,)    b, initialised zeros, except bias[H:2H] (forget) = 1.0
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias with `add_weight`, initialised as above.

        Inputs:
        - input_shape: (N, D).
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('LSTMCell.build is not written yet: Create kernel, recurrent_kernel and bias with `add_weight`, initialised as above.')

    def call(self, inputs, states, training=False):
        """One LSTM step: the gates, then c_t and h_t, as the equations above write them.

        Inputs:
        - inputs: (N, D), x_t.
        - states: [h_prev, c_prev], each (N, H).

        Returns a tuple of:
        - h: (N, H), the output.
        - [h, c]: the new states, each (N, H).
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('LSTMCell.call is not written yet: One LSTM step: the gates, then c_t and h_t, as the equations above write them.')

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# %% [markdown]
# ## 2. The GRU cell (Cho et al., 2014), as Keras computes it (reset_after=True)
#
# Two gates, no separate cell; the input and recurrent products keep their own biases:
#
#     ax = x_t W + b_x,   ah = h_{t-1} U + b_h     W (D, 3H), U (H, 3H), b = [b_x; b_h] (2, 3H)
#     z  = sigma(ax_z + ah_z)           update gate: how much of the old state to keep
#     r  = sigma(ax_r + ah_r)           reset gate: how much of the old state the candidate sees
#     hh = tanh(ax_h + r * ah_h)        candidate, reset applied AFTER the product
#     h_t = z * h_{t-1} + (1 - z) * hh
#
# Columns in the order z, r, h. The update is again additive: dh_t / dh_{t-1} contains
# diag(z), so z near 1 carries the state (and its gradient) along. d2l and the original
# paper apply the reset *before* the product, hh = tanh(x_t W_h + (r * h_{t-1}) U_h + b):
# a different function of the same weights (Keras's reset_after=False). cuDNN, and so
# Keras's default, is reset-after.

# %%
@keras.saving.register_keras_serializable(package="rnnkit")
class GRUCell(layers.Layer):
    """One step of the GRU, with the weight layout of `keras.layers.GRU` (reset_after=True).

    Weights, created in `build` in this order (so `set_weights` interchanges with Keras's),
    columns in gate order z, r, h:
        kernel            (D, 3H)  W, initialised glorot_uniform
        recurrent_kernel  (H, 3H)  U, initialised orthogonal
        bias              (2, 3H)  rows b_x (input) and b_h (recurrent), initialised zeros
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        self.units = units
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias with `add_weight`, initialised as above.

        Inputs:
        - input_shape: (N, D).
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('GRUCell.build is not written yet: Create kernel, recurrent_kernel and bias with `add_weight`, initialised as above.')

    def call(self, inputs, states, training=False):
        """One GRU step: the gates, the candidate, then h_t, as the equations above write them.

        Inputs:
        - inputs: (N, D), x_t.
        - states: [h_prev], h_prev (N, H).

        Returns a tuple of:
        - h: (N, H), the output.
        - [h]: the new states.
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('GRUCell.call is not written yet: One GRU step: the gates, the candidate, then h_t, as the equations above write them.')

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# %% [markdown]
# ## 3. A long-range dependency: recall the first symbol
#
# Each sequence starts with one of S symbols, one-hot, followed by `lag` steps of Gaussian
# noise in the same S features; the label is the first symbol, so chance is 1 / S. Noise
# in the very features that carry the signal cannot be filtered out by input weights: only
# an input gate that closes after the first step keeps it out, and a forget gate (or GRU
# update gate) near 1 carries the symbol across. (With silent or clean one-hot distractors
# the vanilla RNN latches the symbol and solves it.) At MEMORY_LAG = 40 the vanilla cell
# stayed at chance on all 8 seeds tried, while the gated cells reached 0.95 - 1.00. A model
# that ignores order does badly too: in the time-average of the inputs the noise grows
# like sqrt(lag), and at lag 40 its largest feature is right about 30 % of the time.
#
# **Initialisation matters as much as the gates.** Keras's default forget bias of 1 keeps
# sigmoid(1)^40 = 0.73^40 ~ 3e-6 of the first step after 40 steps, and default-initialised
# gated cells stay at chance here. *Chrono initialisation* (Tallec and Ollivier, 2018) sets
# b_f = log(u), u ~ U(1, T_max - 1), so unit k remembers for about u_k steps, and
# b_i = -b_f so the input gate starts mostly closed; for the GRU, b_f goes to the update
# gate's input bias (z near 1 keeps the old state).
#
# `first_step_gradient_norm` measures |d loss / d x_0| at initialisation, without training:
# on a log scale the vanilla cell's curve falls along a straight line (geometric decay),
# the gated cells' stay nearly flat.
#
# The task, the model, `chrono_initialize` and the experiment loop live in
# `rnnkit/memory.py` (read them there): the grader trains your cells with that very code.

# %%
from rnnkit.memory import (MEMORY_LAG, chrono_initialize,  # noqa: E402,F401  (shown above)
                           first_step_gradient_norm, memory_model, memory_task)
from rnnkit.memory import run_memory_experiment as _run_memory_experiment  # noqa: E402


def default_memory_cells():
    """Return the three cells compared by default, {name: cell class}."""
    return {"vanilla": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}


def run_memory_experiment(cells=None, lags=(5, 10, 20, 30, 40, 50), **settings):
    """Run `rnnkit.memory.run_memory_experiment`, with this exercise's three cells by default.

    Inputs:
    - cells: {name: cell class}, or None for default_memory_cells().
    - lags: the lags to train at; settings: passed on (units, n, epochs, chrono, ...).

    Returns:
    - results: {"lags", "chance", "accuracy", "grad_norm_first_step", "seconds"}; the last
      three map each cell's name to one value per lag.
    """
    return _run_memory_experiment(default_memory_cells() if cells is None else cells, lags,
                                  **settings)


def plot_accuracy_vs_lag(ax, results):
    """Draw the validation accuracy against the lag, one line per cell, chance in the legend.

    Inputs:
    - ax: a matplotlib Axes.
    - results: what run_memory_experiment returned.

    Returns:
    - ax.
    """
    from rnnkit.plots import plot_accuracy

    return plot_accuracy(ax, results["accuracy"], chance=results["chance"], x=results["lags"],
                         xlabel="lag (noise steps)", title="recall the first symbol")


def plot_gradient_vs_lag(ax, results):
    """Draw |d loss / d x_0| at initialisation against the lag, log scale, one line per cell.

    Inputs:
    - ax: a matplotlib Axes.
    - results: what run_memory_experiment returned.

    Returns:
    - ax.
    """
    from rnnkit.plots import plot_curves

    return plot_curves(ax, results["grad_norm_first_step"], x=results["lags"], logy=True,
                       xlabel="lag (noise steps)", ylabel="|dL/dx_0| at initialisation",
                       title="gradient reaching the first step")


# %% [markdown]
# ## 4. Bidirectional: labels that depend on the future
#
# A forward RNN's output at step t has read x_0 .. x_t only. A bidirectional layer runs a
# second RNN over the reversed sequence and concatenates the two outputs at each step,
# [h_fwd_t, h_bwd_t] (N, 2H), so step t sees the whole sequence: for labelling a sequence
# that is already complete (tagging, speech frames, an encoder), not for predicting the
# future as it arrives.
#
# The task: tag every step with the symbol that comes NEXT (the last step gets an extra
# "end" class). The forward tagger can only guess; `layers.Bidirectional` around the same
# RNN gets it right. `Bidirectional` builds its backward copy from the forward layer's
# config, which is why the cells are registered serializable.

# %%
def next_symbol_task(n, steps, n_symbols=4, seed=0):
    """Make random one-hot symbols s, each step labelled with the next symbol.

    Inputs:
    - n, steps: the number of sequences and their length T; n_symbols: S; seed: the seed.

    Returns a tuple of:
    - x: (n, steps, S) float32, one-hot of s.
    - y: (n, steps) int32, y[:, t] = s[:, t + 1], and y[:, -1] = S (the "end" class).
    """
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, size=(n, steps))               # (n, T)
    x = np.eye(n_symbols, dtype="float32")[symbols]                     # (n, T, S)
    y = np.concatenate([symbols[:, 1:], np.full((n, 1), n_symbols)], axis=1)
    return x, y.astype("int32")


def bidirectional_demo(units=16, steps=12, n=2000, epochs=8, seed=0, verbose=True):
    """Train a forward and a bidirectional RNN(LSTMCell) tagger on next_symbol_task.

    Inputs:
    - units: H; steps: T; n: training sequences; epochs, seed, verbose.

    Returns:
    - results: {"forward": accuracy, "bidirectional": accuracy, "seconds": {name: s}}, the
      per-step validation accuracy over all steps.
    """
    n_symbols = 4
    x, y = next_symbol_task(n, steps, n_symbols, seed=seed)
    x_val, y_val = next_symbol_task(500, steps, n_symbols, seed=seed + 1)
    results = {"seconds": {}}
    for name in ("forward", "bidirectional"):
        keras.utils.set_random_seed(seed)
        recurrent = layers.RNN(LSTMCell(units), return_sequences=True)  # (N, T, H)
        if name == "bidirectional":
            recurrent = layers.Bidirectional(recurrent)                 # (N, T, 2H)
        model = keras.Sequential([keras.Input((steps, n_symbols)), recurrent,
                                  layers.Dense(n_symbols + 1, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-2), metrics=["accuracy"],
                      loss="sparse_categorical_crossentropy")
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
        results["seconds"][name] = time.perf_counter() - start
        results[name] = float(model.evaluate(x_val, y_val, verbose=0)[1])
        if verbose:
            print(f"{name:>13s} tagger: per-step accuracy {results[name]:.2f} "
                  f"({results['seconds'][name]:.1f} s)", flush=True)
    return results


# %% [markdown]
# ## 5. Run it
#
# `main()` trains the three cells at every lag, then the two gated cells with Keras's
# default initialisation at MEMORY_LAG, then the bidirectional tagger, and saves two plots
# under runs/ex03/. About a minute on 2 cores.

# %%
def main(lags=(5, 10, 20, 30, 40, 50), epochs=6):
    """Run the memory experiment, plot it under runs/ex03/, then the bidirectional demo."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.mains import small_budget, working_cell
    from rnnkit.plots import save_figure

    small = small_budget()  # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
    if small:
        lags, epochs = (5, 10), 1
    sizes = {"n": 500, "n_val": 200} if small else {}
    cells = {"vanilla": working_cell(SimpleRNNCell), "lstm": LSTMCell, "gru": GRUCell}
    print("memory task, chrono-initialised gates:")
    results = run_memory_experiment(cells, lags=lags, epochs=epochs, **sizes)
    figure, ax = plt.subplots(figsize=(6, 4))
    plot_accuracy_vs_lag(ax, results)
    print(f"saved {save_figure(figure, 'runs/ex03/accuracy_vs_lag.png')}")
    figure, ax = plt.subplots(figsize=(6, 4))
    plot_gradient_vs_lag(ax, results)
    print(f"saved {save_figure(figure, 'runs/ex03/gradient_vs_lag.png')}")

    print(f"the same gated cells with Keras's default initialisation, lag {MEMORY_LAG}:")
    run_memory_experiment(cells={"lstm": LSTMCell, "gru": GRUCell}, lags=(MEMORY_LAG,),
                          epochs=epochs, chrono=False, **sizes)
    print("bidirectional: tag each step with the NEXT symbol")
    bidirectional_demo(**({"n": 500, "epochs": 1} if small else {}))


if __name__ == "__main__":
    main()
