# %% [markdown]
# # ex10 (bonus) — Attention and depth: additive attention, residual stacks
#
# Dimension letters, in every docstring below: N batch, T query steps (the decoder's),
# S key steps (the encoder's), Dq query features, Dv value features, U attention units,
# H recurrent units, L layers of a stack.
#
# **The bottleneck.** ex09's decoder knows the input only through the encoder's final state:
# one vector of H numbers for the whole sentence. Attention (Bahdanau, Cho and Bengio, 2015)
# lets every decoder step look back at ALL the encoder's outputs h_1 .. h_S and take a
# weighted mix of them, with weights the step chooses itself.
#
# **Additive (Bahdanau) attention.** For a query q_t (the decoder's state at step t) and the
# keys k_s = values v_s = h_s (the encoder's outputs):
#
#     e_ts  = v^T tanh(q_t W_q + k_s W_k)      W_q (Dq, U), W_k (Dv, U), v (U,)   scores (N, T, S)
#     a_ts  = softmax over s of e_ts          (masked keys get weight 0)         weights (N, T, S)
#     c_t   = sum_s a_ts h_s                  the context vector                  (N, T, Dv)
#
# The softmax runs over the KEYS axis (s): for each query step the weights sum to 1 over the
# encoder's steps. A padded encoder step (mask False) must get weight exactly 0: its score is
# pushed down by 1e9 before the softmax, as Keras does. Keras's own
# `keras.layers.AdditiveAttention(use_scale=True)` computes the same thing from already
# projected queries and keys (q W_q, k W_k) with `scale` = v: the grader compares yours
# with it. Write yours: outside `main()` the grader refuses Keras's attention layers.
#
# **Depth.** Stacking recurrent layers makes a deep network in a second direction: the
# gradient that reaches the first layer has crossed every layer above it, and shrinks (or
# grows) with each. A residual connection adds each layer's input to its output,
#
#     x^(l+1) = x^(l) + RNN_l(x^(l))
#
# so d x^(l+1) / d x^(l) = I + (the layer's Jacobian): the identity carries the gradient
# down the stack unchanged, the same remedy for depth that the cell state's additive update
# (ex03) is for time. The stack here uses your ex03 cell (`LSTMCell`); if yours is
# unfinished or wrong, the grader uses Keras's own cell instead and says so.
#
# Why LSTM layers: each one's output h = o * tanh(c), with the output gate o near 0.5 at
# initialisation, shrinks what it passes up, and so the gradient passed down. Measured
# here (Keras's LSTM, 16 units, glorot/orthogonal initialisation, seeds 0-2, 64 sequences
# of 16 steps): the gradient norm reaching the first layer is 0.41-0.58 with one layer,
# 0.02-0.03 with 4 and below 5e-4 with 8 without residual connections, and 0.5-1.7 with 8
# with them. (A stack of vanilla tanh layers, ex01's, does not vanish that way at these
# depths: 0.7-8 at every depth from 1 to 32 -- its tanh stays near its linear part.)
#
# Trained, the same story: on the delayed copy below (512 sequences of 12 steps, 3 epochs of
# Adam 1e-2, clipnorm 1, seeds 0-4), a plain stack of 8 LSTM layers stayed at the error of
# predicting 0 (0.833) with every seed, while the residual stack reached 0.43-0.56.

# %%
import os
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex10_attention.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from rnnkit.decoding import PAD, masked_nll  # noqa: E402
from rnnkit.seq2seq import (ATTENTION_TRAINING, ATTENTION_UNITS, EMBED_DIM,  # noqa: E402
                            SOURCE_LENGTH, TARGET, UNITS, encode_sources, encode_targets,
                            seq2seq_layers)

if __package__:
    from .ex03_gated_cells import LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import LSTMCell

MASKED_SCORE = 1.0e9        # subtracted from the scores of masked keys (Keras's value)
STACK_UNITS = 16            # H of every layer of the residual stacks


# %% [markdown]
# ## 1. Additive attention as a Keras layer
#
# `BahdanauAttention(units)([...])` is called as `layer(query, values, mask=None)` and
# returns `(context, weights)`. Create the weights in `build` in this order, so that
# `set_weights` interchanges with the grader's (W_q, W_k, then v):
#
#     query_kernel (Dq, U), key_kernel (Dv, U), score_vector (U,)    all glorot_uniform

