"""Tests of the ex09 reference (teacher forcing, the masked NLL, the encoder-decoder, greedy,
beam and exhaustive search) and of rnnkit.decoding, against implementations nobody here
wrote or that share no code with it: brute-force enumeration with itertools, TensorFlow's
sparse_softmax_cross_entropy_with_logits, and the same architecture built from
keras.layers.LSTM (use_cudnn=False).

Toy decoders are logit tables indexed by the whole prefix fed so far (a bijective code), so
a search that loses track of which hypothesis a state belongs to gives other numbers.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex09_solution.py
"""
import ast
import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnkit import KIT_ROOT, decoding, seq2seq  # noqa: E402
from rnnkit.datasets import dates  # noqa: E402
from solutions import ex09_seq2seq as ex  # noqa: E402

# Log-probabilities here are float64 sums of a few float64 log-softmax values: the search
# and the brute force add the same terms, possibly in another order (~1e-16 each).
SCORE_TOL = 1e-9
# float32 Keras layers against the same weights in Keras's own LSTM: 1e-5, as in ex03.
VALUE_TOL = dict(rtol=1e-5, atol=1e-5)
START, STOP = 1, 2


def toy_step(table):
    """step(tokens, [codes]) over a (K, V) logit table; codes encode the whole prefix fed."""
    table = np.asarray(table, dtype="float64")

    def step(tokens, states):
        codes = (np.asarray(states[0], "int64") * table.shape[1]
                 + np.asarray(tokens, "int64") + 1) % table.shape[0]
        return table[codes], [codes]
    return step


def brute_force(table, code, max_length, alpha):
    """Every hypothesis with its log p and score, best first, by direct enumeration."""
    step, vocabulary = toy_step(table), table.shape[1]
    tokens = [t for t in range(vocabulary) if t not in (decoding.PAD, START, STOP)]
    hypotheses = [p + (STOP,) for n in range(max_length)
                  for p in itertools.product(tokens, repeat=n)]
    hypotheses += list(itertools.product(tokens, repeat=max_length))
    result = []
    for hypothesis in hypotheses:
        states, fed, total = [np.array([code])], np.array([START]), 0.0
        for token in hypothesis:
            logits, states = step(fed, states)
            logits = np.delete(logits[0], [decoding.PAD, START])
            log_z = np.log(np.sum(np.exp(logits - logits.max()))) + logits.max()
            total += table_logit(logits, token) - log_z
            fed = np.array([token])
        result.append((hypothesis, total, total / len(hypothesis) ** alpha))
    return sorted(result, key=lambda h: -h[2])


def table_logit(logits_without_specials, token):
    return logits_without_specials[token - 2]   # PAD (0) and START (1) were deleted


def random_table(seed, vocabulary=6, stop_shift=0.0):
    table = np.random.default_rng(seed).normal(0.0, 2.0, size=(5000, vocabulary))
    table[:, STOP] += stop_shift
    return table


# -- rnnkit.decoding ----------------------------------------------------------------------------
def test_token_table():
    table = decoding.TokenTable("ab-")
    assert len(table) == 6 and (table.PAD, table.START, table.STOP) == (0, 1, 2)
    np.testing.assert_array_equal(table.encode("b-a"), [4, 5, 3])
    assert table.decode([1, 4, 0, 3, 2, 5], join=None) == ["b", "a"]
    with pytest.raises(ValueError, match="'z'"):
        table.encode("az")
    with pytest.raises(ValueError, match="distinct"):
        decoding.TokenTable("aa")
    with pytest.raises(ValueError, match="special"):
        decoding.TokenTable(["<stop>"])


def test_masked_nll_equals_tensorflow_on_the_masked_positions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7)).astype("float32")
    targets = rng.integers(0, 7, size=(3, 5))
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    per_position = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
    expected = per_position[mask].mean()
    np.testing.assert_allclose(float(decoding.masked_nll(logits, targets, mask)), expected,
                               rtol=1e-6)
    assert float(decoding.masked_nll(logits, targets, np.zeros_like(mask))) == 0.0


