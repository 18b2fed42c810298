# %% [markdown]
# # ex01 — The vanilla RNN as a custom Keras layer
#
# A recurrent network reads a sequence one step at a time and carries a **hidden state**
# from step to step. The vanilla (Elman) RNN computes, for t = 1 .. T,
#
#     h_t = tanh(x_t W_x + h_{t-1} W_h + b)        (N, H)
#     y_t = h_t W_y + c                            (N, K)   (a Dense layer on top)
#
# with shapes N batch, T time, D input features, H hidden units, K outputs:
# x_t (N, D), W_x (D, H), W_h (H, H), b (H,). The same W_x, W_h, b are used at every step:
# the parameters are **shared over time**, so the layer has D*H + H*H + H parameters
# whatever the length T of the sequences it reads.
#
# Keras splits a recurrent layer in two: a **cell** computes one step,
# `call(x_t, [h_{t-1}]) -> (y_t, [h_t])`, and `keras.layers.RNN(cell)` runs the loop over
# time (masking, `go_backwards`, `return_sequences`, graph mode). You write the cell; then
# you write the loop yourself once, to see that it is nothing more than the picture of the
# unrolled network from the lecture.
#
# Weight layout (identical to `keras.layers.SimpleRNN`, so `set_weights` interchanges):
# `kernel` (D, H) = W_x, `recurrent_kernel` (H, H) = W_h, `bias` (H,) = b, created in that
# order.
#
# ## The four problem shapes
# - one-to-one: one input, one output (a feed-forward net: an RNN run for a single step);
# - one-to-many: one input, a sequence out (image captioning, ex08);
# - many-to-one: a sequence in, one output (sentiment, ex05);
# - many-to-many, aligned: one output per input step (frame labelling, ex06); not aligned:
#   read the whole input, then write an output of another length (translation, ex09).
#
# This exercise builds all four around your cell.
#
# Write the cell yourself: outside `main()` (which compares your cell with Keras's on
# purpose), the grader refuses `keras.layers.SimpleRNN` and `keras.layers.SimpleRNNCell`.

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers, ops


# %% [markdown]
# ## 1. The cell

# %%
@keras.saving.register_keras_serializable(package="rnnkit")
class SimpleRNNCell(layers.Layer):
    """One step of the vanilla RNN: h_t = tanh(x_t W_x + h_{t-1} W_h + b).

    Shapes: N batch, D input features, H = `units`.
    Weights, created in `build` in this order (the layout of `keras.layers.SimpleRNN`):
        kernel            (D, H)   W_x, initialised glorot_uniform
        recurrent_kernel  (H, H)   W_h, initialised orthogonal
        bias              (H,)     b,   initialised zeros
    `call(inputs, states)`: inputs (N, D); states is a list [h_prev] with h_prev (N, H);
    returns (h, [h]): the output and the new state list, both h (N, H).
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        self.units = units
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        """Create kernel (D, H), recurrent_kernel (H, H) and bias (H,) with `add_weight`."""
        # YOUR CODE (replace this line)
        raise NotImplementedError('SimpleRNNCell.build is not written yet: Create kernel (D, H), recurrent_kernel (H, H) and bias (H,) with `add_weight`')

    def call(self, inputs, states, training=False):
        """h = tanh(inputs @ kernel + states[0] @ recurrent_kernel + bias); return h, [h]."""
        # YOUR CODE (replace this line)
        raise NotImplementedError('SimpleRNNCell.call is not written yet: h = tanh(inputs @ kernel + states[0] @ recurrent_kernel + bias); return h, [h]')

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# %% [markdown]
# ## 2. The loop over time, by hand
#
# `keras.layers.RNN` runs this loop for you; writing it once shows what "unrolling" means.

# %%
def rnn_forward_unrolled(cell, x, h0=None):
    """Run `cell` over every step of `x` and return every hidden state.

    Inputs:
        cell: a built or unbuilt SimpleRNNCell (its weights are reused at every step).
        x: (N, T, D) inputs.
        h0: (N, H) initial state, or None for zeros.
    Returns:
        h: (N, T, H) tensor, h[:, t] = the state after reading x[:, t].
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_forward_unrolled is not written yet: Run `cell` over every step of `x` and return every hidden state')


