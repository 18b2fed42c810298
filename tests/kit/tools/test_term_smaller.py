"""Issue 25's smaller pieces, each without grading: `pack --exercises` packs the exercises of
an assignment of a few, `release --with-solutions` also writes the solutions as notebooks,
and a notebook shows inline the plots its cells save (and they stay saved). About 2 s."""
import json
import time

import pytest
from conftest import KIT_ROOT

from rnnkit import notebooks
from rnnkit.course import BY_ID
from rnnkit.tools import release
from rnnkit.tools.pack import PackProblem, modules_in


def test_pack_takes_only_the_exercises_asked_for(tmp_path):
    for exercise in ("ex01", "ex02", "ex03"):
        (tmp_path / BY_ID[exercise].filename).write_text("x = 1\n")
    assert [p.name for p in modules_in(tmp_path)] == [BY_ID[e].filename
                                                    for e in ("ex01", "ex02", "ex03")]
    assert [p.name for p in modules_in(tmp_path, ["ex03", "ex01"])] == [
        BY_ID["ex01"].filename, BY_ID["ex03"].filename]
    with pytest.raises(PackProblem, match="ex04 was asked for"):
        modules_in(tmp_path, ["ex01", "ex04"])


def test_a_kit_with_solutions_carries_them_as_notebooks_too():
    files = release.student_kit_contents(with_solutions=True)
    solved = {name for name in files if name.startswith("solutions/notebooks/")}
    assert solved == {f"solutions/notebooks/{e.notebook}" for e in BY_ID.values()}, solved
    # the solution notebook holds the solution's code, the student's notebook the stub
    cells = json.loads(files[f"solutions/notebooks/{BY_ID['ex02'].notebook}"])["cells"]
    code = "".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    assert "NotImplementedError" not in code and "np.tanh" in code
    student = json.loads(files[f"notebooks/{BY_ID['ex02'].notebook}"])["cells"]
    assert "NotImplementedError" in "".join("".join(c["source"]) for c in student)
    record = json.loads(files[release.KIT_RECORD])
    assert record["version"] == __import__("rnnkit").__version__ and record["with_solutions"]


class FakeEvents:
    def __init__(self):
        self.callbacks = {"pre_run_cell": [], "post_run_cell": []}

    def register(self, event, callback):
        self.callbacks[event].append(callback)

    def unregister(self, event, callback):
        self.callbacks[event].remove(callback)


class FakeShell:
    """What IPython's shell offers `show_saved_plots`: events run around each cell."""
    def __init__(self):
        self.events = FakeEvents()

    def run_cell(self, body):
        for callback in list(self.events.callbacks["pre_run_cell"]):
            callback(None)
        body()
        for callback in list(self.events.callbacks["post_run_cell"]):
            callback(None)


def test_a_notebook_shows_the_plots_its_cells_save(tmp_path):
    shown, shell = [], FakeShell()
    runs = tmp_path / "runs"
    (runs / "old").mkdir(parents=True)
    (runs / "old" / "before.png").write_bytes(b"png0")
    assert not notebooks.show_saved_plots(shell=object(), folder=runs, display=shown.append)
    assert notebooks.show_saved_plots(shell=shell, folder=runs, display=shown.append)
    # watching again replaces the earlier watch (a set-up cell run twice shows each plot once)
    assert notebooks.show_saved_plots(shell=shell, folder=runs, display=shown.append)
    assert len(shell.events.callbacks["post_run_cell"]) == 1

    def save_a_plot():
        (runs / "ex01").mkdir(exist_ok=True)
        (runs / "ex01" / "loss.png").write_bytes(b"png1")

    shell.run_cell(save_a_plot)
    assert shown == [runs / "ex01" / "loss.png"]          # the new plot, not the older one
    shell.run_cell(lambda: None)
    assert shown == [runs / "ex01" / "loss.png"]          # nothing saved, nothing shown

    def save_it_again():
        time.sleep(0.01)
        (runs / "ex01" / "loss.png").write_bytes(b"png1, redrawn")

    shell.run_cell(save_it_again)
    assert shown == [runs / "ex01" / "loss.png"] * 2
    assert (runs / "ex01" / "loss.png").read_bytes() == b"png1, redrawn"   # still saved
    assert (runs / "old" / "before.png").is_file()

