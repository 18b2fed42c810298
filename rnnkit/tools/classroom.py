"""Grading many submissions: `grade-submission` (one, always leaving a results.json),
`grade-class` (a class folder as an LMS delivers it, in parallel, into a gradebook). The
Gradescope bundle is written by `rnnkit.tools.gradescope`.

A submission is read as the student handed it in: its files are listed by the path they had
inside the student's zip or folder (`submitted_files`), each exercise module is chosen among
them (`find_modules`: renamed and upper-case names too) and copied under its own name into a
scratch folder, which is graded; the reports then name the files as handed in.

Each submission is graded by its own `python -m rnnkit grade` process, so nothing one
submission does — not even killing its grader — reaches another's grade.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import BY_ID, EXERCISES, resolve
from rnnkit.grader.results import dump

GRADING_SECONDS = 1800           # one whole submission; each check has its own smaller limit
# What a submission's zips may hold, nested zips counted with the zip they came in (a zip of
# 100 MB zips is still at most 100 MB), and how deep a member's path may nest (the student's
# process may nest its own files 32 deep too; os.walk recurses once per folder).
MAX_UNPACKED_MB = 100
MAX_MEMBERS = 5000
MAX_DEPTH = 32
# Wall-clock seconds to read one submission in the bounded helper (unpack its zips, list its
# files, find its modules): ~0.2 s for a usual one, ~1 s for 100 MB of zips.
READ_SECONDS = 60.0


class SubmissionProblem(Exception):
    """The submission cannot be read as a folder of exercise modules."""


# -- unpacking ----------------------------------------------------------------------------------
@dataclass
class Unpacked:
    """What a submission's zips have unpacked so far (all levels), against the limits above."""
    bytes: int = 0
    members: int = 0


def unpack(archive: Path, destination: Path, budget: Unpacked | None = None) -> Path:
    """Extract a zip safely: no absolute or parent paths, no links, bounded size, members and
    depth (`budget`: what the submission's other zips took already)."""
    budget = budget if budget is not None else Unpacked()
    others = " with the submission's other zips" if budget.bytes or budget.members else ""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if budget.members + len(members) > MAX_MEMBERS:
                raise SubmissionProblem(f"{archive.name} holds {len(members)} files"
                                        + (f" ({MAX_MEMBERS} at most{others})" if others else ""))
            size = sum(m.file_size for m in members)
            if budget.bytes + size > MAX_UNPACKED_MB * 2**20:
                raise SubmissionProblem(f"{archive.name} unpacks to more than {MAX_UNPACKED_MB} "
                                        f"MB{others}")
            for member in members:
                name = member.filename
                mode = member.external_attr >> 16
                if name.startswith(("/", "\\")) or ".." in Path(name).parts or stat.S_ISLNK(mode):
                    raise SubmissionProblem(f"{archive.name} holds an unsafe path {name!r}")
                if len(Path(name).parts) > MAX_DEPTH:
                    raise SubmissionProblem(f"{archive.name} holds a path nested more than "
                                            f"{MAX_DEPTH} folders deep")
            budget.bytes += size
            budget.members += len(members)
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


def _skipped(name: str) -> bool:
    """Clutter no student wrote: hidden files, macOS resource forks, caches, a kit's solutions."""
    return name.startswith((".", "__")) or name in JUNK or name == "solutions"


def submitted_files(sources, scratch: Path, *, depth: int = 0,
                    budget: Unpacked | None = None) -> list[tuple[str, Path]]:
    """(path as the student handed it in, path here) of every file of a submission.

    `sources`: [(shown, path)]: a folder or a zip (its files are shown by their path inside
    it, after `shown`, "" at the top), or a single file (shown as `shown`). A zip inside is
    unpacked into `scratch` too (a Moodle folder holding the student's zip), two levels deep,
    all of them within one `Unpacked` budget. (grade-class calls this in a bounded helper:
    `read_submission`.)"""
    budget = budget if budget is not None else Unpacked()
    found = []
    for shown, path in sources:
        if path.is_file() and path.name.lower().endswith(".zip"):
            if depth < 2:
                into = scratch / f"zip{len(list(scratch.glob('zip*')))}"
                # A flat LMS file (`name_123_456_work.zip`) is shown as a folder of that name.
                inside = shown if not shown or shown.endswith("/") else shown + "/"
                found += submitted_files([(inside, unpack(path, into, budget))], scratch,
                                         depth=depth + 1, budget=budget)
        elif path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _skipped(d))
                inside = Path(folder).relative_to(path).as_posix()
                for name in sorted(files):
                    file = Path(folder) / name
                    if _skipped(name) or file.is_symlink():
                        continue
                    relative = shown + (name if inside == "." else f"{inside}/{name}")
                    if name.lower().endswith(".zip"):
                        found += submitted_files([(relative + "/", file)], scratch, depth=depth,
                                                 budget=budget)
                    else:
                        found.append((relative, file))
        elif path.is_file() and not path.is_symlink():
            found.append((shown, path))
    return found


