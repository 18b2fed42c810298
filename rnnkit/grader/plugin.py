"""The pytest plugin behind `tests/grading/`: points, the `grader` fixture, results.

Loaded with `-p rnnkit.grader.plugin` (pyproject's addopts, and `rnnkit.grader.api.grade`),
before pytest parses its command line: so `--target DIR` is known as an option and DIR is
never taken for a test path whose `conftest.py` pytest would load. Its hooks act on the
checks in `tests/grading/` only.
Every collected check yields exactly one `CheckResult`, whether it passed, failed, errored in
set-up or was skipped, so `max_score` never shrinks.
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from rnnkit import KIT_ROOT
from rnnkit.course import BY_ID
from rnnkit.grader.compare import CheckFailed
from rnnkit.grader.results import CheckResult, dump, gradescope, readable, render_table
from rnnkit.grader.session import Grader, solutions_available
from rnnkit.grader.handles.process import StudentError

__all__ = ["pytest_addoption", "pytest_configure", "pytest_collection_modifyitems",
           "pytest_runtest_makereport", "pytest_sessionfinish", "pytest_terminal_summary",
           "pytest_unconfigure", "grader"]

RESULTS = pytest.StashKey[list]()
NOTES = pytest.StashKey[dict]()
STORES = pytest.StashKey[dict]()
STARTED = pytest.StashKey[float]()
SNAPSHOT = pytest.StashKey[object]()
TAMPERED = pytest.StashKey[list]()
USER = pytest.StashKey[object]()
ITEMS = pytest.StashKey[list]()
SUBMISSION = pytest.StashKey[object]()
PROTECTIONS = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("rnnkit", "rnnkit grading")
    group.addoption("--target", default=str(KIT_ROOT / "exercises"),
                    help="folder of exercise modules to grade (default: exercises/)")
    group.addoption("--reference", choices=("auto", "live", "recorded", "record", "record-official"),
                    default="auto",
                    help="live: run solutions/; recorded: data/references; record-official: the "
                         "official grade, saving the reference's training on the course's data "
                         "(release); record: live and save "
                         "(release); auto: live when solutions/ exists")
    group.addoption("--rnnkit-json", default=None, help="write Gradescope results.json here")
    group.addoption("--rnnkit-progress", action="store_true",
                    help="print one character per check (used by `python -m rnnkit grade`)")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points this grading check is worth")
    config.addinivalue_line("markers", "training: a check that trains a model (slow)")
    config.addinivalue_line("markers", "official: a check only the official grade can run (it "
                            "needs what a student kit does not carry); a self-check lists it")
    config.addinivalue_line(
        "markers", "part(name, uses=()): the function or cell this check judges and the earlier "
        "parts it runs on; '{param}' is filled from the check's parameters. A failure caused by "
        "a part an earlier check found wrong says 'same cause as' that check")
    if not hasattr(config.option, "tbstyle"):   # no terminal (`grade`): nothing shows pytest's
        config.option.tbstyle = "line"          # tracebacks, so none is formatted in full
    config.stash[RESULTS] = []
    config.stash[NOTES] = {}
    config.stash[STORES] = {}
    config.stash[STARTED] = time.monotonic()
    config.stash[TAMPERED] = []
    config.stash[SNAPSHOT] = None
    config.stash[USER] = None
    config.stash[PROTECTIONS] = []


def _prepare_trusted_side(config) -> None:
    """Before any student code runs: snapshot the grader, adopt orphans, and import what the
    grader itself will need, so nothing it loads later can have been planted."""
    if config.stash[SNAPSHOT] is not None:
        return
    from rnnkit.grader.snapshot import for_this_grading
    from rnnkit.grader.handles import reaper

    config.stash[SNAPSHOT] = for_this_grading()
    config.stash[USER] = reaper.unprivileged_user()
    reaper.become_subreaper()
    chosen = {exercise_of(item) for item in config.stash.get(ITEMS, [])}
    exercises = [BY_ID[e] for e in sorted(chosen) if e in BY_ID]
    if any(not {"keras", "tensorflow"} & set(e.forbidden_imports) for e in exercises):
        from rnnkit.grader.handles import process

        # Started now, it imports TensorFlow on the other core while this process does.
        process.prestart_zygote(str(config.stash[SNAPSHOT].root))
    import keras  # noqa: F401
    import tensorflow

    tensorflow.config.experimental.enable_op_determinism()   # references reproduce exactly

    if reference_mode(config) in ("live", "record", "record-official"):
        import importlib

        for exercise_id in sorted({exercise_of(item) for item in config.stash.get(ITEMS, [])}):
            importlib.import_module(f"solutions.{BY_ID[exercise_id].module}")
    import gc

    # TensorFlow's and Keras's objects out of the collector's reach: each full collection
    # walked them all (pytest alone runs five at the end: ~1 s of CPU per grading).
    gc.collect()
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """In record mode, the data files each exercise's checks open are noted (`DataReads`)."""
    from rnnkit.grader.references import DATA_READS

    if is_check(item) and reference_mode(item.config) == "record":
        DATA_READS.start()
        DATA_READS.current = exercise_of(item)
    yield
    DATA_READS.current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a check that trains, the grader gives back what scoring the trained weights in
    Keras held (see `release_memory`); the student's process trains the next one meanwhile."""
    yield
    if is_check(item) and item.get_closest_marker("training") is not None:
        release_memory()


