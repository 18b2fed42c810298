"""rnnkit_speech: spoken words from the kit's source-filter synthesiser (ex06).

Each example: `audio` float32 (L,) in [-1, 1] at `sample_rate` = 8000 Hz, `word` (16
classes), `phonemes` (the word's phoneme ids; id 0 is the CTC blank and never occurs),
`speaker`. Splits: train 48 speakers, validation 8, test 16, disjoint; every speaker says
every word twice. Config `small` (4 / 2 / 4 speakers, once each) is for quick trials and
tests. Generated offline by `rnnkit.datasets.speech.generate`, the same function
the exercise and the grader use; bump VERSION whenever it changes.
"""
from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from rnnkit.datasets import speech

CITATION = """@article{peterson1952vowels,
  title={Control methods used in a study of the vowels},
  author={Peterson, Gordon E. and Barney, Harold L.},
  journal={The Journal of the Acoustical Society of America}, volume={24}, number={2},
  pages={175--184}, year={1952}}"""


SMALL_SPEAKERS = {"train": range(0, 4), "validation": range(48, 50), "test": range(56, 60)}


class Builder(tfds.core.GeneratorBasedBuilder):
    """Synthetic spoken words: audio, sample rate, word label, phoneme sequence, speaker."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Source-filter synthesiser, 16 words, 72 speakers."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="words", description="48 / 8 / 16 speakers, twice each"),
        tfds.core.BuilderConfig(name="small", description="4 / 2 / 4 speakers, once each"),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "audio": tfds.features.Audio(shape=(None,), dtype=np.float32,
                                             sample_rate=speech.SAMPLE_RATE),
                "sample_rate": tfds.features.Scalar(dtype=np.int32),
                "word": tfds.features.ClassLabel(names=speech.WORD_NAMES),
                "phonemes": tfds.features.Sequence(
                    tfds.features.ClassLabel(names=("<blank>",) + speech.SYMBOLS)),
                "speaker": tfds.features.Scalar(dtype=np.int32),
            }),
            supervised_keys=("audio", "word"),
            disable_shuffling=True,
            citation=CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager   # nothing to download: everything is synthesised
        return {split: self._generate_examples(split) for split in speech.SPLIT_SPEAKERS}

    def _generate_examples(self, split):
        options = ({"repetitions": 1, "speakers": SMALL_SPEAKERS[split]}
                   if self.builder_config.name == "small" else {})
        for key, example in speech.generate(split, **options):
            yield key, {**example, "sample_rate": speech.SAMPLE_RATE}
