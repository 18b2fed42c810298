"""The grader's handle on a student's process (see `rnnkit.grading.worker`).

One `StudentProcess` per graded exercise: it starts lazily, is reused across that exercise's
checks so TensorFlow loads once, and is killed and restarted after a timeout or a crash.
Every way student code can misbehave becomes a `StudentError` carrying one readable line.
"""
from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from rnnkit import KIT_ROOT
from rnnkit.grading import sandbox, wire

STARTUP_SECONDS = 60         # importing TensorFlow takes ~5 s; the rest is the student's import
MEMORY_LIMIT_MB = 4096       # address-space limit of the student's process (TF trains in 3 GB)
MAX_SUBMISSION_MB = 50       # a folder of exercise modules is a few hundred kB
MAX_OUTPUT_MB = 100          # what a student process may print or write (a print loop is capped)


class StudentError(Exception):
    """Student code did not produce a result; `kind` says how, `str()` says it to a person."""

    KINDS = ("not_started", "exception", "exit", "timeout", "crash", "memory",
             "import_error", "missing", "bad_output", "forbidden")

    def __init__(self, kind: str, message: str, location: str | None = None,
                 type_name: str | None = None):
        assert kind in self.KINDS, kind
        self.kind, self.message, self.location, self.type_name = kind, message, location, type_name
        super().__init__(self.feedback())

    def feedback(self) -> str:
        where = f" at {self.location}" if self.location else ""
        if self.kind == "not_started":
            if " is not written yet" in self.message:   # a stub left by `release`
                return "not started: " + self.message.split(":")[0]
            return f"not started: {self.message}{where}"
        if self.kind == "missing":
            return f"missing: {self.message}"
        if self.kind == "forbidden":
            return f"not graded: {self.message}"
        if self.kind == "import_error":
            what = f"{self.type_name}: " if self.type_name else ""
            return f"the module could not be imported: {what}{self.message}{where}"
        if self.kind == "memory":
            return f"your code ran out of memory ({self.message}){where}"
        if self.kind == "exception":
            what = f"{self.type_name}: " if self.type_name else ""
            return f"your code raised {what}{self.message}{where}"
        return f"{self.message}{where}"

    @classmethod
    def from_reply(cls, reply: dict) -> "StudentError":
        kind = reply.get("kind") if reply.get("kind") in cls.KINDS else "exception"
        if reply.get("status") == "import_error" and kind != "not_started":
            kind = "missing" if reply.get("type") == "MissingModule" else "import_error"
        return cls(kind, str(reply.get("message", "")), reply.get("location"), reply.get("type"))


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _confine(limit_mb: int, user):
    """Runs in the child before exec: own session, memory limit, and `nobody` when possible."""
    def apply():
        os.setsid()  # own process group: a timeout kills the student's children too
        limit = limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        output = MAX_OUTPUT_MB * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
    return apply


def copy_submission(source: str, destination: str) -> None:
    """Copy the graded folder (code only, bounded in size) where the student process runs."""
    total = 0

    def ignore(folder, names):
        nonlocal total
        skipped = {n for n in names if n in ("__pycache__", ".git", ".ipynb_checkpoints")
                   or n.endswith(".pyc")}
        for name in set(names) - skipped:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                skipped.add(name)
            elif os.path.isfile(path):
                total += os.path.getsize(path)
        if total > MAX_SUBMISSION_MB * 2**20:
            raise StudentError("import_error", f"the submission folder holds more than "
                               f"{MAX_SUBMISSION_MB} MB; hand in the exercise modules only")
        return skipped

    shutil.copytree(source, destination, ignore=ignore)


class _Live:
    """Pids of running student processes (so stray-killing spares them)."""
    pids: set = set()


