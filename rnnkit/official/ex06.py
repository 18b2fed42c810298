"""ex06's trusted side: oracles (tf.signal's helpers, Keras's layers, keras.ops.ctc_decode),
the outputs of the classic mistakes the feedback names (frames without overlap or end
padding, a log without its offset, the CTC blank taken as the last class, ...), the metrics
of the training checks, and their data. Run in the grader only.

The data of the training checks is computed by the grader's own feature pipeline.

Features are made by tf.signal's ready-made helpers (`stft`, `linear_to_mel_weight_matrix`,
`mfccs_from_log_mel_spectrograms`): an implementation nobody here wrote, with the exercise's
settings. Training utterances: 32 training speakers x 16 words (512); held-out utterances:
the 16 test speakers x 16 words (256), never heard in training, whose labels stay in the
grader. Both are standardised with the training statistics and padded to NUM_FRAMES.

They are shipped in data/speech/ex06_grading.npz (float16 features, about 1 MB), because
synthesising and featurising 768 utterances costs ~3-5 s per grading, and because the
recorded reference of a training check is keyed by its exact input bytes, which a float
pipeline on another CPU could change in the last bit. `tests/kit/library/test_speech_data.py`
rebuilds the file and compares. Rebuild it after changing the synthesiser or the settings:
    python -m rnnkit.official.ex06
"""
from __future__ import annotations

import functools

import numpy as np

from rnnkit import KIT_ROOT, recognition
from rnnkit.grader import inputs
from rnnkit.grader.compare import load_weights

C, H, V, P = 13, recognition.WORD_UNITS, 16, 13   # coefficients, units, words, phonemes
PATH = KIT_ROOT / "data" / "speech" / "ex06_grading.npz"
TRAIN_SPEAKERS = range(0, 32)
SETTINGS = dict(frame_length=256, frame_step=128, fft_length=256, num_mel_bins=20,
                lower_edge_hertz=80.0, upper_edge_hertz=3800.0, num_mfcc=13, log_offset=1e-6)
S = SETTINGS


