"""The grader's side of the portable path (macOS, Windows; see `rnnkit.sandbox.portable`).

- `Channel`: the student's process started with its stdin and stdout as the channel; the
  grader reads replies with a reader thread and a queue (Windows cannot `select` on a pipe),
  so timeouts work the same everywhere;
- on Windows a job object (`_JobObject`: memory limit, and the whole process tree killed with
  it), created through ctypes;
- everywhere the timeouts, the size-bounded messages, the scratch-folder budget and tamper
  detection (`rnnkit.grader.handles.process`).

What applied and what was missing is reported in one line (`summary`), in the grader's
words; official grading needs Linux (`official_grading_problem`).
"""
from __future__ import annotations

import os
import queue
import re
import subprocess
import threading

from rnnkit.sandbox.portable import binary_mode, linux, system


def official_grading_problem(command: str) -> str | None:
    """None on Linux; elsewhere the one line saying that official grading needs Linux."""
    if linux():
        return None
    return (f"{command} is official grading and needs Linux (Landlock and seccomp wall "
            f"student code in there); this is {system()}: use `python -m rnnkit grade` to "
            "grade your own work here")


# -- the one line of the report ------------------------------------------------------------------
_WALL = re.compile(r"(Landlock ABI \d{1,3}|seccomp|setrlimit|job object)\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _reason(text: str) -> str | None:
    """A missing wall's reason, fit for the report (the worker sends it after the student's
    module was imported, so it is treated as text from the student: named walls only,
    one line, bounded)."""
    text = " ".join(_CONTROL.sub(" ", str(text)[:400].encode("utf-8", "backslashreplace")
                                 .decode("utf-8")).split())
    name = text.split(":", 1)[0]
    if name not in ("landlock", "seccomp", "setrlimit", "job object", "file size limit",
                    "address space limit"):
        return None
    return text if len(text) <= 160 else text[:157] + "..."


def summary(protections: list[dict], portable_path: bool) -> str:
    """'protections: ...' for the report: which walls and limits applied on this run (the union
    over the exercises' student processes), and which were missing and why — in the grader's
    words: wall names from a fixed list, reasons bounded to one line."""
    applied, missing = [], []
    for each in protections:
        for sentence in each.get("applied", []) if isinstance(each.get("applied"), list) else []:
            found = _WALL.match(str(sentence))
            if found and found.group(1) not in applied:
                applied.append(found.group(1))
        for text in each.get("missing", []) if isinstance(each.get("missing"), list) else []:
            reason = _reason(text)
            if reason and reason not in missing:
                missing.append(reason)
    if not portable_path:
        applied.append("memory and file-size limits")
    applied.append("timeouts")
    line = "protections on this run: " + ", ".join(applied)
    if missing:
        line += "; missing: " + "; ".join(missing)
        if not any(name.startswith("Landlock") for name in applied):
            line += " (your code could read and write whatever you can; tampering with the " \
                    "kit still voids the grading)"
    return line


class _JobObject:
    """A Windows job object: a memory limit for the process and everything it starts, all of
    which die with `kill()` or when the grader exits (KILL_ON_JOB_CLOSE)."""

    def __init__(self, process_handle: int, memory_limit_mb: int):
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

        class Basic(ctypes.Structure):
            _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                        ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", wintypes.DWORD),
                        ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t),
                        ("ActiveProcessLimit", wintypes.DWORD),
                        ("Affinity", ctypes.c_size_t),
                        ("PriorityClass", wintypes.DWORD),
                        ("SchedulingClass", wintypes.DWORD)]

        class Counters(ctypes.Structure):
            _fields_ = [(name, ctypes.c_uint64) for name in (
                "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

        class Extended(ctypes.Structure):
            _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", Counters),
                        ("ProcessMemoryLimit", ctypes.c_size_t),
                        ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t),
                        ("PeakJobMemoryUsed", ctypes.c_size_t)]

        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
        kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int,
                                                     ctypes.c_void_p, wintypes.DWORD]
        kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        kernel32.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        self._kernel32 = kernel32
        self.handle = kernel32.CreateJobObjectW(None, None)
        if not self.handle:
            raise OSError(f"CreateJobObject failed ({ctypes.get_last_error()})")
        info = Extended()
        info.BasicLimitInformation.LimitFlags = 0x100 | 0x2000   # PROCESS_MEMORY | KILL_ON_JOB_CLOSE
        info.ProcessMemoryLimit = memory_limit_mb * 2**20
        if not kernel32.SetInformationJobObject(self.handle, 9, ctypes.byref(info),
                                                ctypes.sizeof(info)):   # ExtendedLimitInformation
            error = ctypes.get_last_error()
            self.close()
            raise OSError(f"SetInformationJobObject failed ({error})")
        if not kernel32.AssignProcessToJobObject(self.handle, process_handle):
            error = ctypes.get_last_error()
            self.close()
            raise OSError(f"AssignProcessToJobObject failed ({error})")

    def kill(self) -> None:
        if self.handle:
            self._kernel32.TerminateJobObject(self.handle, 1)

    def close(self) -> None:
        if self.handle:
            self._kernel32.CloseHandle(self.handle)
            self.handle = None


