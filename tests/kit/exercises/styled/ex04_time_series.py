# ex04 as another student writes it: index arithmetic and tf.data instead of
# timeseries_dataset_from_array, the normal equations instead of lstsq, a Sequential model.
# Correct (full marks officially); the kit's mistake corpus (test_ex04_grading.py) plants one
# classic mistake at a time in a copy. Only what the grader calls is here: the lesson, the
# plots and main() are the released exercise's.
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from .ex03_gated_cells import GRUCell, LSTMCell  # noqa: E402,F401


def normalize_splits(train, val, test):
    train = np.array(train, dtype=np.float64)
    if len(train) == 0 or train.std() == 0:
        raise ValueError(f"cannot scale with a training split of {len(train)} values "
                         "that do not vary")
    mu = train.mean()
    sigma = train.std()
    scaled = []
    for part in (train, val, test):
        scaled.append(np.float32((np.array(part, dtype=np.float64) - mu) / sigma))
    return tuple(scaled), dict(mean=float(mu), std=float(sigma))


def denormalize(values, stats):
    return np.add(np.multiply(np.array(values, dtype=np.float64), stats["std"]), stats["mean"])


def make_windows(series, window, horizon, batch_size=256, shuffle=False, seed=None):
    if not (isinstance(window, (int, np.integer)) and isinstance(horizon, (int, np.integer))) \
            or window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be positive ints, got {window!r}, {horizon!r}")
    values = np.array(series, dtype=np.float32)
    count = len(values) - window - horizon + 1
    if count < 1:
        raise ValueError(f"a series of {len(values)} values is too short for {window} + {horizon}")
    starts = np.arange(count)[:, None]
    inputs = values[starts + np.arange(window)][:, :, None]
    targets = values[starts + window + np.arange(horizon)]
    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        data = data.shuffle(count, seed=seed)
    return data.batch(batch_size)


def naive_forecast(x, horizon):
    return np.tile(np.asarray(x)[:, -1, :], (1, horizon))


def fit_linear(x, y):
    features = np.asarray(x, dtype=np.float64).squeeze(-1)
    features = np.hstack([features, np.ones((features.shape[0], 1))])
    targets = np.asarray(y, dtype=np.float64)
    coefficients = np.linalg.solve(features.T @ features, features.T @ targets)
    return coefficients[:-1], coefficients[-1]


def linear_forecast(x, weights, bias):
    return np.einsum("nt,tk->nk", np.asarray(x, dtype=np.float64)[..., 0], weights) + bias


def build_forecaster(cell_class, window, horizon, units=32):
    return keras.Sequential([keras.Input((window, 1)),
                             keras.layers.RNN(cell_class(units)),
                             keras.layers.Dense(horizon)])
