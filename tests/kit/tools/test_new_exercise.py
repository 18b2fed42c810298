"""Adding an exercise is what the README says, and nothing more (issue 8).

A copy of the kit gets a tiny new exercise from exactly the four files the README names —
a declaration in rnnkit/course.py, a solutions module, a probe module and a check file —
then `python -m rnnkit release`: the solution grades full, its stub grades zero as *not
started*, and `release --check` passes. Release records only what is stale, so the other
exercises' references are kept (this takes seconds, not a re-recording of the whole kit).
"""
import json
import re
import shutil

import pytest
from conftest import KIT_ROOT, run_cli

ID, MODULE = "warmup", "warmup_scaling"     # an id that does not look like exNN on purpose
SOLUTION = '''\
"""A warm-up: scale a sequence (many-to-many, aligned)."""
import numpy as np


def scale(x, factor):
    """Multiply every element of x by factor.

    Inputs:
    - x: array (N, T)
    - factor: float
    Returns:
    - array (N, T)
    """
    # BEGIN SOLUTION
    return np.asarray(x) * factor
    # END SOLUTION
'''
PROBES = '''\
"""Probes of the warm-up: run in the student's process."""
import numpy as np


def probe_scale(module, x, factor):
    return np.asarray(module.scale(x, factor))
'''
CHECKS = '''\
"""Grading the warm-up."""
import pytest

from rnnkit.grader import inputs
from rnnkit.grader.compare import expect_close
from rnnkit.probes.warmup import probe_scale


@pytest.mark.points(2)
def test_scale(grader):
    """scale multiplies every element"""
    for seed in grader.seeds():
        x = inputs.uniform(seed, "x", (2, 3))
        got = grader.run(probe_scale, x=x, factor=1.5)
        want = grader.reference(probe_scale, x=x, factor=1.5)
        expect_close("scaled", got, want, rtol=1e-6, atol=0)   # the same float64 product
'''
DECLARATION = f'    Exercise("{ID}", "{MODULE}", "warm-up: scaling", shape="many-to-many"),\n'


def _copy_kit(destination):
    ignore = shutil.ignore_patterns(".git", "runs", "__pycache__", "*.pyc", ".pytest_cache",
                                    ".venv-ci")   # CI's virtualenv (.ci/run)
    shutil.copytree(KIT_ROOT, destination, ignore=ignore)
    return destination


def _add_exercise(kit):
    course = kit / "rnnkit" / "course.py"
    text = course.read_text()
    end = text.index("\n)\n", text.index("EXERCISES: tuple"))
    course.write_text(text[:end + 1] + DECLARATION + text[end + 1:])
    (kit / "solutions" / f"{MODULE}.py").write_text(SOLUTION)
    (kit / "rnnkit" / "probes" / f"{ID}.py").write_text(PROBES)
    (kit / "tests" / "grading" / f"test_{ID}.py").write_text(CHECKS)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    kit = _copy_kit(tmp_path_factory.mktemp("new-exercise") / "kit")
    _add_exercise(kit)
    # the official grade's recordings (every exercise's trainings under the kit tests' course
    # secret, ~150 s) are not what this test is about: the new exercise's grade computes them
    released = run_cli("release", "--skip-official", cwd=kit, timeout=1200)
    assert released.returncode == 0, released.stdout[-3000:] + released.stderr[-3000:]
    return kit, released


def _grade(kit, folder, tmp_path):
    out = tmp_path / f"{folder}.json"
    completed = run_cli("grade", ID, "--target", kit / folder, "--json", out, cwd=kit)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(out.read_text())


def test_the_solution_grades_full(kit, tmp_path):
    document = _grade(kit[0], "solutions", tmp_path)
    assert document["score"] == 2.0 and len(document["tests"]) == 1


def test_the_stub_grades_zero_as_not_started(kit, tmp_path):
    document = _grade(kit[0], "exercises", tmp_path)
    assert document["score"] == 0.0
    assert document["tests"][0]["tags"] == [ID, "not_started"], document["tests"][0]
    assert "scale is not written yet" in document["tests"][0]["output"]


def test_release_check_passes_and_only_the_new_exercise_was_recorded(kit):
    released = kit[1]
    assert f"recorded: {ID}" in released.stdout, released.stdout[-2000:]
    assert "ex01" not in released.stdout.split("recorded:")[1].splitlines()[0]
    check = run_cli("release", "--check", cwd=kit[0])
    # only the official grade's recordings, which release --skip-official left, are stale
    stale = [line for line in check.stdout.splitlines()
             if "stale" in line and not line.startswith("release --check")]
    assert stale and all(line.startswith("official recordings of ") for line in stale), \
        check.stdout


def test_the_readme_says_exactly_what_this_test_did():
    readme = (KIT_ROOT / "README.md").read_text()
    section = readme[readme.index("Adding an exercise"):readme.index("## How grading works")]
    named = set(re.findall(r"`((?:rnnkit|solutions|tests)/[^`]*)`", section))
    assert named >= {"rnnkit/course.py", "solutions/<module>.py",
                     "rnnkit/probes/<id>.py", "tests/grading/test_<id>.py"}, named
    assert "python -m rnnkit release" in section
    assert "`Exercise(...)`" in section          # the declaration this test adds to course.py
