"""Grading ex07 — character-level generation (`ex07_char_rnn.py`).

Function-level checks compare the student's teacher-forcing pairs, decoding strategies and
sampler with the grader's own float64 NumPy implementations (`rnnkit.official.ex07`), and
`lm_step` / `generate_text` with Keras's own LSTM and Dense layers driven by
`rnnkit.decoding.generate` (`rnnkit.official.ex07`).
When a distribution is wrong, the invariant it breaks is named (top-k keeps exactly the k
best; top-p keeps the smallest set whose mass reaches p, ties with its least likely member
included, and every token at p = 1 even where the float running sum reaches 1.0 early;
temperature 1 leaves softmax unchanged; temperature 0 is greedy; a subnormal temperature
gives no NaN, its limit shares the mass among the tied maxima), or the classic mistake it
matches (`rnnkit.official.ex07`: the temperature on the probabilities or multiplying, argmax
over the wrong axis, teacher-forcing pairs not shifted).

Tolerances: distributions at rtol 1e-6 + atol 1e-7: a float32 softmax differs from float64
by ~1e-7 relative, a real mistake (a token too many, no renormalisation) by >= 1e-2. Logits
of lm_step at 1e-5, as the cells' checks (float32 Keras layers, summation order only).
Samples are compared exactly: the sampler is specified (inverse CDF with one uniform per
row), and a draw is excused only where u lies within 1e-9 of a cumulative boundary.

The training check trains the LM in the student's process with the kit's code and budget
(`rnnkit.char_lm`, seed 0), then rebuilds it here from keras.layers.LSTM + Dense, and
measures perplexity on sentences generated here and never sent, and the shares of valid and
novel samples it writes (sampled here, temperature 1). Thresholds: see TRAINING below.
"""
import numpy as np
import pytest

from rnnkit import char_lm
from rnnkit.datasets import grammar
from rnnkit.decoding import STOP
from rnnkit.grader import inputs
from rnnkit.grader.compare import expect_close, expect_equal, fail
from rnnkit.grader import oracles

official = oracles.of("ex07")       # the oracles (rnnkit/official/ex07.py), by name
from rnnkit.probes.ex07 import (
    UNITS, probe_distributions, probe_generate, probe_greedy, probe_lm_step, probe_pairs,
    probe_sample, probe_seeded_generation, probe_train)

LOGIT_TOL = dict(rtol=1e-5, atol=1e-5)
N, V = 6, 9
CHARS = grammar.ALPHABET
TABLE = char_lm.grammar_table()

# A float32 softmax differs from float64 by ~1e-7 relative; a real mistake (a token too
# many, no renormalisation) by >= 1e-2.
DIST_TOL = dict(rtol=1e-6, atol=1e-7)


def logits_with_ties(seed):
    """(N, V) float32 logits; row 1 tied at the top, row 2 tied across the 3rd place, row 3
    constant, row 4 with a large gap (a clear greedy choice)."""
    z = inputs.uniform(seed, "logits", (N, V), -3, 3)
    z[1, [2, 6]] = z[1].max() + 0.5
    order = np.argsort(-z[2], kind="stable")
    z[2, order[3]] = z[2, order[2]]
    z[3] = 0.25
    z[4, 0] = z[4].max() + 8.0
    return z


# -- comparing distributions: the invariant a wrong one breaks ---------------------------------
def support_problems(name, got, z, want, structural):
    """The invariant a distribution breaks, as a sentence (None when none is found).
    structural: the strategy zeroes tokens (top-k, top-p), so which ones keep mass is judged."""
    rows = np.abs(got.sum(axis=-1) - 1.0) > 1e-5
    if rows.any():
        row = int(np.flatnonzero(rows)[0])
        return (f"{name}: row {row} sums to {got[row].sum():.6g}, not 1 — renormalise over "
                "the tokens you keep")
    if (got < -1e-12).any():
        return f"{name}: negative probabilities"
    extra = (got > 0) & (want == 0)
    missing = (got == 0) & (want > 0)
    if structural and (extra.any() or missing.any()):
        row = int(np.flatnonzero(extra.any(-1) | missing.any(-1))[0])
        ranks = np.argsort(np.argsort(-np.asarray(z[row], "float64"), kind="stable"))
        return (f"{name}: row {row} keeps tokens {np.flatnonzero(got[row] > 0).tolist()}, "
                f"expected {np.flatnonzero(want[row] > 0).tolist()} (ranks by logit: "
                f"{ranks.tolist()})")
    return None


