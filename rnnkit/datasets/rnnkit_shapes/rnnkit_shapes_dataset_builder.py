"""tfds builder `rnnkit_shapes`: rendered shapes with captions (ex08), made offline by
`rnnkit.datasets.shapes.generate`. Configs "single" (one object, the graded one) and
"relations" (one to three objects); test images hold (size, colour, shape) combinations
never seen in train or validation.

    ds = rnnkit.datasets.load("rnnkit_shapes/single", split="test", as_supervised=True)
    # (image (32, 32, 3) uint8, captions: tf.string (k,), every correct phrasing)
"""
import numpy as np
import tensorflow_datasets as tfds

from rnnkit.datasets import shapes


class Builder(tfds.core.GeneratorBasedBuilder):
    """Rendered shapes with captions in a small grammar."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="single", description="one object per image"),
        tfds.core.BuilderConfig(name="relations",
                                description="one to three objects in a row or a column, "
                                            "captions with left of / right of / above / below"),
    ]

    def _info(self):
        size = shapes.IMAGE_SIZE
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(size, size, 3)),
                "captions": tfds.features.Sequence(tfds.features.Text()),
                "objects": tfds.features.Scalar(dtype=np.int32),
            }),
            supervised_keys=("image", "captions"),
            disable_shuffling=True,
            homepage="https://example.invalid/rnnkit",  # made locally; nothing is downloaded
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is generated
        return {split: self._generate_examples(split)
                for split in shapes.SPLITS[self.builder_config.name]}

    def _generate_examples(self, split):
        images, captions = shapes.generate(self.builder_config.name, split)
        for k, (image, options) in enumerate(zip(images, captions)):
            yield k, {"image": image, "captions": options,
                      "objects": options[0].split().count("a")}   # one "a" per object
