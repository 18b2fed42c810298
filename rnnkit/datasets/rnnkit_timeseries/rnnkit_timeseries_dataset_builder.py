"""rnnkit_timeseries: the ex04 series as windows, one tfds config per series.

    tfds.load("rnnkit_timeseries/mackey_glass", split="train", as_supervised=True)
    -> (inputs (T, 1) float32, targets (K,) float32)

Each config generates one series of `length` values with `rnnkit.datasets.timeseries`
(seed 0), cuts it in time order into train / validation / test (70 / 15 / 15 %), and
yields every window inside each split (stride 1): inputs = x[s : s + T], targets =
x[s + T : s + T + K], with `start` = s, the index of the first input in the whole series.
No window crosses a split boundary. Values are raw (not normalised): normalising with the
training split's statistics is part of the exercise.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from rnnkit.datasets import timeseries


@dataclasses.dataclass
class TimeseriesConfig(tfds.core.BuilderConfig):
    series: str = "mackey_glass"
    length: int = 3000
    window: int = 24     # T, input steps
    horizon: int = 8     # K, target steps
    seed: int = 0


class Builder(tfds.core.GeneratorBasedBuilder):
    """Windows of the generated ex04 series."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Seasonal and Mackey-Glass (tau = 17) series, 3000 values each."}
    BUILDER_CONFIGS = [
        TimeseriesConfig(name="mackey_glass", series="mackey_glass", window=24, horizon=8,
                         description="Mackey-Glass, tau = 17, sampled every 3 time units."),
        TimeseriesConfig(name="seasonal", series="seasonal", window=48, horizon=8,
                         description="Trend + seasonalities of periods 12 and 41 + noise."),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "inputs": tfds.features.Tensor(shape=(config.window, 1), dtype=np.float32),
                "targets": tfds.features.Tensor(shape=(config.horizon,), dtype=np.float32),
                "start": np.int32,
            }),
            supervised_keys=("inputs", "targets"),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        config = self.builder_config
        series = timeseries.generate(config.series, config.length, seed=config.seed)
        train, validation, test = timeseries.split_series(series)
        offsets = np.cumsum([0, len(train), len(validation)])
        return {name: self._generate_examples(part, int(offset))
                for name, part, offset in zip(("train", "validation", "test"),
                                              (train, validation, test), offsets)}

    def _generate_examples(self, part, offset):
        window, horizon = self.builder_config.window, self.builder_config.horizon
        for s in range(len(part) - window - horizon + 1):
            yield s, {"inputs": part[s:s + window, None],
                      "targets": part[s + window:s + window + horizon],
                      "start": np.int32(offset + s)}
