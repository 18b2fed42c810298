"""Each class of attack of issue 7, tried by a planted submission through `grade-class`.

Every attack is written so that its success would cost points: at import the submission
tries to get through a wall and, if it gets through, sabotages its own (otherwise correct)
clip_by_global_norm. So the exact score proves the wall held, and the leftovers the test
looks for (a marker file, a changed mode, a surviving process) prove nothing escaped.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KIT_ROOT

EX02 = "ex02_bptt.py"
EX01 = "ex01_simple_rnn.py"
CLIP_POINTS = 6.0     # the three clip checks of ex02: what a successful escape gives away

# Each: code run at import; it must set ESCAPED = True when it got through.
ATTACKS = {
    "fork": "ESCAPED = os.fork() is not None   # a child would be a daemon; refused instead\n"
            "if ESCAPED and os.getpid() != PARENT:\n    os._exit(0)\n",
    "subprocess": "import subprocess\nsubprocess.run(['true'])\nESCAPED = True\n",
    "dev_shm": "open('/dev/shm/rnnkit-wall-marker', 'w').write('x')\nESCAPED = True\n",
    "chmod": "os.chmod('@VICTIM@', 0o777)\nESCAPED = True\n",
    "network": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\nESCAPED = True\n",
    "read_checks": "open('@KIT@/tests/grading/test_ex02.py').read()\nESCAPED = True\n",
    "read_references": "open('@KIT@/data/references/ex02.npz', 'rb').read()\nESCAPED = True\n",
    "import_oracles": "IMPORT('tests.grading.test_ex02')\nESCAPED = True\n",
    "import_grader": "IMPORT('rnnkit.grader.compare')\nESCAPED = True\n",
    "proc_of_grader": "open(f'/proc/{os.getppid()}/cmdline').read()\nESCAPED = True\n",
    "prlimit_grader": "import resource\n"
                      "resource.prlimit(os.getppid(), resource.RLIMIT_FSIZE, (0, 0))\n"
                      "ESCAPED = True\n",
    "tensorflow_by_name": "import pkgutil, sys\n"
                          "sys.meta_path[:] = [f for f in sys.meta_path\n"
                          "                    if type(f).__name__ != '_Blocker']\n"
                          "pkgutil.resolve_name('tensor' + 'flow')\nESCAPED = True\n",
    # a named unix socket of a local service (docker, D-Bus, a database) is a way out
    "unix_socket": "import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                   "ESCAPED = True\n",
    # PRIO_USER with who 0: every process of this user, not only itself
    "priority_of_user": "os.setpriority(os.PRIO_USER, 0, 0)\nESCAPED = True\n",
    # file metadata, which Landlock does not guard: a file's times and extended attributes
    # outside the walls, and inode flags (an immutable file, even in its own scratch folder,
    # could not be removed after grading)
    "times_outside": "os.utime('@VICTIM@', (1, 1))\nESCAPED = True\n",
    "xattr_outside": "os.setxattr('@VICTIM@', 'user.rnnkit', b'1')\nESCAPED = True\n",
    "inode_flags": "import fcntl, struct\nopen('flagged', 'w').close()\n"
                   "fcntl.ioctl(os.open('flagged', os.O_RDONLY), 0x40086602, struct.pack('l', 0x40))\n"
                   "ESCAPED = True\n",
    "io_uring": "import ctypes\nparams = ctypes.create_string_buffer(120)\n"
                "fd = ctypes.CDLL(None, use_errno=True).syscall(425, 8, params)\n"
                "ESCAPED = fd >= 0\n",
    # TensorFlow hidden where this Python found it, but also installed where it did not look:
    # a virtualenv's base installation (or the user site, under python -s)
    "tensorflow_in_another_installation":
        "import site, sys\n"
        "for folder in site.getsitepackages() + site.getsitepackages([sys.base_prefix]) + "
        "[site.getusersitepackages()]:\n"
        "    try:\n"
        "        open(os.path.join(folder, 'tensorflow', '__init__.py')).read()\n"
        "        ESCAPED = True\n"
        "    except OSError:\n"
        "        pass\n",
}
# What a student process running as root could do to the other job slot's grading or to the
# next one: take the cores in real-time scheduling, keep any capability, leave shared memory,
# semaphores or queues (outside every folder, outliving the process), or take gigabytes of
# disk in one call. Also planted in an ex01 module, whose student process is forked from the
# zygote (ex02's is started afresh, and the capabilities must not come back with its exec).
OUTLIVING = {
    "realtime": "os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))\nESCAPED = True\n",
    "priority_raised": "os.setpriority(os.PRIO_PROCESS, 0, -5)\nESCAPED = True\n",
    "capabilities": "ESCAPED = int(open('/proc/self/status').read().split('CapEff:')[1]"
                    ".split()[0], 16) != 0\n",
    "sysv_shm": "import ctypes\n"
                "ESCAPED = ctypes.CDLL(None).shmget(0x524E4B57, 4096, 0o1600) >= 0\n",
    "sysv_sem": "import ctypes\n"
                "ESCAPED = ctypes.CDLL(None).semget(0x524E4B57, 1, 0o1600) >= 0\n",
    "message_queue": "import ctypes, platform\n"
                     "number = 240 if platform.machine() == 'x86_64' else 180\n"
                     "ESCAPED = ctypes.CDLL(None).syscall(number, b'rnnkit-wall', 0o102, 0o600,"
                     " None) >= 0\n",
    "fallocate": "os.posix_fallocate(os.open('reserved', os.O_CREAT | os.O_WRONLY), 0, 1 << 20)\n"
                 "ESCAPED = True\n",
}
ATTACKS.update(OUTLIVING)
# The same, each in its own try, at the import of an otherwise correct ex01 module: any that
# gets through makes the import fail (every ex01 point lost).
OUTLIVING_IN_EX01 = "\n\nimport os\n_escaped = []\n" + "".join(
    f"try:\n{''.join('    ' + line + chr(10) for line in code.splitlines())}"
    f"    if ESCAPED:\n        _escaped.append({name!r})\nexcept Exception:\n    pass\n"
    for name, code in OUTLIVING.items()) + \
    "if _escaped:\n    raise RuntimeError(f'got through: {_escaped}')\n"
# 270 MB written in one quick call (well under the half second between two looks while a call
# runs): seen after the reply, the call fails.
QUICK_WRITES = """

