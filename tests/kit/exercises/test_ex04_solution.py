"""Tests of the ex04 reference (windows, normalisation, baselines, forecaster) against
implementations nobody here wrote or that take another route: NumPy's
sliding_window_view for the windows, keras.layers.Normalization for the statistics,
the normal equations for least squares, keras.layers.LSTM(use_cudnn=False) / GRU + Dense
for the forecaster with the same weights.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex04_solution.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from figure_checks import figure_problems  # noqa: E402

from rnnkit.datasets import timeseries  # noqa: E402
from solutions import ex04_time_series as ex  # noqa: E402

# float32 recurrent layers on the same weights: summation order only, ~1e-7 measured;
# Keras's own RNN tests use 1e-5. Statistics: keras.layers.Normalization accumulates in
# float32, so 1e-5 relative. A real mistake (ddof = 1 on 50 values, a leaked split) is
# >= 1e-2 relative.
VALUE_TOL = dict(rtol=1e-5, atol=1e-5)
T, K, H = 6, 3, 5


@pytest.fixture(scope="module")
def series():
    return timeseries.mackey_glass(120, seed=1)                          # (L,)


def numpy_windows(series, window, horizon):
    views = np.lib.stride_tricks.sliding_window_view(series, window + horizon)  # (N, T + K)
    return views[:, :window, None], views[:, window:]


@pytest.mark.parametrize("window, horizon, batch", [(T, 1, 7), (T, K, 256), (1, 1, 4)])
def test_windows_equal_sliding_windows(series, window, horizon, batch):
    x, y = ex.window_arrays(ex.make_windows(series, window, horizon, batch_size=batch))
    want_x, want_y = numpy_windows(series, window, horizon)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)
    assert len(x) == len(series) - window - horizon + 1


def test_shuffled_windows_are_the_same_windows(series):
    x, y = ex.window_arrays(ex.make_windows(series, T, K, batch_size=16, shuffle=True, seed=3))
    want_x, want_y = numpy_windows(series, T, K)
    assert not np.array_equal(x, want_x)
    order = np.lexsort(x[:, ::-1, 0].T)
    want_order = np.lexsort(want_x[:, ::-1, 0].T)
    np.testing.assert_array_equal(x[order], want_x[want_order])
    np.testing.assert_array_equal(y[order], want_y[want_order])


def test_window_batches_have_fixed_shapes(series):
    shapes = [(tuple(x.shape), tuple(y.shape)) for x, y in ex.make_windows(series, T, K, 32)]
    assert shapes[0] == ((32, T, 1), (32, K))


@pytest.mark.parametrize("window, horizon, words", [
    (100, 21, "window + horizon = 121 exceeds the series length 120"),
    (0, 2, "window=0"), (3, 1.5, "horizon=1.5")])
def test_window_arguments_are_checked(series, window, horizon, words):
    with pytest.raises(ValueError) as error:
        ex.make_windows(series, window, horizon)
    assert words in str(error.value)


def test_normalisation_equals_keras_normalization_on_train():
    rng = np.random.default_rng(0)
    train, val, test = (rng.normal(3, 2, 50), rng.normal(5, 1, 20), rng.normal(9, 4, 20))
    (train_z, val_z, test_z), stats = ex.normalize_splits(train, val, test)
    layer = keras.layers.Normalization(axis=None)
    layer.adapt(train.astype("float32"))
    for got, split in zip((train_z, val_z, test_z), (train, val, test)):
        assert got.dtype == np.float32 and got.shape == split.shape
        np.testing.assert_allclose(got, np.asarray(layer(split.astype("float32"))), **VALUE_TOL)
    assert stats["std"] == pytest.approx(np.std(train), rel=1e-12)        # ddof = 0
    assert stats["mean"] == pytest.approx(np.mean(train), rel=1e-12)
    np.testing.assert_allclose(ex.denormalize(test_z, stats), test, rtol=1e-6)


def test_test_split_never_changes_the_statistics():
    train, val = np.linspace(-1, 2, 40) ** 2, np.linspace(0, 1, 10)
    first = ex.normalize_splits(train, val, np.zeros(10))
    second = ex.normalize_splits(train, val, np.full(10, 1e3))
    assert first[1] == second[1]
    np.testing.assert_array_equal(first[0][0], second[0][0])


def test_constant_training_split_is_refused():
    with pytest.raises(ValueError, match="must vary"):
        ex.normalize_splits(np.ones(5), np.ones(2), np.ones(2))


def test_naive_forecast_repeats_the_last_value():
    x = np.arange(2 * T, dtype="float32").reshape(2, T, 1)
    np.testing.assert_array_equal(ex.naive_forecast(x, K), [[T - 1] * K, [2 * T - 1] * K])


def test_linear_baseline_equals_the_normal_equations():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, T, 1)), rng.normal(size=(40, K))
    weights, bias = ex.fit_linear(x, y)
    design = np.concatenate([x[:, :, 0], np.ones((40, 1))], axis=1)       # (N, T + 1)
    solution = np.linalg.solve(design.T @ design, design.T @ y)           # (T + 1, K)
    np.testing.assert_allclose(weights, solution[:-1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bias, solution[-1], rtol=1e-9, atol=1e-9)
    new = rng.normal(size=(5, T, 1))
    np.testing.assert_allclose(ex.linear_forecast(new, weights, bias),
                               new[:, :, 0] @ solution[:-1] + solution[-1], rtol=1e-9)


def test_linear_baseline_recovers_an_exact_linear_map():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, T, 1))
    true_w, true_b = rng.normal(size=(T, K)), rng.normal(size=K)
    weights, bias = ex.fit_linear(x, x[:, :, 0] @ true_w + true_b)
    np.testing.assert_allclose(weights, true_w, atol=1e-10)
    np.testing.assert_allclose(bias, true_b, atol=1e-10)


@pytest.mark.parametrize("cell, layer", [("LSTMCell", "LSTM"), ("GRUCell", "GRU")])
def test_forecaster_equals_keras_layers_with_the_same_weights(cell, layer):
    model = ex.build_forecaster(getattr(ex, cell), T, K, units=H)
    options = {"use_cudnn": False} if layer == "LSTM" else {}
    keras_model = keras.Sequential([keras.Input((T, 1)), getattr(keras.layers, layer)(H, **options),
                                    keras.layers.Dense(K)])
    rng = np.random.default_rng(3)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in keras_model.get_weights()]
    keras_model.set_weights(weights)
    model.set_weights(weights)       # raises if the shapes or their order differ
    x = rng.normal(size=(4, T, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(keras_model(x)), **VALUE_TOL)
    assert model.output_shape == (None, K)


def test_forecaster_learns_to_beat_the_naive_forecast():
    """A short training run on Mackey-Glass: the test MAE must fall well below the naive
    forecast's (measured: about 0.03 against 0.27 after 4 epochs)."""
    keras.utils.set_random_seed(0)
    (train, _, test), stats = ex.normalize_splits(
        *timeseries.split_series(timeseries.mackey_glass(1500, seed=0)))
    model = ex.build_forecaster(ex.LSTMCell, 24, 8, units=16)
    ex.train_forecaster(model, ex.make_windows(train, 24, 8, 64, shuffle=True, seed=0), epochs=4)
    x, y = ex.window_arrays(ex.make_windows(test, 24, 8))
    rnn = np.mean(np.abs(model.predict(x, verbose=0) - y))
    naive = np.mean(np.abs(ex.naive_forecast(x, 8) - y))
    assert rnn < 0.5 * naive, (rnn, naive)


