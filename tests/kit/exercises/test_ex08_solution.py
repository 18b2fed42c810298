"""Tests of the ex08 reference (captioning) and of rnnkit.decoding, against implementations
nobody here wrote: Keras's own LSTMCell inside the same architecture, NumPy's log-softmax
for the masked loss, the full model under teacher forcing for each greedy step, nltk's
corpus_bleu (when nltk is installed) and BLEU values worked out by hand from Papineni et
al. (2002).

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex08_solution.py
"""
import ast
import os
import random

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnkit import KIT_ROOT, decoding  # noqa: E402
from rnnkit.datasets import shapes  # noqa: E402
from solutions import ex08_captioning as ex  # noqa: E402

# float32 with the same weights in two implementations of one architecture: summation order
# differs, ~1e-7 relative; Keras's own RNN tests use 1e-5, and so do we.
TOL = dict(rtol=1e-5, atol=1e-5)
V, UNITS, EMBED = len(ex.TABLE), 8, 4


def seeded_weights(model, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-scale, scale, w.shape).astype("float32") for w in model.get_weights()]


@pytest.fixture(scope="module")
def twins():
    """(our captioner, the same architecture on keras.layers.LSTMCell), equal weights."""
    ours = ex.build_captioner(ex.LSTMCell, V, UNITS, EMBED)
    theirs = ex.build_captioner(keras.layers.LSTMCell, V, UNITS, EMBED)
    weights = seeded_weights(ours, seed=1)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@pytest.fixture(scope="module")
def batch():
    images, captions = shapes.generate("single", "validation", n=5)
    sequences = ex.caption_ids([c[k % 3] for k, c in enumerate(captions)])
    return images.astype("float32"), sequences, captions


# -- framing and teacher forcing ----------------------------------------------------------
def test_caption_ids_frame_and_pad():
    ids = ex.caption_ids(["a small red circle", "there is a large blue square"], max_words=6)
    table = ex.TABLE
    assert ids.shape == (2, 8) and ids.dtype == np.int32
    assert ids[0].tolist() == [table.START, *table.encode("a small red circle".split()),
                               table.STOP, table.PAD, table.PAD]
    assert ids[1, 0] == table.START and ids[1, -1] == table.STOP
    assert table.decode(ids[1], join=None) == "there is a large blue square".split()
    with pytest.raises(ValueError, match="max_words"):
        ex.caption_ids(["a b c"], max_words=2)
    with pytest.raises(ValueError, match="not in the table"):
        ex.caption_ids(["a purple unicorn"])


def test_teacher_forcing_shifts_by_one_and_masks_padding(batch):
    _, sequences, _ = batch
    inputs, targets, mask = (keras.ops.convert_to_numpy(a) for a in ex.teacher_forcing(sequences))
    np.testing.assert_array_equal(inputs, sequences[:, :-1])
    np.testing.assert_array_equal(targets, sequences[:, 1:])
    np.testing.assert_array_equal(mask, sequences[:, 1:] != decoding.PAD)
    assert np.all(inputs[:, 0] == decoding.START)
    assert np.all(mask.sum(axis=1) == (sequences != decoding.PAD).sum(axis=1) - 1)  # <stop> in


# -- the architecture against Keras's own cell --------------------------------------------
def test_layers_names_and_shapes(twins):
    ours, theirs = twins
    named = {layer.name: [tuple(w.shape) for w in layer.weights]
             for layer in ours.layers if layer.weights}
    assert named == {"conv1": [(3, 3, 3, 16), (16,)], "conv2": [(3, 3, 16, 32), (32,)],
                     "init_h": [(32, UNITS), (UNITS,)], "init_c": [(32, UNITS), (UNITS,)],
                     "embedding": [(V, EMBED)],
                     "decoder": [(EMBED, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)],
                     "logits": [(UNITS, V), (V,)]}
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]


def test_logits_equal_keras_lstm_cell(twins, batch):
    images, sequences, _ = batch
    ours, theirs = twins
    tokens = sequences[:, :-1]
    np.testing.assert_allclose(np.asarray(ours([images, tokens])),
                               np.asarray(theirs([images, tokens])), **TOL)


def numpy_masked_nll(logits, targets, mask):
    logits = logits.astype("float64")
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1,
                                keepdims=True)) - logits.max(-1, keepdims=True)
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return -(picked * mask).sum() / mask.sum()


