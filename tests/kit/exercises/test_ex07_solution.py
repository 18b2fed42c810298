"""Tests of the ex07 reference (teacher forcing, the four decoding strategies, sampling,
the generation loop, training) against independent implementations: tf.math.top_k and
tf.nn.softmax, exhaustive search over every subset of a small vocabulary for top-p,
empirical frequencies for the sampler, Keras's own RNN loop over whole sequences for
`lm_step`, re-running the model on the growing prefix (no state carried) for
`generate_text`, and the grammar's parser for what training reaches. The edges (top-p at
p >= 1, a subnormal temperature) against exact decimal arithmetic, for the solution and the
grader's reference alike.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex07_solution.py
"""
import decimal
import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnkit import char_lm  # noqa: E402
from rnnkit.datasets import grammar  # noqa: E402
from rnnkit.decoding import PAD, START, STOP, TokenTable  # noqa: E402
from solutions import ex07_char_rnn as ex  # noqa: E402

# float64 NumPy against float64 TensorFlow: the same exp and sums, ~1e-15; 1e-12 is wide.
F64 = dict(rtol=1e-12, atol=1e-12)
# float32 Keras layers stepped one at a time vs over a whole sequence: ~1e-7; 1e-5 as Keras.
F32 = dict(rtol=1e-5, atol=1e-5)
V = 7


@pytest.fixture(scope="module")
def logits():
    """Seeded logits (float64) with ties planted: row 1 has a tie at the top, row 2 a tie
    across the top-3 boundary, row 3 is constant."""
    z = np.random.default_rng(3).normal(0, 2, size=(6, V))
    z[1, [2, 5]] = z[1].max() + 1.0
    top = np.sort(z[2])[::-1]
    z[2, np.argsort(-z[2])[3]] = top[2]              # 3rd and 4th best now equal
    z[3] = 0.5
    return z


def tf_softmax(z):
    return tf.nn.softmax(tf.constant(z, dtype=tf.float64), axis=-1).numpy()


def test_teacher_forcing_pairs_shift_by_one():
    table = TokenTable("abc .")
    texts = ["ab c.", "", "ccc"]
    inputs, targets = ex.teacher_forcing_pairs(table, texts, 7)
    for row, text in enumerate(texts):
        ids = [table.ids[c] for c in text]
        np.testing.assert_array_equal(inputs[row], ([START] + ids + [PAD] * 7)[:7])
        np.testing.assert_array_equal(targets[row], (ids + [STOP] + [PAD] * 7)[:7])
    assert inputs.dtype == targets.dtype == np.int32
    np.testing.assert_array_equal(inputs[:, 1:][targets[:, :-1] != STOP],
                                  targets[:, :-1][targets[:, :-1] != STOP])


def test_greedy_and_temperature_against_tensorflow(logits):
    np.testing.assert_array_equal(ex.greedy(logits), tf.math.argmax(logits, axis=-1).numpy())
    for temperature in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(ex.temperature_probabilities(logits, temperature),
                                   tf_softmax(logits / temperature), **F64)
    np.testing.assert_allclose(ex.temperature_probabilities(logits, 1.0), tf_softmax(logits),
                               **F64)
    zero = ex.temperature_probabilities(logits, 0)
    np.testing.assert_array_equal(zero, np.eye(V)[ex.greedy(logits)])
    # the limit tau -> 0 is greedy wherever the maximum is unique (rows 0, 4, 5)
    tiny = ex.temperature_probabilities(logits, 1e-3)
    np.testing.assert_allclose(tiny[[0, 4, 5]], zero[[0, 4, 5]], atol=1e-12)
    with pytest.raises(ValueError, match="temperature=-1"):
        ex.temperature_probabilities(logits, -1)


@pytest.mark.parametrize("k", [1, 2, 3, 5, V, V + 3])
def test_top_k_against_tf_math_top_k(logits, k):
    values, indices = tf.math.top_k(tf.constant(logits), k=min(k, V))   # lower index first on ties
    expected = np.zeros_like(logits)
    for row in range(len(logits)):
        kept = tf.nn.softmax(values[row]).numpy()
        expected[row, indices[row].numpy()] = kept
    got = ex.top_k_probabilities(logits, k)
    np.testing.assert_allclose(got, expected, **F64)
    assert ((got > 0).sum(axis=-1) == min(k, V)).all()


