"""Tests of the dates data set (ex09): the NumPy generator, the reader of users' files and
the tfds builder `rnnkit_dates` (offline, deterministic, one-line errors).

Independent checks: every target is re-derived from the source with Python's own
`datetime.strptime`, and every weekday with `datetime.date.weekday`.

Run: PYTHONPATH=. python -m pytest -q tests/kit/library/test_dates_dataset.py
"""
import datetime
import os
import re
import socket

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from rnnkit import KIT_ROOT  # noqa: E402
from rnnkit import datasets  # noqa: E402
from rnnkit.datasets import DataError, dates  # noqa: E402

SAMPLE = KIT_ROOT / "data" / "samples" / "dates" / "pairs.tsv"
STRPTIME = ["%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%A, %B %d, %Y", "%a %d %b %Y",
            "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d"]


def parse(source):
    """The ISO form of `source`, by strptime (English month names), not by the generator."""
    text = re.sub(r"\b(\d+)(st|nd|rd|th)( of)?\b", r"\1", source.removeprefix("the "))
    for pattern in STRPTIME:
        try:
            return datetime.datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            pass
    for pattern in ("%B %Y", "%b %Y", "%m/%Y"):
        try:
            return datetime.datetime.strptime(text, pattern).strftime("%Y-%m")
        except ValueError:
            pass
    raise AssertionError(f"no format parses {source!r}")


def test_pairs_are_correct_and_within_the_alphabets():
    pairs = dates.pairs("train", 3000, seed=5)
    assert len(pairs) == 3000
    lengths = set()
    for source, target in pairs:
        assert parse(source) == target, source
        first = source.split(" ")[0].rstrip(",")
        if first[:3] in {w[:3] for w in dates.WEEKDAYS}:   # strptime does not check weekdays
            assert datetime.date.fromisoformat(target).strftime("%A").lower().startswith(first)
        assert set(source) <= set(dates.SOURCE_CHARS) and set(target) <= set(dates.TARGET_CHARS)
        assert len(source) <= dates.MAX_SOURCE_LENGTH and len(target) <= dates.MAX_TARGET_LENGTH
        lengths.add(len(target))
    assert lengths == {7, 10}                       # both ISO precisions occur
    month_only = sum(len(t) == 7 for _, t in pairs) / len(pairs)
    assert abs(month_only - dates.MONTH_ONLY_SHARE) < 0.03
    assert len({s for s, _ in pairs}) > 2900        # not a handful of repeated strings


def test_deterministic_and_seeded():
    assert dates.pairs("test", 50, seed=3) == dates.pairs("test", 50, seed=3)
    assert dates.pairs("test", 50, seed=3) != dates.pairs("test", 50, seed=4)
    assert dates.pairs("train", 50, seed=3) != dates.pairs("test", 50, seed=3)


def test_splits_are_disjoint_by_date():
    seen = {split: {t[:10] for _, t in dates.pairs(split, 4000, seed=0) if len(t) == 10}
            for split in dates.SPLITS}
    assert not seen["train"] & seen["test"] and not seen["train"] & seen["validation"]
    assert not seen["validation"] & seen["test"]
    for split, days in seen.items():
        assert all(dates.split_of(datetime.date.fromisoformat(d)) == split for d in days)


def test_longest_formats_fit_the_declared_maximum():
    longest = max(len(s) for s in dates._full(datetime.date(2049, 9, 29))
                  + dates._month_only(datetime.date(2049, 9, 29)))
    assert longest == dates.MAX_SOURCE_LENGTH       # "wednesday, september 29, 2049"


@pytest.mark.parametrize("split, n", [("dev", 10), ("train", 0), ("train", 2.5)])
def test_bad_arguments_raise_one_line(split, n):
    with pytest.raises(DataError) as error:
        dates.pairs(split, n)
    assert "\n" not in str(error.value)


def test_reader_reads_the_sample():
    pairs = dates.read_pairs(SAMPLE)
    assert pairs[0] == ("march 7, 2019", "2019-03-07") and len(pairs) == 7


@pytest.mark.parametrize("content, expected", [
    (b"march 7, 2019 2019-03-07\n", "line 1: expected `source<TAB>target`"),
    (b"ok\t2019\n\t2019-03-07\n", "line 2"),
    (b"\n# only a comment\n", "no pairs"),
    (b"\xff\xfe\x00", "not UTF-8"),
])
def test_reader_errors_name_file_and_line(tmp_path, content, expected):
    path = tmp_path / "mine.tsv"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        dates.read_pairs(path)
    assert expected in str(error.value) and "mine.tsv" in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match="no such file"):
        dates.read_pairs(tmp_path / "missing.tsv")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """rnnkit_dates/small built twice into two folders, with every socket refused."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()

    def no_network(*args, **kwargs):
        raise OSError("network access attempted during the build")

    original, socket.socket = socket.socket, no_network
    try:
        return [{split: [(s.decode(), t.decode()) for s, t in tfds.as_numpy(
                    datasets.load("rnnkit_dates/small", split, data_dir=folder,
                                  as_supervised=True))]
                 for split in dates.SPLITS}
                for folder in (tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b"))]
    finally:
        socket.socket = original


def test_builder_splits_sizes_and_order(built):
    first, second = built
    assert {split: len(rows) for split, rows in first.items()} == \
        {"train": 6000, "validation": 2000, "test": 2000}
    assert first == second                                     # two builds identical
    assert first["test"] == dates.pairs("test", 2000, seed=0)  # the generator, in order


@pytest.mark.parametrize("name, split, expected", [
    ("rnnkit_dates/huge", "train", "valid configs of rnnkit_dates are"),
    ("rnnkit_nothing", "train", "unknown data set"),
    ("rnnkit_dates/small", "dev", "unknown split 'dev'"),
])
def test_builder_bad_arguments(tmp_path, name, split, expected):
    with pytest.raises(DataError) as error:
        datasets.load(name, split, data_dir=tmp_path)
    assert expected in str(error.value) and "\n" not in str(error.value)