class Channel:
    """The student's process started the portable way, and the grader's ends of its pipes.

    `to_child`: a file descriptor to write requests to (`wire.send`); `read(size, timeout)`:
    up to `size` bytes of the replies, None when nothing came within `timeout`, b"" at end of
    file; `protections`: what the grader itself applied ({"applied": [...], "missing": [...]})."""

    def __init__(self, command: list[str], *, cwd: str, env: dict, log_path: str,
                 memory_limit_mb: int):
        posix_groups = hasattr(os, "killpg") and os.name == "posix"
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, cwd=cwd, env=env, bufsize=0,
                                         start_new_session=posix_groups)
        self._group = posix_groups
        self.protections = {"applied": [], "missing": []}
        self._job = None
        if os.name == "nt":
            try:
                self._job = _JobObject(int(self.proc._handle), memory_limit_mb)
                self.protections["applied"].append(
                    f"job object ({memory_limit_mb} MB per process; the process tree dies with it)")
            except (OSError, AttributeError, ValueError) as error:
                self.protections["missing"].append(f"job object: {error}")
        self.to_child = self.proc.stdin.fileno()
        self._from_child = self.proc.stdout.fileno()
        binary_mode(self.to_child)
        binary_mode(self._from_child)
        self._chunks: queue.Queue = queue.Queue()
        self._pending = b""
        self._eof = False
        threading.Thread(target=self._pump, name=f"rnnkit-reader-{self.proc.pid}",
                         daemon=True).start()

    def _pump(self) -> None:
        """The reader thread. It alone closes the read end, at end of file: closed under a
        blocked read, the descriptor's number could be reused by the next student process's
        pipe, which this thread would then read from."""
        try:
            while True:
                try:
                    chunk = os.read(self._from_child, 1 << 20)
                except OSError:
                    chunk = b""
                self._chunks.put(chunk)
                if not chunk:
                    return
        finally:
            self.proc.stdout.close()

    def read(self, size: int, timeout: float) -> bytes | None:
        if not self._pending and not self._eof:
            try:
                self._pending = self._chunks.get(timeout=timeout)
            except queue.Empty:
                return None
            if not self._pending:
                self._eof = True
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def kill(self) -> None:
        """The student's process and what it started: its job (Windows), its process group
        (POSIX), or at least itself."""
        if self._job is not None:
            self._job.kill()
        if self._group:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.kill()
        except OSError:
            pass

    def close(self) -> None:
        self.kill()
        self.proc.wait()
        try:
            self.proc.stdin.close()          # stdout: the reader thread closes it (see _pump)
        except OSError:
            pass
        if self._job is not None:
            self._job.close()
