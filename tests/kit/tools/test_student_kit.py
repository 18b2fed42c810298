"""The student kit is built from an explicit list, never from whatever lies in the folder
(issue 14): an autograder bundle, a renamed copy of a solution or notes left in the kit
folder do not reach it, and a file on the list that holds solution lines stops the release."""
import shutil
import zipfile

from conftest import KIT_ROOT, run_cli


def _copy_kit(destination):
    ignore = shutil.ignore_patterns(".git", "runs", "__pycache__", "*.pyc", ".pytest_cache",
                                    ".venv-ci")   # CI's virtualenv (.ci/run)
    return shutil.copytree(KIT_ROOT, destination, ignore=ignore)


def test_untracked_files_never_reach_the_student_kit(tmp_path):
    kit = _copy_kit(tmp_path / "kit")
    with zipfile.ZipFile(kit / "autograder.zip", "w") as bundle:       # what `gradescope` writes
        bundle.write(kit / "solutions" / "ex02_bptt.py", "solutions/ex02_bptt.py")
    shutil.copy(kit / "solutions" / "ex02_bptt.py", kit / "my_answers.py")
    shutil.copy(kit / "solutions" / "ex02_bptt.py", kit / "tests" / "grading" / "notes_ex02.py")
    out = tmp_path / "student"
    completed = run_cli("release", "--out", out, cwd=kit)
    assert completed.returncode == 2 and "notes_ex02.py" in completed.stderr, \
        completed.stderr   # tests/grading/ is on the list: a file there holding solution lines stops it
    (kit / "tests" / "grading" / "notes_ex02.py").unlink()
    completed = run_cli("release", "--out", out, cwd=kit)
    assert completed.returncode == 0, completed.stderr
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert "autograder.zip" not in names and "my_answers.py" not in names
    assert not any(n.startswith(("solutions/", "tests/kit/", ".ci/")) for n in names)
    readme = (out / "README.md").read_text()
    assert "## For students" in readme and "## For instructors" not in readme
