"""Every exercise's given main() runs in a student kit, and every figure it saves reads.

A student kit is written once (`release --out`: stubs, no solutions). Each main() runs in a
process of its own, as a student runs it (`python -m exercises.exNN_...`), at the small
budget (`RNNKIT_SMALL_MAIN=1`, rnnkit/mains.py) with matplotlib's Agg backend, from a folder
holding the kit's exercises/ with
- "solved": the exercise and every exercise it uses filled in with the solutions;
- "stand-in": the exercise filled in, the earlier ones it uses left as the released stubs:
  Keras's cell must take over, main() still run, and say so.
Each must exit 0, print its lesson lines and write its figures under runs/. Every figure is
also read, as it is saved, by figure_checks.figure_problems (text >= 8 pt, axis labels,
legends told apart without colour and off the data).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from rnnkit import KIT_ROOT
from rnnkit.course import BY_ID, EXERCISES, closure

# Saves the figures a main() draws, and reads each one first (figure_checks), into a JSON
# file: the same process, so the figures are read exactly as main() made them.
RUNNER = r"""
import json, os, runpy, sys
sys.path.insert(0, os.environ["FIGURE_CHECKS"])
import matplotlib
matplotlib.use("Agg")
from matplotlib.figure import Figure
from figure_checks import figure_problems
report, original = [], Figure.savefig
def savefig(self, fname, *args, **kwargs):
    try:
        problems = figure_problems(self, name=os.path.basename(str(fname)))
    except Exception as error:  # the check's own failure is reported, not main()'s crash
        problems = [f"{fname}: the figure check failed: {error!r}"]
    report.append({"path": str(fname), "problems": problems})
    with open(os.environ["FIGURE_REPORT"], "w") as file:
        json.dump(report, file)
    return original(self, fname, *args, **kwargs)
Figure.savefig = savefig
module = sys.argv[1]
sys.argv = [module]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""

# What each main() must print (its lesson, in its own words) and the figures it saves.
LESSONS = {
    "ex01": ["training your SimpleRNNCell", "training keras.layers.SimpleRNN"],
    "ex02": ["gradient check of rnn_backward", "mean ||dL/dh_t||", "after clipping"],
    "ex03": ["memory task, chrono-initialised gates", "Keras's default initialisation",
             "bidirectional tagger: per-step accuracy"],
    "ex04": ["mackey_glass, horizon", "seasonal, horizon", "test MAE", "mackey_glass, horizon 160"],
    "ex05": ["test accuracy", "order-dependent", "most confident mistakes of the BiLSTM"],
    "ex06": ["word accuracy on unheard speakers", "phoneme error rate on unheard speakers"],
    "ex07": ["validation perplexity", "unigram baseline", "valid and novel"],
    "ex08": ["single:", "relations:", "BLEU-4", "unseen combinations"],
    "ex09": ["greedy exact match", "alpha=0.0: width 1", "log p"],
    "ex10": ["largest difference from keras.layers.AdditiveAttention", "   plain: depth 1",
             "residual: depth 1", "seq2seq with attention: greedy exact match"],
}
FIGURES = {
    "ex01": ["accuracy.png"], "ex02": ["gradient_norms.png"],
    "ex03": ["accuracy_vs_lag.png", "gradient_vs_lag.png"],
    "ex04": ["forecasts_and_training.png", "error_by_lead.png"],
    "ex05": ["confusion_matrix.png", "training_curves.png"],
    "ex06": ["features.png", "confusion.png", "decodings.png"],
    "ex07": ["perplexity.png", "sample_quality.png"],
    "ex08": ["captions_single.png", "captions_relations.png"],
    "ex09": ["exact_match_vs_width.png", "beam_candidates.png"],
    "ex10": ["gradient_vs_depth.png", "alignment.png"],
}
# Per process: TensorFlow's start (~3 s) and a few seconds of training at the small budget;
# ten times that before a hang is called one.
TIMEOUT = 300


def test_every_exercise_has_its_lessons_and_figures_listed():
    assert set(LESSONS) == set(FIGURES) == {exercise.id for exercise in EXERCISES}


@pytest.fixture(scope="session")
def student_kit_once(tmp_path_factory):
    out = tmp_path_factory.mktemp("mains") / "kit"
    completed = run_cli("release", "--out", out)
    assert completed.returncode == 0, completed.stderr
    return out


def make_case(kit: Path, folder: Path, solved: list[str]) -> Path:
    """A folder with the kit's exercises/ (the released stubs), the ids in `solved` filled in
    with the solutions."""
    shutil.copytree(kit / "exercises", folder / "exercises")
    for exercise_id in solved:
        module = BY_ID[exercise_id].filename
        shutil.copy(KIT_ROOT / "solutions" / module, folder / "exercises" / module)
    return folder


def run_main(kit: Path, case: Path, exercise_id: str) -> dict:
    """main() of one exercise in `case`, as `python -m exercises.<module>` runs it."""
    report = case / "figures.json"
    environment = {**os.environ, "RNNKIT_SMALL_MAIN": "1", "MPLBACKEND": "Agg",
                   "PYTHONPATH": str(kit), "CUDA_VISIBLE_DEVICES": "",
                   "TF_CPP_MIN_LOG_LEVEL": "3", "FIGURE_CHECKS": str(Path(__file__).parent.parent),
                   "FIGURE_REPORT": str(report)}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, f"exercises.{BY_ID[exercise_id].module}"], cwd=case,
        env=environment, capture_output=True, text=True, timeout=TIMEOUT)
    figures = json.loads(report.read_text()) if report.is_file() else []
    return {"completed": completed, "figures": figures, "case": case}


