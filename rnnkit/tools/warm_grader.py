"""A warm grader per job slot of `grade-class` (Linux): the grader's imports, its private copy
of the student-side code and its zygote are made once and serve every submission of the slot.

Started afresh, the grader of one submission spends ~4 s of CPU importing pytest,
TensorFlow and Keras, and its zygote another ~3.5 s importing TensorFlow and Keras again:
about a quarter of grading ex01-ex03. A warm grader is started once per slot, in a clean
interpreter of its own; it imports the grader's side (pytest, TensorFlow, Keras, the
grader), takes one `GraderSnapshot`, becomes the subreaper of what it starts, starts one
zygote on the snapshot, and then, for each submission grade-class sends it, forks one grader
which runs `python -m rnnkit grade ...` exactly as a fresh process would (`cli.main`).

Why each submission is still graded in isolation from the others:
- Student code never runs in the warm grader, in its graders or in the zygote: only in
  processes the zygote forks, which wall themselves in (Landlock: write only their own
  scratch folder; seccomp: no fork, no exec, signals to themselves only) before the
  submission is imported. The warm grader itself never reads a submission: each grader it
  forks starts from the state it had before the first submission.
- A grader ends with its submission (it is a child that exits); whatever it left in memory
  goes with it. Before the next submission the zygote kills any student process still alive
  (`Zygote.reset`), and the warm grader kills anything adopted (`kill_strays`).
- The snapshot's fingerprints (of the kit and of the copy) are taken before the first
  submission; a grading that finds any file changed since is voided, so a change one
  submission made voids every grading after it too, not only its own.
- The warm grader, its zygote and its memo outlive a submission, so they are used only
  behind Landlock (`unavailable`): without it, a student process of the same user could
  open their memory through /proc.
`tests/kit/tools/test_warm.py` plants submissions that try to reach the next one.

The memo of oracle results (`rnnkit.grader.memo`): each forked grader inherits the warm
grader's, and reports what it computed on a pipe only it holds (plain data); the warm grader
adds it for the forks after it, unless the grading was killed or the kit's files changed.

Protocol (one JSON line each way, on the socket grade-class passes as the only argument):
{"argv": [...], "log": path, "timeout": s} -> {"code": exit status, "timed_out": bool,
"memo": {"added", "used", "entries", "bytes"}}.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import tempfile
import time



def _prepare() -> None:
    """Everything a grader would load before reading the submission, loaded once."""
    import gc

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pytest  # noqa: F401
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    from rnnkit.tools import cli  # noqa: F401
    from rnnkit.grader import api, plugin, results, session, snapshot  # noqa: F401
    from rnnkit.grader.handles import process, reaper

    snapshot.SHARED = snapshot.GraderSnapshot()
    reaper.become_subreaper()          # an escapee of any grading is adopted here
    process.prestart_zygote(str(snapshot.SHARED.root))
    gc.collect()
    gc.freeze()       # as in the zygote: forked graders do not copy every page to collect


def _grade_in_fork(request: dict, control: int, memo_pipe: tuple[int, int],
                   scratch: str) -> None:
    """In the forked grader: become `python -m rnnkit <argv>` writing to the log, its
    temporary folders (the student processes' among them) in `scratch`, then report the
    oracle results it computed on `memo_pipe` (`rnnkit.grader.memo`). Never returns."""
    from rnnkit.grader import memo
    from rnnkit.sandbox import walls

    code = 1
    try:
        os.setsid()                         # a timeout kills its whole group
        walls.die_with_parent()           # with the warm grader (single-threaded)
        os.close(control)
        os.close(memo_pipe[0])
        tempfile.tempdir = os.environ["TMPDIR"] = scratch
        memo.MEMO.begin_grading()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        from rnnkit.tools import cli

        code = cli.main([str(arg) for arg in request["argv"]])
    except SystemExit as stop:              # argparse's refusals
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - the log has the traceback; the status says it failed
        import traceback

        traceback.print_exc()
    finally:
        try:
            with open(memo_pipe[1], "wb") as pipe:
                pipe.write(memo.MEMO.report())
        except BaseException:  # noqa: BLE001 - the next gradings compute them again
            pass
        walls.exit_fork(code)


def _gone(control: int) -> bool:
    """Whether grade-class has closed its end of the socket (peeked: nothing is taken)."""
    with socket.socket(fileno=os.dup(control)) as peek:
        try:
            return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False                    # connected, nothing sent
        except OSError:
            return True


def _grade_one(request: dict, control: int) -> dict:
    from rnnkit.grader.handles import process, reaper, zygote

    sys.stdout.flush()
    sys.stderr.flush()
    memo_pipe = os.pipe()
    scratch = process.grading_folder()          # removed below, whatever became of it
    pid = os.fork()
    if pid == 0:
        _grade_in_fork(request, control, memo_pipe, scratch)
    os.close(memo_pipe[1])
    report = _Report(memo_pipe[0])
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + float(request.get("timeout", 1800))
    timed_out = abandoned = False
    while True:
        left = deadline - time.monotonic()
        watched = [pidfd, control] + ([report.fd] if report.open else [])
        ready = select.select(watched, [], [], max(0.0, left))[0] if left > 0 else []
        if report.fd in ready:
            report.read()
            continue
        if pidfd in ready:
            break
        if control in ready and _gone(control):
            abandoned = True                # grade-class is gone: so is this grading
            break
        if not ready:
            timed_out = True
            break
        time.sleep(0.05)                    # a request before a reply: not ours to read yet
    if timed_out or abandoned:
        for kill in (os.killpg, os.kill):   # its group, or itself if it had no time to setsid
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    report.finish()
    # What the grading may have left: student processes (the zygote's children), escapees.
    for current in list(process._ZYGOTES.values()):
        try:
            current.reset()
        except zygote.ZygoteError:
            pass                            # gone: replaced below
    reaper.kill_strays(keep={current.pid for current in process._ZYGOTES.values()})
    process.remove_tree(scratch)
    # A zygote that died during the grading is started again here, for the next ones (a
    # grader that found it dead started one of its own, which died with that grader).
    from rnnkit.grader import snapshot

    process.prestart_zygote(str(snapshot.SHARED.root))
    return {"code": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
            "abandoned": abandoned, "memo": _remember(report, timed_out or abandoned)}


class _Report:
    """The forked grader's memo report, read while it grades (a pipe holds only 64 KiB)."""

    def __init__(self, fd: int):
        from rnnkit.grader import memo

        self.fd, self.open, self.complete, self.too_long = fd, True, False, False
        self.data = bytearray()
        self.limit = 2 * memo.BUDGET          # more is not a report: read on, and dropped
        os.set_blocking(fd, False)

    def read(self) -> None:
        """What the pipe holds now; at its end (EOF) the report is complete."""
        while self.open:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return
            if not chunk:
                self.open, self.complete = False, not self.too_long
            elif self.too_long or len(self.data) + len(chunk) > self.limit:
                self.too_long, self.data = True, bytearray()
            else:
                self.data += chunk

    def finish(self) -> None:
        """After the grader exited: the rest (a pipe still held open by something it left
        running is not waited for: that report is incomplete, and dropped)."""
        self.read()
        os.close(self.fd)
        self.open = False


def _remember(report: _Report, killed: bool) -> dict:
    """Add a finished grading's oracle results to the memo the next forks inherit; not
    those of a grading that was killed or during which the kit's files changed (that
    memo is forgotten: every later grading is voided anyway)."""
    from rnnkit.grader import memo, snapshot
    from rnnkit.sandbox import wire

    merged = {"added": 0, "used": 0}
    if snapshot.SHARED.tampered():
        memo.MEMO.forget()
    elif report.complete and report.data and not killed:
        try:
            merged = memo.MEMO.merge(bytes(report.data))
        except wire.WireError:
            pass
    return {**merged, "entries": len(memo.MEMO.entries), "bytes": memo.MEMO.size}


def serve(control: int) -> None:
    """Grade what grade-class sends until it closes the socket (or is gone), then stop the
    zygote and remove the snapshot.

    Not PR_SET_PDEATHSIG, which fires when the *thread* that started this process ends:
    grade-class starts warm graders from its pool's threads, which end before it does."""
    from rnnkit.grader import snapshot
    from rnnkit.grader.handles import process

    _prepare()
    sock = socket.socket(fileno=control)
    requests = sock.makefile("r", encoding="utf-8")
    try:
        for line in requests:
            reply = _grade_one(json.loads(line), control)
            if reply.pop("abandoned"):
                break
            sock.sendall((json.dumps(reply) + "\n").encode())
    finally:
        process.close_zygotes()
        if snapshot.SHARED is not None:     # (None: _prepare itself failed; stderr says why)
            snapshot.SHARED.cleanup()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
