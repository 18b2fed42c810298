"""The privilege drop of a root grader, through `grade-class` with the kit's own Python.

Student code runs as `nobody` when the grader runs as root and `nobody` can read Python
(`rnnkit.grader.handles.reaper.unprivileged_user`). Here the kit's Python lives under /root
(mode 700, as pyenv installs it), so the drop never happens in the other tests but the hosted ones
(test_hosted.py, with Debian's system Python). This test makes the same Python readable by
`nobody` without changing a file on the machine: in a private mount namespace
(`unshare --mount --propagation private`), a folder of mode 755 holding a bind mount of the
Python installation (and of the virtual environment, when the kit runs in one elsewhere under
/root) is bind-mounted over /root, so /root/.pyenv/versions/X (its own path: the
interpreter's RUNPATH points there) is reachable by `nobody` inside the namespace only.

Proven: the student process reports uid `nobody`, reading the solutions is refused (by
Landlock here: a checkout's files are world-readable; the Gradescope bundle also makes them
private to root, see test_hosted.py), and the reference still gets full marks; for ex02
(a fresh interpreter) and ex01 (a fork of the zygote, which runs as root and hands each fork
to `nobody`). About 60 s on an idle 2-core machine (one grade-class of four submissions, two
at a time).
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import KIT_ROOT, load_catalogue

import planted
from planted import BY_NAME, CLIP, EX01, EX02, Insert, Plant, reports_uid

try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:
    NOBODY = None

PLANTS = [
    BY_NAME["ex02_reference"],
    reports_uid("reports_uid", NOBODY),                # nobody, not root
    Plant("reports_uid_forked", "student code forked from the zygote (every Keras exercise) "
          "reports the user it runs as",
          # 22.5-1 (the quiz's 2.5 included): one_to_one raises, naming the uid, in its one
          # problem-shape check
          {"ex01": 21.5}, ("test_problem_shapes[one_to_one]",),
          f"student code runs as uid {NOBODY} ",
          (Insert(EX01, "one_to_one", 'import os\nraise RuntimeError('
                  'f"student code runs as uid {os.getuid()} (gid {os.getgid()})")'),)),
    Plant("reads_solution", "reading the kit's solutions/ex02_bptt.py",
          # 18-6: open() raises PermissionError in the three clip checks
          {"ex02": 12.0}, CLIP, "Permission denied",
          (Insert(EX02, "clip_by_global_norm",
                  'open("@KIT@/solutions/ex02_bptt.py").read()'),)),
]


def _reason_to_skip():
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the privilege drop needs a grader running as root"
    if NOBODY is None:
        return "no `nobody` user"
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"no private mount namespace here: {probe.stderr.strip()}"
    return None


def private_homes() -> list[Path]:
    """The Python installations under /root that student code must read: the base install
    and, when the kit runs in a virtual environment elsewhere under /root (one in ~/.cache),
    that too; outermost only (a venv inside the base install is covered by it)."""
    homes = {Path(prefix).resolve() for prefix in (sys.base_prefix, sys.prefix)}
    under_root = [home for home in homes if str(home).startswith("/root/")]
    return sorted(home for home in under_root
                  if not any(other != home and other in home.parents for other in under_root))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    reason = _reason_to_skip()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("privilege")
    submissions, out = work / "submissions", work / "out"
    for plant in PLANTS:
        planted.write_sources(plant, submissions / plant.name, {"KIT": KIT_ROOT})
    command = [sys.executable, "-m", "rnnkit", "grade-class", str(submissions), "--out", str(out),
               "--jobs", "2", "--exercises", "ex01", "ex02"]
    cover, inners = None, []
    homes = private_homes()
    if homes:
        cover = Path(tempfile.mkdtemp(prefix="rnnkit-root-cover-", dir="/tmp"))
        cover.chmod(0o755)
        script = "set -e\n"
        for home in homes:
            inner = cover / home.relative_to("/root")
            inner.mkdir(parents=True)
            for folder in [inner] + list(inner.parents):
                if folder == cover:
                    break
                folder.chmod(0o755)
            inners.append(inner)
            script += f'mount --bind "{home}" "{inner}"\n'
        script += f'mount --rbind "{cover}" /root\nexec "$@"\n'
        command = ["unshare", "--mount", "--propagation", "private", "bash", "-c", script,
                   "bash", *command]
    try:
        completed = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True,
                                   timeout=900)
    finally:
        if cover is not None:   # the bind mounts lived in the namespace only: empty folders here
            for inner in inners:
                assert not os.path.ismount(inner) and not any(inner.iterdir()), inner
            shutil.rmtree(cover)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return {plant.name: json.loads((out / "students" / plant.name / "results.json").read_text())
            for plant in PLANTS}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(["ex01", "ex02"])


@pytest.mark.parametrize("plant", PLANTS, ids=[p.name for p in PLANTS])
def test_student_code_runs_as_nobody_under_a_root_grader(plant, graded, catalogue):
    from planted import assert_scored_as_declared

    assert_scored_as_declared(plant, graded[plant.name], catalogue)
