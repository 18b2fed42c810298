"""ex09's training check tells the classic teacher-forcing mistakes from a correct model: a
submission whose targets are not shifted by one (the decoder learns to copy its input, so it
decodes nothing right) loses the check's points, and the pass line the check uses stays far
above what such a model decodes. Measured when the budget was chosen (188 steps): unshifted
targets and a decoder never taught <stop> both decode 0.0 of the test dates; correct code
0.50-0.60 over seeds 0-4 (rnnkit.seq2seq.GRADED_TRAINING).

Then the corpus of classic mistakes (below): the unshifted targets are one of its plants.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex09_grading.py
(six gradings, two with training; see the report of issue 24 for the seconds)
"""
import re

import pytest

from generative_corpus import (assert_full_marks_officially, assert_named,
                               assert_no_other_check_lost, cases, grade_plants,
                               graded)
from tests.grading.test_ex09 import MARGIN


def test_unshifted_targets_stay_far_below_the_pass_line(planted):
    check = planted["training"]["Trained with your code"]
    decoded, reference = (int(p) / 100 for p in re.findall(r"(\d+)%", check["output"])[:2])
    # the pass line (reference - MARGIN) must stay well above the ~0 such a model decodes:
    # at least half of the reference's own score
    assert decoded < reference - MARGIN and reference - MARGIN >= reference / 2, check["output"]


# -- the corpus of classic mistakes, on a correct ex09 written in another style ------------------
# styled/ex09_seq2seq.py scores every point officially; copies of it with classic mistakes
# lose exactly the checks they break, each named in words a student recognises. Mistakes in
# different functions share a submission (one grading each); the searches' checks run with
# `-k`, only the first plant trains (its unshifted targets must be named by the training check).
MODULE = "ex09_seq2seq"
SEARCHES = "greedy or exhaustive or beam"
FINISH = "                finished.append((tokens, total, total / len(tokens) ** alpha))\n"
BEAM_CHECKS = ("wide enough to hold every", "width 1 with alpha = 0", "reference's (2, 0.7)",
               "reference's (3, 0.0)", "reference's (4, 1.0)")
# On the kit tests' course secret, the width-1 beam of that check never emits <stop> within
# max_length, so the mistakes about finished hypotheses do not change its answer: it keeps
# its points (measured; test_no_other_check_loses_points holds it to that).
WIDTH_ONE_NEVER_STOPS = ("width 1 with alpha = 0",)
# Each plant: ({mistake: (edits, {words of the check's title: words its feedback must
# contain})}, grade options). The checks named lose all their points; every other check
# graded keeps its points.
PLANTS = {
    "training": ({
        "decoder targets equal the inputs": (
            [("        decoder_out.append(seq + [TARGET.STOP] + pad)\n",
              "        decoder_out.append([TARGET.START] + seq + pad)\n")],
            {"Teacher forcing: inputs start": "your decoder targets are the decoder inputs",
             "Trained with your code": "Check teacher forcing"}),
        "greedy continues after <stop>": (
            [("        total += np.where(running, log_p[np.arange(n), best], 0.0)\n"
              "        columns.append(np.where(running, best, PAD))\n"
              "        running = running & (best != stop_id)\n"
              "        if not running.any():\n            break\n",
              "        total += log_p[np.arange(n), best]\n        columns.append(best)\n")],
            {"Greedy search: tokens": "your greedy decoding continues after <stop>"}),
        "exhaustive search without the cut sequences": (
            [("            if token == stop_id or len(tokens) == max_length:\n",
              "            if token == stop_id:\n"),
             ("            else:\n                visit(tokens, score, int(token), states)\n",
              "            elif len(tokens) < max_length:\n"
              "                visit(tokens, score, int(token), states)\n")],
            {"Exhaustive search returns": "leaves out the sequences cut at max_length"}),
    }, ("-k", f"teacher_forcing or trained_exact_match or {SEARCHES}")),
    "sums": ({
        "greedy sums log-probabilities after <stop>": (
            [("        total += np.where(running, log_p[np.arange(n), best], 0.0)\n",
              "        total += log_p[np.arange(n), best]\n")],
            {"Greedy search: tokens": "your log-probabilities keep summing after <stop>"}),
        "beam without length normalisation": (
            [(FINISH, "                finished.append((tokens, total, total))\n")],
            {"wide enough to hold every": "not divided by len^alpha",
             "reference's (2, 0.7)": "not divided by len^alpha",
             "reference's (4, 1.0)": "not divided by len^alpha"}),
    }, ("--quick", "-k", SEARCHES)),
    "length": ({
        "beam length leaves <stop> out": (
            [(FINISH, "                size = max(len(tokens) - (tokens[-1] == stop_id), 1)\n"
                      "                finished.append((tokens, total, total / size ** alpha))\n")],
            {"wide enough to hold every": "your length leaves <stop> out",
             "reference's (2, 0.7)": "your length leaves <stop> out",
             "reference's (4, 1.0)": "your length leaves <stop> out"}),
    }, ("--quick", "-k", "beam")),
    # a plant of its own: the official seeds are drawn from the file, and one more edit in
    # the "length" plant drew inputs on which its beam check did not see that mistake
    "graph": ({
        # right when called eagerly, but fit calls a compiled loss in a tf.function
        "seq2seq_loss written with NumPy": (
            [("    real = keras.ops.cast(keras.ops.greater(targets, PAD), per_position.dtype)\n",
              "    real = (np.asarray(targets) > PAD).astype(\"float32\")\n")],
            {"mean negative log-likelihood over real": [
                "seq2seq_loss is called inside a tf.function during training",
                "np.asarray on a symbolic tensor fail there", "use tf/keras.ops"]}),
    }, ("--quick", "-k", "loss_ignores_padding")),
    "stripped": ({
        "<stop> stripped from the hypotheses": (
            [(FINISH, "                kept = tokens[:-1] if tokens[-1] == stop_id else tokens\n"
                      "                finished.append((kept, total,\n"
                      "                                 total / len(tokens) ** alpha))\n")],
            {title: "your hypotheses lost their <stop>" for title in BEAM_CHECKS
             if title not in WIDTH_ONE_NEVER_STOPS}),
    }, ("--quick", "-k", "beam")),
    "expanding": ({
        "finished hypotheses keep expanding": (
            [("            else:\n                active.append((tokens, total, row))\n",
              "            active.append((tokens, total, row))\n")],
            {title: "a finished hypothesis keeps expanding" for title in BEAM_CHECKS
             if title not in WIDTH_ONE_NEVER_STOPS}),
    }, ("--quick", "-k", "beam")),
}


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return graded(tmp_path_factory, "ex09_styled", MODULE, "ex09")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return grade_plants(tmp_path_factory, "ex09", MODULE, PLANTS)


def test_the_styled_module_scores_every_point_officially(correct):
    assert_full_marks_officially(correct)


CASES, IDS = cases(PLANTS)


@pytest.mark.parametrize("plant, mistake, title, words", CASES, ids=IDS)
def test_each_mistake_loses_its_check_and_is_named(planted, plant, mistake, title, words):
    assert_named(planted[plant][title], words)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_no_other_check_loses_points(planted, plant):
    assert_no_other_check_lost(planted[plant], PLANTS, plant)
