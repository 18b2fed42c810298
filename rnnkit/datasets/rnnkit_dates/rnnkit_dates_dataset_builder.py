"""tfds builder `rnnkit_dates`: human-written dates -> ISO 8601, from `rnnkit.datasets.dates`.

    import rnnkit.datasets
    ds = rnnkit.datasets.load("rnnkit_dates", split="train", as_supervised=True)
    # (source, target) string pairs: (b"thursday, march 7, 2019", b"2019-03-07")

Generated offline and deterministically; the splits are disjoint by date (a test date never
appears in training in any format). Configs choose the training split's size.
"""
from __future__ import annotations

import tensorflow_datasets as tfds

from rnnkit.datasets import dates

SPLIT_SIZES = {"validation": 2000, "test": 2000}


class DatesConfig(tfds.core.BuilderConfig):
    """A size of the training split (validation and test are always 2,000 pairs)."""

    def __init__(self, *, train_size: int, **kwargs):
        super().__init__(**kwargs)
        self.train_size = train_size


class Builder(tfds.core.GeneratorBasedBuilder):
    """Dates in 15 human formats (12 full-date, 3 month-only) and their ISO 8601 form."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Dates 1950-2049, splits disjoint by date."}
    BUILDER_CONFIGS = [
        DatesConfig(name="small", train_size=6000, description="6,000 training pairs"),
        DatesConfig(name="full", train_size=20000, description="20,000 training pairs"),
    ]
    DEFAULT_CONFIG_NAME = "full"

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"source": tfds.features.Text(),
                                                 "target": tfds.features.Text()}),
            supervised_keys=("source", "target"),
            disable_shuffling=True,
            homepage="https://example.invalid/rnnkit",  # generated locally; nothing to fetch
        )

    def _split_generators(self, dl_manager):
        sizes = {"train": self.builder_config.train_size, **SPLIT_SIZES}
        return {split: self._generate_examples(split, size) for split, size in sizes.items()}

    def _generate_examples(self, split, size):
        for index, (source, target) in enumerate(dates.pairs(split, size, seed=0)):
            yield index, {"source": source, "target": target}
