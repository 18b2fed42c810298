"""Grading ex09 — seq2seq with a stop token: teacher forcing, masked NLL, greedy, beam and
exhaustive search (`ex09_seq2seq.py`).

Decoding is checked on toy decoders given as logit tables (`probes.ex09.toy_step`): the
grader runs its own searches (`rnnkit.official.ex09`: exhaustive search enumerates
every hypothesis with itertools, sharing no search code with the student) and compares. The
encoder-decoder is compared with the same architecture built here from keras.layers.LSTM.
The training check trains in the student's process and scores the returned weights here:
Keras's own layers, the grader's own greedy decoding, exact match on test dates whose
targets never leave this process.

Tolerances: hypotheses' tokens and greedy ids are compared exactly. Log-probabilities and
scores are float64 sums of a few log-softmax terms; the same terms added in another order
differ by ~1e-15, while a wrong token changes them by far more than 1e-3: 1e-9. The model's
logits are float32 against Keras's float32 LSTM with the same weights: 1e-5, as in ex03 and
Keras's own LSTM tests (measured here: 0.0 with the reference; a wrong wiring, e.g. a step
model that does not return the new states, changes them by ~0.3). The loss: float32
against float64 here, 1e-5 relative (a loss that averages padding too is off by ~10 %).
"""
import numpy as np
import pytest

from rnnkit import seq2seq
from rnnkit.datasets import dates
from rnnkit.grader import inputs, oracles
from rnnkit.grader.compare import CheckFailed, expect_close, fail, run_in_graph
from rnnkit.probes import ex09 as probes
from rnnkit.probes.ex09 import START, STOP

official = oracles.of("ex09")       # the oracles (rnnkit/official/ex09.py), by name
N_TEST = 500                        # test dates a trained model is scored on

SCORE_TOL = dict(rtol=0, atol=1e-9)
VALUE_TOL = dict(rtol=1e-5, atol=1e-5)
PAD = 0
# The reference's weights (seed 0) decode 0.60 of the test dates; the same code with seeds
# 1-4 reached 0.58, 0.50, 0.51, 0.55 (rnnkit.seq2seq.GRADED_TRAINING). A correct submission
# differs from the reference like another seed (its own initialisers, creation order), so
# it passes from 0.20 below the reference (twice the largest gap seen, 0.10); a decoder
# never taught <stop>, or trained on unshifted targets, decodes ~0 exactly.
MARGIN = 0.20


def table(seed, salt, vocabulary=6, never_stops=False):
    values = inputs.uniform(seed, salt, (4096, vocabulary), -3.0, 3.0, dtype="float64")
    if never_stops:
        values[:, STOP] -= 40.0          # a decoder that never emits <stop>: cut at max_length
    return values


def beam_table(seed, width):
    """A toy decoder for the beam cases: <stop> one logit likelier than the other tokens, so
    hypotheses finish early and when to stop matters (with seed 0, each BEAM_MISTAKES
    search gives another result in at least one case: a kit test checks it)."""
    values = table(seed, f"beam{width}", vocabulary=7)
    values[:, STOP] += 1.0
    return values




def model_weights(seed):
    """Seeded asymmetric weights for the graded architecture, by layer name."""
    shapes = {"source_embedding": [(len(seq2seq.SOURCE), seq2seq.EMBED_DIM)],
              "encoder": [(seq2seq.EMBED_DIM, 4 * seq2seq.UNITS),
                          (seq2seq.UNITS, 4 * seq2seq.UNITS), (4 * seq2seq.UNITS,)],
              "target_embedding": [(len(seq2seq.TARGET), seq2seq.EMBED_DIM)],
              "decoder": [(seq2seq.EMBED_DIM, 4 * seq2seq.UNITS),
                          (seq2seq.UNITS, 4 * seq2seq.UNITS), (4 * seq2seq.UNITS,)],
              "logits": [(seq2seq.UNITS, len(seq2seq.TARGET)), (len(seq2seq.TARGET),)]}
    return {name: [inputs.uniform(seed, f"{name}{k}", shape, -0.3, 0.3)
                   for k, shape in enumerate(layer)] for name, layer in shapes.items()}


