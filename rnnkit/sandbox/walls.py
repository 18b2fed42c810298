"""The walls the student's process applies to itself, before any student code runs.

- Landlock (Linux >= 5.13, no root needed): read only the Python installation, the system,
  this process's own /proc entry and the private copy of the student-side code; write only
  the scratch folder and /dev/null. From ABI 4 on, no TCP at all; from ABI 6 on, signals and
  abstract unix sockets reach only its own processes.
- seccomp (Linux, any user): no new processes (only threads), no running programs, no
  chmod/chown of any file, no sockets at all (socketpair only: a named unix socket of a
  local service would be a way out), signals only to itself.
- `limit_and_drop`, first thing after the fork that becomes a student process: its own
  session, memory and file-size limits, the unprivileged user, no capabilities, death with
  its parent.

Everything here runs in the student's process (or, for `die_with_parent` and `exit_fork`, in
the zygote and in forked graders, which share those two helpers). The grader's clean-up
after student processes is `rnnkit.grader.handles.reaper`.
"""
from __future__ import annotations

import ctypes
import os
import platform
import signal
import struct
import sys

from rnnkit.sandbox import portable

LINUX = sys.platform.startswith("linux")   # the walls below also ask `portable.linux()`,
                                           # which is False while macOS or Windows is simulated


# -- Landlock -----------------------------------------------------------------------------------
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1      # Landlock ABI >= 6
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1          # Landlock ABI >= 4
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


