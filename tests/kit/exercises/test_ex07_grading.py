"""The ex07 grader names the classic mistakes: one submission with six of them planted (one
per function, so each check sees its own), graded once; exact score and feedback lines.
Its ex03 LSTMCell is wrong too (gates in CS231n's order): Keras's LSTMCell must stand in, so
the checks that run a model (lm_step) still give their points, and the report says so.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex07_grading.py   (one grading, ~1 min)
"""
import pytest

from conftest import copy_solutions_into, grade

# (the reference line, the mistaken line) — each must occur exactly once in the solution.
MISTAKES = [
    ("    targets = table.encode_batch(texts, length, stop=True)              # (N, T)",
     "    targets = table.encode_batch(texts, length, start=True)"),          # not shifted
    ("    return softmax(logits / temperature)", "    return softmax(logits * temperature)"),
    ("    np.put_along_axis(keep, order[:, :k], True, axis=-1)",
     "    np.put_along_axis(keep, order[:, :k + 1], True, axis=-1)"),          # k + 1 tokens
    ("    last = np.minimum(np.sum(mass < p, axis=-1), probabilities.shape[-1] - 1)   # (N,)",
     "    last = np.maximum(np.sum(mass < p, axis=-1) - 1, 0)"),               # stops short of p
    ("    u = rng.random(len(probabilities))                                  # (N,)\n"
     "    return np.sum(cdf <= u[:, None], axis=-1)                           # (N,)",
     "    return np.array([np.random.choice(len(row), p=row) for row in probabilities])"),
    ("    ids = generate(lambda tokens, s: lm_step(model, tokens, s), list(state), START, STOP,",
     "    ids = generate(lambda tokens, s: lm_step(model, tokens * 0 + START, s), list(state),"
     " START, STOP,"),                                                     # never fed back
]
EXPECTED_FEEDBACK = {
    "targets shifted by one": "your targets equal your inputs",
    "tau = 0 is greedy": "you multiplied the logits by the temperature",
    "Top-k keeps exactly": "one token too many",
    "Top-p keeps the smallest": "less than p = ",
    "inverse CDF from the Generator": "draw only from the rng you are given",
    "feeds each token back": "the chosen token is not fed back in",
    "repeats itself for one seed": "must draw only from the Generator it is given",
    "validation perplexity nears": "Check teacher_forcing_pairs",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = copy_solutions_into(tmp_path_factory.mktemp("ex07_mistakes") / "submission")
    path = folder / "ex07_char_rnn.py"
    source = path.read_text()
    for right, wrong in MISTAKES:
        assert source.count(right) == 1, right
        source = source.replace(right, wrong)
    path.write_text(source)
    cells = folder / "ex03_gated_cells.py"
    right = "        a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)"
    assert cells.read_text().count(right) == 1
    cells.write_text(cells.read_text().replace(right, right.replace("a_c, a_o", "a_o, a_c")))
    return grade(folder, "ex07", tmp=tmp_path_factory.mktemp("ex07_results"))


def test_exact_score(graded):
    # left: greedy 1 and lm_step 2; seeded generation fails too (np.random is not seeded)
    assert (graded.score("ex07"), graded.max_score("ex07")) == (3, 21), graded.outputs("ex07")


def test_a_wrong_ex03_cell_is_replaced_and_reported(graded):
    assert "keras.layers.LSTMCell stood in for it here" in graded.completed.stdout


@pytest.mark.parametrize("check, sentence", list(EXPECTED_FEEDBACK.items()))
def test_feedback_names_the_mistake(graded, check, sentence):
    lines = [t["output"] for t in graded.tests if check in t["name"]]
    assert len(lines) == 1, [t["name"] for t in graded.tests]
    assert sentence in lines[0], lines[0]
