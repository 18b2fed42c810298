"""The warm grader of grade-class (`rnnkit.grader.warm`): one per job slot, its imports, its
copy of the student-side code and its zygote shared by the submissions the slot grades.

What must hold: a submission graded by a warm grader gets exactly the result a fresh grader
gives it; one submission cannot reach the next (planted: writes into the shared code copy,
reaches for the memory and descriptors of the processes that outlive it, a grading that
hangs until it is killed); and nothing a grading started outlives it, processes or folders."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from conftest import alive, children, cmdline, descendants

from rnnkit import KIT_ROOT
from rnnkit.tools import classroom
from rnnkit.tools import warm

pytestmark = pytest.mark.skipif(not warm.available(), reason="warm graders need Linux with pidfds and Landlock")

SOLUTION = (KIT_ROOT / "solutions" / "ex01_simple_rnn.py").read_text()

# Student code that tries to change what the next submission's student process imports (the
# shared copy of the student-side code, from inside the walls: it may only write its
# scratch), and to reach the processes that outlive it (the warm grader, its zygote and the
# grader, whose memory holds the memo of oracle results the next grading starts from): their
# memory, and every file, pipe and socket they hold, through /proc. Had any of those opened,
# it would raise at import and lose its points.
REACHES_FOR_THE_NEXT = '''
import os as _os
import rnnkit as _rnnkit
_root = _os.path.dirname(_os.path.dirname(_rnnkit.__file__))
for _relative in ("rnnkit/planted_by_a.py", "rnnkit/probes/ex01.py"):
    try:
        with open(_os.path.join(_root, _relative), "a") as _handle:
            _handle.write("RAISE = 1\\n")
    except OSError:
        pass
def _reach():
    """Every process it can name (listed in /proc if it may list it, else its parent and
    the pids near its own, where the grading's processes are): memory and descriptors."""
    me, reached = _os.getpid(), []
    try:
        listed = {int(name) for name in _os.listdir("/proc") if name.isdigit()}
    except OSError:
        listed = set()
    for pid in sorted(listed | {_os.getppid()} | set(range(max(2, me - 3000), me + 50))):
        if pid == me:
            continue
        for entry in ["mem"] + [f"fd/{fd}" for fd in range(24)]:
            try:
                _os.close(_os.open(f"/proc/{pid}/{entry}", _os.O_WRONLY | _os.O_NONBLOCK))
                reached.append(f"{pid}/{entry}")
            except OSError:
                pass
    return reached
_reached = _reach()
if _reached:
    raise RuntimeError(f"reached {_reached[:5]}")
'''


def _zygote_of(warm_pid: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for pid in children(warm_pid):
            if b"zygote" in cmdline(pid):
                return pid
        time.sleep(0.2)
    raise AssertionError("the warm grader started no zygote")


def _checks(document: dict) -> list[tuple]:
    return [(t["name"], t["score"], t["max_score"], t.get("status"), t.get("output"))
            for t in document["tests"]]


@pytest.fixture(scope="module")
def class_of_two(tmp_path_factory):
    """grade-class --jobs 1 on A (reaches for the next submission, otherwise the solution) and
    B (the solution), counting the warm graders started."""
    root = tmp_path_factory.mktemp("warm")
    submissions = root / "submissions"
    for name, source in (("a_reaches", REACHES_FOR_THE_NEXT + SOLUTION), ("b_plain", SOLUTION)):
        (submissions / name).mkdir(parents=True)
        (submissions / name / "ex01_simple_rnn.py").write_text(source)
    started = []
    original = warm.WarmGrader

    class Counted(original):
        def __init__(self, env=None):
            super().__init__(env)
            self.replies = []
            started.append(self)

        def grade(self, argv, log_path, timeout):
            try:
                return super().grade(argv, log_path, timeout)
            finally:
                self.replies.append(self.last_reply)

    copies = set(Path(tempfile.gettempdir()).glob("rnnkit-code-*"))
    warm.WarmGrader = Counted
    # B's remembered oracle results are computed again and compared bit for bit (a
    # difference stops the check, and B would lose its points)
    os.environ["RNNKIT_ORACLE_MEMO"] = "check"
    try:
        rows = classroom.grade_class(submissions, root / "out", jobs=1, exercise_ids=["ex01"],
                                     echo=lambda line: None)
    finally:
        warm.WarmGrader = original
        del os.environ["RNNKIT_ORACLE_MEMO"]
    left = set(Path(tempfile.gettempdir()).glob("rnnkit-code-*")) - copies
    return root, rows, started, left


def test_warm_graders_stop_cleanly_when_the_class_is_graded(class_of_two):
    """grade-class starts warm graders from its pool's threads, which end before it does: a
    warm grader must outlive its thread (no PR_SET_PDEATHSIG) and stop at the end of the run,
    removing its copy of the student-side code."""
    _, _, started, left = class_of_two
    assert [grader.proc.returncode for grader in started] == [0]
    assert left == set()


def test_one_warm_grader_grades_the_slot_and_no_submission_reaches_the_next(class_of_two):
    root, rows, started, _ = class_of_two
    assert len(started) == 1
    totals = {row["student"]: (row["total"], row["max"], row["notes"]) for row in rows}
    full = rows[0]["max"]
    # Had A's writes landed, both gradings would be voided (the kit's code changed during
    # grading) or B's probes would be A's: both score in full, untouched.
    assert totals == {"a_reaches": (full, full, ""), "b_plain": (full, full, "")}, totals
    for name in ("a_reaches", "b_plain"):
        output = json.loads((root / "out" / "students" / name / "results.json").read_text())
        assert "voided" not in json.dumps(output)


def test_the_next_grading_starts_from_the_oracle_results_of_the_last(class_of_two):
    """B's checks found the seed-0 oracle results A's grading computed (the fresh seed, drawn
    from each file, differs): fewer new ones, and the memo holds both gradings' own."""
    _, _, started, _ = class_of_two
    first, second = (reply["memo"] for reply in started[0].replies)
    assert first["added"] == first["entries"] > 0 and first["used"] == 0
    assert 0 < second["added"] < first["added"] and second["used"] > 0
    assert second["entries"] == first["entries"] + second["added"]


def test_a_warm_grader_gives_what_a_fresh_grader_gives(class_of_two, tmp_path, monkeypatch):
    root, _, _, _ = class_of_two
    monkeypatch.setenv("RNNKIT_WARM_GRADER", "off")
    fresh = classroom.grade_submission(root / "submissions" / "b_plain", tmp_path / "r.json",
                                       exercise_ids=["ex01"])
    warmed = json.loads((root / "out" / "students" / "b_plain" / "results.json").read_text())
    assert _checks(warmed) == _checks(fresh)      # same seed (from the file): same numbers


def test_a_grading_killed_at_its_limit_leaves_nothing_and_the_next_is_graded(tmp_path):
    hangs, plain = tmp_path / "hangs", tmp_path / "plain"
    for folder, source in ((hangs, "import time\ntime.sleep(600)\n"), (plain, SOLUTION)):
        folder.mkdir()
        (folder / "ex01_simple_rnn.py").write_text(source)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    grader = warm.WarmGrader({**os.environ, "TMPDIR": str(temporary)})
    try:
        zygote = _zygote_of(grader.proc.pid)
        before = {path.name for path in temporary.iterdir()}   # the copy, the zygote's home
        argv = ["grade", "ex01", "--target", str(hangs), "--json", str(tmp_path / "h.json")]
        code, timed_out = grader.grade(argv, tmp_path / "h.log", timeout=20)
        assert timed_out and code != 0
        # its folders (the student process's scratch among them) are gone with it
        assert {path.name for path in temporary.iterdir()} == before
        # Between gradings it has no thread but OpenBLAS's idle pool: forking it is as safe as
        # forking the zygote (TensorFlow starts its pools at the first operation, in a fork).
        assert len(os.listdir(f"/proc/{grader.proc.pid}/task")) <= 2
        assert children(zygote) == []            # its student process: killed and reaped
        assert [pid for pid in children(grader.proc.pid) if pid != zygote] == []
        argv = ["grade", "ex01", "--target", str(plain), "--json", str(tmp_path / "p.json")]
        assert grader.grade(argv, tmp_path / "p.log", timeout=300) == (0, False)
        document = json.loads((tmp_path / "p.json").read_text())
        assert document["score"] == sum(t["max_score"] for t in document["tests"]) > 0
        assert _zygote_of(grader.proc.pid) == zygote   # the same zygote served both
    finally:
        grader.close()
    assert grader.proc.returncode == 0            # it stops at EOF, its zygote with it
    assert not Path(f"/proc/{zygote}").exists()


def test_a_warm_grader_whose_class_run_is_gone_stops_its_grading_and_itself(tmp_path):
    """grade-class killed mid-run (Ctrl-C twice, the OOM killer): its end of the socket
    closes, and the warm grader kills the grading in progress, its zygote and every student
    process, removes its code copy and exits."""
    hangs = tmp_path / "hangs"
    hangs.mkdir()
    (hangs / "ex01_simple_rnn.py").write_text("import time\ntime.sleep(600)\n")
    grader = warm.WarmGrader()
    zygote = _zygote_of(grader.proc.pid)
    request = {"argv": ["grade", "ex01", "--target", str(hangs)], "log": str(tmp_path / "log"),
               "timeout": 600}
    grader._sock.sendall((json.dumps(request) + "\n").encode())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not children(zygote):
        time.sleep(0.2)
    assert children(zygote), "no student process started"
    everything = descendants(grader.proc.pid)
    grader._replies.close()
    grader._sock.close()
    assert grader.proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(pid) for pid in everything):
        time.sleep(0.2)
    assert not [pid for pid in everything if alive(pid)], everything


def test_a_warm_grader_that_dies_mid_grading_costs_its_submission_nothing(tmp_path):
    """Killed while it grades (OOM killer), the warm grader's submission is graded again in
    a process of its own, the run says so, and the slot's next submission gets a new one."""
    import threading

    hangs, plain = tmp_path / "hangs", tmp_path / "plain"
    for folder, source in ((hangs, "import time\ntime.sleep(600)\n"),
                           (plain, (KIT_ROOT / "solutions" / "ex02_bptt.py").read_text())):
        folder.mkdir()
        (folder / "ex02_bptt.py").write_text(source)
    lines = []
    slots = classroom.WarmSlots(1, echo=lines.append)
    try:
        with slots.take() as slot:
            argv = ["grade", "ex02", "--target", str(plain), "--json", str(tmp_path / "1.json")]
            assert slot.grade(argv, tmp_path / "1.log", 300) == (0, False)
            first = slot.current.proc
            threading.Timer(3, first.kill).start()
            argv = ["grade", "ex02", "--target", str(hangs), "--json", str(tmp_path / "2.json")]
            started, limit = time.monotonic(), 10
            assert slot.grade(argv, tmp_path / "2.log", limit) == (None, True)  # afresh: timed out
            assert time.monotonic() - started > limit
            assert len(lines) == 1 and "warm grader stopped" in lines[0], lines
            argv = ["grade", "ex02", "--target", str(plain), "--json", str(tmp_path / "3.json")]
            assert slot.grade(argv, tmp_path / "3.log", 300) == (0, False)
            assert slot.started == 2 and slot.current.proc.pid != first.pid
    finally:
        slots.close()


def test_a_zygote_that_died_is_replaced_for_the_next_submission(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "ex01_simple_rnn.py").write_text(SOLUTION)
    grader = warm.WarmGrader()
    try:
        first = _zygote_of(grader.proc.pid)
        os.kill(first, 9)
        argv = ["grade", "ex01", "--target", str(plain), "--json", str(tmp_path / "1.json")]
        assert grader.grade(argv, tmp_path / "1.log", timeout=300) == (0, False)
        second = _zygote_of(grader.proc.pid)        # started again by the warm grader
        assert second != first
        argv[-1] = str(tmp_path / "2.json")
        assert grader.grade(argv, tmp_path / "2.log", timeout=300) == (0, False)
        assert _zygote_of(grader.proc.pid) == second
        for name in ("1.json", "2.json"):
            document = json.loads((tmp_path / name).read_text())
            assert document["score"] == sum(t["max_score"] for t in document["tests"])
    finally:
        grader.close()


def test_class_gradings_share_the_cores_out_unless_the_instructor_chose(monkeypatch):
    names = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert classroom.tensorflow_threads(2) == dict.fromkeys(names, "2")
    assert classroom.tensorflow_threads(1) == dict.fromkeys(names, "4")
    assert classroom.tensorflow_threads(8) == dict.fromkeys(names, "1")
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    assert classroom.tensorflow_threads(2) == {names[0]: "3", names[1]: "2"}