def load_libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def carve(paths: list[str], hidden: list[str]) -> list[tuple[str, bool]]:
    """Read rules for `paths` that leave every path in `hidden` unreadable: [(path, whole)].

    whole=False marks a folder on the way to a hidden path: it may be listed (the import
    system lists the folders it searches) but its files are reachable only through the rules
    of its other entries. A link is never given a rule of its own: Landlock would follow it
    and open its target whole (a virtualenv's `lib64 -> lib` opened all of `lib`, hidden
    paths included), so its target is carved instead, like any other path."""
    rules: list[tuple[str, bool]] = []
    seen: set[str] = set()
    hidden = [os.path.realpath(h) for h in hidden]

    def visit(path: str, inside: list[str]):
        if path in seen or path in inside:
            return
        seen.add(path)
        if os.path.islink(path):
            visit(os.path.realpath(path), hidden)
            return
        below = [h for h in inside if h.startswith(path.rstrip(os.sep) + os.sep)]
        if not below or not os.path.isdir(path):
            rules.append((path, True))
            return
        rules.append((path, False))
        for name in sorted(os.listdir(path)):
            visit(os.path.join(path, name), below)

    for path in paths:
        visit(os.path.realpath(path), hidden)
    return rules


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; raises OSError with the reason when there is none."""
    if not LINUX or not portable.linux():
        raise OSError(f"Landlock is a Linux facility; this is {portable.system()}")
    abi = load_libc().syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        raise OSError(f"Landlock is not available in this kernel ({platform.release()}: "
                      f"{os.strerror(ctypes.get_errno())})")
    return abi


def landlock(read: list[str], write: list[str], hidden: list[str] = ()) -> str:
    """Confine this process (and any child, for good); a sentence saying what applied.
    `hidden`: paths beneath `read` that must stay unreadable. Raises OSError with the reason
    when Landlock is unavailable or refuses."""
    abi = landlock_abi()
    libc = load_libc()
    handled = _landlock_rights(abi)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    ruleset = (ctypes.c_uint64 * 3)(handled, net, scoped)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    fd = libc.syscall(444, ctypes.byref(ruleset), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    try:
        file_rights = _EXECUTE | _WRITE_FILE | _READ_FILE | (handled & ((1 << 14) | (1 << 15)))
        rules = [(path, _READ if whole else _READ_DIR) for path, whole in carve(read, hidden)]
        rules += [(path, handled) for path in write]
        for path, rights in rules:
            if os.path.exists(path):
                parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
                allowed = rights if os.path.isdir(path) else rights & file_rights
                rule = PathBeneath(allowed, parent)
                result = libc.syscall(445, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule),
                                      ctypes.c_uint32(0))
                os.close(parent)
                if result != 0:
                    raise OSError(f"landlock_add_rule({path}) failed: "
                                  f"{os.strerror(ctypes.get_errno())}")
        if libc.prctl(38, 1, 0, 0, 0) != 0:     # PR_SET_NO_NEW_PRIVS, required first
            raise OSError(f"PR_SET_NO_NEW_PRIVS failed: {os.strerror(ctypes.get_errno())}")
        if libc.syscall(446, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            raise OSError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)
    extras = (", no TCP" if net else "") + (", signals scoped" if scoped else "") + \
        (f", {len(hidden)} hidden" if hidden else "")
    return f"Landlock ABI {abi} (files{extras})"


# -- seccomp --------------------------------------------------------------------------------------
_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SECCOMP_ARCHITECTURES = tuple(_ARCH)
_SYSCALLS = {  # name -> number per architecture (None: the architecture has no such call)
    "fork": (57, None), "vfork": (58, None), "clone": (56, 220), "clone3": (435, 435),
    "execve": (59, 221), "execveat": (322, 281), "chmod": (90, None), "fchmod": (91, 52),
    "fchmodat": (268, 53), "fchmodat2": (452, 452), "chown": (92, None), "fchown": (93, 55),
    "lchown": (94, None), "fchownat": (260, 54), "socket": (41, 198), "kill": (62, 129),
    "tkill": (200, 130), "tgkill": (234, 131), "ptrace": (101, 117), "mount": (165, 40),
    "unshare": (272, 97), "setns": (308, 268), "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271), "pidfd_send_signal": (424, 424),
    "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    # other processes' limits, priorities and queues: only this process
    "prlimit64": (302, 261), "setpriority": (141, 140), "sched_setaffinity": (203, 122),
    "sched_setscheduler": (144, 119), "sched_setparam": (142, 118), "sched_setattr": (314, 274),
    "ioprio_set": (251, 30), "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240),
    "migrate_pages": (256, 238), "move_pages": (279, 239), "process_madvise": (440, 440),
    # the machine itself
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "bpf": (321, 280), "perf_event_open": (298, 241), "reboot": (169, 142),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "settimeofday": (164, 170),
    "clock_settime": (227, 112), "adjtimex": (159, 171), "clock_adjtime": (305, 266),
    "swapon": (167, 224), "swapoff": (168, 225), "pivot_root": (155, 41), "chroot": (161, 51),
    "umount2": (166, 39), "acct": (163, 89), "sethostname": (170, 161),
    "setdomainname": (171, 162), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "userfaultfd": (323, 282), "kcmp": (312, 272),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "fanotify_init": (300, 262), "quotactl": (179, 60), "syslog": (103, 116),
    "mknod": (133, None), "mknodat": (259, 33), "link": (86, None), "linkat": (265, 37),
    # file metadata, which Landlock does not guard: times, extended attributes (and, below,
    # the inode flags set by ioctl) of files outside the walls too
    "utime": (132, None), "utimes": (235, None), "futimesat": (261, None),
    "utimensat": (280, 88), "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "setxattrat": (463, 463), "removexattrat": (466, 466), "ioctl": (16, 29),
    # memory, semaphores and queues shared between processes, which outlive the process and
    # which neither Landlock nor the write budget sees: a channel from one submission to the
    # next, and memory no one frees
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "semtimedop": (220, 192),
    "msgget": (68, 186), "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187),
    "mq_open": (240, 180), "mq_unlink": (241, 181), "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
    # disk blocks taken at once, gigabytes between two looks of the write budget
    "fallocate": (285, 47),
}
_DENIED = ("fork", "vfork", "execve", "execveat", "chmod", "fchmod", "fchmodat", "fchmodat2",
           "chown", "fchown", "lchown", "fchownat", "tkill", "ptrace", "mount", "unshare",
           "setns", "process_vm_readv", "process_vm_writev", "pidfd_send_signal", "pidfd_open",
           "pidfd_getfd", "migrate_pages", "move_pages", "process_madvise", "io_uring_setup",
           "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "reboot",
           "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
           "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "swapon", "swapoff",
           "pivot_root", "chroot", "umount2", "acct", "sethostname", "setdomainname", "keyctl",
           "add_key", "request_key", "userfaultfd", "kcmp", "open_by_handle_at",
           "name_to_handle_at", "fanotify_init", "quotactl", "syslog", "mknod", "mknodat",
           "link", "linkat", "socket", "utime", "utimes", "futimesat", "utimensat", "setxattr",
           "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
           "removexattrat", "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl",
           "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
           "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "fallocate")
# ioctl requests that change a file's inode flags (immutable, append-only, no-dump ...): an
# immutable file outside the walls, or in the scratch folder, could not be removed after
# grading. FS_IOC_SETFLAGS, its 32-bit form, FS_IOC_FSSETXATTR.
_DENIED_IOCTLS = (0x40086602, 0x40046602, 0x401C5820)
# Calls whose first argument names a process: allowed for this process (or 0, itself) only.
_OWN_ONLY = ("kill", "tgkill", "prlimit64", "sched_setaffinity", "sched_setscheduler",
             "sched_setparam", "sched_setattr", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
# Calls (which, who, ...) whose `which` must be the value naming one process
# (PRIO_PROCESS, IOPRIO_WHO_PROCESS) and whose `who` must be this one or 0.
_OWN_ONLY_WHO = {"setpriority": 0, "ioprio_set": 1}
_CLONE_THREAD, _EPERM, _ENOSYS = 0x10000, 1, 38


def _filter(arch_name: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program: (code, jt, jf, k) instructions."""
    column = 0 if arch_name == "x86_64" else 1
    number = {name: numbers[column] for name, numbers in _SYSCALLS.items()
              if numbers[column] is not None}
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | _EPERM
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, _ARCH[arch_name]), (ret, 0, 0, 0x80000000),  # kill: wrong arch
            (ld, 0, 0, 0)]
    for name in _DENIED:
        if name in number:
            prog += [(jeq, 0, 1, number[name]), (ret, 0, 0, deny)]
    prog += [(jeq, 0, 1, number["clone3"]), (ret, 0, 0, 0x00050000 | _ENOSYS)]  # glibc falls back
    # ioctl(fd, request, ...): the flag-setting requests (low 32 bits of the second argument)
    checks = len(_DENIED_IOCTLS)
    prog += [(jeq, 0, checks + 3, number["ioctl"]), (ld, 0, 0, 24)]   # jf: past the block
    prog += [(jeq, checks - i, 0, request) for i, request in enumerate(_DENIED_IOCTLS)]
    prog += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    # clone: threads only (A still holds the call's number on every path that goes on).
    prog += [(jeq, 0, 4, number["clone"]), (ld, 0, 0, 16), (jset, 1, 0, _CLONE_THREAD),
             (ret, 0, 0, deny), (ret, 0, 0, allow)]
    # signals, limits: only this process (or 0: itself, or its group = itself).
    for name in _OWN_ONLY:
        prog += [(jeq, 0, 5, number[name]), (ld, 0, 0, 16), (jeq, 2, 0, pid),
                 (jeq, 1, 0, 0), (ret, 0, 0, deny), (ret, 0, 0, allow)]
    # priorities (which, who): `which` must name one process (PRIO_USER with who 0 would
    # be every process of this user), and `who` this one or 0.
    for name, one_process in _OWN_ONLY_WHO.items():
        prog += [(jeq, 0, 7, number[name]), (ld, 0, 0, 16), (jeq, 0, 3, one_process),
                 (ld, 0, 0, 24), (jeq, 2, 0, pid), (jeq, 1, 0, 0), (ret, 0, 0, deny),
                 (ret, 0, 0, allow)]
    prog.append((ret, 0, 0, allow))
    return prog


