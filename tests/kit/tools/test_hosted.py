"""The Gradescope bundle, run the way Gradescope runs it.

`python -m rnnkit gradescope --exercises ex02` writes a bundle; it is unpacked into a laid-out
/autograder (AUTOGRADER_ROOT, a new folder in /tmp), and its `setup.sh` runs as root with this
machine's Debian system Python (/usr/bin/python3: 3.11, externally managed, PEP 668) as the
only Python on PATH. setup.sh makes a virtual environment of its own and really pip installs
the grading packages into it, with pip configured as on this machine (a local wheel mirror of
PyPI here: ~25 s; straight from PyPI, ~600 MB, it took 31 s here too). Then `run_autograder`
grades submissions as root, as Gradescope does, and student code runs as `nobody`: Debian's
Python and the new venv are readable by it (the privilege drop a hosted image triggers).

Graded through the bundle: the reference (full marks), and planted submissions with exact
scores whose refusals are named in results.json — a report of the user student code runs
as, forging `$ROOT/results/results.json` (and a daemon to do it later), conftest.py and packages
planted beside the module, reading the bundle's solutions, killing the grader.

Not exercised here: apt installing a Python on a real Ubuntu or Debian image (stubs of
apt-get and apt-cache stand in, below), the deadsnakes PPA, the `python3.X-venv` install when
a Python lacks ensurepip, and Gradescope's own harness (it unzips, runs the two scripts, reads
results.json). Time: 2.5 minutes here with the 2-core machine busy with other work (setup.sh
85 s of it, ~25 s when idle; then six gradings of ex02, two at a time, ~10 s each).
"""
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import KIT_ROOT, load_catalogue, run_cli

import planted
from planted import (ALL_EX02, BY_NAME, CLIP, DROPS_CARRY, EVIL_CONFTEST, EX02, FORGED,
                     SEQUENCE, Append, Insert, Plant, reports_uid)
from rnnkit.grader import secret
from rnnkit.tools.gradescope import GRADING_PACKAGES, REQUIREMENTS, grading_requirements, setup_script
from planted import assert_scored_as_declared

SYSTEM_PYTHON = Path("/usr/bin/python3")
CLEAN_PATH = "/usr/bin:/bin"          # no pyenv, no /usr/local: the system's Python only
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:
    NOBODY = None


