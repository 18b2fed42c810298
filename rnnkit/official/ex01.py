"""ex01's oracles, for the grader: the twins of the probes around Keras's own SimpleRNN (an
implementation nobody here wrote), and the outputs of the classic mistaken cells that the
feedback names, and the answers to the quiz on the lecture's applications (official-only:
the student kit carries no answer). Never loaded by a student's process.

Shapes: N batch, T time, D input features, H units (`rnnkit.probes.ex01`).
"""
from __future__ import annotations

import numpy as np

from rnnkit.official import cells as variants
from rnnkit.probes import cells
from rnnkit.probes.ex01 import D, H, T


def keras_cell_step(x, h, weights):
    import keras

    cell = keras.layers.SimpleRNNCell(H)
    cell(x, [h])
    cell.set_weights(weights)
    output, states = cell(x, [h])
    return {"output": np.asarray(output), "state": np.asarray(states[0])}


def keras_sequence(x, h0, weights, mask=None):
    import keras

    layer = cells.built(keras.layers.SimpleRNN(H, return_sequences=True, return_state=True),
                        weights, D)
    outputs, state = cells.sequence(layer, x, None if mask is not None else [h0], mask=mask)
    return {"outputs": outputs, "state": state}


def keras_gradients(x, h0, weights, upstream):
    import keras

    layer = cells.built(keras.layers.SimpleRNN(H, return_sequences=True), weights, D)
    return cells.gradients(layer, x, [h0], upstream)


def keras_fit_steps(cases):
    import keras

    return cells.fit_steps(keras.layers.SimpleRNN(H), cases)


def keras_classifier_outputs(x, weights):
    import keras

    return np.asarray(cells.classifier(keras.layers.SimpleRNN(H), (T, D), weights)(x))


def cell_mistakes(x, h0, weights, step=False):
    """{sentence: output} of the classic mistaken vanilla cells on the same inputs and weights:
    the outputs (N, T, H), or with `step` one step's output (N, H) for x (N, D)."""
    sequences = x[:, None] if step else x                                 # (N, T, D)
    candidates = variants.cell_mistakes("SimpleRNNCell", sequences, [h0], weights)
    if step:
        candidates = {sentence: h_seq[:, 0] for sentence, h_seq in candidates.items()}
    return candidates


# -- the problem-shape models around a mistaken cell ----------------------------------------
def _variant_cell_class():
    """A Keras cell computing one of the mistaken vanilla cells (rnnkit.official.cells), with
    the weights of the right one (kernel, recurrent_kernel, bias: the same list to set)."""
    import keras
    from keras import ops

    class VariantCell(keras.layers.Layer):
        def __init__(self, units, activation="tanh", use_bias=True, ignored=None, **kwargs):
            super().__init__(**kwargs)
            self.units, self.state_size, self.output_size = units, units, units
            self.activation = {"tanh": ops.tanh, "sigmoid": ops.sigmoid,
                               "linear": lambda a: a}[activation]
            self.use_bias, self.ignored = use_bias, ignored

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")
            self.bias = self.add_weight(shape=(self.units,), name="bias")

        def call(self, inputs, states):
            h = states[0] if isinstance(states, (list, tuple)) else states
            a = ops.zeros_like(h)                                        # (N, H)
            if self.ignored != "kernel":
                a = a + ops.matmul(inputs, self.kernel)
            if self.ignored != "recurrent_kernel":
                a = a + ops.matmul(h, self.recurrent_kernel)
            if self.use_bias:
                a = a + self.bias
            h = self.activation(a)
            return h, [h]

    return VariantCell


MISTAKES = [*variants.SIMPLE_RNN_MISTAKES, *variants.SIMPLE_RNN_IGNORED]   # their sentences


