"""The long-range memory experiment of ex03, defined once for the exercise and the grader.

"Recall the first symbol after `lag` noise steps": the data (`memory_task`), the model
(`memory_model`), chrono initialisation of a gated cell's bias, the gradient that reaches
the first step at initialisation, and `run_memory_experiment`, which trains any cells on it.
The exercise explains and uses them; the grader trains the student's cells with this same
code and then scores the trained weights with Keras's own layers.
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import layers, ops


MEMORY_LAG = 40  # the lag at which the three cells are compared (and graded)
UNITS, N_SYMBOLS, NOISE_STD = 32, 4, 1.0   # the experiment's cell size and task


def memory_task(n, lag, n_symbols=N_SYMBOLS, seed=0, *, noise_std=NOISE_STD, classes=None):
    """Sequences whose label is their first symbol, followed by `lag` noise steps.

    Returns x (n, lag + 1, n_symbols) float32 and y (n,) int32:
        x[k, 0] = one_hot(s[k]);  x[k, 1:] ~ N(0, noise_std^2), independently
        y[k] = classes[s[k]] (classes: a permutation of the symbols; the identity when None)
        s: each of the n_symbols symbols exactly n // n_symbols or n // n_symbols + 1 times,
           in random order.
    Deterministic for a given seed (NumPy only).
    """
    if n <= 0 or lag < 0 or n_symbols < 2:
        raise ValueError(f"need n > 0, lag >= 0, n_symbols >= 2; received n={n}, lag={lag}, "
                         f"n_symbols={n_symbols}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % n_symbols)                       # (n,) balanced
    x = noise_std * rng.standard_normal((n, lag + 1, n_symbols))        # (n, T, S)
    x[:, 0] = np.eye(n_symbols)[y]
    if classes is not None:
        y = np.asarray(classes)[y]
    return x.astype("float32"), y.astype("int32")


def memory_model(cell, n_classes):
    """RNN(cell) -> Dense(n_classes, softmax): (N, T, D) inputs -> (N, n_classes) probabilities.

    A Sequential model, built by its first call (or by `model.build((None, T, D))`).
    """
    return keras.Sequential([layers.RNN(cell), layers.Dense(n_classes, activation="softmax")])


def chrono_initialize(cell, t_max, seed=0):
    """Chrono initialisation (Tallec and Ollivier, 2018) of a built cell's bias, in place.

    With u ~ U(1, t_max - 1) drawn once per unit (H values) and b_f = log(u):
        LSTM (bias (4H,), gates i, f, c, o): bias[H:2H] = b_f, bias[0:H] = -b_f.
        GRU (bias (2, 3H), gates z, r, h):   bias[0, 0:H] = b_f, bias[1, 0:H] = 0, so z
                                             starts near 1 (keep the state).
    The cell's weights must be, in order, kernel, recurrent_kernel (H, .), bias.
    Returns "lstm" or "gru"; returns None and changes nothing for a cell without gates
    (bias (H,), e.g. SimpleRNNCell).
    """
    if t_max <= 2:
        raise ValueError(f"t_max must be > 2 (u ~ U(1, t_max - 1)), received t_max={t_max}")
    if len(cell.weights) != 3:
        raise ValueError("chrono_initialize needs a built cell with weights kernel, "
                         f"recurrent_kernel, bias; received {[w.path for w in cell.weights]}")
    _, recurrent_kernel, bias = cell.weights
    units = recurrent_kernel.shape[0]
    values = ops.convert_to_numpy(bias).copy()
    b_f = np.log(np.random.default_rng(seed).uniform(1.0, t_max - 1.0, size=units))  # (H,)
    if values.shape == (4 * units,):           # LSTM: i, f, c, o
        kind = "lstm"
        values[units:2 * units] = b_f          # forget gate open for ~u steps
        values[:units] = -b_f                  # input gate mostly closed
    elif values.shape == (2, 3 * units):       # GRU: rows (input, recurrent), gates z, r, h
        kind = "gru"
        values[0, :units] = b_f                # update gate z near 1: keep the state
        values[1, :units] = 0.0
    elif values.shape == (units,):             # no gates: nothing to do
        return None
    else:
        raise ValueError(f"unknown bias layout {values.shape} for {units} units: expected "
                         f"({4 * units},), (2, {3 * units}) or ({units},)")
    bias.assign(values)
    return kind


def first_step_gradient_norm(model, x, y):
    """Mean over the batch of ||d loss_k / d x[k, 0]||, with loss_k the cross-entropy of
    sequence k: how much gradient reaches the first (the only informative) step.

    x (N, T, D) float32, y (N,) int labels; the model maps x to probabilities.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        probabilities = model(x, training=False)                        # (N, classes)
        # A sum, not a mean: sequence k's loss then reaches x[k] with its own full size.
        loss = ops.sum(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    gradient = tape.gradient(loss, x)                                   # (N, T, D)
    return float(ops.mean(ops.norm(gradient[:, 0], axis=-1)))


def train_memory_model(factory, lag, *, seed=0, x_val=None, y_val=None, units=UNITS, n=4000,
                       epochs=6, n_symbols=N_SYMBOLS, noise_std=NOISE_STD, batch_size=128,
                       learning_rate=1e-2, chrono=True, classes=None):
    """Seed, build memory_model(factory(units)), chrono-initialise it, measure the gradient
    reaching the first step on (x_val, y_val)[:256] when given, and train it on
    memory_task(n, lag, seed=seed, classes=classes). Returns (model, gradient norm or None,
    fit seconds)."""
    x, y = memory_task(n, lag, n_symbols, seed=seed, noise_std=noise_std, classes=classes)
    keras.utils.set_random_seed(seed)
    cell = factory(units)
    model = memory_model(cell, n_symbols)
    model.build((None, lag + 1, n_symbols))
    if chrono:
        chrono_initialize(cell, t_max=lag + 1, seed=seed)
    gradient = None if x_val is None else first_step_gradient_norm(model, x_val[:256],
                                                                     y_val[:256])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model, gradient, time.perf_counter() - start


def run_memory_experiment(cells, lags=(5, 10, 20, 30, 40, 50), units=UNITS, n=4000,
                          epochs=6, seed=0, *, n_symbols=N_SYMBOLS, noise_std=NOISE_STD, n_val=1000,
                          batch_size=128, learning_rate=1e-2, chrono=True, verbose=True):
    """Train every cell on the memory task at every lag; measure gradients at initialisation.

    cells: name -> cell class or factory, called as factory(units) (ex03 passes its
        vanilla SimpleRNNCell, LSTMCell and GRUCell).
    For each cell and lag: `train_memory_model` (seeded; chrono initialisation when
    `chrono`, which changes nothing for cells without gates; the gradient reaching the
    first step measured on 256 validation sequences before training; `epochs` epochs of
    Adam(learning_rate, clipnorm=1.0)), then validation accuracy on n_val sequences of
    memory_task(..., seed=seed + 1).

    Returns a plain dict (lists aligned with `lags`):
        {"lags": [...], "chance": 1 / n_symbols, "settings": {...},
         "accuracy": {name: [...]}, "grad_norm_first_step": {name: [...]},
         "seconds": {name: [...]}}   # seconds = training time (fit) only
    """
    settings = {"units": units, "n": n, "epochs": epochs, "n_symbols": n_symbols,
                "noise_std": noise_std, "batch_size": batch_size,
                "learning_rate": learning_rate, "chrono": chrono}
    results = {"lags": [int(lag) for lag in lags], "chance": 1.0 / n_symbols,
               "settings": {**settings, "seed": seed, "n_val": n_val},
               "accuracy": {}, "grad_norm_first_step": {}, "seconds": {}}
    for name, factory in cells.items():
        for key in ("accuracy", "grad_norm_first_step", "seconds"):
            results[key][name] = []
        for lag in results["lags"]:
            x_val, y_val = memory_task(n_val, lag, n_symbols, seed=seed + 1,
                                       noise_std=noise_std)
            model, gradient, seconds = train_memory_model(factory, lag, seed=seed, x_val=x_val,
                                                          y_val=y_val, **settings)
            accuracy = float(model.evaluate(x_val, y_val, batch_size=n_val, verbose=0)[1])
            results["accuracy"][name].append(accuracy)
            results["grad_norm_first_step"][name].append(gradient)
            results["seconds"][name].append(seconds)
            if verbose:
                print(f"{name:>8s}  lag {lag:3d}  accuracy {accuracy:.2f}  "
                      f"|dL/dx_0| at init {gradient:.1e}  {seconds:.1f} s", flush=True)
    return results
