"""Judging a `.keras` file that the student's process wrote, without running its code.

A `.keras` file is a zip of `config.json` (plain JSON) and `model.weights.h5` (HDF5). The
grader reads both as data: the config must name the student's cell under a registered name
(`@keras.saving.register_keras_serializable`), and the weights stored must be the weights the
grader handed in. The loaded model's predictions, computed in the student's process, are then
compared with Keras's own layers here — so no side of the round trip is taken on trust.
"""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from rnnkit.grader.compare import fail

MAX_ARCHIVE_BYTES = 20 * 2**20
MAX_WEIGHT_BYTES = 16 * 2**20      # what the datasets of the weights file may declare in all
MAX_DATASETS = 1000                # objects (groups and datasets) visited in the weights file


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def read(archive) -> tuple[dict, list[np.ndarray]]:
    """(config, every array stored in the weights file) of a .keras file given as bytes."""
    data = np.asarray(archive, dtype=np.uint8).tobytes()
    if len(data) > MAX_ARCHIVE_BYTES:
        fail(f"the saved .keras file is {len(data)} bytes; a model this small takes kilobytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            config = json.loads(bundle.read("config.json"))
            weights = bundle.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        fail(f"model.save() did not write a readable .keras file ({type(error).__name__}: "
             f"{str(error)[:120]})")
    import h5py

    # An HDF5 file states each dataset's shape; a few kilobytes can declare terabytes (and a
    # compressed dataset is as large as it says once read). Shapes, counts and the bytes all
    # datasets declare are bounded before a single one is read.
    datasets = []

    def visit(name, item):
        if len(datasets) >= MAX_DATASETS:
            fail(f"the saved weights file holds more than {MAX_DATASETS} objects; a model this "
                 "small has a few")
        if isinstance(item, h5py.Dataset):
            if item.dtype.kind not in "biuf":
                fail(f"the saved weights file holds {name!r} of type {item.dtype}, not numbers")
            datasets.append(item)

    try:
        with h5py.File(io.BytesIO(weights), "r") as handle:
            handle.visititems(visit)
            declared = sum(int(np.prod(d.shape, dtype=np.int64)) * d.dtype.itemsize
                           for d in datasets)
            if declared > MAX_WEIGHT_BYTES:
                fail(f"the saved weights file declares {declared} bytes of weights; a model this "
                     f"small has kilobytes (at most {MAX_WEIGHT_BYTES} are read)")
            arrays = [np.asarray(d) for d in datasets]
    except (OSError, ValueError, TypeError, KeyError) as error:
        fail(f"model.save() wrote a weights file that cannot be read ({type(error).__name__}: "
             f"{str(error)[:120]})")
    return config, arrays


def cell_configs(config: dict) -> list[dict]:
    """The serialized cells of every RNN layer in a model config."""
    return [node["config"]["cell"] for node in _walk(config)
            if node.get("class_name") == "RNN" and isinstance(node.get("config"), dict)
            and isinstance(node["config"].get("cell"), dict)]


def expect_saved(archive, cell: str, weights: list) -> None:
    """The file names `cell` under a registered name and stores exactly `weights`."""
    config, stored = read(archive)
    found = cell_configs(config)
    if not found:
        fail("the saved model holds no keras.layers.RNN layer")
    for entry in found:
        name = entry.get("registered_name") or ""
        if entry.get("class_name") != cell:
            fail(f"the saved model's cell is {entry.get('class_name')!r}, expected your {cell}")
        if ">" not in name:
            fail(f"{cell} is saved without a registered name, so load_model cannot find it: "
                 f"decorate it with @keras.saving.register_keras_serializable(package='rnnkit')")
    for index, expected in enumerate(weights):
        if not any(a.shape == np.shape(expected) and np.array_equal(a, expected) for a in stored):
            fail(f"weight {index} (shape {np.shape(expected)}) is not in the saved file: "
                 "get_config/build must recreate the same weights")


def expect_round_trip(got: dict, cell: str, weights: list, predictions, *, cell_right: bool,
                      **tolerance) -> None:
    """The saved file is right (see expect_saved), and the model loaded back from it predicts
    what Keras's own layers predict with the same weights — or, for a cell whose values are
    wrong (already lost elsewhere; one mistake costs points once), what the same model
    predicted before saving."""
    from rnnkit.grader.compare import expect_close

    expect_saved(got["archive"], cell, weights)
    if got.get("error"):
        fail(f"keras.saving.load_model could not load the saved model: {got['error']}")
    if cell_right:
        expect_close("predictions of the model loaded back", got["after"], predictions,
                     **tolerance)
    else:
        # The same model in the same process before and after a save: equal up to float32
        # round-off of the reloaded weights (none: .keras stores them exactly), so 1e-6 only
        # absorbs a different kernel choice; a cell that does not round-trip differs by >= 1e-2.
        expect_close("predictions of the model loaded back, against before saving",
                     got["after"], got["before"], rtol=0, atol=1e-6)