_clip = clip_by_global_norm


def clip_by_global_norm(grads, max_norm):
    block = b"x" * (1 << 20)
    for index in range(3):
        with open(f"quick{index}", "wb") as handle:
            for _ in range(90):
                handle.write(block)
    return _clip(grads, max_norm)
"""
SABOTAGE = '''

import os
PARENT = os.getpid()
IMPORT = (__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__))["__import__"]
ESCAPED = False
try:
@ATTACK@
except Exception as error:   # noqa: BLE001 - the wall held
    print("wall held:", type(error).__name__, error)
    ESCAPED = False

_clip = clip_by_global_norm


def clip_by_global_norm(grads, max_norm):
    if ESCAPED:
        return grads, -1.0
    return _clip(grads, max_norm)
'''
CONFTEST = "open('@MARKER@', 'w').write('conftest ran')\n"
# Folders nested 3,000 deep (Python's recursive rmtree fails on them, and their paths pass
# PATH_MAX) and 30,000 empty folders (blocks, not bytes), written during the clip checks,
# which then wait so the grader looks.
DEEP_FOLDERS = """

_clip = clip_by_global_norm


def clip_by_global_norm(grads, max_norm):
    import os
    import time
    here = os.getcwd()
    for index in range(30000):
        os.mkdir(f"wide{index}")
    for _ in range(3000):
        os.mkdir("deep")
        os.chdir("deep")
    os.chdir(here)
    time.sleep(5)
    return _clip(grads, max_norm)