# -- finding the exercise modules ------------------------------------------------------------
_RENAMED = re.compile(r"^(?P<stem>.+?)(?:\s*\(\d+\)|-\d+)$")   # "x (1)" (browsers), "x-1" (Canvas)


def recognise(filename: str):
    """(exercise, rank) for a file named like an exercise module (.py or .ipynb): rank 0 the
    exact name, 1 other letter case, 2 renamed by a browser or an LMS; None otherwise."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or extension.lower() not in ("py", "ipynb"):
        return None
    renamed = _RENAMED.match(stem)
    for exercise in EXERCISES:
        if stem == exercise.module and extension in ("py", "ipynb"):
            return exercise, 0
        if stem.lower() == exercise.module:
            return exercise, 1
        if renamed and renamed.group("stem").lower() == exercise.module:
            return exercise, 2
    return None


def _folder(shown: str) -> str:
    return shown.rpartition("/")[0]


def find_modules(files: list[tuple[str, Path]]) -> tuple[dict, list[str]]:
    """({exercise id: (shown, path)}, notes) for the files of one submission.

    The folder holding the most exercise modules is the submission (a folder named exercises/
    wins ties, then the shallowest); a module elsewhere is used when that folder lacks it. A
    .py beats a notebook (.ipynb) of the same name. A renamed or upper-case name is matched
    only when no other file fits as well; otherwise the notes name the files."""
    candidates: dict[str, list] = {}
    for shown, path in files:
        found = recognise(shown.rpartition("/")[2])
        if found:
            exercise, rank = found
            candidates.setdefault(exercise.id, []).append((shown, path, rank))
    counts: dict[str, set] = {}
    for exercise_id, entries in candidates.items():
        for shown, _, _ in entries:
            counts.setdefault(_folder(shown), set()).add(exercise_id)
    primary = max(sorted(counts), default="", key=lambda f: (
        len(counts[f]), f.rpartition("/")[2] == "exercises", -f.count("/") - bool(f)))
    chosen, notes = {}, []
    for exercise_id in sorted(candidates):
        # An unchanged stub loses to a file in another folder (a whole kit zipped: exercises/
        # beside the worked notebooks/); in one folder the exact name still wins.
        several = len({_folder(e[0]) for e in candidates[exercise_id]}) > 1
        stubs = {e[0] for e in candidates[exercise_id]
                 if several and unchanged_stub(e[1], BY_ID[exercise_id])}

        def key(entry):
            shown, _, rank = entry
            return (shown in stubs, _folder(shown) != primary, rank,
                    not shown.lower().endswith(".py"), shown.count("/"))
        entries = sorted(candidates[exercise_id], key=lambda e: (key(e), e[0]))
        best = entries[0]
        if stubs and best[0] not in stubs:
            notes.append(f"{exercise_id}: graded {best[0]}, not the unchanged stub "
                         f"{sorted(stubs)[0]}")
        rivals = [e[0] for e in entries if key(e) == key(best)]
        if best[2] > 0 and len(rivals) > 1:
            notes.append(f"{exercise_id}: several files could be {BY_ID[exercise_id].module}: "
                         f"{', '.join(rivals[:4])}; none was graded (rename the one to grade)")
            continue
        chosen[exercise_id] = best[:2]
        if best[2] > 0:
            notes.append(f"{exercise_id}: graded {best[0]} as {BY_ID[exercise_id].module}"
                         f"{'.ipynb' if best[0].lower().endswith('.ipynb') else '.py'}")
    return chosen, notes


_STUB_FUNCTIONS: dict = {}


def unchanged_stub(path: Path, exercise) -> bool:
    """Whether `path` (a module or a notebook) is still a released stub of `exercise`: every
    function release stubs still holds its stub statement (by structure, `stubs.untouched`,
    so a stub of an earlier kit counts too). A student who zipped the whole kit hands in the
    stubs beside the work."""
    from rnnkit.grader import stubs

    if exercise.id not in _STUB_FUNCTIONS:
        try:
            _STUB_FUNCTIONS[exercise.id] = [name for name, _ in stubs.stubs_of(exercise)]
        except (OSError, stubs.StubError):
            _STUB_FUNCTIONS[exercise.id] = []
    try:
        # a stub is a few kB (a notebook of it, with outputs, maybe a few MB): a larger file
        # cannot be one, and is not read to find out
        if path.stat().st_size > 5 * 2**20:
            return False
        data = path.read_bytes()
        if path.name.lower().endswith(".ipynb"):
            from rnnkit import notebooks
            from rnnkit.grader.scan import MODULE_LINES

            source = notebooks.from_notebook(data, path.name, max_lines=MODULE_LINES).source
        else:
            source = data.decode("utf-8-sig", "replace")
    except (OSError, ValueError):
        return False
    return stubs.untouched(source, _STUB_FUNCTIONS[exercise.id])


def unrecognised_code(files, chosen) -> list[str]:
    """The .py and .ipynb files of a submission that are no exercise module (shown paths)."""
    used = {shown for shown, _ in chosen.values()}
    return [shown for shown, _ in files if shown not in used
            and shown.lower().endswith((".py", ".ipynb"))
            and shown.rpartition("/")[2] != "__init__.py" and recognise(
                shown.rpartition("/")[2]) is None]


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
                                   capture_output=True, text=True, timeout=300, check=False)
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:   # never a results.json without checks
            raise RuntimeError(f"could not list the grading checks: {completed.stderr[-500:]}")
        _CATALOGUES[key] = json.loads(lines[-1])
    return _CATALOGUES[key]


def failed_results(reason: str, exercise_ids=None, *, submission_problem: bool = False,
                   log_path=None) -> dict:
    """A results.json in which every check is present with 0 points and the reason.

    `submission_problem`: nothing could be graded because of what was handed in (a zip that
    does not unpack), not because grading failed; the report (`log_path`) then says so too,
    as the grader would have."""
    from rnnkit.grader.results import CheckResult, gradescope, render_table

    kind, lead = ("not_graded", "Not graded") if submission_problem else \
        ("grading_failed", "Grading failed")
    results = [CheckResult(row["exercise"], row["name"], row["title"], row["points"], 0.0,
                           reason, kind) for row in check_catalogue(exercise_ids)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        Path(log_path).write_text(f"{lead}: {reason}\n\n{render_table(results)}\n",
                                  encoding="utf-8")
    return gradescope(results, seconds=0.0, output=f"{lead}: {reason}")


# -- one submission --------------------------------------------------------------------------
@dataclass
class Submission:
    """One student's work: a folder, a zip, or an LMS's files grouped by student."""
    name: str                                   # the student's name as the LMS wrote it
    lms_id: str = ""                            # the LMS's id of the student, where it has one
    sources: list = field(default_factory=list)  # [(shown, path)], see `submitted_files`
    notes: list = field(default_factory=list)    # what the LMS says about it ("handed in late")
    layout: str = "folder"                      # folder | zip | canvas | moodle
    late: bool = False                          # the LMS marks it late

    @property
    def key(self) -> str:
        """Who this is across runs: the LMS's id, else the entry's name (grade-class merges)."""
        return f"{self.layout}:{self.lms_id or self.name}"


def grade_submission(submission, results_path: Path, *, exercise_ids=None,
                     log_path: Path | None = None, timeout: float = GRADING_SECONDS) -> dict:
    """Grade a folder, a zip or a `Submission`; always writes `results_path` and returns its
    document."""
    return _grade(submission, results_path, exercise_ids=exercise_ids, log_path=log_path,
                  timeout=timeout)[0]


def _grade(submission, results_path: Path, *, exercise_ids=None, log_path=None,
           timeout: float = GRADING_SECONDS, slot=None) -> tuple[dict, list[str]]:
    """(results document, notes for the gradebook) of one submission."""
    results_path = Path(results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    if results_path.exists():
        results_path.unlink()
    if not isinstance(submission, Submission):
        path = Path(submission)
        if not (path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")):
            problem = f"{path.name} is neither a folder nor a .zip"
            document = failed_results(problem, exercise_ids, submission_problem=True,
                                      log_path=log_path)
            dump(results_path, document)
            return document, [problem]
        submission = Submission(path.name, sources=[("", path)])
    ids = [e.id for e in resolve(exercise_ids)]
    with tempfile.TemporaryDirectory(prefix="rnnkit-submission-") as scratch:
        scratch = Path(scratch)
        try:
            files, chosen, notes = read_bounded(submission, scratch)
        except SubmissionProblem as problem:
            document = failed_results(str(problem), exercise_ids, submission_problem=True,
                                      log_path=log_path)
            dump(results_path, document)
            return document, [str(problem)]
        target = scratch / "target"
        target.mkdir()
        for exercise_id, (shown, path) in chosen.items():
            extension = ".ipynb" if shown.lower().endswith(".ipynb") else ".py"
            shutil.copyfile(path, target / f"{BY_ID[exercise_id].module}{extension}")
        if not any(recognise(shown.rpartition("/")[2]) for shown, _ in files):
            held = ", ".join(shown for shown, _ in files[:5]) + (" ..." if len(files) > 5 else "")
            notes = [f"no exercise module found (it holds {held or 'no file'})"] + notes
        elif not set(ids) <= set(chosen):
            stray = unrecognised_code(files, chosen)
            if stray:
                notes.append("unrecognised: " + ", ".join(stray[:5]) +
                             (" ..." if len(stray) > 5 else ""))
        if set(ids) & set(chosen):
            document = _run_grader(target, results_path, exercise_ids, log_path, timeout, slot)
        else:       # nothing to run: what the grader would say, without starting it
            document = missing_results(exercise_ids, log_path)
    shown = {BY_ID[i].filename: s for i, (s, _) in chosen.items() if s != BY_ID[i].filename}
    document = as_handed_in(document, shown, target, scratch)
    if log_path and Path(log_path).is_file():
        Path(log_path).write_text(_as_handed_in(Path(log_path).read_text(
            encoding="utf-8", errors="replace"), shown, target, scratch), encoding="utf-8")
    notes = submission.notes + notes
    if notes:
        document["output"] = "\n".join(notes) + f"\n\n{document['output']}"
    dump(results_path, document)
    return document, notes


def read_bounded(submission: Submission, scratch: Path) -> tuple[list, dict, list[str]]:
    """(files, chosen modules, notes) of `submission` (`submitted_files`, `find_modules`), read
    in a bounded helper (`rnnkit.grader.bounded`): its zips unpacked into `scratch` with at most
    1 GiB of memory and READ_SECONDS, never in this process, which grades the whole class.
    SubmissionProblem, one line, when it cannot be read."""
    from rnnkit.grader import bounded

    item = {"sources": [[shown, str(path)] for shown, path in submission.sources],
            "scratch": str(scratch)}
    read = bounded.read_each("submission", [item], seconds=READ_SECONDS)[0]
    if not read.ok:
        label = submission.sources[0][1].name if len(submission.sources) == 1 else \
            f"{submission.name}'s files"
        raise SubmissionProblem(f"{label} could not be read within the grader's limits "
                                f"({read.why})")
    if "problem" in read.value:
        raise SubmissionProblem(read.value["problem"])
    files = [(shown, Path(path)) for shown, path in read.value["files"]]
    chosen = {exercise_id: (shown, Path(path))
              for exercise_id, (shown, path) in read.value["chosen"].items()}
    return files, chosen, list(read.value["notes"])


def read_submission(sources: list, scratch: str) -> dict:
    """In the bounded helper: what `read_bounded` returns, as plain data, or the problem."""
    try:
        files = submitted_files([(shown, Path(path)) for shown, path in sources], Path(scratch))
    except SubmissionProblem as problem:
        return {"problem": str(problem)}
    chosen, notes = find_modules(files)
    return {"files": [[shown, str(path)] for shown, path in files],
            "chosen": {exercise_id: [shown, str(path)]
                       for exercise_id, (shown, path) in chosen.items()},
            "notes": notes}


def _run_grader(target: Path, results_path: Path, exercise_ids, log_path, timeout,
                slot=None) -> dict:
    """`python -m rnnkit grade` on `target` in a process of its own: its results document.
    `slot`: grade-class's job slot, which forks that process from its warm grader (Linux),
    else a fresh process."""
    argv = ["grade", *(exercise_ids or []), "--target", str(target), "--json", str(results_path),
            "--allow-empty"]
    code, timed_out = (slot.grade(argv, log_path, timeout) if slot is not None
                       else _fresh_grader(argv, log_path, timeout))
    reason = f"grading took longer than {timeout:.0f} s" if timed_out else \
        None if code == 0 else f"the grader stopped with status {code}"
    if reason is None and results_path.is_file():
        return json.loads(results_path.read_text())
    return failed_results(reason or "the grader wrote no results", exercise_ids)


def _fresh_grader(argv: list[str], log_path, timeout, env=None) -> tuple[int | None, bool]:
    """(exit status, timed out) of `python -m rnnkit <argv>` started afresh (in `env`), its
    temporary folders (its student processes' among them) in one of its own, removed after
    it however it ended: a grader killed at its limit cannot remove them itself."""
    from rnnkit.grader.handles.process import grading_folder, remove_tree

    scratch = grading_folder()
    log = open(log_path, "w", encoding="utf-8") if log_path else \
        contextlib.nullcontext(subprocess.DEVNULL)
    try:
        with log as output:
            grader = subprocess.Popen([sys.executable, "-m", "rnnkit", *argv], cwd=KIT_ROOT,
                                      stdout=output, stderr=subprocess.STDOUT,
                                      start_new_session=True,
                                      env={**(os.environ if env is None else env),
                                           "TMPDIR": scratch})
            try:
                return grader.wait(timeout=timeout), False
            except subprocess.TimeoutExpired:
                if hasattr(os, "killpg"):
                    os.killpg(grader.pid, signal.SIGKILL)   # its student processes die with it
                else:
                    grader.kill()
                grader.wait()
                return None, True
    finally:
        remove_tree(scratch)


def missing_results(exercise_ids, log_path) -> dict:
    """The results of a submission holding none of the graded modules (the grader's words)."""
    from rnnkit.grader.results import CheckResult, gradescope, render_table

    results = [CheckResult(row["exercise"], row["name"], row["title"], row["points"], 0.0,
                           f"missing: {BY_ID[row['exercise']].filename} is not in the "
                           "submission", "missing") for row in check_catalogue(exercise_ids)]
    if log_path:
        Path(log_path).write_text(render_table(results) + "\n", encoding="utf-8")
    return gradescope(results, seconds=0.0)


def _as_handed_in(text: str, shown: dict, target: Path, scratch: Path) -> str:
    """`text` with the graded copies named as the student named them (escaped: a newline in
    a name a student chose would forge lines of the report), and no temporary path."""
    text = text.replace(f"{target}/", "").replace(str(target), "the submission")
    text = text.replace(str(scratch), "the submission")
    if shown:
        names = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, shown)) + r")(?!\w)")
        text = names.sub(lambda match: printable(shown[match.group(1)]), text)
    return text