def expect_distributions(name, got_list, z, want_list, parameters, explain=None,
                         structural=True):
    for parameter, got, want in zip(parameters, got_list, want_list):
        label = f"{name}({parameter})"
        got = np.asarray(got)
        if got.shape == want.shape and np.isfinite(got).all():
            problem = support_problems(label, got.astype("float64"), z, want, structural)
            if problem:
                hint = explain(parameter, got) if explain else None
                fail(problem + (f"; {hint}" if hint else ""))
        expect_close(label, got, want, **DIST_TOL,
                     explain=(lambda a, bad: explain(parameter, a)) if explain else None)


NOT_SHIFTED = ("your targets are not shifted: wherever you feed a character, the target is "
               "that same character, so the model learns to copy its input; the target at step "
               "t is the NEXT character (the input at t + 1): inputs <start> + text, targets "
               "text + <stop>")


# -- checks: teacher forcing and the strategies --------------------------------------------
@pytest.mark.points(2)
def test_teacher_forcing_pairs(grader):
    """Inputs are <start> + text and targets text + <stop>, padded: the targets shifted by one"""
    for seed in grader.seeds():
        texts = grammar.sentences(5, seed=seed) + [""]
        got = grader.run(probe_pairs, chars=CHARS, texts=texts, length=char_lm.SEQ_LEN)
        want_x = TABLE.encode_batch(texts, char_lm.SEQ_LEN, start=True)
        want_y = TABLE.encode_batch(texts, char_lm.SEQ_LEN, stop=True)
        mistakes = grader.oracle(official.pairs_mistakes, CHARS, texts, char_lm.SEQ_LEN)
        for sentence, (x, y) in mistakes.items():
            if np.array_equal(got["inputs"], x) and np.array_equal(got["targets"], y):
                fail(sentence)
        fed, wanted = np.asarray(got["inputs"]), np.asarray(got["targets"])
        if fed.shape == wanted.shape == want_x.shape and (fed != 0).any() and \
                np.array_equal(wanted[fed != 0], fed[fed != 0]):
            fail(NOT_SHIFTED)
        for name, value, want in (("inputs", got["inputs"], want_x),
                                  ("targets", got["targets"], want_y)):
            expect_equal(f"shape of the {name}", list(np.shape(value)), list(want.shape))
            wrong = np.argwhere(np.asarray(value) != want)
            if len(wrong):
                n, t = wrong[0]
                fail(f"{name} of {texts[n]!r}: id {value[n][t]} at step {t}, expected "
                     f"{want[n][t]} ({TABLE.tokens[want[n][t]]!r}); row: "
                     f"{list(value[n][:t + 2])}..., expected {list(want[n][:t + 2])}...")


@pytest.mark.points(1)
def test_greedy(grader):
    """greedy returns each row's most likely token, the first one on ties"""
    for seed in grader.seeds():
        z = logits_with_ties(seed)
        got = np.asarray(grader.run(probe_greedy, logits=z))
        want = np.argmax(z, axis=-1)
        for sentence, ids in grader.oracle(official.greedy_mistakes, z).items():
            ids = np.asarray(ids)
            if got.shape == ids.shape and np.array_equal(got, ids) and \
                    not np.array_equal(ids, want):
                fail(f"greedy returned {got.tolist()} for {len(z)} rows of logits (N, V) = "
                     f"{z.shape}: {sentence}")
        expect_equal("greedy ids", got.reshape(-1).tolist(), want.tolist())


