"""The grader's handle on the zygote (Linux): asks it for forks, notices their exit, reaps.

The zygote (`rnnkit.sandbox.zygote`) is started once per grading run from the private copy
of the student-side code; it imports NumPy, TensorFlow and Keras and then only forks student
processes on request. `Zygote` asks for a fork and gets back the pid; `ForkedChild` notices
the child's exit through a pidfd (the zygote leaves the child a zombie, so the pid cannot be
reused, until the grader asks it to reap and report the exit status).

`grade-class` shares one zygote across the submissions of a job slot (see
`rnnkit.tools.warm_grader`): a grader forked from the warm grader inherits the handle, uses it
and never stops the zygote (`close` in a process other than the one that started it only lets
go of its copy of the socket); between two submissions the warm grader asks the zygote to
`reset`: kill and reap every child it still has.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from rnnkit.sandbox.zygote import BOOTSTRAP, IMPORTS, receive, send  # noqa: F401 (IMPORTS)


class ZygoteError(Exception):
    """The zygote could not fork a student process (the caller starts one the ordinary way)."""


def available() -> bool:
    """Linux with pidfds (5.3+); elsewhere student processes are started the ordinary way."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") \
        and hasattr(socket, "send_fds") and os.environ.get("RNNKIT_ZYGOTE", "on") != "off"



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
            send(self._sock, {**request, "id": ask}, fds)
            while True:
                reply, handed = receive(self._sock)
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