def clean_env(root: Path, **extra) -> dict:
    """The machine's environment without any Python's (pyenv, venv) and PATH cut down."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV", "CONDA", "RNNKIT_"))}
    env.update({"PATH": CLEAN_PATH, "AUTOGRADER_ROOT": str(root), **extra})
    return env


def system_python_version() -> str:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"no system Python at {SYSTEM_PYTHON}")
    return subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print('%d.%d.%d' % "
                           "sys.version_info[:3])"], capture_output=True, text=True,
                          check=True).stdout.strip()


# -- the bundle's contents (no grading) ---------------------------------------------------------
def test_bundle_holds_what_grading_needs_and_nothing_more(tmp_path):
    bundle = tmp_path / "autograder.zip"
    completed = run_cli("gradescope", "--out", bundle, "--exercises", "ex01", "ex02")
    assert completed.returncode == 0, completed.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        for script in ("setup.sh", "run_autograder"):                 # at the root, executable
            assert stat.S_IMODE(archive.getinfo(script).external_attr >> 16) & 0o111
        assert not any(n.startswith(("tests/kit/", "exercises/", ".git/")) for n in names)
        assert {"solutions/ex02_bptt.py", "data/references/manifest.json", "pyproject.toml",
                REQUIREMENTS} <= names
        solutions = {n for n in names if n.startswith("solutions/")}
        recordings = {n for n in solutions if n.startswith("solutions/official-references/")}
        assert solutions - recordings == {
            "solutions/__init__.py", "solutions/ex01_simple_rnn.py", "solutions/ex02_bptt.py",
            "solutions/course.secret"}, solutions    # not the other answers; the secret
        assert all(n.rsplit("/", 1)[1] in ("manifest.json", "ex01.npz", "ex02.npz")
                   for n in recordings), recordings   # the official recordings it grades with
        held = secret.load()
        assert json.loads(archive.read("solutions/course.secret"))["key"] == held.key.hex()
        pins = archive.read(REQUIREMENTS).decode().split()
        assert 'EXERCISES="ex01 ex02"' in archive.read("run_autograder").decode()
    assert [p.split("==")[0] for p in pins if "==" in p] == list(GRADING_PACKAGES)
    kit_pins = (KIT_ROOT / "requirements.txt").read_text()
    assert all(pin in kit_pins for pin in pins if "==" in pin)          # one source of versions
    assert not {"tensorflow-datasets", "nltk"} & {p.split("==")[0] for p in pins}
    refused = run_cli("gradescope", "--out", tmp_path / "x.zip", "--exercises", "ex99")
    assert refused.returncode == 2 and "unknown exercise ex99" in refused.stderr


# -- setup.sh's choice of Python, with stubs (fast: no pip install) -----------------------------
def _stub_bin(folder: Path) -> Path:
    """A PATH folder with the few tools setup.sh uses and a `python3` that is Python 3.10."""
    folder.mkdir(parents=True)
    for tool in ("id", "grep", "rm", "chmod", "tail"):
        os.symlink(shutil.which(tool, path=CLEAN_PATH), folder / tool)
    python310 = folder / "python3"
    python310.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.10.12'\nexit 1\n")
    python310.chmod(0o755)
    return folder


def _lay_out_setup(root: Path) -> Path:
    (root / "source").mkdir(parents=True)
    (root / "source" / "setup.sh").write_text(setup_script())
    (root / "source" / REQUIREMENTS).write_text(grading_requirements())
    return root / "source" / "setup.sh"


def test_setup_without_a_suitable_python_says_so_and_fails(tmp_path):
    script = _lay_out_setup(tmp_path / "autograder")
    stubs = _stub_bin(tmp_path / "bin")                  # python3 is 3.10; no apt-get at all
    completed = subprocess.run(["/bin/bash", str(script)], capture_output=True, text=True,
                               env=clean_env(tmp_path / "autograder", PATH=str(stubs)),
                               timeout=60)
    assert completed.returncode != 0
    assert "setup.sh: no Python 3.11-3.13 found" in completed.stderr, completed.stderr
    assert not (tmp_path / "autograder" / "venv").exists()
    wrong = subprocess.run(["/bin/bash", str(script)], capture_output=True, text=True,
                           env=clean_env(tmp_path / "autograder", PATH=str(stubs),
                                         RNNKIT_PYTHON=str(stubs / "python3")), timeout=60)
    assert wrong.returncode != 0 and "is not a CPython 3.11-3.13" in wrong.stderr


@pytest.mark.skipif(not AS_ROOT, reason="setup.sh uses apt only as root")
def test_setup_installs_a_python_with_apt_when_the_image_has_none(tmp_path):
    """Ubuntu 22.04's case: python3 is 3.10 and apt offers python3.11. Stubs of apt-get and
    apt-cache log what they are asked; "installing" python3.11 links the real Debian one.
    pip is then pointed at an empty index, so the run ends at the install step, which must
    fail with its own message (the real install is the next test's)."""
    version = system_python_version()
    script = _lay_out_setup(tmp_path / "autograder")
    stubs = _stub_bin(tmp_path / "bin")
    log = tmp_path / "apt.log"
    (stubs / "apt-get").write_text(f"""#!/bin/sh
echo "apt-get $*" >>{log}
case " $* " in *" install "*python3.11*) /bin/ln -sf {SYSTEM_PYTHON.resolve()} {stubs}/python3.11;; esac
""")
    (stubs / "apt-cache").write_text("""#!/bin/sh
echo "$2:"
case "$2" in python3.11|python3.11-venv) echo "  Candidate: 3.11.2-6+deb12u6";;
             *) echo "  Candidate: (none)";; esac
""")
    for stub in ("apt-get", "apt-cache"):
        (stubs / stub).chmod(0o755)
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    completed = subprocess.run(
        ["/bin/bash", str(script)], capture_output=True, text=True, timeout=300,
        env=clean_env(tmp_path / "autograder", PATH=str(stubs), PIP_CONFIG_FILE=os.devnull,
                      PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty)))
    assert log.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv"]
    assert f"setup.sh: using Python {version} ({stubs}/python3.11)" in completed.stdout, \
        completed.stdout + completed.stderr
    venv = tmp_path / "autograder" / "venv"
    assert (venv / "pyvenv.cfg").is_file() and (venv / "bin" / "python").exists()
    assert completed.returncode != 0
    assert f"setup.sh: pip could not install {REQUIREMENTS}" in completed.stderr