def assert_ran(run: dict, exercise_id: str, stand_in: str | None = None):
    """Exit 0, the lesson lines printed, the figures written; and when an earlier exercise
    is a stub, the line that says which of Keras's cells stands in."""
    completed, case = run["completed"], run["case"]
    said = completed.stdout
    where = f"{exercise_id}'s main() in {case}\n--- stdout (end):\n{said[-2000:]}\n" \
            f"--- stderr (end):\n{completed.stderr[-3000:]}"
    assert completed.returncode == 0, f"exit {completed.returncode}: {where}"
    missing = [line for line in LESSONS[exercise_id] if line not in said]
    assert not missing, f"did not print {missing}: {where}"
    figures = case / "runs" / exercise_id
    unsaved = [name for name in FIGURES[exercise_id] if not (figures / name).is_file()]
    assert not unsaved, f"did not save {unsaved} under {figures}: {where}"
    if stand_in is not None:
        assert f"keras.layers.{stand_in} stands in for it in this run" in said, where


def solved_ids(exercise_id):
    return [exercise.id for exercise in closure(BY_ID[exercise_id])]


class SolvedRuns(dict):
    """Each exercise's main() with it and what it uses solved (one process each), run when
    a test first asks for it: a `-k ex10` selection runs ex10's main() only."""

    def __init__(self, kit: Path, tmp_path_factory):
        super().__init__()
        self.kit, self.tmp_path_factory = kit, tmp_path_factory

    def __missing__(self, exercise_id):
        case = make_case(self.kit, self.tmp_path_factory.mktemp(f"{exercise_id}-solved"),
                         solved_ids(exercise_id))
        self[exercise_id] = run_main(self.kit, case, exercise_id)
        return self[exercise_id]


@pytest.fixture(scope="session")
def solved_runs(student_kit_once, tmp_path_factory):
    return SolvedRuns(student_kit_once, tmp_path_factory)


@pytest.mark.parametrize("exercise_id", [exercise.id for exercise in EXERCISES])
def test_main_runs_with_its_exercise_solved(solved_runs, exercise_id):
    assert_ran(solved_runs[exercise_id], exercise_id)


# The earlier exercise left a stub, and the cell of it main() needs first.
STUBBED = {exercise.id: exercise.uses[0] for exercise in EXERCISES if exercise.uses}
FIRST_STAND_IN = {"ex01": "SimpleRNNCell", "ex03": "LSTMCell"}


@pytest.mark.parametrize("exercise_id", sorted(STUBBED))
def test_main_runs_with_the_earlier_exercise_a_stub(student_kit_once, tmp_path_factory,
                                                     exercise_id):
    earlier = STUBBED[exercise_id]
    case = make_case(student_kit_once, tmp_path_factory.mktemp(f"{exercise_id}-stand-in"),
                     [exercise_id])
    run = run_main(student_kit_once, case, exercise_id)
    assert_ran(run, exercise_id, stand_in=FIRST_STAND_IN[earlier])
    assert f"{earlier}'s" in run["completed"].stdout


@pytest.mark.parametrize("exercise_id", [exercise.id for exercise in EXERCISES])
def test_every_figure_main_saves_reads_without_colour_at_print_size(solved_runs, exercise_id):
    run = solved_runs[exercise_id]
    saved = {Path(figure["path"]).name for figure in run["figures"]}
    assert set(FIGURES[exercise_id]) <= saved, (saved, run["completed"].stderr[-2000:])
    problems = [problem for figure in run["figures"] for problem in figure["problems"]]
    assert not problems, "\n".join(problems)


def test_a_crashing_main_fails_the_check(student_kit_once, tmp_path):
    """Planted: ex02's main() raising at its start, and one that saves no figure (ex02 is
    NumPy only: no TensorFlow to start, about a second each)."""
    source = (KIT_ROOT / "solutions" / BY_ID["ex02"].filename).read_text()
    header = "def main():\n"
    assert source.count(header) == 1
    plants = {"crash": source.replace(header, header + '    raise RuntimeError("planted")\n'),
              "no figure": source.replace("save_figure(fig, 'runs/ex02/gradient_norms.png')",
                                          "'not saved'")}
    assert plants["no figure"] != source
    for name, planted in plants.items():
        case = make_case(student_kit_once, tmp_path / name.replace(" ", "-"), [])
        (case / "exercises" / BY_ID["ex02"].filename).write_text(planted)
        run = run_main(student_kit_once, case, "ex02")
        with pytest.raises(AssertionError, match="exit 1" if name == "crash" else "did not save"):
            assert_ran(run, "ex02")


def test_working_cell_keeps_a_cell_that_runs_and_names_the_one_that_does_not(capsys,
                                                                             monkeypatch):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    from rnnkit import mains

    class LSTMCell(keras.layers.LSTMCell):          # a student's cell that runs
        pass

    class GRUCell(keras.layers.Layer):              # a released stub's shape
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units, self.state_size = units, units

        def build(self, input_shape):
            raise NotImplementedError("GRUCell.build is not written yet: create the weights.")

    assert mains.working_cell(LSTMCell) is LSTMCell
    assert capsys.readouterr().out == ""
    assert mains.working_cell(GRUCell) is keras.layers.GRUCell
    said = capsys.readouterr().out
    assert said.startswith("ex03's GRUCell does not run yet (NotImplementedError: GRUCell.build")
    assert "keras.layers.GRUCell stands in for it in this run" in said
    assert "python -m rnnkit grade ex03" in said

    class Unrelated(GRUCell):                       # no exercise offers it: left alone
        pass
    assert mains.working_cell(Unrelated) is Unrelated

    for value, small in (("", False), ("0", False), ("1", True), ("yes", True)):
        monkeypatch.setenv(mains.SMALL, value)
        assert mains.small_budget() is small
