"""The ex08 corpus of classic mistakes: a correct ex08 written in another style than
solutions/ (styled/ex08_captioning.py) scores every point officially; copies of it with
classic mistakes lose exactly the checks they break, each named in words a student
recognises. Mistakes in different functions share a submission (one grading each). Only the
first plant is graded with the training checks: its unmasked loss must not be credited by
them (they must say why, before any training); the others grade with `--quick` or `-k`.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex08_grading.py
(four gradings, one of them with training; see the report of issue 24 for the seconds)
"""
import pytest

from generative_corpus import (assert_full_marks_officially, assert_named,
                               assert_no_other_check_lost, cases, grade_plants,
                               graded)

MODULE = "ex08_captioning"
IN_GRAPH = ["is called inside a tf.function during training",
            "np.asarray on a symbolic tensor fail there", "use tf/keras.ops"]
GREEDY_RETURN = "    return np.stack(columns, axis=1).astype(np.int32)\n"
# Each plant: ({mistake: (edits of the styled module, {words of the check's title: words
# its feedback must contain})}, grade options). The checks named lose all their points;
# every other check must keep its points.
PLANTS = {
    "training": ({
        "unmasked loss": (
            [("    return ops.sum(per_token * weight) / ops.maximum(ops.sum(weight), 1.0)\n",
              "    return ops.mean(per_token)\n")],
            {"teacher-forced NLL averaged": "counts the <pad> positions",
             "Trained on single objects": "not credited: your caption_loss",
             "never saw (test split)": "not credited: your caption_loss"}),
        "<start> kept in the output": (
            [(GREEDY_RETURN, "    ids = np.stack(columns, axis=1)\n"
                             "    ids = np.hstack([np.full((n, 1), START), ids])\n"
                             "    return ids.astype(np.int32)\n")],
            {"Greedy decoding picks": "your captions begin with <start>",
             # the grader says a function's mistake once, and points there from the others
             "never emits <stop> stops": "same cause as 'Greedy decoding picks"}),
        "BLEU without brevity penalty": (
            [("    brevity = 1.0 if c > r else math.exp(1 - r / c)\n", "    brevity = 1.0\n")],
            {"corpus_bleu equals": "apply the brevity penalty"}),
    }, ()),
    "quick": ({
        "greedy never stops": (
            [("        columns.append(np.where(alive, choice, PAD))\n"
              "        alive = alive & (choice != STOP)\n        if not alive.any():\n"
              "            break\n", "        columns.append(choice)\n")],
            {"Greedy decoding picks": "your decoding never stops"}),
        "BLEU without clipping": (
            [("                clipped[n - 1] += min(k, most.get(gram, 0))\n",
              "                clipped[n - 1] += k if gram in most else 0\n")],
            {"corpus_bleu equals": "clip each n-gram's count"}),
        "decoder targets equal the inputs": (
            [("    decoder_out = seq[:, 1:]\n", "    decoder_out = seq[:, :-1]\n")],
            {"Teacher forcing: inputs drop": "your decoder targets equal its inputs",
             "teacher-forced NLL averaged": "your targets are not shifted"}),
    }, ("--quick",)),
    "padded": ({
        "a right answer padded to max_length": (
            [(GREEDY_RETURN, "    ids = np.stack(columns, axis=1)\n"
                             "    ids = np.pad(ids, ((0, 0), (0, max_length - ids.shape[1])))\n"
                             "    return ids.astype(np.int32)\n")],
            {"Greedy decoding picks": "right but padded with <pad> to max_length"}),
        "BLEU averaged per sentence": (
            [("def corpus_bleu(references, hypotheses, max_n=4):\n",
              "def corpus_bleu(references, hypotheses, max_n=4):\n"
              "    scores = [_one_bleu([r], [h], max_n) for r, h in zip(references, hypotheses)]\n"
              "    return sum(scores) / len(scores)\n\n\n"
              "def _one_bleu(references, hypotheses, max_n=4):\n")],
            {"corpus_bleu equals": "over the whole corpus before dividing"}),
        # right when called eagerly, but train_captioner calls it in a tf.function
        "caption_loss written with NumPy": (
            [("    weight = ops.cast(keep, per_token.dtype)\n",
              "    weight = np.asarray(keep, dtype=\"float32\")\n")],
            {"teacher-forced NLL averaged": ["caption_loss " + IN_GRAPH[0], *IN_GRAPH[1:]]}),
    }, ("--quick", "-k", "greedy or bleu or masked_loss")),
    "graph": ({
        # the case: --quick and pack were green, only the training failed. The loss
        # check, which calls it too, keeps its points: the mistake is teacher_forcing's
        "teacher_forcing written with NumPy": (
            [('    seq = ops.cast(ops.convert_to_tensor(sequences), "int32")\n',
              '    seq = ops.convert_to_tensor(np.asarray(sequences, dtype="int32"))\n')],
            {"Teacher forcing: inputs drop": ["teacher_forcing " + IN_GRAPH[0], *IN_GRAPH[1:]]}),
    }, ("--quick", "-k", "teacher")),
}


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return graded(tmp_path_factory, "ex08_styled", MODULE, "ex08")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return grade_plants(tmp_path_factory, "ex08", MODULE, PLANTS)


def test_the_styled_module_scores_every_point_officially(correct):
    assert_full_marks_officially(correct)


CASES, IDS = cases(PLANTS)


@pytest.mark.parametrize("plant, mistake, title, words", CASES, ids=IDS)
def test_each_mistake_loses_its_check_and_is_named(planted, plant, mistake, title, words):
    assert_named(planted[plant][title], words)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_no_other_check_loses_points(planted, plant):
    assert_no_other_check_lost(planted[plant], PLANTS, plant)
