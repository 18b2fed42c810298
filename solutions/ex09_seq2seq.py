# %% [markdown]
# # ex09 — Sequence to sequence with a stop token: greedy, beam and exhaustive search
#
# **Problem shape: many-to-many, not aligned.** "thursday, march 7, 2019" (23 characters)
# becomes "2019-03-07" (10), and "mar 2019" (8) becomes "2019-03" (7): the output's length
# is not the input's and is not known in advance — the lecture's machine-translation shape.
#
# Dimension letters: N batch (or hypotheses), S source length, T target length,
# E embedding size, H units, V target vocabulary (14: <pad>, <start>, <stop>, "-", 0-9).
#
# **Encoder–decoder.** The encoder, an RNN over the embedded source characters, reads the
# whole input; its final state (h, c) is all the decoder knows about it. The decoder is a
# second RNN that starts from that state and predicts one output character at a time:
#
#     state_0 = encoder(x_1 .. x_S)
#     p(y_t | y_<t, x) = softmax(logits_t),  logits_t = decoder_step(y_{t-1}, state_{t-1}) W + b
#     y_0 = <start>;  the output ends when the decoder emits <stop>
#
# **Teacher forcing.** In training, the decoder is fed the TRUE previous character, not its
# own guess: decoder inputs [<start>, y_1, .., y_L] and targets [y_1, .., y_L, <stop>],
# right-padded with <pad> to T. Training minimises the negative log-likelihood of the
# targets, averaged over real positions only: padding is masked out (`masked_nll`).
#
# **Decoding is a search.** The model scores a whole output y = (y_1, .., y_L) as
# log p(y | x) = sum_t log p(y_t | y_<t, x). Exhaustive search tries every output up to a
# maximum length (V^L of them: tiny vocabularies only); greedy search takes the best next
# token at every step; beam search keeps the `width` best prefixes. Long outputs collect
# more negative terms, so beam search ranks finished outputs by a length-normalised score
#
#     score(y) = log p(y | x) / len(y)^alpha        (alpha = 0: plain log-probability)
#
# where len(y) counts the emitted tokens, <stop> included. An output that never reaches
# <stop> is cut at `max_length` tokens (len = max_length). Exhaustive search uses the same
# score, so "beam search wide enough to keep everything equals exhaustive search" is exact.
#
# The cells are yours, from ex03 (`LSTMCell`), passed in as a class: if yours is unfinished
# the grader trains this exercise with Keras's own cell instead and says so.

# %%
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex09_seq2seq.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from rnnkit import decoding
from rnnkit.datasets import dates
from rnnkit.decoding import PAD, masked_nll
from rnnkit.seq2seq import (EMBED_DIM, GRADED_TRAINING, SOURCE_LENGTH, TARGET,  # noqa: F401
                            TARGET_LENGTH, UNITS, encode_sources, encode_targets,
                            encoder_states, model_step, seq2seq_layers)

if __package__:
    from .ex03_gated_cells import LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import LSTMCell

ALPHA = 0.7                                 # beam search's length normalisation exponent


# %% [markdown]
# ## 1. Teacher forcing and the masked negative log-likelihood

# %%
def teacher_forcing(sequences, length=TARGET_LENGTH):
    """Decoder inputs and targets for teacher forcing, right-padded with PAD.

    Called once on NumPy data before training (train_seq2seq), not inside fit.

    Inputs:
    - sequences: N sequences of target ids (no <start>, no <stop>), each of length L_k.
    - length: T; every L_k + 1 must be <= T.

    Returns a tuple of:
    - decoder_inputs: (N, T) int32, decoder_inputs[k] = [START, y_1, .., y_L, PAD, ..].
    - decoder_targets: (N, T) int32, decoder_targets[k] = [y_1, .., y_L, STOP, PAD, ..].

    Raises ValueError naming the first sequence too long for T.
    """
    # BEGIN SOLUTION
    inputs = np.full((len(sequences), length), PAD, dtype="int32")      # (N, T)
    targets = np.full((len(sequences), length), PAD, dtype="int32")     # (N, T)
    for row, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype="int32")
        if len(sequence) + 1 > length:
            raise ValueError(f"sequence {row} has {len(sequence)} tokens; with <stop> it "
                             f"needs {len(sequence) + 1} > length={length}")
        inputs[row, 0] = TARGET.START
        inputs[row, 1:len(sequence) + 1] = sequence
        targets[row, :len(sequence)] = sequence
        targets[row, len(sequence)] = TARGET.STOP
    return inputs, targets
    # END SOLUTION


