"""Recorded references: how a reference result is computed, keyed and stored.

`release` grades `solutions/` in record mode; every `Grader.reference(probe, **args)` result
is stored in `data/references/<id>.npz` under `probe/<digest of args and seed>`, encoded as
the wire carries it (`rnnkit.sandbox.wire`). A kit without solutions/ (the student's) reads
them back instead of running the reference. The reference is computed by `trusted`: seeded,
on copies of its inputs, through the memo of oracle results.

This module and the ones it uses shape every recorded value, so a recording's fingerprint
covers them (`rnnkit.tools.release.dependencies`); the grader's other modules decide whether
a value arrives, never what it is.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from rnnkit import KIT_ROOT
from rnnkit.grader import memo
from rnnkit.grader.compare import fail
from rnnkit.sandbox import wire

REFERENCES_DIR = KIT_ROOT / "data" / "references"


def official_dir() -> Path:
    """Where the reference's expensive results on the course's secret inputs (its trainings)
    are recorded, once per course, by release: beside the course secret (solutions/, which
    never reaches a student kit), wherever $RNNKIT_COURSE_SECRET puts it."""
    from rnnkit.grader import secret

    return secret.path().parent / "official-references"


def reference_key(probe_name: str, args: dict, seed: int) -> str:
    digest = hashlib.sha256(wire.encode({"args": args, "seed": seed})).hexdigest()[:20]
    return f"{probe_name}/{digest}"


class ReferenceStore:
    """Recorded reference results of one exercise: `data/references/<id>.npz`."""

    def __init__(self, path: Path):
        self.path = path
        self._data: dict[str, bytes] | None = None
        self.recorded: dict[str, bytes] = {}

    def _load(self) -> dict[str, bytes]:
        if self._data is None:
            self._data = {}
            if self.path.is_file():
                with np.load(self.path, allow_pickle=False) as archive:
                    self._data = {key: archive[key].tobytes() for key in archive.files}
        return self._data

    def has(self, key: str) -> bool:
        return key in self._load()

    def get(self, key: str):
        data = self._load()
        if key not in data:
            fail(f"no recorded reference for {key} in {self.path.name}: the instructor must run "
                 "`python -m rnnkit release` (or grade with solutions/ present)")
        return wire.decode(data[key])

    def record(self, key: str, value) -> None:
        self.recorded[key] = wire.encode(value)


def write_store(path: Path, entries: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {key: np.frombuffer(value, dtype=np.uint8) for key, value in sorted(entries.items())}
    np.savez_compressed(path, **arrays)


def trusted(name: str | None, function, args: tuple, kwargs: dict, seed: int):
    """function(*args, **kwargs) seeded, on copies, through the memo under `name` (None: not
    remembered)."""
    import keras

    def compute():
        keras.utils.set_random_seed(seed)
        return function(*copy.deepcopy(args), **copy.deepcopy(kwargs))

    return memo.MEMO.remembered(name, {"args": args, "kwargs": kwargs, "seed": seed}, compute)


class DataReads:
    """The kit's data files (under data/, recordings aside) that each exercise's grading
    opened, in record mode: a recording depends on them as on code (`release` hashes them
    into the fingerprint). Seen through the interpreter's audit hook on `open`, so no reader
    has to declare what it reads."""

    def __init__(self):
        self.current: str | None = None         # the exercise whose checks run now
        self.reads: dict[str, set[str]] = {}
        self._started = False
        self._data = (KIT_ROOT / "data").resolve()

    def start(self) -> None:
        if not self._started:
            sys.addaudithook(self._hook)         # (audit hooks cannot be removed: once)
            self._started = True

    @contextlib.contextmanager
    def paused(self):
        """Reads that shape no value (the tamper check hashes every file) are not counted."""
        current, self.current = self.current, None
        try:
            yield
        finally:
            self.current = current

    def _hook(self, event: str, args) -> None:
        if event != "open" or self.current is None or not args \
                or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = Path(os.fsdecode(args[0])).absolute()
        if self._data in path.parents and REFERENCES_DIR.resolve() not in path.parents:
            self.reads.setdefault(self.current, set()).add(
                path.relative_to(self._data.parent).as_posix())


DATA_READS = DataReads()