def helper_features(waveforms, sample_rate, settings=SETTINGS):
    """MFCCs of each waveform with tf.signal's helpers: list of (F_i, C) float32 arrays,
    F_i = ceil(L_i / frame_step); computed as one zero-padded batch (the padding only reaches
    frames past each utterance's own F_i, which are dropped)."""
    import tensorflow as tf

    s = settings
    batch = np.zeros((len(waveforms), max(len(w) for w in waveforms)), dtype=np.float32)
    for row, waveform in enumerate(waveforms):
        batch[row, :len(waveform)] = waveform
    power = tf.abs(tf.signal.stft(batch, s["frame_length"], s["frame_step"], s["fft_length"],
                                  pad_end=True)) ** 2                               # (N, F, K)
    bank = tf.signal.linear_to_mel_weight_matrix(s["num_mel_bins"], s["fft_length"] // 2 + 1,
                                                 sample_rate, s["lower_edge_hertz"],
                                                 s["upper_edge_hertz"])              # (K, M)
    log_mel = tf.math.log(tf.matmul(power, bank) + s["log_offset"])                 # (N, F, M)
    mfcc = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :s["num_mfcc"]]  # (N, F, C)
    mfcc = np.asarray(mfcc)
    return [mfcc[row, :-(-len(w) // s["frame_step"])] for row, w in enumerate(waveforms)]


def build(seed: int = 0) -> dict:
    """Synthesise both sets and compute their standardised, padded features: the corpus's
    public voices (seed 0, what data/speech/ex06_grading.npz holds), or those of the speech
    data seed `seed` (other speakers entirely)."""
    from rnnkit.datasets.speech import SAMPLE_RATE, load_split

    arrays, statistics = {}, None
    for name, split, speakers in (("train", "train", TRAIN_SPEAKERS), ("test", "test", None)):
        audio, words, phonemes, _ = load_split(split, seed=seed, repetitions=1, speakers=speakers)
        features, lengths = recognition.pad_features(helper_features(audio, SAMPLE_RATE),
                                                     recognition.NUM_FRAMES)
        features, statistics = recognition.standardise(features, lengths, statistics)
        arrays.update({f"{name}_features": features.astype(np.float16),
                       f"{name}_lengths": lengths, f"{name}_words": words,
                       f"{name}_phonemes": recognition.pad_labels(phonemes)})
    return arrays


def load() -> dict:
    """The shipped arrays, features as float32 (padded frames exactly 0)."""
    with np.load(PATH, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for name in ("train", "test"):
        arrays[f"{name}_features"] = arrays[f"{name}_features"].astype(np.float32)
    return arrays


def grading_data(seed: int) -> dict:
    """The data of the training checks drawn from a seed of the course secret: other voices
    (`build(seed)`), and labels relabelled by permutations drawn from it (the words among
    themselves, the phonemes among themselves, the CTC blank 0 kept), so weights trained on
    the public corpus name every word and phoneme wrongly. Seed 0: the shipped public data."""
    if seed == 0:
        return load()
    arrays = build(seed)
    for name in ("train", "test"):
        arrays[f"{name}_features"] = arrays[f"{name}_features"].astype(np.float32)
    rng = np.random.default_rng(seed)
    words, phonemes = np.arange(V), np.arange(1, P + 1)
    moved_words, moved_phonemes = words, phonemes
    while np.any(moved_words == words):
        moved_words = rng.permutation(words)
    while np.any(moved_phonemes == phonemes):
        moved_phonemes = rng.permutation(phonemes)
    relabel = np.concatenate([[0], moved_phonemes])            # the blank stays 0
    for name in ("train", "test"):
        arrays[f"{name}_words"] = moved_words[arrays[f"{name}_words"]].astype(np.int32)
        arrays[f"{name}_phonemes"] = relabel[arrays[f"{name}_phonemes"]].astype(np.int32)
    return arrays


def save(arrays: dict) -> None:
    PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(PATH, **arrays)


def helper_frames(x, frame_step=S["frame_step"], pad_end=True):
    import tensorflow as tf

    return np.asarray(tf.signal.frame(x, S["frame_length"], frame_step, pad_end=pad_end))


def frame_mistakes(x):
    """[(sentence, frames)] of framing's classic mistakes on waveforms x (N, L)."""
    length, step = S["frame_length"], S["frame_step"]
    return [
        (f"your frames do not overlap: frame f starts at f * {length} (the frame length); it "
         f"starts at f * frame_step = f * {step}, so consecutive frames share half their "
         "samples (a reshape into frames cannot overlap: use tf.signal.frame(waveforms, "
         "frame_length, frame_step, pad_end=True))", helper_frames(x, frame_step=length)),
        ("no end padding: the last samples, which fill no whole frame, got no frame; pad the "
         "end with zeros so every sample is in a frame, F = ceil(L / frame_step) "
         "(tf.signal.frame(..., pad_end=True))", helper_frames(x, pad_end=False))]


def helper_power(x, window="periodic", magnitude=False):
    import tensorflow as tf

    window_fn = {"periodic": tf.signal.hann_window,
                 "symmetric": functools.partial(tf.signal.hann_window, periodic=False),
                 "none": lambda length, dtype: tf.ones([length], dtype)}[window]
    spectrum = tf.abs(tf.signal.stft(x, S["frame_length"], S["frame_step"], S["fft_length"],
                                     window_fn=window_fn, pad_end=True))       # (N, F, K)
    return np.asarray(spectrum if magnitude else spectrum ** 2)


def helper_bank(**settings):
    import tensorflow as tf

    return np.asarray(tf.signal.linear_to_mel_weight_matrix(**settings))


def helper_mfcc(log_mel):
    import tensorflow as tf

    return np.asarray(tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :C])


def log_mel(power, filter_bank, base=None, offset=S["log_offset"]):
    """log(power @ filter bank + offset), float64: natural (or `base`) logarithm. offset=0
    is the mistake of a log without its offset: -inf where a frame has no energy."""
    with np.errstate(divide="ignore"):
        energies = np.log(np.asarray(power, np.float64) @ filter_bank + offset)
    return energies if base is None else energies / np.log(base)


def keras_ctc_loss(labels, logits, label_lengths, frames, blank=0):
    """keras.ops.ctc_loss per sequence, every one of `frames` frames read; the blank is class
    0 (the exercise's), or `blank` (the last class: tf.nn.ctc_greedy_decoder's convention,
    a classic mistake here)."""
    import keras

    return np.asarray(keras.ops.ctc_loss(labels, logits, np.asarray(label_lengths, "int32"),
                                         np.full(len(labels), frames, "int32"),
                                         mask_index=blank))


def keras_word_model(masking=True):
    import keras

    inputs_ = keras.Input((None, C))
    x = keras.layers.Masking(0.0)(inputs_) if masking else inputs_
    return keras.Model(inputs_, keras.layers.Dense(V)(keras.layers.GRU(H)(x)))


def keras_phoneme_model():
    import keras

    inputs_ = keras.Input((recognition.NUM_FRAMES, C))
    recurrent = keras.layers.Bidirectional(keras.layers.LSTM(
        recognition.PHONEME_UNITS, return_sequences=True, use_cudnn=False))
    return keras.Model(inputs_, keras.layers.Dense(P + 1)(recurrent(inputs_)))


def keras_logits(kind, weights, x, masking=True):
    model = keras_word_model(masking) if kind == "word" else keras_phoneme_model()
    return np.asarray(load_weights(model, weights, f"your {kind} model")(x))


def keras_decode(logits, lengths, blank=0):
    """Greedy CTC decoding by keras.ops.ctc_decode, blank 0 (or `blank`, as keras_ctc_loss)."""
    import keras

    dense, _ = keras.ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=blank)
    return [[int(c) for c in row if c >= 0] for row in np.asarray(dense)[0]]


BLANK_LAST = (f"you took the LAST class ({P}) as the CTC blank; the blank is class 0 here "
              "(keras.ops.ctc_loss / ctc_decode's mask_index=0; tf.nn.ctc_greedy_decoder's "
              f"convention is the last class), and phonemes are ids 1 to {P}")


def decode_mistakes(logits, lengths):
    """[(sentence, decoded lists)] of greedy CTC decoding's classic mistakes: blanks dropped
    before repeats are merged, the last class taken as the blank, `lengths` ignored."""
    best = np.argmax(np.asarray(logits), axis=-1)                              # (N, T)

    def decode(path, blank, merge_first=True):
        if not merge_first:
            path = path[path != blank]
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = path[1:] != path[:-1]
        return [int(c) for c in path[keep] if c != blank]

    cut = [path[:int(n)] for path, n in zip(best, lengths)]
    return [
        ("you dropped the blanks before merging repeats: merge repeated classes first, then "
         "drop the blanks (a blank between two equal classes keeps both: t _ t is t t)",
         [decode(path, 0, merge_first=False) for path in cut]),
        (BLANK_LAST, [decode(path, P) for path in cut]),
        ("you decoded every frame: read only the first lengths[n] frames of sequence n",
         [decode(path, 0) for path in best])]


def ctc_loss_mistakes(labels, logits, label_lengths, frames):
    """[(sentence, losses (N,))] of the CTC loss's classic mistakes."""
    full = np.full(len(labels), np.shape(labels)[1])
    return [
        (BLANK_LAST, keras_ctc_loss(labels, logits, label_lengths, frames, blank=P)),
        ("every label row counted as full length: the padding zeros were read as labels; count "
         "only the non-zero labels as the label length",
         keras_ctc_loss(labels, logits, full, frames))]


def word_accuracy(weights, features, words):
    return recognition.word_accuracy(keras_logits("word", weights, features), words)


def phoneme_error_rate(weights, features, phonemes):
    logits = keras_logits("phoneme", weights, features)
    decoded = keras_decode(logits, np.full(len(logits), logits.shape[1], dtype="int32"))
    return recognition.phoneme_error_rate([[int(p) for p in row if p] for row in phonemes],
                                          decoded)


def fixed_weights(kind, seed):
    model = keras_word_model() if kind == "word" else keras_phoneme_model()
    return [inputs.uniform(seed, f"{kind}{i}", np.shape(w), -0.4, 0.4)
            for i, w in enumerate(model.get_weights())]


if __name__ == "__main__":
    save(build())
    print(f"wrote {PATH} ({PATH.stat().st_size // 1024} KiB)")