def seq2seq_loss(targets, logits):
    """The masked negative log-likelihood, as a Keras loss (`rnnkit.decoding.masked_nll`).

    Called inside a tf.function during training (train_seq2seq compiles it as fit's loss; fit
    passes the targets as float32 symbolic tensors): write it with keras.ops, not NumPy.

    Inputs:
    - targets: (N, T) ids, PAD where there is no token.
    - logits: (N, T, V).

    Returns:
    - loss: a scalar, the mean of -log p(target) over the non-PAD positions only.
    """
    # BEGIN SOLUTION
    return masked_nll(logits, targets, keras.ops.not_equal(targets, PAD))
    # END SOLUTION


# %% [markdown]
# ## 2. The encoder–decoder
#
# `seq2seq_layers` (in the kit, `rnnkit/seq2seq.py`, with the token tables SOURCE and
# TARGET and `encode_sources`, which LEFT-pads the source so the encoder's last step is the
# last character) makes the layers. Names and sizes are fixed: the grader loads your
# trained weights into the same architecture built from Keras's own layers. Wire them in
# `build_seq2seq` into three models that SHARE these layers:
#
#     training model: [source (N, S), decoder_inputs (N, T)] -> logits (N, T, V)
#     encoder:        source (N, S) -> the encoder's final states, a list ([h, c], (N, H) each)
#     step model:     [token (N, 1), *states] -> [logits (N, V), *new states]

# %%
def build_seq2seq(cell_class, units=UNITS, embed_dim=EMBED_DIM):
    """The training model, the encoder and the one-step decoder, sharing seq2seq_layers.

    The decoder starts from the encoder's final states; the number of states is the cell's
    (len(state_size), 2 for an LSTM).

    Inputs:
    - cell_class: a cell class called as cell_class(units) (your ex03 LSTMCell).
    - units, embed_dim: H, E.

    Returns a tuple of:
    - model: [source (N, S), decoder_inputs (N, T)] -> logits (N, T, V).
    - encoder: source (N, S) -> the encoder's final states, a list of (N, H).
    - step_model: [token (N, 1), *states] -> [logits (N, V), *new states].
    """
    parts = seq2seq_layers(cell_class, units, embed_dim)
    # BEGIN SOLUTION
    source = keras.Input((SOURCE_LENGTH,), dtype="int32", name="source")
    decoder_inputs = keras.Input((None,), dtype="int32", name="decoder_inputs")
    _, *states = parts["encoder"](parts["source_embedding"](source))           # (N, H) each
    sequences, *_ = parts["decoder"](parts["target_embedding"](decoder_inputs),
                                     initial_state=states)                      # (N, T, H)
    model = keras.Model([source, decoder_inputs], parts["logits"](sequences))  # (N, T, V)
    encoder = keras.Model(source, states)

    token = keras.Input((1,), dtype="int32", name="token")
    states_in = [keras.Input((units,), name=f"state_{k}") for k in range(len(states))]
    sequence, *states_out = parts["decoder"](parts["target_embedding"](token),
                                             initial_state=states_in)          # (N, 1, H)
    logits = keras.ops.squeeze(parts["logits"](sequence), axis=1)              # (N, V)
    step_model = keras.Model([token, *states_in], [logits, *states_out])
    return model, encoder, step_model
    # END SOLUTION


