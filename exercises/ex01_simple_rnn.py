# %% [markdown]
# # ex01 — The vanilla RNN as a custom Keras layer
#
# Dimension letters, in every docstring below: N batch, T time steps, D input features,
# H hidden units (`units`), K outputs.
#
# A recurrent network reads a sequence one step at a time and carries a **hidden state**
# from step to step. The vanilla (Elman) RNN computes, for t = 1 .. T,
#
#     h_t = tanh(x_t W_x + h_{t-1} W_h + b)        W_x (D, H), W_h (H, H), b (H,)
#     y_t = h_t W_y + c                            (a Dense layer on top)
#
# The same W_x, W_h, b are used at every step: the parameters are **shared over time**, so
# the layer has D*H + H*H + H parameters whatever the length T of the sequences it reads.
#
# Keras splits a recurrent layer in two: a **cell** computes one step,
# `call(x_t, [h_{t-1}]) -> (y_t, [h_t])`, and `keras.layers.RNN(cell)` runs the loop over
# time (masking, `go_backwards`, `return_sequences`, graph mode). You write the cell; then
# you write the loop yourself once, to see that it is nothing more than the picture of the
# unrolled network from the lecture.
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
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex01_simple_rnn.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers, ops


# %% [markdown]
# ## 1. The cell

# %%
@keras.saving.register_keras_serializable(package="rnnkit")
class SimpleRNNCell(layers.Layer):
    """One step of the vanilla RNN, with the weight layout of `keras.layers.SimpleRNN`.

    Weights, created in `build` in this order (so `set_weights` interchanges with Keras's):
        kernel            (D, H)   W_x, initialised glorot_uniform
        recurrent_kernel  (H, H)   W_h, initialised orthogonal
        bias              (H,)     b,   initialised zeros
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        self.units = units
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias with `add_weight`.

        Inputs:
        - input_shape: (N, D).
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('SimpleRNNCell.build is not written yet: Create kernel, recurrent_kernel and bias with `add_weight`.')

    def call(self, inputs, states, training=False):
        """One step: h = tanh(inputs kernel + h_prev recurrent_kernel + bias).

        Inputs:
        - inputs: (N, D), x_t.
        - states: [h_prev], h_prev (N, H).

        Returns a tuple of:
        - h: (N, H), the output.
        - [h]: the new states.
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('SimpleRNNCell.call is not written yet: One step: h = tanh(inputs kernel + h_prev recurrent_kernel + bias).')

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
    - cell: a SimpleRNNCell, built or not; its weights are reused at every step.
    - x: (N, T, D) inputs.
    - h0: (N, H) initial state, or None for zeros.

    Returns:
    - h: (N, T, H), h[:, t] the state after reading x[:, t].
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_forward_unrolled is not written yet: Run `cell` over every step of `x` and return every hidden state.')


# %% [markdown]
# ## 3. The four problem shapes, around your cell
#
# Each builder returns a Functional `keras.Model` whose recurrent layers are
# `layers.RNN(SimpleRNNCell(units))`, and whose time axis is `None` where the input is a
# sequence (any length works).

# %%
def one_to_one(input_dim, units, output_dim):
    """One-to-one: the RNN read for a single step, then a Dense layer.

    Inputs:
    - input_dim, units, output_dim: D, H, K.

    Returns:
    - model: (N, D) -> (N, K).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('one_to_one is not written yet: One-to-one: the RNN read for a single step, then a Dense layer.')


def one_to_many(input_dim, units, output_dim, steps):
    """One-to-many: the input is fed at every step (RepeatVector), one output a step.

    Inputs:
    - input_dim, units, output_dim: D, H, K.
    - steps: the number of outputs.

    Returns:
    - model: (N, D) -> (N, steps, K).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('one_to_many is not written yet: One-to-many: the input is fed at every step (RepeatVector), one output a step.')


def many_to_one(input_dim, units, output_dim):
    """Many-to-one: read the whole sequence, predict from the last hidden state.

    Inputs:
    - input_dim, units, output_dim: D, H, K.

    Returns:
    - model: (N, T, D) -> (N, K).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('many_to_one is not written yet: Many-to-one: read the whole sequence, predict from the last hidden state.')


def many_to_many(input_dim, units, output_dim):
    """Many-to-many, aligned: one output for every input step.

    Inputs:
    - input_dim, units, output_dim: D, H, K.

    Returns:
    - model: (N, T, D) -> (N, T, K).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('many_to_many is not written yet: Many-to-many, aligned: one output for every input step.')


