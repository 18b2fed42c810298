"""Check results, the score table, and the Gradescope `results.json`."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from rnnkit.course import BY_ID, is_bonus
from rnnkit.sandbox.worker import PACKAGE


RUN_NOTES = "run"   # notes about the whole run (not one exercise): which walls applied


@dataclass
class CheckResult:
    exercise: str          # "ex01"
    name: str              # test function name
    title: str             # first docstring line: what the check proves
    max_points: float
    points: float
    feedback: str = ""     # one line, empty when passed
    kind: str = "passed"   # passed | failed | not_started | import_error | timeout | crash | ...
    seconds: float = 0.0


@dataclass
class ExerciseSummary:
    exercise: str
    title: str
    points: float
    max_points: float
    status: str
    notes: list[str] = field(default_factory=list)


def summarise(results: list[CheckResult], notes: dict[str, list[str]] | None = None):
    """One summary per exercise, in exercise order."""
    notes = notes or {}
    by_exercise: dict[str, list[CheckResult]] = {}
    for result in results:
        by_exercise.setdefault(result.exercise, []).append(result)
    summaries = []
    for exercise_id in sorted(by_exercise):
        checks = by_exercise[exercise_id]
        points = sum(check.points for check in checks)
        max_points = sum(check.max_points for check in checks)
        lost = [check for check in checks if check.points < check.max_points]
        if not lost:
            status = "complete"
        elif any(check.kind == "tampered" for check in lost):
            status = "voided"
        elif any(check.kind in ("forbidden", "not_graded") for check in lost):
            status = "not graded"
        elif all(check.kind == "missing" for check in lost):
            status = "missing"
        elif any(check.kind == "import_error" for check in lost):
            status = "error"
        elif points == 0 and all(check.kind == "not_started" for check in lost):
            status = "not started"
        else:
            status = "partial"
        title = BY_ID[exercise_id].title if exercise_id in BY_ID else ""
        summaries.append(ExerciseSummary(exercise_id, title, points, max_points, status,
                                         [readable(n) for n in notes.get(exercise_id, [])]))
    return summaries


def _fmt(points: float) -> str:
    return f"{points:g}"


def split_points(pairs) -> tuple[float, float, float, float]:
    """(points, maximum, bonus points, bonus maximum) of (exercise id, points, max) triples:
    a bonus exercise's points are counted apart, outside the maximum (course.is_bonus)."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for exercise, points, max_points in pairs:
        at = 2 if is_bonus(exercise) else 0
        totals[at] += points
        totals[at + 1] += max_points
    return tuple(totals)


def total_lines(summaries: list[ExerciseSummary], width: int) -> list[str]:
    """The table's total line, and a bonus line when a bonus exercise was graded: its points
    are never in the total nor its maximum."""
    total, total_max, bonus, bonus_max = split_points(
        (s.exercise, s.points, s.max_points) for s in summaries)
    lines = [f"{'total':<{width + 6}}  {_fmt(total) + ' / ' + _fmt(total_max):>9}"]
    if any(is_bonus(s.exercise) for s in summaries):
        lines.append(f"{'bonus':<{width + 6}}  {_fmt(bonus) + ' / ' + _fmt(bonus_max):>9}"
                     f"  outside the maximum: not in the total")
    return lines


def render_table(results: list[CheckResult], notes=None, header: str = "",
                 feedback: bool = True) -> str:
    """The score table, then (with `feedback`) one feedback line per check that lost points."""
    summaries = summarise(results, notes)
    lines = [header] if header else []
    width = max([len(s.title) for s in summaries] + [10])
    lines.append(f"{'exercise':<{width + 6}}  {'points':>9}  status")
    for s in summaries:
        score = f"{_fmt(s.points)} / {_fmt(s.max_points)}"
        status = f"{s.status}, bonus" if is_bonus(s.exercise) else s.status
        lines.append(f"{s.exercise}  {s.title:<{width}}  {score:>9}  {status}")
    lines += total_lines(summaries, width)
    for s in summaries:
        for note in s.notes:
            lines.append(f"note: {s.exercise}: {note}")
    lines += list((notes or {}).get(RUN_NOTES, []))
    if not feedback:
        return "\n".join(lines)
    # An exercise whose checks all lost their points for one reason (a missing module, an
    # import error, a rule broken) says it once, not once per check.
    checks = {s.exercise: [r for r in results if r.exercise == s.exercise] for s in summaries}
    once = {exercise: group[0].feedback for exercise, group in checks.items()
            if len(group) > 1 and all(r.points == 0 and r.max_points > 0 for r in group)
            and len({r.feedback for r in group}) == 1}
    # A stub not started says so once too (each check names another unwritten function).
    once.update({exercise: f"not started: its checks reach {len({r.feedback for r in group})}"
                           f" unwritten function(s), e.g. "
                           f"{group[0].feedback.removeprefix('not started: ')}"
                 for exercise, group in checks.items() if exercise not in once
                 and len(group) > 1 and all(r.points == 0 and r.max_points > 0
                                            and r.kind == "not_started" for r in group)})
    lost = [r for r in results if r.points < r.max_points and r.exercise not in once]
    if once or lost:
        lines.append("")
        lines.append("Feedback (one line per check that lost points; one for an exercise that "
                     "lost them all for one reason):")
    for s in summaries:
        if s.exercise in once:
            lines.append(f"- {s.exercise} {s.title} [0/{_fmt(s.max_points)}, all "
                         f"{len(checks[s.exercise])} checks]: {once[s.exercise]}")
    for r in lost:
        lines.append(f"- {r.exercise} {r.title} [{_fmt(r.points)}/{_fmt(r.max_points)}]: "
                     f"{r.feedback}")
    return "\n".join(lines)