def train_seq2seq(cell_class, pairs, epochs=4, seed=0, batch_size=128, learning_rate=2e-2,
                  verbose=False):
    """Train build_seq2seq(cell_class) on (source, target) pairs by teacher forcing (Adam,
    clipnorm 1, seeded). Returns (model, encoder, step_model, seconds spent in fit)."""
    sources = encode_sources([source for source, _ in pairs])                 # (N, S)
    decoder_inputs, targets = teacher_forcing(encode_targets([t for _, t in pairs]))  # (N, T)
    keras.utils.set_random_seed(seed)
    model, encoder, step_model = build_seq2seq(cell_class)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=seq2seq_loss, jit_compile=False)
    start = time.perf_counter()
    model.fit([sources, decoder_inputs], targets, batch_size=batch_size, epochs=epochs,
              verbose=2 if verbose else 0, shuffle=True)
    return model, encoder, step_model, time.perf_counter() - start


# %% [markdown]
# ## 3. Decoding: greedy, beam and exhaustive search
#
# All three take the same decoder: `step(token_ids (N,), states) -> (logits (N, V),
# states)`, where `states` is a list of arrays with one row per hypothesis (so
# `[s[rows] for s in states]` picks, reorders or repeats hypotheses). <pad> and <start> are
# never generated: `next_token_log_probs` gives them probability 0 (log -inf) and
# renormalises over the other tokens. A hypothesis is (tokens, log_prob, score), its tokens
# ending with <stop> when it emitted one; score = log_prob / len(tokens)^alpha.
#
# **Beam search**, one source at a time. Start from one empty hypothesis fed <start>. At
# each step t = 1 .. max_length extend every hypothesis in the beam by every token, and
# keep the `width` best candidates by log_prob (ties: the earlier hypothesis, then the
# smaller token id — a stable sort of the flattened (beam, V) array). Of those, candidates
# ending in <stop>, and at t = max_length all of them (cut), are FINISHED: set aside with
# their score; the others form the next beam. Stop when the beam is empty, or when the best
# finished score is >= every active hypothesis's best possible score,
# log_prob / max_length^alpha (more tokens only lower log_prob, and len <= max_length).
# Return the finished hypotheses, best score first.

# %%
def next_token_log_probs(logits, start_id):
    """log softmax (N, V) float64 over every token but PAD and start_id (those get -inf)."""
    logits = np.array(logits, dtype="float64")                            # (N, V)
    logits[:, [PAD, start_id]] = -np.inf
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def greedy_search(step, states, start_id, stop_id, max_length):
    """The most likely next token at every step, for N sources at once.

    Inputs:
    - step: step(token_ids (N,), states) -> (logits (N, V), new states), as above.
    - states: the decoder's initial states, a list of arrays with N rows.
    - start_id, stop_id: the <start> and <stop> ids.
    - max_length: an int, the most tokens generated.

    Returns a tuple of:
    - ids: (N, L) int64 as `rnnkit.decoding.generate` returns them (<stop> included where
      emitted, PAD after it, L <= max_length).
    - log_probs: (N,) float64, the sum of the chosen tokens' log-probabilities (<stop>
      included).
    """
    # BEGIN SOLUTION
    picked = []

    def choose(logits):
        log_probs = next_token_log_probs(logits, start_id)                # (N, V)
        ids = np.argmax(log_probs, axis=-1)                               # (N,)
        picked.append(log_probs[np.arange(len(ids)), ids])
        return ids

    ids = decoding.generate(step, states, start_id, stop_id, max_length, choose)  # (N, L)
    log_probs = np.where(ids != PAD, np.stack(picked, axis=1), 0.0).sum(axis=1)   # (N,)
    return ids, log_probs
    # END SOLUTION