def explain_temperature(grader, z, temperatures):
    mistakes = {sentence: dict(zip(temperatures, values)) for sentence, values in
                grader.oracle(official.temperature_mistakes, z, temperatures).items()}

    def explain(temperature, got):
        for sentence, value in mistakes.items():
            if temperature and np.shape(got) == np.shape(value[temperature]) and \
                    np.allclose(got, value[temperature], **DIST_TOL):
                return sentence
        if 0 < temperature < 1e-300:
            return (f"as tau -> 0 the mass is shared evenly by the tied maxima (row 1 ties two "
                    f"tokens at the top): a tiny tau = {temperature:g} is not tau = 0, which "
                    "alone is greedy")
        if temperature == 1:
            return "temperature 1 must leave softmax(logits) unchanged"
        if temperature == 0:
            return "temperature 0 must be greedy: probability 1 on the argmax"
        return None
    return explain


SUBNORMAL = 1e-310          # a float >= 0 the docstring allows: z / tau overflows to inf


@pytest.mark.points(2)
def test_temperature(grader):
    """Temperature: softmax(z / tau); tau = 1 leaves softmax unchanged, tau = 0 is greedy"""
    temperatures = [0.5, 1.0, 2.0, 0.0, 0.05, SUBNORMAL]
    for seed in grader.seeds():
        z = logits_with_ties(seed)
        got = grader.run(probe_distributions, function="temperature_probabilities", logits=z,
                         parameters=temperatures)
        want = grader.oracle(official.distributions, "temperature", z, temperatures)
        explain = explain_temperature(grader, z, temperatures)
        for temperature, value, expected in zip(temperatures, got, want):   # in this order
            if temperature and np.shape(value) == z.shape and not np.isfinite(value).all():
                fail(f"temperature_probabilities(logits, {temperature:g}) contains NaN or inf: "
                     f"z / tau overflows to inf for a tiny tau, and inf - inf is NaN; subtract "
                     f"each row's maximum BEFORE dividing, softmax((z - max z) / tau), in "
                     f"float64 (the limit tau -> 0 shares the mass among the tied maxima)")
            expect_distributions("temperature_probabilities", [value], z, [expected],
                                 [temperature], explain, structural=False)
        expect_equal("number of distributions returned", len(got), len(temperatures))


@pytest.mark.points(2)
def test_top_k(grader):
    """Top-k keeps exactly the k best tokens (ties: lower id first) and renormalises"""
    ks = [1, 3, 5, V + 2]
    for seed in grader.seeds():
        z = logits_with_ties(seed)
        got = grader.run(probe_distributions, function="top_k_probabilities", logits=z,
                         parameters=ks)
        want = grader.oracle(official.distributions, "top_k", z, ks)

        def explain(k, got_k):
            kept = (np.asarray(got_k) > 0).sum(axis=-1)
            if (kept == min(k, V) + 1).any():
                return f"one token too many: keep k = {k}, not k + 1"
            if (kept == k - 1).any():
                return f"one token too few: keep k = {k}"
            if (kept > min(k, V)).any():
                return "top-k never keeps more than k tokens: break ties at the k-th place " \
                       "toward the lower id"
            return None
        expect_distributions("top_k_probabilities", got, z, want, ks, explain)


@pytest.mark.points(2)
def test_top_p(grader):
    """Top-p keeps the smallest set whose mass reaches p, ties included, renormalised"""
    for seed in grader.seeds():
        for z, ps in ((logits_with_ties(seed), [0.3, 0.6, 0.9, 1.0]),
                      (logits_far_apart(seed), [1.0])):
            got = grader.run(probe_distributions, function="top_p_probabilities", logits=z,
                             parameters=ps)
            want = grader.oracle(official.distributions, "top_p", z, ps)
            expect_distributions("top_p_probabilities", got, z, want, ps,
                                 explain_top_p(z, ps, want, grader.oracle(official.softmax, z)))


