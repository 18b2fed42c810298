"""Probes of ex08 (image captioning): run in the student's process, return plain data.

A captioner's weights travel by layer name ({"conv1": [kernel, bias], ...}): the names are
part of the architecture the exercise fixes. `architecture` is that architecture as the kit
writes it; the loss and decoding probes use it (with the student's cell), so that a mistake
in `build_captioner` is paid in its own checks only, and the checks in
`tests/grading/test_ex08.py` build it on Keras's own LSTMCell as the twin.
`stand_in` is True when the grader found the student's ex03 LSTMCell wrong or unfinished:
Keras's LSTMCell is then used in its place.
"""
import numpy as np

from rnnkit.probes import cells

FILTERS = (16, 32)


def vocabulary_size():
    from rnnkit.datasets import shapes
    from rnnkit.decoding import TokenTable

    return len(TokenTable(shapes.WORDS))


def architecture(cell, vocab_size, units, embed_dim):
    """The captioner the exercise fixes (see build_captioner's docstring), around `cell`."""
    import keras
    from keras import layers

    from rnnkit.datasets import shapes

    side = shapes.IMAGE_SIZE
    images = keras.Input((side, side, 3), name="images")
    tokens = keras.Input(shape=(None,), name="tokens", dtype="int32")
    seen = images
    for layer in (layers.Rescaling(1.0 / 255),
                  layers.Conv2D(FILTERS[0], 3, padding="same", activation="relu", name="conv1"),
                  layers.MaxPooling2D(2),
                  layers.Conv2D(FILTERS[1], 3, padding="same", activation="relu", name="conv2"),
                  layers.GlobalMaxPooling2D()):
        seen = layer(seen)                                                # ends (N, F2)
    state = [layers.Dense(units, activation="tanh", name="init_h")(seen),
             layers.Dense(units, name="init_c")(seen)]                    # [h_0, c_0]
    words = layers.Embedding(vocab_size, embed_dim, name="embedding")(tokens)
    hidden = layers.RNN(cell, return_sequences=True, name="decoder")(words, initial_state=state)
    return keras.Model([images, tokens], layers.Dense(vocab_size, name="logits")(hidden))


def named_weights(model) -> dict:
    """{layer name: [arrays]} of every layer that has weights."""
    return {layer.name: [np.asarray(w) for w in layer.get_weights()]
            for layer in model.layers if layer.weights}


def load_named(model, weights: dict):
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    return model


def captioner(module, stand_in, weights, units, embed_dim):
    """The kit's architecture around the student's LSTMCell (or the stand-in), loaded."""
    cell = cells.cell_class(module, "LSTMCell", stand_in)(units)
    return load_named(architecture(cell, vocabulary_size(), units, embed_dim), weights)


def probe_caption_ids(module, captions, max_words):
    return np.asarray(module.caption_ids(list(captions), max_words=max_words))


def probe_teacher_forcing(module, sequences):
    import keras

    return [keras.ops.convert_to_numpy(a) for a in module.teacher_forcing(sequences)]


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


def probe_train(module, stand_in, settings):
    """Train with the module's train_captioner on the train split (framed by the kit, so a
    mistake in caption_ids is not paid twice); return the trained weights by layer name.
    Only training images and their captions are made here: never the test split."""
    from rnnkit.datasets import shapes
    from rnnkit.decoding import PAD, START, STOP, TokenTable
    from rnnkit.sandbox import standins

    table = TokenTable(shapes.WORDS)
    cell = cells.cell_class(module, "LSTMCell", stand_in)
    if not stand_in:
        standins.one_step(cell)    # an unfinished cell is "not started", not a later error
    images, captions = shapes.generate(settings["config"], "train", n=settings["n_train"])
    framed = np.full((len(captions), settings["max_words"] + 2), PAD, np.int32)
    for k, caption in enumerate(shapes.pick_captions(captions, seed=settings["seed"])):
        ids = [START] + table.encode(caption.split()) + [STOP]
        framed[k, :len(ids)] = ids
    model, losses = module.train_captioner(
        cell, images, framed, epochs=settings["epochs"], batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"], units=settings["units"], seed=settings["seed"])
    return {"weights": named_weights(model), "losses": [float(x) for x in losses]}
