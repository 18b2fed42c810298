"""The one way to grade: `grade(target, exercise_ids) -> Report`.

The CLI (`grade`, `grade-submission`), `release` (recording the references), `grade-class`
(through `grade-submission` in a process per submission), the Gradescope bundle and `bench`
all call this function. It runs the checks of `tests/grading/` with pytest in this process:
the target travels as an option value (`--target=DIR`, one token) and no `conftest.py` is
loaded at all (`--noconftest`), so nothing in the graded folder or above it ever runs here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import resolve
from rnnkit.grader.results import CheckResult, gradescope, render_table


class GradingError(Exception):
    """Grading could not run (not: the submission lost points); the message says why."""


@dataclass
class Report:
    target: Path
    reference: str
    results: list[CheckResult]
    notes: dict = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        return render_table(self.results, self.notes)

    def gradescope(self) -> dict:
        return gradescope(self.results, seconds=self.seconds, notes=self.notes)

    def score(self, exercise_id: str | None = None) -> float:
        return sum(r.points for r in self.results if exercise_id in (None, r.exercise))

    def max_score(self, exercise_id: str | None = None) -> float:
        return sum(r.max_points for r in self.results if exercise_id in (None, r.exercise))


def grade(target, exercise_ids=None, *, reference: str = "auto", fresh_seed: int | None = None,
          progress: bool = False, keywords: str | None = None) -> Report:
    """Grade the exercise modules in `target`; every declared check yields one result.

    reference: "auto" (live solutions/ when present, else recorded), "live", "recorded", or
    "record" (live, and save the references: `release`)."""
    import pytest

    from rnnkit.grader.plugin import results_of

    exercises = resolve(exercise_ids)
    target = Path(target).resolve()
    if not target.is_dir():
        raise GradingError(f"{target} is not a folder")

    class Collector:
        config = None

        def pytest_configure(self, config):
            Collector.config = config

    args = [str(e.test_file) for e in exercises]
    args += [f"--target={target}", f"--reference={reference}", "--noconftest",
             "-c", str(KIT_ROOT / "pyproject.toml"), f"--rootdir={KIT_ROOT}",
             "-p", "no:terminal"]
    if progress:
        args.append("--rnnkit-progress")
    if fresh_seed is not None:
        args.append(f"--fresh-seed={fresh_seed}")
    if keywords:
        args += ["-k", keywords]
    started = time.monotonic()
    code = pytest.main(args, plugins=[Collector()])
    if Collector.config is None or code not in (0, 1, 5):
        raise GradingError(f"the grader could not run (pytest exit status {int(code)})")
    results, notes = results_of(Collector.config)
    return Report(target, reference, list(results), dict(notes), time.monotonic() - started)


def catalogue(exercise_ids=None) -> list[dict]:
    """Every check with its exercise, name, title and points, collected without grading (so a
    results.json can list every check even when grading itself failed)."""
    import pytest

    from rnnkit.grader.plugin import check_title, exercise_of

    rows = []

    class Collector:
        def pytest_collection_finish(self, session):
            for item in session.items:
                rows.append({"exercise": exercise_of(item), "name": item.name,
                             "title": check_title(item),
                             "points": float(item.get_closest_marker("points").args[0]),
                             "training": item.get_closest_marker("training") is not None})

    files = [str(e.test_file) for e in resolve(exercise_ids)]
    code = pytest.main([*files, "--collect-only", "--noconftest", "-c",
                        str(KIT_ROOT / "pyproject.toml"), f"--rootdir={KIT_ROOT}",
                        "-p", "no:terminal"], plugins=[Collector()])
    if code != 0 or not rows:   # never a results.json that drops every check
        raise GradingError(f"could not list the grading checks (pytest exit status {int(code)})")
    return rows