def beam_search(step, states, start_id, stop_id, max_length, width, alpha=ALPHA):
    """Beam search for ONE source, as the markdown above describes.

    Inputs:
    - step: step(token_ids (N,), states) -> (logits (N, V), new states), as above.
    - states: the decoder's initial states, a list of arrays with 1 row.
    - start_id, stop_id: the <start> and <stop> ids.
    - max_length: an int, the most tokens of a hypothesis.
    - width: the beam width, an int >= 1 (ValueError otherwise).
    - alpha: the length normalisation exponent of score = log_prob / len(tokens)^alpha.

    Returns:
    - the finished hypotheses, a list of (tokens tuple, log_prob, score), best score first.
    """
    # BEGIN SOLUTION
    if width < 1:
        raise ValueError(f"width must be >= 1, received width={width}")
    beam, log_p = [()], np.zeros(1)                                        # (B,)
    fed, finished = np.array([start_id]), []
    for t in range(1, max_length + 1):
        logits, states = step(fed, states)                                 # (B, V)
        totals = log_p[:, None] + next_token_log_probs(logits, start_id)   # (B, V)
        order = np.argsort(-totals, axis=None, kind="stable")[:width]
        order = order[np.isfinite(totals.reshape(-1)[order])]
        parents, tokens = np.unravel_index(order, totals.shape)
        keep = []
        for k, (parent, token) in enumerate(zip(parents, tokens)):
            hypothesis, total = beam[parent] + (int(token),), float(totals[parent, token])
            if token == stop_id or t == max_length:
                finished.append((hypothesis, total, total / t ** alpha))
            else:
                keep.append(k)
        if not keep:
            break
        beam = [beam[p] + (int(tok),) for p, tok in zip(parents[keep], tokens[keep])]
        log_p, fed = totals[parents[keep], tokens[keep]], tokens[keep]
        states = [np.asarray(s)[parents[keep]] for s in states]
        best = max((score for _, _, score in finished), default=-np.inf)
        if best >= log_p.max() / max_length ** alpha:
            break
    return sorted(finished, key=lambda hypothesis: -hypothesis[2])
    # END SOLUTION


def exhaustive_search(step, states, start_id, stop_id, max_length, alpha=ALPHA, top=1,
                      limit=100_000):
    """Score EVERY hypothesis of ONE source; return the `top` best, best first.

    Hypotheses: every token sequence ending in <stop> with at most max_length tokens, and
    every sequence of max_length tokens without <stop> (cut).

    Inputs:
    - step: step(token_ids (N,), states) -> (logits (N, V), new states), as above.
    - states: the decoder's initial states, a list of arrays with 1 row.
    - start_id, stop_id, max_length, alpha: as in beam_search.
    - top: how many hypotheses to return.
    - limit: ValueError when there are more than `limit` hypotheses.

    Returns:
    - the `top` best hypotheses, a list of (tokens tuple, log_prob, score) as beam_search's.
    """
    # BEGIN SOLUTION
    prefixes, log_p, fed, everything = [()], np.zeros(1), np.array([start_id]), []
    for t in range(1, max_length + 1):
        logits, states = step(fed, states)                                 # (B, V)
        totals = log_p[:, None] + next_token_log_probs(logits, start_id)   # (B, V)
        if t == 1:
            _check_size(logits.shape[-1] - 2, max_length, limit)
        keep = []
        for parent, token in zip(*np.nonzero(np.isfinite(totals))):
            hypothesis, total = prefixes[parent] + (int(token),), float(totals[parent, token])
            if token == stop_id or t == max_length:
                everything.append((hypothesis, total, total / t ** alpha))
            else:
                keep.append((parent, token))
        if not keep:
            break
        parents, tokens = np.array(keep).T
        prefixes = [prefixes[p] + (int(tok),) for p, tok in keep]
        log_p, fed = totals[parents, tokens], tokens
        states = [np.asarray(s)[parents] for s in states]
    return sorted(everything, key=lambda hypothesis: -hypothesis[2])[:top]
    # END SOLUTION


def _check_size(choices, max_length, limit):
    """ValueError when `choices` tokens (<stop> included) make more than `limit` hypotheses."""
    count = sum((choices - 1) ** (t - 1) for t in range(1, max_length + 1)) \
        + (choices - 1) ** max_length
    if count > limit:
        raise ValueError(f"{count} hypotheses for {choices} tokens and max_length="
                         f"{max_length}; exhaustive search allows at most limit={limit}")


