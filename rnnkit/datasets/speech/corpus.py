"""The speech-like corpus: every speaker says every word a few times; speakers are
disjoint between the splits, so the test split measures recognition of unheard voices.

Each example is a dict:
    audio     float32 (L,) in [-1, 1], L varies (about 0.25 - 0.6 s at SAMPLE_RATE)
    word      int: index into WORD_NAMES
    phonemes  list of int phoneme ids (1-based; 0 is the CTC blank)
    speaker   int: the speaker's id (speakers of different splits never overlap)
Deterministic: example (seed, speaker, word, repetition) is the same on every machine.
"""
from __future__ import annotations

import numpy as np

from . import synth
from .phonemes import WORD_NAMES, WORDS, phoneme_ids

# Speaker ids of each split: 48 / 8 / 16 speakers, each saying each of the 16 words twice.
SPLIT_SPEAKERS = {"train": range(0, 48), "validation": range(48, 56), "test": range(56, 72)}
REPETITIONS = 2


def utterance(seed: int, speaker_id: int, word: int, repetition: int) -> dict:
    """One example (see the module docstring)."""
    if not 0 <= word < len(WORD_NAMES):
        raise ValueError(f"word must be in [0, {len(WORD_NAMES)}), received word={word!r}")
    symbols = WORDS[WORD_NAMES[word]]
    rng = np.random.default_rng([seed, speaker_id, word, repetition, 2])
    audio = synth.synthesise(symbols, synth.make_speaker(seed, speaker_id), rng)
    return {"audio": audio, "word": word, "phonemes": phoneme_ids(symbols), "speaker": speaker_id}


def split_keys(split: str, repetitions: int = REPETITIONS, speakers=None):
    """[(speaker, word, repetition)] of a split, in a fixed order (speaker-major)."""
    if split not in SPLIT_SPEAKERS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_SPEAKERS)}")
    chosen = SPLIT_SPEAKERS[split] if speakers is None else speakers
    return [(s, w, r) for s in chosen for w in range(len(WORD_NAMES)) for r in range(repetitions)]


def generate(split: str, seed: int = 0, repetitions: int = REPETITIONS, speakers=None):
    """Yield (key, example) for every utterance of `split` (a string key, as tfds wants)."""
    for speaker, word, repetition in split_keys(split, repetitions, speakers):
        yield f"{speaker:03d}-{word:02d}-{repetition}", utterance(seed, speaker, word, repetition)


def load_split(split: str, seed: int = 0, repetitions: int = REPETITIONS, speakers=None):
    """A whole split in memory: (audio list of float32 (L_i,), words int32 (N,),
    phonemes list of int lists, speakers int32 (N,))."""
    examples = [example for _, example in generate(split, seed, repetitions, speakers)]
    return ([e["audio"] for e in examples],
            np.array([e["word"] for e in examples], dtype=np.int32),
            [e["phonemes"] for e in examples],
            np.array([e["speaker"] for e in examples], dtype=np.int32))
