"""A small English-like grammar whose sentences the kit generates and parses (ex07).

A character-level language model trained on its sentences can be judged by what it writes:
a sample is *valid* when `parse` accepts it and *novel* when it is not one of the training
sentences. The grammar has number agreement (subject and verb; determiner and noun), so a
model must carry information across a few words, not only spell them:

    the big cat chases some dogs.        valid
    some foxes sleep.                    valid
    the cats sleeps.                     agreement broken: rejected
    a dogs run.                          "a" with a plural noun: rejected

Sentences: words joined by single spaces, a full stop attached to the last word, nothing
else (no capitals, no leading or trailing space). 19,360 distinct sentences, 11 to 40
characters long. Pure Python/NumPy and deterministic for a seed: the grader and the
student's process build the same sentences.
"""
from __future__ import annotations

import functools

import numpy as np

# Nonterminal -> alternatives (tuples of symbols); a symbol that is not a key is a word.
GRAMMAR: dict[str, tuple[tuple[str, ...], ...]] = {
    "S": (("NP_sg", "VP_sg"), ("NP_pl", "VP_pl")),
    "NP": (("NP_sg",), ("NP_pl",)),
    "NP_sg": (("Det_sg", "N_sg"), ("Det_sg", "Adj", "N_sg")),
    "NP_pl": (("Det_pl", "N_pl"), ("Det_pl", "Adj", "N_pl")),
    "VP_sg": (("Vi_sg",), ("Vt_sg", "NP")),
    "VP_pl": (("Vi_pl",), ("Vt_pl", "NP")),
    "Det_sg": (("the",), ("a",)),
    "Det_pl": (("the",), ("some",)),
    "Adj": (("big",), ("small",), ("red",), ("old",)),
    "N_sg": (("cat",), ("dog",), ("fox",), ("bird",)),
    "N_pl": (("cats",), ("dogs",), ("foxes",), ("birds",)),
    "Vi_sg": (("sleeps",), ("runs",)),
    "Vi_pl": (("sleep",), ("run",)),
    "Vt_sg": (("sees",), ("chases",), ("likes",)),
    "Vt_pl": (("see",), ("chase",), ("like",)),
}
# Relative weights of the alternatives where they are not uniform: transitive verbs three
# times as often as intransitive ones, so that most sentences come from the large part of
# the language (19,200 transitive sentences, 160 intransitive) and samples can be novel.
WEIGHTS: dict[str, tuple[float, ...]] = {"VP_sg": (1.0, 3.0), "VP_pl": (1.0, 3.0)}
START_SYMBOL = "S"
END = "."
MAX_CHARS = 40          # the longest sentence: "some small birds chase some small birds."
ALPHABET = "".join(sorted({c for alts in GRAMMAR.values() for alt in alts for word in alt
                           if word not in GRAMMAR for c in word} | {" ", END}))


def _expand(symbol: str, rng: np.random.Generator, words: list[str]) -> None:
    if symbol not in GRAMMAR:
        words.append(symbol)
        return
    alternatives = GRAMMAR[symbol]
    weights = np.asarray(WEIGHTS.get(symbol, (1.0,) * len(alternatives)))
    choice = int(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(), side="right"))
    for child in alternatives[choice]:
        _expand(child, rng, words)


def sentence(rng: np.random.Generator) -> str:
    """One sentence: each nonterminal expands to one of its alternatives, uniformly or as
    WEIGHTS says."""
    words: list[str] = []
    _expand(START_SYMBOL, rng, words)
    return " ".join(words) + END


def sentences(n: int, seed: int = 0) -> list[str]:
    """`n` sentences drawn independently (repeats possible), deterministic for `seed`."""
    if n < 0:
        raise ValueError(f"n must be >= 0, received n={n!r}")
    rng = np.random.default_rng(seed)
    return [sentence(rng) for _ in range(n)]


def split_sentences(split: str, n: int) -> list[str]:
    """The sentences of a named split: train, validation and test use different seeds."""
    seeds = {"train": 0, "validation": 1, "test": 2}
    if split not in seeds:
        raise ValueError(f"split must be one of {sorted(seeds)}, received split={split!r}")
    return sentences(n, seed=seeds[split])


def _ends(symbol: str, words: tuple[str, ...], start: int) -> frozenset[int]:
    """Every position e such that `symbol` derives words[start:e]."""
    return _ends_cached(symbol, words, start)


@functools.lru_cache(maxsize=65536)
def _ends_cached(symbol: str, words: tuple[str, ...], start: int) -> frozenset[int]:
    if symbol not in GRAMMAR:
        return frozenset({start + 1}) if start < len(words) and words[start] == symbol \
            else frozenset()
    ends: set[int] = set()
    for alternative in GRAMMAR[symbol]:
        positions = {start}
        for child in alternative:
            positions = {e for p in positions for e in _ends(child, words, p)}
            if not positions:
                break
        ends |= positions
    return frozenset(ends)


def parse(text: str) -> bool:
    """True when `text` is a sentence of GRAMMAR, in the exact format `sentence` writes."""
    if not isinstance(text, str) or not text.endswith(END) or len(text) > 4 * MAX_CHARS:
        return False
    words = tuple(text[:-1].split(" "))
    return len(words) in _ends(START_SYMBOL, words, 0)


def all_sentences() -> list[str]:
    """Every sentence of the grammar (19,360), sorted: for tests and for measuring coverage."""
    @functools.lru_cache(maxsize=None)
    def expansions(symbol: str) -> tuple[tuple[str, ...], ...]:
        if symbol not in GRAMMAR:
            return ((symbol,),)
        out = []
        for alternative in GRAMMAR[symbol]:
            partial = [()]
            for child in alternative:
                partial = [p + e for p in partial for e in expansions(child)]
            out.extend(partial)
        return tuple(out)

    return sorted(" ".join(words) + END for words in expansions(START_SYMBOL))