def test_generate_stops_pads_and_cuts():
    table = random_table(1, stop_shift=-50.0)      # never stops: cut at max_length
    ids = decoding.generate(toy_step(table), [np.arange(4)], START, STOP, 5,
                            lambda logits: np.argmax(logits[:, 2:], axis=-1) + 2)
    assert ids.shape == (4, 5) and not np.isin(ids, [0, 1, 2]).any()
    table[:, STOP] += 100.0                         # always stops at once
    ids = decoding.generate(toy_step(table), [np.arange(4)], START, STOP, 5,
                            lambda logits: np.argmax(logits, axis=-1))
    np.testing.assert_array_equal(ids, np.full((4, 1), STOP))
    fed = []                                        # rows that stopped are fed STOP again
    choices = iter([np.array([STOP, 3]), np.array([4, 5]), np.array([3, STOP])])
    ids = decoding.generate(lambda tokens, s: (fed.append(tokens) or np.zeros((2, 6)), s),
                            [np.zeros(2)], START, STOP, 9, lambda logits: next(choices))
    np.testing.assert_array_equal(ids, [[STOP, 0, 0], [3, 5, STOP]])
    np.testing.assert_array_equal(fed[2], [STOP, 5])
    with pytest.raises(ValueError, match="max_length"):
        decoding.generate(toy_step(table), [np.arange(2)], START, STOP, 0, np.argmax)


