# %% [markdown]
# # ex08 — Captioning an image: one-to-many, start and stop tokens, teacher forcing
#
# **Problem shape: one-to-many.** One input (an image) -> a sequence of words whose length
# the network decides itself, by emitting a stop token.
#
# Dimension letters, used in every docstring below: N batch, S image side (32), H decoder
# units, E embedding size, V vocabulary size, T caption steps, L maximum generated length.
#
# The data (`rnnkit.datasets.shapes`, also the tfds builder `rnnkit_shapes`): small rendered
# images of one to three objects (size, colour, shape) with captions in a small grammar,
# several phrasings per image: "a large red circle", "there is a large red circle",
# "a large circle in red"; "a large red circle left of a small blue square". Twelve
# (size, colour, shape) combinations never appear in training; every test image holds
# one, so the test split measures whether the model *composes* what it learned.
# The graded training uses the simpler configuration, one object per image; `main()` also
# trains on the relations (one to three objects).
#
# ## The model: an encoder, and a decoder that starts from what the encoder saw
#
#     f    = GlobalMaxPool(conv2(MaxPool(conv1(image / 255))))   (N, 32) what is there
#     h_0  = tanh(f W_h + b_h),   c_0 = f W_c + b_c               (N, H) each
#     x_t  = Embed(w_{t-1}),   (h_t, c_t) = LSTM(x_t, h_{t-1}, c_{t-1}),   s_t = h_t W_o + b_o
#     p(w_t | image, w_<t) = softmax(s_t)                         (N, V)
#
# The image enters only through the initial state: the LSTM must carry it for the
# whole caption. A caption is framed by two extra tokens, `<start>` (fed in at t = 1,
# there is no previous word yet) and `<stop>` (the model's way to say "done"); padding is id 0.
#
# **Teacher forcing.** In training the decoder is fed the *true* previous word, not its
# own guess: for the framed caption w = [<start>, w_1, ..., w_n, <stop>, <pad>, ...],
#
#     inputs  = w[:, :-1],   targets = w[:, 1:],   mask = (targets != <pad>)
#     loss    = - sum_{mask} log p(target | image, inputs) / sum(mask)     (masked NLL)
#
# Each real token (the `<stop>` included: the model must learn when to stop) counts once;
# padding counts nowhere. **Greedy decoding** then feeds the model its own choice,
# w_t = argmax p(. | image, w_<t), from `<start>` until it picks `<stop>` or L words.
# The loop itself is shared by the generative exercises (`rnnkit.decoding.generate`);
# you write the step it repeats and the choice it makes.
#
# ## BLEU (Papineni et al., 2002)
#
# Corpus BLEU-4 compares generated captions with all the reference phrasings of each image:
#
#     p_n  = sum_i sum_g min(count_hyp_i(g), max_r count_ref_ir(g))  /  sum_i (#n-grams of hyp_i)
#     BP   = 1 if c > r else exp(1 - r / c)      c = total hypothesis length,
#            r = sum over i of the reference length closest to len(hyp_i) (the shorter on ties)
#     BLEU = BP * exp(mean_{n=1..4} log p_n)     (0 when some p_n or c is 0)
#
# Clipping stops "a a a a" from scoring on "a"; the brevity penalty stops one safe word
# from scoring high precision. Write the cells from ex03 yourself: this exercise builds on
# your `LSTMCell` (passed in as `cell_class`; if it is not finished, the grader uses Keras's
# own `LSTMCell` in its place and says so). Outside `main()` Keras's LSTM layers are refused.

# %%
import os
import sys
from collections import Counter
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex08_captioning.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers, ops

from rnnkit.datasets import shapes
from rnnkit.decoding import PAD, START, STOP, TokenTable, generate, masked_nll

if __package__:
    from .ex03_gated_cells import LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import LSTMCell