def logits_far_apart(seed):
    """(N, V) float64 logits whose softmax sums to 1.0 in floats before its last token: row 0
    has one token 40 above the rest (e^-40 ~ 4e-18 is below float64's resolution at 1), the
    others spread over [-12, 12] (no probability below float32's smallest normal number, so
    a float32 softmax keeps every token's mass above 0)."""
    z = inputs.uniform(seed, "far logits", (N, V), -12, 12, dtype="float64")
    z[0, 3] = z[0].max() + 40.0
    return z


def explain_top_p(z, ps, want, q):
    kept_by = {p: w > 0 for p, w in zip(ps, want)}

    def explain(p, got_p):
        kept = np.asarray(got_p) > 0
        if p >= 1 and (kept.sum(-1) < kept_by[p].sum(-1)).any():
            row = int(np.flatnonzero(kept.sum(-1) < kept_by[p].sum(-1))[0])
            return (f"p >= 1 keeps every token; row {row} kept {int(kept[row].sum())} of "
                    f"{kept.shape[-1]}: in floats the running sum reaches 1.0 before the "
                    "last token (rounding), so do not cut there when p >= 1")
        mass = (q * kept).sum(axis=-1)
        if (mass < p - 1e-9).any():
            row = int(np.flatnonzero(mass < p - 1e-9)[0])
            return (f"row {row}: the kept tokens hold {mass[row]:.4f} of the mass, less "
                    f"than p = {p}: keep the token at which the cumulative sum reaches p "
                    "(>= p, not > p or < p)")
        if (kept.sum(-1) > (want_p := kept_by[p]).sum(-1)).any():
            return "more tokens than the smallest set that reaches p"
        if (kept.sum(-1) < want_p.sum(-1)).any():
            return "tokens tied with the least likely kept token must be kept too"
        return None
    return explain


# -- checks: sampling and the generation loop ------------------------------------------------
@pytest.mark.points(2)
def test_sample_inverse_cdf(grader):
    """sample draws by the inverse CDF from the Generator it is given: same seed, same ids"""
    for seed in grader.seeds():
        weights = inputs.uniform(seed, "probabilities", (40, V), 0, 1).astype("float64")
        weights[inputs.uniform(seed, "zeros", (40, V), 0, 1) < 0.3] = 0.0
        weights[:, 4] += 0.05                                     # no empty row
        probabilities = weights / weights.sum(axis=-1, keepdims=True)
        got = grader.run(probe_sample, probabilities=probabilities, draw_seed=seed)
        want, on_edge = grader.oracle(official.inverse_cdf, probabilities, seed)
        want, on_edge = np.asarray(want), np.asarray(on_edge)
        once = np.asarray(got["once"]).reshape(-1)
        expect_equal("number of ids", len(once), len(want))
        if not np.array_equal(once, np.asarray(got["again"]).reshape(-1)):
            fail("two Generators seeded alike gave different samples: draw only from the rng "
                 "you are given (not np.random.* or a Generator of your own)")
        if np.array_equal(once, np.asarray(got["next"]).reshape(-1)) and len(set(want)) > 1:
            fail("a second call with the same Generator repeated the first draw: do not "
                 "re-seed; draw u = rng.random(N) from the Generator you are given")
        if ((once < 0) | (once >= V)).any():
            fail(f"ids must lie in 0..{V - 1}; got {once.tolist()[:10]}...")
        zero = probabilities[np.arange(len(once)), once] == 0
        if zero.any():
            row = int(np.flatnonzero(zero)[0])
            fail(f"row {row}: drew token {once[row]}, whose probability is 0 (compare cdf <= u, "
                 "side='right', so a token without mass is never drawn)")
        wrong = (once != want) & ~on_edge
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            fail(f"{int(wrong.sum())} of {len(want)} draws differ from the inverse-CDF draw "
                 f"(first: row {row}, got {once[row]}, expected {want[row]}): draw "
                 "u = rng.random(N), one per row in order, then return the first id whose "
                 "cumulative probability exceeds u")


