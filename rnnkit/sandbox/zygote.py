"""A pre-loaded process that forks the student's processes (Linux), so TensorFlow loads once.

Importing TensorFlow and Keras costs each student process ~3 s of CPU and ~300 MB of private
memory. The zygote is started once per grading run, from the same private copy of the kit's
student-side code and with the same isolated interpreter flags as a worker; it imports
NumPy, TensorFlow and Keras — and nothing of the submission, the grader, the references or
`solutions/` — and then only forks. Each fork becomes one student process: it takes the
pipes and log file the grader handed over (as file descriptors over a Unix socket), closes
every other descriptor, enters its scratch folder, starts its own session, applies the
memory and output limits, drops to the unprivileged user where there is one, and then runs
`rnnkit.sandbox.worker.main` — which walls itself in (Landlock, seccomp) before any student
code runs, exactly as a freshly started worker does. A forked child therefore starts from
the state of a fresh worker that has just imported Keras; nothing of another student process
is in it (the zygote never runs student code, so forks never inherit one).

Why forking here is safe: after these imports the zygote has one thread besides the main one
(OpenBLAS's pool, which re-initialises itself after a fork through `pthread_atfork`);
TensorFlow starts its thread pools at the first operation, which only children run.
`tests/kit/test_zygote.py` checks this and that forked and fresh processes compute the
same bits.

Exercises that must do without TensorFlow and Keras (ex02) are started the ordinary way:
in a fork those modules would already be imported.

The grader's side, `Zygote`, asks for a fork and gets back the pid; it notices the child's
exit through a pidfd (the zygote leaves the child a zombie, so the pid cannot be reused,
until the grader asks it to reap and report the exit status).

`grade-class` shares one zygote across the submissions of a job slot (see
`rnnkit.grader.warm`): a grader forked from the warm grader inherits the handle, uses it and
never stops the zygote (`close` in a process other than the one that started it only lets go
of its copy of the socket); between two submissions the warm grader asks the zygote to
`reset`: kill and reap every child it still has.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

MAX_REQUEST = 1 << 20
IMPORTS = ("numpy", "keras", "tensorflow")
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "from rnnkit.sandbox import zygote; zygote.serve(int(sys.argv[2]))")


class ZygoteError(Exception):
    """The zygote could not fork a student process (the caller starts one the ordinary way)."""


def available() -> bool:
    """Linux with pidfds (5.3+); elsewhere student processes are started the ordinary way."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") \
        and hasattr(socket, "send_fds") and os.environ.get("RNNKIT_ZYGOTE", "on") != "off"


# -- the grader's side -------------------------------------------------------------------------
def _send(sock: socket.socket, message: dict, fds=()) -> None:
    data = json.dumps(message).encode()
    socket.send_fds(sock, [struct.pack(">I", len(data)) + data], list(fds))


def _receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict, list[int]]:
    """One message (a SOCK_SEQPACKET packet keeps it whole) and the descriptors sent with it."""
    data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST + 4, max_fds)
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != len(data) - 4:
        for fd in fds:
            os.close(fd)
        raise EOFError("the zygote's socket closed" if not data else "a truncated message")
    return json.loads(data[4:]), fds


class ForkedChild:
    """A student process forked by the zygote, with the part of `subprocess.Popen`'s interface
    that `StudentProcess` uses (`pid`, `poll`, `wait`)."""

    def __init__(self, pid: int, zygote: "Zygote"):
        self.pid = pid
        self.returncode: int | None = None
        self._zygote = zygote
        self._pidfd = os.pidfd_open(pid)   # a zombie until reaped: the pid cannot be reused

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            self._reap()
        return self.returncode

    def _reap(self) -> None:
        self.returncode = self._zygote.reap(self.pid)
        os.close(self._pidfd)


