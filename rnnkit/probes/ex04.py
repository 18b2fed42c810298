"""Probes of ex04 (time series): run in the student's process, return plain data.

The checks in `tests/grading/test_ex04.py` compare what these return with the reference and
with oracles computed in the grader. The training probe receives only the normalised
TRAINING split of the graded series: the test split stays in the grader.

Shapes: N windows, T input steps (window), K forecast steps (horizon), H units.
"""
import numpy as np

from rnnkit.probes import cells

# The graded forecaster and its training budget (fixed: the reference was recorded with it).
WINDOW, HORIZON, UNITS = 24, 8, 16
EPOCHS, BATCH_SIZE, LEARNING_RATE = 6, 64, 1e-2


def windows_of(dataset):
    """All batches of an (x, y) dataset: x, y concatenated and the shape of every batch."""
    xs, ys, shapes = [], [], []
    for batch in dataset:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            return {"error": f"the dataset yields {type(batch).__name__}, not (x, y) pairs"}
        x, y = np.asarray(batch[0]), np.asarray(batch[1])
        xs.append(x)
        ys.append(y)
        shapes.append([list(x.shape), list(y.shape)])
    if not xs:
        return {"error": "the dataset is empty"}
    try:
        return {"x": np.concatenate(xs), "y": np.concatenate(ys), "shapes": shapes,
                "dtypes": [str(xs[0].dtype), str(ys[0].dtype)]}
    except ValueError as error:
        return {"error": f"batches of different shapes: {' '.join(str(error).split())[:200]}",
                "shapes": shapes}


def probe_windows(module, series, window, horizon, batch_size=256, shuffle=False, seed=None):
    dataset = module.make_windows(series, window, horizon, batch_size=batch_size,
                                  shuffle=shuffle, seed=seed)
    return windows_of(dataset)


def probe_normalize(module, train, val, test):
    splits, stats = module.normalize_splits(train, val, test)
    return {"splits": [np.asarray(s) for s in splits],
            "dtypes": [str(np.asarray(s).dtype) for s in splits],
            "mean": float(stats["mean"]), "std": float(stats["std"])}


def probe_denormalize(module, values, stats):
    return np.asarray(module.denormalize(values, dict(stats)))


def probe_baselines(module, x_train, y_train, x_new, horizon):
    weights, bias = module.fit_linear(x_train, y_train)
    return {"naive": np.asarray(module.naive_forecast(x_new, horizon)),
            "linear": np.asarray(module.linear_forecast(x_new, weights, bias))}


def forecaster(module, cell, stand_in, window, horizon, units):
    """The student's build_forecaster around their cell (or Keras's, standing in)."""
    from rnnkit.sandbox import standins

    factory = cells.cell_class(module, cell, stand_in)
    if not stand_in:
        standins.one_step(factory)   # an unfinished cell is "not started", not a later error
    return module.build_forecaster(factory, window, horizon, units)


def probe_forecaster(module, cell, stand_in, weights, x, units):
    """Predictions of the student's forecaster loaded with `weights`, and its layout."""
    window, horizon = np.shape(x)[1], np.shape(weights[-1])[0]
    model = forecaster(module, cell, stand_in, window, horizon, units)
    layout = [list(np.shape(w)) for w in model.get_weights()]
    if layout != [list(np.shape(w)) for w in weights]:
        return {"layout": layout, "predictions": None}
    model.set_weights(weights)
    return {"layout": layout, "predictions": np.asarray(model(x))}


def probe_train_forecaster(module, train, cell, stand_in=False, test=None):
    """Train build_forecaster(cell) on the windows of a normalised training series with the
    fixed budget above (Adam, MSE, shuffled each epoch by the seeded `fit`); the weights. With
    `test` = {"series", "mean", "std"} (a self-check: public data), return instead the test
    MAE of the trained forecaster and of the naive forecast, in series units (a self-check's
    recordings hold no weights)."""
    import keras

    model = forecaster(module, cell, stand_in, WINDOW, HORIZON, UNITS)
    views = np.lib.stride_tricks.sliding_window_view(
        np.asarray(train, dtype="float32"), WINDOW + HORIZON)            # (N, T + K)
    views = views[len(views) % BATCH_SIZE:]   # whole batches only: one traced step shape
    x, y = views[:, :WINDOW, None], views[:, WINDOW:]                    # (N, T, 1), (N, K)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=0)
    if test is None:
        return {"weights": [np.asarray(w) for w in model.get_weights()],
                "loss": [float(v) for v in history.history["loss"]]}
    mean, std = float(test["mean"]), float(test["std"])
    views = np.lib.stride_tricks.sliding_window_view(np.asarray(test["series"], "float64"),
                                                     WINDOW + HORIZON)
    x, y = views[:, :WINDOW, None], views[:, WINDOW:]
    z = ((x - mean) / std).astype("float32")
    forecast = np.asarray(model.predict(z, batch_size=len(z), verbose=0), "float64") * std + mean
    return {"rnn": float(np.mean(np.abs(forecast - y))),
            "naive": float(np.mean(np.abs(x[:, -1, :] - y)))}