# The classic mistakes of the searches (rnnkit.official.ex09.SEARCH_MISTAKES), as the feedback
# names them: the one whose search returns what the student's did, or whose trace the
# student's result shows (tokens after <stop>, a <stop> missing).
SEARCH_SENTENCES = {
    "no early stop": "you kept searching after the best finished hypothesis could no longer "
                     "be beaten (stop when it is >= every active log_prob / max_length^alpha)",
    "first finished": "you stopped at the first finished hypothesis; keep it aside until the "
                      "beam cannot beat it",
    "unnormalised": "your scores are not divided by len^alpha (len counts <stop>): without "
                    "length normalisation short outputs win",
    "length without stop": "your length leaves <stop> out: len counts every emitted token, "
                           "<stop> included (score = log_prob / len^alpha)",
    "keeps expanding": "a finished hypothesis keeps expanding: your hypotheses go on after "
                       "<stop>; a candidate that emits <stop> is set aside as finished and "
                       "never extended",
    "stop stripped": "your hypotheses lost their <stop>: a finished hypothesis's tokens end "
                     "with the <stop> it emitted (the model scored it: it counts in log_prob "
                     "and in len)",
    "no cut": "your exhaustive search leaves out the sequences cut at max_length: every "
              "sequence of max_length tokens without <stop> is a hypothesis too (len = "
              "max_length)",
    "continues": "your greedy decoding continues after <stop>: a row ends at its <stop>, PAD "
                 "after it, and the loop ends once every row has stopped",
    "sums after stop": "your log-probabilities keep summing after <stop>: a row's log_prob is "
                       "the sum over its tokens up to and including <stop>, nothing after",
}


def same_hypotheses(a, b) -> bool:
    return [list(h[0]) for h in a] == [list(h[0]) for h in b] and (not a or np.allclose(
        [h[1:] for h in a], [h[1:] for h in b], rtol=0, atol=SCORE_TOL["atol"]))


def name_search_mistake(got, want, mistakes) -> str | None:
    """The SEARCH_SENTENCES line of the mistaken search whose hypotheses `got` equals
    (`mistakes`: {mistake: hypotheses}, from rnnkit.official.ex09), else of the trace `got`
    shows: tokens after <stop>, or every <stop> gone."""
    matched = [SEARCH_SENTENCES[mistake] for mistake, hypotheses in mistakes.items()
               if same_hypotheses(got, hypotheses) and not same_hypotheses(want, hypotheses)]
    if matched:     # several when these inputs cannot tell them apart (<stop> alone: len 1)
        return "; or ".join(matched)
    tokens, wanted = [list(h[0]) for h in got], [list(h[0]) for h in want]
    if any(STOP in t[:-1] for t in tokens):
        return SEARCH_SENTENCES["keeps expanding"]
    if any(t[-1:] == [STOP] for t in wanted) and not any(t[-1:] == [STOP] for t in tokens) \
            and any(t + [STOP] in wanted for t in tokens):
        return SEARCH_SENTENCES["stop stripped"]
    return None


def expect_hypotheses(name, got, want, mistakes=None):
    """Same tokens in the same order, and log p and score within SCORE_TOL; a difference
    names the classic mistake it matches (`mistakes`: {mistake: that search's hypotheses})."""
    cause = lambda *_: name_search_mistake(got, want, mistakes or {})  # noqa: E731
    if [h[0] for h in got] != [h[0] for h in want]:
        shown = lambda hs: [h[0] for h in hs[:4]]  # noqa: E731
        found = cause()
        fail(f"{name}: expected the hypotheses {shown(want)}{' ...' if len(want) > 4 else ''}, "
             f"got {shown(got)}{' ...' if len(got) > 4 else ''} ({len(got)} returned, "
             f"{len(want)} expected){'; ' + found if found else ''}")
    if want:
        expect_close(f"{name}: log_prob and score", [h[1:] for h in got], [h[1:] for h in want],
                     **SCORE_TOL, explain=cause)


