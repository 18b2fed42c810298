"""Tests of the ex05 reference (tokens, the two models, the result helpers) and of
rnnkit.sentiment, against implementations nobody here wrote or written independently:
a plain-Python tokeniser, Keras's own LSTM inside Bidirectional, a NumPy bag of words.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex05_solution.py
"""
import ast
import os
import re
import string

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from figure_checks import figure_problems  # noqa: E402

from rnnkit import KIT_ROOT, sentiment  # noqa: E402
from rnnkit.datasets import reviews  # noqa: E402
from solutions import ex05_sentiment as ex  # noqa: E402

V, E, H, T = sentiment.VOCABULARY_SIZE, 5, 4, 9     # all different: a swapped axis fails
# float32 against Keras's float32 layers / float64 NumPy: ~1e-7 measured; 1e-5 as the grader.
TOL = dict(rtol=1e-5, atol=1e-5)


def python_ids(text, vocabulary, length):
    """An independent tokeniser: lower case, ASCII punctuation removed, split on whitespace."""
    table = {word: k + 2 for k, word in enumerate(vocabulary)}
    words = re.sub(f"[{re.escape(string.punctuation)}]", "", text.lower()).split()
    ids = [table.get(word, 1) for word in words][:length]
    return ids + [0] * (length - len(ids))


def test_vectorizer_equals_an_independent_tokeniser():
    texts = reviews.generate_reviews(20, 5)["text"] + [
        "The PLOT was NOT good!!!", "a gorgeous, wonderful film", "", "  plot   dull ",
        " ".join(["very"] * 30)]
    vectorizer = ex.make_vectorizer(reviews.VOCABULARY, reviews.SEQUENCE_LENGTH)
    got = np.asarray(vectorizer(texts))
    want = np.array([python_ids(t, reviews.VOCABULARY, reviews.SEQUENCE_LENGTH) for t in texts])
    np.testing.assert_array_equal(got, want)
    assert vectorizer.get_vocabulary()[:2] == ["", "[UNK]"]
    np.testing.assert_array_equal(sentiment.token_ids(texts), want)   # the kit's own ids
    assert not (got[:20] == 1).any()                                   # no [UNK] in generated text


def seeded(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.7, 0.7, size=s).astype("float32") for s in shapes]


def keras_rnn():
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(V, E, mask_zero=True)(ids)
    x = keras.layers.Bidirectional(keras.layers.LSTM(H, use_cudnn=False))(x)
    return keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(x))


def padded(seed, n=6, length=T, extra=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, length + 1, size=n)
    lengths[0] = length
    ids = rng.integers(2, V, size=(n, length)) * (np.arange(length) < lengths[:, None])
    return np.pad(ids, ((0, 0), (0, extra))), lengths


@pytest.fixture(scope="module")
def rnn_pair():
    ours, theirs = ex.build_rnn_classifier(ex.LSTMCell, V, E, H), keras_rnn()
    weights = seeded([w.shape for w in theirs.get_weights()], seed=1)
    for model in (ours, theirs):
        model.set_weights(weights)
    return ours, theirs


def test_rnn_classifier_equals_keras_bidirectional_lstm(rnn_pair):
    ours, theirs = rnn_pair
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ids, _ = padded(seed=2)
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), **TOL)


def test_rnn_classifier_ignores_padding_and_reads_in_order(rnn_pair):
    ours, _ = rnn_pair
    ids, lengths = padded(seed=3)
    more, _ = padded(seed=3, extra=11)
    np.testing.assert_allclose(np.asarray(ours(more)), np.asarray(ours(ids)), **TOL)
    trimmed = np.asarray(ours(ids[1:2, :lengths[1]]))                   # no padding at all
    np.testing.assert_allclose(trimmed, np.asarray(ours(ids[1:2])), **TOL)
    reversed_ids = ids[:1, ::-1].copy()                                 # row 0 has no padding
    assert abs(float(ours(reversed_ids)[0, 0]) - float(ours(ids[:1])[0, 0])) > 1e-4


def numpy_bag_of_words(weights, ids):
    """Masked mean of the embeddings -> relu layer -> sigmoid, in float64."""
    embedding, w1, b1, w2, b2 = [np.asarray(w, np.float64) for w in weights]
    mask = (ids != 0)[..., None]                                        # (N, T, 1)
    mean = (embedding[ids] * mask).sum(axis=1) / mask.sum(axis=1)      # (N, E)
    hidden = np.maximum(mean @ w1 + b1, 0.0)                            # (N, H)
    return 1.0 / (1.0 + np.exp(-(hidden @ w2 + b2)))                    # (N, 1)


def test_bag_of_words_equals_numpy_and_ignores_order():
    model = ex.build_bag_of_words(V, E, H)
    shapes = [(V, E), (E, H), (H,), (H, 1), (1,)]
    assert [tuple(w.shape) for w in model.get_weights()] == shapes
    weights = seeded(shapes, seed=4)
    model.set_weights(weights)
    ids, _ = padded(seed=5, extra=4)
    np.testing.assert_allclose(np.asarray(model(ids)), numpy_bag_of_words(weights, ids), **TOL)
    shuffled = ids[:1, np.random.default_rng(0).permutation(ids.shape[1])]   # padding moved too
    np.testing.assert_allclose(np.asarray(model(shuffled)), np.asarray(model(ids[:1])), **TOL)


def test_stand_in_cell_gives_the_same_model():
    # The grader may hand in Keras's own LSTMCell: the architecture must not depend on ours.
    model = ex.build_rnn_classifier(keras.layers.LSTMCell, V, E, H)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in keras_rnn().get_weights()]