class Zygote:
    """The grader's handle on one zygote (one per code root, user and limits)."""

    def __init__(self, code_root: str, env: dict):
        self.code_root = code_root
        # An empty home of its own: Keras reads (and writes) ~/.keras/keras.json as it is
        # imported, and a student process must start from Keras's defaults, not the grader's.
        self._home = tempfile.TemporaryDirectory(prefix="rnnkit-zygote-")
        env = {**env, "HOME": self._home.name, "TMPDIR": self._home.name}
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = parent
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-P", "-c", BOOTSTRAP, code_root, str(child.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/", env=env, pass_fds=(child.fileno(),), start_new_session=True)
        child.close()
        self._owner = os.getpid()      # a forked grader borrows the handle: see `close`
        self._asked = 0
        self._pidfd = os.pidfd_open(self.proc.pid)   # readable once the zygote has exited

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        # Not `proc.poll()`: in a grader forked from the warm grader the zygote is not a
        # child, and polling a process that is not one reports it gone.
        return not select.select([self._pidfd], [], [], 0)[0]

    @property
    def borrowed(self) -> bool:
        """True in a process forked after the zygote was started (a grader of grade-class)."""
        return os.getpid() != self._owner

    def fork(self, config: dict, *, cwd: str, env: dict, fds: tuple[int, int, int],
             limits: dict, user) -> ForkedChild:
        """Fork a student process running `worker.main(config)`; `fds` are the worker's
        request pipe (read end), its reply pipe (write end) and its log file."""
        request = {"op": "fork", "config": config, "cwd": cwd, "env": env, "limits": limits,
                   "user": list(user) if user else None}
        try:
            reply = self._ask(request, fds)
        except (OSError, EOFError, ValueError) as error:
            raise ZygoteError(f"the zygote did not answer: {error}") from None
        if "pid" not in reply:
            raise ZygoteError(reply.get("error", "the zygote refused to fork"))
        return ForkedChild(int(reply["pid"]), self)

    def reap(self, pid: int) -> int:
        try:
            reply = self._ask({"op": "reap", "pid": pid})
        except (OSError, EOFError, ValueError):
            return -signal.SIGKILL          # the zygote is gone, and its children with it
        return int(reply.get("code", -signal.SIGKILL))

    def reset(self) -> int:
        """Kill and reap every student process the zygote still has (what a grading that was
        killed or timed out left behind); returns how many there were."""
        try:
            reply = self._ask({"op": "reset"})
        except (OSError, EOFError, ValueError) as error:
            raise ZygoteError(f"the zygote did not answer: {error}") from None
        return int(reply.get("killed", 0))

    def _ask(self, request: dict, fds=()) -> dict:
        """Send one request and return its reply. A reply to someone else's request is passed
        over: a grader forked from the warm grader and killed between asking and reading
        leaves its reply in the socket, and the next request must not take it for its own."""
        with self._lock:
            self._asked += 1
            ask = f"{os.getpid()}:{self._asked}"    # forked graders inherit the count, not the pid
            _send(self._sock, {**request, "id": ask}, fds)
            while True:
                reply, handed = _receive(self._sock)
                for fd in handed:
                    os.close(fd)
                if reply.get("id") == ask:
                    return reply

    def close(self) -> None:
        if self.borrowed:       # the warm grader's zygote: it stops it, not this grader
            try:
                self._sock.close()          # this process's copy; the owner still holds one
                os.close(self._pidfd)
            except OSError:
                pass
            return
        try:
            self._sock.close()              # the zygote kills its children and exits on EOF
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._pidfd)
        self._home.cleanup()


# -- the zygote's side -------------------------------------------------------------------------
def _become_child(request: dict, fds: list[int], sock: socket.socket, zygote: int) -> None:
    """In the fork: take the handed-over descriptors, close all others, limit, run the worker.
    Never returns (a fork must not fall back into the zygote's loop)."""
    code = 1
    try:
        sock.close()
        fd_in, fd_out, log = fds
        os.dup2(log, 1)
        os.dup2(log, 2)
        keep = sorted({0, 1, 2, fd_in, fd_out})
        start = 3
        for fd in keep[3:] + [1 << 20]:
            if fd > start:
                os.closerange(start, fd)
            start = fd + 1
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        import tempfile

        tempfile.tempdir = None         # computed again from this process's own TMPDIR
        from rnnkit.sandbox import confine, worker

        confine.limit_and_drop(request["limits"]["memory_mb"], request["limits"]["output_mb"],
                               request["user"], zygote)    # dies with the zygote, even if gone

        worker.main([json.dumps({**request["config"], "fd_in": fd_in, "fd_out": fd_out})])
        code = 0
    except BaseException:   # noqa: BLE001 - reported by the exit status; the log has the rest
        import traceback

        traceback.print_exc()
    finally:
        from rnnkit.sandbox import confine

        confine.exit_fork(code)


def serve(fd: int) -> None:
    """The zygote's loop: import, then fork on request until the grader's socket closes."""
    from rnnkit.sandbox import confine

    confine.die_with_parent()                        # with the grader (its main thread)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    for name in IMPORTS:
        __import__(name)
    from rnnkit.sandbox import confine, standins, wire, worker  # noqa: F401
    import gc

    # The imported objects out of the collector's reach: a collection in a fork would write
    # to the header of every object it tracks and so copy every page holding one. Measured
    # (ex03 graded alone, idle): zygote + student 322 + 316 MB PSS without, 286 + 289 with.
    gc.collect()
    gc.freeze()

    sock = socket.socket(fileno=fd)
    me = os.getpid()
    children: set[int] = set()
    try:
        while True:
            try:
                request, fds = _receive(sock, max_fds=3)
            except (EOFError, OSError, ValueError):
                break
            asked = {"id": request.get("id")}      # echoed: see `Zygote._ask`
            if request.get("op") == "fork":
                if len(fds) != 3:
                    for handed in fds:
                        os.close(handed)
                    _send(sock, {**asked, "error": "a fork needs three descriptors"})
                    continue
                pid = os.fork()
                if pid == 0:
                    _become_child(request, fds, sock, me)
                for handed in fds:
                    os.close(handed)
                children.add(pid)
                _send(sock, {**asked, "pid": pid})
            elif request.get("op") == "reset":
                for pid in children:
                    _kill_and_reap(pid)
                _send(sock, {**asked, "killed": len(children)})
                children.clear()
            elif request.get("op") == "reap":
                pid = int(request.get("pid", -1))
                if pid not in children:
                    _send(sock, {**asked, "error": f"{pid} is not a child of the zygote"})
                    continue
                _, status = os.waitpid(pid, 0)
                children.discard(pid)
                _send(sock, {**asked, "code": os.waitstatus_to_exitcode(status)})
    finally:
        for pid in children:
            _kill_and_reap(pid)


def _kill_and_reap(pid: int) -> None:
    """SIGKILL a forked student process's group (its own session) and reap it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