def as_handed_in(document: dict, shown: dict, target: Path, scratch: Path) -> dict:
    document["output"] = _as_handed_in(document["output"], shown, target, scratch)
    for test in document["tests"]:
        test["output"] = _as_handed_in(test["output"], shown, target, scratch)
    return document


# -- a class: who handed in what ---------------------------------------------------------------
JUNK = {"__MACOSX", "Thumbs.db", "desktop.ini"}
# Moodle: "Full Name_N_assignsubmission_file" (a folder, Moodle 4.1 on), "..._file_" (a
# folder, before), or "..._file_NAME.py" (flat); N is the assignment's participant number.
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_[a-z]+"
                    r"(?:_(?P<file>.*))?$")
# Canvas "download all": "lastfirst_USERID_ATTACHMENTID_NAME.py", late: "lastfirst_LATE_...".
CANVAS = re.compile(r"^(?P<name>.+?)_(?:(?P<late>LATE)_)?(?P<id>\d+)_\d+_(?P<file>.+)$")


def discover(folder: Path) -> tuple[list[Submission], list[str]]:
    """(the submissions in `folder`, grouped by student; the top-level entries that are none).

    Recognised: one folder or .zip per student; Moodle's `Full Name_id_assignsubmission_file_`
    folders (or flat files), several per student grouped by id; Canvas's flat files
    `name_userid_submissionid_file` (`name_LATE_...` when late), grouped by user id. Hidden
    files and `__MACOSX/` are clutter; anything else is returned as not recognised."""
    groups: dict[tuple, Submission] = {}
    unrecognised = []
    for entry in sorted(Path(folder).iterdir()):
        name = unicodedata.normalize("NFC", entry.name)
        if name.startswith(".") or name in JUNK:
            continue
        moodle = MOODLE.match(name)
        canvas = CANVAS.match(name) if entry.is_file() else None
        if entry.is_symlink():
            unrecognised.append(name)
        elif moodle and (entry.is_dir() or moodle["file"]):
            student = groups.setdefault(("moodle", moodle["id"]),
                                        Submission(moodle["name"], moodle["id"], layout="moodle"))
            student.sources.append((moodle["file"] if entry.is_file() else "", entry))
        elif canvas:
            student = groups.setdefault(("canvas", canvas["id"]),
                                        Submission(canvas["name"], canvas["id"], layout="canvas"))
            student.sources.append((canvas["file"], entry))
            if canvas["late"] and "handed in late" not in student.notes:
                student.notes.append("handed in late")
                student.late = True
        elif entry.is_dir():
            groups[("folder", name)] = Submission(name, sources=[("", entry)])
        elif entry.is_file() and name.lower().endswith(".zip"):
            groups[("zip", name)] = Submission(name[:-4], sources=[("", entry)], layout="zip")
        else:
            unrecognised.append(name)
    return list(groups.values()), unrecognised


