"""Grading many submissions: `grade-submission` (one, always leaving a results.json),
`grade-class` (a folder of them, in parallel, into a gradebook). The Gradescope bundle is
written by `rnnkit.gradescope`.

Each submission is graded by its own `python -m rnnkit grade` process, so nothing one
submission does — not even killing its grader — reaches another's grade.
"""
from __future__ import annotations

import csv
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES, resolve
from rnnkit.grader.results import dump

GRADING_SECONDS = 1800           # one whole submission; each check has its own smaller limit
MAX_UNPACKED_MB = 100
MAX_MEMBERS = 5000


class SubmissionProblem(Exception):
    """The submission cannot be read as a folder of exercise modules."""


# -- finding the exercise modules ------------------------------------------------------------
def unpack(archive: Path, destination: Path) -> Path:
    """Extract a zip safely: no absolute or parent paths, no links, bounded size."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_MEMBERS:
                raise SubmissionProblem(f"{archive.name} holds {len(members)} files")
            if sum(m.file_size for m in members) > MAX_UNPACKED_MB * 2**20:
                raise SubmissionProblem(f"{archive.name} unpacks to more than {MAX_UNPACKED_MB} MB")
            for member in members:
                name = member.filename
                mode = member.external_attr >> 16
                if name.startswith(("/", "\\")) or ".." in Path(name).parts or stat.S_ISLNK(mode):
                    raise SubmissionProblem(f"{archive.name} holds an unsafe path {name!r}")
            bundle.extractall(destination)
    except SubmissionProblem:
        raise
    except zipfile.BadZipFile as error:
        raise SubmissionProblem(f"{archive.name} is not a readable zip file ({error})") from None
    except RuntimeError as error:        # an encrypted member
        raise SubmissionProblem(f"{archive.name} could not be unpacked ({error}); hand in an "
                                "unencrypted zip") from None
    except NotImplementedError as error:  # e.g. Deflate64, which Python cannot read
        raise SubmissionProblem(f"{archive.name} uses a compression Python cannot read "
                                f"({error}); zip it again with the usual Deflate") from None
    except Exception as error:  # noqa: BLE001 - name clashes, long names, corrupt data (zlib)
        raise SubmissionProblem(f"{archive.name} could not be unpacked "
                                f"({type(error).__name__}: {str(error)[:200]})") from None
    return destination


def find_exercise_folder(root: Path) -> Path | None:
    """The folder under `root` holding the most exercise modules (a folder named exercises/
    wins ties, then the shallowest); None when there is none."""
    names = {e.filename for e in EXERCISES} | {e.notebook for e in EXERCISES}   # or notebooks
    best, best_key = None, None
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d != "solutions"]
        count = len(names & set(files))
        if count:
            path = Path(folder)
            key = (count, path.name == "exercises", -len(path.relative_to(root).parts))
            if best_key is None or key > best_key:
                best, best_key = path, key
    return best


# -- the catalogue of checks (for results when grading itself fails) -------------------------
_CATALOGUES: dict = {}


def check_catalogue(exercise_ids=None) -> list[dict]:
    """Every grading check with its points (collected by `rnnkit.grader.api.catalogue`, no
    student code runs). In a process of its own, since grade-class asks from several threads
    and pytest is not thread-safe; once per set of exercises."""
    key = tuple(exercise_ids or ())
    if key not in _CATALOGUES:
        script = ("import json, sys\nfrom rnnkit.grader.api import catalogue\n"
                  "print(json.dumps(catalogue(sys.argv[1:] or None)))\n")
        completed = subprocess.run([sys.executable, "-c", script, *key], cwd=KIT_ROOT,
                                   capture_output=True, text=True, timeout=300)
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:   # never a results.json without checks
            raise RuntimeError(f"could not list the grading checks: {completed.stderr[-500:]}")
        _CATALOGUES[key] = json.loads(lines[-1])
    return _CATALOGUES[key]


def failed_results(reason: str, exercise_ids=None) -> dict:
    """A results.json in which every check is present with 0 points and the reason."""
    from rnnkit.grader.results import CheckResult, gradescope

    results = [CheckResult(row["exercise"], row["name"], row["title"], row["points"], 0.0,
                           reason, "grading_failed") for row in check_catalogue(exercise_ids)]
    return gradescope(results, seconds=0.0, output=f"Grading failed: {reason}")


# -- one submission --------------------------------------------------------------------------
def grade_submission(submission: Path, results_path: Path, *, exercise_ids=None,
                     log_path: Path | None = None, timeout: float = GRADING_SECONDS) -> dict:
    """Grade a folder or zip; always writes `results_path` and returns its document."""
    submission = Path(submission)
    results_path = Path(results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    if results_path.exists():
        results_path.unlink()
    with tempfile.TemporaryDirectory(prefix="rnnkit-submission-") as scratch:
        scratch = Path(scratch)
        try:
            if submission.is_file() and submission.suffix == ".zip":
                root = unpack(submission, scratch / "unpacked")
            elif submission.is_dir():
                root = submission
            else:
                raise SubmissionProblem(f"{submission.name} is neither a folder nor a .zip")
            folder = find_exercise_folder(root)
            note = None
            if folder is None:
                note = "no exercise module (exNN_*.py) found in the submission"
                folder = scratch / "empty"
                folder.mkdir()
        except SubmissionProblem as problem:
            document = failed_results(str(problem), exercise_ids)
            dump(results_path, document)
            return document
        command = [sys.executable, "-m", "rnnkit", "grade", *(exercise_ids or []),
                   "--target", str(folder), "--json", str(results_path), "--allow-empty"]
        log = open(log_path, "w") if log_path else subprocess.DEVNULL
        try:
            completed = subprocess.run(command, cwd=KIT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       timeout=timeout, start_new_session=True)
            reason = None if completed.returncode == 0 else \
                f"the grader stopped with status {completed.returncode}"
        except subprocess.TimeoutExpired:
            reason = f"grading took longer than {timeout:.0f} s"
        finally:
            if log_path:
                log.close()
    if reason is None and results_path.is_file():
        document = json.loads(results_path.read_text())
    else:
        document = failed_results(reason or "the grader wrote no results", exercise_ids)
    if note:
        document["output"] = f"{note}\n\n{document['output']}"
    dump(results_path, document)
    return document


# -- a class -----------------------------------------------------------------------------------
def student_name(entry: Path) -> str:
    name = entry.name[:-4] if entry.name.endswith(".zip") else entry.name
    return re.sub(r"[^A-Za-z0-9._@+-]+", "_", name) or "unnamed"


def unique_names(names: list[str]) -> list[str]:
    """The names with a numeric suffix where two would be the same folder (case included)."""
    seen, unique = set(), []
    for name in names:
        candidate, number = name, 2
        while candidate.lower() in seen:
            candidate, number = f"{name}-{number}", number + 1
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique


def gradebook_row(student: str, document: dict, exercise_ids) -> dict:
    row = {"student": student}
    notes = []
    for exercise_id in exercise_ids:
        tests = [t for t in document["tests"] if t["tags"][0] == exercise_id]
        row[exercise_id] = f"{sum(t['score'] for t in tests):g}"
        kinds = {t["tags"][1] for t in tests if t["score"] < t["max_score"]}
        for kind in ("missing", "import_error", "timeout", "crash", "exit", "memory",
                     "bad_output", "forbidden", "tampered", "grading_failed"):
            if kind in kinds:
                notes.append(f"{exercise_id}: {kind.replace('_', ' ')}")
    row["total"] = f"{document['score']:g}"
    row["max"] = f"{sum(t['max_score'] for t in document['tests']):g}"
    row["notes"] = "; ".join(notes)
    return row


def grade_class(submissions: Path, out: Path, *, jobs: int = 1, exercise_ids=None,
                echo=print) -> list[dict]:
    """Grade every folder or zip in `submissions`; writes OUT/<student>/results.json and
    OUT/gradebook.csv; returns the gradebook rows."""
    entries = sorted(p for p in Path(submissions).iterdir()
                     if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".zip"))
    names = unique_names([student_name(p) for p in entries])
    out.mkdir(parents=True, exist_ok=True)
    ids = [e.id for e in resolve(exercise_ids)]
    rows: dict[str, dict] = {}
    started = time.monotonic()

    def one(entry: Path, name: str):
        t0 = time.monotonic()
        folder = out / "students" / name        # never collides with gradebook.csv
        try:
            document = grade_submission(entry, folder / "results.json",
                                        exercise_ids=exercise_ids, log_path=folder / "report.txt")
        except Exception as error:  # noqa: BLE001 - one submission costs only its own row
            document = failed_results(f"grading failed ({type(error).__name__}: "
                                      f"{str(error)[:200]})", exercise_ids)
            folder.mkdir(parents=True, exist_ok=True)
            dump(folder / "results.json", document)
        return name, document, time.monotonic() - t0

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, entry, name) for entry, name in zip(entries, names)]
        for done, future in enumerate(as_completed(futures), start=1):
            name, document, seconds = future.result()
            rows[name] = gradebook_row(name, document, ids)
            row = rows[name]
            echo(f"[{done}/{len(entries)}] {name}: {row['total']} / {row['max']} "
                 f"({seconds:.0f} s){'  ' + row['notes'] if row['notes'] else ''}")
    ordered = [rows[name] for name in sorted(rows)]
    with open(out / "gradebook.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["student", *ids, "total", "max", "notes"])
        writer.writeheader()
        writer.writerows(ordered)
    minutes = (time.monotonic() - started) / 60
    if entries:
        echo(f"graded {len(entries)} submissions in {minutes:.1f} min "
             f"({len(entries) / max(minutes, 1e-9):.1f} per minute); gradebook: {out / 'gradebook.csv'}")
    return ordered
