"""Grading ex10 (bonus) — attention and depth: additive attention as a Keras layer, a deep
stack of recurrent layers with residual connections, the gradient that reaches its first
layer (`ex10_attention.py`).

The attention layer is compared with `keras.layers.AdditiveAttention(use_scale=True)` fed by
the same projections of query and keys (q W_q, k W_k, scale = v): an oracle written outside
the project, masks included. The stack is compared with the same stack built here from
keras.layers.LSTM, and the gradient norm with tf.GradientTape on that stack. A difference is
matched against the classic mistakes (`rnnkit.official.ex10`, NumPy float64) to name it.

Tolerances: the layer's context and weights are float32 against Keras's float32 layer with
the same weights: 1e-5, as in ex03 and Keras's own tests (measured: 0.0 with the reference;
each named mistake moves them by more than 1e-2). The stack's outputs: float32 LSTMs,
1e-5 as in ex03. The gradient norm: a float32 gradient summed over ~2,500 entries in
another order, 1e-4 relative (measured: 0.0 with the reference), plus 1e-9 absolute for the
vanishing norms of the plain stack (~1e-5). A mistake is named when the student's result is
within 1e-4 of it.
"""
import numpy as np
import pytest

from rnnkit.grader import inputs, oracles
from rnnkit.grader.compare import expect_close, fail
from rnnkit.probes import ex10 as probes

official = oracles.of("ex10")       # the oracles (rnnkit/official/ex10.py), by name

VALUE_TOL = dict(rtol=1e-5, atol=1e-5)
GRADIENT_TOL = dict(rtol=1e-4, atol=1e-9)
MISTAKE_TOL = dict(rtol=1e-4, atol=1e-4)
UNITS = 4                           # U of the attention checks
STACK_UNITS = 16                    # H of the stack (the exercise's STACK_UNITS)
DEEP = 8                            # the deep stack of the depth checks
# The lesson's pass lines: the gradient norm at rnn_0 at depth 8 over its norm at depth 1,
# measured on stack_weights and delayed_copy (16 sequences of 4 steps) with seeds 0-4:
# plain stacks 1.7e-5 to 2.1e-4, residual stacks 1.18 to 2.42 (8 steps: 8.1e-5 to 9.4e-4
# and 1.17 to 2.61; 64 sequences of 16 steps: 2.9e-4 to 1.2e-3, and 1.75 to 5.4: the
# lesson is depth's, not the sequence's length, and 4 steps cost a third less time). The
# lines sit between, an order of magnitude or more from each side (test_ex10_solution.py
# holds them to that).
PLAIN_RATIO, RESIDUAL_RATIO = 0.02, 0.2

ATTENTION_SENTENCES = {
    "keys axis": "your attention weights sum to 1 over the query steps (axis 1): the softmax "
                 "runs over the keys, the encoder's steps (the last axis, s)",
    "mask ignored": "your attention gives weight to masked encoder steps: subtract 1e9 from "
                    "their scores before the softmax (mask False = padding)",
    "no tanh": "your scores are v^T (q W_q + k W_k) without the tanh: additive attention "
               "scores are e = v^T tanh(q W_q + k W_k)",
    "decoder state": "your context vectors mix the queries (the decoder's states): the "
                     "context c_t = sum_s a_ts h_s mixes the values (the encoder's outputs)",
}
GRADIENT_SENTENCES = {
    "last layer": "that is the gradient of the LAST recurrent layer: measure rnn_0's, the "
                  "first, which the gradient reaches last",
    "sum of norms": "that is the sum of each weight's norm: take the norm of all of rnn_0's "
                    "weights together, sqrt(sum of every squared entry)",
    "kernel only": "that is the norm of rnn_0's kernel alone: include its recurrent_kernel "
                   "and bias too",
}