def seccomp() -> str:
    """Install the filter (for this process and any thread); a sentence saying what applied.
    Raises OSError with the reason where seccomp is unavailable."""
    if not LINUX or not portable.linux():
        raise OSError(f"seccomp is a Linux facility; this is {portable.system()}")
    arch = platform.machine()
    if arch not in _ARCH:
        raise OSError(f"no seccomp filter for the {arch} architecture")
    program = _filter(arch, os.getpid())
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw)

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Program(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    libc = load_libc()
    if libc.prctl(38, 1, 0, 0, 0) != 0:                       # PR_SET_NO_NEW_PRIVS
        raise OSError(f"PR_SET_NO_NEW_PRIVS failed: {os.strerror(ctypes.get_errno())}")
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC): every thread, now.
    if libc.syscall(317 if arch == "x86_64" else 277, 1, 1, ctypes.byref(prog)) != 0:
        raise OSError(f"seccomp failed: {os.strerror(ctypes.get_errno())}")
    return ("seccomp (no processes, programs, chmod/chown, file times, xattrs or inode "
            "flags, sockets, shared memory or queues, fallocate, io_uring; signals and limits "
            "for itself only)")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def apply(read: list[str], write: list[str], exclude: list[str] = (), hidden=()) -> dict:
    """Both walls, each independently; {"applied": [...], "missing": [reasons]}.
    `exclude`: folders never readable even if on sys.path (the kit itself), except a Python
    installation inside one (a virtualenv made in the kit's folder); `hidden`: paths inside
    readable folders that must stay unreadable (a library the exercise must do without, the
    source of the layers it asks the student to write), with every other copy of them this
    Python could reach (`hidden_everywhere`)."""
    applied, missing = [], []
    homes = [home for home in {sys.prefix, sys.exec_prefix}
             if not any(_inside(folder, home) for folder in exclude)]
    system = [p for p in system_read_paths()
              if not any(_inside(p, folder) for folder in exclude)
              or any(_inside(p, home) for home in homes)]
    readable = system + list(read)
    hidden = hidden_everywhere(hidden) + beneath_readable(exclude, system, read)
    for wall, arguments in ((landlock, (readable, list(write) + ["/dev/null"], hidden)),
                            (seccomp, ())):
        try:
            applied.append(wall(*arguments))
        except (OSError, AttributeError, ValueError) as error:
            missing.append(f"{wall.__name__}: {error}")
    return {"applied": applied, "missing": missing}