TABLE = TokenTable(shapes.WORDS)       # ids: 0 <pad>, 1 <start>, 2 <stop>, then the words
UNITS, EMBED, FILTERS = 64, 16, (16, 32)
MAX_LENGTH = 8                          # generated tokens, <stop> included (single objects)
GRADED = {"config": "single", "n_train": 2400, "max_words": 6, "epochs": 6,
          "batch_size": 32, "learning_rate": 1e-2}   # the graded training, fixed by the kit


# %% [markdown]
# ## 1. Captions as framed id sequences, and teacher forcing

# %%
def caption_ids(captions, table=TABLE, max_words=GRADED["max_words"]):
    """Frame and pad captions: [<start>, words..., <stop>, <pad>, ...].

    Inputs:
    - captions: N strings of words separated by single spaces.
    - table: the TokenTable of the words.
    - max_words: the longest caption allowed (ValueError naming the caption if one is longer).

    Returns:
    - ids: (N, max_words + 2) int32.
    """
    # BEGIN SOLUTION
    framed = np.full((len(captions), max_words + 2), PAD, np.int32)   # (N, T + 1)
    for k, caption in enumerate(captions):
        words = caption.split()
        if len(words) > max_words:
            raise ValueError(f"caption {caption!r} has {len(words)} words, more than "
                             f"max_words={max_words}")
        ids = [START] + table.encode(words) + [STOP]
        framed[k, :len(ids)] = ids
    return framed
    # END SOLUTION


def teacher_forcing(sequences):
    """Split framed sequences into decoder inputs, targets and the mask of real targets.

    Called inside a tf.function during training (train_captioner's step calls caption_loss,
    which calls it, on a symbolic tensor): write it with keras.ops, not NumPy.

    Inputs:
    - sequences: (N, T + 1) int, as caption_ids returns them (a symbolic int32 tensor in
      training).

    Returns a tuple of:
    - inputs: (N, T), the sequences without their last step.
    - targets: (N, T), the sequences without their first step.
    - mask: (N, T) bool, True where the target is not <pad>.
    """
    # BEGIN SOLUTION
    sequences = ops.convert_to_tensor(sequences, "int32")
    inputs, targets = sequences[:, :-1], sequences[:, 1:]                 # (N, T) each
    return inputs, targets, ops.not_equal(targets, PAD)
    # END SOLUTION


# %% [markdown]
# ## 2. The captioner
#
# A functional Keras model with two inputs and fixed layer names: the grader reads your
# trained weights by these names and loads them into the same architecture built from
# Keras's own layers, so build exactly what the docstring lists.

# %%
def build_captioner(cell_class, vocab_size=len(TABLE), units=UNITS, embed_dim=EMBED):
    """The encoder-decoder captioner, as a keras.Model([images, tokens]) -> logits.

    Layers, in this order and with these names:
        Rescaling(1 / 255)
        "conv1"     Conv2D(FILTERS[0], 3, padding="same", relu), then MaxPooling2D(2)
        "conv2"     Conv2D(FILTERS[1], 3, padding="same", relu), then GlobalMaxPooling2D
        "init_h"    Dense(units, tanh) -> h_0 (N, H);   "init_c"  Dense(units) -> c_0 (N, H)
        "embedding" Embedding(vocab_size, embed_dim) of the tokens      (N, T, E)
        "decoder"   RNN(cell_class(units), return_sequences=True), initial state [h_0, c_0]
        "logits"    Dense(vocab_size)                                    (N, T, V)

    Inputs:
    - cell_class: an LSTM cell class called as cell_class(units) (state [h, c]).
    - vocab_size, units, embed_dim: V, H, E.

    Returns:
    - model: a keras.Model whose inputs are images (N, S, S, 3) pixel values 0..255, named
      "images", and tokens (N, T) int32 decoder inputs, named "tokens"; its output is the
      logits (N, T, V).
    """
    # BEGIN SOLUTION
    images = keras.Input((shapes.IMAGE_SIZE, shapes.IMAGE_SIZE, 3), name="images")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = layers.Rescaling(1.0 / 255)(images)                                # (N, S, S, 3)
    x = layers.Conv2D(FILTERS[0], 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2)(x)                                         # (N, S/2, S/2, F1)
    x = layers.Conv2D(FILTERS[1], 3, padding="same", activation="relu", name="conv2")(x)
    features = layers.GlobalMaxPooling2D()(x)                             # (N, F2)
    h0 = layers.Dense(units, activation="tanh", name="init_h")(features)   # (N, H)
    c0 = layers.Dense(units, name="init_c")(features)                     # (N, H)
    embedded = layers.Embedding(vocab_size, embed_dim, name="embedding")(tokens)  # (N, T, E)
    decoded = layers.RNN(cell_class(units), return_sequences=True,
                         name="decoder")(embedded, initial_state=[h0, c0])  # (N, T, H)
    logits = layers.Dense(vocab_size, name="logits")(decoded)             # (N, T, V)
    return keras.Model([images, tokens], logits, name="captioner")
    # END SOLUTION


