"""ex05's oracles, for the grader: the architecture made of Keras's own layers (Embedding,
Bidirectional(LSTM), GlobalAveragePooling1D, Dense), the graded training data, the held-out
test split and the accuracy of trained weights on it. Never loaded by a student's process.
"""
from __future__ import annotations

import numpy as np

from rnnkit import sentiment
from rnnkit.datasets import reviews


def keras_model(kind, sizes, mask_zero=True):
    import keras
    from keras import layers

    ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(sizes["vocabulary_size"], sizes["embedding_dim"],
                         mask_zero=mask_zero)(ids)                              # (N, T, E)
    if kind == "rnn":
        x = layers.Bidirectional(layers.LSTM(sizes["units"], use_cudnn=False))(x)  # (N, 2H)
    else:
        x = layers.GlobalAveragePooling1D()(x)                                  # (N, E)
        x = layers.Dense(sizes["units"], activation="relu")(x)                  # (N, H)
    return keras.Model(ids, layers.Dense(1, activation="sigmoid")(x))           # (N, 1)


def keras_weight_shapes(kind, sizes):
    return [list(np.shape(w)) for w in keras_model(kind, sizes).get_weights()]


def keras_predict(kind, sizes, weights, batches, mask_zero=True):
    model = keras_model(kind, sizes, mask_zero)
    model.set_weights(weights)
    return [np.asarray(model(ids, training=False)) for ids in batches]


def keras_twins(kind, sizes, weights, batches):
    """P(positive) of the architecture with (masked) and without a mask (unmasked)."""
    return {name: keras_predict(kind, sizes, weights, batches, mask_zero=mask_zero)
            for name, mask_zero in (("masked", True), ("unmasked", False))}


def training_data():
    """The graded training reviews as ids (n_train, T) int32 and labels (n_train,)."""
    n = sentiment.GRADED["rnn"]["n_train"]
    train = reviews.load_split("train")
    return sentiment.token_ids(train["text"][:n]).astype("int32"), train["label"][:n]


def held_out_split(seed=None):
    """The kit's test split (`seed` None), or one drawn with `seed` (unknown to the student's
    process) from the same held-out combinations."""
    return reviews.load_split("test") if seed is None else \
        reviews.generate_reviews(reviews.SPLITS["test"][0], 1_000_003 + seed, test=True)


def scored_accuracy(kind, sizes, weights, split, mask_zero=True):
    """Accuracies of trained weights loaded into Keras's own layers, on `split`."""
    batch = [sentiment.token_ids(split["text"])]
    probabilities = keras_predict(kind, sizes, weights, batch, mask_zero=mask_zero)[0]
    return sentiment.accuracy_by_subset(probabilities, split["label"], split["order_dependent"])
