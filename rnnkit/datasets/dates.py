"""Dates written the way people write them -> ISO 8601 (ex09's transduction).

    "thursday, march 7, 2019"  -> "2019-03-07"
    "the 7th of march 2019"    -> "2019-03-07"
    "07.03.2019"               -> "2019-03-07"      (numeric dates are always day first)
    "mar 2019"                 -> "2019-03"         (ISO 8601's reduced precision: month only)

Inputs are 6 to 29 characters, outputs 7 or 10: output length differs from input length
and varies, so the decoder must learn where to emit <stop>. Dates run from FIRST_DATE to
LAST_DATE. The splits are disjoint BY DATE: a test date never appears in training or
validation in any format (the split of a day is fixed by its ordinal, not drawn).

Pure stdlib/NumPy and deterministic: `pairs(split, n, seed)` returns the same pairs on
every machine. `read_pairs(path)` reads a user's own tab-separated file of pairs.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from rnnkit.datasets import DataError

FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SPLITS = ("train", "validation", "test")
SOURCE_CHARS = " ,./0123456789abcdefghijklmnopqrstuvwxyz"   # every character an input uses
TARGET_CHARS = "-0123456789"                                # every character an output uses
MAX_SOURCE_LENGTH, MAX_TARGET_LENGTH = 29, 10               # checked by the kit's tests


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _full(d: datetime.date) -> list[str]:
    """Every format of a full date (day, month and year)."""
    month, mon, weekday = MONTHS[d.month - 1], MONTHS[d.month - 1][:3], WEEKDAYS[d.weekday()]
    return [f"{d.day} {month} {d.year}", f"{d.day:02d} {mon} {d.year}",
            f"{month} {d.day}, {d.year}", f"{mon} {d.day}, {d.year}",
            f"{weekday}, {month} {d.day}, {d.year}", f"{weekday[:3]} {d.day} {mon} {d.year}",
            f"{d.day:02d}.{d.month:02d}.{d.year}", f"{d.day}.{d.month}.{d.year}",
            f"{d.year}/{d.month:02d}/{d.day:02d}", f"{d.year}{d.month:02d}{d.day:02d}",
            f"the {_ordinal(d.day)} of {month} {d.year}", f"{_ordinal(d.day)} {month} {d.year}"]


def _month_only(d: datetime.date) -> list[str]:
    """Every format of a month of a year (no day): the output is "YYYY-MM"."""
    month = MONTHS[d.month - 1]
    return [f"{month} {d.year}", f"{month[:3]} {d.year}", f"{d.month:02d}/{d.year}"]


FULL_FORMATS, MONTH_FORMATS = len(_full(FIRST_DATE)), len(_month_only(FIRST_DATE))
MONTH_ONLY_SHARE = 0.2   # share of pairs that name a month without a day


def split_of(d: datetime.date) -> str:
    """The split a date belongs to, fixed by its ordinal: 80 % train, 10 % validation, 10 % test."""
    bucket = (d.toordinal() * 7919) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def _split_days(split: str) -> np.ndarray:
    first, last = FIRST_DATE.toordinal(), LAST_DATE.toordinal()
    days = np.arange(first, last + 1)
    buckets = (days * 7919) % 10
    keep = {"test": buckets == 0, "validation": buckets == 1, "train": buckets >= 2}[split]
    return days[keep]


def pairs(split: str = "train", n: int = 1000, seed: int = 0) -> list[tuple[str, str]]:
    """n (source, target) pairs of `split`, drawn with `seed`: the same on every machine.

    Each pair: a uniformly drawn date of the split; with probability MONTH_ONLY_SHARE a
    month-only format (target "YYYY-MM"), otherwise a full-date format ("YYYY-MM-DD"),
    each format equally likely.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; the dates data set has {', '.join(SPLITS)}")
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise DataError(f"n must be a positive int, received n={n!r}")
    rng = np.random.default_rng([int(seed), SPLITS.index(split)])
    days = _split_days(split)
    chosen = rng.choice(days, size=n)                               # (n,) ordinals
    month_only = rng.random(n) < MONTH_ONLY_SHARE                   # (n,) bool
    formats = rng.integers(0, FULL_FORMATS * MONTH_FORMATS, size=n)  # (n,) any format index
    result = []
    for ordinal, short, index in zip(chosen, month_only, formats):
        d = datetime.date.fromordinal(int(ordinal))
        if short:
            result.append((_month_only(d)[index % MONTH_FORMATS], f"{d.year:04d}-{d.month:02d}"))
        else:
            result.append((_full(d)[index % FULL_FORMATS], d.isoformat()))
    return result


def read_pairs(path) -> list[tuple[str, str]]:
    """A user's own pairs: a UTF-8 text file, one `source<TAB>target` pair per line.

    Blank lines and lines starting with `#` are skipped. Raises DataError (one line naming the file and line) for a
    missing or undecodable file, a line without exactly one tab, an empty side, or a file
    with no pairs.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start})") from None
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise DataError(f"{path}, line {number}: expected `source<TAB>target`, "
                            f"got {line[:60]!r}")
        result.append((fields[0].strip(), fields[1].strip()))
    if not result:
        raise DataError(f"{path}: no pairs (expected lines `source<TAB>target`)")
    return result