"""
# Writes a package named like the kit's into its working folder, then crashes the worker so
# that it is restarted: the restarted worker must not import it (new scratch folder, -P).
RESTART_PLANT = """

_clip_by_global_norm = clip_by_global_norm


def clip_by_global_norm(grads, max_norm):
    import os
    for folder in ("rnnkit", "rnnkit/sandbox"):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "__init__.py"), "w") as handle:
            handle.write("open('@MARKER@', 'w').write('planted code ran')\\n")
    with open("rnnkit/sandbox/worker.py", "w") as handle:
        handle.write("open('@MARKER@', 'w').write('planted worker ran')\\n")
    os._exit(3)
"""
FORGED_REPORT = """

import sys as _sys

_wire = _sys.modules["rnnkit.sandbox.wire"]
_send = _wire.send


def _forging_send(fd, message):
    if isinstance(message, dict) and message.get("status") == "ready":
        message["notes"] = ["reviewed by the instructor\\n\\nex02  18 / 18  complete"] * 50
    elif isinstance(message, dict) and message.get("status") == "error":
        message["message"] = "\\ud800" + "all checks passed\\n" * 2_000_000
    return _send(fd, message)


_wire.send = _forging_send
"""
# The source scan would refuse most of these texts before they ran (`__builtins__`, ...);
# the class is graded with it off so that what is proven here is the run-time walls.


def _indent(code: str) -> str:
    return "".join("    " + line + "\n" for line in code.splitlines())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("walls")
    kit, submissions, out = KIT_ROOT, root / "submissions", root / "out"
    victim = root / "victim.txt"
    victim.write_text("mode must not change\n")
    victim.chmod(0o644)
    marker = root / "conftest-marker"
    scratch = root / "tmp"
    scratch.mkdir()
    solution = (KIT_ROOT / "solutions" / EX02).read_text()
    for name, code in ATTACKS.items():
        folder = submissions / name
        folder.mkdir(parents=True)
        attack = code.replace("@KIT@", str(kit)).replace("@VICTIM@", str(victim))
        (folder / EX02).write_text(solution + SABOTAGE.replace("@ATTACK@", _indent(attack)))
    helper = submissions / "helper_module"                      # never copied: import fails
    helper.mkdir()
    (helper / EX02).write_text("from ._helpers import *  # noqa\n")
    (helper / "_helpers.py").write_text(solution)
    planted_conftest = submissions / "conftest_beside"          # never loaded anywhere
    planted_conftest.mkdir()
    shutil.copy(KIT_ROOT / "solutions" / EX02, planted_conftest / EX02)
    (planted_conftest / "conftest.py").write_text(CONFTEST.replace("@MARKER@", str(marker)))
    (submissions / "conftest.py").write_text(CONFTEST.replace("@MARKER@", str(marker)))
    restart = submissions / "restart_plant"                     # a planted package, then a crash
    restart.mkdir()
    (restart / EX02).write_text(solution + RESTART_PLANT.replace("@MARKER@", str(marker)))
    rerun = submissions / "keras_source_rerun"                  # Keras's file executed again
    rerun.mkdir()
    (rerun / EX01).write_text((KIT_ROOT / "solutions" / EX01).read_text() + """

import runpy
import site
import sys

# this Python's keras, and its base installation's (a virtualenv's), wherever one is readable
_denied = None
for _site in [os.path.dirname(os.path.dirname(keras.__file__))] + \\
        site.getsitepackages([sys.base_prefix]):
    try:
        _source = os.path.join(_site, "keras", "src", "layers", "rnn", "simple_rnn.py")
        SimpleRNNCell = runpy.run_path(_source)["SimpleRNN" + "Cell"]
        break
    except PermissionError as error:
        _denied = _denied or error
    except FileNotFoundError:
        pass
