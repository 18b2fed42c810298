# %% [markdown]
# # ex05 — Sentiment analysis: when word order decides the label
#
# **Problem shape: many-to-one.** A review of T tokens goes in, one probability that it is
# positive comes out.
#
# Dimension letters, used in every docstring below:
# N batch size, T tokens per review (after padding), V vocabulary size (with the padding id
# 0 and the unknown-word id 1), E embedding size, H units of each RNN direction.
#
# ## The data: reviews whose words do not tell you the label
#
# `rnnkit_reviews` (a tfds data set of the kit; generator in `rnnkit/datasets/reviews.py`)
# holds short reviews built from negation, contrast and intensifiers:
#
#     "the plot was not good"                          negative: "not" flips "good"
#     "the plot was dull but the acting was superb"    positive: after "but", the second wins
#     "although the plot was superb the acting was dull"   negative: "although" demotes
#     "the plot was very dull and the acting was good"     negative: "very" doubles "dull"
#
# Swap "dull" and "superb" in the second line and the label flips, yet the **bag of words**
# (which words, how often) is the same. Every test review for which some rearrangement of its
# words in the same template has the other label is tagged `order_dependent` (about 60 % of
# them): no model that ignores order can get both arrangements right, so on that subset a
# bag-of-words model sits near chance (50 %) while an RNN, which reads in order, can be near
# 100 %. The test split also pairs adjectives with aspects and modifiers never seen together
# in training ("the villain was never dull" when training only had "never dull" with other
# aspects and "the villain" with other adjectives), so memorising phrases does not work.
#
# ## 1. Tokens: `keras.layers.TextVectorization`
#
# Text -> lower case, punctuation stripped -> split on spaces -> an integer id per word,
# padded on the right with 0 (or truncated) to T ids. Id 0 is the padding `''` and id 1 is
# `[UNK]` (any word outside the vocabulary); the words of the vocabulary follow, in the
# order given. Give the vocabulary **explicitly** (`vocabulary=`) rather than calling
# `adapt`: adapt orders words by frequency and breaks ties in no fixed order, so ids would
# change from run to run and the grader could not compare them.
#
# ## 2. Embeddings and the mask
#
# `layers.Embedding(V, E, mask_zero=True)` maps each id to a learned vector (N, T) ->
# (N, T, E) and **also** produces a mask (N, T), true where the id is not 0. Keras hands the
# mask to the layers that follow: `RNN` skips masked steps (the state is carried over),
# `Bidirectional` gives each direction the same mask, `GlobalAveragePooling1D` averages over
# the real tokens only. Without it the padding is read as if it were a word, and a review's
# prediction changes with how much it was padded.
#
# ## 3. A bidirectional RNN of your own cells, and a bag-of-words baseline
#
#     ids (N, T) -> Embedding -> (N, T, E) -> Bidirectional(RNN(cell(H))) -> (N, 2H)
#                -> Dense(1, sigmoid) -> P(positive) (N, 1)
#
# The forward RNN's final state has read the review left to right, the backward one right
# to left; their concatenation is the summary the classifier reads. Use your LSTMCell from
# ex03 (the grader passes the cell class in: if your ex03 cell is not right, Keras's own
# LSTMCell stands in, and the report says so).
#
#     ids (N, T) -> Embedding -> (N, T, E) -> GlobalAveragePooling1D -> (N, E)
#                -> Dense(H, relu) -> Dense(1, sigmoid) -> P(positive) (N, 1)
#
# The baseline averages the word vectors: any permutation of the words gives the same
# average, so it sees exactly the bag of words. Its hidden layer can still learn that
# "not" with a positive word is negative in a one-clause review; what it cannot learn is
# *which* clause a "not", "very" or "but" belongs to.
#
# Write these yourself: outside `main()`, the grader refuses Keras's `LSTM`, `GRU` and their
# cells (use the ones you wrote in ex03).
#
# The training recipe (sizes, seed, budget) lives in `rnnkit/sentiment.py`: the grader
# trains your two models with it on the first 2000 training reviews (`main()` uses all 4000),
# then loads the trained weights into the same architecture made of Keras's own layers and
# measures accuracy on the test split itself.

# %%
import os
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex05_sentiment.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers

from rnnkit import sentiment  # noqa: E402
from rnnkit.datasets import reviews  # noqa: E402

if __package__:
    from .ex03_gated_cells import LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import LSTMCell


# %% [markdown]
# ## 1. Tokenisation

