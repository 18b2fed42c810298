# %% [markdown]
# # Exercise 02 — Backpropagation through time, vanishing and exploding gradients, clipping
#
# **Problem shape.** This exercise reads the vanilla RNN as a *many-to-many* (aligned)
# network over its hidden states: one input `x_t` goes in at every step and one hidden
# state `h_t` comes out at every step, and the loss may depend on any of them.
# A many-to-one loss (only the last state matters) is the special case used in part 3.
#
# The recurrence, with the Keras weight layout (`kernel`, `recurrent_kernel`, `bias`):
#
#     h_t = tanh(x_t W_x + h_{t-1} W_h + b)        W_x (D, H), W_h (H, H), b (H,)
#
# Dimension letters, used in every docstring below:
# N batch size, T number of time steps, D input features, H hidden units.
# Everything is NumPy in float64, so hand-written gradients can be checked to ~1e-10.
#
# You will write, in order:
# 1. `rnn_step_forward` / `rnn_step_backward` — one step and its chain rule;
# 2. `rnn_forward` / `rnn_backward` — the unrolled network and backpropagation through time;
# 3. `hidden_grad_norms` — how large dL/dh_t is as the distance to the loss grows;
# 4. `clip_by_global_norm` — the standard cure for exploding gradients.
#
# Run the file (`python exercises/ex02_bptt.py`) to gradient-check your code and to draw
# `runs/ex02/gradient_norms.png`.
#
# Everything here is NumPy by hand: the grader checks your gradients against autodiff, and
# refuses a module that imports TensorFlow, Keras or another autodiff library.

# %%
from pathlib import Path

import numpy as np

# %% [markdown]
# ## 1. One step of the recurrence
#
# Write the step as two stages, a pre-activation and a squashing:
#
#     a = x W_x + h_prev W_h + b        (N, H)
#     h_next = tanh(a)                  (N, H)
#
# Backward, given the upstream gradient `dh_next = dL/dh_next` (N, H), use
# tanh'(a) = 1 - tanh(a)^2 = 1 - h_next^2, so the forward output is all you need to keep:
#
#     da      = dh_next * (1 - h_next^2)          (N, H)   elementwise
#     dx      = da W_x^T                          (N, D)
#     dh_prev = da W_h^T                          (N, H)
#     dW_x    = x^T da                            (D, H)
#     dW_h    = h_prev^T da                       (H, H)
#     db      = sum of da over the batch          (H,)
#
# The forward pass returns a `cache` holding what the backward pass needs; its content is
# up to you, only your own backward function reads it.


# %%
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Run one time step of a vanilla tanh RNN.

    Computes h_next = tanh(x Wx + h_prev Wh + b).

    Inputs:
    - x: Input at this time step, of shape (N, D).
    - h_prev: Hidden state from the previous time step, of shape (N, H).
    - Wx: Input-to-hidden weights (Keras `kernel`), of shape (D, H).
    - Wh: Hidden-to-hidden weights (Keras `recurrent_kernel`), of shape (H, H).
    - b: Bias, of shape (H,).

    Returns a tuple of:
    - h_next: Next hidden state, of shape (N, H).
    - cache: Whatever rnn_step_backward needs (your choice).

    Do not modify any input in place.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_step_forward is not written yet: Run one time step of a vanilla tanh RNN')


