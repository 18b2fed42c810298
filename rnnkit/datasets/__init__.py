"""The kit's data sets: tfds builders wrapping deterministic NumPy generators, and readers
for users' own files.

Minimal version written by the ex05 branch to the brief's spec (the ex04 branch owns this
file; the merge keeps that version and the one BUILDERS line below).

    import rnnkit.datasets                        # registers every builder with tfds
    ds = tfds.load("rnnkit_reviews", split="train", as_supervised=True, data_dir=DATA_DIR)
    ds = rnnkit.datasets.load("rnnkit_reviews", "train")      # the same, built offline

Data directory: `~/tensorflow_datasets/rnnkit` unless `RNNKIT_DATA_DIR` is set.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path


class DataError(ValueError):
    """A data file or argument the kit cannot use; the message is one line naming the file."""


DATA_DIR = Path(os.environ.get("RNNKIT_DATA_DIR",
                               Path.home() / "tensorflow_datasets" / "rnnkit"))

BUILDERS = (
    "rnnkit.datasets.rnnkit_reviews.rnnkit_reviews_dataset_builder",
)

for _name in BUILDERS:
    importlib.import_module(_name)


def load(name: str, split: str, data_dir=None, **kw):
    """Build `name` ("rnnkit_<name>[/<config>]") offline if needed and return the tf.data
    split; extra keyword arguments go to `as_dataset` (e.g. as_supervised=True)."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(data_dir or DATA_DIR))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder.as_dataset(split=split, **kw)
