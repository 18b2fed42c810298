"""The class's record in grade-class's --out, kept across runs: each run merges into it.

    OUT/students/<folder>/results.json   every check of every exercise graded so far, with
        "submission" (the student as the LMS names them, the LMS id, the layout, the notes)
        and "graded" (per exercise: when, under which kit version, course secret and mode)
    OUT/students/<folder>/report.txt     what the student reads (written from results.json)
    OUT/students/<folder>/grading.log    the grader's own output of the last run (instructor)
    OUT/gradebook.csv, the LMS files (rnnkit.tools.lms), class-report.md and .png
                                         rebuilt from every kept results.json after each run

A run replaces, for the students it grades, the results of the exercises it grades; every
other result and row stays. A student is the same student across runs by the LMS's id (or
the folder's or zip's name where the layout has none). Results made under another kit
version, course secret or mode are not merged unless asked (`mixed`); starting over sets
the earlier record aside (`set_aside`), never deletes it.
"""
from __future__ import annotations

import csv
import json
import os
import time
from datetime import datetime
from pathlib import Path

from rnnkit.course import BY_ID, EXERCISES, is_bonus
from rnnkit.grader.results import (RUN_NOTES, dump, render_table, results_of_document,
                                   score_fields, split_points)
from rnnkit.tools import lms

GRADEBOOK = "gradebook.csv"
SHARD = "shard.json"          # grade-class --shard's marker (rnnkit.tools.shards)
# What a run writes at the top of --out (set aside together by --fresh).
RECORD = (GRADEBOOK, "students", lms.CANVAS_FILE, lms.MOODLE_FILE, lms.MOODLE_FEEDBACK,
          lms.NOT_IMPORTED, "class-report.md", "class-report.png", lms.SETTINGS, SHARD)
NOT_RUN = ("missing", "not_graded", "grading_failed")   # kinds of a check that never ran
NOTED_KINDS = ("import_error", "timeout", "out_of_time", "crash", "exit", "memory", "bad_output",
               "forbidden", "tampered", "grading_failed")


class MixedResults(Exception):
    """Kept results were made under another kit version, course secret or mode."""


