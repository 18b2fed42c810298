"""The kit's data sets (ex04-ex09): tfds builders, NumPy generators and file readers.

Importing `rnnkit.datasets` registers every builder listed in `BUILDERS` with
tensorflow_datasets, so afterwards, offline,

    tfds.load("rnnkit_timeseries/mackey_glass", split="train", as_supervised=True,
              data_dir=rnnkit.datasets.DATA_DIR)

works like any tfds data set; `load(...)` below does the same and also turns tfds's errors
into one line. Data sets are generated on the first load (seconds) and cached in the data
directory: `RNNKIT_DATA_DIR` if set, else ~/tensorflow_datasets/rnnkit.

Layout: `rnnkit/datasets/<name>.py` holds a data set's deterministic NumPy generator and the
reader of users' own files (no tfds, fast: probes and the grader use them directly);
`rnnkit/datasets/rnnkit_<name>/rnnkit_<name>_dataset_builder.py` wraps the same generator
as a tfds builder. Readers raise `DataError` with one line naming the file and the line.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path


class DataError(ValueError):
    """A data set or a user's file could not be read or built; the message is one line
    naming the file (and line) or the bad argument."""


# One module name per tfds builder; each helper adds its own line.
BUILDERS = (
    "rnnkit_timeseries",      # ex04: seasonal and Mackey-Glass series
    "rnnkit_reviews",         # ex05: order-dependent reviews
    "rnnkit_speech",          # ex06: synthesised spoken words
    "rnnkit_grammar",         # ex07: sentences of a small grammar
    "rnnkit_shapes",          # ex08: rendered shapes with captions
    "rnnkit_dates",           # ex09: dates in human formats -> ISO 8601
)


def default_data_dir() -> Path:
    """$RNNKIT_DATA_DIR if set, else ~/tensorflow_datasets/rnnkit (read at each call)."""
    chosen = os.environ.get("RNNKIT_DATA_DIR")
    return Path(chosen).expanduser() if chosen else Path.home() / "tensorflow_datasets" / "rnnkit"


DATA_DIR = default_data_dir()


def _register():
    """Import every builder module, which registers it with tfds (skipped without tfds)."""
    try:
        import tensorflow_datasets  # noqa: F401
    except ImportError:   # the NumPy generators and readers still work
        return
    for name in BUILDERS:
        importlib.import_module(f"{__name__}.{name}.{name}_dataset_builder")


_register()


def builder(name, data_dir=None):
    """The tfds builder for "rnnkit_<name>[/<config>]" in `data_dir` (default: DATA_DIR)."""
    import tensorflow_datasets as tfds

    base = name.split("/")[0].split(":")[0]
    if base not in BUILDERS:
        raise DataError(f"unknown data set {name!r}; rnnkit's data sets are {', '.join(BUILDERS)}")
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    try:
        return tfds.builder(name, data_dir=str(data_dir))
    except Exception as error:  # tfds raises several types with multi-line messages
        configs = _config_names(base)
        raise DataError(f"cannot make data set {name!r}: valid configs of {base} are "
                        f"{', '.join(configs)} ({type(error).__name__})") from None


def _config_names(base):
    import tensorflow_datasets as tfds

    cls = tfds.builder_cls(base)
    return [config.name for config in (cls.BUILDER_CONFIGS or [])] or ["(none)"]


def load(name, split, data_dir=None, **as_dataset_options):
    """Build "rnnkit_<name>[/<config>]" offline if needed and return `split` as a tf.data set.

    `as_supervised` defaults to True; other options go to `builder.as_dataset`.
    Raises DataError (one line) for an unknown name, config or split.
    """
    import tensorflow_datasets as tfds

    chosen = builder(name, data_dir)
    splits = list(chosen.info.splits.keys()) or ["train", "validation", "test"]
    base_split = str(split).split("[")[0]
    if base_split not in ("train", "validation", "test") or (
            chosen.info.splits and base_split not in splits):
        raise DataError(f"unknown split {split!r} of {name}; valid splits: "
                        f"{', '.join(splits)} (slices such as 'train[:10%]' work too)")
    if not chosen.is_prepared():
        # tfds would say "Downloading and preparing dataset ... to ..."; nothing is downloaded
        print(f"Generating {chosen.name} here, once (offline; nothing is downloaded) into "
              f"{chosen.data_dir} ...", flush=True)
        chosen._log_download_bytes = chosen._log_download_done = lambda: None
    chosen.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    as_dataset_options.setdefault("as_supervised", True)
    try:
        return chosen.as_dataset(split=split, **as_dataset_options)
    except (ValueError, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read split {split!r} of {name}: {message}") from None