def _cell_maker(mistake=None):
    """units -> a cell computing `mistake` (a sentence of cell_mistakes), or Keras's with None."""
    import keras

    if mistake is None:
        return keras.layers.SimpleRNNCell
    if mistake in variants.SIMPLE_RNN_MISTAKES:
        options = dict(variants.SIMPLE_RNN_MISTAKES[mistake])
    elif mistake in variants.SIMPLE_RNN_IGNORED:
        options = {"ignored": variants.SIMPLE_RNN_IGNORED[mistake]}
    else:
        raise ValueError(f"no vanilla-cell mistake reads {mistake!r}")
    cell = _variant_cell_class()
    return lambda units: cell(units, **options)


def _problem_shape_model(name, make_cell):
    """The problem-shape model `name` as solutions/ builds it (docstrings in ex01's module),
    its recurrent layers RNN(make_cell(units)); the same layers in the same order, so the same
    weight list sets it."""
    import keras
    from keras import layers

    from rnnkit.probes.ex01 import SHAPE_BUILDERS

    arguments = SHAPE_BUILDERS[name][0]
    input_dim, units, output_dim = arguments[:3]
    if name == "one_to_one":
        inputs = keras.Input(shape=(input_dim,))
        h = layers.RNN(make_cell(units))(layers.Reshape((1, input_dim))(inputs))
    elif name == "one_to_many":
        inputs = keras.Input(shape=(input_dim,))
        h = layers.RNN(make_cell(units), return_sequences=True)(
            layers.RepeatVector(arguments[3])(inputs))
    elif name in ("many_to_one", "many_to_many"):
        inputs = keras.Input(shape=(None, input_dim))
        h = layers.RNN(make_cell(units), return_sequences=name == "many_to_many")(inputs)
    elif name == "encoder_decoder":
        inputs = keras.Input(shape=(None, input_dim))
        summary = layers.RNN(make_cell(units))(inputs)
        h = layers.RNN(make_cell(units), return_sequences=True)(
            layers.RepeatVector(arguments[3])(summary), initial_state=[summary])
    else:
        raise ValueError(f"no problem-shape model named {name!r}")
    return keras.Model(inputs, layers.Dense(output_dim)(h))


def problem_shape_outputs(name, weights, xs, mistake=None):
    """The outputs on each of `xs` of the problem-shape model `name` loaded with `weights`,
    its cells those of `mistake` (a sentence of cell_mistakes), or right ones with None."""
    model = _problem_shape_model(name, _cell_maker(mistake))
    model.set_weights(weights)
    return [np.asarray(model(x)) for x in xs]


def problem_shape_mistakes(name, weights, xs):
    """{sentence: outputs on each of xs} of the problem-shape model `name` around each
    mistaken vanilla cell that cell_mistakes names."""
    return {sentence: problem_shape_outputs(name, weights, xs, sentence) for sentence in MISTAKES}


def classifier_mistakes(x, weights):
    """{sentence: outputs} of the round-trip classifier (keras_classifier_outputs) around each
    mistaken vanilla cell that cell_mistakes names."""
    import keras

    return {sentence: np.asarray(cells.classifier(keras.layers.RNN(_cell_maker(sentence)(H)),
                                                  (T, D), weights)(x))
            for sentence in MISTAKES}


# -- the quiz: each application's problem shape, and whether it is seq2seq ----------------------
QUIZ_SHAPES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many, aligned",
               "many-to-many, not aligned")
