"""The ex07 language model on Keras's own layers, for the grader: the twins of the probes
`lm_step` and `generate_text` (keras.layers.LSTM + Dense driven by rnnkit.decoding.generate,
with named mistakes), and the metrics of trained weights — perplexity on sentences made here
and never sent, shares of valid and novel samples drawn here. Trusted grader code.
"""
from __future__ import annotations

import numpy as np

from rnnkit import char_lm
from rnnkit.datasets import grammar
from rnnkit.decoding import START, STOP, generate, masked_nll
from rnnkit.grader import sampling
from rnnkit.grader.compare import load_weights
from tests.grading.probes.ex07 import UNITS, GumbelChooser

TABLE = char_lm.grammar_table()
VALIDATION_SEED = 7070          # the grader's own sentences, never sent to the student
N_SAMPLES, SAMPLE_SEED = 400, 11


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


def lm_metrics(weights):
    """Perplexity on the grader's sentences and the shares of valid and novel samples
    (temperature 1, inverse-CDF sampling here) of trained weights loaded into
    keras.layers.LSTM + Dense."""
    import keras

    v = len(TABLE)
    model = keras.Sequential([keras.Input((None, v)),
                              keras.layers.LSTM(char_lm.UNITS, return_sequences=True,
                                                use_cudnn=False),
                              keras.layers.Dense(v)])
    load_weights(model, weights, f"your trained language model (LSTM({char_lm.UNITS}) + "
                 f"Dense({v}))")
    texts = grammar.sentences(1000, seed=VALIDATION_SEED)
    x = TABLE.encode_batch(texts, char_lm.SEQ_LEN, start=True)
    y = TABLE.encode_batch(texts, char_lm.SEQ_LEN, stop=True)
    logits = model.predict(char_lm.one_hot(x, v), batch_size=500, verbose=0)
    perplexity = float(np.exp(masked_nll(logits, y)))
    lstm, dense = model.layers
    rng = np.random.default_rng(SAMPLE_SEED)

    def step(tokens, state):
        h, state = lstm.cell(char_lm.one_hot(tokens, v), state)
        return np.asarray(dense(h)), state

    def choose(z):
        ids, _ = sampling.inverse_cdf(sampling.softmax(z), int(rng.integers(2**31)))
        return ids

    ids = generate(step, [np.zeros((N_SAMPLES, char_lm.UNITS), "float32")] * 2, START, STOP,
                   char_lm.SEQ_LEN, choose)
    samples = [TABLE.decode(row) for row in ids]
    training = grammar.split_sentences("train", char_lm.N_TRAIN)
    seen = set(training)
    valid = [grammar.parse(s) for s in samples]
    novel = [ok and s not in seen for ok, s in zip(valid, samples)]
    y_train = TABLE.encode_batch(training, char_lm.SEQ_LEN, stop=True)
    return {"perplexity": perplexity, "valid": float(np.mean(valid)),
            "novel": float(np.mean(novel)), "samples": samples[:4],
            "baseline": char_lm.unigram_perplexity(y_train, y, v)}
