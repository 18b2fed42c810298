"""Probes of ex06 (speech): run in the student's process, return plain data.

Each feature stage gets the grader's inputs (its own power spectrogram, filter bank and log
mel energies), so one wrong stage costs only its own check. The training probes receive
features computed by the grader, train the student's model with the kit's recipe
(`rnnkit.recognition`) and return the weights; the grader scores them on held-out speakers
whose features and labels never come here.
"""
import numpy as np

from rnnkit.probes import cells
from rnnkit.probes.graph import in_graph


def probe_frames(module, waveforms):
    return np.asarray(module.frame_signal(waveforms))


def probe_power(module, waveforms):
    return np.asarray(module.power_spectrogram(waveforms))


def probe_filter_bank(module, **settings):
    return np.asarray(module.mel_filter_bank(**settings))


def probe_log_mel(module, power, filter_bank):
    return np.asarray(module.log_mel_spectrogram(power, filter_bank))


def probe_mfcc(module, log_mel):
    return np.asarray(module.mfcc(log_mel))


def probe_ctc_loss(module, labels, logits):
    return np.asarray(module.ctc_loss(labels, logits))


def probe_ctc_loss_in_graph(module, labels, logits):
    """ctc_loss as fit calls it (train_phoneme_model compiles it as the loss): inside a
    tf.function, the labels cast to float32 by Keras, the logits float32."""
    return in_graph(module.ctc_loss, labels, logits, dtypes=["float32", "float32"])


def probe_decode(module, logits, lengths=None):
    decoded = module.ctc_greedy_decode(logits, lengths)
    return [[int(c) for c in path] for path in decoded]


def probe_word_logits(module, weights, x, stand_in=False):
    """The student's word model (with the given cell) loaded with `weights`, on x."""
    model = module.build_word_model(cells.cell_class(module, "GRUCell", stand_in))
    model.set_weights(weights)
    return np.asarray(model(x))


def probe_phoneme_logits(module, weights, x, stand_in=False):
    model = module.build_phoneme_model(cells.cell_class(module, "LSTMCell", stand_in))
    model.set_weights(weights)
    return np.asarray(model(x))


def probe_train_words(module, features, words, stand_in=False, held_out=None):
    """Build the student's word model and train it with the kit's recipe; return weights.
    With `held_out` = (features, words) (a self-check: the public test speakers), return
    instead the trained model's word accuracy on them (recordings hold no weights)."""
    from rnnkit import recognition

    model = module.build_word_model(cells.cell_class(module, "GRUCell", stand_in))
    recognition.train_word_model(model, features, words)
    if held_out is None:
        return [np.asarray(w) for w in model.get_weights()]
    return recognition.word_accuracy(np.asarray(model(np.asarray(held_out[0]))), held_out[1])


def probe_train_phonemes(module, features, labels, stand_in=False, held_out=None):
    """Build the student's CTC model and train it with the kit's recipe and Keras's own CTC
    loss (so the student's ctc_loss is graded once, by its own check); return weights. With
    `held_out` = (features, phonemes) (a self-check), return instead the trained model's
    phoneme error rate on them, decoded greedily by keras.ops.ctc_decode."""
    import keras

    from rnnkit import recognition

    model = module.build_phoneme_model(cells.cell_class(module, "LSTMCell", stand_in))
    recognition.train_phoneme_model(model, features, labels, keras.losses.ctc)
    if held_out is None:
        return [np.asarray(w) for w in model.get_weights()]
    logits = np.asarray(model(np.asarray(held_out[0])))
    lengths = np.full(len(logits), logits.shape[1], dtype="int32")
    dense, _ = keras.ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=0)
    decoded = [[int(c) for c in row if c >= 0] for row in np.asarray(dense)[0]]
    return recognition.phoneme_error_rate([[int(p) for p in row if p] for row in held_out[1]],
                                          decoded)
