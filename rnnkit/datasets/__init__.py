"""The kit's data sets (ex04–ex09): deterministic NumPy generators, readers of users' own
files, and the tfds builders that wrap them.

Each data set `<name>` has a generator module `rnnkit/datasets/<name>.py` (pure NumPy,
fast: probes and the grader use it directly) and a builder package
`rnnkit/datasets/rnnkit_<name>/`. Importing this package registers every builder, so
`tfds.load("rnnkit_<name>/<config>", split=..., data_dir=...)` works offline; `load` builds
one without ever trying the network.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

BUILDERS = (
    "rnnkit_shapes",
    "rnnkit_dates",
    "rnnkit_grammar",
    "rnnkit_reviews",
)

DATA_DIR = Path(os.environ.get("RNNKIT_DATA_DIR")
                or Path.home() / "tensorflow_datasets" / "rnnkit")


class DataError(ValueError):
    """A data set argument, path or file is wrong; the message is one line naming it."""


def _register() -> None:
    for name in BUILDERS:
        importlib.import_module(f"{__name__}.{name}.{name}_dataset_builder")


def load(name, split, data_dir=None, **kw):
    """Build `name` ("rnnkit_<name>" or "rnnkit_<name>/<config>") offline if needed and
    return `split` as a tf.data.Dataset (keyword arguments go to `as_dataset`)."""
    import tensorflow_datasets as tfds

    base, _, config = str(name).partition("/")
    if base not in BUILDERS:
        raise DataError(f"unknown data set {name!r}; the kit has {', '.join(BUILDERS)}")
    configs = [c.name for c in tfds.builder_cls(base).BUILDER_CONFIGS]
    if config and config not in configs:
        raise DataError(f"unknown config {config!r} of {base}; expected one of {configs}")
    builder = tfds.builder(name, data_dir=str(data_dir or DATA_DIR))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    splits = sorted(builder.info.splits)
    if str(split).split("[")[0] not in splits:
        raise DataError(f"unknown split {split!r} of {name}; expected one of {splits}")
    return builder.as_dataset(split=split, **kw)


_register()
