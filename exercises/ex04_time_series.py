# %% [markdown]
# # ex04 — Time series: windows, honest normalisation, baselines, an RNN forecaster
#
# Forecasting turns one long series x_0, x_1, ..., x_{L-1} into many supervised examples:
# a **window** of the last T values is the input, the next K values are the target.
#
#     inputs  x[s : s + T]            (T, 1)   one feature per step
#     targets x[s + T : s + T + K]    (K,)     the K values that follow, in order
#
# for every start s = 0, 1, ..., L - T - K (L - T - K + 1 windows). K = 1 is next-value
# forecasting; K > 1 forecasts a whole horizon at once from the last state (a "direct"
# multi-step forecast, no feeding of predictions back in).
#
# Dimension letters: N windows (batch), T input steps (`window`), K forecast steps
# (`horizon`), H units of the recurrent cell.
#
# ## Problem shapes
# - Next value: **many-to-one**, (N, T, 1) -> (N, 1).
# - A horizon of K values: **many-to-many, not aligned**, (N, T, 1) -> (N, K): T values
#   in, K later values out, all read off the last hidden state by one Dense layer.
#
# ## Rules a forecaster must follow
# - **Split in time, never at random.** Train on the past, validate on what follows, test
#   on the last part (`rnnkit.datasets.timeseries.split_series`: 70 / 15 / 15 %).
# - **Normalise with the training split's statistics only.** z = (x - mean_train) /
#   std_train for all three splits. Using the test split's mean or spread tells the model
#   something about the future it is tested on (leakage): the score looks better than it
#   will be on truly new data.
# - **Compare with baselines.** The naive forecast repeats the last value:
#   x_hat[s + T + k] = x[s + T - 1] for every k. The linear forecast is a least-squares
#   fit y = x W + b on the training windows, W (T, K), b (K,). A model is only interesting
#   where it beats both; MAE (mean absolute error, in the series' own units) is the measure.
#
# ## The data (`rnnkit.datasets.timeseries`, also `tfds.load("rnnkit_timeseries/<name>")`)
# - `mackey_glass`: the Mackey-Glass delay equation with tau = 17, the classic chaotic
#   benchmark, sampled every 3 time units. Its future depends nonlinearly on its past.
# - `seasonal`: trend + two seasonalities (periods 12 and 41) + Gaussian noise (std 0.15).
#   Trend and sinusoids obey a *linear* recurrence, so the linear baseline is already near
#   the noise floor (MAE of pure noise = 0.15 sqrt(2 / pi) = 0.12): there is nothing left
#   for an RNN to win, and with main()'s small budget it does worse than the linear model.
#   On Mackey-Glass the RNN wins several-fold at short and middle horizons; far enough
#   ahead chaos wins and its edge over the linear model shrinks to nothing. `main()`
#   measures both and plots the error at each lead time.
#
# Your own data: `rnnkit.datasets.timeseries_csv.read_csv_series(path, value_column,
# time_column=..., missing="refuse" | "drop" | "interpolate")` reads a CSV series.
#
# The forecaster uses **your** ex03 cells (passed in as a class). The grader trains
# `build_forecaster(LSTMCell, 24, 8, units=16)` for 6 epochs on the first 70 % of a
# Mackey-Glass series in your process, loads the weights into `keras.layers.LSTM` +
# `Dense` in its own process and measures the test MAE on windows your process never
# received. If your ex03 LSTMCell is not right yet, Keras's stands in (the report says so).

# %%
import os
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex04_time_series.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from rnnkit.datasets.timeseries import generate, split_series  # noqa: E402

if __package__:
    from .ex03_gated_cells import GRUCell, LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import GRUCell, LSTMCell

WINDOW, HORIZON, UNITS = 24, 8, 32   # T, K, H in main() (the grader uses 16 units)


# %% [markdown]
# ## 1. Normalisation fitted on the training split
#
# Compute the mean and the standard deviation (population, ddof = 0, as `np.std`) of the
# training split in float64, and scale all three splits with them. The models forecast in
# those normalised units; `denormalize` takes a forecast back to the series' own units, where
# its error (MAE) means something: a forecast left normalised is off by the training mean.

