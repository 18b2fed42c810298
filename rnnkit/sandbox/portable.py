"""Self-grading where Linux's walls are not: macOS and Windows (issue 13).

On Linux the student's process is started with its pipes passed by descriptor number
(`pass_fds`), limited before it runs (`preexec_fn`: rlimits, its own session), watched with
`select` and killed with its process group (`killpg`); it then walls itself in with Landlock
and seccomp (`rnnkit.sandbox.confine`). None of that exists on Windows, and only part of it
on macOS. There the *portable path* is used instead, beside the Linux one:

- the channel is the child's own stdin and stdout pipes, which every system has. Before any
  student code runs the worker takes them for the protocol and points its file descriptors
  0 and 1 at nothing and at the log, so a `print` can never corrupt a message;
- the grader reads replies with a reader thread and a queue (Windows cannot `select` on a
  pipe), so timeouts work the same everywhere;
- limits use what the system offers: on Windows a job object (memory limit, and the whole
  process tree killed with it), created through ctypes; on macOS the worker applies
  `setrlimit` to itself (file size; address space as far as macOS enforces it); everywhere
  the timeouts, the size-bounded messages, the scratch-folder budget and tamper detection.

What applied and what was missing is reported in one line (`summary`).

`simulate("Darwin")` only makes Landlock and seccomp unavailable (a POSIX system without
them); `simulate("Windows")` makes this process behave, for the kit's own code, like one
without any of Linux's facilities: imports of Unix-only modules from the kit fail, `select` refuses pipes,
`subprocess` refuses `preexec_fn`/`pass_fds`, `os.killpg`/`os.setsid`, `os.pidfd_open` and
`socket.send_fds` are gone (so no zygote) and Landlock and seccomp report themselves
unavailable. The worker repeats it when its config says so.
It exists for the kit's test of the portable path (`tests/kit/test_portable.py`).
"""
from __future__ import annotations

import os
import platform
import queue
import re
import subprocess
import sys
import threading

SIMULATED: str | None = None        # "Windows" / "Darwin" while simulating (tests only)
UNIX_ONLY = ("pwd", "grp", "resource", "fcntl", "termios")


def system() -> str:
    """'Linux', 'Darwin', 'Windows', ... — what the kit's own branching goes by."""
    return SIMULATED or platform.system()


def linux() -> bool:
    return system() == "Linux"


def needed() -> bool:
    """True where student processes are started the portable way (not Linux)."""
    return not linux()


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


# -- the grader's side ----------------------------------------------------------------------------
def _binary(fd: int) -> None:
    """Windows opens pipes in text mode (CRLF translation, Ctrl-Z as end of file): not ours."""
    if os.name == "nt":
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)


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
        _binary(self.to_child)
        _binary(self._from_child)
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


# -- the worker's side ----------------------------------------------------------------------------
def worker_channel(config: dict):
    """(fd_in, fd_out, protections) for `rnnkit.sandbox.worker.main`, before any student code.

    Linux path: the descriptors the grader passed, nothing more. Portable path
    (`config["channel"] == "stdio"`): the protocol takes this process's stdin and stdout; fd 0
    then reads nothing and fd 1 writes to the log (fd 2), so prints, warnings and native
    libraries' output never reach the grader's pipe; and the limits this system offers are
    applied to this process itself."""
    if config.get("simulate"):
        simulate(config["simulate"])
    if config.get("channel") != "stdio":
        return config["fd_in"], config["fd_out"], None
    sys.stdout.flush()
    fd_in, fd_out = os.dup(0), os.dup(1)
    _binary(fd_in)
    _binary(fd_out)
    os.dup2(2, 1)
    if os.name == "nt":     # native code may write to the Win32 standard handle: the log too
        try:
            import ctypes
            import msvcrt
            from ctypes import wintypes

            set_std_handle = ctypes.windll.kernel32.SetStdHandle
            set_std_handle.argtypes = [wintypes.DWORD, wintypes.HANDLE]
            set_std_handle(0xFFFFFFF5, msvcrt.get_osfhandle(1))      # STD_OUTPUT_HANDLE
        except (OSError, AttributeError):
            pass
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    return fd_in, fd_out, limit_self(config.get("limits", {}))


def limit_self(limits: dict) -> dict:
    """setrlimit on this process, hard and soft (it cannot raise them again); what applied."""
    applied, missing = [], []
    if os.name == "nt":
        return {"applied": applied, "missing": missing}   # the grader's job object does it
    try:
        import resource
    except ImportError as error:
        return {"applied": [], "missing": [f"setrlimit: {error}"]}
    done = []
    for name, key, label in (("RLIMIT_FSIZE", "output_mb", "file size"),
                             ("RLIMIT_AS", "memory_mb", "address space")):
        if key not in limits or not hasattr(resource, name):
            continue
        value = int(limits[key]) * 2**20
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            done.append(f"{label} {limits[key]} MB")
        except (ValueError, OSError) as error:
            missing.append(f"{label} limit: {error}")
    if done:
        caveat = "; macOS may not enforce the address space" if system() == "Darwin" else ""
        applied.append(f"setrlimit ({', '.join(done)}{caveat})")
    return {"applied": applied, "missing": missing}


# -- the simulation (tests) ------------------------------------------------------------------------
def simulate(name: str = "Windows") -> None:
    """Make the kit's own code in this process meet a system without Linux's facilities."""
    global SIMULATED
    if SIMULATED is not None:
        return
    SIMULATED = name
    if hasattr(os, "pidfd_open"):   # Linux only: without it the zygote is unavailable, as there
        delattr(os, "pidfd_open")
    if name == "Darwin":        # POSIX without Landlock and seccomp: nothing else to take away
        return
    import socket

    for attribute in ("send_fds", "recv_fds"):          # Unix only
        if hasattr(socket, attribute):
            delattr(socket, attribute)
    import builtins
    import select
    import stat

    real_import = builtins.__import__

    def guarded_import(module, globals=None, locals=None, fromlist=(), level=0):
        importer = str((globals or {}).get("__name__") or "")
        from_kit = importer.split(".")[0] in ("rnnkit", "target") or \
            importer.startswith("tests.grading")
        if level == 0 and from_kit and module.split(".")[0] in UNIX_ONLY:
            raise ModuleNotFoundError(f"No module named {module!r} (simulated {name})",
                                      name=module)
        return real_import(module, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import
    real_select = select.select

    def sockets_only(rlist, wlist, xlist, *timeout):
        for item in (*rlist, *wlist, *xlist):
            fd = item if isinstance(item, int) else item.fileno()
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise OSError(10038, f"select() on {name} takes sockets only (simulated)")
        return real_select(rlist, wlist, xlist, *timeout)

    select.select = sockets_only
    real_init = subprocess.Popen.__init__

    def no_posix_extras(self, *args, **kwargs):
        if kwargs.get("preexec_fn") is not None:
            raise ValueError(f"preexec_fn is not supported on {name} (simulated)")
        if kwargs.get("pass_fds"):
            raise ValueError(f"pass_fds is not supported on {name} (simulated)")
        return real_init(self, *args, **kwargs)

    subprocess.Popen.__init__ = no_posix_extras
    for attribute in ("killpg", "setsid", "getpgid", "setpgid"):
        if hasattr(os, attribute):
            delattr(os, attribute)
