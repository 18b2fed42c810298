"""ex09's training check tells the classic teacher-forcing mistakes from a correct model: a
submission whose targets are not shifted by one (the decoder learns to copy its input, so it
decodes nothing right) loses the check's points, and the pass line the check uses stays far
above what such a model decodes. Measured when the budget was chosen (188 steps): unshifted
targets and a decoder never taught <stop> both decode 0.0 of the test dates; correct code
0.50-0.60 over seeds 0-4 (rnnkit.seq2seq.GRADED_TRAINING).

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex09_grading.py   (one training, ~30 s)
"""
import re

from tests.grading.test_ex09 import MARGIN
from conftest import copy_solutions_into, grade

RIGHT = ("        targets[row, :len(sequence)] = sequence\n"
         "        targets[row, len(sequence)] = TARGET.STOP\n")
WRONG = "        targets[row] = inputs[row]\n"               # the decoder's inputs, not shifted


def test_unshifted_targets_lose_the_training_check(tmp_path):
    folder = copy_solutions_into(tmp_path / "submission")
    path = folder / "ex09_seq2seq.py"
    source = path.read_text()
    assert source.count(RIGHT) == 1, RIGHT
    path.write_text(source.replace(RIGHT, WRONG))
    graded = grade(folder, "ex09", "-k", "trained_exact_match", tmp=tmp_path)
    (check,) = graded.document["tests"]
    assert check["score"] == 0 < check["max_score"], check["output"]
    assert "Check teacher forcing" in check["output"], check["output"]
    decoded, reference = (int(p) / 100 for p in re.findall(r"(\d+)%", check["output"])[:2])
    # the pass line (reference - MARGIN) must stay well above the ~0 such a model decodes:
    # at least half of the reference's own score
    assert decoded < reference - MARGIN and reference - MARGIN >= reference / 2, check["output"]