def name_greedy_mistake(got, want_ids, want_log_p, mistakes) -> str | None:
    """The SEARCH_SENTENCES line of the greedy mistake `got` ({"ids", "log_probs"}) matches:
    one of `mistakes` ({mistake: (ids, log p)}) exactly, or its trace (words after a row's
    <stop>; the right ids with the log-probabilities of rows that stopped early too low)."""
    ids, log_p = np.asarray(got["ids"]), np.asarray(got["log_probs"], "float64")
    want_ids, want_log_p = np.asarray(want_ids), np.asarray(want_log_p)
    if ids.ndim != 2 or len(ids) != len(want_ids) or log_p.shape != want_log_p.shape:
        return None
    for mistake, (wrong_ids, wrong_log_p) in mistakes.items():
        wrong_ids = np.asarray(wrong_ids)
        if ids.shape == wrong_ids.shape and np.array_equal(ids, wrong_ids) and \
                np.allclose(log_p, wrong_log_p, rtol=0, atol=SCORE_TOL["atol"]) and not \
                (wrong_ids.shape == want_ids.shape and np.array_equal(wrong_ids, want_ids)
                 and np.allclose(wrong_log_p, want_log_p, rtol=0, atol=SCORE_TOL["atol"])):
            return SEARCH_SENTENCES[mistake]
    for row, wanted in zip(ids, want_ids):
        stops = np.flatnonzero(wanted == STOP)
        if len(stops) and len(row) > stops[0] + 1 and \
                row[:stops[0] + 1].tolist() == wanted[:stops[0] + 1].tolist() and \
                (row[stops[0] + 1:] != PAD).any():
            return SEARCH_SENTENCES["continues"]
    if ids.shape == want_ids.shape and np.array_equal(ids, want_ids):
        wrong = np.abs(log_p - want_log_p) > SCORE_TOL["atol"]
        early = (want_ids[:, :-1] == STOP).any(axis=1)
        if wrong.any() and (early[wrong] & (log_p[wrong] < want_log_p[wrong])).all():
            return SEARCH_SENTENCES["sums after stop"]
    return None


# -- checks -----------------------------------------------------------------------------------
@pytest.mark.points(1)
def test_teacher_forcing(grader):
    """Teacher forcing: inputs start with <start>, targets end with <stop>, PAD after"""
    for seed in grader.seeds():
        lengths = inputs.rng(seed, "lengths").integers(0, 8, size=5)
        sequences = [inputs.rng(seed, f"seq{k}").integers(3, 14, size=n).tolist()
                     for k, n in enumerate(lengths)]
        got = grader.run(probes.probe_teacher_forcing, sequences=sequences, length=9)
        want_in = np.zeros((5, 9), "int32")
        want_out = np.zeros((5, 9), "int32")
        for k, sequence in enumerate(sequences):
            want_in[k, :len(sequence) + 1] = [START] + sequence
            want_out[k, :len(sequence) + 1] = sequence + [STOP]
        if np.array_equal(got["targets"], want_in):
            fail("your decoder targets are the decoder inputs: the targets are the inputs "
                 "shifted one step left, ending with <stop>")
        if np.shape(got["targets"]) == want_out.shape and not np.isin(STOP, got["targets"]):
            fail("your decoder targets contain no <stop>: without it the model never learns "
                 "where an output ends")
        expect_close("decoder inputs", got["inputs"], want_in, rtol=0, atol=0)
        expect_close("decoder targets", got["targets"], want_out, rtol=0, atol=0)


@pytest.mark.points(1)
def test_loss_ignores_padding(grader):
    """The loss is the mean negative log-likelihood over real (non-PAD) target positions"""
    for seed in grader.seeds():
        logits = inputs.uniform(seed, "logits", (4, 6, 14), -3, 3)
        targets = inputs.rng(seed, "targets").integers(3, 14, size=(4, 6)).astype("int32")
        targets[0, 3:], targets[1, 1:], targets[3, 5:] = PAD, PAD, PAD
        got = grader.run(probes.probe_loss, targets=targets, logits=logits)
        shifted = logits - logits.max(-1, keepdims=True)
        nll = -(np.take_along_axis(shifted, targets[..., None], -1)[..., 0]
                - np.log(np.exp(shifted).sum(-1)))                      # (N, T), float64
        want = nll[targets != PAD].mean()
        expect_close("seq2seq_loss", got, want, rtol=1e-5, atol=0, explain=lambda *_: (
            "that is the mean over every position, padding included: mask PAD out"
            if np.isclose(got, nll.mean(), rtol=1e-5) else
            "that is the sum, not the mean, over the real positions"
            if np.isclose(got, nll[targets != PAD].sum(), rtol=1e-5) else None))
        if seed != grader.seeds()[0]:
            continue            # once: graph mode fails on the code path, not the values
        traced = run_in_graph(grader, probes.probe_loss_in_graph, "seq2seq_loss",
                              how=" (train_seq2seq compiles it as fit's loss: fit passes the "
                                  "targets as a float32 symbolic tensor)",
                              targets=targets, logits=logits)
        expect_close("seq2seq_loss inside a tf.function", traced, want, rtol=1e-5, atol=0)