def exhaustive_top_p(row_probabilities, p):
    """The smallest set of tokens whose mass reaches p (the most massive among the smallest),
    found by trying every subset; then every token tied with its least likely member."""
    q = row_probabilities
    for size in range(1, len(q) + 1):
        best = max(itertools.combinations(range(len(q)), size), key=lambda s: q[list(s)].sum())
        if q[list(best)].sum() >= p or size == len(q):
            break
    threshold = q[list(best)].min()
    kept = np.where(q >= threshold, q, 0.0)
    return kept / kept.sum()


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.75, 0.9, 0.99, 1.0])
def test_top_p_against_exhaustive_search(logits, p):
    got = ex.top_p_probabilities(logits, p)
    for row, q in enumerate(tf_softmax(logits)):
        np.testing.assert_allclose(got[row], exhaustive_top_p(q, p), **F64,
                                   err_msg=f"row {row}, p={p}")
    with pytest.raises(ValueError, match="p=0"):
        ex.top_p_probabilities(logits, 0)


# -- the edges: p = 1 and a subnormal temperature, against exact decimal arithmetic --------------
def decimal_softmax(row, temperature=1.0):
    """softmax(row / temperature) in 60-digit decimal arithmetic (as Python floats): an
    independent implementation that no temperature overflows (1e-310 divides exactly)."""
    with decimal.localcontext() as context:
        context.prec = 60
        scaled = [decimal.Decimal(float(x)) / decimal.Decimal(temperature) for x in row]
        top = max(scaled)
        e = [(x - top).exp() for x in scaled]               # underflows to 0, never NaN
        total = sum(e)
        return [x / total for x in e]


def decimal_top_p(row, p):
    """The nucleus with exact sums: the smallest most likely prefix whose mass reaches p (all
    tokens when none does), then the ties of its least likely member; as float64."""
    q = decimal_softmax(row)
    order = sorted(range(len(q)), key=lambda j: -q[j])
    mass, kept = decimal.Decimal(0), []
    for j in order:
        kept.append(j)
        mass += q[j]
        if mass >= decimal.Decimal(p):
            break
    threshold = min(q[j] for j in kept)
    out = np.array([float(x) if x >= threshold else 0.0 for x in q])
    return out / out.sum()


@pytest.fixture(scope="module")
def wide_logits():
    """306 rows of logits with a wide spread (normal, sd 10): in float64 the running sum of
    the sorted probabilities reaches 1.0 before the last token in dozens of them."""
    z = np.random.default_rng(24).normal(0, 10, size=(306, 9))
    q = np.sort(tf_softmax(z), axis=-1)[:, ::-1]
    early = (np.cumsum(q, axis=-1)[:, :-1] >= 1.0).any(axis=-1)
    assert early.sum() >= 10, early.sum()         # the edge is really exercised
    return z


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_top_p_at_one_keeps_every_token(wide_logits, p):
    from rnnkit.official import ex07 as official

    exact = np.array([decimal_top_p(row, p) for row in wide_logits])
    assert (exact > 0).all()                       # exact sums reach 1 only with every token
    for implementation in (ex.top_p_probabilities, lambda z, p: official.top_p(z, p)):
        got = implementation(wide_logits, p)
        assert (got > 0).all(), f"{int((got == 0).any(-1).sum())} rows dropped tokens"
        np.testing.assert_allclose(got, exact, **F64)


@pytest.mark.parametrize("temperature", [1e-310, 5e-324, 1e-200, 1e-3])
def test_a_tiny_temperature_shares_the_mass_among_the_tied_maxima(logits, temperature):
    from rnnkit.official import ex07 as official

    exact = np.array([[float(x) for x in decimal_softmax(row, temperature)] for row in logits])
    for got in (ex.temperature_probabilities(logits, temperature),
                official.temperature(logits, temperature)):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, exact, **F64)
    if temperature < 1e-300:                    # the limit: uniform over the tied maxima
        ties = logits == logits.max(axis=-1, keepdims=True)
        np.testing.assert_allclose(exact, ties / ties.sum(axis=-1, keepdims=True), atol=0)
        ids = ex.sample(ex.temperature_probabilities(logits, temperature),
                        np.random.default_rng(0))
        assert ties[np.arange(len(ids)), ids].all()      # never the pad id of a NaN row


