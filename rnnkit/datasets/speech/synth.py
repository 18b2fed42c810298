"""A source-filter synthesiser of speech-like words, pure NumPy, deterministic from a seed.

The source-filter model of speech (Fant, "Acoustic Theory of Speech Production", 1960):
a source (the vocal folds' pulses for voiced sounds, turbulent noise for fricatives and
bursts) is shaped by the resonances of the vocal tract (the formants). Here:

- voiced source: a train of glottal pulses at the speaker's pitch f0(t) (one pulse each
  time the phase, the running integral of f0, passes an integer), with the source's
  spectral tilt;
- noise source: white Gaussian noise;
- filter: a cascade of second-order digital resonators, one per formant (Klatt, "Software
  for a cascade/parallel formant synthesizer", J. Acoust. Soc. Am. 67, 1980, eq. 2:
  H(z) = A / (1 - B z^-1 - C z^-2), C = -exp(-2 pi BW T), B = 2 exp(-pi BW T) cos(2 pi F T),
  A = 1 - B - C), with formants that glide from one phoneme's targets to the next.

The formants change over time, so the filter is applied block by block in the frequency
domain (Hann-windowed blocks of 32 ms every 16 ms, each multiplied by the resonators'
response at its centre time and overlap-added): a time-varying linear filter, vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .phonemes import BY_SYMBOL

SAMPLE_RATE = 8000                 # Hz: telephone band, formants up to ~3.8 kHz fit below 4 kHz
BLOCK, HOP, FFT = 256, 128, 512    # filtering blocks: 32 ms every 16 ms, zero-padded FFT
BANDWIDTHS = (70.0, 100.0, 160.0)  # Hz: formant bandwidths F1..F3 (typical values, Klatt 1980)
MAX_SECONDS = 0.64                  # longest utterance: 40 frames of 16 ms
TILT = 0.75                        # pole of the source's low-pass tilt (its spectral slope)


@dataclass(frozen=True)
class Speaker:
    f0: float              # Hz, average pitch
    formant_scale: float   # vocal-tract length: formants are multiplied by it (shorter tract > 1)
    rate: float            # speaking rate: durations are divided by it
    loudness: float        # peak amplitude of an utterance, before a small random variation
    snr_db: float          # background noise: speech-to-noise ratio in dB


def make_speaker(seed: int, speaker_id: int) -> Speaker:
    """The speaker `speaker_id` of data seed `seed` (the same numbers every time)."""
    rng = np.random.default_rng([seed, speaker_id, 1])
    f0 = float(np.exp(rng.uniform(np.log(85.0), np.log(240.0))))
    # Higher voices tend to come with shorter vocal tracts (Peterson and Barney 1952).
    scale = 0.92 + 0.28 * np.log(f0 / 85.0) / np.log(240.0 / 85.0) + rng.normal(0, 0.03)
    return Speaker(f0=f0, formant_scale=float(np.clip(scale, 0.88, 1.24)),
                   rate=float(rng.uniform(0.8, 1.25)), loudness=float(rng.uniform(0.15, 0.85)),
                   snr_db=float(rng.uniform(15.0, 35.0)))


def resonator(frequencies, centre, bandwidth, sample_rate=SAMPLE_RATE):
    """Complex response of Klatt's second-order resonator at `frequencies` (Hz), H(0) = 1.

    frequencies (K,); centre, bandwidth (B, 1) or scalars. Returns (B, K) or (K,) complex.
    """
    period = 1.0 / sample_rate
    c = -np.exp(-2 * np.pi * bandwidth * period)
    b = 2 * np.exp(-np.pi * bandwidth * period) * np.cos(2 * np.pi * centre * period)
    a = 1.0 - b - c
    z1 = np.exp(-2j * np.pi * frequencies * period)                    # z^-1 on the unit circle
    return a / (1.0 - b * z1 - c * z1 * z1)


def _unit_power(responses):
    """Scale each row so that white noise through it keeps its power."""
    return responses / np.sqrt(np.mean(np.abs(responses) ** 2, axis=-1, keepdims=True))


def filter_blocks(signal, responses):
    """Apply a time-varying filter: block b of `signal` is multiplied, in the frequency
    domain, by responses[b] (FFT // 2 + 1 bins), then the blocks are overlap-added.

    signal (L,); responses (n_blocks(L), FFT // 2 + 1). Returns (L,).
    """
    length = len(signal)
    padded = np.concatenate([np.zeros(BLOCK), signal, np.zeros(2 * BLOCK)])
    count = n_blocks(length)
    starts = np.arange(count) * HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(BLOCK) / BLOCK)  # periodic Hann: sums to 1
    blocks = padded[starts[:, None] + np.arange(BLOCK)] * window        # (B, BLOCK)
    filtered = np.fft.irfft(np.fft.rfft(blocks, FFT) * responses, FFT)  # (B, FFT)
    out = np.zeros(len(padded) + FFT)
    for offset in range(0, FFT, HOP):        # overlap-add, FFT // HOP vectorised strides
        out_slice = out[offset:offset + count * HOP].reshape(count, HOP)
        out_slice += filtered[:, offset:offset + HOP]
    return out[BLOCK:BLOCK + length]


def n_blocks(length):
    return (length + 2 * BLOCK) // HOP


def block_times(length):
    """Centre time (s) of each filtering block, in the signal's own time."""
    return (np.arange(n_blocks(length)) * HOP + BLOCK / 2 - BLOCK) / SAMPLE_RATE


def _smooth(track, seconds):
    width = max(1, int(seconds * SAMPLE_RATE))
    kernel = np.hanning(width + 2)[1:-1]
    return np.convolve(track, kernel / kernel.sum(), mode="same")


def plan_segments(symbols, speaker: Speaker, rng):
    """[(symbol or None for silence, start, end)] in samples: a leading silence, the
    phonemes with durations scaled by the speaker's rate and a random factor, a trailing
    silence; all shortened together if the utterance would last more than MAX_SECONDS."""
    seconds = [rng.uniform(0.04, 0.12) if symbol is None
               else BY_SYMBOL[symbol].duration / speaker.rate * rng.uniform(0.75, 1.3)
               for symbol in (None, *symbols, None)]
    squeeze = min(1.0, MAX_SECONDS / sum(seconds))
    segments, position = [], 0
    for symbol, duration in zip((None, *symbols, None), seconds):
        length = int(duration * squeeze * SAMPLE_RATE)
        segments.append((symbol, position, position + length))
        position += length
    return segments


def synthesise(symbols, speaker: Speaker, rng) -> np.ndarray:
    """One utterance of the phoneme sequence `symbols` by `speaker`: float32 (L,) in [-1, 1]."""
    segments = plan_segments(symbols, speaker, rng)
    length = segments[-1][2]
    voiced_gain, noise_gain = np.zeros(length), np.zeros(length)
    centres, targets, noise_at = [], [], []
    for symbol, start, end in segments:
        if symbol is None:
            continue
        phoneme = BY_SYMBOL[symbol]
        if phoneme.kind in ("vowel", "nasal"):
            voiced_gain[start:end] = phoneme.gain
            centres.append((start + end) / 2 / SAMPLE_RATE)
            targets.append(np.array(phoneme.formants) * speaker.formant_scale)
        elif phoneme.kind == "fricative":
            noise_gain[start:end] = phoneme.gain
            noise_at.append((start, end, phoneme))
        else:   # stop: a closure (silence), then a burst with a quick decay
            burst = min(int(0.025 * SAMPLE_RATE), (end - start) // 2)
            decay = np.exp(-np.arange(burst) / (0.3 * burst))
            noise_gain[end - burst:end] = phoneme.gain * decay
            noise_at.append((end - burst, end, phoneme))
    voiced_gain, noise_gain = _smooth(voiced_gain, 0.02), _smooth(noise_gain, 0.004)

    times = block_times(length)                                          # (B,)
    bins = np.fft.rfftfreq(FFT, 1.0 / SAMPLE_RATE)                       # (K,)
    tilt = 1.0 / (1.0 - TILT * np.exp(-2j * np.pi * bins / SAMPLE_RATE))
    voiced = np.zeros(length)
    if centres:
        response = np.ones((len(times), len(bins)), dtype=complex) * tilt
        for k, bandwidth in enumerate(BANDWIDTHS):
            formant = np.interp(times, centres, [t[k] for t in targets])[:, None]   # (B, 1)
            response = response * resonator(bins, formant, bandwidth)
        f0 = speaker.f0 * np.linspace(1.05, 0.88, length) * (
            1 + 0.02 * np.sin(2 * np.pi * rng.uniform(3, 6) * np.arange(length) / SAMPLE_RATE
                              + rng.uniform(0, 2 * np.pi)))              # declination, vibrato
        phase = np.cumsum(f0 / SAMPLE_RATE) + rng.uniform()
        pulses = np.diff(np.floor(phase), prepend=np.floor(phase[0])) * np.sqrt(SAMPLE_RATE / f0)
        voiced = filter_blocks(pulses * voiced_gain, _unit_power(response))
    noise = np.zeros(length)
    if noise_at:
        centre, bandwidth = np.full(len(times), 2000.0), np.full(len(times), 1000.0)
        for start, end, phoneme in noise_at:
            inside = (times >= start / SAMPLE_RATE - 0.016) & (times <= end / SAMPLE_RATE + 0.016)
            centre[inside] = phoneme.noise_centre * speaker.formant_scale ** 0.5
            bandwidth[inside] = phoneme.noise_bandwidth
        shaped = _unit_power(np.abs(resonator(bins, centre[:, None], bandwidth[:, None])))
        noise = filter_blocks(rng.standard_normal(length) * noise_gain, shaped)

    speech = voiced + noise
    speech_rms = np.sqrt(np.mean(speech[voiced_gain > 0.5] ** 2)) if (voiced_gain > 0.5).any() \
        else np.sqrt(np.mean(speech ** 2)) + 1e-12
    background = rng.standard_normal(length) * speech_rms * 10 ** (-speaker.snr_db / 20)
    waveform = speech + background
    peak = speaker.loudness * rng.uniform(0.85, 1.15)
    waveform *= peak / (np.max(np.abs(waveform)) + 1e-12)
    return np.clip(waveform, -1.0, 1.0).astype(np.float32)