# %%
@keras.saving.register_keras_serializable(package="rnnkit")
class BahdanauAttention(layers.Layer):
    """Additive attention: scores v^T tanh(q W_q + k W_k), softmax over the keys, context."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        self.units = units
        self.supports_masking = True      # `mask` is the keys' mask, used in call()

    def build(self, query_shape, values_shape):
        """Create query_kernel (Dq, U), key_kernel (Dv, U) and score_vector (U,) with
        `add_weight` (glorot_uniform), in this order.

        Inputs:
        - query_shape: (N, T, Dq); values_shape: (N, S, Dv).
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('BahdanauAttention.build is not written yet: Create query_kernel (Dq, U), key_kernel (Dv, U) and score_vector (U,) with `add_weight` (glorot_uniform), in this order.')

    def call(self, query, values, mask=None):
        """The context vectors and the attention weights, as the equations above write them.

        Inputs:
        - query: (N, T, Dq), the decoder's states q_t.
        - values: (N, S, Dv), the encoder's outputs h_s (keys and values both).
        - mask: None or (N, S) bool, False at padded encoder steps.

        Returns a tuple of:
        - context: (N, T, Dv), c_t = sum_s a_ts h_s.
        - weights: (N, T, S), a_ts; each row sums to 1 over the unmasked s.
        """
        # YOUR CODE (replace this line)
        raise NotImplementedError('BahdanauAttention.call is not written yet: The context vectors and the attention weights, as the equations above write them.')

    def compute_mask(self, query, values, mask=None):
        return None                       # the context has no padded steps of its own

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# %% [markdown]
# ## 2. A deep stack of your recurrent layers, with and without residual connections
#
# The stack's layers are named so the grader can load its weights into the same stack made
# of Keras's own layers:
#
#     inputs (N, T, D) -> Dense(H, name="project")                 x^(0)   (N, T, H)
#     for l = 0 .. L-1:   y = RNN(cell_class(H), return_sequences=True, name=f"rnn_{l}")(x^(l))
#                         x^(l+1) = x^(l) + y  (residual)   or   y  (plain)
#     -> Dense(K, name="readout")                                   (N, T, K)
#
# The projection makes the input H wide, so that x^(l) + y adds arrays of one shape.

