"""The Gradescope bundle, run the way Gradescope runs it (in a temporary /autograder)."""
import json
import os
import stat
import subprocess
import zipfile

from conftest import KIT_ROOT, run_cli


def test_gradescope_bundle_grades_a_submission(tmp_path):
    bundle = tmp_path / "autograder.zip"
    completed = run_cli("gradescope", "--out", bundle)
    assert completed.returncode == 0, completed.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder"} <= names          # at the root, as Gradescope wants
        for script in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(archive.getinfo(script).external_attr >> 16) & 0o111
        assert not any(n.startswith(("tests/kit/", "exercises/", ".git/")) for n in names)
        assert "solutions/ex02_bptt.py" in names and "data/references/manifest.json" in names
        root = tmp_path / "autograder"
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)
    submission = root / "submission"
    submission.mkdir()
    (submission / "ex02_bptt.py").write_bytes((KIT_ROOT / "solutions" / "ex02_bptt.py").read_bytes())
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    for script in ("setup.sh", "run_autograder"):
        step = subprocess.run(["bash", str(root / "source" / script)], cwd=root, env=env,
                              capture_output=True, text=True, timeout=900)
        assert step.returncode == 0, step.stdout[-2000:] + step.stderr[-2000:]
    assert not os.stat(root / "source" / "solutions").st_mode & 0o077   # private to the grader
    results = json.loads((root / "results" / "results.json").read_text())
    by_exercise = {}
    for test in results["tests"]:
        by_exercise.setdefault(test["name"].split()[0], []).append(test)
    assert sum(t["score"] for t in by_exercise["ex02"]) == sum(t["max_score"] for t in by_exercise["ex02"])
    assert all(t["score"] == 0 and "missing: ex01_simple_rnn.py" in t["output"]
               for t in by_exercise["ex01"])
    assert results["score"] == sum(t["score"] for t in results["tests"])


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