else:
    raise _denied
""")
    deep = submissions / "deep_folders"                         # disk use the walls must see
    deep.mkdir()
    (deep / EX02).write_text(solution + DEEP_FOLDERS)
    quick = submissions / "quick_writes"
    quick.mkdir()
    (quick / EX02).write_text(solution + QUICK_WRITES)
    forked = submissions / "outliving_from_the_zygote"
    forked.mkdir()
    (forked / EX01).write_text((KIT_ROOT / "solutions" / EX01).read_text() + OUTLIVING_IN_EX01)
    forged = submissions / "forged_report"                      # the worker's messages rewritten
    forged.mkdir()
    (forged / EX02).write_text((KIT_ROOT / "solutions" / EX02).read_text() + FORGED_REPORT)
    delegate = submissions / "keras_by_built_name"              # ex01 handed to Keras
    delegate.mkdir()
    (delegate / EX01).write_text((KIT_ROOT / "solutions" / EX01).read_text() + '''

SimpleRNNCell = getattr(layers, "SimpleRNN" + "Cell")
''')
    completed = subprocess.run(
        [sys.executable, "-m", "rnnkit", "grade-class", str(submissions), "--out", str(out),
         "--jobs", "2", "--exercises", "ex01", "ex02"],
        cwd=kit, capture_output=True, text=True, timeout=1500,
        env={**os.environ, "RNNKIT_SOURCE_SCAN": "off",    # the walls alone, not the scan
             "TMPDIR": str(scratch)})                      # where student folders are made
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    documented = subprocess.run(   # the documented plain-pytest route, on the same folder
        [sys.executable, "-m", "pytest", "tests/grading/test_ex02.py", "--target",
         str(planted_conftest), "-q", "-p", "no:randomly"],
        cwd=kit, capture_output=True, text=True, timeout=600)
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "out": out, "marker": marker, "victim": victim,
            "documented": documented, "scratch": scratch}


def _document(graded, name):
    return json.loads((graded["out"] / "students" / name / "results.json").read_text())


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_wall_holds_and_the_submission_keeps_its_points(graded, attack):
    row = graded["rows"][attack]
    assert float(row["ex02"]) == 18.0, (attack, row, [t["output"] for t in _document(
        graded, attack)["tests"] if t["score"] < t["max_score"]])


def test_a_student_process_forked_from_the_zygote_reaches_nothing_that_outlives_it(graded):
    row = graded["rows"]["outliving_from_the_zygote"]
    assert float(row["ex01"]) == 22.5, (row, _document(graded, "outliving_from_the_zygote")
                                        ["output"][-1500:])


def test_a_quick_burst_of_writes_is_seen_after_the_reply(graded):
    document = _document(graded, "quick_writes")
    lost = [t["output"] for t in document["tests"]
            if t["tags"][0] == "ex02" and t["score"] < t["max_score"]]
    assert lost and all("more than 200 MB" in output for output in lost), lost


def test_nothing_is_left_behind(graded):
    assert not Path("/dev/shm/rnnkit-wall-marker").exists()
    assert graded["victim"].stat().st_mode & 0o777 == 0o644
    assert graded["victim"].stat().st_mtime > 1e9                  # not the planted 1 s
    assert "user.rnnkit" not in os.listxattr(graded["victim"])
    assert not graded["marker"].exists(), "a conftest.py from a submission ran"


def test_a_conftest_beside_the_modules_is_never_loaded(graded):
    assert float(graded["rows"]["conftest_beside"]["ex02"]) == 18.0
    assert graded["documented"].returncode == 0, graded["documented"].stdout[-2000:]
    assert not graded["marker"].exists()


def test_a_package_planted_before_a_crash_is_not_imported_by_the_restarted_worker(graded):
    """The three clip checks crash (os._exit) and cost their points; every restart starts in
    a new scratch folder, so the planted `rnnkit` package is never imported."""
    assert float(graded["rows"]["restart_plant"]["ex02"]) == 18.0 - CLIP_POINTS
    assert not graded["marker"].exists()


def test_a_helper_module_is_not_part_of_the_submission(graded):
    document = _document(graded, "helper_module")
    ex02 = [t for t in document["tests"] if t["tags"][0] == "ex02"]
    assert sum(t["score"] for t in ex02) == 0
    assert all("_helpers" in t["output"] for t in ex02), ex02[0]["output"]


def test_keras_source_run_again_is_out_of_reach(graded):
    document = _document(graded, "keras_source_rerun")
    ex01 = [t for t in document["tests"] if t["tags"][0] == "ex01"]
    assert sum(t["score"] for t in ex01) == 0
    assert all("Permission denied" in t["output"] for t in ex01), ex01[0]["output"]


def test_forged_worker_messages_cannot_write_the_report(graded):
    path = graded["out"] / "students" / "forged_report" / "results.json"
    document = json.loads(path.read_text())
    assert path.stat().st_size < 200_000
    assert float(graded["rows"]["forged_report"]["ex02"]) == 18.0   # correct code, nothing lost
    assert "reviewed by the instructor" not in path.read_text()
    assert "reviewed by the instructor" not in \
        (graded["out"] / "students" / "forged_report" / "report.txt").read_text()
    assert document["score"] == 18.0


def test_keras_reached_by_a_name_built_at_run_time_earns_nothing(graded):
    document = _document(graded, "keras_by_built_name")
    # every check of the cell: the quiz's answers (official-only, the student's own and right
    # here) owe nothing to the cell
    ex01 = [t for t in document["tests"] if t["tags"][0] == "ex01" and "Quiz:" not in t["name"]]
    assert sum(t["score"] for t in ex01) == 0
    assert any("not available while this exercise is graded" in t["output"] for t in ex01)


def test_no_process_of_a_submission_survives(graded):
    """No process that graded these submissions (whose command line names their folder) is
    left once grade-class has returned."""
    root = str(graded["out"].parent).encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            assert root not in cmdline, cmdline


def test_folders_count_by_their_blocks_and_depth_and_are_all_removed(graded):
    """The clip checks (6 points) are stopped when the grader sees what they wrote; every
    student folder, 3,000 levels deep included, is gone after grading."""
    assert float(graded["rows"]["deep_folders"]["ex02"]) == 18.0 - CLIP_POINTS
    document = _document(graded, "deep_folders")
    lost = [t for t in document["tests"] if t["score"] < t["max_score"]
            and t["tags"][0] == "ex02"]
    assert len(lost) == 3 and all("the code wrote" in t["output"] for t in lost), lost
    assert not list(graded["scratch"].glob("rnnkit-student-*")), \
        sorted(p.name for p in graded["scratch"].iterdir())


def test_keras_conv_lstm_cell_is_walled_off_with_lstm(tmp_path):
    """Keras's ConvLSTM layers carry an LSTM cell of their own; in ex03 (and wherever Keras's
    LSTM is walled off) their code is replaced like LSTM's."""
    from rnnkit.course import BY_ID
    from rnnkit.grader.session import sandbox_config
    from rnnkit.grader.handles.process import StudentError, StudentProcess

    (tmp_path / "ex01_simple_rnn.py").write_text((KIT_ROOT / "solutions" / EX01).read_text())
    (tmp_path / "ex03_gated_cells.py").write_text(
        (KIT_ROOT / "solutions" / "ex03_gated_cells.py").read_text() + """

from keras.src.layers.rnn import conv_lstm as _conv_lstm
_conv_lstm.ConvLSTMCell.call(None, np.zeros((1, 3, 2), "float32"),
                             [np.zeros((1, 3, 2), "float32")] * 2)   # as a borrowed function
""")
    exercise = BY_ID["ex03"]
    config = sandbox_config(exercise)
    with StudentProcess(tmp_path, exercise.module, config=config, copy=config["copy"]) as proc:
        with pytest.raises(StudentError) as refused:
            proc.call("rnnkit.probes.cells", "as_list", {"value": 1}, seed=0,
                      timeout=60)
    assert refused.value.kind == "import_error"
    assert "keras.layers.ConvLSTM1D is not available while this exercise is graded" \
        in refused.value.message, refused.value.message