SEQ2SEQ = "many-to-many, not aligned"      # seq2seq: an encoder reads, a decoder writes
# application -> (the shapes accepted, why: the sentence the feedback gives). Two shapes are
# accepted where both are defensible, and the sentence says why.
QUIZ = {
    "sentiment": (("many-to-one",),
                  "the review's words are read one per step and one label comes out after the "
                  "last: many-to-one; no sequence is written, so not seq2seq"),
    "time_series": (("many-to-one", "many-to-many, aligned"),
                    "T values are read and the next one comes out after the last: many-to-one "
                    "(a forecaster trained to predict the next value after every step, ex04, is "
                    "the same task aligned: many-to-many, aligned, also right); no sequence of "
                    "its own length is written: not seq2seq"),
    "speech_recognition": ((SEQ2SEQ,),
                           "the frames are read and the words come out, far fewer than the "
                           "frames and with no frame given per word (ex06 needs CTC for this): "
                           "many-to-many, not aligned, which is seq2seq"),
    "translation": ((SEQ2SEQ,),
                    "the whole sentence is read before its translation is written, of another "
                    "length and word order (ex09's encoder-decoder): many-to-many, not "
                    "aligned, which is seq2seq"),
    "captioning": (("one-to-many",),
                   "one image goes in (no sequence is read) and a sentence comes out word by "
                   "word (ex08): one-to-many; not seq2seq, since the input is no sequence"),
    "summarisation": ((SEQ2SEQ,),
                      "the text is read whole, then a shorter text is written, no word of the "
                      "summary tied to a step of the text: many-to-many, not aligned, which is "
                      "seq2seq"),
    "structured_input": (("many-to-one",),
                         "the glimpses are the input sequence and one class comes out after the "
                         "last: many-to-one; no sequence is written, so not seq2seq"),
    "variable_size": (("many-to-many, aligned",),
                      "one tag is written for each word as it is read, whatever the sentence's "
                      "length: many-to-many, aligned; not seq2seq, since each output is tied to "
                      "its input step"),
    "image_denoising": (("one-to-one", "many-to-many, aligned"),
                        "an image maps to an image of the same size: no sequence is read and "
                        "emitted of a different length, so not seq2seq (one-to-one; read row by "
                        "row, each clean row written as its noisy row is read, it is "
                        "many-to-many, aligned, also right)"),
    "question_answering": ((SEQ2SEQ,),
                           "the question is encoded whole, then the answer decoded word by "
                           "word, of its own length: many-to-many, not aligned, which is "
                           "seq2seq"),
}


def _spelled(text: str) -> str:
    """Letter case, punctuation and spacing set aside: "Many-to-many (not aligned)" reads
    as "many to many not aligned"."""
    import re

    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _shape_of(text: str) -> str | None:
    """The shape of QUIZ_SHAPES a student's string names, or None."""
    return {_spelled(shape): shape for shape in QUIZ_SHAPES}.get(_spelled(text))


def quiz_feedback(application: str, got: dict) -> str | None:
    """Why the student's answer for `application` (rnnkit.probes.ex01.probe_application_shape)
    is wrong, in one line; None when it is right."""
    accepted, why = QUIZ[application]
    seq2seq = accepted[0] == SEQ2SEQ
    right = " or ".join(f'"{shape}"' for shape in accepted) + \
        (", seq2seq" if seq2seq else ", not seq2seq")
    if got["found"] == "none":
        return (f"application_shapes() must return a dict {{application: (shape, is_seq2seq)}}, "
                f"got a {got['type']}")
    if got["found"] == "missing":
        return (f"your dict has no entry {application!r} (its keys: {', '.join(got['keys'])}): "
                "give one (shape, is_seq2seq) pair per key of APPLICATIONS")
    if got["found"] == "other":
        return f"expected a pair (shape, is_seq2seq) for {application!r}, got {got['value']}"
    shape = _shape_of(got["shape"]) if got["shape_is_str"] else None
    if shape is None:
        return (f"{got['shape']} is not one of the shapes: "
                + ", ".join(f'"{shape}"' for shape in QUIZ_SHAPES))
    if not isinstance(got["seq2seq"], bool):
        return f"is_seq2seq must be True or False, got {got['seq2seq']}"
    if shape in accepted and got["seq2seq"] == seq2seq:
        return None
    if shape in accepted:
        return (f'the shape "{shape}" is right, but you said {"" if got["seq2seq"] else "not "}'
                f'seq2seq; it is {"" if seq2seq else "not "}seq2seq, which is exactly the '
                f'"many-to-many, not aligned" shape: {why}')
    return (f'you answered "{shape}", {"seq2seq" if got["seq2seq"] else "not seq2seq"}; it is '
            f"{right}: {why}")
