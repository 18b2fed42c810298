"""Tests of the WAV folder reader (`rnnkit.datasets.speech.wav`) on the shipped sample
(data/samples/speech) and on files written here byte by byte in every encoding it accepts
or refuses. scipy.io.wavfile, when installed, is the independent reader."""
import struct

import numpy as np
import pytest

from rnnkit import KIT_ROOT
from rnnkit.datasets import DataError
from rnnkit.datasets.speech import wav

SAMPLE = KIT_ROOT / "data" / "samples" / "speech"
TONE = 0.6 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)     # 0.1 s at 8 kHz


def riff(fmt: bytes, data: bytes) -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + \
        struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def fmt_chunk(tag, channels, rate, bits, extensible=False):
    block = channels * ((bits + 7) // 8)
    head = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block,
                       block, bits)
    if not extensible:
        return head
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    return head + struct.pack("<HHIH", 22, bits, 0, tag) + guid_tail


def encode(samples, bits, floating=False):
    """Interleaved little-endian sample bytes of (L, channels) floats in [-1, 1]."""
    if floating:
        return np.asarray(samples, dtype=f"<f{bits // 8}").tobytes()
    if bits == 8:
        return np.clip(np.round(samples * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    ints = np.round(samples * (2 ** (bits - 1) - 1)).astype("<i4")
    raw = ints.view(np.uint8).reshape(*ints.shape, 4)[..., :bits // 8]
    return raw.tobytes()


def test_shipped_sample_is_what_the_synthesiser_writes(tmp_path):
    wav.write_samples(tmp_path)
    for path in sorted(SAMPLE.rglob("*")):
        if path.is_file():
            assert (tmp_path / path.relative_to(SAMPLE)).read_bytes() == path.read_bytes(), path


def test_folder_and_csv_layouts_agree():
    by_folder = wav.read_wav_folder(SAMPLE)
    by_csv = wav.read_wav_folder(SAMPLE, SAMPLE / "labels.csv")
    assert sorted(by_folder[1]) == sorted(by_csv[1]) == sorted(list(wav.SAMPLE_WORDS) * 2)
    folder = {str(f): w for w, f in zip(by_folder[0], by_folder[2])}
    for waveform, path in zip(by_csv[0], by_csv[2]):
        np.testing.assert_array_equal(waveform, folder[str(path)])
        assert waveform.dtype == np.float32 and 0.1 < len(waveform) / 8000 <= 0.64


def test_sixteen_bit_matches_scipy():
    wavfile = pytest.importorskip("scipy.io.wavfile")
    path = sorted(SAMPLE.glob("tea/*.wav"))[0]
    rate, data = wavfile.read(path)
    assert rate == 8000
    np.testing.assert_array_equal(wav.read_wav(path), data.astype(np.float32) / 32768)


@pytest.mark.parametrize("bits,floating,extensible,tolerance", [
    (8, False, False, 1 / 256), (16, False, False, 1e-4), (24, False, False, 1e-6),
    (32, False, False, 1e-6), (32, True, False, 1e-7), (64, True, False, 1e-7),
    (16, False, True, 1e-4), (32, True, True, 1e-7)])
def test_every_accepted_encoding(tmp_path, bits, floating, extensible, tolerance):
    path = tmp_path / "tone.wav"
    path.write_bytes(riff(fmt_chunk(3 if floating else 1, 1, 8000, bits, extensible),
                          encode(TONE[:, None], bits, floating)))
    np.testing.assert_allclose(wav.read_wav(path), TONE, atol=tolerance + 1e-7)


def test_stereo_is_averaged(tmp_path):
    path = tmp_path / "stereo.wav"
    stereo = np.stack([TONE, -0.5 * TONE], axis=1)
    path.write_bytes(riff(fmt_chunk(1, 2, 8000, 16), encode(stereo, 16)))
    np.testing.assert_allclose(wav.read_wav(path), 0.25 * TONE, atol=1e-4)


@pytest.mark.parametrize("rate", [16000, 44100, 48000, 11025])
def test_common_rates_are_resampled(tmp_path, rate):
    seconds = 0.25
    t = np.arange(int(seconds * rate)) / rate
    path = tmp_path / f"{rate}.wav"
    path.write_bytes(riff(fmt_chunk(1, 1, rate, 16), encode((0.5 * np.sin(2 * np.pi * 440 * t)
                                                            )[:, None], 16)))
    got = wav.read_wav(path)
    assert len(got) == round(len(t) * 8000 / rate)
    step = len(t) / (len(got) * rate)   # the clip's duration over the new count (~1 / 8000)
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(got)) * step)
    # FFT resampling treats the clip as periodic: compare away from the edges.
    middle = slice(len(got) // 4, -len(got) // 4)
    np.testing.assert_allclose(got[middle], expected[middle], atol=2e-2)


@pytest.mark.parametrize("length,rate,target", [(4410, 44100, 8000), (4411, 44100, 8000),
                                                (800, 8000, 16000), (801, 16000, 8000)])
def test_resample_matches_scipy(length, rate, target):
    """Every parity of input and output length (the unpaired Nyquist bins)."""
    signal = pytest.importorskip("scipy.signal")
    x = np.random.default_rng(1).standard_normal(length)
    got = wav.resample(x, rate, target)
    np.testing.assert_allclose(got, signal.resample(x, len(got)), atol=1e-9)


@pytest.mark.parametrize("content,message", [
    (b"", "not a WAV file"),
    (b"ID3\x03 this is an mp3", "not a WAV file"),
    (riff(fmt_chunk(1, 1, 8000, 16), encode(TONE[:, None], 16))[:900], "truncated"),
    (riff(fmt_chunk(2, 1, 8000, 4), b"\0" * 100), "unsupported encoding"),
    (riff(fmt_chunk(1, 1, 12345, 16), b"\0" * 100), "sample rate 12345 Hz"),
    (riff(fmt_chunk(3, 1, 8000, 16), b"\0" * 100), "unsupported encoding: float with 16 bits"),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        wav.read_wav(path)
    text = str(error.value)
    assert message in text and str(path) in text and "\n" not in text


def test_csv_problems_name_the_line(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label\nmissing.wav,tea\n")
    with pytest.raises(DataError, match=r"labels.csv: line 2: 'missing.wav' is not a file"):
        wav.read_wav_folder(tmp_path, tmp_path / "labels.csv")
    (tmp_path / "labels.csv").write_text("path,word\n")
    with pytest.raises(DataError, match="line 1: expected the header 'file,label'"):
        wav.read_wav_folder(tmp_path, tmp_path / "labels.csv")
    with pytest.raises(DataError, match="no <label>/<file>.wav files"):
        wav.read_wav_folder(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        wav.read_wav_folder(tmp_path / "nowhere")