def test_caption_loss_is_the_masked_mean_over_real_tokens(twins, batch):
    images, sequences, _ = batch
    ours, theirs = twins
    logits = np.asarray(theirs([images, sequences[:, :-1]]))
    targets, mask = sequences[:, 1:], sequences[:, 1:] != 0
    expected = numpy_masked_nll(logits, targets, mask)
    np.testing.assert_allclose(float(ex.caption_loss(ours, images, sequences)), expected, **TOL)
    np.testing.assert_allclose(float(decoding.masked_nll(logits, targets, mask)), expected,
                               **TOL)
    # Not the mean over every position (padding included), nor the mean of per-caption means.
    everywhere = numpy_masked_nll(logits, targets, np.ones_like(mask))
    per_caption = np.mean([numpy_masked_nll(logits[k:k + 1], targets[k:k + 1], mask[k:k + 1])
                           for k in range(len(mask))])
    assert abs(expected - everywhere) > 1e-3 and abs(expected - per_caption) > 1e-3
    assert float(decoding.masked_nll(logits, targets, np.zeros_like(mask))) == 0.0


# -- greedy decoding ---------------------------------------------------------------------
def test_each_greedy_step_is_the_argmax_of_the_teacher_forced_model(twins, batch):
    images, _, _ = batch
    ours, _ = twins
    generated = ex.greedy_captions(ours, images, max_length=6)                # (N, L)
    assert len(generated) == len(images) and generated.dtype == np.int32
    # L <= max_length, the longest caption: the loop ends once every row has emitted <stop>
    assert generated.shape[1] == 6 or (generated[:, -1] == decoding.STOP).any()
    fed = np.concatenate([np.full((len(images), 1), decoding.START), generated[:, :-1]], 1)
    expected = np.argmax(np.asarray(ours([images, fed])), axis=-1)           # (N, L)
    for k, row in enumerate(generated):
        stop = np.flatnonzero(row == decoding.STOP)
        end = stop[0] + 1 if len(stop) else len(row)
        np.testing.assert_array_equal(row[:end], expected[k, :end])
        assert np.all(row[end:] == decoding.PAD)


@pytest.mark.parametrize("stop_bias, length", [(50.0, 1), (-50.0, 7)])
def test_greedy_stops_at_end_or_at_max_length(twins, batch, stop_bias, length):
    images, _, _ = batch
    model = ex.build_captioner(ex.LSTMCell, V, UNITS, EMBED)
    weights = twins[0].get_weights()
    weights[-1] = weights[-1].copy()
    weights[-1][decoding.STOP] = stop_bias                 # logits bias of <stop>
    model.set_weights(weights)
    generated = ex.greedy_captions(model, images, max_length=7)
    if stop_bias > 0:
        assert np.all(generated[:, 0] == decoding.STOP) and np.all(generated[:, 1:] == 0)
    else:
        assert np.all(generated != decoding.STOP) and np.all(generated != decoding.PAD)
        assert generated.shape[1] == length


def test_generate_feeds_choices_back_and_stops_when_all_are_done():
    calls = []

    def step(tokens, state):                 # row 0 stops at once; row 1 counts up to 5
        calls.append(tokens.copy())
        logits = np.zeros((2, 6), "float32")
        logits[0, decoding.STOP] = 1.0
        logits[1, min(int(tokens[1]) + 1, 5)] = 1.0
        return logits, state

    out = decoding.generate(step, np.zeros((2, 3)), 3, decoding.STOP, 5,
                            lambda z: np.argmax(z, -1))
    assert out.tolist() == [[2, 0, 0, 0, 0], [4, 5, 5, 5, 5]]
    assert calls[0].tolist() == [3, 3] and calls[1].tolist() == [2, 4] and len(calls) == 5
    out = decoding.generate(lambda tokens, state: (calls.append(tokens) or np.zeros((1, 6)),
                                                   state),
                            np.zeros((1, 3)), 3, decoding.STOP, 5,
                            lambda z: np.zeros(len(z), int) + decoding.STOP)
    assert out.tolist() == [[2]] and len(calls) == 6      # stopped after 1 step: (N, 1)


def test_token_table():
    table = decoding.TokenTable(["x", "y"])
    assert len(table) == 5 and table.encode(["y", "x"]) == [4, 3]
    assert table.decode([1, 3, 0, 4, 2, 3], join=None) == ["x", "y"]
    for bad in (["x", "x"], ["<stop>"]):
        with pytest.raises(ValueError):
            decoding.TokenTable(bad)


