"""The phoneme inventory of the speech-like data: what each phoneme sounds like.

Vowels are defined by their first three formant frequencies (the resonances of the vocal
tract), the average values measured for men by Peterson and Barney (1952), "Control methods
used in a study of the vowels", J. Acoust. Soc. Am. 24(2), 175-184, Table II (the words
heed, head, had, hod, hawed, who'd). A speaker's vocal-tract length scales them (women's
and children's formants are roughly 15-25 % higher, Peterson and Barney's Table II again).

Consonants are kept simple, as in a first course on speech: nasals are voiced murmurs with
a low first formant (Stevens, "Acoustic Phonetics", 1998, ch. 9), fricatives are noise
shaped by one broad resonance whose centre tells them apart (s high, sh mid), and the
voiceless stops p, t, k are a silence (the closure) followed by a short noise burst whose
spectrum is low (p), high (t) or mid (k) (Stevens 1998, ch. 7).

Phoneme ids start at 1: id 0 is the CTC blank in ex06.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phoneme:
    symbol: str
    kind: str                # "vowel", "nasal", "fricative" or "stop"
    duration: float          # typical duration in seconds (before speaker and random scaling)
    formants: tuple = ()     # (F1, F2, F3) in Hz for voiced sounds
    noise_centre: float = 0.0   # Hz: centre of the noise resonance (fricatives, bursts)
    noise_bandwidth: float = 0.0
    gain: float = 1.0        # level relative to a vowel


# Peterson and Barney (1952), Table II, men: F1, F2, F3 in Hz.
VOWELS = (
    Phoneme("iy", "vowel", 0.13, (270, 2290, 3010)),    # heed
    Phoneme("eh", "vowel", 0.11, (530, 1840, 2480)),    # head
    Phoneme("ae", "vowel", 0.14, (660, 1720, 2410)),    # had
    Phoneme("aa", "vowel", 0.13, (730, 1090, 2440)),    # hod
    Phoneme("ao", "vowel", 0.13, (570, 840, 2410)),     # hawed
    Phoneme("uw", "vowel", 0.12, (300, 870, 2240)),     # who'd
)
CONSONANTS = (
    Phoneme("m", "nasal", 0.07, (250, 1100, 2200), gain=0.35),
    Phoneme("n", "nasal", 0.07, (250, 1700, 2600), gain=0.35),
    Phoneme("s", "fricative", 0.10, noise_centre=3300, noise_bandwidth=900, gain=0.45),
    Phoneme("sh", "fricative", 0.10, noise_centre=2300, noise_bandwidth=700, gain=0.5),
    Phoneme("p", "stop", 0.07, noise_centre=700, noise_bandwidth=900, gain=0.5),
    Phoneme("t", "stop", 0.07, noise_centre=3200, noise_bandwidth=1100, gain=0.6),
    Phoneme("k", "stop", 0.08, noise_centre=1800, noise_bandwidth=600, gain=0.6),
)
PHONEMES = VOWELS + CONSONANTS
SYMBOLS = tuple(p.symbol for p in PHONEMES)          # index i -> phoneme id i + 1
BY_SYMBOL = {p.symbol: p for p in PHONEMES}
PHONEME_IDS = {symbol: index + 1 for index, symbol in enumerate(SYMBOLS)}   # 0 = CTC blank

# The words: phoneme sequences. Several pairs are anagrams of each other (tea / eat,
# seat / east, cat / tack, ten / net, map / pam), so the order of the sounds, not only which
# sounds occur, decides the word: a bag of frames cannot tell them apart.
WORDS = {
    "see": ("s", "iy"),
    "she": ("sh", "iy"),
    "tea": ("t", "iy"),
    "eat": ("iy", "t"),
    "seat": ("s", "iy", "t"),
    "east": ("iy", "s", "t"),
    "cat": ("k", "ae", "t"),
    "tack": ("t", "ae", "k"),
    "ten": ("t", "eh", "n"),
    "net": ("n", "eh", "t"),
    "moon": ("m", "uw", "n"),
    "shop": ("sh", "aa", "p"),
    "map": ("m", "ae", "p"),
    "pam": ("p", "ae", "m"),
    "caught": ("k", "ao", "t"),
    "talk": ("t", "ao", "k"),
}
WORD_NAMES = tuple(WORDS)                             # index = word label


def phoneme_ids(symbols) -> list[int]:
    """Phoneme symbols -> ids (1-based; 0 is reserved for the CTC blank)."""
    unknown = [s for s in symbols if s not in PHONEME_IDS]
    if unknown:
        raise ValueError(f"unknown phoneme(s) {unknown}; known: {', '.join(SYMBOLS)}")
    return [PHONEME_IDS[s] for s in symbols]
