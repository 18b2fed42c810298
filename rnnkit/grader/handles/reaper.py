"""The grader's clean-up after student processes, and who they run as (Linux).

- `become_subreaper` / `kill_strays`: a process that escapes (a double fork, setsid) is
  re-parented to the grader, which kills its children until none is left.
- `unprivileged_user`: when the grader runs as root and the Python installation is
  world-readable (a hosted autograder's container), student processes run as `nobody`.
The walls a student process applies to itself are `rnnkit.sandbox.walls`.
"""
from __future__ import annotations

import os
import signal
import stat
import sys
import time
from pathlib import Path

from rnnkit.sandbox import portable
from rnnkit.sandbox.walls import LINUX, load_libc

def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux PR_SET_CHILD_SUBREAPER); False where unsupported."""
    if not LINUX or not portable.linux():
        return False
    try:
        return load_libc().prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def process_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, resident bytes)} of every process, read from /proc."""
    table = {}
    if not os.path.isdir("/proc"):
        return table
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), int(fields[21]) * page)
    return table


def kill_strays(keep=(), *, rounds: int = 50) -> int:
    """SIGKILL every child of this process not in `keep` (adopted escapees), reap them, and
    repeat until none is left: a grandchild re-parented after a round is caught by the next."""
    if not os.path.isdir("/proc"):
        return 0
    killed = 0
    for _ in range(rounds):
        me = os.getpid()
        strays = [pid for pid, (parent, _) in process_table().items()
                  if parent == me and pid not in keep]
        if not strays:
            break
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        for pid in strays:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        time.sleep(0.01)
    return killed


def _world_readable_path(path: str) -> bool:
    """Every folder on the way is traversable and the file readable by others."""
    current = Path(path).resolve()
    try:
        if not current.stat().st_mode & stat.S_IROTH:
            return False
        for parent in current.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
    except OSError:
        return False
    return True


def unprivileged_user():
    """(uid, gid) of `nobody` when student code can and should run as it, else None."""
    if os.environ.get("RNNKIT_NO_PRIVILEGE_DROP") or not hasattr(os, "geteuid") \
            or os.geteuid() != 0:
        return None
    try:
        import pwd

        user = pwd.getpwnam("nobody")
    except (ImportError, KeyError):
        return None
    import numpy

    needed = [sys.executable, os.path.realpath(sys.executable), numpy.__file__]
    if not all(_world_readable_path(path) for path in needed):
        return None
    return user.pw_uid, user.pw_gid
