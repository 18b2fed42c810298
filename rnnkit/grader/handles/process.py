"""The grader's handle on a student's process (the process itself: `rnnkit.sandbox.worker`).

One `StudentProcess` per graded exercise: it starts lazily, is reused across that exercise's
checks so TensorFlow loads once, and is killed and restarted after a timeout or a crash.
Every way student code can misbehave becomes a `StudentError` carrying one readable line.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import weakref

from rnnkit import KIT_ROOT
from rnnkit.grader.handles import portable as portable_host
from rnnkit.grader.handles import reaper, zygote
from rnnkit.sandbox import portable, walls, wire

STARTUP_SECONDS = 60         # importing TensorFlow takes ~5 s; the rest is the student's import
MEMORY_LIMIT_MB = 4096       # address-space limit of the student's process (TF trains in 3 GB)
MAX_SUBMISSION_MB = 50       # a folder of exercise modules is a few hundred kB
MAX_OUTPUT_MB = 100          # what a student process may print or write (a print loop is capped)
MAX_SCRATCH_MB = 200         # everything it writes, all files together (checked every 0.5 s)
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "from rnnkit.sandbox import worker; worker.main(sys.argv[2:])")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text, limit: int) -> str:
    """What the student's process said, fit for a report: printable, one line, bounded."""
    text = str(text)[:4 * limit].encode("utf-8", "backslashreplace").decode("utf-8")
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class StudentError(Exception):
    """Student code did not produce a result; `kind` says how, `str()` says it to a person."""

    KINDS = ("not_started", "exception", "exit", "timeout", "crash", "memory",
             "import_error", "missing", "bad_output", "forbidden", "out_of_time")
    # What a reply of the student's process may say happened: the rest (a crash, a timeout,
    # an internal error, not started) the grader establishes itself. A reply is the student's
    # to write (student code shares the worker's process), so its text is shown only behind
    # the grader's own words ("your code raised ...").
    REPORTED = ("exception", "exit", "memory", "bad_output")

    def __init__(self, kind: str, message: str, location: str | None = None,
                 type_name: str | None = None):
        if kind not in self.KINDS:
            raise ValueError(f"StudentError kind must be one of {self.KINDS}, received {kind!r}")
        message = one_line(message, 600)
        location = one_line(location, 300) if isinstance(location, str) else None
        type_name = one_line(type_name, 80) if isinstance(type_name, str) else None
        self.kind, self.message, self.location, self.type_name = kind, message, location, type_name
        self.raised: dict | None = None
        self.reported = False          # said by the student's process (from_reply)
        super().__init__(self.feedback())

    def again(self) -> "StudentError":
        """A new error saying the same, for the next check that meets this failure: raising
        one object again would add every earlier check's frames to its traceback (each
        check of a module that does not import grew it by ~300 lines)."""
        clone = StudentError(self.kind, self.message, self.location, self.type_name)
        clone.raised, clone.reported = self.raised, self.reported
        clone.args = (clone.feedback(),)
        return clone

    def feedback(self) -> str:
        where = f" at {self.location}" if self.location else ""
        if self.kind == "not_started":
            return f"not started: {self.message}"
        if self.kind == "missing":
            return f"missing: {self.message}"
        if self.kind in ("forbidden", "out_of_time"):
            return f"not graded: {self.message}"
        if self.kind == "import_error":
            what = f"{self.type_name}: " if self.type_name else ""
            return f"the module could not be imported: {what}{self.message}{where}"
        if self.kind == "memory":
            return f"your code ran out of memory ({self.message}){where}"
        if self.kind == "exception":
            what = f"{self.type_name}: " if self.type_name else ""
            return f"your code raised {what}{self.message}{where}"
        if self.kind == "exit":
            return f"your code called sys.exit({self.message}){where}"
        if self.kind == "bad_output" and self.reported:
            return f"your code returned data the grader cannot read: {self.message}{where}"
        return f"{self.message}{where}"

    @classmethod
    def from_reply(cls, reply: dict) -> "StudentError":
        kind = reply.get("kind") if reply.get("kind") in cls.REPORTED else "exception"
        if reply.get("status") == "import_error" and kind != "not_started":
            kind = "missing" if reply.get("type") == "MissingModule" else "import_error"
        location = reply.get("location")
        type_name = reply.get("type")
        error = cls(kind, str(reply.get("message", "")), location if isinstance(location, str)
                    else None, type_name if isinstance(type_name, str) else None)
        error.reported = True
        error.args = (error.feedback(),)
        raised = reply.get("raised")
        if isinstance(raised, dict) and all(isinstance(raised.get(k), str)
                                            for k in ("file", "function", "line")):
            error.raised = {key: one_line(raised[key], 300) for key in ("file", "function", "line")}
        return error


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _confine(limit_mb: int, user):
    """Runs in the child before exec: `walls.limit_and_drop` (own session, limits, `nobody`
    when possible, death with the grader: a grader killed by a timeout or Ctrl-C leaves no
    worker behind)."""
    grader = os.getpid()
    return lambda: walls.limit_and_drop(limit_mb, MAX_OUTPUT_MB, user, grader)


