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
    # Checks left out by `markers`/`keywords` (a quick run): {"exercise", "name", "title",
    # "points", "training"} each. A report with any is never the official grade.
    skipped: list[dict] = field(default_factory=list)
    partial: bool = False    # checks were selected (quick, -k): never the official grade
    selected: bool = False   # -k picked the checks (not only --quick's "no training")
    data_read: dict = field(default_factory=dict)   # record mode: {exercise: [data files]}
    mode: str = "self-check"                        # official | self-check | record
    secret_id: str | None = None                    # the course secret's id (official only)

    @property
    def official_only(self) -> list[dict]:
        """The checks a self-check lists but cannot run (they need the official grader)."""
        return [row for row in self.skipped if row.get("official")]

    def table(self) -> str:
        table = render_table(self.results, self.notes)
        lines = []
        if self.partial:
            lines.append(skipped_lines([row for row in self.skipped if not row.get("official")],
                                       self.selected))
        if self.mode == "self-check":
            lines.append(self_check_lines(self.official_only))
        return "\n".join([table] + lines)

    def gradescope(self) -> dict:
        document = gradescope(self.results, seconds=self.seconds, notes=self.notes,
                              output=self.table() if self.partial or self.mode != "official"
                              else "", mode=self.mode, secret_id=self.secret_id)
        # The one field a gradebook needs: is this an official grade (the course secret, every
        # check)? A self-check, a recording or a partial run never is.
        document["official"] = self.mode == "official" and not self.partial
        if self.partial:
            document["skipped"] = [f"{row['exercise']} {row['title']}" for row in self.skipped]
        return document

    def score(self, exercise_id: str | None = None) -> float:
        return sum(r.points for r in self.results if exercise_id in (None, r.exercise))

    def max_score(self, exercise_id: str | None = None) -> float:
        return sum(r.max_points for r in self.results if exercise_id in (None, r.exercise))


def grade(target, exercise_ids=None, *, reference: str = "auto",
          progress: bool = False, keywords: str | None = None,
          markers: str | None = None) -> Report:
    """Grade the exercise modules in `target`; every selected check yields one result.

    reference: "auto" (live solutions/ when present, else recorded), "live", "recorded", or
    "record" (live, and save the references: `release`). keywords (pytest's -k, on check
    names) and markers (pytest's -m, e.g. "not training") select checks; the others are
    listed in `Report.skipped`."""
    import pytest

    from rnnkit.grader.plugin import results_of, run_of

    exercises = resolve(exercise_ids)
    target = Path(target).resolve()
    if not target.is_dir():
        raise GradingError(f"{target} is not a folder")

    skipped = []

    class Collector:
        config = None

        def pytest_configure(self, config):
            Collector.config = config

        def pytest_deselected(self, items):
            skipped.extend(_row(item) for item in items)

    args = [str(e.test_file) for e in exercises]
    args += [f"--target={target}", f"--reference={reference}", "--noconftest",
             "-c", str(KIT_ROOT / "pyproject.toml"), f"--rootdir={KIT_ROOT}",
             "-p", "no:terminal"]
    if progress:
        args.append("--rnnkit-progress")
    if keywords:
        args += ["-k", keywords]
    if markers:
        args += ["-m", markers]
    started = time.monotonic()
    code = pytest.main(args, plugins=[Collector()])
    if Collector.config is None or code not in (0, 1, 5):
        raise GradingError(f"the grader could not run (pytest exit status {int(code)})")
    results, notes = results_of(Collector.config)
    from rnnkit.grader.references import DATA_READS

    run = run_of(Collector.config)
    return Report(target, reference, list(results), dict(notes), time.monotonic() - started,
                  skipped, partial=bool(keywords or markers), selected=bool(keywords),
                  data_read={e: sorted(paths) for e, paths in DATA_READS.reads.items()},
                  mode=run["mode"], secret_id=run["secret_id"])