@pytest.mark.parametrize("use", [
    "keras.layers.AdditiveAttention(use_scale=True)([np.ones((1, 2, 3), 'float32')] * 2)",
    "from tensorflow.python.keras.layers import dense_attention as _d\n"
    "_d.BaseDenseAttention._apply_scores(None, None, None)",     # Keras 2's, borrowed
])
def test_keras_attention_is_walled_off_in_ex10(tmp_path, use):
    """ex10 asks for additive attention: Keras's (and TensorFlow's Keras 2's) attention code
    refuses to run in its student process."""
    from rnnkit.course import BY_ID
    from rnnkit.grader.session import sandbox_config
    from rnnkit.grader.handles.process import StudentError, StudentProcess

    for name in (EX01, "ex03_gated_cells.py"):
        (tmp_path / name).write_text((KIT_ROOT / "solutions" / name).read_text())
    (tmp_path / "ex10_attention.py").write_text(
        (KIT_ROOT / "solutions" / "ex10_attention.py").read_text() + f"\n\n{use}\n")
    exercise = BY_ID["ex10"]
    config = sandbox_config(exercise)
    with StudentProcess(tmp_path, exercise.module, config=config, copy=config["copy"]) as proc:
        with pytest.raises(StudentError) as refused:
            proc.call("rnnkit.probes.cells", "as_list", {"value": 1}, seed=0, timeout=60)
    assert refused.value.kind == "import_error"
    assert "is not available while this exercise is graded" in refused.value.message, \
        refused.value.message


