"""What keeps student code from changing its own score, beyond running in another process.

- `GraderSnapshot`: before any student code runs, the grader's code (rnnkit/ and
  tests/grading/) is copied to a private folder that student processes import from, and the
  kit's own files are hashed; `tampered()` lists any kit file that changed since. A grading
  during which the kit changed is voided (see the plugin).
- `become_subreaper` / `kill_strays`: a process a student starts and detaches (double fork,
  setsid) is re-parented to the grader instead of init, so it can be found and killed when
  the exercise ends — it cannot outlive grading and rewrite the results afterwards.
- `unprivileged_user`: when the grader runs as root and the Python installation is
  world-readable (a hosted autograder's container), student processes run as `nobody`, and
  then cannot write the kit, the results or site-packages, nor read solutions/ (which the
  hosted bundle makes private). Where that is impossible (this interpreter lives under a
  private home), the checks above still detect tampering.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import pwd
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

from rnnkit import KIT_ROOT

GRADER_CODE = ("rnnkit", "tests/grading")
WATCHED = ("rnnkit", "tests/grading", "tests/conftest.py", "solutions", "data", "pyproject.toml",
           "conftest.py")  # what grading loads; tests/kit (the kit's own tests) is not
_IGNORED = {"__pycache__", ".pytest_cache"}


def _files(root: Path, relative: str):
    path = root / relative
    if path.is_file():
        yield path
    elif path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_file() and not _IGNORED & set(item.relative_to(root).parts) \
                    and item.suffix != ".pyc":
                yield item


def digest_tree(root: Path, parts) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for relative in parts for p in _files(root, relative)}


class GraderSnapshot:
    """A private copy of the grader's code, and fingerprints to notice tampering."""

    def __init__(self, kit_root: Path = KIT_ROOT):
        self.kit_root = kit_root
        self._dir = tempfile.TemporaryDirectory(prefix="rnnkit-grader-")
        self.root = Path(self._dir.name)
        for relative in GRADER_CODE:
            shutil.copytree(kit_root / relative, self.root / relative,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        os.chmod(self.root, 0o755)
        self._kit = digest_tree(kit_root, WATCHED)
        self._copy = digest_tree(self.root, GRADER_CODE)

    def probe_path(self, trusted_path: str) -> str:
        """Where the student's process finds the probes of a trusted test file."""
        relative = Path(trusted_path).resolve().relative_to(self.kit_root)
        return str(self.root / relative)

    def tampered(self) -> list[str]:
        """Kit or snapshot files added, removed or changed since grading began."""
        changed = []
        for before, root, parts, label in ((self._kit, self.kit_root, WATCHED, ""),
                                           (self._copy, self.root, GRADER_CODE, "grader copy: ")):
            now = digest_tree(root, parts)
            changed += [label + name for name in sorted(set(before) | set(now))
                        if before.get(name) != now.get(name)]
        return changed

    def cleanup(self) -> None:
        self._dir.cleanup()


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux PR_SET_CHILD_SUBREAPER); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def process_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, resident bytes)} of every process, read from /proc."""
    table = {}
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


def _children(pid: int) -> list[int]:
    return [child for child, (parent, _) in process_table().items() if parent == pid]


def kill_strays(keep=()) -> int:
    """SIGKILL every child of this process not in `keep` (adopted student daemons), and reap."""
    if not os.path.isdir("/proc"):
        return 0
    killed = 0
    for pid in _children(os.getpid()):
        if pid in keep:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            continue
    for _ in range(killed):
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
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
        user = pwd.getpwnam("nobody")
    except KeyError:
        return None
    import numpy

    needed = [sys.executable, os.path.realpath(sys.executable), numpy.__file__]
    if not all(_world_readable_path(path) for path in needed):
        return None
    return user.pw_uid, user.pw_gid


# -- Landlock: a process confines its own file-system access (Linux >= 5.13, no root) ----------
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1      # Landlock ABI >= 6
_READ = _EXECUTE | _READ_FILE | _READ_DIR


def _landlock_rights(abi: int) -> int:
    rights = (1 << 13) - 1                      # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13                       # refer
    if abi >= 3:
        rights |= 1 << 14                       # truncate
    if abi >= 5:
        rights |= 1 << 15                       # ioctl_dev
    return rights


def restrict_filesystem(read: list[str], write: list[str]) -> bool:
    """Allow this process (and its children, for good) to read only under `read` and to
    write only under `write`, and (Landlock ABI >= 6) to signal only its own descendants.
    False, changing nothing, where Landlock is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return False
        handled = _landlock_rights(abi)
        if abi >= 6:
            # Also scope signals and abstract unix sockets to this domain: the student's
            # process cannot kill or stop the grader or another student's process.
            ruleset = (ctypes.c_uint64 * 3)(handled, 0, _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL)
            size = 24
        else:
            ruleset = (ctypes.c_uint64 * 1)(handled)
            size = 8
        fd = syscall(444, ctypes.byref(ruleset), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if fd < 0:
            return False

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

        file_rights = _EXECUTE | _WRITE_FILE | _READ_FILE | (handled & ((1 << 14) | (1 << 15)))
        for paths, rights in ((read, _READ), (write, handled)):
            for path in paths:
                if not os.path.exists(path):
                    continue
                parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
                allowed = rights if os.path.isdir(path) else rights & file_rights
                rule = PathBeneath(allowed, parent)
                result = syscall(445, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule),
                                 ctypes.c_uint32(0))
                os.close(parent)
                if result != 0:
                    os.close(fd)
                    return False
        if libc.prctl(38, 1, 0, 0, 0) != 0:     # PR_SET_NO_NEW_PRIVS, required first
            os.close(fd)
            return False
        ok = syscall(446, ctypes.c_int(fd), ctypes.c_uint32(0)) == 0
        os.close(fd)
        return ok
    except (OSError, AttributeError):
        return False


def system_read_paths() -> list[str]:
    """What any Python process needs to read: the interpreter, its libraries, the system."""
    import site
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(
        sys.executable)), *site.getsitepackages(), sysconfig.get_paths()["stdlib"]}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        paths.add(user_site)
    paths.update(p for p in sys.path if p and os.path.isdir(p) and not p.startswith(
        str(KIT_ROOT)))
    paths.update(["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys",
                  "/opt", "/dev"])
    return sorted(paths)