def beneath_readable(exclude, system: list[str], read) -> list[str]:
    """The excluded folders that lie inside a folder every process reads (a kit unpacked
    under /opt or /usr): leaving them off the read list is not enough there, so they are
    carved out like a hidden path. A folder the process is told to read (`read`), or one
    inside it, stays as `read` says; the read paths inside an excluded folder (a virtualenv
    made in the kit) keep their own rules."""
    real = [os.path.realpath(p) for p in system]
    reads = [os.path.realpath(p) for p in read]
    found = []
    for folder in map(os.path.realpath, exclude):
        if any(_inside(folder, p) and folder != p for p in real) and \
                not any(_inside(folder, r) for r in reads):
            found.append(folder)
    return found


def system_read_paths() -> list[str]:
    """What any Python process needs to read: the interpreter, its libraries, the system —
    and of /proc only this process's own entry and the machine-wide facts libraries read."""
    import site
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(
        sys.executable)), *site.getsitepackages(), sysconfig.get_paths()["stdlib"]}
    paths.update(p for p in sys.path if p and os.path.isdir(p))     # the user site when enabled
    paths.update(["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/sys", "/opt",
                  "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
                  f"/proc/{os.getpid()}", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
                  "/proc/sys/kernel", "/proc/sys/vm"])
    return sorted(paths)



def site_folders() -> list[str]:
    """Every folder this Python installs packages into: its own, the base installation's (a
    virtualenv's) and the user's, as real paths (only site-packages and dist-packages folders:
    on Windows `site` also names the installation's own folder)."""
    import site

    folders = set(site.getsitepackages()) | set(
        site.getsitepackages([sys.base_prefix, sys.base_exec_prefix]))
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        folders.add(user_site)
    return sorted({os.path.realpath(folder) for folder in folders
                   if os.path.basename(folder.rstrip("/\\")) in ("site-packages", "dist-packages")})