def model_weights(seed, stop_bias=0.0):
    """Weights of char_lm(LSTMCell(UNITS), V) for the grammar table, asymmetric and seeded."""
    v = len(TABLE)
    dense_bias = inputs.uniform(seed, "dense_bias", (v,), -0.5, 0.5)
    dense_bias[STOP] += stop_bias
    return [inputs.uniform(seed, "kernel", (v, 4 * UNITS), -0.8, 0.8),
            inputs.uniform(seed, "recurrent", (UNITS, 4 * UNITS), -0.8, 0.8),
            inputs.uniform(seed, "bias", (4 * UNITS,), -0.4, 0.4),
            inputs.uniform(seed, "dense", (UNITS, v), -1.5, 1.5), dense_bias]


@pytest.mark.points(2)
def test_lm_step(grader):
    """lm_step gives the logits of keras.layers.LSTM + Dense at every step and carries the state"""
    stand_in = grader.cell_stand_in("LSTMCell")
    for seed in grader.seeds():
        weights = model_weights(seed)
        tokens = inputs.rng(seed, "tokens").integers(0, len(TABLE), size=(3, 5))
        got = grader.run(probe_lm_step, vocab_size=len(TABLE), weights=weights, tokens=tokens,
                         stand_in=stand_in)
        want = grader.oracle(official.keras_steps, weights, tokens)

        def explain(actual, bad):
            stateless = grader.oracle(official.keras_steps, weights, tokens, False)
            if np.allclose(actual, stateless["logits"], **LOGIT_TOL):
                return "every step starts from a zero state: use the state you are given"
            if np.allclose(actual, grader.oracle(official.softmax, want["logits"]), **LOGIT_TOL):
                return "these are probabilities: lm_step returns the logits (no softmax)"
            if not bad[:, 0].any():
                return "the first step is right, the later ones are not: return the new state"
            return None
        expect_close("logits of lm_step, step by step", got["logits"], want["logits"],
                     **LOGIT_TOL, explain=explain)
        for name, g, w in zip(("h", "c"), got["state"], want["state"]):
            expect_close(f"final state {name} returned by lm_step", g, w, **LOGIT_TOL)


@pytest.mark.points(2)
def test_generate_text(grader):
    """generate_text feeds each token back, carries the state, stops at <stop> or max_length"""
    stand_in = grader.cell_stand_in("LSTMCell")
    for seed in grader.seeds():
        weights, n, max_length = model_weights(seed, stop_bias=2.0), 8, 12
        got = grader.run(probe_generate, chars=CHARS, weights=weights, n=n,
                         max_length=max_length, chooser_seed=seed, stand_in=stand_in)
        want = grader.oracle(official.keras_generate, weights, n, max_length, seed)
        if not isinstance(got, list) or len(got) != n:
            fail(f"generate_text(n={n}) must return a list of {n} strings; got "
                 f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}")
        if got == want:
            continue
        for mistake, sentence in (("no state", "the state is not carried from step to step"),
                                  ("no feedback", "the chosen token is not fed back in (START "
                                                  "at every step)")):
            if got == grader.oracle(official.keras_generate, weights, n, max_length, seed,
                                    mistake):
                fail(f"generate_text: {sentence}")
        row = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
        fail(f"generate_text row {row}: got {got[row]!r}, expected {want[row]!r} (the model "
             f"and chooser are the kit's; max_length={max_length}, rows end at <stop>)")


@pytest.mark.points(1)
def test_seeded_generation_reproducible(grader):
    """Sampling with make_chooser(seed) repeats itself for one seed and differs for another"""
    stand_in = grader.cell_stand_in("LSTMCell")
    for options in ({"strategy": "temperature", "temperature": 1.0},
                    {"strategy": "top-p", "p": 0.9}):
        got = grader.run(probe_seeded_generation, chars=CHARS, weights=model_weights(3),
                         options=options, seeds=[5, 5, 6], n=6, stand_in=stand_in)
        if got[0] != got[1]:
            fail(f"{options['strategy']}: two runs with seed 5 wrote {got[0][:2]} and "
                 f"{got[1][:2]}: sample must draw only from the Generator it is given")
        if got[0] == got[2]:
            fail(f"{options['strategy']}: seeds 5 and 6 wrote the same samples {got[0][:2]}: "
                 "the seed must reach the sampler")