# %%
def make_vectorizer(vocabulary, sequence_length):
    """A TextVectorization layer with a fixed vocabulary and a fixed output length.

    Inputs:
    - vocabulary: list of V - 2 words (without '' and '[UNK]', which the layer adds as ids
      0 and 1); word k of the list gets id k + 2.
    - sequence_length: T; shorter texts are padded on the right with 0, longer ones cut.

    Returns:
    - a `layers.TextVectorization` mapping a list of N strings to ids (N, T) int64, after
      lower-casing and stripping punctuation (the layer's default standardisation).
    """
    # BEGIN SOLUTION
    return layers.TextVectorization(vocabulary=list(vocabulary), output_mode="int",
                                    output_sequence_length=sequence_length)
    # END SOLUTION


# %% [markdown]
# ## 2. The models

# %%
def build_rnn_classifier(cell_class, vocabulary_size, embedding_dim=sentiment.EMBEDDING_DIM,
                         units=sentiment.UNITS):
    """Embedding(mask_zero=True) -> Bidirectional(RNN(cell_class(units))) -> Dense(1, sigmoid).

    Inputs:
    - cell_class: a cell class called as cell_class(units) (your ex03 LSTMCell).
    - vocabulary_size, embedding_dim, units: V, E, H.

    Returns:
    - model: a functional keras.Model, ids (N, T) int of any length T -> P(positive) (N, 1).
      Its weights, in order: embedding (V, E), then the forward and the backward cell's
      weights, then the Dense kernel (2H, 1) and bias (1,).
    """
    # BEGIN SOLUTION
    ids = keras.Input(shape=(None,), dtype="int32")                         # (N, T)
    vectors = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)(ids)  # (N, T, E)
    summary = layers.Bidirectional(layers.RNN(cell_class(units)))(vectors)  # (N, 2H)
    probability = layers.Dense(1, activation="sigmoid")(summary)            # (N, 1)
    return keras.Model(ids, probability)
    # END SOLUTION


def build_bag_of_words(vocabulary_size, embedding_dim=sentiment.EMBEDDING_DIM,
                       units=sentiment.UNITS):
    """Embedding(mask_zero=True) -> GlobalAveragePooling1D -> Dense(H, relu) -> Dense(1, sigmoid).

    Inputs:
    - vocabulary_size, embedding_dim, units: V, E, H.

    Returns:
    - model: a functional keras.Model, ids (N, T) int of any length T -> P(positive) (N, 1),
      whose average runs over the real tokens only (the mask). Weights, in order: embedding
      (V, E), Dense kernel (E, H) and bias (H,), Dense kernel (H, 1) and bias (1,).
    """
    # BEGIN SOLUTION
    ids = keras.Input(shape=(None,), dtype="int32")                         # (N, T)
    vectors = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)(ids)  # (N, T, E)
    average = layers.GlobalAveragePooling1D()(vectors)                      # (N, E)
    hidden = layers.Dense(units, activation="relu")(average)                # (N, H)
    probability = layers.Dense(1, activation="sigmoid")(hidden)             # (N, 1)
    return keras.Model(ids, probability)
    # END SOLUTION


# %% [markdown]
# ## 3. Looking at the results

# %%
def misclassified(texts, labels, probabilities, count=5):
    """The `count` wrong predictions made with the most confidence, most confident first:
    a list of (text, true label 0/1, confidence in the wrong label)."""
    probabilities = np.asarray(probabilities).reshape(-1)                   # (N,)
    wrong = np.flatnonzero((probabilities > 0.5) != np.asarray(labels).astype(bool))
    confidence = np.abs(probabilities[wrong] - 0.5) + 0.5                   # in [0.5, 1]
    order = np.argsort(-confidence, kind="stable")[:count]
    return [(texts[wrong[k]], int(labels[wrong[k]]), float(confidence[k])) for k in order]


def confusion_matrix(labels, probabilities):
    """counts (2, 2): row = true label (neg, pos), column = predicted label."""
    predicted = (np.asarray(probabilities).reshape(-1) > 0.5).astype(int)
    counts = np.zeros((2, 2), int)
    np.add.at(counts, (np.asarray(labels).astype(int), predicted), 1)
    return counts