def encoder_decoder(input_dim, units, output_dim, output_steps):
    """Many-to-many, not aligned: an encoder RNN reads the input, a decoder RNN writes.

    The encoder's final state starts the decoder, which is fed that same summary at each
    of its `output_steps` steps.

    Inputs:
    - input_dim, units, output_dim: D, H, K.
    - output_steps: the number of outputs.

    Returns:
    - model: (N, T, D) -> (N, output_steps, K).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('encoder_decoder is not written yet: Many-to-many, not aligned: an encoder RNN reads the input, a decoder RNN writes.')


# %% [markdown]
# ## Quiz: the lecture's applications
#
# Give each application below its problem shape, one of `SHAPES` (the four shapes above,
# many-to-many split in two), and say whether it is **seq2seq**: an encoder reads the whole
# input sequence, then a decoder writes an output sequence of its own length (the
# many-to-many, not aligned shape). Where two shapes are defensible, either counts. Your
# answers are graded by the official grade only: your kit holds no answer to compare with.

# %%
SHAPES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many, aligned",
          "many-to-many, not aligned")

APPLICATIONS = {
    "sentiment": "the sentiment of a review: its words in, positive or negative out",
    "time_series": "forecasting a time series: its last T values in, the next value out",
    "speech_recognition": "speech recognition: the frames of a recording in, the words "
                          "spoken out",
    "translation": "machine translation: a sentence in one language in, the same sentence "
                   "in another language out",
    "captioning": "image captioning: an image in, a sentence describing it out",
    "summarisation": "summarisation: a long text in, a short summary of it out",
    "structured_input": "a structured input read as a sequence: an image classified from a "
                        "sequence of glimpses, each glimpse choosing where to look next",
    "variable_size": "variable-size input and output: tagging each word of a sentence of any "
                     "length with its part of speech",
    "image_denoising": "image denoising: a noisy image in, the clean image of the same size out",
    "question_answering": "question answering: a question in, its answer written as a "
                          "sentence out",
}


def application_shapes():
    """Your answers to the quiz.

    Returns:
    - answers: dict {application: (shape, is_seq2seq)}, one entry per key of APPLICATIONS;
      shape one of SHAPES, is_seq2seq True or False.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('application_shapes is not written yet: Your answers to the quiz.')


# %% [markdown]
# ## 4. Train it
#
# A many-to-one task where order matters: "is the first number of the sequence larger
# than the last one?" A model that ignores order (the mean of the inputs) stays at chance,
# 0.5; the RNN must carry the first value through time. Your cell and
# `keras.layers.SimpleRNN` start from the same weights, so their curves should lie on top
# of each other (epoch 0 is before training).

# %%
def first_versus_last(n, steps, seed=0):
    """The task "is the first number larger than the last?", seeded.

    Inputs:
    - n, steps: the number of sequences and their length T.
    - seed: seed of np.random.default_rng.

    Returns a tuple of:
    - x: (n, steps, 1) float32, uniform in [-1, 1].
    - y: (n,) int32, 1 where x[:, 0] > x[:, -1], else 0.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, steps, 1)).astype("float32")
    y = (x[:, 0, 0] > x[:, -1, 0]).astype("int32")
    return x, y


def main(steps=12, units=16, epochs=8):
    """Train your cell and Keras's on first_versus_last; plot runs/ex01/accuracy.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.mains import small_budget
    from rnnkit.plots import plot_accuracy, save_figure

    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        steps, units, epochs = 4, 4, 1
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
        untrained = model.evaluate(x_val, y_val, verbose=0)[1]
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs,
                            batch_size=64, verbose=2, shuffle=False)
        histories[name] = [untrained] + history.history["val_accuracy"]
    figure, ax = plt.subplots(figsize=(6, 4))
    plot_accuracy(ax, histories, chance=0.5, x=range(epochs + 1),
                  title=f"first > last? (T = {steps})")
    path = save_figure(figure, "runs/ex01/accuracy.png")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