def hidden_everywhere(hidden) -> list[str]:
    """`hidden`, plus what else could hold another copy of it:
    - every package folder of this Python that is not on sys.path (a virtualenv's base
      installation, the user site under `python -s`), whole: nothing the process needs lies
      there, and a library hidden in the virtualenv may be installed there too;
    - the same path inside every other folder on sys.path or holding packages (a library
      hidden in the virtualenv, found again in the base installation it includes)."""
    on_path = [os.path.realpath(p) for p in sys.path if p]
    found = {os.path.realpath(h) for h in hidden}
    for folder in site_folders():
        if os.path.isdir(folder) and not any(_inside(p, folder) for p in on_path):
            found.add(folder)
    roots = sorted({p for p in on_path + site_folders() if os.path.isdir(p)}, key=len,
                   reverse=True)
    for path in sorted(found):
        root = next((r for r in roots if path.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is not None:
            relative = os.path.relpath(path, root)
            found.update(os.path.join(other, relative) for other in roots
                         if os.path.lexists(os.path.join(other, relative)))
    return sorted(found)


# -- the process's own limits and lifetime -------------------------------------------------
def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGKILL this process when the *thread* that started it ends."""
    load_libc().prctl(1, signal.SIGKILL, 0, 0, 0)


def exit_fork(code: int):
    """End a forked child at once: flush what it printed, then `os._exit` (never the atexit
    handlers and finalizers it inherited, which would act on its parent's behalf)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def limit_and_drop(memory_mb: int, output_mb: int, user, parent: int) -> None:
    """The student's process, first thing after fork (fresh worker before exec, or a fork of the
    zygote): its own session (a timeout kills its children too), the memory and file-size
    limits, `user` = (uid, gid) when not None, and death with `parent` — PR_SET_PDEATHSIG,
    set after setuid (which clears it); exits at once if `parent` is already gone."""
    import resource

    os.setsid()
    memory, output = int(memory_mb) * 2**20, int(output_mb) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    # no real-time scheduling and no priority above the others', whatever the system allows
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
    resource.setrlimit(resource.RLIMIT_NICE, (0, 0))
    if user is not None:
        os.setgroups([])
        os.setgid(int(user[1]))
        os.setuid(int(user[0]))
    drop_capabilities()
    die_with_parent()
    if os.getppid() != parent:
        os.write(2, b"rnnkit: the process that started this one is gone\n")
        os._exit(1)


_CAPABILITY_VERSION_3 = 0x20080522
# PR_SET_SECUREBITS: NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE, each
# with its lock: uid 0 gives no capabilities, not even after an exec
_SECUREBITS = 0b11111111


def drop_capabilities() -> None:
    """Give up every capability, for good (Linux; nothing to do where there are none).

    Student code that runs as root (a grader run by root with a Python under /root, which
    `nobody` cannot read) would otherwise keep them all: CAP_SYS_NICE to take the cores in
    real-time scheduling from the other job slot's grading, CAP_IPC_OWNER, CAP_SYS_RESOURCE,
    CAP_DAC_OVERRIDE. Landlock and seccomp do not depend on them. The bounding set is emptied
    and the secure bits locked first (so that no exec gives them back), then the effective,
    permitted, inheritable and ambient sets. Raises OSError if it had some and could not."""
    if not LINUX or not portable.linux():
        return
    libc = load_libc()
    try:
        with open("/proc/sys/kernel/cap_last_cap") as last:
            last_cap = int(last.read())
    except (OSError, ValueError):
        last_cap = 63
    if _effective_capabilities():
        for capability in range(last_cap + 1):
            libc.prctl(24, capability, 0, 0, 0)          # PR_CAPBSET_DROP
        libc.prctl(28, _SECUREBITS, 0, 0, 0)             # PR_SET_SECUREBITS
    libc.prctl(47, 4, 0, 0, 0)                           # PR_CAP_AMBIENT_CLEAR_ALL
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()                       # two (effective, permitted, inheritable)
    if libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0 or _effective_capabilities():
        raise OSError(f"could not give up capabilities: {os.strerror(ctypes.get_errno())}")


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