# -- BLEU --------------------------------------------------------------------------------
def test_bleu_worked_examples():
    refs = [["the cat is on the mat".split(), "there is a cat on the mat".split()]]
    # Papineni et al.'s clipping example: 7 x "the", clipped to 2 -> p_1 = 2/7; c = r = 7.
    assert ex.corpus_bleu(refs, ["the the the the the the the".split()], max_n=1) == \
        pytest.approx(2 / 7)
    # A perfect but short hypothesis: precision 1, brevity penalty exp(1 - 6/4).
    assert ex.corpus_bleu([["a b c d e f".split()]], ["a b c d".split()]) == \
        pytest.approx(np.exp(1 - 6 / 4))
    # Ties in closest reference length take the shorter reference (r = 4, c = 5: no penalty).
    assert ex.corpus_bleu([["a b c d".split(), "a b c d e f".split()]], ["a b c d x".split()],
                          max_n=1) == pytest.approx(4 / 5)
    # Empty and very short hypotheses: counted in r, nothing in c or in the n-gram totals.
    assert ex.corpus_bleu([["a b".split()]], [[]]) == 0.0
    assert ex.corpus_bleu([["a b c d".split()]], [["a", "b"]]) == 0.0      # no 3- or 4-grams
    # [a b] and [a b c d x] against [a b c d] each: c = 7, r = 4 + 4; the short hypothesis
    # adds no 3- or 4-gram to the totals (nltk would count one of each: max(1, count)).
    corpus = [["a b c d".split()], ["a b c d".split()]]
    expected = np.exp(1 - 8 / 7) * (6 / 7 * 4 / 5 * 2 / 3 * 1 / 2) ** 0.25
    assert ex.corpus_bleu(corpus, [["a", "b"], "a b c d x".split()]) == pytest.approx(expected)
    with pytest.raises(ValueError):
        ex.corpus_bleu(corpus, [["a"]])


def test_bleu_equals_nltk_corpus_bleu():
    bleu_score = pytest.importorskip("nltk.translate.bleu_score")
    rng = random.Random(0)
    words = "a b c d e".split()
    for trial in range(40):
        references = [[[rng.choice(words) for _ in range(rng.randint(4, 9))]
                       for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(1, 6))]
        # nltk counts a hypothesis shorter than n as one n-gram (max(1, count)); the standard
        # counts none: compare on hypotheses of at least 4 tokens.
        hypotheses = [[rng.choice(words) for _ in range(rng.randint(4, 9))] for _ in references]
        expected = bleu_score.corpus_bleu(references, hypotheses)
        assert ex.corpus_bleu(references, hypotheses) == pytest.approx(expected, abs=1e-12)


def test_the_graders_bleu_equals_the_reference_on_any_corpus():
    from rnnkit.official.ex08 import bleu
    from tests.grading.test_ex08 import BLEU_CASES

    rng = random.Random(1)
    words = "a b c".split()
    cases = list(BLEU_CASES)
    for trial in range(60):                  # empty, short and long hypotheses, ties in r
        references = [[[rng.choice(words) for _ in range(rng.randint(1, 7))]
                       for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(1, 5))]
        hypotheses = [[rng.choice(words) for _ in range(rng.randint(0, 7))] for _ in references]
        cases.append({"references": references, "hypotheses": hypotheses,
                      "max_n": rng.randint(1, 4)})
    for case in cases:
        args = (case["references"], case["hypotheses"], case["max_n"])
        assert bleu(*args) == pytest.approx(ex.corpus_bleu(*args), abs=1e-12), case


def test_exact_match_and_ngrams():
    assert ex.ngrams("a b a b".split(), 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ex.ngrams(["a"], 2) == {}
    refs = [["a b".split(), "c".split()], ["d".split()]]
    assert ex.exact_match(refs, [["c"], ["d", "d"]]) == 0.5


# -- training, plots and release ---------------------------------------------------------
def test_training_lowers_the_loss_and_evaluation_is_plain():
    images, captions = shapes.generate("single", "train", n=256)
    sequences = ex.caption_ids(shapes.pick_captions(captions))
    captioner, losses = ex.train_captioner(ex.LSTMCell, images, sequences, epochs=3,
                                           batch_size=64, units=16)
    assert len(losses) == 3 and losses[-1] < losses[0]
    scores = ex.evaluate(captioner, images[:6], captions[:6])
    assert 0.0 <= scores["bleu"] <= 1.0 and 0.0 <= scores["exact"] <= 1.0
    assert len(scores["generated"]) == 6 and all(isinstance(g, str) for g in scores["generated"])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3)
    generated = [captions[0][0]] + ["a"] * 5
    assert ex.plot_captions(axes, images[:6], generated, captions[:6]) is axes
    colours = [ax.title.get_color() for ax in axes.flat]
    assert colours[0] == "green" and set(colours[1:]) == {"red"}
    plt.close(figure)


def test_release_strips_the_student_parts():
    from rnnkit.grader.stubs import strip_solutions

    path = KIT_ROOT / "solutions" / "ex08_captioning.py"
    tree = ast.parse(strip_solutions(path.read_text(), path.name))
    stubs = sorted(fn.name for fn in tree.body if isinstance(fn, ast.FunctionDef)
                   and "NotImplementedError" in ast.unparse(fn))
    assert stubs == ["build_captioner", "caption_ids", "caption_loss", "corpus_bleu",
                     "decoder_step", "greedy_captions", "greedy_choice", "ngrams",
                     "teacher_forcing"]