def test_run_autograder_without_its_venv_still_writes_results(tmp_path):
    """setup.sh failed when the image was built: Gradescope still gets a results.json."""
    from rnnkit.tools.gradescope import run_script

    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "run_autograder").write_text(run_script(["ex02"]))
    completed = subprocess.run(["/bin/bash", str(root / "source" / "run_autograder")],
                               capture_output=True, text=True, env=clean_env(root), timeout=60)
    assert completed.returncode != 0
    document = json.loads((root / "results" / "results.json").read_text())
    assert document["score"] == 0 and "setup.sh failed" in document["output"]


# -- the bundle installed for real, then grading submissions ------------------------------------
HOSTED_PLANTS = [
    BY_NAME["ex02_reference"],
    reports_uid("hosted_uid", NOBODY),                # nobody, not root
    Plant("hosted_results_writer", "writing $ROOT/results/results.json with full marks: at "
          "import (caught), from a forked daemon, and in clip_by_global_norm (uncaught)",
          # 18-6: the write in clip_by_global_norm raises PermissionError in its three checks
          {"ex02": 12.0}, CLIP, "Permission denied",
          (Append(EX02, '''
              import os


              def _forge():
                  import json

                  with open("@ROOT@/results/results.json", "w") as handle:
                      json.dump({"score": 1000.0, "output": "@FORGED@"}, handle)   # all Gradescope needs


              try:
                  _forge()
              except OSError as error:
                  print("could not forge:", error)
              try:
                  if os.fork() == 0:   # a daemon that would rewrite it once grading is over
                      import time

                      for _ in range(300):
                          try:
                              _forge()
                          except OSError:
                              pass
                          time.sleep(0.1)
                      os._exit(0)
              except OSError as error:
                  print("no daemon:", error)
          '''.replace("@FORGED@", FORGED)), Insert(EX02, "clip_by_global_norm", "_forge()"))),
    Plant("hosted_planted_files", "conftest.py, tests/grading/, a fake rnnkit package, numpy.py, "
          "pytest.py and sitecustomize.py beside the module (each would forge or break the "
          "score): none is copied, collected or imported",
          # 14, like ex02_drops_carry: only ex02_bptt.py is graded
          {"ex02": 14.0}, SEQUENCE[1:], "same cause as 'rnn_backward equals autodiff",
          (DROPS_CARRY,), every=False),
    Plant("hosted_read_solutions", "reading the bundle's solution file "
          "($ROOT/source/solutions/ex02_bptt.py, private to root)",
          # 18-6: open() raises PermissionError in the three clip checks
          {"ex02": 12.0}, CLIP, "Permission denied",
          (Insert(EX02, "clip_by_global_norm",
                  'open("@ROOT@/source/solutions/ex02_bptt.py").read()'),)),
    BY_NAME["ex02_kill_grader"],
]
MARKER = "planted-file-ran"           # what a planted file writes into $ROOT if it ever runs
_RUN_MARKER = ('import pathlib\npathlib.Path("@ROOT@", "' + MARKER + '").write_text("ran")\n')
PLANTED_FILES = {                     # beside ex02_bptt.py in hosted_planted_files
    "conftest.py": _RUN_MARKER + EVIL_CONFTEST,
    "tests/__init__.py": "",
    "tests/grading/__init__.py": "",
    "tests/grading/conftest.py": _RUN_MARKER + EVIL_CONFTEST,
    "tests/grading/test_ex02.py": _RUN_MARKER + "def test_everything():\n    pass\n",
    "rnnkit/__init__.py": _RUN_MARKER,
    "rnnkit/sandbox/__init__.py": _RUN_MARKER,
    "rnnkit/sandbox/worker.py": _RUN_MARKER + "def main(argv):\n    raise SystemExit(0)\n",
    "numpy.py": _RUN_MARKER + "raise ImportError('the planted numpy')\n",
    "pytest.py": _RUN_MARKER,
    "sitecustomize.py": _RUN_MARKER,
}