# %%
def build_stack(cell_class, depth, residual, input_dim=1, output_dim=1, units=STACK_UNITS):
    """The stack above as a keras.Model, residual or plain.

    Inputs:
    - cell_class: a recurrent cell class called as cell_class(H) (your ex03 LSTMCell).
    - depth: L, a positive int, the number of recurrent layers "rnn_0" .. "rnn_{L-1}".
    - residual: bool, whether each layer's input is added to its output.
    - input_dim: D; output_dim: K; units: H.

    Returns:
    - model: a keras.Model taking (N, T, D) and returning (N, T, K).
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int, received depth={depth!r}")
    inputs = keras.Input((None, input_dim), name="inputs")
    x = layers.Dense(units, name="project")(inputs)                     # (N, T, H)
    # YOUR CODE (replace this line)
    raise NotImplementedError('build_stack is not written yet: The stack above as a keras.Model, residual or plain.')
    return keras.Model(inputs, layers.Dense(output_dim, name="readout")(x))


def first_layer_gradient_norm(model, x, y):
    """How much gradient reaches the bottom of the stack.

    Inputs:
    - model: a keras.Model from build_stack.
    - x: (N, T, D) float32, the inputs.
    - y: (N, T, K) float32, the targets.

    Returns:
    - norm: a float, the L2 norm of the gradient of the mean squared error
      mean((model(x) - y)^2) with respect to ALL the weights of the layer "rnn_0" together
      (kernel, recurrent_kernel, bias: the square root of the sum of their squared entries).
    """
    import tensorflow as tf

    # YOUR CODE (replace this line)
    raise NotImplementedError('first_layer_gradient_norm is not written yet: How much gradient reaches the bottom of the stack.')


# %% [markdown]
# ## 3. ex09's date task again, with attention
#
# ex09's model again (`rnnkit.seq2seq.seq2seq_layers`: the same embeddings, LSTM encoder and
# decoder, logits), with two changes: the encoder now returns ALL its outputs h_1 .. h_S as
# well as its final states, and after the decoder RNN each decoder state q_t attends to them:
#
#     source (N, S) -> source_embedding -> encoder -> outputs (N, S, H), *final states
#     decoder_inputs (N, T) -> target_embedding -> decoder (from the final states)
#                                                      -> sequences q (N, T, H)
#     context, _ = BahdanauAttention(U, name="attention")(q, outputs, mask=source != PAD)
#     logits = Dense(V, name="logits")(Dense(H, tanh, name="combine")(concat[q, context]))
#
# The sources are LEFT-padded (ex09): the mask keeps attention off the padding. Greedy
# decoding needs the encoder's outputs at every step, so the step model takes them (and
# the mask) as inputs and also returns the step's attention weights (the heatmap of
# `main()`). The grader loads its weights into the same model built from Keras's own
# layers (LSTM, AdditiveAttention) by the layer names above.
#
# Measured (greedy exact match on 500 unseen dates, seeds 0-9): trained on ex09's dates
# with ex09's number of Adam steps (188: 6,016 pairs once in batches of 32, less fit time
# than ex09's 6,000 pairs four times in batches of 128), this model decodes 75-93 % of the
# dates exactly (9 seeds of 10 above 86 %); ex09's model, whose decoder sees the input
# only through the encoder's final state, 49-63 %. The grader trains yours the same way
# and asks for 68 %.

# %%
def build_attention_seq2seq(cell_class, units=UNITS, embed_dim=EMBED_DIM,
                            attention_units=ATTENTION_UNITS):
    """The training model, the encoder and the one-step decoder, sharing their layers.

    Inputs:
    - cell_class: a cell class called as cell_class(units) (your ex03 LSTMCell).
    - units, embed_dim, attention_units: H, E, U.

    Returns a tuple of:
    - model: [source (N, S), decoder_inputs (N, T)] -> logits (N, T, V).
    - encoder: source (N, S) -> [outputs (N, S, H), *final states (N, H) each].
    - step_model: [token (N, 1), *states (N, H) each, outputs (N, S, H), mask (N, S) bool]
      -> [logits (N, V), *new states, attention weights (N, 1, S)].
    """
    parts = seq2seq_layers(cell_class, units, embed_dim)
    parts["encoder"] = layers.RNN(cell_class(units), return_sequences=True, return_state=True,
                                  name="encoder")
    # YOUR CODE (replace this line)
    raise NotImplementedError('build_attention_seq2seq is not written yet: The training model, the encoder and the one-step decoder, sharing their layers.')


def teacher_forced(pairs):
    """sources (N, S), decoder_inputs (N, T) = [START, y.., PAD..], targets (N, T) =
    [y.., STOP, PAD..] of (source, target) pairs (ex09's teacher forcing)."""
    from rnnkit.seq2seq import TARGET_LENGTH

    sequences = encode_targets([target for _, target in pairs])
    decoder_inputs = np.full((len(pairs), TARGET_LENGTH), PAD, dtype="int32")   # (N, T)
    targets = np.full((len(pairs), TARGET_LENGTH), PAD, dtype="int32")          # (N, T)
    for row, sequence in enumerate(sequences):
        decoder_inputs[row, :len(sequence) + 1] = [TARGET.START, *sequence]
        targets[row, :len(sequence) + 1] = [*sequence, TARGET.STOP]
    return encode_sources([source for source, _ in pairs]), decoder_inputs, targets


def train_attention_seq2seq(cell_class, pairs, epochs=1, seed=0, batch_size=32,
                            learning_rate=2e-2):
    """Train build_attention_seq2seq(cell_class) on (source, target) pairs by teacher forcing
    (Adam, clipnorm 1, seeded, ex09's masked NLL). Returns (model, encoder, step_model).
    The grader trains with rnnkit.seq2seq.ATTENTION_TRAINING: ex09's 188 Adam steps, on
    6,016 pairs each seen once."""
    sources, decoder_inputs, targets = teacher_forced(pairs)
    keras.utils.set_random_seed(seed)
    model, encoder, step_model = build_attention_seq2seq(cell_class)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=lambda y, logits: masked_nll(logits, y, ops.not_equal(y, PAD)),
                  jit_compile=False)
    model.fit([sources, decoder_inputs], targets, batch_size=batch_size, epochs=epochs,
              verbose=0, shuffle=True)
    return model, encoder, step_model


def greedy_translate(encoder, step_model, texts):
    """Greedy decoding of `texts`: (the translations, attention weights (N, T_out, S))."""
    from rnnkit.seq2seq import TARGET_LENGTH

    sources = encode_sources(texts)
    outputs, *states = [np.asarray(a) for a in encoder(sources, training=False)]
    mask, fed = sources != PAD, np.full(len(texts), TARGET.START, dtype="int32")
    tokens, attended = [], []
    for _ in range(TARGET_LENGTH):
        logits, *states, weights = [np.array(o) for o in step_model(
            [fed[:, None], *states, outputs, mask], training=False)]
        logits[:, [PAD, TARGET.START]] = -np.inf           # never generated (ex09)
        fed = np.argmax(logits, axis=-1).astype("int32")
        tokens.append(fed)
        attended.append(weights[:, 0])
    return ["".join(TARGET.decode(row)) for row in np.stack(tokens, axis=1)], \
        np.stack(attended, axis=1)


# %% [markdown]
# ## 4. Run it
#
# `python -m exercises.ex10_attention` compares your attention layer with Keras's on a small
# batch, then plots under runs/ex10/ the gradient norm reaching the first layer against the
# depth of the stack, with and without residual connections; then trains the seq2seq with
# attention (ATTENTION_TRAINING, a few seconds) and draws its attention weights for one test
# date: which input characters each output character looked at (alignment.png).