def rnn_step_backward(dh_next, cache):
    """Backward pass for one time step of a vanilla tanh RNN.

    Inputs:
    - dh_next: Gradient of the loss with respect to h_next, of shape (N, H).
    - cache: The cache returned by rnn_step_forward for this step.

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, D).
    - dh_prev: Gradient with respect to h_prev, of shape (N, H).
    - dWx: Gradient with respect to Wx, of shape (D, H).
    - dWh: Gradient with respect to Wh, of shape (H, H).
    - db: Gradient with respect to b, of shape (H,).

    Use tanh'(a) = 1 - tanh(a)**2. Do not modify any input in place.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_step_backward is not written yet: Backward pass for one time step of a vanilla tanh RNN')


# %% [markdown]
# ## 2. Unrolling over time, and backpropagation through time (BPTT)
#
# Unrolled, the RNN is a deep feed-forward graph with one layer per time step, and every
# layer uses the *same* W_x, W_h, b:
#
#     h0 --> [step] --> h_0 --> [step] --> h_1 --> ... --> [step] --> h_{T-1}
#              ^                  ^                           ^
#             x_0                x_1                       x_{T-1}
#
# (h_t is h[:, t] and x_t is x[:, t] in the code; h0 is the initial state.)
#
# Two consequences for the backward pass.
#
# * **A hidden state has two consumers**: the loss directly (upstream gradient `dh[:, t]`)
#   and the next step. Its total gradient is the sum of both paths:
#
#       dL/dh_t = dh[:, t] + (gradient flowing back from step t+1)
#
#   Walk t = T-1, ..., 0 carrying the second term, which starts at zero after the last step;
#   what is left after step 0 is dL/dh0.
# * **Shared parameters accumulate**: dW_x, dW_h, db are the *sums* over t of the per-step
#   gradients (the multivariate chain rule again: the loss reaches W_h through every step).
#
# To check your code the grader uses the loss L = sum(h * dh): then dL/dh is exactly `dh`.


# %%
def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla tanh RNN forward over a whole sequence.

    For t = 0, ..., T-1: h[:, t] = tanh(x[:, t] Wx + h[:, t-1] Wh + b), with h[:, -1] = h0.

    Inputs:
    - x: Input sequence, of shape (N, T, D).
    - h0: Initial hidden state, of shape (N, H).
    - Wx: Input-to-hidden weights, of shape (D, H).
    - Wh: Hidden-to-hidden weights, of shape (H, H).
    - b: Bias, of shape (H,).

    Returns a tuple of:
    - h: Every hidden state, of shape (N, T, H); h0 itself is not included.
    - cache: Whatever rnn_backward needs (your choice).

    Use rnn_step_forward. Do not modify any input in place.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_forward is not written yet: Run a vanilla tanh RNN forward over a whole sequence')


def rnn_backward(dh, cache):
    """Backpropagation through time for a vanilla tanh RNN.

    Inputs:
    - dh: Upstream gradient of the loss with respect to EVERY hidden state, of shape
      (N, T, H): dh[:, t] = dL/dh[:, t] along the direct path from h[:, t] to the loss,
      not counting the path through later steps.
    - cache: The cache returned by rnn_forward.

    Returns a tuple of:
    - dx: Gradient with respect to the inputs x, of shape (N, T, D).
    - dh0: Gradient with respect to the initial hidden state h0, of shape (N, H).
    - dWx: Gradient with respect to Wx, of shape (D, H), summed over all time steps.
    - dWh: Gradient with respect to Wh, of shape (H, H), summed over all time steps.
    - db: Gradient with respect to b, of shape (H,), summed over all time steps.

    Walk t = T-1 down to 0. The total gradient reaching h[:, t] is dh[:, t] plus the
    gradient flowing back from step t+1. Use rnn_step_backward. Do not modify any input
    in place (in particular, do not add into dh).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('rnn_backward is not written yet: Backpropagation through time for a vanilla tanh RNN')


# %% [markdown]
# ## Checking gradients numerically (given)
#
# A centred finite difference estimates the derivative of L = sum(f(x) * df) in every
# entry of x:  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps). Its truncation error is of order
# eps^2 and its rounding error of order 1e-16 / eps, so with eps = 1e-6 expect agreement
# with a correct analytic gradient to a relative error of about 1e-8 or better. A relative
# error around 1e-2 or larger means a bug, not noise.


# %%
def numerical_gradient(f, x, df, eps=1e-6):
    """Centred finite-difference gradient of an array function, contracted with df.

    Estimates dL/dx for L = sum(f(x) * df) (CS231n's eval_numerical_gradient_array).

    Inputs:
    - f: Function taking an array shaped like x and returning an array shaped like df.
    - x: Point at which to differentiate, any shape. It is not modified.
    - df: Upstream gradient, same shape as f(x).
    - eps: Step of the finite difference.

    Returns:
    - grad: Array of the same shape as x.
    """
    x = np.array(x, dtype=np.float64)  # a private copy that we perturb and restore
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        original = x[index]
        x[index] = original + eps
        loss_plus = np.sum(np.array(f(x), dtype=np.float64) * df)
        x[index] = original - eps
        loss_minus = np.sum(np.array(f(x), dtype=np.float64) * df)
        x[index] = original
        grad[index] = (loss_plus - loss_minus) / (2.0 * eps)
    return grad


