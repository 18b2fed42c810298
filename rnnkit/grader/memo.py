"""Oracle results remembered: within one grading, and across a class run's gradings.

An oracle (`Grader.oracle`, `Grader.reference`) is trusted code run in the grader: Keras's
own layer, autodiff, the instructor's solution. It is seeded, so its result is a function of
its inputs alone, and many checks ask for the same one: every submission's checks run the
same oracles on the seed-0 inputs, and within a grading several checks compare with the same
Keras sequence. `OracleMemo` keeps each result once, keyed by the function's name and a
digest of its inputs, and hands out fresh copies.

What is remembered, and how it stays trustworthy:
- Only plain data (`rnnkit.sandbox.wire`: numbers, strings, lists, dicts, NumPy arrays), in
  both the key and the result; an oracle whose inputs or result are anything else (a Keras
  model) is computed every time. Every plain-data result goes through the same encoding
  whether it was computed or remembered, with the memo on or off, so a check sees the same
  types.
- Only module-level functions (a lambda or a nested function may hold state its name does
  not show).
- A result is returned as a new copy each time: a check that changes it changes nothing
  remembered.
- Across submissions only in a warm grader (`rnnkit.tools.warm_grader`, grade-class on Linux with
  Landlock): each grader it forks inherits the memo, reports what it computed over a pipe
  only it holds (plain data, decoded with `wire.decode`, never unpickled), and the warm
  grader adds it for the next forks, unless the kit's files changed during that grading.
  Student code runs only in processes walled off from the grader and the warm grader
  (Landlock, seccomp), so it cannot write into the memo.
- `RNNKIT_ORACLE_MEMO=off` computes everything; `=check` computes every remembered result
  again and stops the check if the two differ (`tests/kit/grader/test_memo.py` grades with it).
"""
from __future__ import annotations

import hashlib
import inspect
import os
from collections import OrderedDict

import numpy as np

from rnnkit.sandbox import wire

# What a warm grader keeps. One grading of all nine exercises computes 170 results, 0.7 MB
# (measured: the solutions, encoded), about half of them on the course seed's inputs every
# submission shares; the rest is room for recent submission-seed results, which the least
# recently used rule drops first. A result larger than ENTRY_LIMIT is not kept.
BUDGET = 8 << 20
ENTRY_LIMIT = 1 << 20


class MemoMismatch(AssertionError):
    """RNNKIT_ORACLE_MEMO=check: a remembered result differs from the one computed again."""


MODES = ("on", "off", "check")   # RNNKIT_ORACLE_MEMO (the CLI refuses any other value)


def mode() -> str:
    value = os.environ.get("RNNKIT_ORACLE_MEMO", "on")
    return value if value in MODES else "on"


def check_note() -> str | None:
    """Under RNNKIT_ORACLE_MEMO=check, the report's line saying what was computed again."""
    if mode() != "check":
        return None
    return (f"RNNKIT_ORACLE_MEMO=check: {MEMO.checked} remembered oracle result(s) computed "
            "again, each equal bit for bit (a difference stops its check)")


def function_name(function) -> str | None:
    """`module.qualname` of a module-level function, or None (not remembered)."""
    if not inspect.isfunction(function) or function.__closure__ \
            or "<" in function.__qualname__:
        return None
    return f"{function.__module__}.{function.__qualname__}"


class OracleMemo:
    """Results by key, least recently used first; `new` and `used` are this process's part,
    which a forked grader reports to its warm grader (`report`, `merge`)."""

    def __init__(self, budget: int = BUDGET):
        self.budget = budget
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self.size = 0
        self.new: dict[str, bytes] = {}
        self.used: set[str] = set()
        self.hits = self.misses = self.checked = 0

    @staticmethod
    def key(name: str, inputs) -> str | None:
        try:
            return name + "/" + hashlib.sha256(wire.encode(inputs)).hexdigest()
        except wire.WireError:
            return None

    def remembered(self, name: str | None, inputs, compute):
        """compute(), or the result remembered for (name, inputs); plain data comes back as
        the wire carries it either way, so a check sees the same types with the memo on or
        off and with a function that is never remembered (name None)."""
        current = mode()
        key = None if name is None or current == "off" else self.key(name, inputs)
        stored = self.entries.get(key) if key is not None else None
        if stored is not None:
            self.hits += 1
            self.used.add(key)
            self.entries.move_to_end(key)
            if current == "check":
                self._check(name, stored, compute())
                self.checked += 1
            return wire.decode(stored)
        value = compute()
        try:
            encoded = wire.encode(value)
        except wire.WireError:
            return value                        # not plain data: never remembered
        if key is not None:
            self.misses += 1
            self._add(key, encoded)
            if key in self.entries:
                self.new[key] = encoded
        return wire.decode(encoded)

    @staticmethod
    def _check(name: str, stored: bytes, value) -> None:
        try:
            fresh = wire.encode(value)
        except wire.WireError:
            fresh = None
        if fresh != stored:
            raise MemoMismatch(f"the remembered result of {name} differs from the one computed "
                               "again (RNNKIT_ORACLE_MEMO=check): this oracle is not a function "
                               "of its inputs alone")

    def _add(self, key: str, encoded: bytes) -> None:
        if len(encoded) > ENTRY_LIMIT or key in self.entries:
            return
        self.entries[key] = encoded
        self.size += len(encoded)
        while self.size > self.budget and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped)

    # -- between a forked grader and its warm grader ------------------------------------
    def report(self) -> bytes:
        """What this grading computed and used, as one plain-data message."""
        return wire.encode({"used": sorted(self.used),
                            "new": {key: np.frombuffer(value, dtype=np.uint8)
                                    for key, value in self.new.items()}})

    def merge(self, message: bytes) -> dict:
        """Add a forked grader's report (checked as any plain-data message: `wire.decode`);
        {"added": results added, "used": remembered results it used}. Raises wire.WireError
        on a malformed one."""
        report = wire.decode(message)
        if not isinstance(report, dict) or not isinstance(report.get("used"), list) \
                or not isinstance(report.get("new"), dict):
            raise wire.WireError("not a memo report")
        used = 0
        for key in report["used"]:
            if isinstance(key, str) and key in self.entries:
                self.entries.move_to_end(key)
                used += 1
        added = 0
        for key, value in report["new"].items():
            if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 1 \
                    and key not in self.entries:
                self._add(key, value.tobytes())
                added += key in self.entries
        return {"added": added, "used": used}

    def forget(self) -> None:
        self.entries.clear()
        self.size = 0

    def begin_grading(self) -> None:
        """In a forked grader: what it reports is its own part only."""
        self.new, self.used = {}, set()
        self.hits = self.misses = self.checked = 0


MEMO = OracleMemo()   # this process's; in a grader forked by a warm grader, its copy of the memo
