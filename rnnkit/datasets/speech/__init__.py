"""Speech-like data: a source-filter synthesiser of spoken words (`synth`, `phonemes`),
the corpus of words said by disjoint speakers per split (`corpus`) and a reader for a
folder of WAV files (`wav`). Pure NumPy and the standard library: no TensorFlow here."""
from .corpus import REPETITIONS, SPLIT_SPEAKERS, generate, load_split, utterance  # noqa: F401
from .phonemes import PHONEME_IDS, SYMBOLS, WORD_NAMES, WORDS, phoneme_ids  # noqa: F401
from .synth import SAMPLE_RATE, make_speaker, synthesise  # noqa: F401