def attention_case(seed, name, square):
    """Query, values, a mask (right-padded, first row full) and the layer's weights. The
    square case (T == S, Dq == Dv) lets the context from the decoder's state be computed."""
    n, t, s, dq, dv = (3, 5, 5, 6, 6) if square else (3, 3, 7, 5, 4)
    query = inputs.uniform(seed, f"{name}query", (n, t, dq), -1.0, 1.0)
    values = inputs.uniform(seed, f"{name}values", (n, s, dv), -1.0, 1.0)
    mask = inputs.right_padded_mask(seed, n, s)
    mask[-1, : s // 2 + 1], mask[-1, s // 2 + 1:] = True, False   # a row surely padded
    weights = [inputs.uniform(seed, f"{name}wq", (dq, UNITS), -0.8, 0.8),
               inputs.uniform(seed, f"{name}wk", (dv, UNITS), -0.8, 0.8),
               inputs.uniform(seed, f"{name}v", (UNITS,), -1.5, 1.5)]
    return dict(query=query, values=values, mask=mask, weights=weights)


def name_mistake(got, mistakes, field, sentences) -> str | None:
    for mistake, result in mistakes.items():
        wrong = np.asarray(result[field])
        if np.shape(got) == wrong.shape and np.allclose(got, wrong, **MISTAKE_TOL):
            return sentences[mistake]
    return None


def course_wide(grader, seed) -> bool:
    """Whether Keras's answer on this seed's inputs is the same for every submission of the
    course (its seed, not the submission's): release records it once per course, and an
    official grade reads it instead of running Keras's layers again (measured: the checks
    take 2.2 s instead of 3.1 s). Keras's answers on the submission's own seed are always
    computed here."""
    return seed == grader.course_seed()


def attention_results(grader):
    """(case, student's result, Keras's) for each seed, square case first, then rectangular:
    each run once, read by both attention checks, and in this order, so a mistake the square
    case names is named before the rectangular case can fail otherwise."""
    done = grader.__dict__.setdefault("ex10_attention", {})
    for seed in grader.seeds():
        for square in (True, False):
            if (seed, square) not in done:
                case = attention_case(seed, "square" if square else "rect", square)
                got = grader.run(probes.probe_attention, units=UNITS, **case)
                want = grader.oracle(official.keras_attention, case["query"], case["values"],
                                     case["mask"], case["weights"],
                                     prefer_recorded=course_wide(grader, seed))
                done[seed, square] = (case, got, want)
            yield done[seed, square]


def same(got, want) -> bool:
    return np.shape(got) == np.shape(want) and np.allclose(got, want, **VALUE_TOL)


def compare_attention(grader, field):
    for case, got, want in attention_results(grader):
        wrong = [other for other in (field, "weights") if not same(got[other], want[other])]
        mistakes = grader.variants(official.attention_mistakes, case["query"], case["values"],
                                   case["mask"], case["weights"], needed=bool(wrong))
        for other in wrong:                     # a wrong weight explains a wrong context
            if np.shape(got[other]) == np.shape(want[other]):
                found = name_mistake(got[other], mistakes, other, ATTENTION_SENTENCES)
                if found:
                    fail(f"attention {other}: {found}")
        expect_close(f"attention {field} (queries {case['query'].shape}, values "
                     f"{case['values'].shape}, some keys masked)", got[field], want[field],
                     **VALUE_TOL)


@pytest.mark.points(2)
def test_attention_weights(grader):
    """Your attention weights equal keras.layers.AdditiveAttention's, masks included"""
    compare_attention(grader, "weights")


@pytest.mark.points(1)
def test_attention_context(grader):
    """Your context vectors equal keras.layers.AdditiveAttention's outputs"""
    compare_attention(grader, "context")


def stack_weights(seed, depth, units=STACK_UNITS):
    """Keras's initialisation of the stack, drawn from `seed`: glorot_uniform kernels,
    orthogonal recurrent kernels, zero biases but 1.0 on the LSTM's forget slice, by name."""
    rng = inputs.rng(seed, f"stack{depth}")

    def glorot(shape):
        limit = np.sqrt(6.0 / sum(shape))
        return rng.uniform(-limit, limit, size=shape).astype("float32")

    def orthogonal(size, columns):
        blocks = [np.linalg.qr(rng.normal(size=(size, size)))[0] for _ in range(columns)]
        return np.concatenate(blocks, axis=1).astype("float32")

    bias = np.zeros(4 * units, "float32")
    bias[units:2 * units] = 1.0
    weights = {"project": [glorot((1, units)), np.zeros(units, "float32")],
               "readout": [glorot((units, 1)), np.zeros(1, "float32")]}
    for index in range(depth):
        weights[f"rnn_{index}"] = [glorot((units, 4 * units)), orthogonal(units, 4), bias]
    return weights


def delayed_copy(seed, n=16, steps=4, lag=2):
    x = inputs.rng(seed, "copy").choice([-1.0, 1.0], size=(n, steps, 1)).astype("float32")
    y = np.zeros_like(x)
    y[:, lag:] = x[:, :-lag]
    return x, y


@pytest.mark.points(2)
def test_stack_matches_keras(grader):
    """Your stack of LSTM layers equals Keras's, with and without residual connections"""
    stand_in = grader.cell_stand_in("LSTMCell")
    for seed in grader.seeds():
        x, _ = delayed_copy(seed, n=4, steps=6)
        weights = stack_weights(seed, 3)
        for residual in (True, False):
            got = grader.run(probes.probe_stack, depth=3, residual=residual, weights=weights,
                             x=x, stand_in=stand_in, timeout=60)
            want = grader.oracle(official.keras_stack_outputs, 3, residual, weights, x,
                                 prefer_recorded=course_wide(grader, seed))
            # the other kind of stack, computed only to name a wrong answer
            other = grader.variants(official.keras_stack_outputs, 3, not residual, weights, x,
                                    needed=not same(got, want))
            kind = "residual" if residual else "plain"
            if other is not None and same(got, other):
                fail(f"your {kind} stack computes the {'plain' if residual else 'residual'} "
                     "one: with residual=True each layer's input is added to its output "
                     "(x + RNN(x)); with residual=False the output alone goes up")
            expect_close(f"outputs of the {kind} stack of 3 layers", got, want, **VALUE_TOL)


def gradient_norms(grader):
    """{(depth, residual): (student's norm, Keras's)} on the delayed-copy batch, once."""
    cache = grader.__dict__.get("ex10_gradients")
    if cache is None:
        cache, stand_in = {}, grader.cell_stand_in("LSTMCell")
        x, y = delayed_copy(grader.seed)
        for depth in (1, DEEP):
            weights = stack_weights(grader.seed, depth)
            for residual in (False, True):
                got = grader.run(probes.probe_gradient_norm, depth=depth, residual=residual,
                                 weights=weights, x=x, y=y, stand_in=stand_in, timeout=60)
                want = grader.oracle(official.keras_gradient_norm, depth, residual, weights,
                                     x, y, prefer_recorded=True)     # the course's seed
                cache[depth, residual] = (got, want, weights)
        grader.__dict__["ex10_gradients"] = cache      # complete, or not kept
    return cache, delayed_copy(grader.seed)


@pytest.mark.points(1)
def test_gradient_norm(grader):
    """first_layer_gradient_norm equals tf.GradientTape's on Keras's stack (depth 1 and 8)"""
    cache, (x, y) = gradient_norms(grader)
    for (depth, residual), (got, want, weights) in cache.items():
        what = f"gradient norm at rnn_0, {'residual' if residual else 'plain'} depth {depth}"
        wrong = not np.isclose(got, want, rtol=GRADIENT_TOL["rtol"], atol=GRADIENT_TOL["atol"])
        # computed when the norm is wrong, and recorded by release for a self-check
        mistakes = grader.variants(official.gradient_mistakes, depth, residual, weights, x, y,
                                   needed=wrong)
        if wrong:
            found = name_mistake(got, {m: {"norm": v} for m, v in mistakes.items()}, "norm",
                                 GRADIENT_SENTENCES)
            other = cache[depth, not residual][1]       # Keras's norm of the other stack
            if not found and np.isclose(got, other, **MISTAKE_TOL):
                found = (f"that is the {'plain' if residual else 'residual'} stack's: your "
                         "build_stack is wrong (see 'Your stack of LSTM layers equals Keras's')"
                         "; fix it first")
            if found:
                fail(f"{what}: got {got:.6g}, expected {want:.6g}; {found}")
        expect_close(what, got, want, **GRADIENT_TOL)


@pytest.mark.points(1)
def test_residuals_carry_the_gradient(grader):
    """At depth 8 the gradient vanishes before the first layer without residuals, not with"""
    cache, _ = gradient_norms(grader)
    plain = cache[DEEP, False][0] / cache[1, False][0]
    residual = cache[DEEP, True][0] / cache[1, True][0]
    if not residual > RESIDUAL_RATIO:
        fail(f"your residual stack of {DEEP} layers passes only {residual:.3g} times the "
             f"gradient of one layer down to rnn_0 (expected over {RESIDUAL_RATIO}); add each "
             "layer's input to its output, x + RNN(x), so the identity carries the gradient")
    if not all(np.isclose(got, want, rtol=GRADIENT_TOL["rtol"], atol=GRADIENT_TOL["atol"])
               for got, want, _ in cache.values()):
        fail("your gradient norms are not those of rnn_0 (see 'first_layer_gradient_norm "
             "equals ...'): fix that first; this check reads them")
    if not plain < PLAIN_RATIO:
        fail(f"your plain stack of {DEEP} layers passes {plain:.3g} times the gradient of one "
             f"layer down to rnn_0 (expected under {PLAIN_RATIO}: it vanishes); check that "
             "residual=False adds nothing")