def caption_loss(captioner, images, sequences):
    """The teacher-forced masked negative log-likelihood of framed captions.

    Use teacher_forcing and rnnkit.decoding.masked_nll(logits, targets, mask). Called inside a
    tf.function during training (train_captioner's step), on symbolic tensors: write it with
    keras.ops, not NumPy.

    Inputs:
    - captioner: a model from build_captioner.
    - images: (N, S, S, 3) float32.
    - sequences: (N, T + 1) int framed ids.

    Returns:
    - loss: a scalar tensor, the mean NLL per real target token.
    """
    # BEGIN SOLUTION
    inputs, targets, mask = teacher_forcing(sequences)                    # (N, T) each
    images = ops.convert_to_tensor(images, "float32")                     # (N, S, S, 3)
    logits = captioner([images, inputs], training=True)                   # (N, T, V)
    return masked_nll(logits, targets, mask)
    # END SOLUTION


# %% [markdown]
# ## 3. Greedy decoding
#
# At generation time there is no true previous word: the decoder runs one step at a time
# on its own output. `encoder_of` (given) returns the part of the captioner that maps
# images to [h_0, c_0]; the other layers are reached by name.

# %%
def encoder_of(captioner):
    """keras.Model: images (N, S, S, 3) -> [h_0, c_0], each (N, H), sharing the weights."""
    return keras.Model(captioner.inputs[0], [captioner.get_layer("init_h").output,
                                             captioner.get_layer("init_c").output])


def decoder_step(captioner, token_ids, states):
    """One decoder step on the previous tokens.

    Uses the captioner's "embedding" layer, the cell inside its "decoder" layer and its
    "logits" layer.

    Inputs:
    - captioner: a model from build_captioner.
    - token_ids: (N,) int.
    - states: [h, c], each (N, H).

    Returns a tuple of:
    - logits: (N, V).
    - states: the new [h, c].
    """
    # BEGIN SOLUTION
    embedded = captioner.get_layer("embedding")(token_ids)                # (N, E)
    output, states = captioner.get_layer("decoder").cell(embedded, states)  # (N, H)
    return captioner.get_layer("logits")(output), states                  # (N, V)
    # END SOLUTION


def greedy_choice(logits):
    """The most likely token of each row.

    Inputs:
    - logits: (N, V).

    Returns:
    - ids: (N,) int.
    """
    # BEGIN SOLUTION
    return np.argmax(logits, axis=-1)
    # END SOLUTION


def greedy_captions(captioner, images, max_length=MAX_LENGTH):
    """Greedy decoding with rnnkit.decoding.generate, from <start> to <stop> or max_length.

    The loop ends once every row has emitted <stop>, so L is the longest caption (max_length
    if a row never ends).

    Inputs:
    - captioner: a model from build_captioner.
    - images: (N, S, S, 3).
    - max_length: the most tokens generated, <stop> included.

    Returns:
    - ids: (N, L) int32, L <= max_length, as generate returns them: each row's words and its
      <stop>, then <pad>; no <start>.
    """
    # BEGIN SOLUTION
    states = encoder_of(captioner)(np.asarray(images, "float32"))         # [(N, H), (N, H)]
    return generate(lambda ids, s: decoder_step(captioner, ids, s), list(states), START,
                    STOP, max_length, greedy_choice)
    # END SOLUTION


