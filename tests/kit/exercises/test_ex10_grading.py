"""ex10's corpus of classic mistakes: tests/kit/exercises/styled/ex10_attention.py, a correct
ex10 written in another style, scores every point officially; copies of it with a classic
mistake planted lose exactly the checks that mistake breaks, each named in words a student
recognises. Mistakes in different functions share a submission (one grading each).

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex10_grading.py
(five gradings of ex10; the correct one trains the seq2seq with attention: 55 s in all
on 2 busy cores)
"""
import pytest

from generative_corpus import (assert_full_marks_officially, assert_named,
                               assert_no_other_check_lost, cases, grade_plants, graded)

MODULE = "ex10_attention"
SOFTMAX = ("        e = tf.exp(e - tf.reduce_max(e, axis=-1, keepdims=True))\n"
           "        a = e / tf.reduce_sum(e, axis=-1, keepdims=True)\n")
MASK = ("        if mask is not None:\n"
        "            e += -1e9 * (1.0 - tf.cast(mask, e.dtype))[:, None, :]\n")
WEIGHTS, CONTEXT = "attention weights equal", "context vectors equal"
STACK, GRADIENT, LESSON = "stack of LSTM layers", "first_layer_gradient_norm", "vanishes"
# a wrong attention layer also makes the seq2seq with attention wrong, and its training is
# then not credited: both say so
SEQ2SEQ, TRAINED = "seq2seq with attention, and its step model", "decodes unseen dates"
ALSO = {SEQ2SEQ: "your BahdanauAttention differs from Keras's", TRAINED: "not credited"}
PLANTS = {
    "axis": ({
        "softmax over the query steps": (
            [(SOFTMAX, SOFTMAX.replace("axis=-1", "axis=1"))],
            {WEIGHTS: "the softmax runs over the keys", CONTEXT: "the softmax runs over",
             **ALSO}),
        "the gradient of the last layer": (
            [('    variables = model.get_layer("rnn_0").trainable_variables\n',
              '    last = [layer.name for layer in model.layers if layer.name.startswith("rnn_")]\n'
              '    variables = model.get_layer(last[-1]).trainable_variables\n')],
            {GRADIENT: "the gradient of the LAST recurrent layer", LESSON: "fix that first"}),
    }, ()),
    "mask": ({
        "the mask ignored": (
            [(MASK, "")],
            {WEIGHTS: "weight to masked encoder steps", CONTEXT: "weight to masked", **ALSO}),
        "no residual connection": (
            [("        hidden = hidden + out if residual else out\n", "        hidden = out\n")],
            {STACK: "your residual stack computes the plain one",
             GRADIENT: "your build_stack is wrong", LESSON: "add each layer's input"}),
    }, ()),
    "tanh": ({
        "the score without its tanh": (
            [("tf.tanh(q[:, :, None] + k[:, None])", "(q[:, :, None] + k[:, None])")],
            {WEIGHTS: "without the tanh", CONTEXT: "without the tanh"}),
    }, ("-k", "attention_weights or attention_context")),
    "state": ({
        "the context from the decoder's state": (
            [('        return tf.einsum("nts,nsd->ntd", a, values), a\n',
              '        return tf.einsum("nts,nsd->ntd", a, query), a\n')],
            {CONTEXT: "your context vectors mix the queries"}),
        # graded on the context alone: where T != S or Dq != Dv (the rectangular case) this
        # mistake raises a shape error, which every check of the layer meets
    }, ("-k", "attention_context")),
}


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return graded(tmp_path_factory, "ex10_styled", MODULE, "ex10")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return grade_plants(tmp_path_factory, "ex10", MODULE, PLANTS)


def test_the_styled_module_scores_every_point_officially(correct):
    assert_full_marks_officially(correct)


CASES, IDS = cases(PLANTS)


@pytest.mark.parametrize("plant, mistake, title, words", CASES, ids=IDS)
def test_each_mistake_loses_its_check_and_is_named(planted, plant, mistake, title, words):
    assert_named(planted[plant][title], words)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_no_other_check_loses_points(planted, plant):
    assert_no_other_check_lost(planted[plant], PLANTS, plant)