def test_helpful_leads_reads_the_error_curves():
    leads = np.arange(1, 41, dtype="float64")
    result = {"lead_mae": {"RNN": np.where(leads < 30, 0.2, 1.0) * leads / 40 + 0.05 * (leads == 1),
                           "linear": leads / 40, "naive": np.ones(40), "training mean": np.ones(40)}}
    # ratio RNN / best baseline: 2.2 at lead 1, 0.2 at leads 2-29, 1.0 from lead 30 on. The
    # centred 9-lead running mean is 0.2 + 0.8 n / 9 with n leads >= 30 in the window; it
    # first reaches 0.9 (n = 8) at lead 33, so lead 32 is the last one it calls helpful.
    assert ex.helpful_leads(result) == (2, 32)


def test_helpful_leads_says_none_where_the_rnn_never_helps():
    """main() at a small budget: an RNN no better than the linear forecast at any lead is no
    span (it printed 'from lead 1 to about lead 0' and shaded an inverted span); one helpful
    lead alone, then worse again, is a span of one lead."""
    leads = np.arange(1, 41, dtype="float64")
    baselines = {"linear": leads / 40, "naive": np.ones(40)}
    assert ex.helpful_leads({"lead_mae": {"RNN": leads / 40, **baselines}}) is None
    lone = np.where(leads == 20, 0.1, 1.0) * leads / 40       # ratio 0.1 at lead 20, else 1
    assert ex.helpful_leads({"lead_mae": {"RNN": lone, **baselines}}) == (20, 20)


