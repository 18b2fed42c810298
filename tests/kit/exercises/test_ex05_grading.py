"""ex05's corpus of classic mistakes (issue 24): each planted in a correct module written in
another style than solutions/ (tests/kit/exercises/styled/ex05_sentiment.py: set_vocabulary,
the two directions written out by hand, a Sequential bag of words), graded, and held to the
words its feedback must contain; the checks no mistake of a grading names keep their points.

One grading per group of mistakes that hit different checks. The training checks run only
where a mistake concerns them: a backward direction that reads the padding first must not be
credited by the BiLSTM's training check, whose feedback points to the masking check, nor
a BiLSTM without its sigmoid (pointing to the checks that name it); it fails before anything
trains, so the check costs no training.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex05_grading.py   (four gradings)
"""
import pytest

from corpus import (assert_named_where_it_costs,  # noqa: E402
                    assert_untouched_checks_keep_their_points)
from corpus import Group, Mistake, cases, find, grade_groups

SET_VOCABULARY = "    vectorizer.set_vocabulary(list(vocabulary))"
MASKING = "Masking is honoured: padding a review more does not change its prediction"
CORPUS = {
    "adapt instead of the given vocabulary": Mistake(
        [(SET_VOCABULARY, "    vectorizer.adapt(list(vocabulary))")],
        {"make_vectorizer": ["adapt() on the given word list", "vocabulary=..."]}),
    "adapting on the training text": Mistake(
        [(SET_VOCABULARY, '    vectorizer.adapt(reviews.load_split("train")["text"])')],
        {"make_vectorizer": ["adapt()ed on the training reviews", "vocabulary=..."]}),
    "adapting on the test text": Mistake(
        [(SET_VOCABULARY, '    vectorizer.adapt(reviews.load_split("test")["text"])')],
        {"make_vectorizer": ["adapt()ed on the TEST reviews", "leaks"]}),
    "missing standardisation": Mistake(
        [('standardize="lower_and_strip_punctuation"', "standardize=None")],
        {"make_vectorizer": ["came out as [UNK]", "keep the default standardisation"]}),
    "backward direction reads the padding first": Mistake(
        [("    right_to_left = layers.RNN(cell_class(units), go_backwards=True)(vectors)",
          "    right_to_left = layers.RNN(cell_class(units))(ops.flip(vectors, axis=1))")],
        {f"{MASKING} (rnn)": ["your backward direction reads the padding first"],
         "Trained by the kit, your BiLSTM": ["not credited", "backward direction reads the "
                                            "padding first", f"its check: '{MASKING} (rnn)'"]}),
    "missing mask (bag of words)": Mistake(
        [("layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True),",
          "layers.Embedding(vocabulary_size, embedding_dim),")],
        {f"{MASKING} (bag_of_words)": ["equals the same model without a mask",
                                       "mask_zero=True"]}),
    "no sigmoid (logits out)": Mistake(
        [('    return keras.Model(tokens, layers.Dense(1, activation="sigmoid")(both))',
          "    return keras.Model(tokens, layers.Dense(1)(both))")],
        {"build_rnn_classifier equals": ["leaves [0, 1]", "logits, not probabilities",
                                         'Dense(1, activation="sigmoid")'],
         f"{MASKING} (rnn)": ["logits, not probabilities"],
         "Trained by the kit, your BiLSTM": ["not credited", "build_rnn_classifier equals"]}),
    "missing mask (BiLSTM)": Mistake(
        [("                               mask_zero=True)(tokens)",
          "                               mask_zero=False)(tokens)")],
        {f"{MASKING} (rnn)": ["equals the same model without a mask"]}),
}
GROUPS = {
    "adapt, backward, bag mask": Group(
        ("adapt instead of the given vocabulary", "backward direction reads the padding first",
         "missing mask (bag of words)"),
        selection="not loses_where_order_matters", training=True),
    "adapt on test, rnn mask": Group(("adapting on the test text", "missing mask (BiLSTM)")),
    "standardisation, no sigmoid": Group(("missing standardisation", "no sigmoid (logits out)"),
                                         selection="not loses_where_order_matters",
                                         training=True),
    "adapt on training": Group(("adapting on the training text",), selection="preprocessing"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return grade_groups("ex05", CORPUS, GROUPS, tmp_path_factory.mktemp("ex05_corpus"))


@pytest.mark.parametrize("group, mistake, check, words", cases(CORPUS, GROUPS))
def test_corpus_each_mistake_is_named_where_it_costs(corpus, group, mistake, check, words):
    assert_named_where_it_costs(find(corpus[group], check), mistake, words)


@pytest.mark.parametrize("group", list(GROUPS))
def test_corpus_checks_no_mistake_names_keep_their_points(corpus, group):
    assert_untouched_checks_keep_their_points(CORPUS, GROUPS, corpus, group)
