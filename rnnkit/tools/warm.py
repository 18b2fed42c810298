"""grade-class's handle on a warm grader (one per job slot; the process is
`rnnkit.tools.warm_grader`), and whether warm graders may be used here at all.

Protocol (one JSON line each way, on the socket passed as the warm grader's only argument):
{"argv": [...], "log": path, "timeout": s} -> {"code": exit status, "timed_out": bool,
"memo": {"added", "used", "entries", "bytes"}}.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from rnnkit import KIT_ROOT


def unavailable() -> str | None:
    """Why grade-class cannot use warm graders here, or None where it can: Linux with the
    zygote (pidfds, fd passing), fork, and the walls. A warm grader, its zygote and its
    memo of oracle results outlive a submission; only Landlock and seccomp keep student
    code from reaching them (without Landlock, a student process of the same user could
    write into the zygote's memory through /proc and so into the next submission's)."""
    import platform

    from rnnkit.grader.handles import zygote
    from rnnkit.sandbox import walls

    if os.environ.get("RNNKIT_WARM_GRADER", "on") == "off":
        return "RNNKIT_WARM_GRADER=off"
    if not zygote.available() or not hasattr(os, "fork"):
        return "it needs Linux with pidfds"
    try:
        walls.landlock_abi()
    except OSError as error:
        return str(error)
    if platform.machine() not in walls.SECCOMP_ARCHITECTURES:
        return f"no seccomp filter for the {platform.machine()} architecture"
    return None


def available() -> bool:
    return unavailable() is None


# How long after a grading's limit a warm grader may take to answer: killing the grading,
# resetting the zygote and starting a new one (~4 s) take seconds, not minutes; a warm grader
# silent for longer is stuck, and its submission is graded again the ordinary way.
AFTER_THE_LIMIT = 120


class WarmGraderGone(Exception):
    """The warm grader died or stopped answering (grade-class grades the ordinary way)."""


class WarmGrader:
    """grade-class's handle on one warm grader (one per job slot; one grading at a time)."""

    def __init__(self, env: dict | None = None):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = parent
        self._replies = parent.makefile("r", encoding="utf-8")
        self._errors = tempfile.TemporaryFile(prefix="rnnkit-warm-")
        self._lock = threading.Lock()
        self.last_reply: dict = {}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnnkit.tools.warm_grader", str(child.fileno())],
            cwd=KIT_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
            stderr=self._errors, pass_fds=(child.fileno(),), start_new_session=True)
        child.close()

    def grade(self, argv: list[str], log_path, timeout: float) -> tuple[int | None, bool]:
        """Run `python -m rnnkit <argv>` in a grader forked from the warm one, its output in
        `log_path`; (exit status, timed out). Raises WarmGraderGone if it could not."""
        request = {"argv": list(argv), "log": str(log_path) if log_path else os.devnull,
                   "timeout": timeout}
        with self._lock:
            try:
                self._sock.sendall((json.dumps(request) + "\n").encode())
                # the warm grader enforces `timeout`; this is for a warm grader that hangs
                ready = select.select([self._sock], [], [], timeout + AFTER_THE_LIMIT)[0]
                line = self._replies.readline() if ready else ""
            except OSError as error:
                raise WarmGraderGone(f"the warm grader did not answer: {error}") from None
        if not line:
            raise WarmGraderGone(self.why())
        reply = json.loads(line)
        self.last_reply = reply                 # (its "memo" figures: tests, bench)
        return reply.get("code"), bool(reply.get("timed_out"))

    def why(self) -> str:
        """The last line the warm grader wrote to stderr (why it stopped)."""
        self.close()
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:300] if lines else "the warm grader stopped without a word"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._replies.close()       # (the socket's fd stays open while this is)
                self._sock.close()          # the warm grader stops at EOF, and its zygote
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
