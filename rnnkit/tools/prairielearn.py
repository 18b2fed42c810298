"""PrairieLearn's external grader: `python -m rnnkit prairielearn --root /grade`, run by the
image's entry point (`rnnkit.tools.image`).

The contract followed, from PrairieLearn's documentation (docs/externalGrading.md in
PrairieLearn/PrairieLearn, "The Grading Process" and "Grading results"): the student's files
are in /grade/student, the question's `data` object in /grade/data/data.json (not used here),
and the entry point must write /grade/results/results.json (the folder is not made for it) with
`score` in [0, 1]; `gradable: false` (with `format_errors`) marks a submission that could not be
graded at all, which costs the student no attempt; `message`, `output` and `tests` (each with
`name`, `description`, `points`, `max_points`, `message`, `output`) are shown by
`<pl-external-grader-results>`; the file should stay under 1 MB.

The grading is `grade-submission`'s (the official grade, student code as `nobody`); its
results are written to a private folder first, and /grade/results/results.json only by this
process once grading is over, whatever the student's code left there.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rnnkit.course import BY_ID

RESULTS_LIMIT = 1_000_000          # bytes: "this file should be limited to 1 MB"
MESSAGE_LIMIT = 4000               # characters of one check's feedback (it is one line)


def to_prairielearn(document: dict) -> dict:
    """PrairieLearn's results object from a grading's results.json (Gradescope's schema)."""
    tests = document.get("tests", [])
    why = [line for line in (document.get("output") or "").splitlines()
           if line.startswith(("Not graded:", "Grading failed:"))]
    if tests and why and all(t["tags"][1] in ("not_graded", "grading_failed") for t in tests):
        # nothing ran: a zip that does not unpack, or the grader failed (not the student's
        # code: no attempt is charged)
        return {**not_gradable(why[0]), "output": document.get("output", "")}
    counted = [t for t in tests if not getattr(BY_ID.get(t["tags"][0]), "bonus", False)]
    maximum = sum(t["max_score"] for t in counted)
    points = sum(t["score"] for t in tests)
    entries = []
    for test in tests:
        exercise = BY_ID.get(test["tags"][0])
        lost = test["score"] < test["max_score"]
        entries.append({
            "name": test["name"],
            "description": f"{exercise.id} {exercise.title}" if exercise else test["tags"][0],
            "points": test["score"], "max_points": test["max_score"],
            "message": test["output"][:MESSAGE_LIMIT] if lost else "passed",
            "output": ""})
    kind = "Official grade" if document.get("mode") == "official" else "Self-check"
    return {"gradable": True, "score": min(1.0, points / maximum) if maximum else 0.0,
            "message": f"{kind}: {points:g} / {maximum:g} points",
            "output": document.get("output", ""), "tests": entries,
            "mode": document.get("mode", ""), "secret_id": document.get("secret_id"),
            "kit_version": document.get("kit_version")}


def not_gradable(reason: str) -> dict:
    return {"gradable": False, "score": 0.0, "format_errors": [reason], "message": reason,
            "output": reason, "tests": []}


def write_results(root: Path, results: dict) -> Path:
    """/grade/results/results.json, replacing whatever is there (a link or folder too), kept
    under RESULTS_LIMIT by shortening the report first."""
    text = json.dumps(results, indent=1)
    if len(text.encode()) > RESULTS_LIMIT:
        results = {**results, "output": results.get("output", "")[:20000]
                   + "\n... (shortened: PrairieLearn reads 1 MB at most)"}
        text = json.dumps(results)
    folder = Path(root) / "results"
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    if path.is_symlink() or path.is_dir():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    partial = folder / f".results-{os.getpid()}.part"
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def grade_job(root: Path, exercise_ids=None) -> dict:
    """Grade `root`/student officially; PrairieLearn's results object."""
    from rnnkit.tools.classroom import grade_submission

    student = Path(root) / "student"
    if not student.is_dir():
        return not_gradable(f"{student} does not exist: PrairieLearn copies the submitted files "
                            "there")
    with tempfile.TemporaryDirectory(prefix="rnnkit-prairielearn-") as private:
        document = grade_submission(student, Path(private) / "results.json",
                                    exercise_ids=exercise_ids)
    return to_prairielearn(document)
