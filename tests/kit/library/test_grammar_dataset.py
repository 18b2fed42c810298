"""Tests of the ex07 corpus: the grammar's generator and parser, the `rnnkit_grammar` tfds
builder, and the reader of a user's own UTF-8 text file.

The parser is checked against an independent enumeration of the language (every sentence
the grammar derives, built bottom-up), and on corrupted sentences; the builder for split
sizes, reproducible builds, no network and clear errors.

Run: PYTHONPATH=. python -m pytest -q tests/kit/library/test_grammar_dataset.py
"""
import os
import socket

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnkit import KIT_ROOT  # noqa: E402
from rnnkit.datasets import DataError, grammar, text  # noqa: E402


@pytest.fixture(scope="module")
def language():
    return set(grammar.all_sentences())


def test_the_language_and_its_alphabet(language):
    assert len(language) == 19360
    lengths = [len(s) for s in language]
    assert min(lengths) == 11 and max(lengths) == grammar.MAX_CHARS
    assert set("".join(language)) == set(grammar.ALPHABET)


def test_parser_accepts_exactly_the_language(language):
    assert all(grammar.parse(s) for s in language)
    rng = np.random.default_rng(0)
    corrupted = set()
    for s in rng.choice(sorted(language), 300):
        i = int(rng.integers(len(s)))
        corrupted.add(s[:i] + str(rng.choice(list(grammar.ALPHABET))) + s[i + 1:])   # substitute
        corrupted.add(s[:i] + s[i + 1:])                                            # delete
    for s in corrupted:
        assert grammar.parse(s) == (s in language), s
    assert sum(s not in language for s in corrupted) > 400      # most corruptions are errors


@pytest.mark.parametrize("sentence", ["the cats sleeps.", "a dogs run.", "some cat runs.",
                                      "the cat sleeps", " the cat sleeps.", "the cat  sleeps.",
                                      "the cat sleeps the dog.", "The cat sleeps.", "", 3])
def test_parser_rejects(sentence):
    assert not grammar.parse(sentence)


def test_generator_is_deterministic_and_weighted(language):
    a, b = grammar.sentences(3000, seed=4), grammar.sentences(3000, seed=4)
    assert a == b != grammar.sentences(3000, seed=5)
    assert set(a) <= language
    # an intransitive sentence ends with its verb, a transitive one with its object's noun
    intransitive = np.mean([s[:-1].split()[-1] in {"sleeps", "runs", "sleep", "run"} for s in a])
    assert abs(intransitive - 0.25) < 0.03            # WEIGHTS: intransitive 1 : transitive 3
    assert grammar.split_sentences("train", 2000)[:100] == grammar.split_sentences("train", 100)
    with pytest.raises(ValueError, match="split"):
        grammar.split_sentences("dev", 3)


# -- the tfds builder ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import tensorflow_datasets as tfds

    import rnnkit.datasets as datasets

    tfds.disable_progress_bar()
    directories = [tmp_path_factory.mktemp("tfds_a"), tmp_path_factory.mktemp("tfds_b")]
    real_socket = socket.socket

    def no_network(*args, **kwargs):
        raise AssertionError("the builder tried to open a network connection")

    socket.socket = no_network
    try:
        splits = [{split: [x.decode() for x in tfds.as_numpy(
            datasets.load("rnnkit_grammar/small", split, data_dir=d, as_supervised=True)
            .map(lambda a, b: a))] for split in ("train", "validation", "test")}
            for d in directories]
    finally:
        socket.socket = real_socket
    return splits


def test_builder_splits_equal_the_generator(built):
    first, second = built
    sizes = {"train": 2000, "validation": 500, "test": 500}
    for split, n in sizes.items():
        assert first[split] == grammar.split_sentences(split, n)
    assert first == second                                      # two builds, identical


def test_builder_as_supervised_gives_text_twice(tmp_path):
    import tensorflow_datasets as tfds

    from rnnkit.datasets import load

    x, y = next(iter(tfds.as_numpy(load("rnnkit_grammar", "test", data_dir=tmp_path,
                                        as_supervised=True))))
    assert x == y == grammar.split_sentences("test", 1)[0].encode()


def test_unknown_data_set_or_config_is_one_clear_line(tmp_path):
    from rnnkit.datasets import load

    with pytest.raises(DataError, match="unknown data set 'rnnkit_grammer'"):
        load("rnnkit_grammer", "train")
    with pytest.raises(DataError, match="rnnkit_grammar/huge") as error:
        load("rnnkit_grammar/huge", "train", data_dir=tmp_path)
    assert "\n" not in str(error.value)


# -- a user's own text file ------------------------------------------------------------------
def test_sample_text_reads():
    lines = text.read_text_lines(KIT_ROOT / "data" / "samples" / "text" / "proverbs.txt", 30)
    assert "Petit à petit, l'oiseau fait so" not in lines           # cut at 30 characters
    assert "Petit à petit, l'oiseau fait s" in lines and all(len(s) <= 30 for s in lines)
    assert "Übung macht den Meister." in lines


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b" \n\t\n", "only whitespace"),
    (b"caf\xe9 au lait\n", r"not UTF-8 text \(byte 0xe9 at offset 3, line 1\)"),
    (b"ok\nline two \xff\n", r"byte 0xff at offset 12, line 2"),
])
def test_bad_files_raise_one_line(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        text.read_text(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        text.read_text(tmp_path / "absent.txt")
    with pytest.raises(DataError, match="not a file"):
        text.read_text(tmp_path)


def test_bom_and_line_endings(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes("\ufeffune ligne\r\ndeux\r\n\r\n".encode("utf-8"))
    assert text.read_text_lines(path, 80) == ["une ligne", "deux"]
