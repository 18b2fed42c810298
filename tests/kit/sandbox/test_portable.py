"""Self-grading without Linux's facilities (issue 13): the portable path, simulated here.

Each test runs in a fresh Python that first calls `rnnkit.sandbox.portable.simulate("Windows")`:
the kit's own imports of `pwd`, `resource`, `fcntl`, `termios` fail, `select` refuses pipes,
`subprocess` refuses `preexec_fn` and `pass_fds`, `os.killpg` and `os.setsid` are gone, and
Landlock and seccomp report themselves unavailable; the student's process repeats the
simulation before anything else. So the grader and the worker must get by with stdin/stdout
pipes, a reader thread and plain kills, as they do on Windows.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from rnnkit import KIT_ROOT
from rnnkit.grader.handles import process

def _simulated(code: str, timeout: float = 300, system: str = "Windows"):
    simulate = f"from rnnkit.sandbox import portable; portable.simulate({system!r})\n"
    return subprocess.run([sys.executable, "-c", simulate + textwrap.dedent(code)],
                          cwd=KIT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_self_grading_scores_a_solution_full_and_a_stub_zero_and_says_which_walls_were_missing(
        tmp_path):
    # One grading, to stay in budget: ex01 as solved (a student process with TensorFlow,
    # training checks included), ex02 as released (a student process without TensorFlow).
    shutil.copy(KIT_ROOT / "solutions" / "ex01_simple_rnn.py", tmp_path)
    shutil.copy(KIT_ROOT / "exercises" / "ex02_bptt.py", tmp_path)
    done = _simulated(f"""
        from rnnkit.tools.cli import main
        raise SystemExit(main(["grade", "ex01", "ex02", "--target", {str(tmp_path)!r}]))
    """)
    out = done.stdout
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert re.search(r"^ex01\s+vanilla RNN cell\s+22.5 / 22.5\s+complete$", out, re.M), out
    assert re.search(r"^ex02\s+backpropagation through time\s+0 / 18\s+not started$", out, re.M), out
    line = next(line for line in out.splitlines() if line.startswith("protections on this run:"))
    assert line.startswith("protections on this run: timeouts; missing: ")
    for reason in ("Landlock is a Linux facility; this is Windows",
                   "seccomp is a Linux facility; this is Windows",
                   "setrlimit: No module named 'resource'"):
        assert reason in line, line
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


PLANT = """
import os as _os

print("chatter at import")                       # a print, and raw bytes on descriptor 1
_os.write(1, b"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10not a message")
_clip = clip_by_global_norm


def clip_by_global_norm(grads, max_norm):
    if max_norm == 123.0:
        while True:
            pass
    print("chatter in a check")
    _os.write(1, b"\\xff" * 64)
    return _clip(grads, max_norm)
"""


@pytest.mark.parametrize("system", ["Windows", "Darwin"])
def test_prints_cannot_corrupt_the_channel_and_a_hang_times_out_and_restarts(tmp_path, system):
    submission = tmp_path / "submission"
    submission.mkdir()
    source = (KIT_ROOT / "solutions" / "ex02_bptt.py").read_text()
    (submission / "ex02_bptt.py").write_text(source + PLANT)
    done = _simulated(f"""
        import time
        import numpy as np
        from rnnkit.course import BY_ID
        from rnnkit.grader.session import sandbox_config
        from rnnkit.grader.handles.process import StudentError, StudentProcess

        config = sandbox_config(BY_ID["ex02"])
        grads = [np.ones((2, 3)), np.full(4, 2.0)]
        with StudentProcess({str(submission)!r}, "ex02_bptt", config=config,
                            copy=config["copy"]) as student:
            first = student.call("rnnkit.probes.ex02", "probe_clip",
                                 {{"grads": grads, "max_norm": 1.0}}, seed=0, timeout=30)
            print("norm", round(first["norm"], 6))
            print("walls", student.protections)
            started = time.monotonic()
            try:
                student.call("rnnkit.probes.ex02", "probe_clip",
                             {{"grads": grads, "max_norm": 123.0}}, seed=0, timeout=2)
            except StudentError as error:
                print("hang", error.kind, round(time.monotonic() - started))
            again = student.call("rnnkit.probes.ex02", "probe_clip",
                                 {{"grads": grads, "max_norm": 1.0}}, seed=0, timeout=30)
            print("after restart", round(again["norm"], 6), student.restarts)
            log = open(student._log_path, "rb").read()    # raw writes to descriptor 1 land here
            print("log", b"not a message" in log and b"\\xff" * 64 in log)
    """, timeout=120, system=system)
    out = done.stdout
    assert done.returncode == 0, out[-2000:] + done.stderr[-3000:]
    norm = round(float((2 * 3 * 1 + 4 * 4.0) ** 0.5), 6)
    assert f"norm {norm}" in out
    assert "hang timeout 2" in out or "hang timeout 3" in out, out
    assert f"after restart {norm} 1" in out, out
    assert "log True" in out, out
    assert f"Landlock is a Linux facility; this is {system}" in out
    if system == "Darwin":     # POSIX: the worker limits itself with setrlimit
        assert (f"setrlimit (file size {process.MAX_OUTPUT_MB} MB, address space "
                f"{process.MEMORY_LIMIT_MB} MB") in out, out
    else:
        assert "setrlimit: No module named 'resource'" in out, out


def test_official_grading_says_in_one_line_that_it_needs_linux(tmp_path):
    for command in (["grade-class", str(tmp_path), "--out", str(tmp_path / "out")],
                    ["grade-submission", str(tmp_path), "--json", str(tmp_path / "r.json")]):
        done = _simulated(f"""
            from rnnkit.tools.cli import main
            raise SystemExit(main({command!r}))
        """, timeout=60)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "needs Linux" in lines[0] and "this is Windows" in lines[0]
        assert not (tmp_path / "out").exists() and not (tmp_path / "r.json").exists()


def test_the_protections_line_is_one_line_in_the_graders_words():
    """The worker reports its walls after the student's module was imported, so what it says
    is text from the student: only named walls, one bounded line."""
    from rnnkit.grader.handles.portable import summary

    linux = summary([{"applied": ["Landlock ABI 7 (files, no TCP, 3 hidden)", "seccomp (...)"],
                      "missing": []}] * 2, portable_path=False)
    assert linux == ("protections on this run: Landlock ABI 7, seccomp, memory and file-size "
                     "limits, timeouts")
    forged = summary([{"applied": ["reviewed by the instructor", "seccomp\nex02 18 / 18"],
                       "missing": ["all checks passed\n" * 1000, "landlock: " + "x\n" * 500]}],
                     portable_path=True)
    assert "\n" not in forged and "reviewed" not in forged and "passed" not in forged
    assert forged.startswith("protections on this run: seccomp, timeouts; missing: landlock: x x")
    assert len(forged) < 400
    windows = summary([{"applied": ["job object (4096 MB per process)"], "missing": [
        "landlock: Landlock is a Linux facility; this is Windows"]}], portable_path=True)
    assert windows.startswith("protections on this run: job object, timeouts; missing: landlock:")
