"""ex07's oracles, for the grader (never loaded by a student's process).

The decoding strategies students write, in independent float64 NumPy (greedy is np.argmax),
and the specified inverse-CDF sampler, with the conventions the exercise's docstrings state:
- temperature 0 is greedy: probability 1 on np.argmax (the first maximum); a temperature
  > 0, however tiny (a subnormal such as 1e-310), is softmax((z - max z) / tau), whose limit
  tau -> 0 shares the mass evenly among the tied maxima (z / tau would overflow to inf);
- top-k keeps exactly min(k, V) tokens, ties at the k-th place broken toward the lower id;
- top-p keeps the smallest prefix of the tokens sorted by decreasing probability whose mass
  reaches p (cumulative sum >= p), plus every token tied with its least likely member;
  p >= 1 keeps every token (a float running sum may reach 1.0 before the last one);
- sampling: u = rng.random(N), id = number of cdf entries <= u (cdf = cumsum / sum).

The language model on Keras's own layers: the twins of the probes `lm_step` and
`generate_text` (keras.layers.LSTM + Dense driven by rnnkit.decoding.generate, with named
mistakes), and the metrics of trained weights — perplexity on sentences made here and never
sent, shares of valid and novel samples drawn here.
"""
from __future__ import annotations

import numpy as np

from rnnkit import char_lm
from rnnkit.datasets import grammar
from rnnkit.decoding import START, STOP, TokenTable, generate
from rnnkit.grader.compare import load_weights
from rnnkit.probes.ex07 import UNITS, GumbelChooser

TABLE = char_lm.grammar_table()
VALIDATION_SEED = 7070          # the grader's own sentences, never sent to the student


# -- the strategies and the sampler ---------------------------------------------------------------
def softmax(z):
    z = np.asarray(z, dtype="float64")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def temperature(z, temperature):
    z = np.asarray(z, dtype="float64")
    if temperature == 0:
        return np.eye(z.shape[-1])[np.argmax(z, axis=-1)]
    with np.errstate(over="ignore"):        # a tiny tau: -inf below the maxima, never NaN
        return softmax((z - z.max(axis=-1, keepdims=True)) / temperature)


def top_k(z, k):
    out = np.zeros(z.shape)
    for row, values in enumerate(np.asarray(z, dtype="float64")):
        best = sorted(range(len(values)), key=lambda j: (-values[j], j))[:k]
        out[row, best] = softmax(values[best])
    return out


def top_p(z, p):
    if p >= 1:
        return softmax(z)
    out = np.zeros(z.shape)
    for row, q in enumerate(softmax(z)):
        total, kept = 0.0, []
        for j in sorted(range(len(q)), key=lambda j: -q[j]):
            kept.append(j)
            total += q[j]
            if total >= p:
                break
        kept = np.flatnonzero(q >= q[kept].min())            # ties with the last one included
        out[row, kept] = q[kept] / q[kept].sum()
    return out


def distributions(strategy, z, parameters):
    """[the distribution of `strategy` for each parameter]: "temperature" (tau), "top_k" (k),
    "top_p" (p)."""
    function = {"temperature": temperature, "top_k": top_k, "top_p": top_p}[strategy]
    return [function(z, parameter) for parameter in parameters]


# -- the classic mistakes, for the feedback: {sentence: what that mistake returns} -----------------
def temperature_mistakes(z, temperatures):
    """{sentence: [the distribution that mistake gives at each temperature]} (tau > 0; at
    tau = 0 every mistake is taken as greedy): the temperature applied to the probabilities
    instead of the logits, in its two forms, and the logits multiplied by it."""
    z = np.asarray(z, dtype="float64")
    q = softmax(z)

    def divided(values, t):                 # softmax(values / t), no NaN at a tiny t
        if not t:
            return temperature(z, 0)
        with np.errstate(over="ignore"):
            return softmax((values - values.max(axis=-1, keepdims=True)) / t)
    return {
        "you multiplied the logits by the temperature; divide them by it":
            [softmax(z * t) if t else temperature(z, 0) for t in temperatures],
        "you applied the temperature to the probabilities (softmax(softmax(z) / tau)); divide "
        "the LOGITS by tau and take one softmax: softmax(z / tau)":
            [divided(q, t) for t in temperatures],
        "your distribution does not change with the temperature: dividing the probabilities "
        "by tau and renormalising cancels out; divide the LOGITS by tau, then take the softmax":
            [q if t else temperature(z, 0) for t in temperatures]}


def greedy_mistakes(z):
    """{sentence: the ids that mistake returns}: argmax over the wrong axis, over the
    flattened array, argmin."""
    z = np.asarray(z)
    return {"you took the argmax over axis 0 (down the batch: one id per vocabulary column); "
            "take it over the last axis, axis=-1, for one id per row":
                np.argmax(z, axis=0),
            "np.argmax without axis= returns one index into the flattened array; take it over "
            "the last axis, axis=-1, for one id per row": np.argmax(z),
            "greedy returned the least likely tokens (argmin)": np.argmin(z, axis=-1)}