class Hosted:
    """An /autograder laid out from the bundle, after setup.sh."""

    def __init__(self, root: Path, setup, seconds: float):
        self.root, self.setup, self.setup_seconds = root, setup, seconds
        self.venv = root / "venv"

    def layout(self, name: str) -> Path:
        """The /autograder of one submission. The first is the real one; the others (graded
        at the same time, as two Gradescope containers would) share its source and venv."""
        if name == HOSTED_PLANTS[0].name:
            return self.root
        root = self.root / "runs" / name
        (root / "submission").mkdir(parents=True)
        os.symlink(self.root / "source", root / "source")
        for folder in (self.root / "runs", root):
            folder.chmod(0o711)                     # traversable, as setup.sh leaves /autograder
        return root

    def run_autograder(self, root: Path):
        env = clean_env(root) if root == self.root else clean_env(root, RNNKIT_VENV=str(self.venv))
        started = time.monotonic()
        completed = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root,
                                   env=env, capture_output=True, text=True, timeout=1200)
        return completed, time.monotonic() - started


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    version = system_python_version()
    if not (3, 11) <= tuple(map(int, version.split(".")[:2])) <= (3, 13):
        pytest.skip(f"the system Python is {version}; the bundle needs 3.11-3.13")
    bundle = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    completed = run_cli("gradescope", "--out", bundle, "--exercises", "ex02")
    assert completed.returncode == 0, completed.stderr
    # not under pytest's tmp folder (private to root): /autograder's parents are traversable
    root = Path(tempfile.mkdtemp(prefix="rnnkit-autograder-", dir="/tmp"))
    try:
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(root / "source")
        (root / "submission").mkdir()
        started = time.monotonic()
        setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root,
                               env=clean_env(root), capture_output=True, text=True, timeout=1800)
        seconds = time.monotonic() - started
        print(f"\nsetup.sh took {seconds:.0f} s")
        assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
        yield Hosted(root, setup, seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(["ex02"])


@pytest.fixture(scope="module")
def graded(hosted):
    """Every hosted plant through run_autograder, two at a time: {name: (root, completed,
    results document or None, seconds)}."""
    def one(plant):
        root = hosted.layout(plant.name)
        context = {"KIT": root / "source", "OUT": root / "results", "ROOT": root}
        planted.write_sources(plant, root / "submission", context)
        if plant.name == "hosted_planted_files":
            for name, text in PLANTED_FILES.items():
                path = root / "submission" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text.replace("@ROOT@", str(root)))
        completed, seconds = hosted.run_autograder(root)
        results = root / "results" / "results.json"
        document = json.loads(results.read_text()) if results.is_file() else None
        print(f"{plant.name}: graded in {seconds:.0f} s")
        return plant.name, (root, completed, document, seconds)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, HOSTED_PLANTS))


