"""tfds builder `rnnkit_reviews`: the order-dependent review corpus of ex05, or a user's folder.

    import rnnkit.datasets   # registers the builder
    tfds.load("rnnkit_reviews", split="test", as_supervised=True, data_dir=...)  # (text, label)
    tfds.load("rnnkit_reviews/folder", split="train", data_dir=...,
              download_and_prepare_kwargs={"download_config": tfds.download.DownloadConfig(
                  manual_dir="path/to/aclImdb", try_download_gcs=False)})

Configs:
- `generated` (default): `rnnkit.datasets.reviews.load_split` — train / validation / test
  of 4000 / 500 / 1000 reviews; the test split uses held-out word combinations. Features:
  text, label (neg, pos), order_dependent (bool), form.
- `folder`: a folder in the layout of the public movie-review corpora in `manual_dir`
  (`train/pos`, `train/neg`, `test/pos`, `test/neg`); splits train and test.
"""
from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from rnnkit.datasets import reviews


class Builder(tfds.core.GeneratorBasedBuilder):
    """Short film reviews whose label depends on word order (negation, contrast, scope)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First version of the generated corpus."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="generated", description="the kit's generated corpus"),
        tfds.core.BuilderConfig(name="folder", description="a user's folder of reviews in "
                                "the movie-review corpora layout, given as manual_dir"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "For the `folder` config, pass the folder holding train/pos, train/neg, test/pos and "
        "test/neg (one UTF-8 review per .txt file) as DownloadConfig(manual_dir=...).")

    def _info(self) -> tfds.core.DatasetInfo:
        features = {"text": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=["neg", "pos"])}
        if self.builder_config.name == "generated":
            features.update(order_dependent=tfds.features.Scalar(dtype=np.bool_),
                            form=tfds.features.Text())
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features),
            supervised_keys=("text", "label"), disable_shuffling=True)

    def _split_generators(self, dl_manager):
        if self.builder_config.name == "generated":
            return {split: self._generate_examples(reviews.load_split(split))
                    for split in reviews.SPLITS}
        # Read every file here, before tfds starts writing, so that a bad file is one
        # DataError line naming it (not a traceback from inside the writer).
        return {split: self._generate_examples(reviews.read_review_folder(
                    dl_manager.manual_dir, split)) for split in ("train", "test")}

    def _generate_examples(self, data):
        extra = ("order_dependent", "form") if self.builder_config.name == "generated" else ()
        for k in range(len(data["text"])):
            example = {"text": data["text"][k], "label": int(data["label"][k])}
            example.update({key: data[key][k] for key in extra})
            yield k, example
