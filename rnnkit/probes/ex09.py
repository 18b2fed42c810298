"""Probes of ex09 (seq2seq with a stop token): run in the student's process, return plain data.

The decoding probes drive the student's searches with a toy decoder made from a logit table
(plain data from the grader): the state is a code of the whole prefix fed so far, so a search
that mixes up which state belongs to which hypothesis gets other numbers. The checks in
`tests/grading/test_ex09.py` compute the same searches themselves and compare, in the grader.
"""
import numpy as np

from rnnkit.probes import cells
from rnnkit.probes.graph import in_graph

START, STOP = 1, 2                 # rnnkit.decoding's ids, as every table of the exercise uses


def toy_step(table):
    """step(tokens (N,), [codes (N,)]) -> (table[new codes] (N, V), [new codes]); table (K, V).

    new code = (code * V + token + 1) mod K: distinct prefixes get distinct codes (until K)."""
    table = np.asarray(table, dtype="float64")

    def step(tokens, states):
        codes = (np.asarray(states[0], "int64") * table.shape[1]
                 + np.asarray(tokens, "int64") + 1) % table.shape[0]
        return table[codes].copy(), [codes]
    return step


def hypotheses(found) -> list:
    """[[tokens], log_prob, score] for each (tokens, log_prob, score) the student returned."""
    return [[[int(t) for t in tokens], float(log_prob), float(score)]
            for tokens, log_prob, score in found]


def probe_teacher_forcing(module, sequences, length):
    inputs, targets = module.teacher_forcing([np.array(s, dtype="int32") for s in sequences],
                                             length)
    return {"inputs": np.asarray(inputs), "targets": np.asarray(targets)}


def probe_loss(module, targets, logits):
    return float(np.asarray(module.seq2seq_loss(targets, logits)))


def probe_loss_in_graph(module, targets, logits):
    """seq2seq_loss as fit calls it (train_seq2seq compiles it as the loss): inside a
    tf.function, the targets cast to float32 by Keras, the logits float32."""
    return float(in_graph(module.seq2seq_loss, targets, logits, dtypes=["float32", "float32"]))


def probe_greedy(module, table, codes, max_length):
    ids, log_probs = module.greedy_search(toy_step(table), [np.asarray(codes)], START, STOP,
                                          max_length)
    return {"ids": np.asarray(ids), "log_probs": np.asarray(log_probs, dtype="float64")}


def probe_beam(module, table, code, max_length, width, alpha):
    return hypotheses(module.beam_search(toy_step(table), [np.array([code])], START, STOP,
                                         max_length, width, alpha))


def probe_exhaustive(module, table, code, max_length, alpha, top):
    return hypotheses(module.exhaustive_search(toy_step(table), [np.array([code])], START, STOP,
                                               max_length, alpha, top))


def _cell(module, stand_in):
    from rnnkit.sandbox import standins

    cell = cells.cell_class(module, "LSTMCell", stand_in)
    if not stand_in:
        standins.one_step(cell)   # an unfinished cell is "not started", not a later error
    return cell


def probe_model(module, weights, sources, decoder_inputs, stand_in=False):
    """build_seq2seq with the given weights (by layer name): the training model's logits
    (N, T, V), and the same logits from the encoder and the step model, step by step."""
    import keras

    keras.utils.set_random_seed(0)
    model, encoder, step_model = module.build_seq2seq(_cell(module, stand_in))
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    forced = np.asarray(model([sources, decoder_inputs], training=False))
    states = [np.asarray(s) for s in cells.as_list(encoder(sources, training=False))]
    stepped = []
    for t in range(np.shape(decoder_inputs)[1]):
        outputs = step_model([decoder_inputs[:, t:t + 1], *states], training=False)
        stepped.append(np.asarray(outputs[0]))
        states = [np.asarray(s) for s in outputs[1:]]
    return {"forced": forced, "stepped": np.stack(stepped, axis=1)}


def probe_train(module, pairs, stand_in=False, seed=0, test=None):
    """Train with the exercise's own train_seq2seq on `pairs` with the graded budget
    (GRADED_TRAINING); return the trained weights by layer name. With `test` (a self-check:
    public (source, target) pairs), return instead the exact match of the trained model's
    greedy translations of them, by the exercise's own greedy_search."""
    from rnnkit import seq2seq

    budget = {k: v for k, v in seq2seq.GRADED_TRAINING.items() if k != "n"}
    model, encoder, step_model, _ = module.train_seq2seq(_cell(module, stand_in),
                                                         [tuple(p) for p in pairs], seed=seed,
                                                         **budget)
    if test is None:
        return {"weights": {name: [np.asarray(w) for w in model.get_layer(name).get_weights()]
                            for name in seq2seq.LAYER_NAMES}}   # no timings: references reproduce
    sources, targets = zip(*test)
    states = seq2seq.encoder_states(encoder, list(sources))
    ids, _ = module.greedy_search(seq2seq.model_step(step_model), states, START, STOP,
                                  seq2seq.TARGET_LENGTH)
    decoded = ["".join(seq2seq.TARGET.decode(row)) for row in np.asarray(ids)]
    wrong = [k for k, (d, t) in enumerate(zip(decoded, targets)) if d != t]
    return {"exact": 1.0 - len(wrong) / len(targets),
            "first": [sources[wrong[0]], targets[wrong[0]], decoded[wrong[0]]] if wrong else None}
