"""Tests of the review corpus (rnnkit.datasets.reviews), its tfds builder `rnnkit_reviews` and
the review-folder reader.

The order-dependent tag is checked empirically, independently of `order_dependent()`: in a
large sample, every bag of words (multiset of words) that occurs with both labels must be
tagged on all its reviews, and no untagged review may share its bag with a review of the
other label.

Run: PYTHONPATH=. python -m pytest -q tests/kit/library/test_reviews_dataset.py
"""
import os
import socket
import time
from collections import defaultdict

import numpy as np
import pytest

from rnnkit import KIT_ROOT
from rnnkit.datasets import DataError, reviews

SAMPLE = KIT_ROOT / "data" / "samples" / "reviews"


# -- the generator -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, label", [
    ("the plot was good", 1), ("the plot was not good", 0), ("the plot was never boring", 1),
    ("the plot was far from boring", 1), ("the plot was not very good", 0),
    ("the plot was not very bad", 1),
    ("the plot was dull but the acting was superb", 1),
    ("the plot was superb but the acting was dull", 0),
    ("although the plot was superb the acting was dull", 0),
    ("the plot was superb although the acting was dull", 1),
    ("the plot was very dull and the acting was good", 0),
    ("the plot was dull and the acting was very good", 1),
])
def test_labels_follow_the_stated_semantics(text, label):
    """Hand-labelled reviews, parsed here by a tiny reader of the module docstring's grammar."""
    words = text.split()
    form, clauses = "single", [words]
    for connective in ("and", "but", "yet"):
        if connective in words:
            k = words.index(connective)
            form, clauses = connective, [words[:k], words[k + 1:]]
    if "although" in words:
        k = words.index("although")
        rest = words[k + 1:]
        if k == 0:                             # "although" A B: the second clause wins
            split = rest.index("the", 1)
            form, clauses = "although_second", [rest[:split], rest[split:]]
        else:                                  # A "although" B: the first clause wins
            form, clauses = "although_first", [words[:k], rest]
    parts = []
    for clause in clauses:
        after = clause[clause.index("was") + 1:]
        modifier = tuple(" ".join(after[:-1]).replace("far from", "far_from").split())
        parts.append((tuple(m.replace("far_from", "far from") for m in modifier), after[-1]))
    values = [reviews.clause_value(*part) for part in parts]
    assert reviews.review_label(form, values) == label


@pytest.fixture(scope="module")
def splits():
    return {split: reviews.load_split(split) for split in reviews.SPLITS}


def test_split_sizes_balance_and_lengths(splits):
    for split, (n, _) in reviews.SPLITS.items():
        data = splits[split]
        assert len(data["text"]) == len(data["form"]) == n
        assert data["label"].shape == data["order_dependent"].shape == (n,)
        assert data["label"].sum() == n // 2                     # exactly balanced
        assert max(len(t.split()) for t in data["text"]) <= reviews.SEQUENCE_LENGTH
        assert 0.4 < data["order_dependent"].mean() < 0.75       # a sizeable subset
        assert set(data["form"]) == set(reviews.FORMS)


def test_deterministic_and_seed_dependent():
    a, b = reviews.generate_reviews(50, 9), reviews.generate_reviews(50, 9)
    assert a["text"] == b["text"] and np.array_equal(a["label"], b["label"])
    assert reviews.generate_reviews(50, 10)["text"] != a["text"]
    with pytest.raises(ValueError, match="n=0"):
        reviews.generate_reviews(0, 1)


def test_vocabulary_covers_every_generated_word(splits):
    words = {w for data in splits.values() for t in data["text"] for w in t.split()}
    assert words == set(reviews.VOCABULARY)
    assert list(reviews.VOCABULARY) == sorted(reviews.VOCABULARY)


def clauses_of(text):
    """The (aspect, adjective) pairs of a review (the aspect follows the first 'the')."""
    words, pairs = text.split(), []
    for k, word in enumerate(words):
        if word in reviews.ASPECTS:
            adjective = next(w for w in words[k:] if w in reviews.POSITIVE + reviews.NEGATIVE)
            pairs.append((word, adjective))
    return pairs


def test_test_split_holds_out_combinations(splits):
    seen = {pair for split in ("train", "validation") for t in splits[split]["text"]
            for pair in clauses_of(t)}
    test_pairs = {pair for t in splits["test"]["text"] for pair in clauses_of(t)}
    assert not seen & test_pairs                                  # no test pair in training
    assert not set(splits["test"]["text"]) & set(splits["train"]["text"])
    adjectives = {a for _, a in test_pairs}
    assert adjectives == set(reviews.POSITIVE + reviews.NEGATIVE)  # every adjective is tested


NEUTRAL = set(reviews.ASPECTS) | {w for f in reviews.FRAMES + reviews.PREFIXES
                                   for w in f.split() if "{" not in w}
CLASS = {**{w: "POS" for w in reviews.POSITIVE}, **{w: "NEG" for w in reviews.NEGATIVE},
         **{w: "INT" for w in reviews.INTENSIFIERS}, "never": "NOT", "hardly": "NOT",
         "far_from": "NOT"}


def sentiment_bag(text):
    """The multiset of the words that carry sentiment, each replaced by its class (labels
    depend only on these classes, so a bag with both labels means a rearrangement exists)."""
    words = text.replace("far from", "far_from").split()
    return tuple(sorted(CLASS.get(w, w) for w in words if w not in NEUTRAL))