def _landlock_or_skip():
    from rnnkit.sandbox import walls

    try:
        walls.landlock_abi()
    except OSError as error:
        pytest.skip(str(error))


def test_a_link_to_a_folder_holding_a_hidden_path_does_not_open_it(tmp_path):
    """A virtualenv's `lib64 -> lib`: a read rule given to the link followed it and opened all
    of `lib`, the hidden source of Keras's recurrent layers included (ex01 got 19/20 by running
    it again, under a virtualenv). The hidden file stays unreadable by either path."""
    _landlock_or_skip()
    root = tmp_path / "venv"
    (root / "lib" / "pkg").mkdir(parents=True)
    (root / "lib" / "pkg" / "hidden.py").write_text("secret\n")
    (root / "lib" / "pkg" / "open.py").write_text("fine\n")
    (root / "lib64").symlink_to("lib")
    code = f"""
import sys
sys.path.insert(0, {str(KIT_ROOT)!r})
from rnnkit.sandbox import walls
walls.landlock([{str(root)!r}], [], hidden=[{str(root / "lib" / "pkg" / "hidden.py")!r}])
for path in ("lib/pkg/open.py", "lib64/pkg/open.py", "lib/pkg/hidden.py", "lib64/pkg/hidden.py"):
    try:
        open({str(root)!r} + "/" + path).read()
        print(path, "read")
    except PermissionError:
        print(path, "denied")
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split("\n")[:4] == [
        "lib/pkg/open.py read", "lib64/pkg/open.py read", "lib/pkg/hidden.py denied",
        "lib64/pkg/hidden.py denied"], completed.stdout


def test_a_kit_inside_a_folder_every_process_reads_stays_unreadable(tmp_path):
    """The kit is excluded from what the student's process reads, but a kit unpacked under
    /opt or /usr lies inside a folder every Python process must read: leaving it off the read
    list left it readable there. It is carved out like a hidden path; the rest of that folder,
    and a folder the process is told to read inside the kit, stay readable."""
    _landlock_or_skip()
    shared = tmp_path / "opt"
    kit = shared / "kit"
    (kit / "solutions").mkdir(parents=True)
    (kit / "solutions" / "answer.py").write_text("secret\n")
    (kit / "library").mkdir()
    (kit / "library" / "given.py").write_text("fine\n")
    (shared / "other").mkdir()
    (shared / "other" / "tool.py").write_text("fine\n")
    code = f"""