# %% [markdown]
# ## 4. BLEU-4 and exact match

# %%
def ngrams(tokens, n):
    """The n-grams of a token list, counted.

    Inputs:
    - tokens: a list of tokens.
    - n: the n-gram length.

    Returns:
    - a Counter of the n-grams (tuples of n tokens); empty if len(tokens) < n.
    """
    # BEGIN SOLUTION
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    # END SOLUTION


def corpus_bleu(references, hypotheses, max_n=4):
    """Corpus BLEU with uniform weights over n = 1..max_n and the brevity penalty.

    Inputs:
    - references: one list per hypothesis of reference token lists (at least one).
    - hypotheses: token lists (possibly empty); ValueError if the two lengths differ.
    - max_n: the longest n-gram.

    Returns:
    - a float in [0, 1]; 0.0 when the hypotheses are empty or some p_n is 0.
    """
    # BEGIN SOLUTION
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    hyp_length = ref_length = 0
    for refs, hyp in zip(references, hypotheses):
        hyp_length += len(hyp)
        ref_length += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]  # closest
        for n in range(1, max_n + 1):
            clip = Counter()
            for ref in refs:
                clip |= ngrams(ref, n)                                    # max count per ref
            counts = ngrams(hyp, n)
            matches[n - 1] += sum(min(c, clip[g]) for g, c in counts.items())
            totals[n - 1] += sum(counts.values())
    if hyp_length == 0 or np.any(matches == 0):
        return 0.0
    penalty = 1.0 if hyp_length > ref_length else np.exp(1.0 - ref_length / hyp_length)
    return float(penalty * np.exp(np.mean(np.log(matches / totals))))
    # END SOLUTION


def exact_match(references, hypotheses):
    """Fraction of hypotheses equal to one of their references (token lists)."""
    return float(np.mean([list(h) in [list(r) for r in refs]
                          for refs, h in zip(references, hypotheses)]))


# %% [markdown]
# ## 5. Training (given) and evaluation
#
# `train_captioner` minimises your `caption_loss` with Adam, in a `tf.function` whose
# batches all have one shape (the last partial batch is dropped), so it is traced once.
# The grader trains your captioner with exactly this function and the `GRADED` settings,
# then scores the weights itself on the test split: images whose combinations the model
# never saw, and whose captions never reach your process.