def test_setup_makes_a_venv_of_its_own_from_the_externally_managed_system_python(hosted):
    version = system_python_version()
    assert f"setup.sh: using Python {version} ({SYSTEM_PYTHON})" in hosted.setup.stdout
    stdlib = subprocess.run([SYSTEM_PYTHON, "-c", "import sysconfig; print(sysconfig."
                             "get_path('stdlib'))"], capture_output=True, text=True).stdout.strip()
    assert Path(stdlib, "EXTERNALLY-MANAGED").is_file()    # pip into it would be refused
    config = (hosted.venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in config and f"version = {version}" in config
    found = subprocess.run(
        [hosted.venv / "bin" / "python", "-c", "import importlib.util as u; print(*(bool(u."
         "find_spec(m)) for m in ('tensorflow', 'keras', 'numpy', 'pytest', 'matplotlib', "
         "'tensorflow_datasets', 'nltk')))"], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["True"] * 5 + ["False"] * 2   # what grading imports only
    untouched = subprocess.run([SYSTEM_PYTHON, "-c", "import tensorflow"], capture_output=True)
    assert untouched.returncode != 0                       # nothing went into the system Python


@pytest.mark.skipif(not AS_ROOT or NOBODY is None, reason="needs root and a `nobody` user")
def test_the_kit_is_private_to_root_and_the_venv_readable_by_nobody(hosted):
    source = hosted.root / "source"
    for folder, dirs, files in os.walk(source):
        for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
            assert not os.lstat(name).st_mode & 0o077, f"{name} is readable by others"
    as_nobody = dict(user=NOBODY, group=pwd.getpwuid(NOBODY).pw_gid, capture_output=True,
                     text=True, env={"PATH": CLEAN_PATH}, cwd="/")
    for private in ("ex02_bptt.py", "course.secret"):
        denied = subprocess.run([hosted.venv / "bin" / "python", "-c",
                                 f"open({str(source / 'solutions' / private)!r}).read()"],
                                **as_nobody)
        assert denied.returncode != 0 and "PermissionError" in denied.stderr  # file modes alone
    allowed = subprocess.run([hosted.venv / "bin" / "python", "-c", "import numpy, keras"],
                             **as_nobody)
    assert allowed.returncode == 0, allowed.stderr[-2000:]   # the precondition of the drop


@pytest.mark.parametrize("plant", HOSTED_PLANTS, ids=[p.name for p in HOSTED_PLANTS])
def test_run_autograder_scores_exactly_as_declared(plant, graded, catalogue):
    if plant.name == "hosted_uid" and not AS_ROOT:
        pytest.skip("student code runs as nobody only when the grader runs as root")
    root, completed, document, seconds = graded[plant.name]
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert document is not None, "run_autograder wrote no results.json"
    assert_scored_as_declared(plant, document, catalogue)
    assert set(document) >= {"score", "tests", "output", "execution_time"}
    assert (document["mode"], document["secret_id"]) == ("official", secret.load().id)
    assert not (root / MARKER).exists(), "a file planted beside the module ran"


def test_nothing_of_a_submission_outlives_its_grading(graded):
    """No process runs as nobody for any of these roots, and the results written by the
    grader are still what it wrote (the forging daemon never started)."""
    time.sleep(2)
    for root, _, document, _ in graded.values():
        results = root / "results" / "results.json"
        assert json.loads(results.read_text()) == document
        assert FORGED not in results.read_text()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            uid = int(status.split("\nUid:")[1].split()[0])
            assert not (uid == NOBODY and b"rnnkit-autograder-" in cmdline), cmdline


def test_grade_submission_always_writes_results(tmp_path):
    not_a_zip = tmp_path / "homework.zip"
    not_a_zip.write_text("this is not a zip file")
    out = tmp_path / "results.json"
    completed = run_cli("grade-submission", not_a_zip, "--json", out)
    assert completed.returncode == 0, completed.stderr
    results = json.loads(out.read_text())
    assert results["score"] == 0 and results["tests"]
    assert all(t["score"] == 0 and "not a readable zip" in t["output"] for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) > 0       # nothing dropped