# %%
def normalize_splits(train, val, test):
    """Scale three chronological splits with the training split's statistics.

    Inputs:
    - train, val, test: (L_train,), (L_val,), (L_test,), the splits, any float dtype.

    Returns a tuple of:
    - splits: (train_z, val_z, test_z), float32 arrays of the input shapes,
      z = (x - mean) / std.
    - stats: {"mean": float, "std": float}, mean and standard deviation (ddof = 0) of
      `train` alone, computed in float64.

    Raises ValueError when the training split is constant (std = 0) or empty.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError("normalize_splits is not written yet: Scale three chronological splits with the training split's statistics.")


def denormalize(values, stats):
    """Undo `normalize_splits`: values * std + mean.

    Inputs:
    - values: an array of any shape, in normalised units (a forecast (N, K)).
    - stats: the {"mean", "std"} normalize_splits returned.

    Returns:
    - an array of the same shape, float64, in the series' own units.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('denormalize is not written yet: Undo `normalize_splits`: values * std + mean.')


# %% [markdown]
# ## 2. Windows with tf.data
#
# `keras.utils.timeseries_dataset_from_array(data, None, sequence_length=T + K,
# batch_size=..., shuffle=..., seed=...)` yields batches of windows of T + K consecutive
# values, one per start s = 0, 1, ...; split each into T inputs and K targets with
# `dataset.map`. Mind the off-by-ones: the first target is x[s + T], the value right
# after the last input, and the last window ends exactly at the last value.

# %%
def make_windows(series, window, horizon, batch_size=256, shuffle=False, seed=None):
    """Every (T inputs, K targets) window of a series, as a batched tf.data.Dataset.

    Inputs:
    - series: (L,), the values, any float dtype (cast to float32).
    - window, horizon: T and K, positive ints, T + K <= L.
    - batch_size, shuffle, seed: as in keras.utils.timeseries_dataset_from_array.

    Returns:
    - a tf.data.Dataset of (x, y) batches, x (N, T, 1) float32, y (N, K) float32, with
      x[n] = series[s : s + T, None] and y[n] = series[s + T : s + T + K] for the
      L - T - K + 1 starts s (in order s = 0, 1, ... when shuffle is False).

    Raises ValueError when T or K is not a positive int or T + K > L.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('make_windows is not written yet: Every (T inputs, K targets) window of a series, as a batched tf.data.Dataset.')


def window_arrays(dataset):
    """All batches of a (x, y) dataset concatenated: x (N, T, 1), y (N, K) NumPy arrays."""
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


# %% [markdown]
# ## 3. Baselines: naive and linear
#
# Fit the linear forecast in float64 with `np.linalg.lstsq` on [x, 1] (a column of ones
# for the bias).

# %%
def naive_forecast(x, horizon):
    """Repeat the last input value.

    Inputs:
    - x: (N, T, 1) input windows.
    - horizon: K.

    Returns:
    - forecasts: (N, K), every column x[:, -1, 0].
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('naive_forecast is not written yet: Repeat the last input value.')


def fit_linear(x, y):
    """Least-squares fit of y = x W + b on training windows.

    Inputs:
    - x: (N, T, 1) input windows.
    - y: (N, K) targets.

    Returns a tuple of:
    - W: (T, K) float64.
    - b: (K,) float64, together minimising sum((x[:, :, 0] W + b - y)^2).
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('fit_linear is not written yet: Least-squares fit of y = x W + b on training windows.')


def linear_forecast(x, weights, bias):
    """The linear forecast x[:, :, 0] W + b.

    Inputs:
    - x: (N, T, 1) input windows.
    - weights, bias: W (T, K) and b (K,), as fit_linear returns them.

    Returns:
    - forecasts: (N, K) float64.
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('linear_forecast is not written yet: The linear forecast x[:, :, 0] W + b.')


# %% [markdown]
# ## 4. The forecaster on your own cell
#
# Input (T, 1) -> `layers.RNN(cell_class(units))` (the last hidden state, (N, H)) ->
# `layers.Dense(horizon)` with no activation (the K forecasts, (N, K)). Exactly this: the
# grader loads your trained weights into keras.layers.LSTM(units) + Dense(horizon).

# %%
def build_forecaster(cell_class, window, horizon, units=UNITS):
    """An uncompiled Keras Model: (N, T, 1) normalised windows -> (N, K) forecasts.

    Inputs:
    - cell_class: called as cell_class(units), e.g. your LSTMCell or GRUCell.
    - window, horizon, units: T, K, H.

    Returns:
    - model: a keras.Model whose weights are the cell's [kernel, recurrent_kernel, bias]
      then the Dense layer's [kernel (H, K), bias (K,)].
    """
    # YOUR CODE (replace this line)
    raise NotImplementedError('build_forecaster is not written yet: An uncompiled Keras Model: (N, T, 1) normalised windows -> (N, K) forecasts.')