def test_top_p_ties_are_included():
    z = np.log(np.array([[0.4, 0.2, 0.2, 0.2]]))
    # 0.4 + 0.2 reaches 0.5; the two other 0.2 tie with the last kept token: all four kept
    np.testing.assert_allclose(ex.top_p_probabilities(z, 0.5), [[0.4, 0.2, 0.2, 0.2]], **F64)
    np.testing.assert_allclose(ex.top_p_probabilities(z, 0.4), [[1.0, 0, 0, 0]], **F64)


def test_sample_is_inverse_cdf_and_matches_frequencies():
    q = np.array([0.5, 0.0, 0.2, 0.3])
    draws = 40000
    ids = ex.sample(np.tile(q, (draws, 1)), np.random.default_rng(11))
    frequencies = np.bincount(ids, minlength=4) / draws
    # binomial standard error sqrt(q (1 - q) / n) <= 0.0025; 5 standard errors
    np.testing.assert_allclose(frequencies, q, atol=0.0125)
    assert frequencies[1] == 0.0
    u = np.random.default_rng(11).random(draws)
    np.testing.assert_array_equal(ids, np.searchsorted(np.cumsum(q), u, side="right"))
    again = ex.sample(np.tile(q, (draws, 1)), np.random.default_rng(11))
    np.testing.assert_array_equal(ids, again)


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(5)
    table = char_lm.grammar_table()
    model = char_lm.char_lm(ex.LSTMCell(8), len(table))
    model.build((None, None, len(table)))
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(0, 0.7, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model, table


def test_lm_step_equals_the_rnn_over_the_whole_sequence(small_model):
    model, table = small_model
    tokens = np.random.default_rng(1).integers(0, len(table), size=(3, 6))
    whole = model.predict(char_lm.one_hot(tokens, len(table)), verbose=0)       # (N, T, V)
    state = [np.zeros((3, 8), "float32")] * 2
    for t in range(6):
        logits, state = ex.lm_step(model, tokens[:, t], state)
        np.testing.assert_allclose(logits, whole[:, t], **F32)


def test_generate_text_equals_rerunning_the_prefix(small_model):
    """Greedy generation, checked by re-running the model on the whole prefix at each step
    (no state carried between calls): feeding back and carrying the state must agree."""
    model, table = small_model
    got = ex.generate_text(model, table, ex.greedy, n=2, max_length=12)
    prefix = [START]
    for _ in range(12):
        logits = model.predict(char_lm.one_hot(np.array([prefix]), len(table)), verbose=0)
        prefix.append(int(np.argmax(logits[0, -1])))
        if prefix[-1] == STOP:
            break
    assert got == [table.decode(prefix[1:])] * 2


def test_generate_text_stops_and_is_reproducible(small_model):
    model, table = small_model
    weights = model.get_weights()
    weights[-1] = weights[-1].copy()
    weights[-1][STOP] = 50.0                                   # the first choice is STOP
    stopper = keras.models.clone_model(model)
    stopper.set_weights(weights)
    assert ex.generate_text(stopper, table, ex.greedy, n=3) == ["", "", ""]
    first = ex.generate_text(model, table, ex.make_chooser("temperature", seed=4), n=5)
    second = ex.generate_text(model, table, ex.make_chooser("temperature", seed=4), n=5)
    other = ex.generate_text(model, table, ex.make_chooser("temperature", seed=5), n=5)
    assert first == second != other
    assert all(len(text) <= char_lm.SEQ_LEN for text in first)


def test_graded_budget_learns_the_grammar():
    """The graded configuration, trained once: far below the unigram baseline, and most
    samples parse (the thresholds of the grading file are relative to this)."""
    table = char_lm.grammar_table()
    texts = grammar.split_sentences("train", char_lm.N_TRAIN)
    model, history = char_lm.train_char_lm(ex.LSTMCell, ex.teacher_forcing_pairs, texts, table)
    validation = grammar.split_sentences("validation", 300)
    x_val, y_val = ex.teacher_forcing_pairs(table, validation, char_lm.SEQ_LEN)
    _, y_train = ex.teacher_forcing_pairs(table, texts, char_lm.SEQ_LEN)
    ppl = char_lm.perplexity(model, char_lm.one_hot(x_val, len(table)), y_val)
    assert ppl < 0.25 * char_lm.unigram_perplexity(y_train, y_val, len(table))
    quality = ex.sample_quality(model, table, texts, "temperature", n=200)
    assert quality["valid"] > 0.6 and quality["novel"] > 0.3, quality