def release_memory() -> None:
    """Give back the memory the grader's Keras work held: Keras's global state (the graphs
    and kernels of the models an oracle or twin built and scored), the objects collected
    since `gc.freeze`, and the C heap's free pages (glibc keeps them otherwise, so the
    grader's PSS only grew across a grading: it is summed with the student's process at the
    memory budget's peak, `rnnkit.tools.bench`). Every oracle is seeded on its own
    (`rnnkit.grader.references.trusted`), so no graded value depends on what is released.
    At an exercise's end and after each training check only: it takes about 0.2 s."""
    import ctypes
    import gc

    import keras

    keras.backend.clear_session(free_memory=False)
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):   # a C library without it (musl)
            pass


def pytest_unconfigure(config):
    from rnnkit.grader.handles.process import close_zygotes

    close_zygotes()
    snapshot = config.stash.get(SNAPSHOT, None)
    if snapshot is not None:
        from rnnkit.grader.snapshot import owned

        if owned(snapshot):
            snapshot.cleanup()
    submission = config.stash.get(SUBMISSION, None)
    if submission is not None:
        submission.cleanup()


def submission_of(config):
    """The graded folder, notebooks converted to modules (once per grading; see
    `rnnkit.grader.submission`)."""
    if config.stash.get(SUBMISSION, None) is None:
        from rnnkit.grader.submission import Submission

        config.stash[SUBMISSION] = Submission(Path(config.getoption("target")).resolve())
    return config.stash[SUBMISSION]


def course_secret(config):
    """The course secret when this grading is the official grade (live solutions/ and a
    secret), else None (a self-check, or release's recording)."""
    if reference_mode(config) not in ("live", "record-official"):
        return None
    from rnnkit.grader import secret

    try:
        return secret.load()
    except secret.SecretProblem as problem:
        raise pytest.UsageError(str(problem)) from None


def grading_kind(config) -> str:
    """"official", "self-check" or "record": what this run is (the report says it)."""
    mode = reference_mode(config)
    if mode == "record":
        return "record"
    return "official" if course_secret(config) is not None else "self-check"


def reference_mode(config) -> str:
    mode = config.getoption("reference")
    if mode == "auto":
        return "live" if solutions_available() else "recorded"
    if mode in ("live", "record", "record-official") and not solutions_available():
        raise pytest.UsageError(f"--reference {mode} needs solutions/ in the kit")
    return mode


GRADING_DIR = KIT_ROOT / "tests" / "grading"


def is_check(item) -> bool:
    return Path(str(item.path)).parent == GRADING_DIR


def exercise_of(item) -> str:
    """The exercise a check belongs to: its file is tests/grading/test_<id>.py."""
    return Path(str(item.path)).stem[len("test_"):]


def pytest_itemcollected(item):
    """`-k` also matches the words of a check's title, as students see it in the report
    (`-k protocol` selects "SimpleRNNCell follows the Keras cell protocol")."""
    if is_check(item):
        item.extra_keyword_matches.update(re.findall(r"[A-Za-z0-9_]+", check_title(item)))


def pytest_collection_modifyitems(session, config, items):
    checks = [item for item in items if is_check(item)]
    for item in checks:
        if item.get_closest_marker("points") is None:
            raise pytest.UsageError(f"grading check {item.nodeid} has no @pytest.mark.points(n)")
        if exercise_of(item) not in BY_ID:
            raise pytest.UsageError(f"{item.path.name} grades {exercise_of(item)!r}, which is "
                                    f"not declared in rnnkit/course.py")
    if grading_kind(config) == "self-check":
        # A check only the official grade can run is listed by a self-check, never run.
        official = [item for item in checks if item.get_closest_marker("official")]
        if official:
            config.hook.pytest_deselected(items=official)
            items[:] = [item for item in items if item not in official]
            checks = [item for item in checks if item not in official]
    config.stash[ITEMS] = checks


