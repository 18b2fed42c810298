"""Issue 3's promise: each classic gated-cell mistake, planted in a copy of the solutions,
loses the right points and is named by the feedback.

Fast checks only (the memory training checks are deselected; one test below runs them on
one plant): 22 points — contract 2, layout 2, matches Keras 6, gradients 4, fit step 2,
mask/go_backwards 2, bidirectional 2, .keras round trip 2. A mistake in one cell costs that
cell's comparisons with Keras — matches 3 + gradients 2 + fit 1 + mask 1 + bidirectional 1
= 8 — while its contract, layout and round trip still hold (shapes are right and the cell
agrees with itself). The checks of the two cells are independent, so each submission carries
one LSTM and one GRU mistake (halving the gradings) and scores 22 - 8 - 8 = 6.
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from rnnkit import KIT_ROOT

SOURCE = (KIT_ROOT / "solutions" / "ex03_gated_cells.py").read_text()
FAST = "not memory and not vanilla"

PLANTS = {  # name: (edits, cell whose check must name the mistake, words of the diagnosis)
    "lstm_cs231n_order": (
        [("a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)",
          "a_i, a_f, a_o, a_c = ops.split(a, 4, axis=-1)")],
        "LSTMCell", ["i, f, o, g", "Keras orders"]),
    "lstm_forget_first": (
        [("a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)",
          "a_f, a_i, a_c, a_o = ops.split(a, 4, axis=-1)")],
        "LSTMCell", ["f, i, c, o", "Keras orders"]),
    "lstm_no_bias": (
        [("+ ops.matmul(h_prev, self.recurrent_kernel) + self.bias)",
          "+ ops.matmul(h_prev, self.recurrent_kernel))")],
        "LSTMCell", ["LSTM matches one without bias"]),
    "lstm_activations_swapped": (
        [("i, f, o = ops.sigmoid(a_i), ops.sigmoid(a_f), ops.sigmoid(a_o)",
          "i, f, o = ops.tanh(a_i), ops.tanh(a_f), ops.tanh(a_o)"),
         ("c = f * c_prev + i * ops.tanh(a_c)", "c = f * c_prev + i * ops.sigmoid(a_c)"),
         ("h = o * ops.tanh(c)  ", "h = o * ops.sigmoid(c)  ")],
        "LSTMCell", ["tanh and sigmoid exchanged"]),
    "gru_reset_before_product": (
        [("hh = ops.tanh(ax_h + r * ah_h)",
          "hh = ops.tanh(ax_h + ops.matmul(r * h_prev, self.recurrent_kernel[:, 2 * self.units:])"
          " + self.bias[1][2 * self.units:])")],
        "GRUCell", ["reset gate before the recurrent product"]),
    "gru_update_swapped": (
        [("h = z * h_prev + (1.0 - z) * hh", "h = (1.0 - z) * h_prev + z * hh")],
        "GRUCell", ["update gate's roles exchanged"]),
    "gru_no_bias": (
        [("ax = ops.matmul(inputs, self.kernel) + self.bias[0]", "ax = ops.matmul(inputs, self.kernel)"),
         ("ah = ops.matmul(h_prev, self.recurrent_kernel) + self.bias[1]",
          "ah = ops.matmul(h_prev, self.recurrent_kernel)")],
        "GRUCell", ["GRU matches one without bias"]),
    "gru_activations_swapped": (
        [("z = ops.sigmoid(ax_z + ah_z)", "z = ops.tanh(ax_z + ah_z)"),
         ("r = ops.sigmoid(ax_r + ah_r)", "r = ops.tanh(ax_r + ah_r)"),
         ("hh = ops.tanh(ax_h + r * ah_h)", "hh = ops.sigmoid(ax_h + r * ah_h)")],
        "GRUCell", ["tanh and sigmoid exchanged"]),
}


def plant(folder, edits):
    """A submission: the solutions of ex01 and ex03 with `edits` applied to ex03."""
    folder.mkdir(parents=True)
    source = SOURCE
    for old, new in edits:
        assert source.count(old) == 1, f"the plant no longer matches the solution: {old!r}"
        source = source.replace(old, new)
    (folder / "ex03_gated_cells.py").write_text(source)
    (folder / "ex01_simple_rnn.py").write_bytes(
        (KIT_ROOT / "solutions" / "ex01_simple_rnn.py").read_bytes())
    return folder


def grade_ex03(folder, out, selection=FAST):
    command = [sys.executable, "-m", "pytest", str(KIT_ROOT / "tests" / "grading" / "test_ex03.py"),
               "--target", str(folder), "--rnnkit-json", str(out), "-p", "no:terminal",
               "-p", "no:cacheprovider"]
    if selection:
        command += ["-k", selection]
    subprocess.run(command, cwd=KIT_ROOT, capture_output=True, timeout=600)
    return json.loads(out.read_text())


LSTM_PLANTS = [name for name in PLANTS if PLANTS[name][1] == "LSTMCell"]
GRU_PLANTS = [name for name in PLANTS if PLANTS[name][1] == "GRUCell"]
PAIRS = list(zip(LSTM_PLANTS, GRU_PLANTS))   # one LSTM and one GRU mistake per submission


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory):
    root = tmp_path_factory.mktemp("diagnosis")

    def run(pair):
        folder = plant(root / "-".join(pair), PLANTS[pair[0]][0] + PLANTS[pair[1]][0])
        document = grade_ex03(folder, root / f"{'-'.join(pair)}.json")
        return [(name, document) for name in pair]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {name: doc for results in pool.map(run, PAIRS) for name, doc in results}


def test_every_mistake_is_planted():
    assert len(PAIRS) == len(LSTM_PLANTS) == len(GRU_PLANTS) == 4


@pytest.mark.parametrize("name", list(PLANTS))
def test_mistake_loses_its_cells_points_and_is_named(diagnosed, name):
    document = diagnosed[name]
    _, cell, words = PLANTS[name]
    tests = document["tests"]
    assert sum(t["max_score"] for t in tests) == 22
    lost = {t["name"]: t["output"] for t in tests if t["score"] < t["max_score"]}
    assert document["score"] == 6, lost
    lost_here = [n for n in lost if f"({cell})" in n]
    assert sum(t["max_score"] - t["score"] for t in tests if t["name"] in lost_here) == 8, lost
    kept = ("Keras cell protocol", "Keras's layout", "saves to .keras")   # contract, layout, file
    assert sum(any(k in t["name"] for k in kept) for t in tests) == 6
    assert not any(k in n for k in kept for n in lost), lost
    matches = next(t for t in tests if "Every output" in t["name"] and f"({cell})" in t["name"])
    for word in words:
        assert word in matches["output"], matches["output"]


def test_correct_cells_get_no_diagnosis(graded_solutions):
    ex03 = [t for t in graded_solutions.tests if t["tags"][0] == "ex03"]
    assert ex03 and all(t["score"] == t["max_score"] for t in ex03)


def test_wrong_gate_order_fails_the_memory_check_scored_by_keras(tmp_path):
    """A CS231n-ordered LSTM would train as well as any, but its weights mean something else
    to keras.layers.LSTM, which scores them: the memory check trains only a cell whose values
    equal Keras's, so it fails, pointing to the check that found the cell wrong; the GRU's
    passes."""
    folder = plant(tmp_path / "cs231n", PLANTS["lstm_cs231n_order"][0])
    document = grade_ex03(folder, tmp_path / "memory.json", selection="memory")
    by_cell = {("LSTMCell" if "(LSTMCell)" in t["name"] else "GRUCell"): t
               for t in document["tests"]}
    assert by_cell["LSTMCell"]["score"] == 0, by_cell["LSTMCell"]["output"]
    assert "not trained" in by_cell["LSTMCell"]["output"]
    assert "same cause as 'Every output and the final states" in by_cell["LSTMCell"]["output"]
    assert by_cell["GRUCell"]["score"] == by_cell["GRUCell"]["max_score"]
