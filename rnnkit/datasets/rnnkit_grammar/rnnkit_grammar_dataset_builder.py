"""tfds builder `rnnkit_grammar`: sentences of the kit's small grammar (ex07).

Each example is {"text": a sentence}; as_supervised gives (text, text), the input and the
target of a language model, which shifts them itself. The sentences come from
`rnnkit.datasets.grammar.split_sentences`, so the builder, the exercise and the grader see
the same data. Configs differ only in size; the first sentences of a split are the same in
both (one seed per split, drawn in order).
"""
import tensorflow_datasets as tfds

from rnnkit.datasets import grammar

SIZES = {"small": {"train": 2000, "validation": 500, "test": 500},
         "large": {"train": 20000, "validation": 2000, "test": 2000}}


class Builder(tfds.core.GeneratorBasedBuilder):
    """Sentences of rnnkit.datasets.grammar.GRAMMAR (number agreement, 19,360 sentences)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: weighted VP (intransitive 1 : transitive 3)."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=name, description=f"{sizes}")
                       for name, sizes in SIZES.items()]
    DEFAULT_CONFIG_NAME = "small"

    def _info(self):
        return self.dataset_info_from_configs(
            description=grammar.__doc__.split("\n\n")[0],
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
            supervised_keys=("text", "text"),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split, n)
                for split, n in SIZES[self.builder_config.name].items()}

    def _generate_examples(self, split, n):
        for index, text in enumerate(grammar.split_sentences(split, n)):
            yield index, {"text": text}