@pytest.fixture(scope="module")
def grader(request):
    """The exercise's grader: the student's process and the reference (one per test file)."""
    config = request.config
    exercise = BY_ID[exercise_of(request.node)]
    submission = submission_of(config)
    target = submission.folder
    mode = reference_mode(config)
    _prepare_trusted_side(config)
    secret = course_secret(config)
    if mode == "record-official" and secret is None:
        raise pytest.UsageError("--reference record-official needs the course secret")
    instance = Grader(exercise, target, mode="live" if mode == "record-official" else mode,
                      secret=secret, snapshot=config.stash[SNAPSHOT], user=config.stash[USER],
                      record_official=mode == "record-official")
    # What the submission's boundary refused (a notebook's shell line) counts as a finding of
    # the source rules: the exercise is not graded, and nothing of it runs.
    instance.findings[:0] = submission.refusals(exercise)
    instance.notes = config.stash[NOTES].setdefault(exercise.id, [])
    yield instance
    _note_protections(config, instance.student.protections)
    instance.close()
    release_memory()
    instance.notes[:] = [submission.translate(note) for note in instance.notes]
    changed = config.stash[SNAPSHOT].tampered()
    if changed and not config.stash[TAMPERED]:
        config.stash[TAMPERED].extend(changed)
    if mode == "record":
        stores = config.stash[STORES]
        stores.setdefault(exercise.id, {}).update(instance.store.recorded)
    if mode == "record-official":
        stores = config.stash[STORES]
        stores.setdefault(exercise.id, {}).update(instance.official_store.recorded)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A check of an exercise that used up its time budget is not run: it loses its points
    with the budget's one line (`Grader.out_of_time`), whether or not it would call the
    student's process."""
    grader = getattr(item, "funcargs", {}).get("grader")
    if is_check(item) and isinstance(grader, Grader) and grader.time_left() <= 0:
        raise grader.out_of_time()


def _runs_as(user) -> str:
    """Which user student code ran as (Linux): the unprivileged one, or the grader's own,
    root then without any capability (`rnnkit.sandbox.walls.drop_capabilities`)."""
    import pwd

    uid = int(user[0]) if user else os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    return f"student code ran as {name}" + (", without capabilities" if uid == 0 else "")


def _note_protections(config, protections: dict) -> None:
    """The report's one line on the walls and limits of this run (all exercises together)."""
    from rnnkit.grader.results import RUN_NOTES
    from rnnkit.grader.handles import portable
    from rnnkit.sandbox.portable import needed

    if protections:
        config.stash[PROTECTIONS].append(protections)
    if config.stash[PROTECTIONS]:
        config.stash[NOTES][RUN_NOTES] = [portable.summary(config.stash[PROTECTIONS],
                                                           portable_path=needed())]
        if not needed():
            config.stash[NOTES][RUN_NOTES].append(_runs_as(config.stash[USER]))
        if grading_kind(config) == "official" and \
                "Landlock" not in config.stash[NOTES][RUN_NOTES][0]:
            config.stash[NOTES][RUN_NOTES].append(
                "NOT AN OFFICIAL GRADE'S PROTECTION: without Landlock the student's code could "
                "read the course secret; grade on Linux (kernel 5.13 or later) for a grade "
                "that holds")
    from rnnkit.grader import memo

    checked = memo.check_note()
    if checked:
        config.stash[NOTES][RUN_NOTES] = [*config.stash[NOTES].get(RUN_NOTES, []), checked]


def _feedback(excinfo) -> tuple[str, str]:
    """(kind, one line) for an exception that ended a check: printable, bounded (it may quote
    what the student's process sent)."""
    from rnnkit.grader.handles.process import one_line

    kind, text = _feedback_of(excinfo.value)
    return kind, one_line(readable(text), 1200)


def _feedback_of(error) -> tuple[str, str]:
    if isinstance(error, StudentError):
        return error.kind, error.feedback()
    if isinstance(error, CheckFailed):
        return "failed", str(error)
    if isinstance(error, pytest.skip.Exception):
        return "failed", f"skipped: {error.msg}"
    name = type(error).__name__
    return "grader_error", f"the check could not judge this submission ({name}: {error})"