@pytest.mark.points(2)
def test_model_matches_keras(grader):
    """The encoder-decoder, and its step model step by step, equal Keras's LSTM layers"""
    why = model_problem(grader)
    if why:
        fail(why)


def model_problem(grader):
    """None when build_seq2seq's models equal Keras's layers with the grader's weights, else
    the feedback line; once per grading (the training check credits only a model that does:
    its weights are scored in Keras's layers)."""
    from rnnkit.grader.handles.process import StudentError

    cache = grader.__dict__.setdefault("seq2seq_model", {})
    if "verdict" not in cache:
        try:
            compare_model(grader)
            cache["verdict"] = None
        except CheckFailed as failure:
            cache["verdict"] = str(failure)
        except StudentError as error:     # a crash or a hang: met once, said by each check
            cache["verdict"] = error
    if isinstance(cache["verdict"], StudentError):
        raise cache["verdict"].again()
    return cache["verdict"]


def compare_model(grader):
    stand_in = grader.cell_stand_in("LSTMCell")
    for seed in grader.seeds():
        weights = model_weights(seed)
        pairs = dates.pairs("validation", 6, seed=seed)
        sources = seq2seq.encode_sources([s for s, _ in pairs])
        decoder_inputs = np.zeros((6, seq2seq.TARGET_LENGTH), "int32")
        for k, (_, target) in enumerate(pairs):
            decoder_inputs[k, :len(target) + 1] = [START, *seq2seq.TARGET.encode(target)]
        got = grader.run(probes.probe_model, weights=weights, sources=sources,
                         decoder_inputs=decoder_inputs, stand_in=stand_in, timeout=60)
        want = grader.oracle(official.keras_logits, weights, sources, decoder_inputs)
        expect_close("training model logits", got["forced"], want, **VALUE_TOL)
        expect_close("step model logits, one step at a time", got["stepped"], want, **VALUE_TOL,
                     explain=lambda a, bad: "only the first step is right: the step model must "
                     "return the decoder's new states" if not bad[:, 0].any() else None)


@pytest.mark.points(2)
def test_greedy(grader):
    """Greedy search: tokens, <stop>, PAD after it, and log-probabilities; cut at max_length"""
    for seed in grader.seeds():
        for never_stops in (False, True):
            values, codes = table(seed, f"greedy{never_stops}", never_stops=never_stops), \
                list(range(7))
            got = grader.run(probes.probe_greedy, table=values, codes=codes, max_length=6)
            want_ids, want_log_p = grader.oracle(official.greedy_on_table, values, codes, 6)
            mistakes = grader.oracle(official.greedy_mistakes_on_table, values, codes, 6)
            what = "a decoder that never emits <stop>" if never_stops else "a toy decoder"
            found = name_greedy_mistake(got, want_ids, want_log_p, mistakes)
            if found:
                fail(f"greedy search on {what}: {found}")
            expect_close(f"greedy ids on {what}", got["ids"], want_ids, rtol=0, atol=0)
            expect_close(f"greedy log-probabilities on {what}", got["log_probs"], want_log_p,
                         **SCORE_TOL)


@pytest.mark.points(2)
def test_exhaustive(grader):
    """Exhaustive search returns the best hypotheses of all, with the length-normalised score"""
    for seed in grader.seeds():
        for alpha, never_stops in ((0.0, False), (0.7, False), (1.0, True)):
            values = table(seed, f"exhaustive{alpha}", never_stops=never_stops)
            got = grader.run(probes.probe_exhaustive, table=values, code=seed % 97,
                             max_length=4, alpha=alpha, top=5)
            want = grader.oracle(official.exhaustive_on_table, values, seed % 97, 4, alpha, 6)[:5]
            mistakes = grader.oracle(official.exhaustive_mistakes_on_table, values, seed % 97,
                                     4, alpha, 6, 5)
            expect_hypotheses(f"exhaustive search, alpha={alpha}", got, want, mistakes)


@pytest.mark.points(1)
def test_wide_beam_is_exhaustive(grader):
    """A beam wide enough to hold every hypothesis finds the exhaustive search's best"""
    for seed in grader.seeds():
        for alpha in (0.0, 0.7):
            values = table(seed, f"wide{alpha}")
            got = grader.run(probes.probe_beam, table=values, code=seed % 89, max_length=4,
                             width=3 ** 3 * 4, alpha=alpha)
            want = grader.oracle(official.exhaustive_on_table, values, seed % 89, 4, alpha, 6)
            mistakes = grader.oracle(official.beam_mistakes_on_table, values, seed % 89, 4,
                                     3 ** 3 * 4, alpha)
            expect_hypotheses(f"best of a {3 ** 3 * 4}-wide beam, alpha={alpha}", got[:1],
                              want[:1], {name: h[:1] for name, h in mistakes.items()})


