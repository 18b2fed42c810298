"""ex09's oracles, for the grader: its own decoding searches, the graded encoder-decoder
built from Keras's own layers, and the exact match of trained weights on test dates whose
targets never leave the grader. Never loaded by a student's process.

Each search takes a decoder `step(token_ids (N,), states) -> (logits (N, V), states)` whose states
are lists of arrays with one row per hypothesis, and follows the rules the exercises state:
<pad> (0) and <start> are never generated (log-probability -inf, the rest renormalised), a
hypothesis ends with <stop> or is cut at max_length tokens, score = log p / len^alpha with
len counting <stop>. Exhaustive search enumerates hypotheses with itertools and scores each
path on its own: it shares no search logic with any beam search. Each search can also run
its classic mistakes (SEARCH_MISTAKES), so the feedback can name the one a student's result
matches; a self-check reads their results on the public inputs from the recordings.
"""
from __future__ import annotations

import itertools

import numpy as np

from rnnkit import seq2seq
from rnnkit.datasets import dates
from rnnkit.grader.compare import fail
from rnnkit.probes.ex09 import START, STOP, toy_step

PAD = 0
N_TEST = 500                 # test dates scored after training (targets stay in the grader)


def log_probs(logits, start_id):
    """log softmax (N, V) float64 over every token but PAD and start_id (-inf there)."""
    logits = np.array(logits, dtype="float64")
    logits[:, [PAD, start_id]] = -np.inf
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def path_log_prob(step, states, start_id, tokens):
    """log p of one hypothesis `tokens`, from one row of states, step by step."""
    fed, total = np.array([start_id]), 0.0
    for token in tokens:
        logits, states = step(fed, states)
        total += log_probs(logits, start_id)[0, token]
        fed = np.array([token])
    return float(total)


def exhaustive(step, states, start_id, stop_id, max_length, alpha, vocabulary, mistake=None):
    """Every hypothesis of one source as [tokens, log p, score], best first (stable).
    mistake (SEARCH_MISTAKES): "no cut" leaves out the sequences cut at max_length, "length
    without stop" divides by a length that does not count <stop>."""
    words = [t for t in range(vocabulary) if t not in (PAD, start_id, stop_id)]
    every = [p + (stop_id,) for n in range(max_length) for p in itertools.product(words, repeat=n)]
    if mistake != "no cut":
        every += list(itertools.product(words, repeat=max_length))
    scored = []
    for tokens in every:
        log_p = path_log_prob(step, states, start_id, tokens)
        scored.append([list(tokens), log_p, log_p / length(tokens, stop_id, mistake) ** alpha])
    return sorted(scored, key=lambda h: -h[2])


def length(tokens, stop_id, mistake=None) -> int:
    """len(y) of the score: every token, <stop> included (the mistake "length without stop":
    not counted, at least 1 so that <stop> alone divides by 1)."""
    if mistake == "length without stop" and tokens[-1] == stop_id:
        return max(len(tokens) - 1, 1)
    return len(tokens)


def greedy(step, states, start_id, stop_id, max_length, mistake=None):
    """(ids (N, L) with <stop> where emitted and PAD after it, log p (N,)) for N sources.
    mistake (SEARCH_MISTAKES): "continues" never stops (every step's choice written and
    summed, max_length columns); "sums after stop" writes the right ids but keeps adding the
    log-probability chosen at every step while the loop runs (rows that stopped fed <stop>,
    as rnnkit.decoding.generate feeds them)."""
    rows = len(states[0])
    fed, done, ids, total = np.full(rows, start_id), np.zeros(rows, bool), [], np.zeros(rows)
    for _ in range(max_length):
        logits, states = step(fed, states)
        scores = log_probs(logits, start_id)
        best = np.argmax(scores, axis=-1)
        if mistake == "continues":
            total += scores[np.arange(rows), best]
            fed = best
            ids.append(best)
            continue
        summed = done if mistake != "sums after stop" else np.zeros(rows, bool)
        total += np.where(summed, 0.0, scores[np.arange(rows), best])
        written = np.where(done, PAD, best)
        ids.append(written)
        done |= written == stop_id
        fed = np.where(done, stop_id if mistake else PAD, best)
        if done.all():
            break
    return np.stack(ids, axis=1), total