def folder_name(name: str) -> str:
    """A safe output folder name for a student: letters of any alphabet, digits, `.-_@+`."""
    name = unicodedata.normalize("NFC", name)
    safe = re.sub(r"[^\w.@+-]+", "_", name).strip("._-")[:80]
    return safe or "unnamed"


def unique_names(names: list[str], taken=()) -> list[str]:
    """The names with a numeric suffix where two would be the same folder (case included),
    or the same as one of `taken`."""
    seen, unique = {name.casefold() for name in taken}, []
    for name in names:
        candidate, number = name, 2
        while candidate.casefold() in seen:
            candidate, number = f"{name}-{number}", number + 1
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


# -- a class: grading into --out, merged with what it holds ----------------------------------------
def grade_class(submissions: Path, out: Path, *, jobs: int = 1, exercise_ids=None,
                echo=print, fresh: bool = False, keep_mixed: bool = False,
                settings: dict | None = None, shard: tuple[int, int] | None = None) -> list[dict]:
    """Grade every submission in `submissions` (see `discover`) into `out`, merged with what
    `out` holds (`rnnkit.tools.classbook`): this run's results replace, for the students it
    grades, those of the exercises it grades; everything else is kept. Then gradebook.csv,
    every report.txt, the LMS files (`settings`: the options given for them, kept in `out`)
    and the class report are written from every kept result. `fresh`: the earlier record is
    set aside first; `keep_mixed`: keep results made under another kit version, course secret
    or mode (refused otherwise). `shard`: (index, count): grade only that shard of the class
    (`rnnkit.tools.shards`; `class-files --merge` joins the shards). Returns the gradebook rows."""
    from rnnkit import __version__
    from rnnkit.grader import secret as secrets
    from rnnkit.tools import classbook, lms

    students, unrecognised = discover(Path(submissions))
    if not students:
        listed = (f": {', '.join(unrecognised[:5])} {'is' if len(unrecognised) == 1 else 'are'}"
                  " not") if unrecognised else ""
        raise SubmissionProblem(f"{submissions} holds no submission{listed} (a folder or .zip "
                                "per student, or an LMS download: Canvas, Moodle)")
    marker = None
    if shard is not None:
        from rnnkit.tools import shards

        whole = len(students)
        students, unrecognised, marker = shards.select(students, unrecognised, *shard, folder_name)
        echo(f"shard {shard[0]}/{shard[1]}: {len(students)} of the class's {whole} submissions")
    if not fresh:
        from rnnkit.tools import shards

        try:
            note = shards.earlier_split(out, marker)
        except shards.ShardProblem as problem:
            raise SubmissionProblem(str(problem)) from None
        if note:
            echo(note)
    out.mkdir(parents=True, exist_ok=True)
    try:
        options = lms.Settings.resolve(out, settings or {}, use_kept=not fresh)
    except lms.LmsProblem as problem:
        raise SubmissionProblem(str(problem)) from None
    if fresh:
        aside = classbook.set_aside(out)
        if aside:
            echo(f"--fresh: the earlier record in {out} was moved to {aside}")
    options.save(out)
    ids = [e.id for e in resolve(exercise_ids)]
    kept = classbook.load(out)
    folders = classbook.assign_folders([(folder_name(s.name), s.key) for s in students], kept)
    held = secrets.load()
    mixed = classbook.mixed(kept, {folder: set(ids) for folder in folders}, __version__,
                            held.id if held else None)
    if mixed and not keep_mixed:
        raise SubmissionProblem(
            f"{out} holds results this run would keep that were made otherwise ("
            + "; ".join(mixed[:4]) + (f"; {len(mixed) - 4} more" if len(mixed) > 4 else "")
            + "): grade those again, pass --keep-mixed to keep them as they are (the report "
            "says which kit graded each exercise), or --fresh to start over")
    rows_before = {folder: classbook.graded_cell(document) for folder, document in kept.items()}
    started = time.monotonic()
    slots = WarmSlots(max(1, jobs), echo)

    def one(student: Submission, folder: str):
        t0 = time.monotonic()
        where = out / "students" / folder        # never collides with gradebook.csv
        fresh_results = where / ".this-run.json"    # results.json is replaced only when merged
        try:
            with slots.take() as slot:
                document, notes = _grade(student, fresh_results, exercise_ids=exercise_ids,
                                         log_path=where / "grading.log", slot=slot)
        except Exception as error:  # noqa: BLE001 - one submission costs only its own row
            notes = [f"grading failed ({type(error).__name__}: {str(error)[:200]})"]
            document = failed_results(notes[0], exercise_ids)
            where.mkdir(parents=True, exist_ok=True)
        submission = {"student": student.name, "id": student.lms_id, "layout": student.layout,
                      "key": student.key, "notes": notes, "late": {"marked": student.late}}
        document = classbook.merge(kept.get(folder), document, ids, submission)
        document["output"] = classbook.student_report(document)
        classbook.replace(where / "results.json", document)
        (where / "report.txt").write_text(document["output"], encoding="utf-8")
        fresh_results.unlink(missing_ok=True)
        return student, folder, document, time.monotonic() - t0

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(one, student, folder)
                       for student, folder in zip(students, folders)]
            for done, future in enumerate(as_completed(futures), start=1):
                student, folder, document, seconds = future.result()
                row = classbook.gradebook_row(document, folder, ids)
                earlier = {e: m for e, m in classbook.graded_of(document).items() if e not in ids}
                kept_note = ("  kept: " + ", ".join(f"{e} graded {classbook.when(m.get('at'))}"
                                                    for e, m in earlier.items())) if earlier else ""
                who = student.name + (f" ({folder})" if folder != student.name else "")
                bonus = f" + bonus {row['bonus']}" if row.get("bonus") else ""
                echo(printable(f"[{done}/{len(students)}] {who}: {row['total']} / {row['max']}"
                               f"{bonus} "
                               f"({seconds:.0f} s){'  ' + row['notes'] if row['notes'] else ''}"
                               f"{kept_note}"))
    finally:
        slots.close()
    minutes = (time.monotonic() - started) / 60
    echo(f"graded {len(students)} submissions in {minutes:.1f} min "
         f"({len(students) / max(minutes, 1e-9):.1f} per minute)")
    others = sorted(set(rows_before) - set(folders))
    if others:
        echo(f"kept from earlier runs ({len(others)}, not in this class folder): "
             + ", ".join(f"{folder} (graded {rows_before[folder]})" for folder in others[:10])
             + (" ..." if len(others) > 10 else ""))
    rows = classbook.rebuild(out, options, unrecognised, echo=echo)
    echo(f"gradebook: {out / classbook.GRADEBOOK} ({sum(1 for r in rows if r['folder'])} students)")
    if marker is not None:
        shards.write_marker(out, marker, len(students))
    if unrecognised:
        echo(printable(f"not recognised, so not graded ({len(unrecognised)}, listed in the "
                       "gradebook): " + ", ".join(unrecognised)))
    return rows


