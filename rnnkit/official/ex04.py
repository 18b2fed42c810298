"""ex04's oracles, for the grader: windows cut with NumPy, the naive and least-squares
forecasts, the forecaster on Keras's own layers and its test score, and the outputs of the
classic mistakes the feedback names. Never loaded by a student's process.

Shapes: N windows, T input steps (window), K forecast steps (horizon).
"""
from __future__ import annotations

import numpy as np

from rnnkit.datasets import timeseries
from rnnkit.grader.compare import fail
from rnnkit.probes.ex04 import HORIZON, UNITS, WINDOW

# The training check's series: Mackey-Glass of 2000 samples. The self-check's is public
# (seed 0, tau 17, as the lesson's); the official grade's is drawn from the course secret:
# another seed, a delay tau from TAUS and a sign, so weights trained on the public series
# forecast the wrong dynamics (`series_spec`). Measured with the reference recipe (the
# solution's forecaster, probes.ex04's budget), test MAE of weights trained on the public
# series / of the reference trained on the official one, for tau 19, 21, 23, 24 and both
# signs: 3.3 to 9.1 (never below naive / 4), while four training seeds of a correct model
# stay within 1.21 x of each other: both checks fail a replay, pass a correct model. tau 18
# is too close to 17 (a replay reached 1.63 x, within the 2 x bar): not drawn.
PUBLIC_SERIES = {"seed": 0, "tau": 17.0, "sign": 1.0}
TAUS = tuple(19.0 + 0.5 * k for k in range(11))    # 19 .. 24: chaotic, far from the public 17
LENGTH = 2000


def numpy_windows(series, window, horizon, shift=0):
    """x (N, T, 1), y (N, K) cut with NumPy; `shift` moves the targets (-1: one step early,
    starting at the last input; +1: one step late), as known mistakes do."""
    views = np.lib.stride_tricks.sliding_window_view(series, window + horizon + max(shift, 0))
    start = window + shift
    return views[:, :window, None], views[:, start:start + horizon]


def lstsq_forecast(x_train, y_train, x_new, bias=True):
    """The least-squares linear forecast, solved here with np.linalg.lstsq."""
    design = x_train[:, :, 0]
    new = x_new[:, :, 0]
    if bias:
        design = np.concatenate([design, np.ones((len(design), 1))], axis=1)
        new = np.concatenate([new, np.ones((len(new), 1))], axis=1)
    return new @ np.linalg.lstsq(design, y_train, rcond=None)[0]


# The forecaster: twins built from Keras's own layers, run in the grader.
def keras_forecaster(cell, window, horizon, units, weights):
    """Input (T, 1) -> keras.layers.LSTM(use_cudnn=False) or GRU -> Dense(K), loaded."""
    import keras

    recurrent = (keras.layers.LSTM(units, use_cudnn=False) if cell == "LSTMCell"
                 else keras.layers.GRU(units))
    model = keras.Sequential([keras.Input((window, 1)), recurrent, keras.layers.Dense(horizon)])
    expected = [list(np.shape(w)) for w in model.get_weights()]
    got = [list(np.shape(w)) for w in weights]
    if got != expected:
        fail(f"the forecaster's weights have shapes {got}; keras.layers."
             f"{'LSTM' if cell == 'LSTMCell' else 'GRU'}({units}) + Dense({horizon}) needs "
             f"{expected}: one RNN of your cell, then one Dense layer")
    model.set_weights(weights)
    return model


def keras_predictions(cell, weights, x, units):
    return np.asarray(keras_forecaster(cell, np.shape(x)[1], np.shape(weights[-1])[0], units,
                                       weights)(x))


def series_spec(seed):
    """The official series drawn from a seed of the course secret (the public one for 0)."""
    if seed == 0:
        return dict(PUBLIC_SERIES)
    rng = np.random.default_rng(seed)
    return {"seed": int(seed), "tau": float(TAUS[rng.integers(len(TAUS))]),
            "sign": float(rng.choice([-1.0, 1.0]))}