def relative_error(a, b):
    """Largest elementwise relative error max |a - b| / max(1e-8, |a| + |b|)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# %% [markdown]
# ## 3. Why long-range gradients vanish or explode
#
# Let the loss depend only on the last state, L = sum(h_{T-1} * dh_last). The chain rule
# through time gives, for a state k steps before the last one,
#
#     dL/dh_t = dL/dh_{T-1} · J_{T-1} J_{T-2} ... J_{t+1},      k = T-1-t factors,
#     J_s = dh_s/dh_{s-1} = diag(1 - h_s^2) W_h^T               (as a map on row vectors:
#                                                                 g ↦ (g * (1 - h_s^2)) W_h^T)
#
# This *total* derivative already sums every path from h_t to the loss; with a loss on
# every state (part 2) dL/dh_t is a sum of such products, one per later loss term.
#
# Its size is governed by a product of k matrices. Since |tanh'| ≤ 1,
#
#     ||dL/dh_t|| ≤ ||dL/dh_{T-1}|| · (largest singular value of W_h)^k,
#
# and for a fixed matrix ||W_h^k||^(1/k) tends to its spectral radius ρ(W_h) (Gelfand's
# formula), so the norm behaves like ρ^k:
#
# * ρ < 1: the gradient from far away **vanishes** exponentially, the network cannot learn
#   long-range dependencies (Bengio et al. 1994; Pascanu et al. 2013);
# * ρ > 1: it can **explode** exponentially, one update can throw the weights far away.
#
# The experiment in `main()` makes this exact. `scaled_orthogonal(H, r, seed)` builds
# W_h = r Q with Q orthogonal, so every singular value of W_h equals r (and so does ρ).
# With x = 0, h0 = 0 and b = 0 every state is tanh(0) = 0, so tanh' = 1 everywhere, each
# J_s is exactly r times an orthogonal matrix, and the norms follow **r^k exactly**. With
# random inputs the states leave 0 and tanh' < 1 shrinks every factor: small inputs
# (x ~ 0.1 N(0, 1)) already make the explosion much milder, and unit-size inputs saturate
# the tanh so much that even r = 1.5 vanishes. This is why the vanilla RNN's practical
# problem is mostly vanishing, and why LSTM and GRU (ex03) add an additive path.


# %%
def scaled_orthogonal(H, radius, seed):
    """Random (H, H) matrix whose singular values all equal `radius` (orthogonal * radius).

    Uses the QR decomposition of a Gaussian matrix drawn with np.random.default_rng(seed);
    the sign fix makes Q uniformly distributed over orthogonal matrices.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((H, H)))
    q = q * np.sign(np.diag(r))  # (H, H) flip columns so diag(r) > 0
    return radius * q