class StudentProcess:
    """Runs probes from grading test files against `target/<module>.py` in a child process."""

    def __init__(self, target: str | os.PathLike, module: str, *, block=("solutions", "exercises"),
                 code_root: str | os.PathLike = KIT_ROOT, probes=(), user=None,
                 startup_seconds: float = STARTUP_SECONDS, memory_limit_mb: int = MEMORY_LIMIT_MB):
        self.source = os.path.realpath(target)
        self.code_root = str(code_root)
        self.probes = [str(p) for p in probes]   # probe files, loaded before student code
        self.user = user
        self.module = module
        self.block = list(block)
        self.startup_seconds = startup_seconds
        self.memory_limit_mb = memory_limit_mb
        self.proc: subprocess.Popen | None = None
        self.import_failure: StudentError | None = None
        self.confined = False   # True once the worker reports its file-system confinement
        self.notes: list[str] = []   # e.g. which earlier exercises were replaced by stand-ins
        self.restarts = 0
        self._workdir = tempfile.TemporaryDirectory(prefix="rnnkit-student-")
        self._log_path = os.path.join(self._workdir.name, "output.log")
        self.target = os.path.join(self._workdir.name, "submission")

    # -- life cycle -----------------------------------------------------------------------
    def _prepare(self) -> str:
        """Fresh copy of the submission and a writable working folder for each start."""
        shutil.rmtree(self.target, ignore_errors=True)
        try:
            copy_submission(self.source, self.target)
        except StudentError as error:
            self.import_failure = error
            raise
        workdir = os.path.join(self._workdir.name, "cwd")
        os.makedirs(workdir, exist_ok=True)
        os.makedirs(os.path.join(self._workdir.name, "tmp"), exist_ok=True)
        if self.user is not None:
            os.chmod(self._workdir.name, 0o755)
            for folder, dirs, files in os.walk(self._workdir.name):
                for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
                    os.chown(name, *self.user)
        return workdir

    def _start(self) -> None:
        workdir = self._prepare()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        config = {"target": self.target, "module": self.module, "block": self.block,
                  "fd_in": to_child_r, "fd_out": from_child_w, "probes": self.probes,
                  "read": [self.code_root], "write": [self._workdir.name]}
        env = {key: value for key, value in os.environ.items() if not key.startswith("RNNKIT_")}
        env.update(KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONHASHSEED="0", PYTHONPATH=self.code_root, PYTHONDONTWRITEBYTECODE="1",
                   MPLBACKEND="Agg", HOME=self._workdir.name,
                   TMPDIR=os.path.join(self._workdir.name, "tmp"))
        with open(self._log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rnnkit.grading.worker", json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                env=env, pass_fds=(to_child_r, from_child_w),
                preexec_fn=_confine(self.memory_limit_mb, self.user))
        _Live.pids.add(self.proc.pid)
        os.close(to_child_r)
        os.close(from_child_w)
        self._to_child, self._from_child = to_child_w, from_child_r
        try:
            reply = self._receive(self.startup_seconds, during="importing the module")
        except StudentError as error:   # a hang or a crash at import fails every check alike
            self.import_failure = error
            raise
        if reply.get("status") == "import_error":
            self.import_failure = StudentError.from_reply(reply)
            self.close()
            raise self.import_failure
        self.confined = bool(reply.get("confined"))
        self.notes = [str(n) for n in reply.get("notes", [])]

    def close(self) -> None:
        if self.proc is None:
            return
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # the worker and its process group
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        _Live.pids.discard(self.proc.pid)
        self.proc = None
        sandbox.kill_strays(keep=_Live.pids)          # detached daemons adopted by the grader

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self._workdir.cleanup()

    # -- one request ----------------------------------------------------------------------
    def call(self, test_file: str, probe: str, args: dict, *, seed: int, timeout: float):
        """Run `probe(module, **args)` in the student's process; its plain-data result."""
        if self.import_failure is not None:
            raise self.import_failure
        if self.proc is None:
            self._start()
        request = {"file": str(test_file), "probe": probe, "args": args, "seed": seed}
        try:
            wire.send(self._to_child, request)
        except (BrokenPipeError, OSError):
            raise self._died("before the check started") from None
        reply = self._receive(timeout, during="the check")
        if reply.get("status") == "ok":
            return reply.get("result")
        error = StudentError.from_reply(reply)
        if error.kind == "exit":   # the process is still alive, but start afresh to be safe
            self._restart()
        raise error

    def _restart(self) -> None:
        self.close()
        self.restarts += 1

    def _died(self, when: str) -> StudentError:
        code = self.proc.wait() if self.proc else None
        tail = self.log_tail()
        self._restart()
        if code is not None and code < 0:
            what = f"the process crashed with {_signal_name(code)}"
            if code == -signal.SIGKILL:
                what += " (killed: out of memory?)"
            elif code == -signal.SIGXFSZ:
                what += f" (it wrote more than {MAX_OUTPUT_MB} MB of output)"
        else:
            what = f"the process exited with status {code} (os._exit or a fatal error)"
        detail = f"; last output: {tail}" if tail else ""
        return StudentError("crash", f"{what} {when}{detail}")

    def _receive(self, seconds: float, during: str) -> dict:
        deadline = time.monotonic() + seconds
        try:
            size = struct.unpack(">Q", self._read(8, deadline, seconds, during))[0]
            if size > wire.MAX_MESSAGE_BYTES:
                self._restart()
                raise StudentError("bad_output", f"the process sent a {size}-byte message")
            return wire.decode(self._read(size, deadline, seconds, during))
        except wire.WireError as error:
            self._restart()
            raise StudentError("bad_output", f"the process sent a malformed message: {error}") from None

    def _read(self, size: int, deadline: float, seconds: float, during: str) -> bytes:
        chunks = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0:
                self._restart()
                raise StudentError("timeout", f"timed out after {seconds:g} s during {during} "
                                   "(an endless loop, or far too much work?)")
            # Short waits: a worker that died while a daemon it started still holds the pipe
            # open would otherwise look like a timeout instead of the crash it is.
            ready = select.select([self._from_child], [], [], min(left, 0.5))[0]
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise self._died(f"during {during}")
                continue
            chunk = os.read(self._from_child, min(size, 1 << 20))
            if not chunk:
                raise self._died(f"during {during}")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def log_tail(self, lines: int = 3) -> str:
        """The last lines the student's process printed (for crash messages)."""
        try:
            with open(self._log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 4000))
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines()
                if line.strip() and not line.startswith(("WARNING: All log", "I0000", "W0000"))]
        return " | ".join(kept[-lines:])[:400]
