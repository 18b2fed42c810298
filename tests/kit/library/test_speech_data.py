"""Tests of the speech-like data: the synthesiser, the corpus, the tfds builder and the
shipped grading features (`rnnkit.datasets.speech`, `rnnkit_speech`, rnnkit/official/ex06.py).

Independent references where one exists: scipy.signal.freqz for the resonator (when scipy is
installed), the formant table itself for the synthesised vowels, and a rebuild for every
shipped file. The WAV reader has its own file, test_speech_wav.py.
"""
import socket

import numpy as np
import pytest

from rnnkit.datasets.speech import corpus, phonemes, synth

SR = synth.SAMPLE_RATE


def test_utterances_are_deterministic_and_bounded():
    first = corpus.utterance(0, 3, 5, 1)
    again = corpus.utterance(0, 3, 5, 1)
    assert np.array_equal(first["audio"], again["audio"])
    assert first["audio"].dtype == np.float32
    assert not np.array_equal(first["audio"], corpus.utterance(0, 3, 5, 0)["audio"])
    assert not np.array_equal(first["audio"], corpus.utterance(1, 3, 5, 1)["audio"])
    for speaker in range(0, 72, 7):
        for word in range(len(phonemes.WORD_NAMES)):
            audio = corpus.utterance(0, speaker, word, 0)["audio"]
            assert 0 < len(audio) <= synth.MAX_SECONDS * SR
            assert np.abs(audio).max() <= 1.0 and np.isfinite(audio).all()


def test_speakers_are_disjoint_between_splits():
    speakers = {split: {s for s, _, _ in corpus.split_keys(split)}
                for split in corpus.SPLIT_SPEAKERS}
    assert not speakers["train"] & speakers["test"]
    assert not speakers["train"] & speakers["validation"]
    assert not speakers["validation"] & speakers["test"]
    assert [len(corpus.split_keys(s)) for s in ("train", "validation", "test")] == [1536, 256, 512]


def test_labels_and_phonemes_agree():
    example = corpus.utterance(0, 0, phonemes.WORD_NAMES.index("east"), 0)
    assert example["phonemes"] == phonemes.phoneme_ids(["iy", "s", "t"])
    assert 0 not in phonemes.PHONEME_IDS.values()          # 0 is the CTC blank
    with pytest.raises(ValueError, match="unknown phoneme"):
        phonemes.phoneme_ids(["zz"])
    with pytest.raises(ValueError, match="word must be"):
        corpus.utterance(0, 0, 99, 0)


def test_resonator_matches_scipy_freqz():
    signal = pytest.importorskip("scipy.signal")
    frequencies = np.linspace(0, SR / 2, 257)
    centre, bandwidth = 730.0, 90.0
    ours = synth.resonator(frequencies, centre, bandwidth)
    c = -np.exp(-2 * np.pi * bandwidth / SR)
    b = 2 * np.exp(-np.pi * bandwidth / SR) * np.cos(2 * np.pi * centre / SR)
    _, theirs = signal.freqz([1 - b - c], [1, -b, -c], worN=frequencies, fs=SR)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    assert abs(frequencies[np.argmax(np.abs(ours))] - centre) < SR / 512


def test_filter_blocks_with_a_flat_response_is_the_identity():
    x = np.random.default_rng(0).standard_normal(3001)
    flat = np.ones((synth.n_blocks(len(x)), synth.FFT // 2 + 1))
    np.testing.assert_allclose(synth.filter_blocks(x, flat), x, atol=1e-12)


@pytest.mark.parametrize("vowel", ["iy", "aa", "uw", "ae"])
def test_vowels_have_peterson_and_barney_first_formant(vowel):
    """The spectral envelope of a sustained vowel peaks at the table's F1 (scaled by the
    speaker's vocal-tract factor), within one harmonic spacing (the harmonics sample it)."""
    speaker = synth.Speaker(f0=100.0, formant_scale=1.0, rate=0.5, loudness=0.5, snr_db=60.0)
    audio = synth.synthesise([vowel], speaker, np.random.default_rng(0)).astype(np.float64)
    middle = audio[len(audio) // 2 - 512:len(audio) // 2 + 512]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)))) ** 2
    frequencies = np.fft.rfftfreq(len(middle), 1 / SR)
    low = frequencies < 1000
    peak = frequencies[low][np.argmax(spectrum[low])]
    assert abs(peak - phonemes.BY_SYMBOL[vowel].formants[0]) <= 100.0 + 1e-9


@pytest.fixture(scope="module")
def small_builds(tmp_path_factory):
    """Two builds of rnnkit_speech/small in fresh folders, with the network unplugged."""
    tfds = pytest.importorskip("tensorflow_datasets")
    import rnnkit.datasets  # noqa: F401  (registers the builders)

    tfds.disable_progress_bar()

    def refuse(*args, **kwargs):
        raise AssertionError("the builder tried to open a network socket")

    original, socket.socket = socket.socket, refuse
    try:
        builds = []
        for attempt in range(2):
            folder = tmp_path_factory.mktemp(f"tfds{attempt}")
            builds.append({split: list(tfds.as_numpy(rnnkit.datasets.load(
                "rnnkit_speech/small", split, data_dir=str(folder), as_supervised=False)))
                for split in ("train", "validation", "test")})
    finally:
        socket.socket = original
    return builds


def test_builder_split_sizes_and_features(small_builds):
    build = small_builds[0]
    assert [len(build[s]) for s in ("train", "validation", "test")] == [64, 32, 64]
    example = build["test"][0]
    assert example["audio"].dtype == np.float32 and int(example["sample_rate"]) == SR
    expected = corpus.utterance(0, 56, 0, 0)
    np.testing.assert_array_equal(example["audio"], expected["audio"])
    assert list(example["phonemes"]) == expected["phonemes"]
    assert int(example["word"]) == 0 and int(example["speaker"]) == 56
    speakers = {split: {int(e["speaker"]) for e in build[split]} for split in build}
    assert not speakers["train"] & speakers["test"]


def test_two_builds_are_identical(small_builds):
    first, second = small_builds
    for split in first:
        for a, b in zip(first[split], second[split], strict=True):
            assert np.array_equal(a["audio"], b["audio"]) and int(a["word"]) == int(b["word"])


def test_unknown_data_set_is_one_clear_error():
    import rnnkit.datasets

    with pytest.raises(rnnkit.datasets.DataError, match="unknown data set 'rnnkit_speeech'"):
        rnnkit.datasets.load("rnnkit_speeech", "train")


def test_shipped_grading_features_rebuild_identically():
    """data/speech/ex06_grading.npz is what rnnkit/official/ex06.py.build() makes today."""
    from rnnkit.official import ex06 as ex06_oracles

    shipped, rebuilt = ex06_oracles.load(), ex06_oracles.build()
    for key, value in rebuilt.items():
        if key.endswith("_features"):
            # float16 storage: 1e-3 relative; features are standardised, |x| < ~10.
            np.testing.assert_allclose(shipped[key], value.astype(np.float32), atol=2e-2,
                                       err_msg=key)
            assert np.array_equal(shipped[key] == 0, value == 0), key   # padding exactly 0
        else:
            np.testing.assert_array_equal(shipped[key], value, err_msg=key)