def test_order_dependent_tag_matches_bags_of_words():
    """A bag that occurs with both labels is tagged on all its reviews, and a tagged
    review's bag occurs with both labels (in a sample large enough to hold most)."""
    data = reviews.generate_reviews(20000, 4)
    labels_by_bag = defaultdict(set)
    bags = [sentiment_bag(text) for text in data["text"]]
    for bag, label in zip(bags, data["label"]):
        labels_by_bag[bag].add(int(label))
    ambiguous = np.array([len(labels_by_bag[bag]) == 2 for bag in bags])
    untagged = np.flatnonzero(ambiguous & ~data["order_dependent"])
    assert not len(untagged), f"bags with both labels, untagged: {data['text'][untagged[0]]!r}"
    assert ambiguous.sum() > 5000                    # the test can fail: such bags are common
    assert ambiguous[data["order_dependent"]].mean() > 0.95


# -- the reader --------------------------------------------------------------------------------
def test_reader_on_the_shipped_sample():
    train = reviews.read_review_folder(SAMPLE, "train")
    assert train["label"].tolist() == [0, 0, 0, 1, 1, 1]          # neg first, unsup ignored
    assert all("<br" not in t for t in train["text"])
    assert any("café" in t and "—" in t for t in train["text"])   # UTF-8 kept
    assert [os.path.basename(p) for p in train["path"]][:1] == ["0_2.txt"]
    test = reviews.read_review_folder(SAMPLE, "test")
    assert len(test["text"]) == 4 and test["label"].sum() == 2


def one_line_error(function, *args, match):
    with pytest.raises(DataError) as caught:
        function(*args)
    message = str(caught.value)
    assert "\n" not in message and match in message, message
    return message


def test_reader_errors_name_the_file(tmp_path):
    for name in ("pos", "neg"):
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "train" / name / "0_1.txt").write_text("fine", encoding="utf-8")
    bad = tmp_path / "train" / "pos" / "1_9.txt"
    bad.write_bytes("caf\u00e9".encode("latin-1"))
    message = one_line_error(reviews.read_review_folder, tmp_path, "train", match=str(bad))
    assert "not UTF-8" in message
    bad.write_text("   ", encoding="utf-8")
    one_line_error(reviews.read_review_folder, tmp_path, "train", match="empty review")
    one_line_error(reviews.read_review_folder, tmp_path, "test", match=str(tmp_path / "test"))
    for path in (tmp_path / "train" / "neg").iterdir():
        path.unlink()
    one_line_error(reviews.read_review_folder, tmp_path, "train",
                   match=str(tmp_path / "train" / "neg"))


# -- the tfds builder --------------------------------------------------------------------------
def build(data_dir, name="rnnkit_reviews", manual_dir=None):
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        try_download_gcs=False, manual_dir=None if manual_dir is None else str(manual_dir)))
    return builder


def no_network(*args, **kwargs):
    raise OSError("network access attempted during a build")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two independent builds with sockets refused; (builders, seconds of the first)."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    patch = pytest.MonkeyPatch()
    patch.setattr(socket, "socket", no_network)
    try:
        start = time.perf_counter()
        first = build(tmp_path_factory.mktemp("a"))
        seconds = time.perf_counter() - start
        second = build(tmp_path_factory.mktemp("b"))
    finally:
        patch.undo()
    return first, second, seconds


def test_builder_splits_and_identical_builds(built, splits):
    first, second, seconds = built
    assert seconds < 30, f"building took {seconds:.1f} s"
    for split, (n, _) in reviews.SPLITS.items():
        assert first.info.splits[split].num_examples == n
        a = list(first.as_dataset(split=split).as_numpy_iterator())
        b = list(second.as_dataset(split=split).as_numpy_iterator())
        assert [e["text"] for e in a] == [e["text"] for e in b]
        assert [e["text"].decode() for e in a] == splits[split]["text"]   # generator order
        assert [bool(e["order_dependent"]) for e in a] == splits[split]["order_dependent"].tolist()


def test_tfds_load_as_supervised(built):
    import tensorflow_datasets as tfds

    data_dir = built[0].data_dir.split("/rnnkit_reviews/")[0]
    text, label = next(iter(tfds.load("rnnkit_reviews", split="test", as_supervised=True,
                                      data_dir=data_dir)))
    assert text.dtype.name == "string" and int(label) in (0, 1)


def test_folder_config_reads_the_sample_and_refuses_a_bad_file(tmp_path):
    builder = build(tmp_path / "ok", "rnnkit_reviews/folder", manual_dir=SAMPLE)
    assert builder.info.splits["train"].num_examples == 6
    assert builder.info.splits["test"].num_examples == 4
    broken = tmp_path / "broken"
    for split in ("train", "test"):
        for name in ("pos", "neg"):
            (broken / split / name).mkdir(parents=True)
            (broken / split / name / "0_1.txt").write_text("fine", encoding="utf-8")
    (broken / "train" / "neg" / "5_1.txt").write_bytes(b"\xff\xfe bad")
    one_line_error(build, tmp_path / "bad", "rnnkit_reviews/folder", broken,
                   match=str(broken / "train" / "neg" / "5_1.txt"))
