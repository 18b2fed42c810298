# %% [markdown]
# # ex02 — Backpropagation through time, vanishing and exploding gradients, clipping
#
# Dimension letters, in every docstring below: N batch, T time steps, D input features,
# H hidden units.
#
# The vanilla RNN of ex01, with W_x, W_h, b in Keras's layout (`kernel`,
# `recurrent_kernel`, `bias`):
#
#     h_t = tanh(x_t W_x + h_{t-1} W_h + b)        W_x (D, H), W_h (H, H), b (H,)
#
# read as a *many-to-many* (aligned) network: one input in and one hidden state out at
# every step, and a loss that may depend on any state (part 3 keeps only the last one:
# many-to-one). You write, in order: one step and its chain rule, the unrolled network and
# backpropagation through time, the gradient norm as the distance to the loss grows, and
# gradient clipping. Run the file to gradient-check your code and to draw
# `runs/ex02/gradient_norms.png`.
#
# Everything is NumPy in float64, by hand: the grader checks your gradients against
# autodiff, and refuses a module that imports TensorFlow, Keras or another autodiff
# library. No function may modify its inputs in place.

# %%
import sys
from pathlib import Path

import numpy as np

if not __package__:  # run as a file (python exercises/ex02_bptt.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# %% [markdown]
# ## 1. One step of the recurrence
#
# Forward in two stages, then backward from the upstream gradient dh_next = dL/dh_next,
# with tanh'(a) = 1 - tanh(a)^2 = 1 - h_next^2 (so the forward output is all you keep):
#
#     a = x W_x + h_prev W_h + b            da      = dh_next * (1 - h_next^2)
#     h_next = tanh(a)                      dx      = da W_x^T,    dh_prev = da W_h^T
#                                           dW_x    = x^T da,      dW_h    = h_prev^T da
#                                           db      = sum of da over the batch
#
# The `cache` holds what the backward pass needs; only your own backward function reads it.


# %%
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Run one time step of a vanilla tanh RNN.

    Inputs:
    - x: (N, D) input at this step.
    - h_prev: (N, H) hidden state of the previous step.
    - Wx: (D, H) input-to-hidden weights.
    - Wh: (H, H) hidden-to-hidden weights.
    - b: (H,) bias.

    Returns a tuple of:
    - h_next: (N, H) next hidden state.
    - cache: whatever rnn_step_backward needs (your choice).
    """
    # BEGIN SOLUTION
    a = x @ Wx + h_prev @ Wh + b  # (N, H) pre-activation
    h_next = np.tanh(a)  # (N, H)
    cache = (x, h_prev, Wx, Wh, h_next)
    return h_next, cache
    # END SOLUTION


def rnn_step_backward(dh_next, cache):
    """Run the backward pass of one time step of a vanilla tanh RNN.

    Inputs:
    - dh_next: (N, H) gradient of the loss with respect to h_next.
    - cache: what rnn_step_forward returned for this step.

    Returns a tuple of:
    - dx: (N, D).
    - dh_prev: (N, H).
    - dWx: (D, H).
    - dWh: (H, H).
    - db: (H,).
    """
    # BEGIN SOLUTION
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1.0 - h_next**2)  # (N, H) back through tanh
    dx = da @ Wx.T  # (N, D)
    dh_prev = da @ Wh.T  # (N, H)
    dWx = x.T @ da  # (D, H)
    dWh = h_prev.T @ da  # (H, H)
    db = da.sum(axis=0)  # (H,)
    return dx, dh_prev, dWx, dWh, db
    # END SOLUTION


# %% [markdown]
# ## 2. Unrolling over time, and backpropagation through time (BPTT)
#
# Unrolled, the RNN is a deep feed-forward graph with one layer per time step, and every
# layer uses the *same* W_x, W_h, b (h_t is h[:, t] in the code, h0 the initial state):
#
#     h0 --> [step] --> h_0 --> [step] --> h_1 --> ... --> [step] --> h_{T-1}
#              ^                  ^                           ^
#             x_0                x_1                       x_{T-1}
#
# * **A hidden state has two consumers**, the loss and the next step, so its gradient is
#   the sum of both paths: dL/dh_t = dh[:, t] + (gradient back from step t+1). Walk
#   t = T-1, ..., 0 carrying the second term, which is zero after the last step; what is
#   left after step 0 is dL/dh0.
# * **Shared parameters accumulate**: dW_x, dW_h, db are the sums over t of the per-step
#   gradients (the loss reaches W_h through every step).
#
# The grader uses the loss L = sum(h * dh), for which dL/dh is exactly `dh`.


# %%
def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla tanh RNN forward over a whole sequence, with rnn_step_forward.

    Inputs:
    - x: (N, T, D) input sequence.
    - h0: (N, H) initial hidden state.
    - Wx: (D, H), Wh: (H, H), b: (H,) as in rnn_step_forward.

    Returns a tuple of:
    - h: (N, T, H) every hidden state; h0 is not included.
    - cache: whatever rnn_backward needs (your choice).
    """
    # BEGIN SOLUTION
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=np.float64)  # (N, T, H)
    step_caches = []
    h_prev = h0  # (N, H)
    for t in range(T):
        h_prev, step_cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)
        h[:, t] = h_prev
        step_caches.append(step_cache)
    return h, step_caches
    # END SOLUTION