# %%
def train_captioner(cell_class, images, sequences, *, epochs=GRADED["epochs"],
                    batch_size=GRADED["batch_size"], learning_rate=GRADED["learning_rate"],
                    units=UNITS, seed=0, verbose=False):
    """Build a captioner (seeded) and train it with teacher forcing.

    Inputs: images (N, S, S, 3); sequences (N, T + 1) framed ids.
    Returns: (captioner, losses): the mean training loss of every epoch.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    captioner = build_captioner(cell_class, len(TABLE), units)
    optimizer = keras.optimizers.Adam(learning_rate)
    images, sequences = np.asarray(images, "float32"), np.asarray(sequences, "int32")

    @tf.function
    def train_step(x, s):
        with tf.GradientTape() as tape:
            loss = caption_loss(captioner, x, s)
        gradients = tape.gradient(loss, captioner.trainable_weights)
        optimizer.apply_gradients(zip(gradients, captioner.trainable_weights))
        return loss

    order_rng, losses = np.random.default_rng(seed), []
    for epoch in range(epochs):
        order = order_rng.permutation(len(images))
        batches = [order[k:k + batch_size]
                   for k in range(0, len(order) - batch_size + 1, batch_size)]
        losses.append(float(np.mean([train_step(images[b], sequences[b]) for b in batches])))
        if verbose:
            print(f"  epoch {epoch + 1:2d}  loss {losses[-1]:.3f}", flush=True)
    return captioner, losses


def evaluate(captioner, images, captions, max_length=MAX_LENGTH):
    """Greedy captions of the images, scored against every phrasing of each image.

    Returns: {"bleu": corpus BLEU-4, "exact": exact-match rate, "generated": N strings}.
    """
    generated = [TABLE.decode(row, join=None) for row in greedy_captions(captioner, images, max_length)]
    references = [[c.split() for c in options] for options in captions]
    return {"bleu": corpus_bleu(references, generated),
            "exact": exact_match(references, generated),
            "generated": [" ".join(words) for words in generated]}


def plot_captions(axes, images, generated, references):
    """Each image on its Axes, titled with the generated caption marked "right" (one of the
    references; green, bold) or "WRONG" (red, italic: readable without colour) above the
    first reference, in 8 pt. Returns the axes."""
    import textwrap

    for ax, image, caption, options in zip(np.ravel(axes), images, generated, references):
        right = caption in options
        ax.imshow(image)
        ax.set_title(textwrap.fill(("right: " if right else "WRONG: ") + caption, 30) + "\n"
                     + textwrap.fill(f"(ref: {options[0]})", 30), fontsize=8,
                     color="green" if right else "red",
                     fontweight="bold" if right else "normal",
                     fontstyle="normal" if right else "italic")
        ax.set_axis_off()
    return axes


# %% [markdown]
# ## 6. Run it
#
# `python -m exercises.ex08_captioning` trains on single objects (the graded setting),
# then on one to three objects with their relations, and saves a grid of test images with
# generated and reference captions for each under runs/ex08/. A few minutes on 2 cores.
# Expect the relations to be harder: the whole scene must pass through one (N, H) state.

# %%
def run(config, epochs, n_train, max_words, rows=4, cols=6, cell_class=LSTMCell):
    import matplotlib.pyplot as plt

    from rnnkit.plots import save_figure

    images, captions = shapes.generate(config, "train", n=n_train)
    sequences = caption_ids(shapes.pick_captions(captions), max_words=max_words)
    print(f"{config}: {n_train} training images, {epochs} epochs", flush=True)
    captioner, _ = train_captioner(cell_class, images, sequences, epochs=epochs, verbose=True)
    for split in ("validation", "test"):
        test_images, test_captions = shapes.generate(config, split)
        scores = evaluate(captioner, test_images, test_captions, max_length=max_words + 2)
        print(f"  {split:10s} BLEU-4 {scores['bleu']:.3f}  exact match {scores['exact']:.0%}"
              f"  ({'seen' if split == 'validation' else 'unseen'} combinations)")
    figure, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 3.4 * rows))
    plot_captions(axes, test_images, scores["generated"], test_captions)
    lines = max(ax.get_title().count("\n") + 1 for ax in np.ravel(axes))
    figure.set_size_inches(2.8 * cols, rows * (2.9 + 0.16 * lines))   # every title line fits
    figure.suptitle(f"{config}: test images (unseen combinations), greedy captions")
    print(f"  saved {save_figure(figure, f'runs/ex08/captions_{config}.png')}")


def main():
    import matplotlib

    matplotlib.use("Agg")
    from rnnkit.mains import small_budget, working_cell

    small = small_budget()  # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
    lstm_cell = working_cell(LSTMCell)
    run("single", epochs=1 if small else GRADED["epochs"],
        n_train=300 if small else GRADED["n_train"], max_words=GRADED["max_words"],
        cell_class=lstm_cell)
    run("relations", epochs=1 if small else 30, n_train=300 if small else 4000,
        max_words=shapes.MAX_WORDS, rows=3, cols=5, cell_class=lstm_cell)


if __name__ == "__main__":
    main()
