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
`tests/kit/sandbox/test_zygote.py` checks this and that forked and fresh processes compute the
same bits.

Exercises that must do without TensorFlow and Keras (ex02) are started the ordinary way:

This file is the zygote's own code (and the protocol both sides speak: one JSON message per
SOCK_SEQPACKET packet, with file descriptors attached); the grader's handle on it, which asks
for forks and reaps them, is `rnnkit.grader.handles.zygote`.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct

MAX_REQUEST = 1 << 20
IMPORTS = ("numpy", "keras", "tensorflow")
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "from rnnkit.sandbox import zygote; zygote.serve(int(sys.argv[2]))")



# -- the protocol, both sides ----------------------------------------------------------------------
def send(sock: socket.socket, message: dict, fds=()) -> None:
    data = json.dumps(message).encode()
    socket.send_fds(sock, [struct.pack(">I", len(data)) + data], list(fds))


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict, list[int]]:
    """One message (a SOCK_SEQPACKET packet keeps it whole) and the descriptors sent with it."""
    data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST + 4, max_fds)
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != len(data) - 4:
        for fd in fds:
            os.close(fd)
        raise EOFError("the zygote's socket closed" if not data else "a truncated message")
    return json.loads(data[4:]), fds



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
        from rnnkit.sandbox import walls, worker

        walls.limit_and_drop(request["limits"]["memory_mb"], request["limits"]["output_mb"],
                               request["user"], zygote)    # dies with the zygote, even if gone

        worker.main([json.dumps({**request["config"], "fd_in": fd_in, "fd_out": fd_out})])
        code = 0
    except BaseException:   # noqa: BLE001 - reported by the exit status; the log has the rest
        import traceback

        traceback.print_exc()
    finally:
        from rnnkit.sandbox import walls

        walls.exit_fork(code)


def serve(fd: int) -> None:
    """The zygote's loop: import, then fork on request until the grader's socket closes."""
    from rnnkit.sandbox import walls

    walls.die_with_parent()                        # with the grader (its main thread)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    for name in IMPORTS:
        __import__(name)
    from rnnkit.sandbox import standins, walls, wire, worker  # noqa: F401
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
                request, fds = receive(sock, max_fds=3)
            except (EOFError, OSError, ValueError):
                break
            asked = {"id": request.get("id")}      # echoed: see `Zygote._ask`
            if request.get("op") == "fork":
                if len(fds) != 3:
                    for handed in fds:
                        os.close(handed)
                    send(sock, {**asked, "error": "a fork needs three descriptors"})
                    continue
                pid = os.fork()
                if pid == 0:
                    _become_child(request, fds, sock, me)
                for handed in fds:
                    os.close(handed)
                children.add(pid)
                send(sock, {**asked, "pid": pid})
            elif request.get("op") == "reset":
                for pid in children:
                    _kill_and_reap(pid)
                send(sock, {**asked, "killed": len(children)})
                children.clear()
            elif request.get("op") == "reap":
                pid = int(request.get("pid", -1))
                if pid not in children:
                    send(sock, {**asked, "error": f"{pid} is not a child of the zygote"})
                    continue
                _, status = os.waitpid(pid, 0)
                children.discard(pid)
                send(sock, {**asked, "code": os.waitstatus_to_exitcode(status)})
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