def pairs_mistakes(chars, texts, length):
    """{sentence: (inputs, targets) that mistake returns} for teacher_forcing_pairs."""
    table = TokenTable(chars)
    x = table.encode_batch(texts, length, start=True)           # <start> + text
    y = table.encode_batch(texts, length, stop=True)            # text + <stop>
    plain = table.encode_batch(texts, length)                   # text alone
    return {"your targets are not shifted: your inputs have no <start>, so the target at each "
            "step is the character fed at that step and the model learns to copy it; inputs "
            "are <start> + text, targets text + <stop> (the target at t is the input at t + 1)":
                (plain, y),
            "your targets equal your inputs: the target at step t is the NEXT character (the "
            "input at t + 1)": (x, x),
            "inputs and targets are swapped": (y, x),
            "your targets have no <stop>: the model never learns to end a text (targets are "
            "text + <stop>)": (x, plain)}


def inverse_cdf(probabilities, seed):
    """ids by the specified method, and the rows whose u sits on a cumulative boundary."""
    cdf = np.cumsum(probabilities, axis=-1)
    cdf = cdf / cdf[:, -1:]
    u = np.random.default_rng(seed).random(len(probabilities))
    on_edge = (np.abs(cdf - u[:, None]) < 1e-9).any(axis=-1)
    ids = np.array([np.searchsorted(row, x, side="right") for row, x in zip(cdf, u)])
    return ids, on_edge


# -- the language model on Keras's layers ---------------------------------------------------------
def keras_lm(weights, vocab_size):
    """keras.layers.LSTM (return_state) and Dense, built and loaded: the oracle's model."""
    import keras

    lstm = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True, use_cudnn=False)
    lstm.build((None, None, vocab_size))
    lstm.set_weights(weights[:3])
    dense = keras.layers.Dense(vocab_size)
    dense.build((None, UNITS))
    dense.set_weights(weights[3:])
    return lstm, dense


def keras_steps(weights, tokens, carry_state=True):
    """Logits (N, T, V) of the LM over `tokens`, and the final [h, c] — or, without
    carry_state, each step from a zero state (the mistake of not carrying it)."""
    v = len(TABLE)
    lstm, dense = keras_lm(weights, v)
    x = char_lm.one_hot(tokens, v)                                        # (N, T, V)
    if carry_state:
        outputs, h, c = lstm(x)
        return {"logits": np.asarray(dense(outputs)), "state": [np.asarray(h), np.asarray(c)]}
    steps = [np.asarray(dense(lstm(x[:, t:t + 1])[0]))[:, 0] for t in range(x.shape[1])]
    return {"logits": np.stack(steps, axis=1)}


def keras_generate(weights, n, max_length, seed, mistake=None):
    """generate_text's result computed with Keras's layers and rnnkit.decoding.generate.

    mistake: None, "no state" (the state reset every step) or "no feedback" (START fed at
    every step)."""
    v = len(TABLE)
    lstm, dense = keras_lm(weights, v)

    def step(tokens, state):
        if mistake == "no feedback":
            tokens = np.full_like(tokens, START)
        if mistake == "no state":
            state = [np.zeros((n, UNITS), "float32")] * 2
        h, state = lstm.cell(char_lm.one_hot(tokens, v), state)
        return np.asarray(dense(h)), state

    ids = generate(step, [np.zeros((n, UNITS), "float32")] * 2, START, STOP, max_length,
                   GumbelChooser(seed))
    return [TABLE.decode(row) for row in ids]


def course_data(seed=0):
    """The training check's data: {"chars": the alphabet in the order that gives the ids,
    "train": the training sentences, "validation": the grader's own (never sent)}. Seed 0:
    the kit's (the public alphabet order, split "train"); a seed of the course secret: other
    sentences, and the characters' ids relabelled (an alphabet of its own order), so weights
    trained on the public ids read every character as another."""
    if seed == 0:
        return {"chars": grammar.ALPHABET,
                "train": grammar.split_sentences("train", char_lm.N_TRAIN),
                "validation": grammar.sentences(1000, seed=VALIDATION_SEED)}
    rng = np.random.default_rng(seed)
    letters = np.array(list(grammar.ALPHABET))
    order = np.arange(len(letters))
    while np.any(order == np.arange(len(letters))):
        order = rng.permutation(len(letters))
    return {"chars": "".join(letters[order]),
            "train": grammar.sentences(char_lm.N_TRAIN, seed=int(rng.integers(2**31))),
            "validation": grammar.sentences(1000, seed=int(rng.integers(2**31)))}


def lm_metrics(weights, data):
    """`char_lm.evaluate` of trained weights loaded into keras.layers.LSTM + Dense, on the
    grader's validation sentences of `data` (course_data)."""
    import keras

    table = TokenTable(data["chars"])
    v = len(table)
    model = keras.Sequential([keras.Input((None, v)),
                              keras.layers.LSTM(char_lm.UNITS, return_sequences=True,
                                                use_cudnn=False),
                              keras.layers.Dense(v)])
    load_weights(model, weights, f"your trained language model (LSTM({char_lm.UNITS}) + "
                 f"Dense({v}))")
    return char_lm.evaluate(model, table, data["validation"], data["train"])
