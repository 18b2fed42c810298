"""Short film reviews whose label depends on word order (ex05), and a reader for review folders.

The generator (pure NumPy, deterministic for a seed) writes one- and two-clause reviews:

    clause   = FRAME(aspect, [modifier] adjective)      "i found the plot not very funny"
    modifier = negator | intensifier | "not" intensifier
    review   = [prefix] clause                          one clause
             | [prefix] clause "and" clause             the stronger clause wins
             | [prefix] clause ("but" | "yet") clause   the second clause wins
             | [prefix] "although" clause clause        the second (main) clause wins
             | [prefix] clause "although" clause        the first (main) clause wins

Value of a clause: an adjective is +1 or -1; an intensifier doubles it ("very dull" = -2);
a negator flips it ("not dull" = +1); "not" before an intensifier flips and halves it
("not very good" = -0.5). With "and", the label is the sign of the sum (ties are never
generated). The label is 1 (positive) or 0 (negative), exactly balanced in every split.

**Order-dependent subset.** A review is tagged `order_dependent` when another arrangement of
the same words in the same template ("the plot was dull but the acting was superb" ->
"the plot was superb but the acting was dull", or moving "very", "not" or "although" to the
other clause) has the other label: no function of the bag of words gets both right, so a
bag-of-words model sits near chance there.

**Held-out combinations.** Each adjective is paired with a fixed quarter of the aspects and
one negator and two intensifiers only in the test split, never in train or validation:
no clause of the test split occurs in training, so memorising phrases fails.

`read_review_folder` reads a user's folder in the layout of the public movie-review corpora
(`<root>/<split>/pos/*.txt`, `<root>/<split>/neg/*.txt`, one UTF-8 review per file).
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path

import numpy as np

from rnnkit.datasets import DataError

ASPECTS = ("plot", "acting", "script", "dialogue", "ending", "cast", "music", "pacing", "story",
           "soundtrack", "direction", "humour", "editing", "lighting", "villain", "hero",
           "finale", "premise", "score", "setting")
POSITIVE = ("good", "great", "superb", "brilliant", "charming", "gripping", "moving", "clever",
            "delightful", "excellent", "funny", "beautiful", "engaging", "fresh", "solid",
            "stunning")
NEGATIVE = ("bad", "dull", "boring", "awful", "clumsy", "weak", "tedious", "bland",
            "predictable", "messy", "flat", "lazy", "forgettable", "shallow", "painful", "silly")
NEGATORS = ("not", "never", "hardly", "far from")
INTENSIFIERS = ("very", "really", "truly", "extremely", "incredibly", "remarkably")
FRAMES = ("the {a} was {m}", "the {a} is {m}", "the {a} felt {m}", "the {a} seemed {m}",
          "i found the {a} {m}", "i thought the {a} was {m}")
PREFIXES = ("", "", "", "honestly", "overall", "to be fair", "in the end", "all in all",
            "frankly")
FORMS = ("single", "and", "but", "yet", "although_first", "although_second")
FORM_WEIGHTS = (0.25, 0.25, 0.15, 0.1, 0.125, 0.125)
CONTRASTING = 0.7            # chance that a second clause's adjective has the other polarity

SEQUENCE_LENGTH = 20         # the longest generated review has 20 words
SPLITS = {"train": (4000, 101), "validation": (500, 202), "test": (1000, 303)}  # (n, seed)
PARTITION_SEED = 7           # fixes which combinations are held out for the test split


def _vocabulary():
    words = set(ASPECTS + POSITIVE + NEGATIVE + INTENSIFIERS + ("and", "but", "yet", "although"))
    for phrase in NEGATORS + FRAMES + PREFIXES:
        words.update(phrase.replace("{a}", "").replace("{m}", "").split())
    return tuple(sorted(words))


VOCABULARY = _vocabulary()   # every word the generator writes, sorted: fixed token ids


@lru_cache(maxsize=1)
def held_out():
    """{adjective: (aspects, negators, intensifiers)} seen only in the test split."""
    rng = np.random.default_rng(PARTITION_SEED)
    table = {}
    for adjective in POSITIVE + NEGATIVE:
        aspects = rng.choice(len(ASPECTS), len(ASPECTS) // 4, replace=False)
        table[adjective] = (frozenset(ASPECTS[k] for k in aspects),
                            frozenset([NEGATORS[rng.integers(len(NEGATORS))]]),
                            frozenset(INTENSIFIERS[k] for k in
                                      rng.choice(len(INTENSIFIERS), 2, replace=False)))
    return table


def clause_value(modifier: tuple, adjective: str) -> float:
    """Value of `[modifier] adjective`; modifier = () | (negator,) | (intensifier,) |
    ("not", intensifier)."""
    value = 1.0 if adjective in POSITIVE else -1.0
    if len(modifier) == 2:
        return -0.5 * value
    if modifier and modifier[0] in INTENSIFIERS:
        return 2.0 * value
    return -value if modifier else value


def review_label(form: str, values: list) -> int | None:
    """1 positive, 0 negative, None for an "and" review whose clauses cancel."""
    if form == "single" or form == "although_first":
        total = values[0]
    elif form == "and":
        total = values[0] + values[1]
    else:                                       # but, yet, although_second: the second wins
        total = values[1]
    return None if total == 0 else int(total > 0)


def _is_modifier(words: tuple) -> bool:
    return (len(words) == 0 or (len(words) == 1 and words[0] in NEGATORS + INTENSIFIERS)
            or (len(words) == 2 and words[0] == "not" and words[1] in INTENSIFIERS))


def order_dependent(form: str, parts: list) -> bool:
    """Whether re-arranging the same words in the same template can change the label.

    parts: [(modifier, adjective), ...] per clause. Moves: give the adjectives and the
    modifier words ("not", "very", "far from", ...) to the clauses in any valid way, and (for
    "although") put "although" before the other clause.
    """
    if form == "single":
        return False
    label = review_label(form, [clause_value(m, a) for m, a in parts])
    words = parts[0][0] + parts[1][0]
    forms = ("although_first", "although_second") if form.startswith("although") else (form,)
    for order in set(itertools.permutations(words)):
        for cut in range(len(order) + 1):
            modifiers = (order[:cut], order[cut:])
            if not all(_is_modifier(m) for m in modifiers):
                continue
            for a1, a2 in ((parts[0][1], parts[1][1]), (parts[1][1], parts[0][1])):
                values = [clause_value(modifiers[0], a1), clause_value(modifiers[1], a2)]
                if any(review_label(f, values) not in (None, label) for f in forms):
                    return True
    return False


def _modifier(rng, adjective, test):
    """A random modifier for `adjective`, from the held-out words when `test`."""
    kind = rng.choice(4, p=(0.3, 0.3, 0.25, 0.15))   # none, negator, intensifier, not + int.
    if kind == 0:
        return ()
    _, negators, intensifiers = held_out()[adjective]

    def pick(words, held):
        allowed = sorted(held) if test else [w for w in words if w not in held]
        return allowed[rng.integers(len(allowed))]
    if kind == 1:
        return (pick(NEGATORS, negators),)
    if kind == 2:
        return (pick(INTENSIFIERS, intensifiers),)
    return ("not", pick(INTENSIFIERS, intensifiers))


def _clause(rng, adjective, test):
    held_aspects = held_out()[adjective][0]
    aspects = sorted(held_aspects) if test else [a for a in ASPECTS if a not in held_aspects]
    aspect = aspects[rng.integers(len(aspects))]
    modifier = _modifier(rng, adjective, test)
    frame = FRAMES[rng.integers(len(FRAMES))]
    return frame.format(a=aspect, m=" ".join(modifier + (adjective,))), (modifier, adjective)


def _adjective(rng, positive):
    words = POSITIVE if positive else NEGATIVE
    return words[rng.integers(len(words))]


def _review(rng, test):
    form = FORMS[rng.choice(len(FORMS), p=FORM_WEIGHTS)]
    first_positive = bool(rng.integers(2))
    text1, part1 = _clause(rng, _adjective(rng, first_positive), test)
    prefix = PREFIXES[rng.integers(len(PREFIXES))]
    if form == "single":
        return " ".join(filter(None, [prefix, text1])), form, [part1]
    second_positive = first_positive != (rng.random() < CONTRASTING)
    text2, part2 = _clause(rng, _adjective(rng, second_positive), test)
    words = {"and": [text1, "and", text2], "but": [text1, "but", text2],
             "yet": [text1, "yet", text2], "although_first": [text1, "although", text2],
             "although_second": ["although", text1, text2]}[form]
    return " ".join(filter(None, [prefix] + words)), form, [part1, part2]


def generate_reviews(n: int, seed: int, *, test: bool = False) -> dict:
    """n reviews, exactly balanced labels in random order, deterministic for `seed`.

    test=True draws every clause from the held-out combinations (see the module docstring).
    Returns {"text": list of n str, "label": (n,) int32 (1 positive),
             "order_dependent": (n,) bool, "form": list of n str (one of FORMS)}.
    """
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive int, received n={n!r}")
    rng = np.random.default_rng(seed)
    targets = rng.permutation(np.arange(n) % 2)                          # (n,) balanced
    result = {"text": [], "label": targets.astype("int32"),
              "order_dependent": np.zeros(n, bool), "form": []}
    for k, target in enumerate(targets):
        while True:                          # rejection: redraw until the label is target
            text, form, parts = _review(rng, test)
            if review_label(form, [clause_value(*part) for part in parts]) == target:
                break
        result["text"].append(text)
        result["form"].append(form)
        result["order_dependent"][k] = order_dependent(form, parts)
    return result


@lru_cache(maxsize=4)
def _split(split: str):
    n, seed = SPLITS[split]
    return generate_reviews(n, seed, test=split == "test")


def load_split(split: str) -> dict:
    """The kit's fixed split ("train", "validation" or "test") as `generate_reviews` returns
    it (a fresh copy; generated once per process)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, received split={split!r}")
    data = _split(split)
    return {key: list(value) if isinstance(value, list) else value.copy()
            for key, value in data.items()}