# -- the record on disk ---------------------------------------------------------------------------
def load(out: Path) -> dict[str, dict]:
    """{folder: results document} of every student kept in `out` (unreadable ones skipped)."""
    found = {}
    students = Path(out) / "students"
    if not students.is_dir():
        return found
    for folder in sorted(students.iterdir()):
        try:
            document = json.loads((folder / "results.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and isinstance(document.get("tests"), list):
            found[folder.name] = document
    return found


def set_aside(out: Path) -> Path | None:
    """Move the earlier record in `out` into `out/replaced-<time>/` (--fresh): never deleted."""
    present = [name for name in RECORD if (Path(out) / name).exists()]
    if not present:
        return None
    aside = Path(out) / f"replaced-{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir()
    for name in present:
        os.replace(Path(out) / name, aside / name)
    return aside


def replace(path: Path, document: dict) -> None:
    """Write a results.json whole or not at all (a run stopped midway keeps the old one)."""
    partial = Path(path).with_name(Path(path).name + ".part")
    dump(partial, document)
    os.replace(partial, path)


def key_of(document: dict) -> str | None:
    return (document.get("submission") or {}).get("key")


def graded_of(document: dict, path: Path | None = None) -> dict:
    """{exercise: {"at", "kit_version", "secret_id", "mode"}}: a result made before the record
    said so per exercise takes the document's fields (and the file's time)."""
    if isinstance(document.get("graded"), dict):
        return document["graded"]
    at = datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds") \
        if path and path.exists() else ""
    return {exercise: {"at": at, "kit_version": document.get("kit_version", "unknown"),
                       "secret_id": document.get("secret_id"), "mode": document.get("mode", "")}
            for exercise in exercises_of(document)}


def exercises_of(document: dict) -> list[str]:
    seen = []
    for test in document.get("tests", []):
        exercise = test["tags"][0]
        if exercise not in seen:
            seen.append(exercise)
    return seen


def ran(document: dict, exercise: str) -> bool:
    """Whether any check of `exercise` ran (not: missing, not graded, grading failed)."""
    return any(t["tags"][0] == exercise and t["tags"][1] not in NOT_RUN
               for t in document["tests"])


def mixed(kept: dict[str, dict], replaced: dict[str, set], version: str,
          secret_id: str | None) -> list[str]:
    """What would be kept although made under another kit version, course secret or mode:
    one line per student and exercise (the exercises a run grades again are not kept)."""
    problems = []
    for folder, document in sorted(kept.items()):
        for exercise, made in sorted(graded_of(document).items()):
            if exercise in replaced.get(folder, set()) or not ran(document, exercise):
                continue
            if made.get("kit_version") != version:
                problems.append(f"{folder}: {exercise} graded by kit {made.get('kit_version')} "
                                f"(this kit: {version})")
            elif made.get("secret_id") != secret_id:
                problems.append(f"{folder}: {exercise} graded under course secret "
                                f"{made.get('secret_id')} (this course: {secret_id})")
            elif made.get("mode") != "official":
                problems.append(f"{folder}: {exercise} graded as {made.get('mode') or 'unknown'}, "
                                "not officially")
    return problems


def assign_folders(names_and_keys: list[tuple[str, str]], kept: dict[str, dict]) -> list[str]:
    """The folder of each (safe name, key) of this run: the kept one of the same key, else a
    new one made unique (with -2, -3, ...) against every kept folder and this run's."""
    by_key = {}
    for folder, document in kept.items():
        by_key.setdefault(key_of(document), folder)
    taken = {folder.casefold() for folder in kept}
    folders = []
    for name, key in names_and_keys:
        folder = by_key.get(key)
        if folder is None and name in kept and key_of(kept[name]) is None:
            folder = name                       # a result made before keys were recorded
        if folder is None:
            folder, number = name, 2
            while folder.casefold() in taken:
                folder, number = f"{name}-{number}", number + 1
        taken.add(folder.casefold())
        folders.append(folder)
    return folders


# -- merging one student's results -----------------------------------------------------------------
def merge(old: dict | None, new: dict, exercise_ids: list[str], submission: dict) -> dict:
    """`new` (this run's results of `exercise_ids`) merged into `old` (the kept ones): the
    other exercises' checks, notes and times stay; this run's notes replace the general ones.
    `submission`: {"student", "id", "layout", "key", "notes", "late"} of this run."""
    replaced = set(exercise_ids)
    order = {e.id: n for n, e in enumerate(EXERCISES)}
    old = old or {"tests": []}
    tests = [t for t in old["tests"] if t["tags"][0] not in replaced]
    tests += [t for t in new["tests"] if t["tags"][0] in replaced]
    tests.sort(key=lambda t: order.get(t["tags"][0], len(order)))     # stable within exercises
    graded = {e: made for e, made in graded_of(old).items() if e not in replaced}
    graded.update({e: made for e, made in graded_of(new).items() if e in replaced})
    notes = {key: lines for key, lines in (old.get("notes") or {}).items()
             if key not in replaced and key != RUN_NOTES}
    notes.update({key: lines for key, lines in (new.get("notes") or {}).items()
                  if key in replaced or key == RUN_NOTES})
    earlier = [note for note in (old.get("submission") or {}).get("notes", [])
               if _exercise_of(note) not in (None, *replaced)]
    now = [note for note in submission.get("notes", [])
           if _exercise_of(note) is None or _exercise_of(note) in replaced]
    # "score" and "bonus" are the merged tests' (score_fields), never this run's alone
    new = {key: value for key, value in new.items() if key != "bonus"}
    document = {**new, "tests": tests, **score_fields(tests),
                "graded": dict(sorted(graded.items(), key=lambda item: order.get(item[0], 99))),
                "notes": notes, "submission": {**submission, "notes": _by_exercise(
                    now + earlier, [e.id for e in EXERCISES])}}
    return document


def _exercise_of(note: str) -> str | None:
    prefix = note.split(":", 1)[0]
    return prefix if prefix in BY_ID else None


def _by_exercise(notes: list[str], exercise_ids) -> list[str]:
    """The notes as they came, except that an exercise's notes stand together where its first
    one stood ("ex01: import error; ex01: graded ... as ...; ex02: missing")."""
    ids = set(exercise_ids)
    grouped: list[str] = []
    for note in notes:
        prefix = note.split(":", 1)[0]
        if prefix not in ids:
            grouped.append(note)
        elif not any(seen.split(":", 1)[0] == prefix for seen in grouped):
            grouped += [other for other in notes if other.split(":", 1)[0] == prefix]
    return grouped


# -- what the student reads ------------------------------------------------------------------------
def when(stamp: str) -> str:
    """An ISO time as the instructor reads it: local date, hour and minute."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return stamp or "unknown"


def graded_cell(document: dict, exercise_ids=None) -> str:
    """When each exercise was graded: one time when all were graded in the same minute."""
    made = {e: when(m.get("at", "")) for e, m in graded_of(document).items()
            if exercise_ids is None or e in exercise_ids}
    if len(set(made.values())) <= 1:
        return next(iter(made.values()), "")
    return "; ".join(f"{e} {at}" for e, at in made.items())


def student_report(document: dict, late_note: str | None = None) -> str:
    """report.txt: what a student should read. The kind of grade and the course secret's id,
    the notes on what was handed in, the score table, one line on the run's protections, one
    feedback line per lost point, and when each exercise was graded by which kit; never the
    grader's paths, nor any other line on the sandbox."""
    graded = graded_of(document)
    secrets = sorted({m.get("secret_id") for m in graded.values()
                      if m.get("mode") == "official" and m.get("secret_id")})
    lines = []
    if secrets:
        lines.append(f"Official grade of the submission (course secret {', '.join(secrets)}: "
                     "every input drawn from it)")
    else:
        first = (document.get("output") or "").splitlines()[:1]
        lines += [line for line in first if line.startswith(("Not graded:", "Grading failed:"))]
    lines += (document.get("submission") or {}).get("notes", [])
    if late_note:
        lines.append(late_note)
    notes = {key: list(value) for key, value in (document.get("notes") or {}).items()}
    notes[RUN_NOTES] = [line for line in notes.get(RUN_NOTES, [])
                        if line.startswith("protections on this run:")][:1]
    if lines:
        lines.append("")
    lines.append(render_table(results_of_document(document), notes))
    versions = sorted({m.get("kit_version", "unknown") for m in graded.values()})
    lines += ["", f"Graded: {graded_cell(document)} (rnnkit {', '.join(versions)})"]
    return "\n".join(lines) + "\n"


# -- the gradebook ---------------------------------------------------------------------------------
def gradebook_row(document: dict, folder: str, exercise_ids: list[str]) -> dict:
    submission = document.get("submission") or {}
    row = {"student": submission.get("student", folder), "id": submission.get("id", ""),
           "folder": folder}
    notes = list(submission.get("notes", []))
    found_nothing = any(note.startswith("no exercise module found") for note in notes)
    exercise_notes = []
    for exercise_id in exercise_ids:
        tests = [t for t in document["tests"] if t["tags"][0] == exercise_id]
        row[exercise_id] = f"{sum(t['score'] for t in tests):g}" if tests else ""
        lost = [t for t in tests if t["score"] < t["max_score"]]
        kinds = {t["tags"][1] for t in lost}
        if lost and kinds == {"missing"}:
            if not found_nothing:
                exercise_notes.append(f"{exercise_id}: missing")
            continue
        if lost and kinds == {"not_started"} and len(lost) == len(tests):
            exercise_notes.append(f"{exercise_id}: not started")
        for kind in NOTED_KINDS:
            if kind in kinds:
                exercise_notes.append(f"{exercise_id}: {kind.replace('_', ' ')}")
    total, maximum, bonus, _ = split_points((t["tags"][0], t["score"], t["max_score"])
                                            for t in document["tests"])
    row["total"], row["max"] = f"{total:g}", f"{maximum:g}"
    if any(is_bonus(exercise_id) for exercise_id in exercise_ids):
        # The bonus exercises' points: a column of their own, in neither total nor max (empty
        # for a row that was never graded on a bonus exercise).
        graded_bonus = any(is_bonus(t["tags"][0]) for t in document["tests"])
        row["bonus"] = f"{bonus:g}" if graded_bonus else ""
    row["notes"] = "; ".join(_by_exercise([*exercise_notes, *notes], exercise_ids))
    row["graded"] = graded_cell(document)
    return row


def write_gradebook(path: Path, rows: list[dict], exercise_ids) -> None:
    """UTF-8 with a byte-order mark, so that a spreadsheet (Excel too) reads every name right."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        bonus = ["bonus"] if any(is_bonus(e) for e in exercise_ids) else []
        writer = csv.DictWriter(handle, fieldnames=["student", "id", "folder", *exercise_ids,
                                                    "total", "max", *bonus, "notes", "graded"])
        writer.writeheader()
        writer.writerows(rows)


# -- after every run: everything rebuilt from the kept results -------------------------------------
def rebuild(out: Path, settings: lms.Settings, unrecognised=(), echo=print) -> list[dict]:
    """gradebook.csv, every report.txt, the LMS files and the class report, from every kept
    results.json in `out` (and `unrecognised`: this run's top-level entries that were no
    submission, one row each). Returns the gradebook rows."""
    from rnnkit.tools import classreport

    kept = load(out)
    exercise_ids = [e.id for e in EXERCISES if any(has_exercise(d, e.id) for d in kept.values())]
    entries = _entries(kept, settings, echo)
    rows = []
    for folder, document in kept.items():
        entry = entries[folder]
        late = entry.late.note(entry.total, entry.max_total) if entry.late else None
        report = student_report(document, late)
        where = Path(out) / "students" / folder
        if document.get("output") != report:
            document["output"] = report
            replace(where / "results.json", document)
        if not (where / "report.txt").is_file() or \
                (where / "report.txt").read_text(encoding="utf-8") != report:
            (where / "report.txt").write_text(report, encoding="utf-8")
        entry.report = report
        row = gradebook_row(document, folder, exercise_ids)
        if late:
            row["notes"] = "; ".join(filter(None, [row["notes"], late]))
        rows.append(row)
    rows.sort(key=lambda row: (row["student"].casefold(), row["id"], row["folder"]))
    for name in unrecognised:
        rows.append({"student": name, "id": "", "folder": "", "notes":
                     "not graded: not recognised as a submission (a folder or .zip per "
                     "student, or an LMS file)"})
    write_gradebook(Path(out) / GRADEBOOK, rows, exercise_ids)
    _write_lms(Path(out), [entries[f] for f in sorted(entries, key=lambda f: (
        entries[f].name.casefold(), f))], exercise_ids, settings, echo)
    classreport.write(Path(out), kept, echo=echo)
    return rows


def has_exercise(document: dict, exercise: str) -> bool:
    return any(t["tags"][0] == exercise for t in document["tests"])


def _entries(kept: dict[str, dict], settings: lms.Settings, echo) -> dict[str, lms.Entry]:
    """Each kept student's line for the LMSs: points, the roster's row, the late policy."""
    entries = {}
    for folder, document in kept.items():
        submission = document.get("submission") or {}
        points, maxima = {}, {}
        for test in document["tests"]:
            exercise = test["tags"][0]
            points[exercise] = points.get(exercise, 0.0) + test["score"]
            maxima[exercise] = maxima.get(exercise, 0.0) + test["max_score"]
        entries[folder] = lms.Entry(folder, submission.get("student", folder),
                                    submission.get("layout", ""), submission.get("id", ""),
                                    points, maxima, bool((submission.get("late") or {})
                                                         .get("marked")), "")
    if settings.roster:
        kind, people = lms.read_roster(Path(settings.roster))
        unmatched = lms.match_roster(list(entries.values()), kind, people)
        for line in unmatched:
            echo(f"roster: {line}")
    policy = lms.LatePolicy.parse(settings.late_policy)
    due = lms.parse_time(settings.due, "--due")
    for entry in entries.values():
        submitted = entry.person.submitted if entry.person else None
        entry.late = lms.lateness(policy, due, entry.marked_late, submitted)
    return entries


def _write_lms(out: Path, entries: list[lms.Entry], exercise_ids, settings: lms.Settings,
               echo) -> None:
    chosen = list(settings.lms)
    if not chosen:
        layouts = {entry.layout for entry in entries}
        kind = lms.read_roster(Path(settings.roster))[0] if settings.roster else ""
        chosen = [name for name in ("canvas", "moodle") if name in layouts or name == kind]
    left_out = []
    if "canvas" in chosen:
        left_out += [f"{lms.CANVAS_FILE}: {line}" for line in
                     lms.write_canvas(out / lms.CANVAS_FILE, entries, exercise_ids, settings)]
    if "moodle" in chosen:
        left_out += [f"{lms.MOODLE_FILE}: {line}" for line in
                     lms.write_moodle(out / lms.MOODLE_FILE, entries, settings,
                                      datetime.now().astimezone())]
        lms.write_moodle_feedback(out / lms.MOODLE_FEEDBACK, entries)
    written = [name for name, kind in ((lms.CANVAS_FILE, "canvas"), (lms.MOODLE_FILE, "moodle"),
                                       (lms.MOODLE_FEEDBACK, "moodle")) if kind in chosen]
    if written:
        echo(f"LMS files: {', '.join(str(out / name) for name in written)}")
    listing = out / lms.NOT_IMPORTED
    if left_out:
        listing.write_text("\n".join(left_out) + "\n", encoding="utf-8")
        echo(f"not in the LMS files ({len(left_out)}, listed in {listing}): "
             + "; ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else ""))
    elif listing.exists():
        listing.unlink()