SEARCH_MISTAKES = {   # the classic mistakes of each search, as the feedback names them
    "greedy": ("continues", "sums after stop"),
    "exhaustive": ("no cut", "length without stop"),
    "beam": ("no early stop", "first finished", "unnormalised", "length without stop",
             "keeps expanding", "stop stripped"),
}


def beam(step, states, start_id, stop_id, max_length, width, alpha, mistake=None):
    """The exercises' beam search for one source (or one of SEARCH_MISTAKES["beam"]): the
    finished hypotheses as [tokens, log p, score], best first. The mistakes: "no early stop"
    (searching on when the best finished one can no longer be beaten), "first finished"
    (stopping at the first), "unnormalised" (score = log p), "length without stop" (len not
    counting <stop>), "keeps expanding" (a hypothesis that emitted <stop> set aside AND kept
    in the beam, extended further), "stop stripped" (finished tokens returned without their
    <stop>, scores unchanged)."""
    hypotheses, log_p, fed, finished = [[]], np.zeros(1), np.array([start_id]), []
    for t in range(1, max_length + 1):
        logits, states = step(fed, states)
        totals = log_p[:, None] + log_probs(logits, start_id)                # (B, V)
        flat = totals.ravel()                                                 # (B * V,)
        best = np.argsort(-flat, kind="stable")[:width]        # ties: the lower index first
        kept = np.array([k for k in best if np.isfinite(flat[k])], dtype=np.int64)
        rows, tokens = np.unravel_index(kept, totals.shape)
        done = (tokens == stop_id) | (t == max_length)
        exponent = 0.0 if mistake == "unnormalised" else alpha
        for r, token in zip(rows[done], tokens[done]):
            found = hypotheses[r] + [int(token)]
            total = float(totals[r, token])
            score = total / length(found, stop_id, mistake) ** exponent
            if mistake == "stop stripped" and found[-1] == stop_id:
                found = found[:-1]
            finished.append([found, total, score])
        if mistake == "keeps expanding" and t < max_length:
            done = np.zeros(len(tokens), bool)                # nothing leaves the beam
        if done.all() or (mistake == "first finished" and finished):
            break
        rows, tokens = rows[~done], tokens[~done]
        hypotheses = [hypotheses[r] + [int(token)] for r, token in zip(rows, tokens)]
        log_p, fed = totals[rows, tokens], tokens
        states = [np.asarray(s)[rows] for s in states]
        if mistake != "no early stop" and finished and \
                max(h[2] for h in finished) >= log_p.max() / max_length ** alpha:
            break
    return sorted(finished, key=lambda h: -h[2])


def greedy_on_table(values, codes, max_length, mistake=None):
    """`greedy` on the toy decoder of a logit table, for the sources `codes` (N,)."""
    return greedy(toy_step(values), [np.asarray(codes)], START, STOP, max_length, mistake)


def exhaustive_on_table(values, code, max_length, alpha, vocabulary, mistake=None):
    """`exhaustive` on the toy decoder of a logit table, for one source `code`."""
    return exhaustive(*toy(values, code), START, STOP, max_length, alpha, vocabulary, mistake)


def greedy_mistakes_on_table(values, codes, max_length):
    """{mistake: (ids, log p) of that greedy search} on the toy decoder of a logit table."""
    return {mistake: greedy_on_table(values, codes, max_length, mistake)
            for mistake in SEARCH_MISTAKES["greedy"]}


def exhaustive_mistakes_on_table(values, code, max_length, alpha, vocabulary, top):
    """{mistake: the `top` best hypotheses of that exhaustive search} on a logit table."""
    return {mistake: exhaustive_on_table(values, code, max_length, alpha, vocabulary,
                                         mistake)[:top]
            for mistake in SEARCH_MISTAKES["exhaustive"]}


def beam_mistakes_on_table(values, code, max_length, width, alpha):
    """{mistake: the finished hypotheses [tokens, log p, score] of that beam search} on the
    toy decoder of a logit table."""
    return {mistake: beam(*toy(values, code), START, STOP, max_length, width, alpha, mistake)
            for mistake in SEARCH_MISTAKES["beam"]}


def toy(values, code):
    """The toy decoder of `values` and its initial states for one source `code`."""
    return toy_step(values), [np.array([code])]


