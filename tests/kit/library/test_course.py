"""The course is declared once (rnnkit/course.py); what is written by hand elsewhere agrees
with it, and "not started" is decided by the stub's line, never by its message."""
import re

from conftest import KIT_ROOT, grade

from rnnkit.course import EXERCISES


def test_the_readme_table_lists_exactly_the_declared_exercises():
    readme = (KIT_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\w+) \| `exercises/(\w+)\.py` \|", readme, re.M)
    assert rows == [(e.id, e.module) for e in EXERCISES], rows


def test_not_started_only_while_the_stub_line_is_untouched(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    path = folder / "ex02_bptt.py"
    source = (KIT_ROOT / "exercises" / "ex02_bptt.py").read_text()
    stub = next(line for line in source.splitlines()
                if "rnn_step_forward is not written yet" in line)
    edited = stub.replace("rnn_step_forward is not written yet", "rnn_step_forward is not written yet!")
    path.write_text(source.replace(stub, edited))              # the message edited by a student
    graded = grade(folder, "ex02", tmp=tmp_path)
    kinds = {t["name"].split(" ", 1)[1]: t["tags"][1] for t in graded.tests}
    first = next(name for name in kinds if name.startswith("rnn_step_forward computes"))
    assert kinds[first] == "exception", kinds
    clip = [kind for name, kind in kinds.items() if name.startswith("clip_by_global_norm")]
    assert clip and set(clip) == {"not_started"}, kinds        # untouched stubs stay "not started"
    assert graded.score() == 0
