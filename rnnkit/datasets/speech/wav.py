"""Read your own recordings: WAV files, one per utterance, labelled by a CSV or by folder.

    waveforms, labels, files = read_wav_folder("my_words")              # my_words/<label>/*.wav
    waveforms, labels, files = read_wav_folder("my_words", "labels.csv")  # rows: file,label

Every file becomes float32 mono in [-1, 1] at the kit's SAMPLE_RATE (8000 Hz):
- PCM integers of 8 bits (unsigned), 16, 24 or 32 bits, and IEEE floats of 32 or 64 bits,
  plain or in the WAVE_FORMAT_EXTENSIBLE wrapper;
- several channels are averaged to one;
- the common sample rates (COMMON_RATES) are resampled to 8000 Hz with an FFT (the spectrum
  is cut at the new Nyquist frequency, as scipy.signal.resample does).
Anything else (compressed formats, another rate, a truncated or non-WAV file) raises
`rnnkit.datasets.DataError` with one line naming the file. Pure standard library and NumPy.
"""
from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

from .synth import SAMPLE_RATE

COMMON_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)
PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


def _error(path, message):
    from rnnkit.datasets import DataError

    return DataError(f"{path}: {message}")


def _chunks(path, data: bytes):
    """{chunk id: bytes} of a RIFF/WAVE file; DataError when it is not one or is cut short."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _error(path, "not a WAV file (no RIFF/WAVE header)")
    chunks, position = {}, 12
    while position + 8 <= len(data):
        name = data[position:position + 4]
        size = struct.unpack("<I", data[position + 4:position + 8])[0]
        body = data[position + 8:position + 8 + size]
        if len(body) < size:
            raise _error(path, f"truncated: the {name.decode('latin-1')!r} chunk declares "
                               f"{size} bytes but only {len(body)} follow")
        chunks.setdefault(name, body)
        position += 8 + size + (size % 2)                  # chunks are padded to even sizes
    for needed in (b"fmt ", b"data"):
        if needed not in chunks:
            raise _error(path, f"no {needed.decode().strip()!r} chunk: truncated or not a WAV file")
    return chunks


def _decode(path, fmt: bytes, data: bytes):
    """(samples (L, channels) float64 in [-1, 1], sample rate) from the fmt and data chunks."""
    if len(fmt) < 16:
        raise _error(path, f"the fmt chunk has {len(fmt)} bytes, at least 16 are needed")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]           # the sub-format GUID starts with it
    if channels < 1 or block_align != channels * ((bits + 7) // 8):
        raise _error(path, f"inconsistent fmt chunk: {channels} channel(s) of {bits} bits in "
                           f"blocks of {block_align} bytes")
    usable = len(data) - len(data) % block_align
    raw = np.frombuffer(data[:usable], dtype=np.uint8)
    raw = raw.reshape(-1, channels, block_align // channels)          # (L, channels, bytes)
    if tag == PCM and bits == 8:
        samples = (raw[..., 0].astype(np.float64) - 128.0) / 128.0          # unsigned bytes
    elif tag == PCM and bits in (16, 24, 32):
        width = bits // 8                                  # little-endian, sign-extend to 32 bits
        padded = np.zeros(raw.shape[:2] + (4,), dtype=np.uint8)
        padded[..., 4 - width:] = raw
        samples = padded.view("<i4")[..., 0].astype(np.float64) / 2.0 ** 31
    elif tag == IEEE_FLOAT and bits in (32, 64):
        samples = raw.reshape(raw.shape[0], -1).view(f"<f{bits // 8}").astype(np.float64)
        if not np.all(np.isfinite(samples)):
            raise _error(path, "float samples include NaN or infinity")
    else:
        kind = {PCM: "PCM", IEEE_FLOAT: "float"}.get(tag, f"format tag {tag:#06x} (compressed?)")
        raise _error(path, f"unsupported encoding: {kind} with {bits} bits per sample; "
                           "use PCM (8, 16, 24, 32 bits) or float (32, 64 bits)")
    return samples, rate


def resample(samples, rate: int, target: int = SAMPLE_RATE):
    """Band-limited resampling with the FFT: (L,) at `rate` -> (round(L * target / rate),)."""
    if rate == target:
        return np.asarray(samples, dtype=np.float64)
    length = len(samples)
    out_length = int(round(length * target / rate))
    if length == 0 or out_length == 0:
        return np.zeros(out_length)
    spectrum = np.fft.rfft(samples)                                     # (length // 2 + 1,)
    keep = min(length, out_length) // 2 + 1
    resized = np.zeros(out_length // 2 + 1, dtype=complex)
    resized[:keep] = spectrum[:keep]
    if min(length, out_length) % 2 == 0:     # a bin at +-Nyquist of the shorter length:
        if out_length < length:              # the pair +-m folds onto the new Nyquist bin
            resized[keep - 1] = 2 * spectrum[keep - 1].real
        else:                                # the old Nyquist bin splits into a pair +-m
            resized[keep - 1] = spectrum[keep - 1] / 2
    return np.fft.irfft(resized, out_length) * (out_length / length)


def read_wav(path) -> np.ndarray:
    """One WAV file -> float32 mono (L,) in [-1, 1] at SAMPLE_RATE (see the module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _error(path, f"cannot read it ({error.strerror or error})") from None
    chunks = _chunks(path, data)
    samples, rate = _decode(path, chunks[b"fmt "], chunks[b"data"])
    if rate not in COMMON_RATES:
        raise _error(path, f"sample rate {rate} Hz is not one of the supported rates "
                           f"{', '.join(map(str, COMMON_RATES))}")
    mono = samples.mean(axis=1)                            # (L,) average of the channels
    return np.clip(resample(mono, rate), -1.0, 1.0).astype(np.float32)


def read_wav_folder(folder, labels_csv=None):
    """Every WAV file of `folder` with its label.

    labels_csv: a CSV file with a header row and the columns `file` (relative to `folder`)
    and `label`; without it, each sub-folder of `folder` is a label and holds its WAV files.
    Returns (waveforms: list of float32 (L_i,), labels: list of str, files: list of Path),
    sorted by label then file name (CSV order when a CSV is given).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise _error(folder, "no such folder")
    if labels_csv is not None:
        rows = _csv_rows(Path(labels_csv))
        pairs = []
        for line, (name, label) in rows:
            path = folder / name
            if not path.is_file():
                raise _error(labels_csv, f"line {line}: {name!r} is not a file in {folder}")
            pairs.append((path, label))
    else:
        pairs = [(path, sub.name) for sub in sorted(p for p in folder.iterdir() if p.is_dir())
                 for path in sorted(sub.iterdir()) if path.suffix.lower() == ".wav"]
        if not pairs:
            raise _error(folder, "no <label>/<file>.wav files found (or pass labels_csv)")
    return [read_wav(p) for p, _ in pairs], [label for _, label in pairs], [p for p, _ in pairs]


def _csv_rows(path: Path):
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise _error(path, f"cannot read it as a UTF-8 CSV file ({error})") from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "label"]:
        raise _error(path, "line 1: expected the header 'file,label'")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise _error(path, f"line {line}: expected 'file,label', got {','.join(row)!r}")
        out.append((line, (row[0].strip(), row[1].strip())))
    if not out:
        raise _error(path, "no rows after the header")
    return out


def write_wav(path, waveform, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float (L,) samples in [-1, 1] as a 16-bit PCM mono WAV file (stdlib `wave`)."""
    import wave

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return path


SAMPLE_WORDS = ("tea", "eat", "moon")       # the shipped sample: data/samples/speech/


def write_samples(folder) -> list[Path]:
    """The kit's sample folder: <word>/<speaker>.wav for two test speakers and three words,
    plus labels.csv listing the same files (both layouts read_wav_folder accepts)."""
    from .corpus import utterance
    from .phonemes import WORD_NAMES

    folder, rows, written = Path(folder), ["file,label"], []
    for word in SAMPLE_WORDS:
        for speaker in (56, 57):
            name = f"{word}/speaker{speaker}.wav"
            audio = utterance(0, speaker, WORD_NAMES.index(word), 0)["audio"]
            written.append(write_wav(folder / name, audio))
            rows.append(f"{name},{word}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return written
