"""Tests of rnnkit.decoding (shared by ex07, ex08, ex09) against independent computations:
tf.nn.sparse_softmax_cross_entropy_with_logits and a float64 NumPy log-sum-exp for the
masked NLL, tf.GradientTape for its gradient, and a row-by-row reference loop (one row at a
time, no batching, no early exit) for `generate`.

Run: PYTHONPATH=. python -m pytest -q tests/kit/library/test_decoding.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnkit import decoding  # noqa: E402
from rnnkit.decoding import PAD, START, STOP, TokenTable, generate, masked_nll  # noqa: E402

# float32 log-softmax against float64: ~1e-7 relative per term, averaged; 1e-5 is wide.
NLL_TOL = dict(rtol=1e-5, atol=1e-5)


# -- TokenTable ------------------------------------------------------------------------------
def test_special_ids_and_order():
    table = TokenTable("cab")
    assert (PAD, START, STOP) == (0, 1, 2) == (table.PAD, table.START, table.STOP)
    assert table.tokens == ("<pad>", "<start>", "<stop>", "c", "a", "b")
    assert table.vocab_size == len(table) == 6
    assert TokenTable.from_text(["ba", "c a"]).tokens[3:] == (" ", "a", "b", "c")


def test_encode_decode_round_trip_characters_and_words():
    table = TokenTable("abc ")
    assert table.encode("ab c", start=True, stop=True) == [1, 3, 4, 6, 5, 2]
    assert table.decode([1, 3, 4, 6, 5, 2, 3, 3]) == "ab c"        # stops at STOP
    assert table.decode([3, 0, 4]) == "ab"                          # PAD skipped
    words = TokenTable(["the", "cat", "sat"])
    ids = words.encode(["the", "cat"], stop=True)
    assert ids == [3, 4, 2]
    assert words.decode(ids, join=" ") == "the cat"
    assert words.decode(ids, join=None) == ["the", "cat"]


def test_encode_batch_pads_right():
    table = TokenTable("ab")
    batch = table.encode_batch(["a", "bab", ""], 5, start=True, stop=True)
    expected = np.array([[1, 3, 2, 0, 0], [1, 4, 3, 4, 2], [1, 2, 0, 0, 0]])
    np.testing.assert_array_equal(batch, expected)
    assert batch.dtype == np.int32


@pytest.mark.parametrize("call, message", [
    (lambda: TokenTable("aa"), "distinct"),
    (lambda: TokenTable(["<stop>"]), "special"),
    (lambda: TokenTable("ab").encode("abc"), "'c' at position 2"),
    (lambda: TokenTable("ab").encode(["<start>"]), "'<start>' at position 0"),
    (lambda: TokenTable("ab").decode([7]), "id 7"),
    (lambda: TokenTable("ab").encode_batch(["abab"], 3), "more than length=3"),
])
def test_errors_name_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- masked_nll ------------------------------------------------------------------------------
def numpy_masked_nll(logits, targets, mask):
    logits = logits.astype("float64")
    top = logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]          # (N, T)
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]  # (N, T)
    mask = mask.astype("float64")
    return float(((log_z - picked) * mask).sum() / max(mask.sum(), 1.0))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 3, size=(3, 5, 6)).astype("float32")
    targets = rng.integers(3, 6, size=(3, 5)).astype("int32")
    targets[0, 3:] = PAD
    targets[2, 1:] = PAD
    return logits, targets


def test_masked_nll_equals_numpy_and_tensorflow(batch):
    import tensorflow as tf

    logits, targets = batch
    mask = targets != PAD
    got = float(masked_nll(logits, targets, mask))
    np.testing.assert_allclose(got, numpy_masked_nll(logits, targets, mask), **NLL_TOL)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
    np.testing.assert_allclose(got, per_token[mask].mean(), **NLL_TOL)
    # mask=None means "targets != PAD"
    np.testing.assert_allclose(float(masked_nll(logits, targets)), got, rtol=0, atol=0)


def test_masked_nll_ignores_masked_positions_and_empty_mask(batch):
    logits, targets = batch
    mask = targets != PAD
    changed = logits.copy()
    changed[~mask] = 100.0 * np.random.default_rng(1).normal(size=changed[~mask].shape)
    np.testing.assert_allclose(float(masked_nll(changed, targets, mask)),
                               float(masked_nll(logits, targets, mask)), rtol=0, atol=0)
    assert float(masked_nll(logits, targets, np.zeros_like(mask))) == 0.0
    # (N, V) logits with (N,) targets
    np.testing.assert_allclose(float(masked_nll(logits[:, 0], targets[:, 0], None)),
                               numpy_masked_nll(logits[:, :1], targets[:, :1],
                                                targets[:, :1] != PAD), **NLL_TOL)


def test_masked_nll_gradient_is_softmax_minus_one_hot(batch):
    import tensorflow as tf

    logits, targets = batch
    mask = targets != PAD
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = masked_nll(variable, targets, mask)
    gradient = tape.gradient(loss, variable).numpy()
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    expected = shifted / shifted.sum(-1, keepdims=True) - np.eye(6)[targets]
    expected = expected * mask[..., None] / mask.sum()
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)


# -- generate --------------------------------------------------------------------------------
V = 7


def toy_step(tokens, state):
    """Deterministic logits that depend on the token fed AND on the carried state."""
    counter, seen = state
    logits = np.zeros((len(tokens), V), dtype="float32")
    favourite = (3 * tokens + counter + 1) % V                                # (N,)
    logits[np.arange(len(tokens)), favourite] = 5.0
    return logits, (counter + 1, seen + [tokens.copy()])


def reference_loop(row_start, row_offset, stop_id, max_length):
    """One row, one token at a time: what generate must do, written the plain way."""
    token, counter, out = row_start, row_offset, []
    for _ in range(max_length):
        chosen = (3 * token + counter + 1) % V
        counter += 1
        out.append(int(chosen))
        if chosen == stop_id:
            break
        token = chosen
    return out


def greedy(logits):
    return np.argmax(logits, axis=-1)


@pytest.mark.parametrize("stop_id, max_length", [(STOP, 12), (5, 4), (6, 1), (STOP, 30)])
def test_generate_equals_a_row_by_row_loop(stop_id, max_length):
    starts = np.array([START, 3, 4, 6, 0], dtype="int32")
    offsets = np.array([0, 2, 5, 1, 3])
    got = generate(toy_step, (offsets, []), starts, stop_id, max_length, greedy)
    rows = [reference_loop(int(s), int(o), stop_id, max_length) for s, o in zip(starts, offsets)]
    width = max(len(r) for r in rows)
    expected = np.array([r + [PAD] * (width - len(r)) for r in rows])
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int32 and got.shape[1] <= max_length


def test_generate_feeds_back_carries_state_and_exits_early():
    calls = []

    def step(tokens, state):
        calls.append(tokens.copy())
        logits = np.zeros((2, V), dtype="float32")
        # row 0 counts up 3, 4, 5, then STOP; row 1 emits 6 forever
        nxt = [STOP if state >= 3 else 3 + state, 6]
        logits[[0, 1], nxt] = 1.0
        return logits, state + 1

    ids = generate(step, 0, np.array([START, START]), STOP, 10, greedy)
    np.testing.assert_array_equal(ids[0], [3, 4, 5, STOP] + [PAD] * 6)
    np.testing.assert_array_equal(ids[1], [6] * 10)                 # cut at max_length
    np.testing.assert_array_equal(calls[1], [3, 6])                  # fed back
    np.testing.assert_array_equal(calls[4], [STOP, 6])               # a stopped row is fed STOP
    assert len(calls) == 10

    calls.clear()

    def one_row(tokens, state):
        logits, state = step(np.repeat(tokens, 2), state)
        return logits[:1], state

    single = generate(one_row, 0, np.array([START]), STOP, 10, greedy)
    np.testing.assert_array_equal(single, [[3, 4, 5, STOP]])        # ends when all rows stop
    assert len(calls) == 4


def test_generate_batch_size_from_state_and_errors():
    state = [np.zeros((3, 4)), np.zeros((3, 4))]
    ids = generate(lambda t, s: (np.eye(V)[np.full(len(t), STOP)], s), state, START, STOP, 5,
                   greedy)
    np.testing.assert_array_equal(ids, [[STOP]] * 3)
    with pytest.raises(ValueError, match="max_length"):
        generate(toy_step, (0, []), np.array([1]), STOP, 0, greedy)
    with pytest.raises(ValueError, match="batch size"):
        generate(toy_step, None, START, STOP, 3, greedy)
    with pytest.raises(ValueError, match="choose must return 2 ids"):
        generate(toy_step, (0, []), np.array([1, 1]), STOP, 3, lambda logits: [1])


def test_module_has_no_student_strategies():
    # The strategies are the students' work; the shared module only hosts the machinery.
    assert not {"greedy", "top_k", "top_p", "beam_search"} & set(dir(decoding))