_MISSING_IMPORT = re.compile(r"(\w+)\.py could not be imported \(ModuleNotFoundError: No module "
                             r"named '" + PACKAGE + r"\.\1'\)")
_INTERNAL_MODULE = re.compile(r"No module named '" + PACKAGE + r"\.(\w+)'")


def readable(text: str) -> str:
    """A report line in the student's terms: never the package name the student's process
    imports their folder under (`target.ex01_simple_rnn`)."""
    text = _MISSING_IMPORT.sub(r"\1.py is not in the submission", text)
    return _INTERNAL_MODULE.sub(r"\1.py is not in the submission", text)


def gradescope(results: list[CheckResult], *, seconds: float, notes=None, output: str = "",
               mode: str = "", secret_id: str | None = None) -> dict:
    """The Gradescope `results.json` document: one test entry per check, none dropped; with
    what made it (`mode`: official or self-check, the kit's version, the course secret's id),
    so results made under another kit version or secret are never mixed. `graded` says the
    same per exercise, with when (grade-class merges exercises graded at different times),
    and `notes` keeps the report's notes ({exercise or "run": [lines]}) so that a report can
    be written again from this document alone."""
    from rnnkit import __version__
    now = graded_now()
    tests = []
    counters: dict[str, int] = {}
    for r in results:
        counters[r.exercise] = counters.get(r.exercise, 0) + 1
        tests.append({
            "name": f"{r.exercise} {r.title}",
            "number": f"{r.exercise[2:].lstrip('0') or '0'}.{counters[r.exercise]}",
            "score": r.points,
            "max_score": r.max_points,
            "status": "passed" if r.points >= r.max_points else "failed",
            "output": r.feedback or "passed",
            "output_format": "text",
            # A bonus check says so (a third tag); readers still decide by course.is_bonus.
            "tags": [r.exercise, r.kind] + (["bonus"] if is_bonus(r.exercise) else []),
            "visibility": "visible",
        })
    return {
        **score_fields(tests),
        "execution_time": round(seconds, 1),
        "output": output or render_table(results, notes),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [],
        "mode": mode,
        "kit_version": __version__,
        "secret_id": secret_id,
        "graded": {exercise: {"at": now, "kit_version": __version__, "secret_id": secret_id,
                              "mode": mode} for exercise in sorted(counters)},
        "notes": {key: [readable(line) for line in lines]
                  for key, lines in (notes or {}).items() if lines},
    }


def score_fields(tests: list[dict]) -> dict:
    """A results document's top-level "score" of its tests (Gradescope's: it overrides the
    sum of the tests' scores), which holds the points within the maximum only; with a bonus
    exercise among them, "bonus": its checks' score and maximum (each check stays a test of
    its own, with its own max_score), so the score never exceeds the regular maximum."""
    score, _, bonus, bonus_max = split_points((t["tags"][0], t["score"], t["max_score"])
                                              for t in tests)
    exercises = sorted({t["tags"][0] for t in tests if is_bonus(t["tags"][0])})
    if not exercises:
        return {"score": score}
    return {"score": score, "bonus": {"score": bonus, "max_score": bonus_max,
                                      "exercises": exercises}}


def graded_now() -> str:
    """This moment in local time with its UTC offset, to the second (ISO 8601)."""
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def results_of_document(document: dict) -> list[CheckResult]:
    """The check results a results.json document holds (what `gradescope` wrote), in order."""
    found = []
    for test in document.get("tests", []):
        exercise, kind = (list(test.get("tags", [])) + ["", ""])[:2]
        title = str(test.get("name", ""))
        title = title[len(exercise) + 1:] if title.startswith(exercise + " ") else title
        feedback = "" if test.get("status") == "passed" else str(test.get("output", ""))
        found.append(CheckResult(exercise, title, title, float(test.get("max_score", 0)),
                                 float(test.get("score", 0)), feedback, kind or "failed"))
    return found


def to_jsonable(results: list[CheckResult]) -> list[dict]:
    return [asdict(r) for r in results]


def dump(path, document: dict) -> None:
    with open(path, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