def plot_confusion_matrix(ax, counts, title="test split"):
    """The 2 x 2 counts as an image (white is 0) with the numbers written in. Returns ax."""
    ax.imshow(counts, cmap="Blues", vmin=0)     # a colour says how many, not how many more
    for (row, column), value in np.ndenumerate(counts):
        ax.text(column, row, str(value), ha="center", va="center",
                color="white" if value > counts.max() / 2 else "black")
    ax.set_xticks([0, 1], ["neg", "pos"])
    ax.set_yticks([0, 1], ["neg", "pos"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax


def plot_training_curves(ax, histories):
    """Training (solid, filled markers) and validation (dashed, hollow markers) accuracy per
    epoch for each model in histories {name: fit history}, one marker per model; chance
    (0.5) dotted. Returns ax."""
    for index, (name, history) in enumerate(histories.items()):
        color, marker = f"C{index}", "osD^v"[index % 5]     # models told apart in grey too
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        ax.plot(epochs, history["accuracy"], color=color, marker=marker, markersize=4,
                label=f"{name} train")
        if "val_accuracy" in history:
            ax.plot(epochs, history["val_accuracy"], color=color, marker=marker, markersize=4,
                    markerfacecolor="none", linestyle="--", label=f"{name} validation")
    ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="chance")
    ax.xaxis.get_major_locator().set_params(integer=True, min_n_ticks=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
    return ax


# %% [markdown]
# ## 4. Run it
#
# `python -m exercises.ex05_sentiment` loads the three splits with tfds (built offline the
# first time, a few seconds), trains both models on all 4000 training reviews, prints their
# accuracy overall and on the order-dependent subset, shows the RNN's most confident
# mistakes, and saves a confusion matrix and the training curves under runs/ex05/.
# Your own reviews: `reviews.read_review_folder("path/to/aclImdb", "train")` reads a folder
# in the layout of the public movie-review corpora (train/pos, train/neg, one review per
# file); the kit ships a tiny sample in data/samples/reviews/.

# %%
def load_split_with_tfds(split):
    """{"text": [...], "label": (N,), "order_dependent": (N,)} of rnnkit_reviews via tfds.

    Read as feature dictionaries (as_supervised=False): the default (text, label) pairs would
    drop the order_dependent tag."""
    import rnnkit.datasets

    examples = list(rnnkit.datasets.load("rnnkit_reviews", split, as_supervised=False)
                    .as_numpy_iterator())
    return {"text": [e["text"].decode("utf-8") for e in examples],
            "label": np.array([e["label"] for e in examples]),
            "order_dependent": np.array([e["order_dependent"] for e in examples])}


def main(rnn_epochs=6, bag_epochs=20):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.mains import small_budget, working_cell
    from rnnkit.plots import save_figure

    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        rnn_epochs, bag_epochs = 1, 1
    lstm_cell = working_cell(LSTMCell)
    data = {split: load_split_with_tfds(split) for split in ("train", "validation", "test")}
    vectorizer = make_vectorizer(reviews.VOCABULARY, reviews.SEQUENCE_LENGTH)
    ids = {split: np.asarray(vectorizer(d["text"])) for split, d in data.items()}   # (N, T)
    size = sentiment.VOCABULARY_SIZE
    builders = {"BiLSTM": lambda: build_rnn_classifier(lstm_cell, size),
                "bag of words": lambda: build_bag_of_words(size)}
    histories, probabilities = {}, {}
    for name, epochs in (("BiLSTM", rnn_epochs), ("bag of words", bag_epochs)):
        model, histories[name] = sentiment.fit_classifier(
            builders[name], ids["train"], data["train"]["label"], epochs=epochs,
            validation_data=(ids["validation"], data["validation"]["label"]))
        probabilities[name] = sentiment.predict_positive(model, ids["test"])       # (N,)
        scores = sentiment.accuracy_by_subset(probabilities[name], data["test"]["label"],
                                              data["test"]["order_dependent"])
        print(f"{name:>12s}: test accuracy {scores['overall']:.3f}, order-dependent "
              f"{scores['order_dependent']:.3f}, the rest {scores['order_independent']:.3f} "
              f"({histories[name]['seconds']:.1f} s)", flush=True)

    subset = np.flatnonzero(data["test"]["order_dependent"])
    for name in ("BiLSTM", "bag of words"):
        print(f"most confident mistakes of the {name} on order-dependent test reviews:")
        mistakes = misclassified([data["test"]["text"][k] for k in subset],
                                 data["test"]["label"][subset], probabilities[name][subset])
        for text, label, confidence in mistakes or [("(none)", None, None)]:
            print(f"  {text}" if label is None else f"  said {'neg' if label else 'pos'} "
                  f"with {confidence:.0%} confidence, truly {'pos' if label else 'neg'}: {text}")
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, name in zip(axes, ("BiLSTM", "bag of words")):
        plot_confusion_matrix(ax, confusion_matrix(data["test"]["label"], probabilities[name]),
                              title=name)
    print(f"saved {save_figure(figure, 'runs/ex05/confusion_matrix.png')}")
    figure, ax = plt.subplots(figsize=(8, 4))
    plot_training_curves(ax, histories)
    print(f"saved {save_figure(figure, 'runs/ex05/training_curves.png')}")


if __name__ == "__main__":
    main()