@pytest.mark.points(1)
def test_width_one_is_greedy(grader):
    """Beam search of width 1 with alpha = 0 is greedy search"""
    for seed in grader.seeds():
        for never_stops in (False, True):
            values = table(seed, f"narrow{never_stops}", never_stops=never_stops)
            got = grader.run(probes.probe_beam, table=values, code=seed % 83, max_length=6,
                             width=1, alpha=0.0)
            ids, log_p = grader.oracle(official.greedy_on_table, values, [seed % 83], 6)
            want = [[[int(t) for t in ids[0] if t != PAD], float(log_p[0]), float(log_p[0])]]
            mistakes = grader.oracle(official.beam_mistakes_on_table, values, seed % 83, 6, 1,
                                     0.0)
            expect_hypotheses("beam search of width 1", got, want, mistakes)


@pytest.mark.points(1)
@pytest.mark.parametrize("width, alpha", [(2, 0.7), (3, 0.0), (4, 1.0)])
def test_beam_equals_reference(grader, width, alpha):
    """Beam search's finished hypotheses and scores equal the reference's"""
    for seed in grader.seeds():
        values = beam_table(seed, width)
        args = dict(table=values, code=seed % 79, max_length=5, width=width, alpha=alpha)
        got = grader.run(probes.probe_beam, **args)
        want = grader.reference(probes.probe_beam, **args)
        mistakes = grader.oracle(official.beam_mistakes_on_table, values, seed % 79, 5, width,
                                 alpha)
        expect_hypotheses(f"beam search, width {width}, alpha {alpha}", got, want, mistakes)


@pytest.mark.points(3)
@pytest.mark.training
def test_trained_exact_match(grader):
    """Trained with your code, the model turns unseen dates into ISO 8601 (exact match)"""
    if model_problem(grader):
        fail("not credited: your build_seq2seq is not the model the exercise asks for (its "
             "check: 'The encoder-decoder, and its step model step by step, equal Keras's LSTM "
             "layers'), so its training does not count; fix that first")
    stand_in = grader.cell_stand_in("LSTMCell")
    cipher = grader.course_seed("cipher")       # the course's symbols (official grade)
    pairs = grader.oracle(official.course_pairs, "train", seq2seq.GRADED_TRAINING["n"],
                          grader.course_seed("train dates"), cipher)
    if grader.official:       # trained in your process, scored here on dates never sent
        got = grader.run(probes.probe_train, pairs=pairs, stand_in=stand_in, timeout=120,
                         end_after=True)   # its memory given back before the scoring here
        accuracy, first = grader.oracle(official.keras_exact_match, got["weights"],
                                        grader.course_seed("test dates"), cipher)
        want = grader.reference(probes.probe_train, pairs=pairs, stand_in=False,
                                prefer_recorded=True)
        reference, _ = grader.oracle(official.keras_exact_match, want["weights"],
                                     grader.course_seed("test dates"), cipher,
                                     prefer_recorded=True)      # once per course
        scorer = "Keras's LSTM layers with your weights decode"
    else:                     # a self-check: the trained models measure themselves
        test = grader.oracle(official.course_pairs, "test", N_TEST, 2024)
        got = grader.run(probes.probe_train, pairs=pairs, stand_in=stand_in, timeout=120,
                         test=test)
        accuracy, first = got["exact"], got["first"]
        reference = grader.reference(probes.probe_train, pairs=pairs, stand_in=False,
                                     prefer_recorded=True, test=test)["exact"]
        scorer = "your model, by your greedy_search, decodes"
    # MARGIN: measured over seeds 0-4, see its definition.
    if accuracy < reference - MARGIN:
        source, target, decoded = first
        fail(f"after training, {scorer} {accuracy:.0%} of {N_TEST} unseen dates exactly "
             f"(the reference: {reference:.0%}); the first one wrong: {source!r} -> "
             f"{decoded!r}, expected {target!r}. Check teacher forcing (targets shifted by "
             "one, ending in <stop>) and that the loss masks PAD")
