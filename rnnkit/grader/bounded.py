"""Hostile files read in a bounded place: a helper process with limits, once per grading.

A submission's files are data to the trusted processes (the grader, grade-class): a zip they
unpack, a notebook's JSON they convert, a module whose syntax tree the source rules walk. None
of it runs, but reading it can cost without bound. Measured here before this module: a 107 KB
zip holding a 99 MB notebook of newlines took the grader to 6.6 GiB and 46 s (a line map of 52
million entries); 1 MB of Python source (one long list) parses into 700 MB of syntax tree, and
a 23 KB zip holding a 10 MB module took 7.6 GiB and 122 s, parsed once for ex01 and again for
ex03, which imports it; a notebook nested 100,000 brackets deep raised RecursionError, which
ended the grading without results. Limits on bytes alone do not bound this, and a Python
process cannot bound the memory of one call in itself: so the trusted processes never read
these files themselves.

`read_each(task, items)` starts a helper, `python -I -S` with nothing but the kit's folder and
the standard library on its path, which takes its limits before it reads its request: at
most `MEMORY` of address space (RLIMIT_AS), `FILE_SIZE` per file it writes (RLIMIT_FSIZE),
CPU time as a backstop (RLIMIT_CPU), no core dump. It reads the items one at a time, saying
which one it starts, and answers one line of JSON per item (at most `ANSWER` bytes). The
caller holds each item to `seconds` of wall-clock time from the moment the helper starts it.
An item during which the helper runs out of memory or recursion (depth), time, or dies, is
the one it was reading: it gets a `Read` that says why, which its caller words as one line,
and a new helper reads the items after it. A helper that cannot start at all is the grader's
fault, never a file's (`ReaderProblem`).

The tasks (`TASKS`) do the reading and keep limits of their own on bytes, lines, syntax nodes
and depth, which give a file a precise sentence long before the process limits are reached.
A helper is started once per grading for the source scan, once more when there are notebooks,
and once per submission for grade-class's unpacking: ~0.1 s each, mostly the interpreter's
start (all nine solution modules read and scanned for every exercise: 0.1 s).

Where `resource` is missing (Windows; self-grading only) the helper runs with the wall-clock
limit alone; macOS enforces RLIMIT_AS only in part.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from rnnkit import KIT_ROOT

# 1 GiB of address space: a 100 MB notebook with image outputs (the largest the grader takes,
# `rnnkit.grader.submission.MAX_NOTEBOOK_MB`) reads in ~350 MB (bytes, text, parsed JSON);
# a clean read of an exercise module needs ~20 MB. The helper's interpreter maps ~25 MB.
MEMORY = 1 << 30
# Per file written (grade-class unpacking a zip): its members total 100 MB at most.
FILE_SIZE = 128 << 20
# Wall-clock seconds per item (the task's own, when it passes one): a module is parsed and
# scanned in ~5 ms, a 100 MB notebook read in ~2 s, a 100 MB zip unpacked in ~1 s.
SECONDS = 20.0
# Seconds for the helper to start (an interpreter and the task's module: ~0.1 s); past them
# the grader, not a file, is at fault.
STARTUP = 30.0
# Bytes of answer per item: a notebook's line map is a pair per code cell, a module's findings
# a few lines per exercise.
ANSWER = 8 << 20

TASKS = {
    "module": "rnnkit.grader.scan:read_module",
    "notebook": "rnnkit.grader.submission:read_notebook",
    "submission": "rnnkit.tools.classroom:read_submission",
}


class ReaderProblem(Exception):
    """The helper could not be started or answered nonsense: the grader's fault, not a file's."""


@dataclass
class Read:
    """One item's outcome: its task's `value`, or `failed` ("memory", "depth", "time",
    "crash", "error") and `why`, words to put in parentheses after the item's name."""
    value: object = None
    failed: str | None = None
    why: str = ""

    @property
    def ok(self) -> bool:
        return self.failed is None


def _size(limit: int) -> str:
    return f"{limit / 2**30:g} GiB" if limit >= 2**30 else f"{limit / 2**20:g} MB"


def why(failed: str, detail: str = "", *, memory: int = MEMORY, seconds: float = SECONDS) -> str:
    if failed == "memory":
        return f"reading it needs more than {_size(memory)} of memory"
    if failed == "depth":
        return "it is nested too deeply to read"
    if failed == "time":
        return f"reading it takes longer than {seconds:g} s"
    if failed == "crash":
        return f"it stopped the grader's reader ({detail})"
    return f"{detail}"[:300]


# -- the caller's side ---------------------------------------------------------------------------
def read_each(task: str, items: list[dict], *, seconds: float = SECONDS, memory: int = MEMORY,
              file_size: int = FILE_SIZE) -> list[Read]:
    """Every item read by `TASKS[task]` in a bounded helper: one `Read` per item, in order."""
    if task not in TASKS:
        raise ValueError(f"no reading task {task!r}; known: {sorted(TASKS)}")
    reads: list[Read | None] = [None] * len(items)
    start = 0
    while start < len(items):
        start = _session(task, items, start, reads, seconds=seconds, memory=memory,
                         file_size=file_size)
    return reads  # type: ignore[return-value]


BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from rnnkit.grader.bounded import helper; helper()")


def _session(task, items, start, reads, *, seconds, memory, file_size) -> int:
    """One helper, reading items[start:] until it finishes or fails on one; the index of the
    first item left unread."""
    request = json.dumps({"task": task, "first": start, "items": items[start:],
                          "limits": {"memory": memory, "file_size": file_size,
                                     "cpu": int(seconds * (len(items) - start + 1)) + 1}})
    try:
        helper_process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", BOOT, str(KIT_ROOT)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(KIT_ROOT),
            close_fds=True)
    except OSError as error:
        raise ReaderProblem(f"the grader could not start its file reader ({error})") from None
    lines: queue.SimpleQueue = queue.SimpleQueue()

    def pump():
        try:
            helper_process.stdin.write(request.encode())
            helper_process.stdin.close()
        except OSError:
            pass
        while True:
            try:
                line = helper_process.stdout.readline(ANSWER + 1)
            except (OSError, ValueError):       # closed by the caller, which is done with it
                line = b""
            lines.put(line)
            if not line or (len(line) > ANSWER and not line.endswith(b"\n")):
                return

    threading.Thread(target=pump, name=f"rnnkit-reader-{helper_process.pid}",
                     daemon=True).start()
    current, ready = start, False
    deadline = time.monotonic() + STARTUP          # each item's clock starts with the item
    try:
        while current < len(items):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if not ready:
                    raise ReaderProblem(f"the grader's file reader did not start within "
                                        f"{STARTUP:g} s") from None
                reads[current] = Read(failed="time", why=why("time", seconds=seconds))
                return current + 1
            if not line.endswith(b"\n"):           # ended (EOF), or an answer too long
                if len(line) > ANSWER:
                    reads[current] = Read(failed="error", why=f"its reading said more than "
                                                              f"{_size(ANSWER)}")
                    return current + 1
                code = helper_process.wait()
                if not ready:
                    raise ReaderProblem(f"the grader's file reader stopped before it read "
                                        f"anything (status {code})")
                detail = f"signal {-code}" if code < 0 else f"status {code}"
                if code < 0 and -code == getattr(signal, "SIGXCPU", None):   # RLIMIT_CPU
                    reads[current] = Read(failed="time", why=why("time", seconds=seconds))
                else:
                    reads[current] = Read(failed="crash", why=why("crash", detail))
                return current + 1
            try:
                message = json.loads(line)
            except ValueError:
                raise ReaderProblem("the grader's file reader answered nonsense") from None
            if "ready" in message:
                ready = True
            elif "start" in message:
                current, deadline = message["start"], time.monotonic() + seconds
            elif "done" in message:
                index = message["done"]
                failed = message.get("failed")
                reads[index] = Read(value=message.get("value")) if failed is None else \
                    Read(failed=failed, why=why(failed, message.get("detail", ""),
                                                memory=memory, seconds=seconds))
                current = index + 1
        return current
    finally:
        if helper_process.poll() is None:
            helper_process.kill()
        helper_process.wait()
        for stream in (helper_process.stdin, helper_process.stdout):
            try:
                stream.close()
            except OSError:
                pass


# -- the helper's side (in `python -I -S`, limits first) -----------------------------------------
def _limit(limits: dict) -> None:
    try:
        import resource
    except ImportError:           # Windows: the caller's wall-clock limit only
        return
    for name, value in (("RLIMIT_AS", limits["memory"]), ("RLIMIT_FSIZE", limits["file_size"]),
                        ("RLIMIT_CPU", limits["cpu"]), ("RLIMIT_CORE", 0)):
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        try:
            _, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass                   # macOS refuses some RLIMIT_AS values
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails instead


def helper() -> None:
    """Read the request on stdin, take the limits, then read each item, one answer a line."""
    import importlib

    request = json.loads(sys.stdin.buffer.read())
    _limit(request["limits"])
    module, _, name = TASKS[request["task"]].partition(":")
    function = getattr(importlib.import_module(module), name)
    out = sys.stdout.buffer

    def say(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=True).encode() + b"\n")
        out.flush()

    say({"ready": True})
    for index, item in enumerate(request["items"], start=request["first"]):
        say({"start": index})
        try:
            value = function(**item)
        except MemoryError:
            say({"done": index, "failed": "memory"})
            continue
        except RecursionError:
            say({"done": index, "failed": "depth"})
            continue
        except Exception as error:  # noqa: BLE001 - a file's fault, said in one line
            text = str(error).splitlines()[0][:200] if str(error) else ""
            say({"done": index, "failed": "error",
                 "detail": f"{type(error).__name__}: {text}" if text else type(error).__name__})
            continue
        try:
            say({"done": index, "value": value})
        except MemoryError:
            say({"done": index, "failed": "memory"})
    out.flush()
    os._exit(0)
