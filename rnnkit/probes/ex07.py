"""Probes of ex07 (character-level generation): run in the student's process, return plain
data. The checks in `tests/grading/test_ex07.py` compute the same things with Keras's own
layers and their own NumPy, in the grader, and compare.

`stand_in`: the grader found the student's ex03 LSTMCell wrong or unfinished, so Keras's
LSTMCell is used in its place (the report says so).
"""
import numpy as np

from rnnkit.probes import cells

UNITS = 8                        # the small models of the function-level checks


def probe_pairs(module, chars, texts, length):
    from rnnkit.decoding import TokenTable

    inputs, targets = module.teacher_forcing_pairs(TokenTable(chars), list(texts), int(length))
    return {"inputs": np.asarray(inputs), "targets": np.asarray(targets)}


def probe_greedy(module, logits):
    return np.asarray(module.greedy(logits))


def probe_distributions(module, function, logits, parameters):
    """[module.<function>(logits, parameter) for each parameter], as arrays."""
    allowed = {"temperature_probabilities", "top_k_probabilities", "top_p_probabilities"}
    if function not in allowed:
        raise ValueError(f"function must be one of {sorted(allowed)}, received {function!r}")
    return [np.asarray(getattr(module, function)(logits.copy(), parameter))
            for parameter in parameters]


def probe_sample(module, probabilities, draw_seed):
    """Two draws with Generators seeded alike, and one more draw from the first Generator."""
    first = np.random.default_rng(draw_seed)
    once = np.asarray(module.sample(probabilities.copy(), first))
    again = np.asarray(module.sample(probabilities.copy(), np.random.default_rng(draw_seed)))
    return {"once": once, "again": again,
            "next": np.asarray(module.sample(probabilities.copy(), first))}


def small_model(cell_class, vocab_size, weights):
    """char_lm(cell_class(UNITS), V) with `weights` loaded (built for (N, T, V) inputs)."""
    from rnnkit import char_lm

    model = char_lm.char_lm(cell_class(UNITS), vocab_size)
    model.build((None, None, vocab_size))
    model.set_weights(weights)
    return model


class GumbelChooser:
    """Sampling from softmax(logits) by the Gumbel-max trick, with its own seeded noise:
    the same ids for the same logits and seed, wherever it runs (probe or grader)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def __call__(self, logits):
        logits = np.asarray(logits, dtype="float64")
        return np.argmax(logits + self.rng.gumbel(size=logits.shape), axis=-1)


def probe_lm_step(module, vocab_size, weights, tokens, stand_in=False):
    """lm_step over `tokens` (N, T) column by column from a zero state: logits per step."""
    model = small_model(cells.cell_class(module, "LSTMCell", stand_in), vocab_size, weights)
    state = [np.zeros((len(tokens), UNITS), "float32") for _ in range(2)]
    logits = []
    for t in range(tokens.shape[1]):
        step_logits, state = module.lm_step(model, tokens[:, t].copy(), state)
        logits.append(np.asarray(step_logits))
    return {"logits": np.stack(logits, axis=1), "state": [np.asarray(s) for s in state]}


def probe_generate(module, chars, weights, n, max_length, chooser_seed, stand_in=False):
    """generate_text with the kit's own Gumbel chooser (so only the loop is judged)."""
    from rnnkit.decoding import TokenTable

    table = TokenTable(chars)
    model = small_model(cells.cell_class(module, "LSTMCell", stand_in), len(table), weights)
    texts = module.generate_text(model, table, GumbelChooser(chooser_seed), n=int(n),
                                 max_length=int(max_length))
    return [str(text) for text in texts]


def probe_seeded_generation(module, chars, weights, options, seeds, n, stand_in=False):
    """generate_text with make_chooser(seed) for each seed in turn: the samples."""
    from rnnkit.decoding import TokenTable

    table = TokenTable(chars)
    model = small_model(cells.cell_class(module, "LSTMCell", stand_in), len(table), weights)
    return [[str(text) for text in module.generate_text(
        model, table, module.make_chooser(seed=int(seed), **options), n=int(n))]
        for seed in seeds]


def probe_train(module, chars, texts, stand_in=False, validation=None):
    """Train the graded language model with the kit's code on `texts` (ids by the order of
    `chars`), with the fixed seed and budget; return the trained weights (no timing:
    references reproduce byte for byte). With `validation` (a self-check: the public
    sentences), return instead the trained model's `char_lm.evaluate` figures."""
    from rnnkit import char_lm
    from rnnkit.decoding import TokenTable
    from rnnkit.sandbox import standins

    factory = cells.cell_class(module, "LSTMCell", stand_in)
    if not stand_in:
        standins.one_step(factory)   # an unfinished cell is "not started", not a later error
    table = TokenTable(chars)
    model, _ = char_lm.train_char_lm(factory, module.teacher_forcing_pairs, list(texts), table,
                                     seed=0)
    if validation is None:
        return {"weights": [np.asarray(w) for w in model.get_weights()]}
    return char_lm.evaluate(model, table, list(validation), list(texts))