def _row(item) -> dict:
    from rnnkit.grader.plugin import check_title, exercise_of

    return {"exercise": exercise_of(item), "name": item.name, "title": check_title(item),
            "function": item.originalname,
            "points": float(item.get_closest_marker("points").args[0]),
            "training": item.get_closest_marker("training") is not None,
            "official": item.get_closest_marker("official") is not None}


def skipped_lines(skipped: list[dict], selected: bool = False) -> str:
    """What a partial run left out (training checks by name, the checks -k did not select
    counted per exercise), ending with the line that says it is not the grade."""
    from rnnkit.grader.results import _fmt

    if skipped:
        lines = ["Skipped in this run (not graded):"]
    elif selected:
        lines = ["Skipped in this run: nothing (-k selected every check)."]
    else:
        lines = ["Skipped in this run: nothing (none of these checks trains a model)."]
    for exercise in sorted({row["exercise"] for row in skipped}):
        rows = [row for row in skipped if row["exercise"] == exercise]
        lines += [f"- {exercise} {row['title']} [{_fmt(row['points'])}] (training)"
                  for row in rows if row["training"]]
        other = [row for row in rows if not row["training"]]
        if other:
            lines.append(f"- {exercise}: {len(other)} check(s) not selected by -k "
                         f"[{_fmt(sum(row['points'] for row in other))}]")
    return "\n".join(lines + [not_the_grade(skipped, selected)])


def self_check_lines(official_only: list[dict]) -> str:
    """The last lines of a self-check: what only the official grade checks, and that this is
    not the grade."""
    from rnnkit.grader.results import _fmt

    lines = []
    if official_only:
        lines.append("Checked by the official grade only (your kit cannot run them):")
        # A parametrised check (ex01's quiz: one per application) is listed once, with its
        # cases and their points together.
        groups: dict[tuple, list[dict]] = {}
        for row in official_only:
            groups.setdefault((row["exercise"], row.get("function", row["name"])), []).append(row)
        for (exercise, _), rows in groups.items():
            points = _fmt(sum(row["points"] for row in rows))
            if len(rows) == 1:
                lines.append(f"- {exercise} {rows[0]['title']} [{points}]")
            else:
                cases = ", ".join(row["title"].rsplit(" (", 1)[-1].rstrip(")") for row in rows)
                title = rows[0]["title"].rsplit(" (", 1)[0]
                lines.append(f"- {exercise} {title}, {len(rows)} checks ({cases}) [{points}]")
    lines.append("SELF-CHECK, NOT YOUR GRADE: your kit compares with the reference's results on "
                 "public inputs; the official grade draws every input from the course's secret "
                 "and trains on data you do not have.")
    return "\n".join(lines)


def not_the_grade(skipped: list[dict], selected: bool = False) -> str:
    """The last line of a partial run: what it skipped, and that it is not the grade."""
    from rnnkit.grader.results import _fmt

    label = "SELECTED CHECKS ONLY" if selected else "QUICK RUN"
    if skipped:
        points = sum(row["points"] for row in skipped)
        return (f"{label}, NOT YOUR GRADE: {len(skipped)} check(s) ({_fmt(points)} points) "
                "skipped; `python -m rnnkit grade` without --quick or -k runs every check.")
    return (f"{label}, NOT YOUR GRADE: your grade is what your instructor's official grading "
            "gives.")


def catalogue(exercise_ids=None) -> list[dict]:
    """Every check with its exercise, name, title, points and whether it is a training check,
    collected without grading (so a
    results.json can list every check even when grading itself failed)."""
    import pytest

    rows = []

    class Collector:
        def pytest_collection_finish(self, session):
            rows.extend(_row(item) for item in session.items)

    files = [str(e.test_file) for e in resolve(exercise_ids)]
    code = pytest.main([*files, "--collect-only", "--noconftest", "-c",
                        str(KIT_ROOT / "pyproject.toml"), f"--rootdir={KIT_ROOT}",
                        "-p", "no:terminal"], plugins=[Collector()])
    if code != 0 or not rows:   # never a results.json that drops every check
        raise GradingError(f"could not list the grading checks (pytest exit status {int(code)})")
    return rows