# %% [markdown]
# ## 4. Run it
#
# `python -m exercises.ex09_seq2seq` trains on 6,000 pairs for 4 epochs (the graded check's
# budget: 188 steps), decodes 200 test dates greedily, then by beam search at several widths
# with alpha = 0 and alpha = ALPHA, and saves two plots under runs/ex09/: exact match
# against beam width, and a few beam candidates with their scores. About a minute on 2 cores.
#
# Search pays where the model is still unsure. At this budget, measured over training seeds
# 0-4, every beam of width >= 2 decodes 1.5 to 5 points more test dates exactly than greedy
# (greedy 50-62 %); alpha changes nothing here, since every ISO date has the same length.
# Trained longer (`main(n=20000, epochs=6)`), the model is so sure of each character that
# greedy and every width agree (95.5 %): a beam cannot fix what the model already gets right.

# %%
def translate(encoder, step_model, texts, width=None, alpha=ALPHA):
    """Decode `texts` greedily (width None, all at once) or by beam search (one at a time);
    returns the output strings."""
    states, step = encoder_states(encoder, texts), model_step(step_model)
    if width is None:
        ids, _ = greedy_search(step, states, TARGET.START, TARGET.STOP, TARGET_LENGTH)
        return ["".join(TARGET.decode(row)) for row in ids]
    return ["".join(TARGET.decode(beam_search(step, [s[k:k + 1] for s in states], TARGET.START,
                                              TARGET.STOP, TARGET_LENGTH, width, alpha)[0][0]))
            for k in range(len(texts))]


def exact_match(predictions, targets):
    """Share of predictions equal to their target string."""
    return float(np.mean([p == t for p, t in zip(predictions, targets)]))


def main(n=GRADED_TRAINING["n"], epochs=GRADED_TRAINING["epochs"], widths=(1, 2, 4, 8),
         n_test=200):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.plots import save_figure
    from rnnkit.mains import small_budget, working_cell
    from rnnkit.seq2seq import plot_candidates, plot_exact_match_vs_width

    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        n, epochs, widths, n_test = 500, 1, (1, 2), 20
    lstm_cell = working_cell(LSTMCell)
    _, encoder, step_model, seconds = train_seq2seq(lstm_cell, dates.pairs("train", n),
                                                    epochs=epochs, verbose=True)
    sources, targets = zip(*dates.pairs("test", n_test, seed=1))
    greedy = exact_match(translate(encoder, step_model, sources), targets)
    print(f"trained in {seconds:.1f} s; greedy exact match on {n_test} test dates: {greedy:.1%}")
    accuracies = {}
    for alpha in (0.0, ALPHA):
        accuracies[f"beam, alpha={alpha}"] = [
            exact_match(translate(encoder, step_model, sources, width, alpha), targets)
            for width in widths]
        print(f"alpha={alpha}: " + ", ".join(f"width {w}: {a:.1%}" for w, a in
                                            zip(widths, accuracies[f"beam, alpha={alpha}"])))
    figure, ax = plt.subplots(figsize=(8, 4))
    plot_exact_match_vs_width(ax, list(widths), accuracies, greedy)
    print(f"saved {save_figure(figure, 'runs/ex09/exact_match_vs_width.png')}")

    rows, step = [], model_step(step_model)
    for source in sources[:4]:
        states = encoder_states(encoder, [source])
        for tokens, log_p, score in beam_search(step, states, TARGET.START, TARGET.STOP,
                                                TARGET_LENGTH, 4)[:3]:
            rows.append((source, "".join(TARGET.decode(tokens)), log_p, score))
            print(f"{source:>30s} -> {rows[-1][1]:<10s} log p {log_p:8.4f}  score {score:8.4f}")
    figure, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1))
    plot_candidates(ax, rows)
    print(f"saved {save_figure(figure, 'runs/ex09/beam_candidates.png')}")


if __name__ == "__main__":
    main()