def copy_submission(source: str, destination: str, modules) -> None:
    """Copy the declared exercise modules of the graded folder (and nothing else: no helper
    module, no conftest.py, no link) where the student process runs, bounded in size."""
    os.makedirs(destination)
    for name in sorted(set(modules)):
        path = os.path.join(source, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        if os.path.getsize(path) > MAX_SUBMISSION_MB * 2**20:
            raise StudentError("import_error", f"{name} is larger than {MAX_SUBMISSION_MB} MB; "
                               "hand in the exercise modules only")
        shutil.copyfile(path, os.path.join(destination, name))


MAX_SCRATCH_ENTRIES = 20_000  # files and folders in the scratch folder
MAX_SCRATCH_DEPTH = 32        # folders nested in it


def scratch_usage(folder: str) -> tuple[int, str | None]:
    """(bytes on disk, why it is over a limit or None) for everything under `folder`: files
    by their size or blocks, whichever is larger, folders by their blocks (60,000 empty
    folders take 235 MB). Walked without recursion, and stopped at MAX_SCRATCH_ENTRIES
    entries or MAX_SCRATCH_DEPTH levels, so the walk itself stays cheap whatever was written."""
    total, entries, stack = 0, 0, [(folder, 0)]
    while stack:
        path, depth = stack.pop()
        try:
            with os.scandir(path) as listing:
                for entry in listing:
                    entries += 1
                    if entries > MAX_SCRATCH_ENTRIES:
                        return total, f"more than {MAX_SCRATCH_ENTRIES} files and folders"
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    blocks = getattr(info, "st_blocks", 0) * 512
                    total += max(blocks, info.st_size) if stat.S_ISREG(info.st_mode) else blocks
                    if stat.S_ISDIR(info.st_mode):
                        if depth + 1 > MAX_SCRATCH_DEPTH:
                            return total, f"folders nested more than {MAX_SCRATCH_DEPTH} deep"
                        stack.append((entry.path, depth + 1))
        except OSError:
            continue
    if total > MAX_SCRATCH_MB * 2**20:
        return total, f"more than {MAX_SCRATCH_MB} MB of files"
    return total, None


def grading_folder() -> str:
    """A new folder for one grading's temporary folders (its TMPDIR), removed with
    `remove_tree` by whoever started the grading, however it ended: a grader killed at its
    limit cannot remove its student processes' folders itself. Traversable (not readable)
    for the unprivileged user student code may run as."""
    folder = tempfile.mkdtemp(prefix="rnnkit-grading-")
    os.chmod(folder, 0o711)
    return folder


def remove_tree(path: str) -> None:
    """Remove `path` whatever a student process left in it: links are not followed, and a
    tree nested thousands deep (where Python's recursive rmtree fails and paths exceed
    PATH_MAX) is removed by `rm`, which walks by descriptors."""
    if not os.path.lexists(path):
        return
    if sys.platform.startswith("linux") and shutil.which("rm"):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


class _Live:
    """Pids of running student processes and zygotes (so stray-killing spares them)."""
    pids: set = set()


# What a student process inherits of the grader's environment: what finds programs and
# libraries, the locale, and the numeric libraries' thread and kernel settings (so the
# student's arithmetic is the oracles'). Nothing else: a hosting service's or CI's variables
# (tokens, paths of the instructor's files) are the grader's, not the student's to read.
INHERITED = ("PATH", "PATHEXT", "LD_LIBRARY_PATH", "LANG", "LANGUAGE", "TZ", "SYSTEMROOT",
             "SYSTEMDRIVE", "WINDIR", "COMSPEC", "NUMBER_OF_PROCESSORS", "TEMP", "TMP")
INHERITED_PREFIXES = ("LC_", "TF_", "OMP_", "KMP_", "MKL_", "OPENBLAS_", "XLA_", "PROCESSOR_")


def worker_environment() -> dict:
    """The environment of a student process (HOME and TMPDIR are added per process): the
    grader's INHERITED variables only (none of its RNNKIT_ or PYTHON ones), fixed seeds and
    quiet TensorFlow."""
    env = {key: value for key, value in os.environ.items()
           if key.upper() in INHERITED or key.upper().startswith(INHERITED_PREFIXES)}
    env.update(KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1",
               MPLBACKEND="Agg")
    return env


_ZYGOTES: dict = {}


def shared_zygote(code_root: str, env: dict) -> "zygote.Zygote":
    """The zygote for `code_root`, started on first use (with `env`, which its forks keep:
    variables the grader's own imports add later never reach them) and restarted if it died."""
    key = code_root
    current = _ZYGOTES.get(key)
    if current is None or not current.alive():
        if current is not None:
            _Live.pids.discard(current.pid)
        current = _ZYGOTES[key] = zygote.Zygote(code_root, env)
        _Live.pids.add(current.pid)
    return current


def prestart_zygote(code_root: str) -> None:
    """Start the zygote of `code_root` ahead of the first student process (where there is one)."""
    if zygote.available():
        shared_zygote(code_root, worker_environment())


_LET_GO: list = []     # borrowed zygotes' handles, kept so that collecting one deletes nothing


def close_zygotes() -> None:
    """Stop every zygote (their student processes go with them); a zygote borrowed from the
    warm grader (grade-class) is only let go of: it serves the next submission."""
    while _ZYGOTES:
        _, current = _ZYGOTES.popitem()
        if current.borrowed:
            _LET_GO.append(current)
        current.close()
        _Live.pids.discard(current.pid)


atexit.register(close_zygotes)


class StudentProcess:
    """Runs probes against `target/<module>.py` in a walled-in child process.

    Inputs: target, the graded folder; module, the exercise module's name; config, what the
    worker needs besides (probe modules, stand-ins, Keras layers to disable, forbidden
    imports; see `rnnkit.sandbox.worker.main`); copy, the file names to copy from target;
    code_root, the private copy of the student-side code; exclude, folders never readable;
    hidden, paths inside readable folders that stay unreadable (the course secret and its
    recordings, wherever the instructor keeps them).
    """

    def __init__(self, target: str | os.PathLike, module: str, *, config: dict, copy=(),
                 code_root: str | os.PathLike = KIT_ROOT, exclude=(), hidden=(), user=None,
                 startup_seconds: float = STARTUP_SECONDS, memory_limit_mb: int = MEMORY_LIMIT_MB):
        self.source = os.path.realpath(target)
        self.code_root = str(code_root)
        self.module = module
        self.worker_config = dict(config)
        self.copy = list(copy) or [f"{module}.py"]
        self.exclude = [str(p) for p in exclude]
        self.hidden = [str(p) for p in hidden]
        self.user = user
        self.startup_seconds = startup_seconds
        self._handshake_seconds = startup_seconds   # this start's (`call`'s start_within)
        self.memory_limit_mb = memory_limit_mb
        self.proc: subprocess.Popen | None = None
        self.import_failure: StudentError | None = None
        self.protections: dict = {}   # what the worker reported: {"applied": [...], "missing": [...]}
        self.restarts = 0
        self.import_seconds: float | None = None   # how long the last start took, import included
        self.claims: list[dict] = []  # earlier modules the worker says it replaced (unchecked)
        self._channel: portable_host.Channel | None = None   # the portable path (macOS, Windows)
        self._workdir = tempfile.mkdtemp(prefix="rnnkit-student-")
        self._cleanup = weakref.finalize(self, remove_tree, self._workdir)
        self._log_path = os.path.join(self._workdir, "output.log")
        self.scratch = os.path.join(self._workdir, "scratch")   # all the student may write
        self.target = os.path.join(self.scratch, "submission")

    # -- life cycle -----------------------------------------------------------------------
    def _prepare(self) -> str:
        """A new, empty scratch folder for each start (nothing a previous start left there —
        a planted module, a link — survives), holding a fresh copy of the submission."""
        if os.path.lexists(self.scratch):
            remove_tree(self.scratch)             # never follows links
        os.makedirs(self.scratch)
        try:
            copy_submission(self.source, os.path.join(self.scratch, "submission"), self.copy)
        except StudentError as error:
            self.import_failure = error
            raise
        workdir = os.path.join(self.scratch, "cwd")
        os.makedirs(workdir)
        os.makedirs(os.path.join(self.scratch, "tmp"))
        if self.user is not None:
            os.chmod(self._workdir, 0o711)
            for folder, dirs, files in os.walk(self.scratch):
                for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
                    os.chown(name, *self.user, follow_symlinks=False)
        return workdir

    def _uses_zygote(self) -> bool:
        forbidden = set(self.worker_config.get("forbidden_imports", []))
        return zygote.available() and not forbidden & set(zygote.IMPORTS)

    def _start(self, within: float | None = None) -> None:
        if within is not None and within < self.startup_seconds:
            self._handshake_seconds = within
        else:
            self._handshake_seconds = self.startup_seconds
        if portable.needed():
            return self._start_portable()
        workdir = self._prepare()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        config = {**self.worker_config, "target": self.target, "module": self.module,
                  "fd_in": to_child_r, "fd_out": from_child_w,
                  "read": [self.code_root], "write": [self.scratch], "exclude": self.exclude,
                  "hidden": self.hidden}
        env = worker_environment()
        own = dict(HOME=workdir, TMPDIR=os.path.join(self.scratch, "tmp"))
        forked = None
        if self._uses_zygote():
            try:
                with open(self._log_path, "ab") as log:
                    forked = shared_zygote(self.code_root, env).fork(
                        config, cwd=workdir, env=own, user=self.user,
                        fds=(to_child_r, from_child_w, log.fileno()),
                        limits={"memory_mb": self.memory_limit_mb, "output_mb": MAX_OUTPUT_MB})
            except zygote.ZygoteError:
                forked = None      # started the ordinary way below; slower, equally walled in
        if forked is not None:
            self.proc = forked
        else:
            # -P: the working folder is not put on sys.path; -s: no user site; only the private
            # copy of the student-side code is added, by the bootstrap line itself.
            command = [sys.executable, "-s", "-P", "-c", BOOTSTRAP, self.code_root,
                       json.dumps(config)]
            with open(self._log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=workdir, env={**env, **own}, pass_fds=(to_child_r, from_child_w),
                    preexec_fn=_confine(self.memory_limit_mb, self.user))
        _Live.pids.add(self.proc.pid)
        os.close(to_child_r)
        os.close(from_child_w)
        self._to_child, self._from_child = to_child_w, from_child_r
        self._handshake()

    def _start_portable(self) -> None:
        """macOS and Windows (see `rnnkit.sandbox.portable`): the same worker, talking over
        its stdin and stdout, limited by what the system offers."""
        workdir = self._prepare()
        config = {**self.worker_config, "target": self.target, "module": self.module,
                  "channel": "stdio", "simulate": portable.SIMULATED,
                  "limits": {"memory_mb": self.memory_limit_mb, "output_mb": MAX_OUTPUT_MB},
                  "read": [self.code_root], "write": [self.scratch], "exclude": self.exclude,
                  "hidden": self.hidden}
        env = {**worker_environment(), "HOME": workdir, "USERPROFILE": workdir,
               "TMPDIR": os.path.join(self.scratch, "tmp")}
        command = [sys.executable, "-s", "-P", "-c", BOOTSTRAP, self.code_root, json.dumps(config)]
        self._channel = portable_host.Channel(command, cwd=workdir, env=env, log_path=self._log_path,
                                         memory_limit_mb=self.memory_limit_mb)
        self.proc = self._channel.proc
        _Live.pids.add(self.proc.pid)
        self._to_child, self._from_child = self._channel.to_child, -1
        self._handshake()
        mine = self._channel.protections       # what the grader applied (a job object)
        self.protections = {key: list(self.protections.get(key, [])) + mine[key]
                            for key in ("applied", "missing")}

    def _handshake(self) -> None:
        """The worker's first messages: its walls (sent before any student code ran, so the
        protections line comes from there and nowhere else), then imported or not."""
        seconds = self._handshake_seconds
        try:
            walled = self._receive(seconds, during="starting the student's process")
            if walled.get("status") != "walled" or not isinstance(walled.get("protections"), dict):
                raise StudentError("crash", "the student's process did not report its walls "
                                   "before importing the submission")
            self.protections = walled["protections"]
            reply = self._receive(seconds, during="importing the module")
        except StudentError as error:   # a hang or a crash at import fails every check alike
            self.import_failure = error
            raise
        if reply.get("status") == "import_error":
            self.import_failure = StudentError.from_reply(reply)
            self.close()
            raise self.import_failure
        # The worker names an earlier module it replaced by Keras's layers after student code
        # ran there: a claim, which the grader checks (`Grader.stand_in_notes`).
        self.claims = [note for note in (reply.get("notes") if isinstance(reply.get("notes"),
                                                                           list) else [])
                       if isinstance(note, dict)
                       and note.get("module") in self.worker_config.get("stand_ins", {})
                       and isinstance(note.get("reason"), str)]

    def close(self) -> None:
        if self.proc is None:
            return
        if self._channel is not None:          # the portable path: its own way to kill
            self._channel.close()
            self._channel = None
        else:
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
        reaper.kill_strays(keep=_Live.pids)          # detached daemons adopted by the grader

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self._cleanup()

    # -- one request ----------------------------------------------------------------------
    def call(self, module: str, probe: str, args: dict, *, seed: int, timeout: float,
             start_within: float | None = None):
        """Run `module.probe(student_module, **args)` in the student's process; plain data.
        `start_within`: at most this many seconds for each stage of a (re)start, when that is
        less than `startup_seconds` (what is left of the exercise's time budget)."""
        if self.import_failure is not None:
            raise self.import_failure.again()
        if self.proc is None:
            started = time.monotonic()
            self._start(start_within)
            self.import_seconds = time.monotonic() - started
        request = {"module": module, "probe": probe, "args": args, "seed": seed}
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
            # What decoding may cost is bounded before it starts (`wire.MAX_REPLY_HEADER_*`),
            # and a header over its length is refused from its first 4 bytes, before the rest
            # of the message is read (a 48 MiB frame cost 0.14 GiB just to read and join).
            head = self._read(min(size, 4), deadline, seconds, during)
            if len(head) == 4:
                wire.check_header_length(struct.unpack(">I", head)[0],
                                         wire.MAX_REPLY_HEADER_BYTES)
            reply = wire.decode(self._read(size - len(head), deadline, seconds, during, head),
                                max_header=wire.MAX_REPLY_HEADER_BYTES,
                                max_items=wire.MAX_REPLY_HEADER_ITEMS)
            if not isinstance(reply, dict):
                raise wire.WireError("a reply must be a dict")
            self._within_budget(during)     # after every reply: what a quick call wrote too
            return reply
        except wire.OverBudget as error:
            # Restarted all the same: student code may have written this frame itself in the
            # middle of a call, and the worker's own reply would then answer the next request.
            self._restart()
            raise StudentError("bad_output", f"your code returned more than the grader reads "
                               f"during {during}: {error}") from None
        except (wire.WireError, RecursionError, MemoryError, ValueError, TypeError) as error:
            self._restart()
            why = str(error) if isinstance(error, wire.WireError) else type(error).__name__
            raise StudentError("bad_output", f"the process sent a malformed message ({why})") \
                from None

    def _read(self, size: int, deadline: float, seconds: float, during: str,
              prefix: bytes = b"") -> bytes:
        """`prefix` and then `size` bytes more from the student's process (one join)."""
        chunks = [prefix] if prefix else []
        while size:
            left = deadline - time.monotonic()
            if left <= 0:
                self._restart()
                raise StudentError("timeout", f"timed out after {seconds:g} s during {during} "
                                   "(an endless loop, or far too much work?)")
            # Short waits: a worker that died while a daemon it started still holds the pipe
            # open would otherwise look like a timeout instead of the crash it is.
            if self._channel is not None:    # no select on Windows pipes: a reader thread
                chunk = self._channel.read(min(size, 1 << 20), min(left, 0.5))
                ready = chunk is not None
            else:
                chunk = None
                ready = select.select([self._from_child], [], [], min(left, 0.5))[0]
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise self._died(f"during {during}")
                self._within_budget(during)  # every half second while it works
                continue
            if chunk is None:
                chunk = os.read(self._from_child, min(size, 1 << 20))
            if not chunk:
                raise self._died(f"during {during}")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _within_budget(self, during: str) -> None:
        """Restart it and fail the call when its scratch folder is over a limit."""
        _, over = scratch_usage(self.scratch)
        if over:
            self._restart()
            raise StudentError("bad_output", f"the code wrote {over} during {during}")

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
