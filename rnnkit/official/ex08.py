"""ex08's oracles, for the grader: the captioner the exercise fixes built on Keras's own
LSTMCell (`architecture`: build_captioner's answer, so never in a student kit), its logits,
loss (with the classic mistakes' values) and greedy captions, captions framed as ids, the
grader's own corpus BLEU, the training check's data (the course secret's in the official
grade) and the scores of trained weights on the validation and test splits. Never loaded by
a student's process.
"""
from __future__ import annotations

import numpy as np

from rnnkit.datasets import shapes
from rnnkit.decoding import PAD, START, STOP, TokenTable, generate
from rnnkit.grader import inputs
from rnnkit.grader.compare import fail
from rnnkit.probes import ex08 as probes

UNITS, EMBED = 8, 4                      # the fixed small model of the function checks
TRAINED_EMBED, TRAINED_MAX_LENGTH = 16, 8
TABLE = TokenTable(shapes.WORDS)
FILTERS = (16, 32)


def architecture(cell, vocab_size, units, embed_dim):
    """The captioner the exercise fixes (see build_captioner's docstring), around `cell`."""
    import keras
    from keras import layers

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


def keras_model(units, embed_dim, weights=None):
    import keras

    model = architecture(keras.layers.LSTMCell(units), len(TABLE), units, embed_dim)
    return model if weights is None else probes.load_named(model, weights)


def weight_shapes(units, embed_dim):
    """{layer name: [weight shapes]} of the architecture (what build_captioner must make)."""
    return {n: [list(np.shape(w)) for w in v]
            for n, v in probes.named_weights(keras_model(units, embed_dim)).items()}


def frame(captions, max_words, words=shapes.WORDS):
    """Captions framed as ids [<start>, words..., <stop>, <pad>...] (N, max_words + 2), with
    the ids of TokenTable(words)."""
    table = TokenTable(words)
    rows = [[START] + table.encode(caption.split()) + [STOP] for caption in captions]
    return np.array([row + [PAD] * (max_words + 2 - len(row)) for row in rows], np.int32)


def course_data(seed, config, n_train, max_words):
    """The training check's data: {"words": the vocabulary in the order that gives the ids,
    "images" (n_train, S, S, 3) and "sequences" (n_train, max_words + 2) to train on, and
    the splits scored after training, "validation" and "test" ({"images", "captions": every
    phrasing of each}). Seed 0: the kit's data set. A seed of the course secret: other
    images and phrasings, and the words' ids relabelled (<pad>, <start>, <stop> kept), so
    weights trained on the public ids describe everything with the wrong words."""
    words = shapes.WORDS
    if seed:
        rng = np.random.default_rng(seed)
        order = np.arange(len(words))
        while np.any(order == np.arange(len(words))):
            order = rng.permutation(len(words))
        words = tuple(np.array(words)[order])
    images, captions = shapes.generate(config, "train", n=n_train, seed=seed)
    data = {"words": list(words), "images": images,
            "sequences": frame(shapes.pick_captions(captions, seed=seed), max_words, words)}
    for split in ("validation", "test"):
        images, captions = shapes.generate(config, split, seed=seed)
        data[split] = {"images": images, "captions": [list(c) for c in captions]}
    return data


def small_weights(seed, stop_bias=None):
    """Seeded asymmetric weights of the small model, by layer name."""
    shapes_by_name = {name: [np.shape(w) for w in values] for name, values in
                      probes.named_weights(keras_model(UNITS, EMBED)).items()}
    weights = {name: [inputs.uniform(seed, f"{name}{k}", shape, -0.5, 0.5)
                      for k, shape in enumerate(shapes_by_name[name])]
               for name in shapes_by_name}
    if stop_bias is not None:
        weights["logits"][1][STOP] = stop_bias          # the logits bias of <stop>
    return weights


def keras_logits(weights, units, embed_dim, images, tokens):
    return np.asarray(keras_model(units, embed_dim, weights)([images, tokens]))


def nll(logits, targets, mask, per_caption=False):
    logits = logits.astype("float64")
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None].astype(int), -1)[..., 0]
    if per_caption:
        return float(np.mean(-(picked * mask).sum(1) / np.maximum(mask.sum(1), 1)))
    return float(-(picked * mask).sum() / max(mask.sum(), 1))


def keras_losses(weights, images, sequences):
    """{"right": the masked NLL, mistake sentence: the value that mistake gives}."""
    inputs_, targets = sequences[:, :-1], sequences[:, 1:]
    mask = targets != PAD
    logits = keras_logits(weights, UNITS, EMBED, images, inputs_)
    return {"right": nll(logits, targets, mask),
            "your loss also counts the <pad> positions: multiply by the mask":
                nll(logits, targets, np.ones_like(mask)),
            "your loss averages within each caption first: average over all real tokens":
                nll(logits, targets, mask, per_caption=True),
            "your targets are not shifted: the model is asked for the word it was just fed":
                nll(logits, inputs_, inputs_ != PAD),
            "your mask leaves out <stop>: the model never learns to stop":
                nll(logits, targets, mask & (targets != STOP)),
            "your loss is a sum over tokens, not their mean":
                nll(logits, targets, mask) * mask.sum()}


