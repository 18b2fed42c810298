"""Shared set-up for the kit's own tests: gradings are slow (TensorFlow starts in each
student process), so each distinct grading runs once per session and tests read its results."""
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rnnkit import KIT_ROOT

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _test_course_secret() -> None:
    """The kit's tests grade officially under a course secret of their own, made here for
    the session (a fixed key, so a failure reproduces), never the instructor's: a secret in
    solutions/ would otherwise decide which mode the tests run in. A student kit (no
    solutions/) still self-checks, as it must."""
    import atexit
    import hashlib
    import tempfile

    from rnnkit.grader import secret

    if secret.ENVIRONMENT in os.environ:
        return
    folder = Path(tempfile.mkdtemp(prefix="rnnkit-test-course-"))
    atexit.register(shutil.rmtree, folder, True)
    where = folder / secret.FILE_NAME
    where.write_text(json.dumps({"key": hashlib.sha256(b"rnnkit kit tests").hexdigest(),
                                 "created": "tests"}))
    where.chmod(0o600)
    os.environ[secret.ENVIRONMENT] = str(where)


_test_course_secret()


def run_cli(*args, cwd=KIT_ROOT, timeout=900):
    """`python -m rnnkit ARGS` in a fresh process; the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "rnnkit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


class Graded:
    """One finished `python -m rnnkit grade --json` run."""

    def __init__(self, completed, document):
        self.completed, self.document = completed, document
        self.tests = document["tests"] if document else []

    def score(self, exercise=None):
        return sum(t["score"] for t in self.tests if exercise is None or t["tags"][0] == exercise)

    def max_score(self, exercise=None):
        return sum(t["max_score"] for t in self.tests
                   if exercise is None or t["tags"][0] == exercise)

    def kinds(self, exercise):
        return {t["tags"][1] for t in self.tests if t["tags"][0] == exercise}

    def outputs(self, exercise):
        return [t["output"] for t in self.tests if t["tags"][0] == exercise]


def grade(target, *options, kit=KIT_ROOT, tmp: Path) -> Graded:
    results = tmp / f"results-{len(list(tmp.glob('results-*')))}.json"
    completed = run_cli("grade", "--target", target, "--json", results, *options, cwd=kit)
    document = json.loads(results.read_text()) if results.is_file() else None
    assert completed.returncode == 0, completed.stderr[-3000:]
    return Graded(completed, document)


@pytest.fixture(scope="session")
def graded_solutions(tmp_path_factory):
    return grade(KIT_ROOT / "solutions", tmp=tmp_path_factory.mktemp("solutions"))


@pytest.fixture(scope="session")
def graded_exercises(tmp_path_factory):
    return grade(KIT_ROOT / "exercises", tmp=tmp_path_factory.mktemp("exercises"))


@pytest.fixture
def student_kit(tmp_path_factory):
    """A fresh kit written by `release --out` (no solutions/); each test gets its own, since
    one fills the exercises in and another looks for leaks (about a second to write)."""
    out = tmp_path_factory.mktemp("student") / "kit"
    completed = run_cli("release", "--out", out)
    assert completed.returncode == 0, completed.stderr
    return out


def copy_solutions_into(folder: Path) -> Path:
    """A submission folder holding the reference answers (what a perfect student hands in)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (KIT_ROOT / "solutions").glob("*.py"):
        shutil.copy(path, folder / path.name)
    return folder


def load_catalogue(exercise_ids=None, *, cwd=KIT_ROOT, timeout=300) -> dict:
    """{exercise: {check name: (title, points)}}, collected in a fresh process from `cwd`'s
    tests/grading (the grader's own catalogue, as results.json lists it)."""
    script = ("import json\nfrom rnnkit.tools.classroom import check_catalogue\n"
              f"print(json.dumps(check_catalogue({exercise_ids!r})))\n")
    completed = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                               text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-2000:]
    found = {}
    for row in json.loads(completed.stdout.strip().splitlines()[-1]):
        found.setdefault(row["exercise"], {})[row["name"]] = (row["title"], row["points"])
    return found


def zip_bytes(members) -> bytes:
    """A deflated zip of [(name, text or bytes)], in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members:
            bundle.writestr(name, data)
    return buffer.getvalue()


# -- process trees (Linux /proc): what a grading started, and whether any of it survives -------
def children(pid: int) -> list[int]:
    from rnnkit.grader.handles.reaper import process_table

    return [child for child, (parent, _) in process_table().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from one table (graders start their own sessions)."""
    from rnnkit.grader.handles.reaper import process_table

    table = process_table()
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, (parent, _) in table.items() if parent in frontier]
        found += below
        frontier = below
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Running (a zombie is not: it has exited and only waits to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
