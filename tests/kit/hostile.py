"""Hostile submissions, built at test time (a few KB zipped, never committed), and the
measurement of a command that reads them: its wall time, the peak RSS of the largest process
of its tree (exact: the kernel's high-water mark of every process it waited for, returned by
wait4 to a small launcher) and the summed RSS of the tree (sampled every 20 ms from /proc).
The launcher is there because a process keeps the peak RSS of the one it was forked from
across exec: started from pytest directly, the command reported pytest's own peak (1.21 GiB
after the suite's earlier tests, the same in three tests on CI), not its own. A command whose tree
goes past `kill_above` bytes, or past `timeout` seconds, is killed, so that a regression fails
in seconds instead of taking the machine's memory (the code before the bounded reader took
6.7 GB and minutes)."""
import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rnnkit import KIT_ROOT


# -- the files ----------------------------------------------------------------------------------
def notebook_of_newlines(megabytes: int = 99) -> bytes:
    """A notebook whose one code cell is `megabytes` of escaped newlines (~52 million lines)."""
    head = ('{"cells": [{"cell_type": "code", "execution_count": null, "metadata": {}, '
            '"outputs": [], "source": "')
    tail = '"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    count = (megabytes * 2**20 - len(head) - len(tail)) // 2
    return (head + "\\n" * count + tail).encode()


def nested_notebook(depth: int = 100_000) -> bytes:
    """A notebook whose metadata is a list nested `depth` deep."""
    return ('{"cells": [], "metadata": {"x": ' + "[" * depth + "]" * depth +
            '}, "nbformat": 4, "nbformat_minor": 5}').encode()


def module_of_one_list(megabytes: float = 10) -> bytes:
    """A module of one long list of names (`x = [a,a,...]`): ~700 bytes of syntax tree per byte."""
    return ("x = [" + "a," * int(megabytes * 2**20 / 2) + "]\n").encode()


def stubbed_with(exercise_file: str, body: str, at_import: str = "") -> str:
    """The released stub module of `exercise_file` (exercises/) with every stubbed function's
    `raise NotImplementedError(...)` line replaced by `body` (one line), and `at_import` run
    after its imports."""
    import re

    text = (KIT_ROOT / "exercises" / exercise_file).read_text()
    text, count = re.subn(r"^( +)raise NotImplementedError\(.*\)$",
                          lambda match: match.group(1) + body, text, flags=re.M)
    assert count, exercise_file
    if at_import:
        text = text.replace("\nimport numpy as np\n", f"\nimport numpy as np\n{at_import}\n", 1)
        assert at_import in text, exercise_file
    return text


# A reply frame of a header of `[[],[],...]` written by student code straight into the
# worker's reply pipe (found through /proc/self/fd), then a hang: the reviewer's memory bomb.
WIRE_BOMB = (
    "import os, stat, struct, time, fcntl\n"
    "    outs = []\n"
    "    for name in os.listdir('/proc/self/fd'):\n"
    "        try:\n"
    "            info = os.fstat(int(name))\n"
    "            mode = fcntl.fcntl(int(name), fcntl.F_GETFL) & os.O_ACCMODE\n"
    "        except OSError:\n"
    "            continue\n"
    "        if stat.S_ISFIFO(info.st_mode) and mode == os.O_WRONLY and int(name) > 2:\n"
    "            outs.append(int(name))\n"
    "    header = b'[' + b'[],' * ({count} - 1) + b'[]]'\n"
    "    payload = struct.pack('>I', len(header)) + header\n"
    "    view = memoryview(struct.pack('>Q', len(payload)) + payload)\n"
    "    while view:\n"
    "        view = view[os.write(max(outs), view):]\n"
    "    time.sleep(3600)")


def wire_bomb(megabytes: float) -> str:
    """ex02 whose every function sends a reply whose header is `megabytes` of `[[],[],...]`."""
    return stubbed_with("ex02_bptt.py", WIRE_BOMB.format(count=int(megabytes * 2**20 / 3)))


def zipped(members) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for name, data in members:
            bundle.writestr(name, data)
    return buffer.getvalue()


# -- measuring a command ------------------------------------------------------------------------
@dataclass
class Measured:
    code: int | None
    seconds: float
    largest: int          # bytes: the peak RSS of the largest process of the tree (wait4)
    summed: int           # bytes: the largest summed RSS of the tree seen (sampled)
    killed: str           # why the measurement killed the command ("" when it did not)
    stdout: str
    stderr: str


# Forks `python -m rnnkit ARGS` and reports its exit code and the peak RSS of its tree
# (ru_maxrss of wait4: the command's own and that of every process it waited for). Forked
# from this small process, the command starts from this one's peak, not pytest's.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "rnnkit", *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as usage_file:
    usage_file.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def _tree(root: int) -> list[int]:
    from rnnkit.grader.handles.reaper import process_table

    table = process_table()
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, (parent, _) in table.items() if parent in frontier]
        found += frontier
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(*args, timeout: float, kill_above: int, cwd=KIT_ROOT, tmp: Path) -> Measured:
    """`python -m rnnkit ARGS`, measured (see the module docstring)."""
    out, err = tmp / "measured.out", tmp / "measured.err"
    started = time.monotonic()
    usage_file = tmp / "measured.usage"
    usage_file.unlink(missing_ok=True)
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(usage_file),
                                    *map(str, args)], cwd=cwd,
                                   stdout=stdout, stderr=stderr, start_new_session=True)
    peak = {"summed": 0, "killed": ""}
    done = threading.Event()

    def kill(why: str) -> None:
        peak["killed"] = peak["killed"] or why
        for pid in reversed(_tree(process.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def sample() -> None:
        while not done.is_set():
            summed = sum(_rss(pid) for pid in _tree(process.pid))
            peak["summed"] = max(peak["summed"], summed)
            if summed > kill_above:
                kill(f"its processes held {summed / 2**30:.1f} GiB")
            elif time.monotonic() - started > timeout:
                kill(f"it ran longer than {timeout:g} s")
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.wait()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    code, largest = None, 0
    if usage_file.is_file():           # (absent when the launcher itself was killed)
        code, largest = map(int, usage_file.read_text().split())
    return Measured(code, seconds, largest, peak["summed"],
                    peak["killed"], out.read_text(errors="replace"),
                    err.read_text(errors="replace"))