def keras_greedy(weights, units, embed_dim, images, max_length, never_stop=False):
    """(ids (N, L), L <= max_length, the smallest top-1/top-2 margin of each row's decisions).
    never_stop: the mistake of running all max_length steps and writing every choice, those
    after <stop> too (ids (N, max_length))."""
    import keras

    model = keras_model(units, embed_dim, weights)
    encoder = keras.Model(model.inputs[0], [model.get_layer("init_h").output,
                                            model.get_layer("init_c").output])
    embedding, cell = model.get_layer("embedding"), model.get_layer("decoder").cell
    output_layer, margins = model.get_layer("logits"), []

    def step(ids, states):
        output, states = cell(embedding(ids), states)
        return output_layer(output), states

    def choose(logits):
        top = np.sort(logits, axis=-1)
        margins.append(top[:, -1] - top[:, -2])
        return np.argmax(logits, axis=-1)

    states = [np.asarray(s) for s in encoder(images)]
    if never_stop:
        fed, columns = np.full(len(images), START), []
        for _ in range(max_length):
            logits, states = step(fed, states)
            fed = choose(np.asarray(logits))
            columns.append(fed)
        return np.stack(columns, 1).astype("int32"), None
    ids = generate(step, states, START, STOP, max_length, choose)
    decided = np.stack(margins, 1)                                        # (N, steps)
    alive = np.arange(decided.shape[1])[None, :] <= np.argmax(
        np.concatenate([ids, np.full((len(ids), 1), STOP)], 1) == STOP, axis=1)[:, None]
    return ids, np.where(alive, decided, np.inf).min(axis=1)


def greedy_mistakes(weights, units, embed_dim, images, max_length):
    """{mistake: the ids greedy_captions returns with it}: "start kept" (<start> written as
    the first column), "never stops" (every choice of max_length steps written, after <stop>
    too), "padded" (the right ids padded with <pad> to max_length columns)."""
    ids, _ = keras_greedy(weights, units, embed_dim, images, max_length)
    return {"start kept": np.concatenate([np.full((len(ids), 1), START, "int32"), ids], 1),
            "never stops": keras_greedy(weights, units, embed_dim, images, max_length,
                                        never_stop=True)[0],
            "padded": np.pad(ids, ((0, 0), (0, max_length - ids.shape[1])))}


def varied_stop_bias(seed, images, max_length):
    """A logits bias of <stop> under which the small model's greedy captions have the most
    different lengths (ties: mean length nearest max_length / 2): random small weights
    otherwise tend to stop at once or never, which would not test the feedback loop."""
    def spread(bias):
        ids, _ = keras_greedy(small_weights(seed, stop_bias=bias), UNITS, EMBED, images,
                              max_length)
        lengths = [list(row).index(STOP) + 1 if STOP in row else max_length + 1 for row in ids]
        return len(set(lengths)), -abs(np.mean(lengths) - max_length / 2)

    return max(np.linspace(-0.5, 1.5, 9), key=spread)


def bleu(references, hypotheses, max_n=4):
    """Corpus BLEU (Papineni et al., 2002), the grader's own: clipped n-gram counts summed
    over the corpus, uniform weights, brevity penalty with the closest reference lengths."""
    from collections import Counter

    def grams(tokens, n):
        return Counter(zip(*(tokens[k:] for k in range(n))))

    matches, totals, c, r = np.zeros(max_n), np.zeros(max_n), 0, 0
    for hyp, refs in zip(hypotheses, references):
        c += len(hyp)
        r += min(len(ref) for ref in refs if abs(len(ref) - len(hyp)) ==
                 min(abs(len(x) - len(hyp)) for x in refs))
        for n in range(1, max_n + 1):
            best = Counter()
            for ref in refs:
                best |= grams(ref, n)
            got = grams(hyp, n)
            matches[n - 1] += sum(min(k, best[g]) for g, k in got.items())
            totals[n - 1] += sum(got.values())
    if c == 0 or np.any(matches == 0):
        return 0.0
    return float(min(1.0, np.exp(1 - r / c)) * np.exp(np.mean(np.log(matches / totals))))


def trained_scores(weights, data, units):
    """{split: BLEU-4, exact match, first captions} of trained weights, loaded into the
    twin and decoded greedily here, on the validation (seen combinations) and test (unseen)
    splits of `data` (course_data), with its words' ids."""
    import keras

    expected = weight_shapes(units, TRAINED_EMBED)
    got = {n: [list(np.shape(w)) for w in v] for n, v in weights.items()}
    if got != expected:
        fail(f"the trained captioner's weights by layer do not fit the fixed architecture: "
             f"got {got}, expected {expected} (see build_captioner's docstring)")
    table = TokenTable(data["words"])
    scores = {}
    for split in ("validation", "test"):
        images, captions = data[split]["images"], data[split]["captions"]
        ids, _ = keras_greedy(weights, units, TRAINED_EMBED, images.astype("float32"),
                              TRAINED_MAX_LENGTH)
        hypotheses = [table.decode(row, join=None) for row in ids]
        references = [[c.split() for c in options] for options in captions]
        scores[split] = {"bleu": bleu(references, hypotheses),
                         "exact": float(np.mean([h in refs for h, refs in
                                                 zip(hypotheses, references)])),
                         "examples": [" ".join(h) for h in hypotheses[:3]]}
    keras.backend.clear_session()
    return scores