def test_plots_draw_every_forecast():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizon = 4
    result = {"name": "toy", "inputs": np.zeros((2, T)), "truth": np.ones((2, horizon)),
              "forecasts": {k: np.full((2, horizon), v) for k, v in
                            (("RNN", 1.1), ("linear", 0.9), ("naive", 0.0), ("training mean", 0.5))},
              "lead_mae": {k: np.full(horizon, v) for k, v in
                           (("RNN", 0.1), ("linear", 0.1), ("naive", 1.0), ("training mean", 0.5))}}
    figure, (left, right) = plt.subplots(1, 2)
    ex.plot_forecast(left, result)
    labels = [line.get_label() for line in left.lines]
    assert labels == ["inputs", "truth", "RNN", "linear", "naive", "training mean"]
    ex.plot_lead_errors(right, result)
    styles = {line.get_label(): line.get_linestyle() for line in right.lines}
    assert styles["naive"] == "--" and all(line.get_marker() for line in right.lines)
    plt.close(figure)


def test_error_by_lead_reads_without_colour_and_hides_nothing():
    """The error-by-lead figure as main() draws it: each forecast told apart by marker and
    line style, the legend drawn as the lines are (the naive line dashed in both), the region
    where the RNN helps named in the legend, no data under the legend, text >= 8 pt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leads = np.arange(1, 161)
    curves = {"RNN": 0.01 + 0.2 * (1 - np.exp(-leads / 60)), "linear": 0.03 + 0.2 * (1 - np.exp(-leads / 30)),
              "naive": 0.06 + 0.2 * (1 - np.exp(-leads / 10)), "training mean": np.full(160, 0.19)}
    result = {"name": "toy", "lead_mae": curves}
    figure, ax = plt.subplots(figsize=(9, 4))
    ex.plot_lead_errors(ax, result, helpful=ex.helpful_leads(result))
    figure.canvas.draw()
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines) == list(curves)
    assert len({(line.get_marker(), str(line.get_linestyle())) for line in lines.values()}) == 4
    assert len({line.get_marker() for line in lines.values()}) == 4
    assert lines["naive"].get_linestyle() == "--"
    legend = ax.get_legend()
    shown = dict(zip([text.get_text() for text in legend.get_texts()], legend.legend_handles))
    for name, line in lines.items():      # the legend's sample drawn as the line is
        assert shown[name].get_linestyle() == line.get_linestyle(), name
        assert shown[name].get_marker() == line.get_marker(), name
    first, last = ex.helpful_leads(result)
    assert any(f"leads {first} to {last}" in text for text in shown)
    # the checks every figure passes (test_mains.py): text >= 8 pt, both axes labelled,
    # entries told apart without colour, the legend over no data point
    assert figure_problems(figure) == []
    plt.close(figure)
