"""The zygote (`rnnkit.sandbox.zygote`): a student process forked from it is as walled in, as
fresh and as deterministic as one started the ordinary way, and nothing of it outlives grading.

The walls themselves are proven through the forked path by the planted corpus
(`test_walls.py`, `test_planted.py`), which grades with the zygote on, as every run does."""
from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import alive, children, cmdline, descendants

from rnnkit import KIT_ROOT
from rnnkit.course import BY_ID
from rnnkit.grader.session import sandbox_config
from rnnkit.grader.handles import process, zygote
from rnnkit.grader.handles.process import StudentError, StudentProcess

pytestmark = pytest.mark.skipif(not zygote.available(), reason="the zygote needs Linux pidfds")

PROBES = "rnnkit.probes.ex04"


def student(folder, exercise_id="ex04", **options) -> StudentProcess:
    exercise = BY_ID[exercise_id]
    config = sandbox_config(exercise)
    return StudentProcess(folder, exercise.module, config=config, copy=config["copy"], **options)


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.fixture(scope="module", autouse=True)
def no_zygote_left():
    process.close_zygotes()
    yield
    process.close_zygotes()


@pytest.fixture
def fresh_zygotes():
    process.close_zygotes()
    yield


def train(folder, monkeypatch, *, forked: bool):
    """ex04's seeded training probe (random initial weights, shuffled batches, Adam) on a
    series of one batch of windows: the weights after six epochs."""
    monkeypatch.setenv("RNNKIT_ZYGOTE", "on" if forked else "off")
    series = np.sin(np.linspace(0, 12, 24 + 8 + 63)).astype("float32")
    with student(folder) as proc:
        result = proc.call(PROBES, "probe_train_forecaster", {"train": series, "cell": "GRUCell"},
                           seed=7, timeout=120)
        assert isinstance(proc.proc, zygote.ForkedChild) == forked
    return result


def test_a_forked_process_computes_the_same_bits_as_a_started_one(monkeypatch):
    folder = KIT_ROOT / "solutions"
    forked = train(folder, monkeypatch, forked=True)
    started = train(folder, monkeypatch, forked=False)
    assert len(forked["weights"]) == len(started["weights"]) > 0
    for a, b in zip(forked["weights"], started["weights"]):
        np.testing.assert_array_equal(a, b)      # bit for bit: references are recorded either way
    assert forked["loss"] == started["loss"]


def test_the_zygote_forks_with_one_helper_thread_and_no_tensorflow_runtime():
    """Forking a process with threads copies only the calling one: after its imports the
    zygote must have only OpenBLAS's pool besides the main thread (TensorFlow starts its
    pools at the first operation, which only forked children run)."""
    current = process.shared_zygote(str(KIT_ROOT), process.worker_environment())
    with student(KIT_ROOT / "solutions") as proc:
        proc._start()                     # returns once the forked worker is ready
        assert isinstance(proc.proc, zygote.ForkedChild)
        assert proc.proc.pid in children(current.pid)
        assert threads(current.pid) <= 2
        assert proc.protections.get("applied"), proc.protections   # walled in like any worker


def test_a_forked_process_shares_the_zygotes_imports_frozen(tmp_path):
    """The zygote freezes what it imported (gc.freeze) before forking: a collection in the
    student's process leaves those objects' pages shared instead of copying them all."""
    (tmp_path / "ex04_time_series.py").write_text(textwrap.dedent("""\
        import gc
        def normalize_splits(train, val, test):
            raise RuntimeError(f"FROZEN={gc.get_freeze_count()} ENABLED={gc.isenabled()}")
        """))
    with student(tmp_path) as proc:
        proc._start()
        assert isinstance(proc.proc, zygote.ForkedChild)
        with pytest.raises(StudentError) as raised:
            proc.call(PROBES, "probe_normalize", {"train": [1.0], "val": [1.0], "test": [1.0]},
                      seed=0, timeout=60)
    frozen = int(raised.value.message.split("FROZEN=")[1].split()[0])
    assert frozen > 100_000, raised.value.message       # TensorFlow and Keras: ~10^6 objects
    assert "ENABLED=True" in raised.value.message        # the student's own objects collected


def test_a_forked_process_has_its_own_home_and_temporary_folder(tmp_path):
    (tmp_path / "ex04_time_series.py").write_text(textwrap.dedent("""\
        import os, tempfile
        raise RuntimeError("HOME=" + os.environ["HOME"] + " TMP=" + tempfile.gettempdir())
        """))
    with student(tmp_path) as proc:
        with pytest.raises(StudentError) as raised:
            proc.call(PROBES, "probe_normalize", {"train": [1.0], "val": [1.0], "test": [1.0]},
                      seed=0, timeout=60)
        scratch = proc.scratch
    message = raised.value.message
    assert f"HOME={scratch}/cwd " in message and f"TMP={scratch}/tmp" in message, message