# %% [markdown]
# ## 3. The four problem shapes, around your cell
#
# Each builder returns a Functional `keras.Model` whose recurrent layers are
# `layers.RNN(SimpleRNNCell(units))`, and whose time axis is `None` where the input is a
# sequence (any length works).

# %%
def one_to_one(input_dim, units, output_dim):
    """(N, D) -> (N, K): the RNN read for a single step, then a Dense layer."""
    # YOUR CODE (replace this line)
    raise NotImplementedError('one_to_one is not written yet: (N, D) -> (N, K): the RNN read for a single step, then a Dense layer')


def one_to_many(input_dim, units, output_dim, steps):
    """(N, D) -> (N, steps, K): the input is fed at every step (RepeatVector), one output a step."""
    # YOUR CODE (replace this line)
    raise NotImplementedError('one_to_many is not written yet: (N, D) -> (N, steps, K): the input is fed at every step (RepeatVector), one output a step')


def many_to_one(input_dim, units, output_dim):
    """(N, T, D) -> (N, K): read the whole sequence, predict from the last hidden state."""
    # YOUR CODE (replace this line)
    raise NotImplementedError('many_to_one is not written yet: (N, T, D) -> (N, K): read the whole sequence, predict from the last hidden state')


def many_to_many(input_dim, units, output_dim):
    """(N, T, D) -> (N, T, K), aligned: one output for every input step."""
    # YOUR CODE (replace this line)
    raise NotImplementedError('many_to_many is not written yet: (N, T, D) -> (N, T, K), aligned: one output for every input step')


def encoder_decoder(input_dim, units, output_dim, output_steps):
    """(N, T, D) -> (N, output_steps, K), not aligned: an encoder RNN reads the input, its
    final state starts a decoder RNN that writes `output_steps` outputs (fed the encoder's
    summary at every step)."""
    # YOUR CODE (replace this line)
    raise NotImplementedError("encoder_decoder is not written yet: (N, T, D) -> (N, output_steps, K), not aligned: an encoder RNN reads the input, its final state starts a decoder RNN that writes `output_steps` outputs (fed the encoder's summary at every step)")


# %% [markdown]
# ## 4. Train it
#
# A many-to-one task where order matters: "is the first number of the sequence larger
# than the last one?" A model that ignores order (the mean of the inputs) stays at chance;
# the RNN must carry the first value through time. Your cell and `keras.layers.SimpleRNN`
# start from the same weights, so their curves should lie on top of each other.

# %%
def first_versus_last(n, steps, seed=0):
    """x (n, steps, 1) uniform in [-1, 1]; y (n,) = 1 if x[:, 0] > x[:, -1] else 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, steps, 1)).astype("float32")
    y = (x[:, 0, 0] > x[:, -1, 0]).astype("int32")
    return x, y


def main(steps=12, units=16, epochs=8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.plots import plot_curves, save_figure

    x, y = first_versus_last(4000, steps, seed=0)
    x_val, y_val = first_versus_last(1000, steps, seed=1)
    histories = {}
    weights = None
    for name, recurrent in [("your SimpleRNNCell", layers.RNN(SimpleRNNCell(units))),
                            ("keras.layers.SimpleRNN", layers.SimpleRNN(units))]:
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(None, 1))
        model = keras.Model(inputs, layers.Dense(2)(recurrent(inputs)))
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        print(f"training {name} ...")
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs,
                            batch_size=64, verbose=2, shuffle=False)
        histories[name] = history.history["val_accuracy"]
    figure, ax = plt.subplots(figsize=(6, 4))
    plot_curves(ax, histories, xlabel="epoch", ylabel="validation accuracy",
                title=f"first > last? (T = {steps})")
    path = save_figure(figure, "runs/ex01/accuracy.png")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