# -- teacher forcing and the loss ---------------------------------------------------------------
def test_teacher_forcing_shifts_by_one_and_pads():
    inputs, targets = ex.teacher_forcing([[5, 6, 7], [8], []], length=5)
    np.testing.assert_array_equal(inputs, [[1, 5, 6, 7, 0], [1, 8, 0, 0, 0], [1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(targets, [[5, 6, 7, 2, 0], [8, 2, 0, 0, 0], [2, 0, 0, 0, 0]])
    assert inputs.dtype == targets.dtype == np.int32
    with pytest.raises(ValueError, match="sequence 1"):
        ex.teacher_forcing([[5], [5, 6, 7, 8, 9]], length=5)


def test_loss_is_the_mean_over_real_positions_only():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 6, 14)).astype("float32")
    _, targets = ex.teacher_forcing([[4, 5, 6], [7], [4, 4, 4, 4, 4], [9, 8]], length=6)
    per_position = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
    expected = per_position[targets != 0].mean()
    np.testing.assert_allclose(float(ex.seq2seq_loss(targets, logits)), expected, rtol=1e-6)
    changed = logits.copy()
    changed[targets == 0] += rng.normal(size=changed[targets == 0].shape).astype("float32")
    np.testing.assert_allclose(float(ex.seq2seq_loss(targets, changed)), expected, rtol=1e-6)


# -- the encoder-decoder --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built():
    keras.utils.set_random_seed(3)
    return ex.build_seq2seq(ex.LSTMCell)


def keras_rebuild(parts_weights):
    """The graded architecture from keras.layers.LSTM; returns (model, encoder, step)."""
    from keras import layers

    source = keras.Input((seq2seq.SOURCE_LENGTH,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    embed_t = layers.Embedding(len(seq2seq.TARGET), seq2seq.EMBED_DIM)
    decoder = layers.LSTM(seq2seq.UNITS, return_sequences=True, return_state=True,
                          use_cudnn=False)
    dense = layers.Dense(len(seq2seq.TARGET))
    embed_s = layers.Embedding(len(seq2seq.SOURCE), seq2seq.EMBED_DIM)
    encoder = layers.LSTM(seq2seq.UNITS, return_state=True, use_cudnn=False)
    _, h, c = encoder(embed_s(source))
    sequences, _, _ = decoder(embed_t(target_in), initial_state=[h, c])
    model = keras.Model([source, target_in], dense(sequences))
    for layer, name in zip((embed_s, encoder, embed_t, decoder, dense), seq2seq.LAYER_NAMES):
        layer.set_weights(parts_weights[name])
    return model


def test_model_equals_keras_lstm_with_the_same_weights(built):
    model = built[0]
    weights = {name: model.get_layer(name).get_weights() for name in seq2seq.LAYER_NAMES}
    sources = seq2seq.encode_sources([s for s, _ in dates.pairs("test", 8, seed=1)])
    decoder_in, _ = ex.teacher_forcing(seq2seq.encode_targets(["2019-03-07"] * 8))
    expected = keras_rebuild(weights)([sources, decoder_in])
    np.testing.assert_allclose(model([sources, decoder_in]), expected, **VALUE_TOL)


def test_step_model_reproduces_the_teacher_forced_logits(built):
    model, encoder, step_model = built
    sources = seq2seq.encode_sources(["7 march 2019", "mar 2019", "20491231"])
    decoder_in, _ = ex.teacher_forcing(seq2seq.encode_targets(["2019-03-07", "2019-03",
                                                               "2049-12-31"]))
    forced = np.asarray(model([sources, decoder_in]))                    # (N, T, V)
    states, step = [np.asarray(s) for s in encoder(sources)], seq2seq.model_step(step_model)
    assert len(states) == 2 and states[0].shape == (3, seq2seq.UNITS)
    for t in range(decoder_in.shape[1]):
        logits, states = step(decoder_in[:, t], states)
        np.testing.assert_allclose(logits, forced[:, t], **VALUE_TOL)


# -- searches -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, alpha, stop_shift", [(0, 0.0, 0.0), (1, 0.7, 0.0),
                                                     (2, 1.0, -1.0), (3, 0.7, -50.0)])
def test_exhaustive_and_wide_beam_equal_brute_force(seed, alpha, stop_shift):
    table, max_length = random_table(seed, stop_shift=stop_shift), 4
    everything = brute_force(table, seed, max_length, alpha)
    found = ex.exhaustive_search(toy_step(table), [np.array([seed])], START, STOP, max_length,
                                 alpha, top=len(everything))
    assert [h[0] for h in found] == [h[0] for h in everything]
    np.testing.assert_allclose([h[1:] for h in found], [h[1:] for h in everything],
                               rtol=0, atol=SCORE_TOL)
    wide = ex.beam_search(toy_step(table), [np.array([seed])], START, STOP, max_length,
                          width=3 ** (max_length - 1) * 4, alpha=alpha)
    assert wide[0][0] == everything[0][0]
    assert abs(wide[0][2] - everything[0][2]) < SCORE_TOL
    scores = {h[0]: h[1:] for h in everything}                  # each beam's numbers are right
    for tokens, log_p, score in wide:
        np.testing.assert_allclose((log_p, score), scores[tokens], atol=SCORE_TOL)


@pytest.mark.parametrize("seed", range(20))
def test_width_one_is_greedy_and_narrow_beams_are_consistent(seed):
    table = random_table(seed, stop_shift=[0.0, -1.0, -50.0][seed % 3])
    greedy_ids, greedy_log_p = ex.greedy_search(toy_step(table), [np.array([seed])], START,
                                                STOP, 5)
    beam = ex.beam_search(toy_step(table), [np.array([seed])], START, STOP, 5, width=1,
                          alpha=0.0)
    assert len(beam) == 1 and beam[0][0] == tuple(t for t in greedy_ids[0] if t != 0)
    assert abs(beam[0][1] - greedy_log_p[0]) < SCORE_TOL
    best = brute_force(table, seed, 5, 0.7)
    for width in (2, 3, 5):
        found = ex.beam_search(toy_step(table), [np.array([seed])], START, STOP, 5, width)
        assert found[0][2] <= best[0][2] + SCORE_TOL              # never beats exhaustive
        assert [h[2] for h in found] == sorted((h[2] for h in found), reverse=True)


def test_greedy_is_batched_and_cut_at_max_length():
    table = random_table(7, stop_shift=-50.0)
    ids, log_p = ex.greedy_search(toy_step(table), [np.arange(5)], START, STOP, 6)
    assert ids.shape == (5, 6) and not np.isin(ids, [0, 1, 2]).any()
    for row in range(5):                                       # each row on its own
        alone, alone_log_p = ex.greedy_search(toy_step(table), [np.array([row])], START,
                                              STOP, 6)
        np.testing.assert_array_equal(alone[0], ids[row])
        assert abs(alone_log_p[0] - log_p[row]) < SCORE_TOL


def test_beam_sets_finished_hypotheses_aside_until_they_cannot_be_beaten():
    table = random_table(4)
    table[:, STOP] = -30.0
    table[5 * 6 + START + 1, STOP] = 30.0        # only "stop at once" is likely, from code 5
    found = ex.beam_search(toy_step(table), [np.array([5])], START, STOP, 6, width=3)
    assert found[0][0] == (STOP,) and len(found) == 1             # nothing could beat it
    table[5 * 6 + START + 1, STOP] = 0.5         # likely but beatable: the search goes on
    found = ex.beam_search(toy_step(table), [np.array([5])], START, STOP, 3, width=3,
                           alpha=1.0)
    assert len(found) > 1


def test_exhaustive_refuses_large_vocabularies():
    with pytest.raises(ValueError, match="limit"):
        ex.exhaustive_search(toy_step(random_table(0, vocabulary=40)), [np.array([0])], START,
                             STOP, 6)


# -- the grader's own searches (rnnkit.official.ex09) ---------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_grader_searches_equal_the_reference(seed):
    from rnnkit.official import ex09 as search

    table = random_table(seed, vocabulary=7, stop_shift=[0.0, -1.0, -50.0][seed % 3])
    width, alpha = 1 + seed % 4, [0.0, 0.7, 1.0][seed % 3]
    got = ex.beam_search(toy_step(table), [np.array([seed])], START, STOP, 5, width, alpha)
    want = search.beam(toy_step(table), [np.array([seed])], START, STOP, 5, width, alpha)
    assert [list(h[0]) for h in got] == [h[0] for h in want]
    np.testing.assert_allclose([h[1:] for h in got], [h[1:] for h in want], atol=SCORE_TOL)
    ids, log_p = ex.greedy_search(toy_step(table), [np.arange(4)], START, STOP, 5)
    want_ids, want_log_p = search.greedy(toy_step(table), [np.arange(4)], START, STOP, 5)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(log_p, want_log_p, atol=SCORE_TOL)
    found = ex.exhaustive_search(toy_step(table), [np.array([seed])], START, STOP, 3, alpha,
                                 top=10)
    everything = search.exhaustive(toy_step(table), [np.array([seed])], START, STOP, 3, alpha, 7)
    assert [list(h[0]) for h in found] == [h[0] for h in everything[:10]]


def test_every_beam_mistake_is_caught_and_named_by_the_graded_cases():
    # The check compares with the reference on these cases; each known mistake must change
    # the result in at least one of them, and the check must name it there.
    from rnnkit.official import ex09 as search
    from tests.grading import test_ex09 as checks

    cases = [(width, alpha) for width, alpha in [(2, 0.7), (3, 0.0), (4, 1.0)]]
    for mistake in search.SEARCH_MISTAKES["beam"]:
        named = False
        for width, alpha in cases:
            values = checks.beam_table(0, width)
            mistakes = search.beam_mistakes_on_table(values, 0, 5, width, alpha)
            right = search.beam(*search.toy(values, 0), START, STOP, 5, width, alpha)
            wrong = mistakes[mistake]
            if not checks.same_hypotheses(right, wrong):
                named |= checks.SEARCH_SENTENCES[mistake] in \
                    (checks.name_search_mistake(wrong, right, mistakes) or "")
        assert named, f"no graded case catches and names: {mistake}"


# -- training and main's helpers ------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    return ex.train_seq2seq(ex.LSTMCell, dates.pairs("train", 1024, seed=0), epochs=1, seed=0)


def test_training_lowers_the_loss_and_plots(trained, tmp_path):
    model, encoder, step_model, seconds = trained
    assert seconds > 0 and model.history.history["loss"][-1] < np.log(len(seq2seq.TARGET))
    sources = [s for s, _ in dates.pairs("test", 3, seed=0)]
    greedy = ex.translate(encoder, step_model, sources)
    assert greedy == ex.translate(encoder, step_model, sources, width=1, alpha=0.0)
    assert all(set(text) <= set(dates.TARGET_CHARS) for text in greedy)
    assert ex.exact_match(["a", "b"], ["a", "c"]) == 0.5

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2)
    assert seq2seq.plot_exact_match_vs_width(left, [1, 2, 4], {"a": [0.1, 0.2, 0.3],
                                                               "b": [0.1, 0.2, 0.3]}, 0.1) is left
    styles = {line.get_linestyle() for line in left.get_lines()}
    assert len(left.get_lines()) == 3 and len(styles) == 3      # coinciding lines stay visible
    assert seq2seq.plot_candidates(right, [("x", "y", -0.1, -0.1)]) is right
    plt.close(figure)


def test_release_strips_exactly_the_students_parts():
    from rnnkit.grader.stubs import strip_solutions

    path = KIT_ROOT / "solutions" / "ex09_seq2seq.py"
    tree = ast.parse(strip_solutions(path.read_text(), path.name))
    stubs = sorted(f.name for f in tree.body if isinstance(f, ast.FunctionDef)
                   and "NotImplementedError" in ast.unparse(f))
    assert stubs == ["beam_search", "build_seq2seq", "exhaustive_search", "greedy_search",
                     "seq2seq_loss", "teacher_forcing"]