def check_title(item) -> str:
    doc = (item.function.__doc__ or "").strip().splitlines()
    title = doc[0].rstrip(".") if doc else item.name
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        title += " (" + ", ".join(str(value) for value in callspec.params.values()) + ")"
    return title


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    done = (call.when == "call") or (call.when == "setup" and not report.passed)
    if not done or not is_check(item) or item.get_closest_marker("points") is None:
        return
    max_points = float(item.get_closest_marker("points").args[0])
    if report.passed:
        kind, feedback, points = "passed", "", max_points
    else:
        kind, feedback = _feedback(call.excinfo)
        points = 0.0
        if kind == "failed":
            feedback = _attribute(item, feedback)
        feedback = submission_of(item.config).translate(feedback)   # into notebook cells
    result = CheckResult(exercise_of(item), item.name, check_title(item), max_points, points,
                         feedback, kind, round(call.duration, 2))
    item.config.stash[RESULTS].append(result)
    if item.config.getoption("rnnkit_progress"):
        _progress(item, result)


def _attribute(item, feedback: str) -> str:
    """A failed comparison, blamed on the first check that found its part (or a part it runs
    on) wrong: see `Grader.attribute`. Crashes and timeouts keep their own sentence (a probe
    may call several functions; only a comparison says which one was wrong)."""
    marker = item.get_closest_marker("part")
    grader = getattr(item, "funcargs", {}).get("grader")
    if marker is None or not isinstance(grader, Grader):
        return feedback
    callspec = getattr(item, "callspec", None)
    params = {name: str(value) for name, value in (callspec.params if callspec else {}).items()}
    part = marker.args[0].format(**params)
    uses = [name.format(**params) for name in marker.kwargs.get("uses", ())]
    return grader.attribute(check_title(item), part, uses, feedback)


def _progress(item, result: CheckResult) -> None:
    capture = item.config.pluginmanager.get_plugin("capturemanager")
    mark = "." if result.kind == "passed" else ("-" if result.kind == "not_started" else "F")
    results = item.config.stash[RESULTS]
    first = len(results) == 1 or results[-2].exercise != result.exercise
    with capture.global_and_fixture_disabled():
        if first:
            prefix = "" if len(results) == 1 else "\n"
            # one column for every exercise of the run, however long its title (at least 32
            # characters, the column runs of short titles have always had)
            width = max([32] + [len(BY_ID[exercise_of(i)].title)
                                for i in item.config.stash.get(ITEMS, [])])
            sys.stdout.write(f"{prefix}{result.exercise} {BY_ID[result.exercise].title:<{width}} ")
        sys.stdout.write(mark)
        sys.stdout.flush()


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    from rnnkit.grader.references import REFERENCES_DIR, official_dir, write_store

    results = config.stash[RESULTS]
    snapshot = config.stash[SNAPSHOT]
    if snapshot is not None and not config.stash[TAMPERED]:
        config.stash[TAMPERED].extend(snapshot.tampered())
    if config.stash[TAMPERED]:
        _void(results, config.stash[TAMPERED])
    else:  # recordings are written last, and only from an untampered run
        folder = official_dir() if reference_mode(config) == "record-official" else REFERENCES_DIR
        for exercise_id, entries in config.stash[STORES].items():
            write_store(folder / f"{exercise_id}.npz", entries)
    if config.getoption("rnnkit_progress") and results:
        sys.stdout.write("\n")
    path = config.getoption("rnnkit_json")
    if path:
        seconds = time.monotonic() - config.stash[STARTED]
        secret = course_secret(config)
        dump(path, gradescope(results, seconds=seconds, notes=config.stash[NOTES],
                              mode=grading_kind(config), secret_id=secret.id if secret else None))


def _void(results: list[CheckResult], changed: list[str]) -> None:
    """Tampering earns nothing: every check of the grading scores 0, saying why."""
    shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
    for result in results:
        result.points = 0.0
        result.kind = "tampered"
        result.feedback = (f"voided: the grader's own files changed while this submission was "
                           f"graded ({shown})")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash[RESULTS]
    if results:
        terminalreporter.section("rnnkit score")
        terminalreporter.write_line(render_table(results, config.stash[NOTES]))


def results_of(config) -> tuple[list[CheckResult], dict]:
    return config.stash[RESULTS], config.stash[NOTES]


def run_of(config) -> dict:
    """What made this run: {"mode": official | self-check | record, "secret_id": ...}."""
    secret = course_secret(config)
    return {"mode": grading_kind(config), "secret_id": secret.id if secret else None}


os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