def graded_split(spec):
    """The graded series of `spec`, cut in time: (normalised train, raw test, mean, std)."""
    series = spec["sign"] * timeseries.mackey_glass(LENGTH, seed=spec["seed"], tau=spec["tau"])
    train, _, test = timeseries.split_series(series.astype("float64"))
    mean, std = float(np.mean(train)), float(np.std(train))
    return ((train - mean) / std).astype("float32"), test, mean, std


def forecast_scores(weights, cell, spec):
    """Test MAE (series units) of trained weights in Keras's own layers, and of the naive
    forecast, on every window of the test split of `spec` (computed here; never sent)."""
    _, test, mean, std = graded_split(spec)
    views = np.lib.stride_tricks.sliding_window_view(test, WINDOW + HORIZON)   # (N, T + K)
    x, y = views[:, :WINDOW, None], views[:, WINDOW:]
    model = keras_forecaster(cell, WINDOW, HORIZON, UNITS, weights)
    z = ((x - mean) / std).astype("float32")                                  # (N, T, 1)
    forecast = np.asarray(model.predict(z, batch_size=len(z), verbose=0), "float64") * std + mean
    return {"rnn": float(np.mean(np.abs(forecast - y))),
            "naive": float(np.mean(np.abs(x[:, -1, :] - y)))}


def window_mistakes(series, window, horizon):
    """[(sentence, targets y (N', K))] of the windowing's classic mistakes, cut with NumPy:
    targets shifted one step early or late (a late shift has one window fewer: its last
    targets would run past the series), and the horizon's targets in reverse order (the same
    as the right ones when K = 1)."""
    mistakes = [(f"your targets are shifted {words}", numpy_windows(series, window, horizon, shift)[1])
                for shift, words in (
                    (-1, "one step early: the first target must be x[s + T], the value right "
                         "after the last input, not the last input itself"),
                    (1, "one step late: the first target is x[s + T], the value right after "
                        "the last input, not x[s + T + 1]"))]
    if horizon > 1:
        mistakes.append(("your targets run backwards: y[n] must be x[s + T], x[s + T + 1], ..., "
                         "x[s + T + K - 1] in time order (column k is the forecast k + 1 steps "
                         "ahead), not from the farthest back to the nearest",
                         numpy_windows(series, window, horizon)[1][:, ::-1]))
    return mistakes


def stats_mistakes(case):
    """[(sentence, "mean" or "std", the value that mistake gives)] for the normalisation's
    classic mistakes on the splits of `case` {"train", "val", "test"}."""
    train, val, test = case["train"], case["val"], case["test"]
    means = {
        "all three splits together: the test split's statistics leaked into the normalisation":
            np.concatenate([train, val, test]),
        "train and validation together: fit the statistics on the training split only":
            np.concatenate([train, val]),
        "the test split itself: scale every split with the TRAINING statistics": test,
        "the validation split: scale every split with the TRAINING statistics": val}
    return [(f"your mean is that of {words}", "mean", float(np.mean(values)))
            for words, values in means.items()] + [
        ("your std divides by n - 1 (ddof=1); use the population std (np.std's default)",
         "std", float(np.std(train, ddof=1)))]


def naive_forecast(x, horizon):
    """The last input value of each window (N, T, 1), repeated over the horizon: (N, K)."""
    return np.repeat(np.asarray(x)[:, -1, :], horizon, axis=1)


def naive_mistakes(x, horizon):
    """[(sentence, forecast (N, K))] of the naive forecast's classic mistake."""
    return [("you repeated the FIRST input value; the naive forecast repeats the last one",
             np.repeat(np.asarray(x)[:, 0, :], horizon, axis=1))]


def denormalize(values, stats):
    """values * std + mean in float64: a forecast back in the series' units."""
    return np.asarray(values, dtype="float64") * stats["std"] + stats["mean"]


def denormalize_mistakes(values, stats):
    """[(sentence, result)] of `denormalize`'s classic mistakes on `values` and `stats`."""
    values = np.asarray(values, dtype="float64")
    mean, std = stats["mean"], stats["std"]
    return [
        ("your values come back unchanged: the forecasts are left normalised, off by the "
         "training mean and scale; return values * std + mean", values),
        ("you normalised them a second time, (values - mean) / std; undo the normalisation "
         "instead: values * std + mean", (values - mean) / std)]