def test_accuracy_by_subset_accepts_column_probabilities():
    probabilities = np.array([[0.9], [0.2], [0.6], [0.4]])              # (N, 1), as predict gives
    labels, subset = np.array([1, 1, 0, 0]), np.array([True, True, False, False])
    assert sentiment.accuracy_by_subset(probabilities, labels, subset) == {
        "overall": 0.5, "order_dependent": 0.5, "order_independent": 0.5}
    assert sentiment.accuracy_by_subset(probabilities[:, 0], labels, subset)["overall"] == 0.5
    with pytest.raises(ValueError, match="shapes"):
        sentiment.accuracy_by_subset(probabilities[:3], labels, subset)


def test_fit_classifier_is_seeded_and_learns_a_tiny_task():
    data = reviews.generate_reviews(256, 6)
    x, y = sentiment.token_ids(data["text"]), data["label"]
    runs = [sentiment.fit_classifier(lambda: ex.build_bag_of_words(V, 8, 8), x, y, seed=3,
                                     epochs=8, batch_size=64, learning_rate=0.05)
            for _ in range(2)]
    (first, history), (second, _) = runs
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history["loss"][-1] < history["loss"][0] and len(history["accuracy"]) == 8


def test_misclassified_and_confusion_matrix():
    texts = ["a", "b", "c", "d", "e"]
    labels = np.array([1, 0, 1, 0, 1])
    probabilities = np.array([0.2, 0.95, 0.7, 0.45, 0.4])
    assert ex.misclassified(texts, labels, probabilities) == [
        ("b", 0, pytest.approx(0.95)), ("a", 1, pytest.approx(0.8)), ("e", 1, pytest.approx(0.6))]
    assert ex.misclassified(texts, labels, probabilities, count=1)[0][0] == "b"
    np.testing.assert_array_equal(ex.confusion_matrix(labels, probabilities), [[1, 1], [2, 1]])


def test_plots_return_their_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2)
    assert ex.plot_confusion_matrix(left, np.array([[3, 1], [0, 4]])) is left
    assert sorted(t.get_text() for t in left.texts) == ["0", "1", "3", "4"]
    histories = {"rnn": {"accuracy": [0.5, 0.9], "val_accuracy": [0.6, 0.95]},
                 "bag": {"accuracy": [0.5, 0.7]}}
    assert ex.plot_training_curves(right, histories) is right
    styles = [(line.get_linestyle(), line.get_marker()) for line in right.get_lines()]
    # a marker per model, a line style per split (+ chance): told apart without colour
    assert styles[:3] == [("-", "o"), ("--", "o"), ("-", "s")] and len(set(styles)) == 4
    assert figure_problems(figure) == []
    plt.close(figure)


def test_release_strips_the_three_student_functions():
    from rnnkit.grader.stubs import strip_solutions

    path = KIT_ROOT / "solutions" / "ex05_sentiment.py"
    source = path.read_text()
    assert "solutions" not in source.replace("# BEGIN SOLUTION", "").replace(
        "# END SOLUTION", "")
    tree = ast.parse(strip_solutions(source, path.name))
    stubs = sorted(f.name for f in tree.body if isinstance(f, ast.FunctionDef)
                   and "NotImplementedError" in ast.unparse(f))
    assert stubs == ["build_bag_of_words", "build_rnn_classifier", "make_vectorizer"]
    assert "problem shape" in source.lower() and "many-to-one" in source


# -- the grader's diagnoses (tests/grading/test_ex05.py), on mistakes made here --------------
def test_token_id_diagnoses_name_the_mistake():
    from tests.grading.test_ex05 import explain_ids

    texts = ["The plot was NOT good!", "dull but superb acting", "very very bad"]
    vocabulary, length = reviews.VOCABULARY, 8
    want = np.asarray(ex.make_vectorizer(vocabulary, length)(texts))
    extra = np.asarray(ex.make_vectorizer(["[UNK]"] + list(vocabulary), length)(texts))
    assert "1 too high" in explain_ids(extra, want)
    raw = keras.layers.TextVectorization(vocabulary=list(vocabulary), standardize=None,
                                         output_sequence_length=length)
    assert "[UNK]" in explain_ids(np.asarray(raw(texts)), want)
    left = np.asarray(keras.utils.pad_sequences(
        [row[row > 0] for row in want], maxlen=length, padding="pre"))
    assert "on the left" in explain_ids(left, want)
    assert explain_ids(want, want) is None


def test_shape_diagnosis_names_a_missing_direction():
    from tests.grading.test_ex05 import SMALL, shape_problem

    class Direct:  # the check's oracle calls, made in this process (no grading session here)
        def oracle(self, function, *args, **kwargs):
            return function.resolve()(*args, **kwargs)

    sizes = (SMALL["vocabulary_size"], SMALL["embedding_dim"], SMALL["units"])
    model = ex.build_rnn_classifier(ex.LSTMCell, *sizes)
    assert shape_problem(Direct(), "rnn", SMALL, [list(w.shape) for w in model.weights]) is None
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(sizes[0], sizes[1], mask_zero=True)(ids)
    forward = keras.Model(ids, keras.layers.Dense(1)(keras.layers.RNN(ex.LSTMCell(sizes[2]))(x)))
    problem = shape_problem(Direct(), "rnn", SMALL, [list(w.shape) for w in forward.weights])
    assert "one direction only" in problem and "build_rnn_classifier" in problem
