"""GitHub Classroom (issue 27): `release --out DIR --classroom` writes a starter repository whose
workflow follows the autograding actions' contract (read from their repositories: see
rnnkit/tools/github_classroom.py), one step per exercise worth its points; the command a step
runs is run here in the released kit, as the runner runs it (`bash -c` in the checkout), on the
stub (fails) and on the reference (passes); and the instructor's official grade of a cloned
repository is `grade-class` on a folder of them.

Not exercised: GitHub Actions itself (no network here), the actions' JavaScript, and the
install step on GitHub's runner (`pip install -r requirements.txt`, which CI runs). Cost: three
gradings of ex02 (~10-20 s each) and one release."""
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import KIT_ROOT, load_catalogue, run_cli

from rnnkit.course import EXERCISES
from rnnkit.grader import secret
from rnnkit.tools import github_classroom

RUNNERS = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")   # the reporter's own check of `runners`


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom") / "rnnkit-starter"
    completed = run_cli("release", "--out", out, "--classroom")
    assert completed.returncode == 0, completed.stderr
    return out


def test_the_workflow_follows_the_autograding_actions_contract(kit):
    document = yaml.safe_load((kit / github_classroom.WORKFLOW).read_text())
    assert document["name"] == "Autograding Tests"                   # else no score is uploaded
    assert set(document[True if True in document else "on"]) >= {"push"}
    assert list(document["jobs"]) == ["run-autograding-tests"]        # one job, this name
    steps = document["jobs"]["run-autograding-tests"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert (3, 11) <= tuple(map(int, python["with"]["python-version"].split("."))) <= (3, 13)
    graders = [s for s in steps
               if s.get("uses") == "classroom-resources/autograding-command-grader@v1"]
    catalogue = load_catalogue()
    assert [s["id"] for s in graders] == [e.id for e in EXERCISES]
    for step in graders:
        assert step["with"]["command"] == f"python -m rnnkit grade {step['id']} --strict"
        assert step["with"]["max-score"] == sum(p for _, p in catalogue[step["id"]].values())
        assert step["with"]["test-name"].startswith(step["id"] + " ")
        assert 0 < step["with"]["timeout"] <= 360                      # minutes, at most 6 hours
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert RUNNERS.match(reporter["with"]["runners"])
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert reporter["env"] == {f"{s['id'].upper()}_RESULTS":
                               f"${{{{steps.{s['id']}.outputs.result}}}}" for s in graders}


def test_the_starter_repository_holds_no_secret(kit):
    key = secret.load().key.hex()
    for path in kit.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert not list(kit.rglob("course.secret")) and not (kit / "solutions").exists()
    assert "SELF-CHECK" in (kit / github_classroom.WORKFLOW).read_text()


def step_command(kit, exercise):
    document = yaml.safe_load((kit / github_classroom.WORKFLOW).read_text())
    step = next(s for s in document["jobs"]["run-autograding-tests"]["steps"]
                if s.get("id") == exercise)
    return step["with"]["command"]


def test_the_command_a_step_runs_fails_on_the_stub_and_passes_on_the_reference(kit, tmp_path):
    command = step_command(kit, "ex02")
    env = {**subprocess.os.environ, "PATH": f"{sys.executable.rsplit('/', 1)[0]}:"
                                            f"{subprocess.os.environ['PATH']}"}
    env.pop(secret.ENVIRONMENT, None)                 # a student's repository: no secret
    stub = subprocess.run(["bash", "-c", command], cwd=kit, capture_output=True, text=True,
                          env=env, timeout=900)
    assert stub.returncode == 1, stub.stdout[-2000:] + stub.stderr[-2000:]
    assert stub.stdout.startswith("Self-check") and "not started" in stub.stdout
    shutil.copy(KIT_ROOT / "solutions" / "ex02_bptt.py", kit / "exercises" / "ex02_bptt.py")
    solved = subprocess.run(["bash", "-c", command], cwd=kit, capture_output=True, text=True,
                            env=env, timeout=900)
    assert solved.returncode == 0, solved.stdout[-2000:] + solved.stderr[-2000:]
    assert re.search(r"ex02 .* 18 / 18 +complete", solved.stdout), solved.stdout


def test_the_instructor_grades_cloned_repositories_officially(kit, tmp_path):
    """Each cloned repository is a student's folder (the whole kit, exercises/ worked in)."""
    repos = tmp_path / "repos"
    shutil.copytree(kit, repos / "ada-lovelace", ignore=shutil.ignore_patterns("runs"))
    shutil.copy(KIT_ROOT / "solutions" / "ex02_bptt.py",
                repos / "ada-lovelace" / "exercises" / "ex02_bptt.py")
    shutil.copytree(kit, repos / "alan-turing", ignore=shutil.ignore_patterns("runs"))
    shutil.copy(KIT_ROOT / "exercises" / "ex02_bptt.py",          # untouched: the stub
                repos / "alan-turing" / "exercises" / "ex02_bptt.py")
    completed = run_cli("grade-class", repos, "--out", tmp_path / "graded", "--exercises", "ex02")
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = {name: json.loads((tmp_path / "graded" / "students" / name / "results.json")
                                .read_text()) for name in ("ada-lovelace", "alan-turing")}
    assert results["ada-lovelace"]["score"] == 18 and results["alan-turing"]["score"] == 0
    assert {d["mode"] for d in results.values()} == {"official"}
