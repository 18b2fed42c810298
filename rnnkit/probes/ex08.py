"""Probes of ex08 (image captioning): run in the student's process, return plain data.

A captioner's weights travel by layer name ({"conv1": [kernel, bias], ...}): the names are
part of the architecture the exercise fixes. Every probe builds the student's own
`build_captioner` (the architecture as the kit writes it is build_captioner's answer, so it
lives with the grader's oracles, never here); the checks mark which depend on it, so that a
mistake in it is named once, where it is found.
`stand_in` is True when the grader found the student's ex03 LSTMCell wrong or unfinished:
Keras's LSTMCell is then used in its place.
"""
import numpy as np

from rnnkit.probes import cells
from rnnkit.probes.graph import in_graph

def vocabulary_size():
    from rnnkit.datasets import shapes
    from rnnkit.decoding import TokenTable

    return len(TokenTable(shapes.WORDS))


def named_weights(model) -> dict:
    """{layer name: [arrays]} of every layer that has weights."""
    return {layer.name: [np.asarray(w) for w in layer.get_weights()]
            for layer in model.layers if layer.weights}


def load_named(model, weights: dict):
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    return model


def captioner(module, stand_in, weights, units, embed_dim):
    """The student's build_captioner around their LSTMCell (or the stand-in), loaded."""
    cell = cells.cell_class(module, "LSTMCell", stand_in)
    model = module.build_captioner(cell, vocabulary_size(), units, embed_dim)
    return load_named(model, weights)


def probe_caption_ids(module, captions, max_words):
    return np.asarray(module.caption_ids(list(captions), max_words=max_words))


def probe_teacher_forcing(module, sequences):
    import keras

    return [keras.ops.convert_to_numpy(a) for a in module.teacher_forcing(sequences)]


def probe_teacher_forcing_in_graph(module, sequences):
    """teacher_forcing as caption_loss calls it in train_captioner's tf.function: on a
    symbolic int32 tensor."""
    return list(in_graph(module.teacher_forcing, sequences, dtypes=["int32"]))


def probe_architecture(module, stand_in, units, embed_dim):
    """{layer name: [weight shapes]} of a freshly built captioner."""
    cell = cells.cell_class(module, "LSTMCell", stand_in)
    model = module.build_captioner(cell, vocabulary_size(), units, embed_dim)
    return {name: [list(np.shape(w)) for w in values]
            for name, values in named_weights(model).items()}


def probe_logits(module, stand_in, weights, units, embed_dim, images, tokens):
    """Logits of the student's build_captioner, loaded with the named weights."""
    cell = cells.cell_class(module, "LSTMCell", stand_in)
    model = module.build_captioner(cell, vocabulary_size(), units, embed_dim)
    return np.asarray(load_named(model, weights)([images, tokens]))


def probe_loss(module, stand_in, weights, units, embed_dim, images, sequences):
    model = captioner(module, stand_in, weights, units, embed_dim)
    return float(module.caption_loss(model, images, sequences))


def probe_loss_in_graph(module, stand_in, weights, units, embed_dim, images, sequences):
    """caption_loss as train_captioner calls it: inside a tf.function, on symbolic float32
    images and int32 sequences."""
    model = captioner(module, stand_in, weights, units, embed_dim)
    return float(in_graph(lambda x, s: module.caption_loss(model, x, s), images, sequences,
                          dtypes=["float32", "int32"]))


def probe_greedy(module, stand_in, weights, units, embed_dim, images, max_length):
    model = captioner(module, stand_in, weights, units, embed_dim)
    return np.asarray(module.greedy_captions(model, images, max_length=max_length))


def probe_bleu(module, cases):
    """corpus_bleu of each case {"references", "hypotheses", "max_n"}: a float, or the
    exception's one-line description."""
    results = []
    for case in cases:
        try:
            results.append(float(module.corpus_bleu(case["references"], case["hypotheses"],
                                                    max_n=case["max_n"])))
        except NotImplementedError:
            raise                          # a stub: the whole check is "not started"
        except Exception as error:  # noqa: BLE001 - reported per case by the check
            results.append(f"{type(error).__name__}: {' '.join(str(error).split())[:200]}")
    return results


def probe_train(module, stand_in, settings, images, sequences, evaluation=None):
    """Train with the module's train_captioner on `images` and their framed caption ids
    `sequences` (framed by the grader, so a mistake in caption_ids is not paid twice); return
    the trained weights by layer name. With `evaluation` (a self-check: the public
    validation and test splits, {split: {"images", "captions"}} and "words"), return instead
    BLEU-4 (nltk's) and exact match of the trained model's greedy captions (its own
    greedy_captions) on each split (a self-check's recordings hold no weights)."""
    from rnnkit.sandbox import standins

    cell = cells.cell_class(module, "LSTMCell", stand_in)
    if not stand_in:
        standins.one_step(cell)    # an unfinished cell is "not started", not a later error
    model, losses = module.train_captioner(
        cell, np.asarray(images), np.asarray(sequences), epochs=settings["epochs"],
        batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
        units=settings["units"], seed=settings["seed"])
    if evaluation is None:
        return {"weights": named_weights(model), "losses": [float(x) for x in losses]}
    from nltk.translate.bleu_score import corpus_bleu

    from rnnkit.decoding import TokenTable

    table, scores = TokenTable(evaluation["words"]), {}
    for split in ("validation", "test"):
        ids = np.asarray(module.greedy_captions(model, np.asarray(
            evaluation[split]["images"], "float32"), max_length=settings["max_length"]))
        hypotheses = [table.decode(row, join=None) for row in ids]
        references = [[c.split() for c in options] for options in evaluation[split]["captions"]]
        scores[split] = {"bleu": float(corpus_bleu(references, hypotheses)),
                         "exact": float(np.mean([h in refs for h, refs in
                                                 zip(hypotheses, references)])),
                         "examples": [" ".join(h) for h in hypotheses[:3]]}
    return scores
