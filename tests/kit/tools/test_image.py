"""The grading image and PrairieLearn's external grader (issue 27), as far as a machine without
a container runtime allows.

`python -m rnnkit image --exercises ex02` writes the build context; its Dockerfile is then
"built" by hand into a laid-out filesystem (a new folder in /tmp standing for the image's /):
every COPY copies from the context (so every source must exist), every RUN runs with the
image's paths moved under that folder, and the image's Python (`python:3.11-slim`'s
/usr/local) is a virtual environment of this machine's Debian Python 3.11 at <root>/usr/local,
into which the RUN step really pip installs the grading pins (a local wheel mirror here:
~25 s idle, up to ~90 s busy). Then PrairieLearn's /grade is laid out (student/, data/data.json)
and the entry point runs as PrairieLearn runs it, as root, student code dropping to `nobody`.

Not exercised: `docker build` itself (no runtime here: the base image's own files, its
`nobody` user and its Python are this machine's), PrairieLearn's harness (it mounts /grade,
runs the entry point, reads results.json), its resource limits and networking switch.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import KIT_ROOT, load_catalogue, run_cli
from test_hosted import AS_ROOT, NOBODY, SYSTEM_PYTHON, clean_env, system_python_version

from rnnkit.grader import secret
from rnnkit.tools import gradescope, image

SOLVED = (KIT_ROOT / "solutions" / "ex02_bptt.py").read_text()
STUB = (KIT_ROOT / "exercises" / "ex02_bptt.py").read_text()


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: comments dropped, continuations joined."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in dockerfile.splitlines()
                                           if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    out = tmp_path_factory.mktemp("image") / "context"
    completed = run_cli("image", "--out", out, "--exercises", "ex02")
    assert completed.returncode == 0, completed.stderr
    return out


def test_the_context_holds_what_official_grading_needs_as_the_bundle_does(context, tmp_path):
    assert oct(context.stat().st_mode & 0o777) == "0o700"                 # the course secret
    steps = instructions((context / "Dockerfile").read_text())
    assert steps[0] == ("FROM", "python:3.11-slim")                       # an official image
    for kind, arguments in steps:
        if kind == "COPY":
            source = arguments.split()[0]
            assert (context / source).exists(), f"COPY {source}: not in the context"
    kit = {p.relative_to(context / "kit").as_posix() for p in (context / "kit").rglob("*")
           if p.is_file()}
    bundle = tmp_path / "autograder.zip"
    assert run_cli("gradescope", "--out", bundle, "--exercises", "ex02").returncode == 0
    with zipfile.ZipFile(bundle) as archive:
        carried = set(archive.namelist()) - {"setup.sh", "run_autograder", gradescope.REQUIREMENTS}
    assert kit == carried                       # one list of what official grading needs
    assert {n for n in kit if n.startswith("solutions/") and "official-references" not in n} \
        == {"solutions/__init__.py", "solutions/ex02_bptt.py", "solutions/course.secret"}
    assert not any(n.startswith(("tests/kit/", "exercises/", "deploy/")) for n in kit)
    assert json.loads((context / "kit/solutions/course.secret").read_text())["key"] == \
        secret.load().key.hex()
    assert oct((context / "kit/solutions/course.secret").stat().st_mode & 0o777) == "0o600"
    assert (context / gradescope.REQUIREMENTS).read_text() == gradescope.grading_requirements()
    again = run_cli("image", "--out", context)
    assert again.returncode == 2 and "not empty" in again.stderr


class Image:
    """The image's filesystem laid out under `root`, built by the Dockerfile's own steps."""

    def __init__(self, root: Path, context: Path):
        self.root, self.env, self.workdir, self.log = root, {}, root, []
        for kind, arguments in instructions((context / "Dockerfile").read_text()):
            if kind == "FROM":
                self.base()
            elif kind == "ENV":
                for name, value in re.findall(r'(\w+)=("[^"]*"|\S*)', arguments):
                    self.env[name] = value.strip('"')
            elif kind == "COPY":
                source, destination = arguments.split()
                self.copy(context / source, self.path(destination))
            elif kind == "RUN":
                self.run(arguments)
            elif kind == "WORKDIR":
                self.workdir = self.path(arguments)
            else:
                raise AssertionError(f"a Dockerfile instruction this test does not lay out: {kind}")

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def base(self):
        """python:3.11-slim's /usr/local: Debian's Python 3.11 as a virtual environment."""
        completed = subprocess.run([SYSTEM_PYTHON, "-m", "venv", self.path("/usr/local")],
                                   capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr

    def copy(self, source: Path, target: Path):
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

    def run(self, command: str):
        moved = re.sub(r"(?<![\w.])/(opt|usr/local)/", lambda m: f"{self.root}/{m.group(1)}/",
                       command)
        completed = subprocess.run(["/bin/bash", "-euc", moved], capture_output=True, text=True,
                                   timeout=1800, env=self.environment())
        self.log.append((command, completed))
        assert completed.returncode == 0, f"RUN {command}\n{completed.stdout[-2000:]}" \
                                          f"{completed.stderr[-2000:]}"

    def environment(self, **extra) -> dict:
        return clean_env(self.root, **self.env, PATH=f"{self.path('/usr/local/bin')}:/usr/bin:/bin",
                         **extra)


@pytest.fixture(scope="module")
def built(context):
    version = system_python_version()
    if not version.startswith("3.11."):
        pytest.skip(f"the image's Python is 3.11; this machine's system Python is {version}")
    root = Path(tempfile.mkdtemp(prefix="rnnkit-image-", dir="/tmp"))
    root.chmod(0o711)                                  # traversable, as / is in the image
    try:
        yield Image(root, context)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_run_steps_install_the_pins_and_leave_the_kit_to_root(built):
    python = built.path("/usr/local/bin/python")
    found = subprocess.run([python, "-c", "import keras, numpy, pytest, tensorflow; print("
                            "tensorflow.__version__, keras.__version__, numpy.__version__)"],
                           capture_output=True, text=True, env=built.environment())
    pins = dict(line.split("==") for line in
                built.path("/opt/rnnkit-requirements.txt").read_text().splitlines() if "==" in line)
    assert found.stdout.split() == [pins["tensorflow-cpu"], pins["keras"], pins["numpy"]]
    for folder, dirs, files in os.walk(built.path("/opt/rnnkit")):
        for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
            assert not os.lstat(name).st_mode & 0o077, f"{name} is readable by others"
    assert os.access(built.path("/usr/local/bin/rnnkit-prairielearn"), os.X_OK)
    assert built.workdir == built.path("/opt/rnnkit")


def prairielearn_job(built, name: str, files: dict, **env):
    """/grade as PrairieLearn lays it out, then the entry point: (completed, results or None)."""
    grade = built.root / "jobs" / name
    (grade / "student").mkdir(parents=True)
    (grade / "data").mkdir()
    (grade / "data" / "data.json").write_text(json.dumps({"params": {}, "submitted_answers": {
        "_files": [{"name": n} for n in files]}}))
    for file_name, data in files.items():
        path = grade / "student" / file_name
        (path.write_bytes if isinstance(data, bytes) else path.write_text)(
            data.replace(b"@GRADE@", str(grade).encode()) if isinstance(data, bytes)
            else data.replace("@GRADE@", str(grade)))
    for folder in (built.root / "jobs", grade):
        folder.chmod(0o755)
    completed = subprocess.run(
        [built.path("/usr/local/bin/rnnkit-prairielearn")], cwd="/", capture_output=True,
        text=True, timeout=900, env=built.environment(
            RNNKIT_KIT=str(built.workdir), RNNKIT_GRADE_ROOT=str(grade), **env))
    results = grade / "results" / "results.json"
    return completed, (json.loads(results.read_text()) if results.is_file() else None)


FORGER = STUB + '''

try:      # at import, as `nobody`: PrairieLearn would read this file if it were left there
    import os
    os.makedirs("@GRADE@/results", exist_ok=True)
    with open("@GRADE@/results/results.json", "w") as handle:
        handle.write('{"score": 1.0, "gradable": true, "tests": []}')
except OSError as error:
    print("could not forge:", error)
'''


@pytest.mark.skipif(not AS_ROOT, reason="PrairieLearn runs the entry point as root")
def test_prairielearn_grades_the_reference_in_full_with_its_fields(built):
    completed, results = prairielearn_job(built, "reference", {"ex02_bptt.py": SOLVED},
                                          RNNKIT_EXERCISES="ex02")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert results["gradable"] is True and results["score"] == 1.0
    assert set(results) >= {"score", "gradable", "message", "output", "tests"}
    checks = load_catalogue(["ex02"])["ex02"]
    assert len(results["tests"]) == len(checks)
    for test in results["tests"]:
        assert set(test) >= {"name", "description", "points", "max_points", "message", "output"}
        assert test["description"].startswith("ex02 ") and test["points"] == test["max_points"]
    assert sum(t["max_points"] for t in results["tests"]) == sum(p for _, p in checks.values())
    assert results["mode"] == "official" and results["secret_id"] == secret.load().id
    assert "student code ran as nobody" in results["output"] or NOBODY is None, results["output"]


@pytest.mark.skipif(not AS_ROOT, reason="PrairieLearn runs the entry point as root")
def test_prairielearn_results_cannot_be_forged_and_a_bad_file_is_not_gradable(built):
    completed, results = prairielearn_job(built, "forger", {"ex02_bptt.py": FORGER},
                                          RNNKIT_EXERCISES="ex02")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert results["gradable"] is True and results["score"] == 0.0 and results["tests"]
    assert all("not started" in t["message"] for t in results["tests"])
    completed, results = prairielearn_job(built, "not-a-zip", {"work.zip": b"not a zip"},
                                          RNNKIT_EXERCISES="ex02")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert results["gradable"] is False and "work.zip is not a readable zip" in \
        results["format_errors"][0]
    completed, results = prairielearn_job(built, "no-secret", {"ex02_bptt.py": SOLVED},
                                          RNNKIT_COURSE_SECRET="/nonexistent/course.secret")
    assert completed.returncode == 2 and results["gradable"] is False
    assert "needs the course secret" in results["message"]


def test_the_prairielearn_question_example_matches_the_image(context):
    """deploy/prairielearn's question: the image's entry point, a timeout PrairieLearn allows
    (at most 600 s) and the exercises' modules as the upload's file names."""
    from rnnkit.course import BY_ID

    question = KIT_ROOT / "deploy" / "prairielearn" / "rnnkit-ex01-ex02"
    info = json.loads((question / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and options["enabled"] is True
    copied = [arguments.split() for kind, arguments in
              instructions((context / "Dockerfile").read_text()) if kind == "COPY"]
    assert [image.ENTRY_POINT, options["entrypoint"]] in copied
    assert 0 < options["timeout"] <= 600
    exercises = options["environment"]["RNNKIT_EXERCISES"].split()
    uploads = re.search(r'<pl-file-upload file-names="([^"]+)"',
                        (question / "question.html").read_text()).group(1)
    assert [name.strip() for name in uploads.split(",")] == [BY_ID[e].filename for e in exercises]