# -- the training check ----------------------------------------------------------------------
# Thresholds, relative to the reference trained with the same code, seed and budget.
# MEASURED: see the comment block filled in from the seed measurements.
TRAINING = {"perplexity_ratio": 1.05, "valid_margin": 0.15, "novel_margin": 0.15}


def trained_metrics(grader):
    """(student's metrics, reference's metrics), computed once per grading (a failure too,
    so a hang is not waited for twice; the reference only when the student's model exists)."""
    from rnnkit.grader.handles.process import StudentError

    cache = grader.__dict__.setdefault("ex07_training", {})
    if "student" not in cache:
        try:
            stand_in = grader.cell_stand_in("LSTMCell")
            data = grader.oracle(official.course_data, grader.course_seed("corpus"))
            args = dict(chars=data["chars"], texts=data["train"])
            if not grader.official:      # a self-check: the models measure themselves
                args["validation"] = data["validation"]
                cache["student"] = grader.run(probe_train, stand_in=stand_in, timeout=60,
                                              **args)
                cache["reference"] = grader.reference(probe_train, stand_in=False,
                                                      prefer_recorded=True, **args)
                return cache["student"], cache["reference"]
            got = grader.run(probe_train, stand_in=stand_in, timeout=60, **args)
            cache["student"] = grader.oracle(official.lm_metrics, got["weights"], data)
            want = grader.reference(probe_train, stand_in=False, prefer_recorded=True, **args)
            cache["reference"] = grader.oracle(official.lm_metrics, want["weights"], data,
                                               prefer_recorded=True)   # once per course
        except (StudentError, AssertionError) as error:
            cache["student"] = error
    if isinstance(cache["student"], Exception):
        raise cache["student"]
    return cache["student"], cache["reference"]


@pytest.mark.training
@pytest.mark.points(3)
def test_trained_perplexity(grader):
    """Trained on the grammar, the language model's validation perplexity nears the reference's"""
    got, want = trained_metrics(grader)
    limit = TRAINING["perplexity_ratio"] * want["perplexity"]
    if got["perplexity"] > limit:
        fail(f"validation perplexity {got['perplexity']:.3f} per character (Keras's LSTM "
             f"scored your trained weights on sentences you never saw); the reference reaches "
             f"{want['perplexity']:.3f}, at most {limit:.3f} passes; a model that ignores the "
             f"order of characters gets {got['baseline']:.2f}. Check teacher_forcing_pairs "
             f"(targets are the inputs shifted by one). Your model writes: {got['samples'][:2]}")


@pytest.mark.training
@pytest.mark.points(2)
def test_trained_samples(grader):
    """Its samples (temperature 1) parse as often as the reference's, and are not memorised"""
    got, want = trained_metrics(grader)
    valid_floor = want["valid"] - TRAINING["valid_margin"]
    novel_floor = want["novel"] - TRAINING["novel_margin"]
    # a model that has not learnt the language (its perplexity check fails) writes nonsense:
    # the cause is said there, and pointed to here
    cause = (f"; its perplexity is {got['perplexity']:.2f} (the reference's "
             f"{want['perplexity']:.2f}): check teacher_forcing_pairs first (targets are the "
             "inputs shifted by one)"
             if got["perplexity"] > TRAINING["perplexity_ratio"] * want["perplexity"] else "")
    if got["valid"] < valid_floor:
        fail(f"{got['valid']:.0%} of {char_lm.N_SAMPLES} samples parse as sentences of the "
             f"grammar; the reference's {want['valid']:.0%}, at least {valid_floor:.0%} passes. "
             f"Your model writes: {got['samples']}{cause}")
    if got["novel"] < novel_floor:
        fail(f"{got['novel']:.0%} of the samples are valid sentences not in the training set; "
             f"the reference's {want['novel']:.0%}, at least {novel_floor:.0%} passes: the "
             f"model repeats its training sentences{cause}")