# %%
def delayed_copy(n, steps=16, lag=2, seed=0):
    """x (n, steps, 1) of random +-1; y = x delayed by `lag` steps (zeros before)."""
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(n, steps, 1)).astype("float32")  # (N, T, 1)
    y = np.zeros_like(x)
    y[:, lag:] = x[:, :-lag]
    return x, y


def gradient_vs_depth(cell_class=LSTMCell, depths=(1, 2, 4, 8, 16), seeds=(0, 1, 2)):
    """{"plain": [..], "residual": [..]}: the median over seeds of first_layer_gradient_norm
    at initialisation, for each depth."""
    x, y = delayed_copy(64)
    results = {}
    for residual in (False, True):
        norms = []
        for depth in depths:
            found = []
            for seed in seeds:
                keras.utils.set_random_seed(seed)
                found.append(first_layer_gradient_norm(build_stack(cell_class, depth, residual),
                                                       x, y))
            norms.append(float(np.median(found)))
        results["residual" if residual else "plain"] = norms
    return results


def main(depths=(1, 2, 4, 8, 16)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.mains import small_budget, working_cell
    from rnnkit.plots import plot_curves, save_figure

    seeds = (0, 1, 2)
    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        depths, seeds = (1, 2, 4), (0,)
    lstm_cell = working_cell(LSTMCell)
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 5)).astype("float32")                # (N, T, Dq)
    values = rng.normal(size=(2, 6, 7)).astype("float32")               # (N, S, Dv)
    mask = np.arange(6)[None, :] < np.array([[6], [4]])                 # (N, S)
    ours = BahdanauAttention(4)
    context, weights = ours(query, values, mask=mask)
    q_w, k_w, v = [np.asarray(w) for w in ours.get_weights()]
    keras_layer = layers.AdditiveAttention(use_scale=True)             # its one weight: v
    keras_inputs = [query @ q_w, values, values @ k_w]                  # query, value, key
    keras_layer(keras_inputs, mask=[None, mask])                        # builds it
    keras_layer.set_weights([v])
    keras_context, keras_weights = keras_layer(keras_inputs, mask=[None, mask],
                                               return_attention_scores=True)
    print("attention: largest difference from keras.layers.AdditiveAttention: "
          f"{np.abs(np.asarray(context) - np.asarray(keras_context)).max():.2e} (context), "
          f"{np.abs(np.asarray(weights) - np.asarray(keras_weights)).max():.2e} (weights)")

    results = gradient_vs_depth(lstm_cell, depths=depths, seeds=seeds)
    for name, norms in results.items():
        print(f"{name:>8s}: " + ", ".join(f"depth {d}: {g:.3g}" for d, g in zip(depths, norms)))
    figure, ax = plt.subplots(figsize=(6, 4))
    plot_curves(ax, results, xlabel="layers in the stack", ylabel="gradient norm at rnn_0",
                title="gradient reaching the first layer", x=list(depths), logy=True)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(depths), [str(depth) for depth in depths])
    print(f"saved {save_figure(figure, 'runs/ex10/gradient_vs_depth.png')}")

    from rnnkit.datasets import dates

    budget = dict(ATTENTION_TRAINING)
    if small_budget():
        budget.update(n=640, epochs=1)               # 20 whole batches of 32
    pairs = dates.pairs("train", budget.pop("n"))
    _, encoder, step_model = train_attention_seq2seq(lstm_cell, pairs, **budget)
    sources, targets = zip(*dates.pairs("test", 200, seed=1))
    decoded, attended = greedy_translate(encoder, step_model, list(sources))
    exact = np.mean([d == t for d, t in zip(decoded, targets)])
    print(f"seq2seq with attention: greedy exact match {exact:.0%} of {len(targets)} test dates "
          f"after {budget['epochs']} epoch(s) on {len(pairs)} pairs")
    source, output = sources[0], decoded[0]
    rows = len(output) + 1                                              # the characters, <stop>
    weights = attended[0, :rows, SOURCE_LENGTH - len(source):]          # (T_out, len(source))
    figure, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(source) + 2), 4))
    image = ax.imshow(weights, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), [c if c != " " else "_" for c in source])
    ax.set_yticks(range(rows), [*output, "<stop>"])
    ax.set_xlabel("input characters (_ a space)")
    ax.set_ylabel("output characters")
    ax.set_title(f"attention: {source!r} -> {output!r}")
    figure.colorbar(image, ax=ax, label="attention weight")
    print(f"saved {save_figure(figure, 'runs/ex10/alignment.png')}")


if __name__ == "__main__":
    main()