def keras_seq2seq(weights):
    """The graded architecture from Keras's own layers, loaded: (model, encoder, step)."""
    import keras
    from keras import layers

    names = dict(zip(seq2seq.LAYER_NAMES, (
        layers.Embedding(len(seq2seq.SOURCE), seq2seq.EMBED_DIM),
        layers.LSTM(seq2seq.UNITS, return_state=True, use_cudnn=False),
        layers.Embedding(len(seq2seq.TARGET), seq2seq.EMBED_DIM),
        layers.LSTM(seq2seq.UNITS, return_sequences=True, return_state=True, use_cudnn=False),
        layers.Dense(len(seq2seq.TARGET)))))
    source = keras.Input((seq2seq.SOURCE_LENGTH,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    _, h, c = names["encoder"](names["source_embedding"](source))
    sequences, _, _ = names["decoder"](names["target_embedding"](target), initial_state=[h, c])
    model = keras.Model([source, target], names["logits"](sequences))
    h_in, c_in = keras.Input((seq2seq.UNITS,)), keras.Input((seq2seq.UNITS,))
    out, h_out, c_out = names["decoder"](names["target_embedding"](target),
                                         initial_state=[h_in, c_in])
    step = keras.Model([target, h_in, c_in], [names["logits"](out), h_out, c_out])
    for name, layer in names.items():
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(np.shape(w)) for w in weights.get(name, [])]
        if got != expected:
            fail(f"layer {name!r} came back with weights of shapes {got}; the fixed "
                 f"architecture needs {expected} (build it from seq2seq_layers)")
        layer.set_weights(weights[name])
    return model, keras.Model(source, [h, c]), step


def keras_logits(weights, sources, decoder_inputs):
    return np.asarray(keras_seq2seq(weights)[0]([sources, decoder_inputs]))


def cipher(seed):
    """The course's substitution of characters: {"source": {char: char}, "target": {...}},
    the source characters among themselves and the target digits among themselves ("-" and
    the source's space kept), every one moved; None for the public seed 0. Dates written
    through it are the same task in other symbols, so weights trained on the public pairs
    answer wrongly."""
    if seed == 0:
        return None
    rng = np.random.default_rng(seed)
    mapping = {}
    for name, alphabet in (("source", dates.SOURCE_CHARS.replace(" ", "")),
                           ("target", "0123456789")):
        letters = np.array(list(alphabet))
        order = np.arange(len(letters))
        while np.any(order == np.arange(len(letters))):
            order = rng.permutation(len(letters))
        mapping[name] = {str(a): str(b) for a, b in zip(letters, letters[order])}
    return mapping


def course_pairs(split, n, seed, cipher_seed=0):
    """n (source, target) pairs of `split` drawn with `seed`, written through the course's
    cipher (`cipher(cipher_seed)`; unchanged for 0)."""
    pairs = dates.pairs(split, n, seed=seed)
    mapping = cipher(cipher_seed)
    if mapping is None:
        return [list(pair) for pair in pairs]
    return [["".join(mapping["source"].get(c, c) for c in s),
             "".join(mapping["target"].get(c, c) for c in t)] for s, t in pairs]


def keras_exact_match(weights, seed=2024, cipher_seed=0):
    """Greedy decoding by the grader of N_TEST unseen test dates (drawn with `seed`, through
    the course's cipher): (accuracy, first miss)."""
    _, encoder, step = keras_seq2seq(weights)
    sources, targets = zip(*course_pairs("test", N_TEST, seed, cipher_seed))
    states = [np.asarray(s) for s in encoder(seq2seq.encode_sources(sources))]
    fed, outputs = np.full(len(sources), START), []
    for _ in range(seq2seq.TARGET_LENGTH):
        logits, *states = [np.asarray(o) for o in step([fed[:, None], *states])]
        fed = np.argmax(log_probs(logits[:, 0], START), axis=-1)
        outputs.append(fed)
    decoded = ["".join(seq2seq.TARGET.decode(row)) for row in np.stack(outputs, axis=1)]
    wrong = [k for k, (d, t) in enumerate(zip(decoded, targets)) if d != t]
    first = (sources[wrong[0]], targets[wrong[0]], decoded[wrong[0]]) if wrong else None
    return 1.0 - len(wrong) / len(sources), first
