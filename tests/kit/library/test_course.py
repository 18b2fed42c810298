"""The course is declared once (rnnkit/course.py); what is written by hand elsewhere agrees
with it, and "not started" is decided by the stub's line, never by its message."""
import re

from conftest import KIT_ROOT, grade

from rnnkit.course import EXERCISES


def test_the_readme_table_lists_exactly_the_declared_exercises():
    readme = (KIT_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\w+) \| `exercises/(\w+)\.py` \|", readme, re.M)
    assert rows == [(e.id, e.module) for e in EXERCISES], rows


def test_not_started_while_the_stub_line_keeps_its_structure(tmp_path):
    """A stub is recognised by its structure (issue 25): `raise NotImplementedError(<one
    string>)` in a function release stubbed is *not started* whatever the string says (a stub
    of an earlier kit quotes an older docstring); a raise the student wrote otherwise (here a
    message built from two strings) is their code's exception."""
    folder = tmp_path / "submission"
    folder.mkdir()
    path = folder / "ex02_bptt.py"
    source = (KIT_ROOT / "exercises" / "ex02_bptt.py").read_text()

    def stub_of(name):
        return next(line for line in source.splitlines() if f"{name} is not written yet" in line)

    forward, clip = stub_of("rnn_step_forward"), stub_of("clip_by_global_norm")
    message = forward.replace("rnn_step_forward is not written yet",
                              "rnn_step_forward is not written yet (older kit)")
    built = clip.split("raise")[0] + 'raise NotImplementedError("not " + "yet")'
    path.write_text(source.replace(forward, message).replace(clip, built))
    graded = grade(folder, "ex02", tmp=tmp_path)
    kinds = {t["name"].split(" ", 1)[1]: t["tags"][1] for t in graded.tests}
    step_forward = next(name for name in kinds if name.startswith("rnn_step_forward computes"))
    assert kinds[step_forward] == "not_started", kinds        # the message edited: still a stub
    clipped = [kind for name, kind in kinds.items() if name.startswith("clip_by_global_norm")]
    assert clipped and set(clipped) == {"exception"}, kinds   # a raise of the student's own
    backward = [kind for name, kind in kinds.items() if name.startswith("rnn_backward")]
    assert backward and set(backward) == {"not_started"}, kinds   # untouched stubs stay so
    assert graded.score() == 0