def rnn_backward(dh, cache):
    """Run backpropagation through time for a vanilla tanh RNN, with rnn_step_backward.

    Inputs:
    - dh: (N, T, H) upstream gradient of every hidden state along its DIRECT path to the
      loss only (not through later steps). Do not add into it.
    - cache: what rnn_forward returned.

    Returns a tuple of:
    - dx: (N, T, D).
    - dh0: (N, H).
    - dWx: (D, H), dWh: (H, H), db: (H,), each summed over all time steps.
    """
    # BEGIN SOLUTION
    N, T, H = dh.shape
    D = cache[0][2].shape[0]  # Wx is (D, H)
    dx = np.zeros((N, T, D), dtype=np.float64)  # (N, T, D)
    dWx = np.zeros((D, H), dtype=np.float64)
    dWh = np.zeros((H, H), dtype=np.float64)
    db = np.zeros(H, dtype=np.float64)
    dh_from_later = np.zeros((N, H), dtype=np.float64)  # nothing comes after the last step
    for t in reversed(range(T)):
        dh_total = dh[:, t] + dh_from_later  # (N, H) sum over the two paths
        dx_t, dh_from_later, dWx_t, dWh_t, db_t = rnn_step_backward(dh_total, cache[t])
        dx[:, t] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dh_from_later  # (N, H)
    return dx, dh0, dWx, dWh, db
    # END SOLUTION


# %% [markdown]
# ## Checking gradients numerically (given)
#
# A centred finite difference, (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), has a truncation
# error of order eps^2 and a rounding error of order 1e-16 / eps: with eps = 1e-6 a correct
# gradient agrees to a relative error of about 1e-8 or better; 1e-2 or more is a bug.


# %%
def numerical_gradient(f, x, df, eps=1e-6):
    """Estimate dL/dx for L = sum(f(x) * df) by centred finite differences.

    CS231n's eval_numerical_gradient_array.

    Inputs:
    - f: function of an array shaped like x, returning an array shaped like df.
    - x: the point, any shape.
    - df: the upstream gradient, shaped like f(x).
    - eps: the step.

    Returns:
    - grad: shaped like x.
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
    """Return the largest elementwise relative error, max |a - b| / max(1e-8, |a| + |b|)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# %% [markdown]
# ## 3. Why long-range gradients vanish or explode
#
# Put the loss on the last state only, L = sum(h_{T-1} * dh_last). For a state k = T-1-t
# steps before it, the chain rule through time gives (on row vectors)
#
#     dL/dh_t = dL/dh_{T-1} J_{T-1} J_{T-2} ... J_{t+1},    J_s = diag(1 - h_s^2) W_h^T
#
# a *total* derivative over every path from h_t to the loss. Since |tanh'| <= 1,
#
#     ||dL/dh_t|| <= ||dL/dh_{T-1}|| (largest singular value of W_h)^k,
#
# and ||W_h^k||^(1/k) tends to the spectral radius rho(W_h) (Gelfand's formula), so the norm
# behaves like rho^k: for rho < 1 the gradient from far away **vanishes** exponentially and
# long-range dependencies cannot be learnt; for rho > 1 it can **explode** and one update
# throws the weights far away (Bengio et al. 1994; Pascanu et al. 2013).
#
# `main()` makes this exact with W_h = r Q, Q orthogonal (`scaled_orthogonal`), so every
# singular value is r. With x = 0, h0 = 0, b = 0 every state is 0, tanh' = 1, and the
# norms follow **r^k exactly**. Random inputs move the states off 0, tanh' < 1 shrinks every
# factor, and unit-size inputs saturate the tanh so much that even r = 1.5 vanishes: the
# vanilla RNN's practical problem is mostly vanishing, which LSTM and GRU (ex03) address
# with an additive path.