# -- a user's own reviews ------------------------------------------------------------------------
LABEL_FOLDERS = (("neg", 0), ("pos", 1))


def read_review_folder(root, split: str = "train", *, strip_html: bool = True) -> dict:
    """Read `<root>/<split>/neg/*.txt` (label 0) and `<root>/<split>/pos/*.txt` (label 1).

    The layout of the public movie-review corpora (other folders such as `unsup/` are
    ignored). One review per file, UTF-8; files in sorted name order, negatives first.
    strip_html replaces the corpora's `<br />` line breaks by spaces.
    Returns {"text": list of str, "label": (n,) int32, "path": list of str}.
    Raises DataError (one line naming the folder or file) when a folder is missing, holds
    no .txt file, or a file is not UTF-8 or is empty.
    """
    folder = Path(root) / split
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected {split}/pos and {split}/neg "
                        f"under {root})")
    result = {"text": [], "label": [], "path": []}
    for name, label in LABEL_FOLDERS:
        files = sorted((folder / name).glob("*.txt")) if (folder / name).is_dir() else []
        if not files:
            raise DataError(f"{folder / name}: no .txt review files (one review per file)")
        for path in files:
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"{path}: not UTF-8 (byte {error.start}: "
                                f"{error.object[error.start:error.start + 1]!r})") from None
            if strip_html:
                text = text.replace("<br />", " ").replace("<br/>", " ").replace("<br>", " ")
            if not text.strip():
                raise DataError(f"{path}: empty review")
            result["text"].append(text.strip())
            result["label"].append(label)
            result["path"].append(str(path))
    result["label"] = np.asarray(result["label"], "int32")
    return result