import sys
sys.path.insert(0, {str(KIT_ROOT)!r})
from rnnkit.sandbox import walls
walls.system_read_paths = lambda: [{str(shared)!r}]
print(walls.apply(read=[{str(kit / "library")!r}], write=[], exclude=[{str(kit)!r}])["missing"])
for path in ("other/tool.py", "kit/library/given.py", "kit/solutions/answer.py"):
    try:
        open({str(shared)!r} + "/" + path).read()
        print(path, "read")
    except PermissionError:
        print(path, "denied")
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.split("\n")
    assert lines[0].startswith("[]") or "landlock" not in lines[0], lines[0]
    assert lines[1:4] == ["other/tool.py read", "kit/library/given.py read",
                          "kit/solutions/answer.py denied"], completed.stdout


def _imported_in_student_process(folder, exercise_id):
    """Start the student's process of `exercise_id` on `folder`: None when the module was
    imported, else the import's StudentError."""
    from rnnkit.course import BY_ID
    from rnnkit.grader.handles.process import StudentError, StudentProcess
    from rnnkit.grader.session import sandbox_config

    exercise = BY_ID[exercise_id]
    config = sandbox_config(exercise)
    with StudentProcess(folder, exercise.module, config=config, copy=config["copy"]) as proc:
        try:
            proc.call("rnnkit.probes.cells", "as_list", {"value": 1}, seed=0, timeout=60)
        except StudentError as error:
            return error if error.kind == "import_error" else None
    return None