# %%
def scaled_orthogonal(H, radius, seed):
    """Return a random (H, H) matrix whose singular values all equal `radius`.

    Q from the QR decomposition of a Gaussian matrix (np.random.default_rng(seed)), with the
    sign fix that makes it uniform over orthogonal matrices, times `radius`.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((H, H)))
    q = q * np.sign(np.diag(r))  # (H, H) flip columns so diag(r) > 0
    return radius * q


def hidden_grad_norms(x, h0, Wx, Wh, b, dh_last):
    """Measure dL/dh_t at every step for L = sum(h[:, T-1] * dh_last).

    dL/dh[:, t] is the TOTAL derivative, through all later steps (so dL/dh[:, T-1] =
    dh_last). Use rnn_forward and rnn_step_backward.

    Inputs:
    - x, h0, Wx, Wh, b: as in rnn_forward.
    - dh_last: (N, H) gradient of the loss with respect to the last hidden state.

    Returns:
    - norms: (T,), norms[t] = mean over the batch of the L2 norm (over H) of dL/dh[:, t].
    """
    # BEGIN SOLUTION
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    T = h.shape[1]
    norms = np.zeros(T, dtype=np.float64)  # (T,)
    dh_t = dh_last  # (N, H) total gradient at the last step
    for t in reversed(range(T)):
        norms[t] = np.mean(np.linalg.norm(dh_t, axis=1))
        _, dh_t, _, _, _ = rnn_step_backward(dh_t, cache[t])  # now dL/dh[:, t-1]
    return norms
    # END SOLUTION


# %% [markdown]
# ## 4. Gradient clipping by global norm
#
# The cheap cure for exploding gradients (Pascanu et al. 2013): measure all parameter
# gradients together,
#
#     global_norm = sqrt(sum over every gradient array g of sum(g**2)),
#
# and if it exceeds `max_norm`, multiply every array by max_norm / global_norm; otherwise
# leave them unchanged. The update keeps its direction and only its length is capped
# (clipping each value separately would bend it). Keras: `Adam(global_clipnorm=1.0)`;
# TensorFlow: `tf.clip_by_global_norm`. Clipping does nothing for *vanishing* gradients.


# %%
def clip_by_global_norm(grads, max_norm):
    """Rescale gradient arrays so that their global norm is at most max_norm.

    Same semantics as tf.clip_by_global_norm; all-zero gradients come back as zeros.

    Inputs:
    - grads: list of arrays of any shapes, e.g. [dWx, dWh, db].
    - max_norm: positive float.

    Returns a tuple of:
    - clipped: list of NEW arrays, same shapes and order as grads.
    - global_norm: float, the global norm of grads BEFORE clipping.
    """
    # BEGIN SOLUTION
    global_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
    scale = max_norm / global_norm if global_norm > max_norm else 1.0
    clipped = [np.asarray(g, dtype=np.float64) * scale for g in grads]  # new arrays
    return clipped, global_norm
    # END SOLUTION


# %% [markdown]
# ## Run it
#
# `main()` (a) gradient-checks your `rnn_backward`, (b) plots the gradient norms for every
# r in RADII, with x = 0 (on the r^k law, the gray band), small and unit-size random
# inputs, (c) clips an exploding gradient.

# %%
RADII = (0.5, 0.9, 1.0, 1.1, 1.5)


def plot_gradient_norms(ax, norms_by_radius, title, show_law=False):
    """Draw the norm of dL/dh_t against the distance to the loss, one line per radius.

    Inputs:
    - ax: a matplotlib Axes.
    - norms_by_radius: {r: (T,) norms from hidden_grad_norms}.
    - title: the panel's title.
    - show_law: also draw the r^k law under each curve, as a wide gray band.

    Returns:
    - ax.
    """
    from rnnkit.plots import curve_style

    for i, (radius, norms) in enumerate(norms_by_radius.items()):
        distance = np.arange(len(norms))[::-1]  # (T,) distance T-1-t of each h_t
        ax.semilogy(distance, norms, label=f"r = {radius}", markevery=4, zorder=3,
                    **curve_style(i))
        if show_law:
            law = norms[-1] * radius**distance  # (T,) r^k times the norm at the loss
            ax.semilogy(distance, law, color="gray", alpha=0.35, linewidth=6, zorder=2,
                        label="r^k law" if i == 0 else None)
    ax.set_xlabel("distance to the loss k = T-1-t (steps)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def gradient_check(seed=0):
    """Compare rnn_backward with numerical_gradient on a tiny problem.

    Returns:
    - errors: {"dx", "dh0", "dWx", "dWh", "db": relative error}.
    """
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
    """Run hidden_grad_norms with W_h = scaled_orthogonal(H, r) for every r in RADII.

    Inputs:
    - x_scale: the inputs are x_scale * N(0, 1), all zero for 0.
    - N, T, D, H: the sizes; seed: the seed.

    Returns:
    - norms: {r: (T,) norms}.
    """
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
    """Clip the parameter gradients of an exploding RNN (r = 1.5, small inputs); print."""
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
    """Gradient-check, plot runs/ex02/gradient_norms.png, and clip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.plots import save_figure

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

    fig, axes = plt.subplots(1, len(experiments), figsize=(16, 4.5), sharey=True)
    for ax, (x_scale, title) in zip(axes, experiments.items()):
        plot_gradient_norms(ax, results[x_scale], title, show_law=x_scale == 0.0)
    fig.suptitle("Norm of dL/dh_t vs distance to the loss, W_h = r * orthogonal")
    print(f"    saved {save_figure(fig, 'runs/ex02/gradient_norms.png')}")

    clipping_demo()


if __name__ == "__main__":
    main()
