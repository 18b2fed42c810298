"""The ex07 corpus of classic mistakes: a correct ex07 written in another style than
solutions/ (styled/ex07_char_rnn.py) scores every point officially; copies of it with
classic mistakes lose exactly the checks they break, each named in words a student
recognises. Mistakes in different functions share a submission (one grading each); only
the first plants the teacher-forcing mistake that the training checks must name, so only it
and the correct module are graded with training (`--quick` or `-k` for the others).
One plant also carries a wrong ex03 LSTMCell (CS231n's gate order): Keras's LSTMCell must
stand in, and the report says so.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex07_grading.py
(four gradings, two of them with training; see the report of issue 24 for the seconds)
"""
import pytest

from generative_corpus import (assert_full_marks_officially, assert_named,
                               assert_no_other_check_lost, cases, grade_plants,
                               graded)

MODULE = "ex07_char_rnn"
# Each plant: {mistake: (edits of the styled module, {words of the check's title: words its
# feedback must contain})}. The checks named lose all their points; every other check that
# loses points must name one of the plant's mistakes too.
PLANTS = {
    "training": ({
        "pairs not shifted (no <start>)": (
            [("        fed = [START] + ids\n", "        fed = ids\n")],
            {"targets shifted by one": "your inputs have no <start>",
             "validation perplexity nears": "Check teacher_forcing_pairs",
             "parse as often": "check teacher_forcing_pairs first"}),
        "temperature on the probabilities": (
            [("    z = z - z.max(axis=1, keepdims=True)\n    with np.errstate(over=\"ignore\"):\n"
              "        z = z / temperature\n    return _softmax_rows(z)\n",
              "    q = _softmax_rows(z)\n    return _softmax_rows(q / temperature)\n")],
            {"tau = 0 is greedy": "you applied the temperature to the probabilities"}),
        "argmax over axis 0": (
            [("    return np.array([int(np.argmax(row)) for row in rows], dtype=np.int64)\n",
              "    return np.argmax(rows, axis=0)\n")],
            {"greedy returns": "argmax over axis 0"}),
        "top-k keeps k + 1": (
            [("key=lambda j: (-row[j], j))[:k]", "key=lambda j: (-row[j], j))[:k + 1]")],
            {"Top-k keeps exactly": "one token too many"}),
        "top-p stops short of p": (
            [("        total, smallest = 0.0, None\n",
              "        total, smallest = 0.0, row.max()\n"),
             ("            total += row[j]\n            smallest = row[j]\n"
              "            if total >= p:\n                break\n",
              "            if total + row[j] >= p:\n                break\n"
              "            total += row[j]\n            smallest = row[j]\n")],
            {"Top-p keeps the smallest": "less than p = "}),
        "np.random instead of the rng": (
            [("        u = rng.random()\n", "        u = np.random.random()\n")],
            {"inverse CDF": "draw only from the rng you are given",
             "repeats itself for one seed": "must draw only from the Generator it is given"}),
        "the chosen token not fed back": (
            [("        feed = np.array([STOP if done else int(c) for done, c in zip(finished, "
              "chosen)])\n", "        feed = np.full(n, START)\n")],
            {"feeds each token back": "the chosen token is not fed back in"}),
    }, ()),
    "quick": ({
        "a subnormal temperature overflows": (
            [("    z = z - z.max(axis=1, keepdims=True)\n    with np.errstate(over=\"ignore\"):\n"
              "        z = z / temperature\n", "    z = z / temperature\n")],
            {"tau = 0 is greedy": "subtract each row's maximum BEFORE dividing"}),
        "top-p cut where the float sum reaches 1.0": (
            [("    if p >= 1:\n        return q\n", "")],
            {"Top-p keeps the smallest": "p >= 1 keeps every token"}),
        "top-k not renormalised": (
            [("        out[i, best] = e / e.sum()\n",
              "        out[i, best] = _softmax_rows(row[None])[0][best]\n")],
            {"Top-k keeps exactly": "renormalise over the tokens you keep"}),
        "targets equal the inputs": (
            [("        wanted = ids + [STOP]\n", "        wanted = fed\n")],
            {"targets shifted by one": "your targets equal your inputs"}),
    }, ("--quick",)),
    "temperature": ({
        "dividing the probabilities by tau": (
            [("    z = z - z.max(axis=1, keepdims=True)\n    with np.errstate(over=\"ignore\"):\n"
              "        z = z / temperature\n    return _softmax_rows(z)\n",
              "    q = _softmax_rows(z) / temperature\n"
              "    return q / q.sum(axis=1, keepdims=True)\n")],
            {"tau = 0 is greedy": "does not change with the temperature"}),
        "argmax without an axis": (
            [("    return np.array([int(np.argmax(row)) for row in rows], dtype=np.int64)\n",
              "    return np.argmax(rows)\n")],
            {"greedy returns": "np.argmax without axis="}),
    }, ("--quick", "-k", "temperature or greedy")),
}
CS231N_GATES = [("        a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)",
                 "        a_i, a_f, a_o, a_c = ops.split(a, 4, axis=-1)")]


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return graded(tmp_path_factory, "ex07_styled", MODULE, "ex07")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return grade_plants(tmp_path_factory, "ex07", MODULE, PLANTS,
                        cells={"training": CS231N_GATES})


def test_the_styled_module_scores_every_point_officially(correct):
    assert_full_marks_officially(correct)


CASES, IDS = cases(PLANTS)


@pytest.mark.parametrize("plant, mistake, title, words", CASES, ids=IDS)
def test_each_mistake_loses_its_check_and_is_named(planted, plant, mistake, title, words):
    assert_named(planted[plant][title], words)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_no_other_check_loses_points(planted, plant):
    assert_no_other_check_lost(planted[plant], PLANTS, plant)


def test_a_wrong_ex03_cell_is_replaced_and_reported(planted):
    checks = planted["training"]
    assert "keras.layers.LSTMCell stood in for it here" in checks.graded.completed.stdout
    assert checks["lm_step gives the logits"]["score"] == 2      # Keras's cell stood in
