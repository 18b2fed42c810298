"""The kit's data sets (ex04-ex09): tfds builders and readers of users' own files.

Importing this package registers every builder in BUILDERS with tfds, so
`tfds.load("rnnkit_<name>", split=..., data_dir=...)` works offline; `load` builds a data
set without touching the network. Generators and readers are pure NumPy/stdlib modules
(e.g. `rnnkit.datasets.speech`); readers raise `DataError`, one line naming the file.

Minimal version written by the ex06 helper to the shared spec (the ex04 helper owns it).
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

BUILDERS = (
    "rnnkit_speech",
)
DATA_DIR = os.environ.get("RNNKIT_DATA_DIR",
                          str(Path.home() / "tensorflow_datasets" / "rnnkit"))


class DataError(ValueError):
    """A data file or argument the kit cannot use; the message is one line naming it."""


for _name in BUILDERS:   # registration happens when a builder's module is imported
    importlib.import_module(f"{__name__}.{_name}.{_name}_dataset_builder")


def load(name, split, data_dir=None, **kw):
    """Build `name` ("rnnkit_<name>" or "rnnkit_<name>/<config>") offline if needed and
    return `split` as a tf.data.Dataset (keyword arguments go to `as_dataset`)."""
    import tensorflow_datasets as tfds

    if name.split("/")[0] not in BUILDERS:
        raise DataError(f"unknown data set {name!r}; the kit's data sets are {', '.join(BUILDERS)}")
    builder = tfds.builder(name, data_dir=data_dir or DATA_DIR)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder.as_dataset(split=split, **kw)