def train_forecaster(model, train, val=None, epochs=15, learning_rate=1e-2, verbose=0):
    """Compile (Adam, MSE loss, MAE metric) and fit on (x, y) datasets; returns History.

    Shuffle the training windows in `make_windows` (shuffle=True, seed=...): `fit` cannot
    shuffle a tf.data set."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=["mae"])
    return model.fit(train, validation_data=val, epochs=epochs, verbose=verbose, shuffle=False)


# %% [markdown]
# ## 5. Experiment: where does the RNN help?
#
# `forecast_experiment` runs the whole pipeline on one series: split, normalise, window,
# fit the baselines and the forecaster, and measure on the test split the MAE at each lead
# time k = 1 .. K (in the series' units), with the training mean as a fourth,
# "climatology", forecast: a model worse than it has learnt nothing usable.

# %%
def forecast_experiment(name, cell_class, window=WINDOW, horizon=HORIZON, units=UNITS,
                        length=3000, epochs=15, seed=0):
    """Train and evaluate on the series `name`; returns a dict of results (see the end)."""
    keras.utils.set_random_seed(seed)
    (train, val, test), stats = normalize_splits(*split_series(generate(name, length, seed=0)))
    train_windows = make_windows(train, window, horizon, batch_size=64, shuffle=True, seed=seed)
    val_windows = make_windows(val, window, horizon, batch_size=256)
    x_train, y_train = window_arrays(make_windows(train, window, horizon))
    x_test, y_test = window_arrays(make_windows(test, window, horizon))  # (N, T, 1), (N, K)
    model = build_forecaster(cell_class, window, horizon, units)
    history = train_forecaster(model, train_windows, val_windows, epochs=epochs)
    weights, bias = fit_linear(x_train, y_train)
    forecasts = {"RNN": model.predict(x_test, verbose=0),
                 "linear": linear_forecast(x_test, weights, bias),
                 "naive": naive_forecast(x_test, horizon),
                 "training mean": np.zeros_like(y_test)}
    truth = denormalize(y_test, stats)                                  # (N, K)
    forecasts = {key: denormalize(value, stats) for key, value in forecasts.items()}
    lead_mae = {key: np.mean(np.abs(value - truth), axis=0) for key, value in forecasts.items()}
    return {"name": name, "inputs": denormalize(x_test[:, :, 0], stats), "truth": truth,
            "forecasts": forecasts, "lead_mae": lead_mae, "history": history.history}


def plot_forecast(ax, result, index=0):
    """One test window: its inputs, the true continuation (black, filled plus signs) and
    every forecast (hollow markers, styled as in the error-by-lead plot); the legend sits
    outside the axes, so it hides no forecast. Returns ax."""
    inputs, truth = result["inputs"][index], result["truth"][index]
    window, horizon = len(inputs), len(truth)
    ax.plot(np.arange(window), inputs, color="black", label="inputs")
    after = np.arange(window, window + horizon)
    ax.plot(after, truth, color="black", marker="P", markersize=6, label="truth")
    for key, values in result["forecasts"].items():
        style = LEAD_STYLES.get(key, dict(marker="v", linestyle=(0, (5, 1))))
        ax.plot(after, values[index], markersize=5, markerfacecolor="none", label=key, **style)
    ax.set_xlabel("step")
    ax.set_ylabel("value (series units)")
    ax.set_title(f"{result['name']}: test window {index}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
    return ax


# One style per forecast, told apart without colour: marker and line style both differ.
LEAD_STYLES = {"RNN": dict(marker="o", linestyle="-"), "linear": dict(marker="s", linestyle="-."),
               "naive": dict(marker="^", linestyle="--"),
               "training mean": dict(marker="D", linestyle=":")}


def plot_lead_errors(ax, result, helpful=None):
    """Test MAE at each lead time, one line per forecast (naive dashed), on a log scale; the
    legend sits outside the axes, so it hides no curve. helpful: (first, last) leads where
    the RNN helps (`helpful_leads`), shaded and named in the legend. Returns ax."""
    from rnnkit.plots import one_notation

    errors = result["lead_mae"]
    leads = np.arange(1, len(next(iter(errors.values()))) + 1)
    step = max(1, len(leads) // 12)                  # about 12 markers per line
    for index, (key, values) in enumerate(errors.items()):
        style = LEAD_STYLES.get(key, dict(marker="v", linestyle=(0, (5, 1))))
        ax.plot(leads, values, label=key, markersize=5, markerfacecolor="none", linewidth=1.5,
                markevery=(index * step // len(errors), step), **style)
    if helpful is not None:
        first, last = helpful
        ax.axvspan(first, last, facecolor="0.94", edgecolor="0.75", hatch="/", linewidth=0,
                   zorder=0,
                   label=f"RNN ≥ 10 % better than every\nbaseline: leads {first} to {last}")
    ax.set_yscale("log")
    one_notation(ax.yaxis)                          # "0.2", "0.3", not "2x10^-1" beside "0.1"
    ax.set_xlabel("lead time k (steps ahead)")
    ax.set_ylabel("test MAE (series units, log scale)")
    ax.set_title(f"{result['name']}: error by lead time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=9)
    return ax


def helpful_leads(result, margin=0.9, smooth=9):
    """(first, last) lead at which the RNN's MAE is below margin x the best baseline's.

    `last` is where a running mean over `smooth` leads of that ratio first comes back
    above `margin` after `first`: beyond it the RNN no longer helps much. None when the
    RNN is below the margin at no lead (a small budget, or a forecaster not trained yet).
    """
    errors = result["lead_mae"]
    best = np.minimum.reduce([errors[key] for key in errors if key != "RNN"])   # (K,)
    ratio = errors["RNN"] / best
    if not np.any(ratio < margin):
        return None
    first = int(np.argmax(ratio < margin))
    smoothed = np.convolve(ratio, np.ones(smooth) / smooth, mode="same")
    after = np.flatnonzero(smoothed[first:] >= margin)
    last = first + int(after[0]) if after.size else len(ratio)
    return first + 1, max(first + 1, last)      # a lone helpful lead is a span of one


# %% [markdown]
# ## 6. Run it
#
# `python -m exercises.ex04_time_series` trains three forecasters (about a minute on two
# cores) and saves under runs/ex04/: forecasts against the truth with the baselines,
# training curves, and the error by lead time on Mackey-Glass up to 160 steps ahead.

# %%
def main(epochs=15):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.mains import small_budget, working_cell
    from rnnkit.plots import plot_curves, save_figure

    if small_budget():      # RNNKIT_SMALL_MAIN=1: runs end to end in seconds (rnnkit.mains)
        epochs = 1
    lstm_cell, gru_cell = working_cell(LSTMCell), working_cell(GRUCell)
    runs = [forecast_experiment("mackey_glass", lstm_cell, epochs=epochs),
            forecast_experiment("seasonal", gru_cell, window=48, epochs=epochs)]
    for result in runs:
        scores = ", ".join(f"{key} {np.mean(value):.4f}" for key, value in result["lead_mae"].items())
        print(f"{result['name']}, horizon {HORIZON}: test MAE {scores}")
    figure, axes = plt.subplots(2, 2, figsize=(12, 7))
    for column, result in enumerate(runs):
        plot_forecast(axes[0, column], result, index=len(result["truth"]) // 2)
        curves = {"training": result["history"]["mae"],
                  "validation": result["history"]["val_mae"]}
        plot_curves(axes[1, column], curves, xlabel="epoch", ylabel="MAE (normalised)",
                    title=f"{result['name']}: training curves", logy=True)
    print(f"saved {save_figure(figure, 'runs/ex04/forecasts_and_training.png')}")

    far = forecast_experiment("mackey_glass", lstm_cell, horizon=160, length=5000, epochs=epochs)
    helpful = helpful_leads(far)
    if helpful is None:
        print("mackey_glass, horizon 160: the RNN's MAE is >= 10 % below every baseline's at "
              "no lead (train it longer: main(epochs=15))")
    else:
        first, last = helpful
        beyond = {key: np.mean(far["lead_mae"][key][last:]) for key in ("RNN", "linear")}
        print(f"mackey_glass, horizon 160: the RNN's MAE is >= 10 % below every baseline's "
              f"from lead {first} to about lead {last} ({3 * last} time units); beyond, chaos "
              f"wins: MAE {beyond['RNN']:.3f} for the RNN, {beyond['linear']:.3f} for the "
              "linear forecast")
    figure, ax = plt.subplots(figsize=(9, 4))
    plot_lead_errors(ax, far, helpful=helpful)
    print(f"saved {save_figure(figure, 'runs/ex04/error_by_lead.png')}")


if __name__ == "__main__":
    main()