def hidden_grad_norms(x, h0, Wx, Wh, b, dh_last):
    """Size of dL/dh_t at every time step for a loss on the last hidden state only.

    The loss is L = sum(h[:, T-1] * dh_last) where h, of shape (N, T, H), comes from
    rnn_forward(x, h0, Wx, Wh, b). For every t = 0, ..., T-1 compute the TOTAL derivative
    dL/dh[:, t], of shape (N, H), which reaches the loss through all later steps; its
    distance to the loss is T-1-t steps. In particular dL/dh[:, T-1] = dh_last.

    Inputs:
    - x: Input sequence, of shape (N, T, D).
    - h0: Initial hidden state, of shape (N, H).
    - Wx: Input-to-hidden weights, of shape (D, H).
    - Wh: Hidden-to-hidden weights, of shape (H, H).
    - b: Bias, of shape (H,).
    - dh_last: Gradient of the loss with respect to the last hidden state, of shape (N, H).

    Returns:
    - norms: Array of shape (T,); norms[t] is the mean over the batch of the L2 norm (over
      the H units) of dL/dh[:, t]. So norms[T-1] = mean over the batch of ||dh_last||.

    Use rnn_forward and rnn_step_backward. Do not modify any input in place.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('hidden_grad_norms is not written yet: Size of dL/dh_t at every time step for a loss on the last hidden state only')


# %% [markdown]
# ## 4. Gradient clipping by global norm
#
# Exploding gradients have a cheap cure (Pascanu et al. 2013): before the update, measure
# the norm of *all* parameter gradients together,
#
#     global_norm = sqrt(sum over every gradient array g of sum(g**2)),
#
# and if it exceeds a threshold `max_norm`, rescale every array by max_norm / global_norm.
# The update keeps its direction and only its length is capped, unlike clipping each value
# separately, which bends the direction. Keras offers it as an optimizer argument,
# `keras.optimizers.Adam(global_clipnorm=1.0)`, and TensorFlow as `tf.clip_by_global_norm`.
# Clipping does nothing for *vanishing* gradients: that needs a different architecture.


# %%
def clip_by_global_norm(grads, max_norm):
    """Rescale a list of gradient arrays so that their global norm is at most max_norm.

    Same semantics as tf.clip_by_global_norm:
        global_norm = sqrt(sum over the arrays g of sum(g**2))
        if global_norm > max_norm: every array is multiplied by max_norm / global_norm
        otherwise:                 every array is returned unchanged (as a copy)

    Inputs:
    - grads: List of arrays of any shapes (for example [dWx, dWh, db]).
    - max_norm: Positive float, the largest allowed global norm.

    Returns a tuple of:
    - clipped: List of NEW arrays, same length, shapes and order as grads.
    - global_norm: Float, the global norm of grads BEFORE clipping.

    Never modify the input arrays. An all-zero gradient must come back as zeros, with no
    division by zero.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('clip_by_global_norm is not written yet: Rescale a list of gradient arrays so that their global norm is at most max_norm')


# %% [markdown]
# ## Run it
#
# `main()` (a) gradient-checks your `rnn_backward`, (b) measures the gradient norms for
# W_h with every singular value r in (0.5, 0.9, 1.0, 1.1, 1.5), with x = 0 (the exact r^k
# law, dashed) then with small and with unit-size random inputs (tanh saturation), and
# plots them on a log scale in `runs/ex02/gradient_norms.png`, (c) clips an exploding
# gradient.

# %%
RADII = (0.5, 0.9, 1.0, 1.1, 1.5)


