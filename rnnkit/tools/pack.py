"""`python -m rnnkit pack`: the one zip a student hands in.

It holds exactly the exercise modules of the folder (`exNN_topic.py`, or `exNN_topic.ipynb`
for an exercise done as a notebook), or those of `--exercises` (an assignment of a few), at its
root — no `__pycache__`, data, `solutions/`, copies
named `ex01_simple_rnn (1).py` or anything else — which is the layout `grade-class`,
`grade-submission` and the Gradescope bundle read first. It is named `<student>-<assignment>.zip`:
the student from `--name`, else `$RNNKIT_STUDENT`, else the login name; the assignment from
`--assignment` (default "rnnkit"). Before writing, it grades the folder quickly (no training
checks) and lists what is still not started, so nothing is handed in by mistake.
"""
from __future__ import annotations

import getpass
import os
import zipfile
from pathlib import Path

from rnnkit.course import EXERCISES

FIXED_TIME = (2020, 1, 1, 0, 0, 0)   # the same modules give the same zip, byte for byte


class PackProblem(Exception):
    """Nothing sensible to pack; the message is the one line to print."""


def safe(text: str) -> str:
    """A file-name part: letters of any alphabet, digits and ._@+- (what grade-class keeps of
    a name: `Zoë O'Brien` -> `Zoë_O_Brien`, `李小龙` stays)."""
    from rnnkit.tools.classroom import folder_name

    return folder_name(text.strip())


def student(explicit: str | None = None) -> str:
    """--name, else $RNNKIT_STUDENT, else the login name (works without asking)."""
    if explicit and explicit.strip():
        return explicit
    if os.environ.get("RNNKIT_STUDENT", "").strip():
        return os.environ["RNNKIT_STUDENT"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):      # no login name (a container): still a usable file name
        return "student"


def modules_in(folder: Path, exercise_ids=None) -> list[Path]:
    """The exercise modules of `folder` (of `exercise_ids` only, when given), in exercise
    order; PackProblem when an exercise is there twice (.py and .ipynb), when a listed one is
    missing, or when there is none."""
    found = []
    chosen = [e for e in EXERCISES if exercise_ids is None or e.id in exercise_ids]
    for exercise in chosen:
        both = [folder / name for name in (exercise.filename, exercise.notebook)
                if (folder / name).is_file() and not (folder / name).is_symlink()]
        if len(both) == 2:
            raise PackProblem(f"{folder} holds both {exercise.filename} and {exercise.notebook}; "
                              "keep only the one you worked in")
        found += both
        if exercise_ids is not None and not both:
            raise PackProblem(f"{folder} holds neither {exercise.filename} nor "
                              f"{exercise.notebook} ({exercise.id} was asked for)")
    if not found:
        raise PackProblem(f"nothing to pack: {folder} holds none of the exercise modules "
                          f"({EXERCISES[0].filename}, ..., or their .ipynb)")
    return found


def write_zip(path: Path, files: list[Path]) -> Path:
    """The files at the zip's root, in order, with fixed dates (replaces `path`)."""
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for file in files:
            info = zipfile.ZipInfo(file.name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, file.read_bytes())
    partial.replace(path)
    return path


def pack(folder: Path, out: Path, *, name: str | None = None, assignment: str = "rnnkit",
         exercise_ids=None, echo=print) -> Path:
    """Grade `folder` quickly, list what is not started, and write the zip into `out`: every
    exercise module of the folder, or those of `exercise_ids` (an assignment of a few)."""
    from rnnkit.grader.api import grade, not_the_grade
    from rnnkit.grader.results import render_table, summarise

    files = modules_in(folder, exercise_ids)
    ids = [e.id for e in EXERCISES if {e.filename, e.notebook} & {f.name for f in files}]
    echo(f"Grading {', '.join(ids)} quickly (no training checks) before packing:")
    report = grade(folder, ids, markers="not training", progress=True)
    scores = render_table(report.results, report.notes, feedback=False)
    echo(f"\n{scores}\n{not_the_grade(report.skipped)}\n"
         "(`python -m rnnkit grade --quick` explains every lost point)")
    waiting = [s.exercise for s in summarise(report.results) if s.status == "not started"]
    echo("\nNot started: " + (", ".join(waiting) if waiting else "none"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{safe(student(name))}-{safe(assignment)}.zip"
    write_zip(path, files)
    echo(f"wrote {path}: {', '.join(f.name for f in files)}")
    return path