def test_in_later_exercises_keras_s_cells_stand_in_and_only_the_layers_are_walled(tmp_path):
    """ex05 (like ex04-ex09) keeps Keras's LSTMCell and GRUCell, which stand in for an
    unfinished ex03, and TensorFlow's fused cell step with them; Keras's LSTM and GRU layers,
    the backend's whole-layer functions and the fused whole-sequence op are walled off, also
    when the op's name is a str or bytes subclass whose == says no (both ran the op before:
    the attacker's ex03 scored 13/27 with LSTMBlockCell named so)."""
    for name in ("ex01_simple_rnn.py", "ex03_gated_cells.py", "ex05_sentiment.py"):
        (tmp_path / name).write_text((KIT_ROOT / "solutions" / name).read_text())
    with open(tmp_path / "ex05_sentiment.py", "a") as module:
        module.write("""

import sys as _sys

import numpy as _np
import tensorflow as _tf

_x, _h, _z = _np.ones((2, 3), "float32"), _np.zeros((2, 4), "float32"), _np.zeros(4, "float32")
_W, _b = _np.full((7, 16), 0.1, "float32"), _np.zeros(16, "float32")
_cell = dict(x=_x, cs_prev=_h, h_prev=_h, w=_W, wci=_z, wcf=_z, wco=_z, b=_b, forget_bias=0.0,
             cell_clip=-1.0, use_peephole=False)
_keras_lstm_cell = keras.layers.LSTMCell(4)
_keras_lstm_cell(_x, [_h, _h])                                    # stands in: it runs
keras.layers.GRUCell(4)(_x, [_h])
_tf.raw_ops.LSTMBlockCell(**_cell)                                # the fused step: a cell


class _Name(str):       # a name that answers == as it likes (the attacker's: LSTMBlockCell ran)
    __hash__ = str.__hash__

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True


class _Bytes(bytes):
    __hash__ = bytes.__hash__

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True


from tensorflow.python.eager import context as _context, execute as _execute


def _by_name(name):
    args = [_np.int64(1), _x[None], _h, _h, _W, _z, _z, _z, _b]
    return _execute.execute(name, 7, [_tf.convert_to_tensor(a) for a in args],
                            ("forget_bias", 0.0, "cell_clip", -1.0, "use_peephole", False,
                             "T", 1), _context.context())


_WALLED = {
    "BlockLSTM named by a str subclass": lambda: _by_name(_Name("BlockLSTM")),
    "BlockLSTM named by a bytes subclass": lambda: _by_name(_Bytes(b"BlockLSTM")),
    "keras.layers.LSTM": lambda: keras.layers.LSTM(4),
    "keras.layers.GRU": lambda: keras.layers.GRU(4),
    "the backend's lstm": lambda: _sys.modules["keras.src.backend.tensorflow.rnn"].lstm(
        _x[:, None], _h, _h, None, _W[:3], _W[3:], _b, keras.activations.tanh,
        keras.activations.sigmoid),
    "tf.raw_ops.BlockLSTM": lambda: _tf.raw_ops.BlockLSTM(seq_len_max=_np.int64(1), x=_x[None],
                                                          **{k: v for k, v in _cell.items()
                                                             if k != "x"}),
}
_through = []
for _name, _attempt in _WALLED.items():
    try:
        _attempt()
        _through.append(_name)
    except RuntimeError as _error:
        if "not available while this exercise is graded" not in str(_error):
            _through.append(_name)
    except Exception:   # noqa: BLE001 - reached the built-in code
        _through.append(_name)
if _through:
    raise RuntimeError(f"not walled off: {_through}")
""")
    refused = _imported_in_student_process(tmp_path, "ex05")
    assert refused is None, refused.message


def test_no_other_module_holds_tensorflows_entry_points():
    """The name filter of rnnkit.sandbox.built_ins replaces TensorFlow's per-op entry points in
    the modules it names; were another module to hold one too (`from ... import
    TFE_Py_Execute`), an op could be run by name around the filter."""
    from rnnkit.sandbox import built_ins

    code = f"""
import sys
sys.path.insert(0, {str(KIT_ROOT)!r})
import keras, tensorflow
from rnnkit.sandbox import built_ins
originals = {{id(getattr(sys.modules[m], n)): n for m, n, _ in built_ins.ENTRY_POINTS}}
for name, module in list(sys.modules.items()):
    for key, value in list(getattr(module, "__dict__", {{}}).items()):
        if id(value) in originals:
            print(name, key)
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    declared = {(holder, name) for module, name, _ in built_ins.ENTRY_POINTS
                for holder in (module,) + built_ins.ENTRY_POINT_ALIASES.get(module, ())}
    found = {tuple(line.split()) for line in completed.stdout.splitlines() if line.strip()}
    assert found == declared, found ^ declared


def test_every_walled_function_lives_in_a_module_whose_reimport_is_refused():
    """The worker refuses a fresh import of built_ins.MODULES wherever anything is walled (it
    would rebuild what the wall covers): every function the wall refuses, for any exercise,
    lives in one of them."""
    from rnnkit.course import EXERCISES
    from rnnkit.sandbox import built_ins

    names = set().union(*(exercise.built_ins for exercise in EXERCISES))
    functions = built_ins.walled(names)
    outside = {f"{f.__module__}.{f.__qualname__}" for f in functions
               if not any(f.__module__ == module or f.__module__.startswith(module + ".")
                          for module in built_ins.MODULES)}
    # 242 functions on Keras 3.15.1 and TensorFlow 2.21: under 200 would mean a class or an
    # op module was no longer found (renamed by an upgrade), and the wall silently smaller
    assert len(functions) > 200 and not outside, (len(functions), outside)
