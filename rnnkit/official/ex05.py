"""ex05's oracles, for the grader: the architecture made of Keras's own layers (Embedding,
Bidirectional(LSTM), GlobalAveragePooling1D, Dense), the graded training data, the held-out
test split and the accuracy of trained weights on it; and the classic mistakes the feedback
names (the model without a mask or with a backward direction that reads the padding first, a
vocabulary learnt with adapt). Never loaded by a student's process.
"""
from __future__ import annotations

import functools

import numpy as np

from rnnkit import sentiment
from rnnkit.datasets import reviews


def keras_model(kind, sizes, mask_zero=True, backward_masked=True):
    """The exercise's model of `kind` made of Keras's layers; `mask_zero=False`: the same
    without a mask; `backward_masked=False` (rnn): the classic mistake of a backward direction
    that runs over the reversed review without the mask, so it reads the padding first (the
    forward direction masked; weights in the Bidirectional order)."""
    import keras
    from keras import layers, ops

    ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(sizes["vocabulary_size"], sizes["embedding_dim"],
                         mask_zero=mask_zero)(ids)                              # (N, T, E)
    if kind == "rnn" and not backward_masked:
        forward = layers.LSTM(sizes["units"], use_cudnn=False)(x)               # (N, H)
        backward = layers.LSTM(sizes["units"], use_cudnn=False)(ops.flip(x, axis=1))  # no mask
        x = layers.Concatenate()([forward, backward])                           # (N, 2H)
    elif kind == "rnn":
        x = layers.Bidirectional(layers.LSTM(sizes["units"], use_cudnn=False))(x)  # (N, 2H)
    else:
        x = layers.GlobalAveragePooling1D()(x)                                  # (N, E)
        x = layers.Dense(sizes["units"], activation="relu")(x)                  # (N, H)
    return keras.Model(ids, layers.Dense(1, activation="sigmoid")(x))           # (N, 1)


def keras_weight_shapes(kind, sizes):
    return [list(np.shape(w)) for w in keras_model(kind, sizes).get_weights()]


def keras_predict(kind, sizes, weights, batches, mask_zero=True, backward_masked=True):
    model = keras_model(kind, sizes, mask_zero, backward_masked)
    model.set_weights(weights)
    return [np.asarray(model(ids, training=False)) for ids in batches]


def mistaken_twins(kind, sizes, weights, batches):
    """P(positive) of the architecture without a mask (unmasked), and for the rnn with its
    backward direction reading the padding first (backward_unmasked); the architecture itself
    is `keras_predict`."""
    variants = [("unmasked", {"mask_zero": False})]
    if kind == "rnn":
        variants.append(("backward_unmasked", {"backward_masked": False}))
    return {name: keras_predict(kind, sizes, weights, batches, **options)
            for name, options in variants}


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


def vectorizer_mistakes(vocabulary, sequence_length, texts):
    """[(sentence, ids (N, T))] of a TextVectorization that learnt its vocabulary with
    `adapt` instead of taking the given one: adapted on the given word list, on the training
    reviews, on the test reviews. adapt orders words by count (ties in reverse alphabetical
    order: Keras sorts them so), so each gives its own ids."""
    from keras import layers

    sources = (
        ("your ids are those of adapt() on the given word list: adapt numbers words by "
         "frequency (here all once, so in reverse alphabetical order), not in the order "
         "given; pass the list as TextVectorization(vocabulary=...)", tuple(vocabulary)),
        ("your ids are those of a vocabulary adapt()ed on the training reviews: adapt numbers "
         "words by frequency, so the ids are not the given vocabulary's; pass the list as "
         "TextVectorization(vocabulary=...)", "train"),
        ("your ids are those of a vocabulary adapt()ed on the TEST reviews: the test split "
         "must never shape the preprocessing (that leaks it into training), and adapt numbers "
         "words by frequency; pass the given list as TextVectorization(vocabulary=...)",
         "test"))
    found = []
    for sentence, source in sources:
        layer = layers.TextVectorization(vocabulary=list(_adapted(source)), output_mode="int",
                                         output_sequence_length=int(sequence_length))
        found.append((sentence, np.asarray(layer(list(texts)))))
    return found


@functools.lru_cache(maxsize=4)
def _adapted(source):
    """The words (without '' and '[UNK]') TextVectorization.adapt learns from `source`: a
    tuple of words, or the name of a split of the kit's reviews (adapted once per process)."""
    from keras import layers

    corpus = list(source) if isinstance(source, tuple) else reviews.load_split(source)["text"]
    layer = layers.TextVectorization(output_mode="int")
    layer.adapt(list(corpus))
    return tuple(layer.get_vocabulary()[2:])
