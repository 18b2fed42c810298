"""The time series of ex04, generated deterministically with NumPy (no tfds, no TensorFlow).

Two series, each a 1-D float32 array of `length` values sampled at regular steps:

- `seasonal_series`: trend + two seasonalities of incommensurate periods + Gaussian noise,
  the shape of an hourly load or sales series (what a forecaster must learn: where in each
  cycle it is, and the level).
- `mackey_glass`: the Mackey-Glass delay differential equation with tau = 17, the classic
  chaotic benchmark (Mackey and Glass, 1977; Farmer, 1982):
      dx/dt = beta x(t - tau) / (1 + x(t - tau)^p) - gamma x(t),
      beta = 0.2, gamma = 0.1, p = 10.
  Integrated with fourth-order Runge-Kutta at dt = 0.1 (the delayed value at half steps is
  the mean of its two neighbours), then sampled every `sample_every` time units.

`split_series` cuts a series into chronological train / validation / test parts: a
forecaster is always tested on the future of what it was trained on. The tfds builder
`rnnkit_timeseries` and the grader use these same functions.
"""
from __future__ import annotations

import numpy as np

SERIES = ("seasonal", "mackey_glass")
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)   # train, validation, test, in time order


def _rng(seed, salt):
    return np.random.default_rng([int(seed), salt])


def _check_length(length):
    if not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length must be an int >= 2, received length={length!r}")


def seasonal_series(length=3000, seed=0, *, periods=(12.0, 41.0), amplitudes=(1.0, 0.6),
                    slope=2e-4, noise_std=0.15):
    """Trend, seasonalities and noise, sampled at t = 0, 1, ..., length - 1.

        x[t] = slope * t + sum_k amplitudes[k] * sin(2 pi t / periods[k] + phase_k) + noise_t
        phase_k ~ U(0, 2 pi) and noise_t ~ N(0, noise_std^2), drawn from `seed`.

    Returns x (length,) float32.
    """
    _check_length(length)
    if len(periods) != len(amplitudes) or len(periods) < 1 or min(periods) <= 0:
        raise ValueError(f"need positive periods and one amplitude per period, received "
                         f"periods={periods!r}, amplitudes={amplitudes!r}")
    rng = _rng(seed, 1)
    t = np.arange(length, dtype="float64")
    phases = rng.uniform(0.0, 2 * np.pi, size=len(periods))
    x = slope * t                                                       # (length,)
    for period, amplitude, phase in zip(periods, amplitudes, phases):
        x = x + amplitude * np.sin(2 * np.pi * t / period + phase)
    x = x + noise_std * rng.standard_normal(length)
    return x.astype("float32")


def mackey_glass(length=3000, seed=0, *, tau=17.0, sample_every=3.0, dt=0.1, beta=0.2,
                 gamma=0.1, power=10, transient=500.0):
    """The Mackey-Glass series (module docstring), `length` samples `sample_every` apart.

    The initial history (x on [-tau, 0]) is 1.2 plus a uniform perturbation in
    [-0.1, 0.1] drawn from `seed`, constant over the history; the first `transient` time
    units are discarded so every seed starts on the attractor. Returns x (length,) float32.
    """
    _check_length(length)
    delay, every = int(round(tau / dt)), int(round(sample_every / dt))
    if delay < 1 or every < 1 or abs(delay * dt - tau) > 1e-9 or abs(every * dt - sample_every) > 1e-9:
        raise ValueError(f"tau and sample_every must be positive multiples of dt={dt}, "
                         f"received tau={tau!r}, sample_every={sample_every!r}")
    skip = int(round(transient / dt))
    steps = skip + (length - 1) * every
    x0 = 1.2 + _rng(seed, 2).uniform(-0.1, 0.1)
    xs = [float(x0)] * (delay + 1) + [0.0] * steps   # xs[k] = x((k - delay) dt)

    def slope(x_now, x_delayed):
        return beta * x_delayed / (1.0 + x_delayed ** power) - gamma * x_now

    for k in range(delay, delay + steps):
        x_now, x_old, x_next_old = xs[k], xs[k - delay], xs[k - delay + 1]
        x_mid_old = 0.5 * (x_old + x_next_old)
        k1 = slope(x_now, x_old)
        k2 = slope(x_now + 0.5 * dt * k1, x_mid_old)
        k3 = slope(x_now + 0.5 * dt * k2, x_mid_old)
        k4 = slope(x_now + dt * k3, x_next_old)
        xs[k + 1] = x_now + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    start = delay + skip
    return np.asarray(xs[start::every], dtype="float32")[:length]


def generate(name, length=3000, seed=0, **options):
    """The series called `name` (one of SERIES); options go to its generator."""
    if name == "seasonal":
        return seasonal_series(length, seed, **options)
    if name == "mackey_glass":
        return mackey_glass(length, seed, **options)
    raise ValueError(f"unknown series {name!r}; valid names: {', '.join(SERIES)}")


def split_series(series, fractions=SPLIT_FRACTIONS):
    """Cut a series (L, ...) into consecutive train, validation, test parts, in time order.

    The sizes are floor(f_train L), floor(f_val L) and the rest. Returns a tuple of three
    arrays (views of `series`).
    """
    series = np.asarray(series)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, "
                         f"received {fractions!r}")
    n_train = int(np.floor(fractions[0] * len(series)))
    n_val = int(np.floor(fractions[1] * len(series)))
    return (series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:])
