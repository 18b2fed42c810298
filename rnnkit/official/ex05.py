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


def vocabulary_permutation(seed):
    """The course's relabelling of word ids (a permutation of 0 .. V-1 that keeps the padding
    id 0 and [UNK] 1 in place and moves every word): None for the public seed 0. Weights
    trained on the public ids read every word as another."""
    if seed == 0:
        return None
    rng = np.random.default_rng(seed)
    words = np.arange(2, sentiment.VOCABULARY_SIZE)
    moved = words
    while np.any(moved == words):
        moved = rng.permutation(words)
    return [0, 1] + [int(w) for w in moved]


def _ids(texts, permutation):
    ids = sentiment.token_ids(texts).astype("int32")
    return ids if permutation is None else np.asarray(permutation, "int32")[ids]


def training_data(seed=0, vocabulary=0):
    """The graded training reviews as ids (n_train, T) int32 and labels (n_train,): the
    kit's training split (seed 0), or reviews drawn from `seed` of the course secret, with
    the word ids relabelled by `vocabulary_permutation(vocabulary)`."""
    n = sentiment.GRADED["rnn"]["n_train"]
    train = reviews.load_split("train") if seed == 0 else \
        reviews.generate_reviews(n, 2_000_003 + seed)
    return _ids(train["text"][:n], vocabulary_permutation(vocabulary)), train["label"][:n]


def held_out(seed=0, vocabulary=0):
    """The reviews a trained model is scored on: {"ids", "label", "order_dependent"}: the
    kit's test split (seed 0), or test reviews drawn from `seed` (the same held-out
    combinations), ids relabelled as the training data's."""
    split = reviews.load_split("test") if seed == 0 else \
        reviews.generate_reviews(reviews.SPLITS["test"][0], 1_000_003 + seed, test=True)
    return {"ids": _ids(split["text"], vocabulary_permutation(vocabulary)),
            "label": split["label"], "order_dependent": np.asarray(split["order_dependent"], bool)}


def scored_accuracy(kind, sizes, weights, split, mask_zero=True):
    """Accuracies of trained weights loaded into Keras's own layers, on `split` (held_out)."""
    probabilities = keras_predict(kind, sizes, weights, [split["ids"]], mask_zero=mask_zero)[0]
    return sentiment.accuracy_by_subset(probabilities, split["label"], split["order_dependent"])