def plot_gradient_norms(ax, norms_by_radius, title, show_law=False):
    """Draw norm of dL/dh_t against distance to the loss, one line per radius.

    norms_by_radius maps r to an array of shape (T,) from hidden_grad_norms; with
    show_law, also draws the r^k law as dashed lines. Returns ax.
    """
    for i, (radius, norms) in enumerate(norms_by_radius.items()):
        distance = np.arange(len(norms))[::-1]  # (T,) distance T-1-t of each h_t
        ax.semilogy(distance, norms, marker=".", label=f"r = {radius}")
        if show_law:
            law = norms[-1] * radius**distance  # (T,) r^k times the norm at the loss
            label = "r^k law" if i == len(norms_by_radius) - 1 else None
            ax.semilogy(distance, law, "k--", linewidth=1, label=label)
    ax.set_xlabel("distance to the loss k = T-1-t (steps)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def gradient_check(seed=0):
    """Compare rnn_backward with numerical_gradient on a tiny problem; return the errors."""
    rng = np.random.default_rng(seed)
    N, T, D, H = 2, 4, 3, 5
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = 0.5 * rng.standard_normal((D, H))
    Wh = 0.5 * rng.standard_normal((H, H))
    b = 0.1 * rng.standard_normal(H)
    dh = rng.standard_normal((N, T, H))
    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    analytic = rnn_backward(dh, cache)
    numeric = (
        numerical_gradient(lambda v: rnn_forward(v, h0, Wx, Wh, b)[0], x, dh),
        numerical_gradient(lambda v: rnn_forward(x, v, Wx, Wh, b)[0], h0, dh),
        numerical_gradient(lambda v: rnn_forward(x, h0, v, Wh, b)[0], Wx, dh),
        numerical_gradient(lambda v: rnn_forward(x, h0, Wx, v, b)[0], Wh, dh),
        numerical_gradient(lambda v: rnn_forward(x, h0, Wx, Wh, v)[0], b, dh),
    )
    names = ("dx", "dh0", "dWx", "dWh", "db")
    return {name: relative_error(a, n) for name, a, n in zip(names, analytic, numeric)}


def norms_experiment(x_scale, N=8, T=40, D=4, H=32, seed=0):
    """hidden_grad_norms for W_h = scaled_orthogonal(H, r) and every r in RADII."""
    rng = np.random.default_rng(seed)
    x = x_scale * rng.standard_normal((N, T, D))  # (N, T, D); all zero when x_scale = 0
    h0 = np.zeros((N, H))
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    b = np.zeros(H)
    dh_last = rng.standard_normal((N, H))
    return {
        r: hidden_grad_norms(x, h0, Wx, scaled_orthogonal(H, r, seed), b, dh_last) for r in RADII
    }


def clipping_demo(max_norm=1.0, seed=0):
    """Clip the parameter gradients of an exploding RNN (r = 1.5, small inputs)."""
    rng = np.random.default_rng(seed)
    N, T, D, H = 8, 40, 4, 32
    x = 0.01 * rng.standard_normal((N, T, D))  # small inputs keep tanh near linear
    h0 = np.zeros((N, H))
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    Wh = scaled_orthogonal(H, 1.5, seed)
    b = np.zeros(H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[:, -1] = rng.standard_normal((N, H))  # loss on the last state only
    _, _, dWx, dWh, db = rnn_backward(dh, cache)
    clipped, global_norm = clip_by_global_norm([dWx, dWh, db], max_norm)
    print(f"(c) clipping, r = 1.5, T = {T}, max_norm = {max_norm}")
    for name, g, c in zip(("dWx", "dWh", "db"), (dWx, dWh, db), clipped):
        print(f"    ||{name}||  before {np.linalg.norm(g):10.3e}   after {np.linalg.norm(c):10.3e}")
    after = np.sqrt(sum(np.sum(c**2) for c in clipped))
    cosine = np.sum(dWh * clipped[1]) / (np.linalg.norm(dWh) * np.linalg.norm(clipped[1]))
    print(f"    global norm before {global_norm:10.3e}   after {after:10.3e}")
    print(f"    cosine between dWh before and after clipping: {cosine:.6f} (direction kept)")


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print("(a) gradient check of rnn_backward, relative errors (correct code: ~1e-8):")
    for name, error in gradient_check().items():
        print(f"    {name:4s} {error:.2e}")

    experiments = {  # input scale: panel title
        0.0: "x = 0, h0 = 0: tanh' = 1, norms = r^k",
        0.1: "small inputs x ~ 0.1 N(0, 1): milder explosion",
        1.0: "inputs x ~ N(0, 1): tanh saturates, all vanish",
    }
    print("(b) mean ||dL/dh_t|| at distance k = 0, 10, 20, 30 from the loss:")
    results = {}
    for x_scale in experiments:
        results[x_scale] = norms_experiment(x_scale)
        print(f"    x scale {x_scale}")
        for r, norms in results[x_scale].items():
            T = len(norms)
            row = "  ".join(f"{norms[T - 1 - k]:9.2e}" for k in (0, 10, 20, 30))
            print(f"      r = {r:3}: {row}")

    run_dir = Path("runs") / "ex02"
    run_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(experiments), figsize=(16, 4.5), sharey=True)
    for ax, (x_scale, title) in zip(axes, experiments.items()):
        plot_gradient_norms(ax, results[x_scale], title, show_law=x_scale == 0.0)
    fig.suptitle("Norm of dL/dh_t vs distance to the loss, W_h = r * orthogonal")
    fig.tight_layout()
    path = run_dir / "gradient_norms.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"    saved {path}")

    clipping_demo()


if __name__ == "__main__":
    main()
