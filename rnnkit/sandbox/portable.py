"""Self-grading where Linux's walls are not (macOS, Windows): the student process's side.

On Linux the student's process is started with its pipes passed by descriptor number, limited
before it runs, watched with `select` and killed with its process group; it then walls itself
in with Landlock and seccomp (`rnnkit.sandbox.walls`). None of that exists on Windows, and only
part of it on macOS. There the *portable path* is used instead (the grader's side is
`rnnkit.grader.handles.portable`):

- the channel is the worker's own stdin and stdout pipes, which every system has. Before any
  student code runs the worker takes them for the protocol and points its file descriptors
  0 and 1 at nothing and at the log, so a `print` can never corrupt a message
  (`worker_channel`);
- on macOS the worker applies `setrlimit` to itself (file size; address space as far as
  macOS enforces it) (`limit_self`); on Windows the grader's job object limits it.

`system()` is what the kit's own branching goes by. `simulate("Darwin")` only makes Landlock
and seccomp unavailable (a POSIX system without them); `simulate("Windows")` makes this
process behave, for the kit's own code, like one without any of Linux's facilities: imports
of Unix-only modules from the kit fail, `select` refuses pipes, `subprocess` refuses
`preexec_fn`/`pass_fds`, `os.killpg`/`os.setsid`, `os.pidfd_open` and `socket.send_fds` are
gone (so no zygote) and Landlock and seccomp report themselves unavailable. The worker
repeats it when its config says so. It exists for the kit's test of the portable path
(`tests/kit/sandbox/test_portable.py`).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys

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


def binary_mode(fd: int) -> None:
    """Windows opens pipes in text mode (CRLF translation, Ctrl-Z as end of file): not ours."""
    if os.name == "nt":
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)


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
    binary_mode(fd_in)
    binary_mode(fd_out)
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
