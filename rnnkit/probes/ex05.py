"""Probes of ex05 (sentiment analysis): run in the student's process, return plain data.

`kind` is "rnn" (the student's `build_rnn_classifier` around their ex03 LSTMCell, or Keras's
standing in when the grader found that cell wrong) or "bag_of_words" (`build_bag_of_words`).
The checks in `tests/grading/test_ex05.py` build the same architecture from Keras's own
layers, load what comes back and compare or score it, in the grader. Token ids arrive here
already computed; test labels never do.
"""
import numpy as np

from rnnkit.probes import cells

KINDS = ("rnn", "bag_of_words")


def probe_vectorize(module, vocabulary, sequence_length, texts):
    """Token ids (N, T) of `texts` from the student's `make_vectorizer`."""
    vectorizer = module.make_vectorizer(list(vocabulary), int(sequence_length))
    return np.asarray(vectorizer(list(texts)))


def build(module, kind, sizes, stand_in=False):
    """The student's model of `kind` with sizes {"vocabulary_size", "embedding_dim", "units"}."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, received {kind!r}")
    if kind == "bag_of_words":
        return module.build_bag_of_words(sizes["vocabulary_size"], sizes["embedding_dim"],
                                         sizes["units"])
    cell = cells.cell_class(module, "LSTMCell", stand_in)
    return module.build_rnn_classifier(cell, sizes["vocabulary_size"], sizes["embedding_dim"],
                                       sizes["units"])


def probe_predict(module, kind, sizes, weights, batches, stand_in=False):
    """The student's model loaded with `weights`: its weight shapes, and P(positive) (N, 1)
    for each ids array in `batches` (None and the error when the weights do not fit)."""
    model = build(module, kind, sizes, stand_in)
    result = {"shapes": [list(np.shape(w)) for w in model.get_weights()],
              "predictions": None, "error": None}
    try:
        model.set_weights(weights)
    except Exception as error:  # noqa: BLE001 - judged by the grader from the shapes
        result["error"] = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
        return result
    result["predictions"] = [np.asarray(model(np.asarray(ids), training=False))
                             for ids in batches]
    return result


def probe_train(module, kind, sizes, x, y, stand_in=False, held_out=None):
    """Train the student's model of `kind` with the kit's graded recipe (`rnnkit.sentiment.
    GRADED`, seed 0) on ids x (N, T) and labels y (N,); return the trained weights, their
    shapes and the training loss per epoch. With `held_out` = {"ids", "label",
    "order_dependent"} (a self-check: the public test split), return instead the trained
    model's accuracies on it (a self-check's recordings hold no weights)."""
    from rnnkit import sentiment
    from rnnkit.sandbox import standins

    if kind == "rnn" and not stand_in:
        standins.one_step(cells.cell_class(module, "LSTMCell"))   # unfinished: "not started"
    model, history = sentiment.fit_classifier(lambda: build(module, kind, sizes, stand_in),
                                              np.asarray(x), np.asarray(y), seed=0,
                                              **sentiment.GRADED[kind])
    if held_out is None:
        return {"weights": [np.asarray(w) for w in model.get_weights()],
                "loss": [float(v) for v in history["loss"]]}
    probabilities = model.predict(np.asarray(held_out["ids"]), batch_size=500, verbose=0)
    return sentiment.accuracy_by_subset(probabilities, held_out["label"],
                                        held_out["order_dependent"])