def tensorflow_threads(jobs: int) -> dict:
    """TensorFlow's two thread pools per process when `jobs` submissions are graded at once:
    the cores shared out, unless the instructor set them. Each process's pools default to
    every core, and processes of two gradings then wait for each other's threads: measured on
    2 cores, --jobs 2, eight submissions of ex01-ex03, 23.4 s of CPU per submission with the
    defaults, 18.5 s with one thread each (results unchanged: a student's laptop trains with
    its own number of threads too, and the checks allow for it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)
    each = str(max(1, cores // max(1, jobs)))
    return {name: os.environ.get(name, each)
            for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}


class WarmSlots:
    """The job slots of grade-class. On Linux each has a warm grader (`rnnkit.grader.warm`),
    started when the slot first has a submission to grade (not for a class whose zips all
    fail to unpack); elsewhere, or with RNNKIT_WARM_GRADER=off, every submission is graded
    in a process of its own. Either way with `tensorflow_threads(jobs)`.

    A warm grader that dies or stops answering costs nothing but time: the submission it was
    grading is graded again in a process of its own, and the slot starts a new warm grader
    for its next one."""

    def __init__(self, jobs: int, echo=print):
        from rnnkit.tools import warm

        env = {**os.environ, **tensorflow_threads(jobs)}
        why_not = warm.unavailable()
        usable = warm if why_not is None else None
        chosen = os.environ.get("RNNKIT_WARM_GRADER") == "off"   # the instructor's choice
        if why_not and sys.platform.startswith("linux") and not chosen:
            echo(f"note: every submission is graded by a grader of its own, without warm "
                 f"graders (slower; they are used only behind Landlock and seccomp): {why_not}")
        self._slots = [_Slot(usable, echo, env) for _ in range(jobs)]
        self._free = queue.SimpleQueue()
        for slot in self._slots:
            self._free.put(slot)

    @contextlib.contextmanager
    def take(self):
        """A slot to grade one submission with."""
        slot = self._free.get()
        try:
            yield slot
        finally:
            self._free.put(slot)

    def close(self) -> None:
        for slot in self._slots:
            slot.close()


class _Slot:
    def __init__(self, warm, echo, env):
        self._warm, self._echo, self._env = warm, echo, env
        self.current = None
        self.started = 0                        # warm graders this slot has started

    def grade(self, argv, log_path, timeout):
        if self._warm is None:
            return _fresh_grader(argv, log_path, timeout, self._env)
        if self.current is None or self.current.proc.poll() is not None:
            self.current = self._warm.WarmGrader(self._env)
            self.started += 1
        try:
            return self.current.grade(argv, log_path, timeout)
        except self._warm.WarmGraderGone as gone:
            self.current = None
            self._echo(f"note: a warm grader stopped ({gone}); that submission is graded again "
                       "in a process of its own, and the next one gets a new warm grader")
            return _fresh_grader(argv, log_path, timeout, self._env)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def printable(text: str) -> str:
    """`text` as one line of the instructor's screen: a control character in a name a
    student chose (a newline that would forge a line, an escape sequence) is shown escaped,
    never acted on. (The gradebook keeps names as they are: the CSV quotes them.)"""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