def test_nothing_forked_outlives_the_grading(tmp_path, fresh_zygotes):
    (tmp_path / "ex04_time_series.py").write_text("import time\ntime.sleep(600)\n")
    proc = student(tmp_path, startup_seconds=5)
    with pytest.raises(StudentError) as raised:
        proc.call(PROBES, "probe_normalize", {"train": [1.0], "val": [1.0], "test": [1.0]},
                  seed=0, timeout=5)
    assert raised.value.kind == "timeout"
    current = next(iter(process._ZYGOTES.values()))
    proc.__exit__(None, None, None)
    assert children(current.pid) == []            # killed and reaped: not even a zombie
    pid = current.pid
    process.close_zygotes()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()


def test_one_zygote_serves_every_exercise_of_a_grading(tmp_path, monkeypatch, fresh_zygotes):
    """Variables the grader's own imports add to its environment between exercises must not
    start a second zygote (each costs a TensorFlow import and ~550 MB)."""
    first = process.shared_zygote(str(KIT_ROOT), process.worker_environment())
    monkeypatch.setenv("SOMETHING_TENSORFLOW_SET", "1")
    assert process.shared_zygote(str(KIT_ROOT), process.worker_environment()) is first
    assert len(process._ZYGOTES) == 1


def test_a_dead_zygote_is_replaced(fresh_zygotes):
    first = process.shared_zygote(str(KIT_ROOT), process.worker_environment())
    first.proc.kill()
    first.proc.wait()
    with student(KIT_ROOT / "solutions") as proc:
        proc._start()
        assert isinstance(proc.proc, zygote.ForkedChild)
    second = next(iter(process._ZYGOTES.values()))
    assert second.pid != first.pid and second.alive()


@pytest.mark.parametrize("exercise_id", ["ex01", "ex02"])   # a fork of the zygote; a fresh one
def test_no_student_process_outlives_a_killed_grader(tmp_path, exercise_id):
    """A grader killed outright (a class run's timeout, the OOM killer, Ctrl-C twice) takes
    the zygote and every student process with it: each dies with its parent."""
    import signal
    import subprocess
    import sys

    (tmp_path / BY_ID[exercise_id].filename).write_text("import time\ntime.sleep(300)\n")
    grader = subprocess.Popen([sys.executable, "-m", "rnnkit", "grade", exercise_id, "--target",
                               str(tmp_path)], cwd=KIT_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        students: set[int] = set()
        while time.monotonic() < deadline and not students:
            below = descendants(grader.pid)
            if exercise_id == "ex02":     # a fresh interpreter running the worker
                students = {pid for pid in below if b"worker" in cmdline(pid)}
            else:                         # the zygote's fork
                students = {child for pid in below if b"zygote" in cmdline(pid)
                            for child in children(pid)}
            time.sleep(0.5)
        assert students, "no student process started"
        time.sleep(2)
        everything = descendants(grader.pid)
    finally:
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(pid) for pid in everything):
        time.sleep(0.2)
    assert not [pid for pid in everything if alive(pid)], everything


def test_a_reply_left_by_a_killed_borrower_is_not_taken_for_the_next(fresh_zygotes):
    """A grader forked from grade-class's warm grader can be killed between asking the
    zygote and reading its answer; the answer stays in the socket. Every request carries an
    id the zygote echoes, so the next request (here: the warm grader's reset, then a fork)
    reads its own reply, not that one."""
    current = process.shared_zygote(str(KIT_ROOT), process.worker_environment())
    pid = os.fork()
    if pid == 0:                                   # asks, then dies without reading
        try:
            zygote.send(current._sock, {"op": "reset", "id": "killed-borrower:1"})
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert current.reset() == 0
    with student(KIT_ROOT / "solutions") as proc:
        proc._start()
        assert isinstance(proc.proc, zygote.ForkedChild)     # a fork, not a fallback
        assert proc.proc.pid in children(current.pid)


def test_an_import_failure_met_by_every_check_is_raised_afresh(tmp_path):
    """Each check of a module that does not import meets the same failure. Raised as one
    object it grew by every earlier check's frames (pytest then formatted them all: a
    syntax error took 15 s to grade instead of 5)."""
    import traceback

    (tmp_path / "ex04_time_series.py").write_text("def broken(:\n")
    depths, raised = [], []
    with student(tmp_path) as proc:
        for _ in range(4):
            with pytest.raises(StudentError) as error:
                proc.call(PROBES, "probe_normalize", {"train": [1.0], "val": [1.0],
                                                      "test": [1.0]}, seed=0, timeout=60)
            assert error.value.kind == "import_error" and "SyntaxError" in str(error.value)
            raised.append(error.value)
            depths.append(len(traceback.extract_tb(error.value.__traceback__)))
    # the first comes from starting the process, the others from the same later call
    assert len({id(e) for e in raised}) == 4 and depths[1] == depths[2] == depths[3], depths


def test_a_student_process_inherits_only_what_finds_programs_locale_and_numeric_settings(
        monkeypatch):
    """The attacker's review: student code saw every variable of the grader's environment
    but RNNKIT_ and PYTHON ones (a hosting service's tokens would be among them). Only the
    listed ones pass now."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary")
    monkeypatch.setenv("GRADESCOPE_TOKEN", "canary")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    env = process.worker_environment()
    assert "canary" not in env.values()
    assert env["OMP_NUM_THREADS"] == "2" and env["PATH"] == os.environ["PATH"]
    assert not [key for key in env if key.startswith("RNNKIT_")]
