"""ex08 as another student writes it (a kit test's submission, not a lesson): the encoder's
layers made first and wired after (the decoder and the logits layer where they are used:
Keras draws a layer's initial weights when it is made or built, so a logits layer made
before the decoder is built starts the graded training elsewhere, which the unseen-
combination check did not tolerate when this module was written), the loss from Keras's
sparse cross-entropy with its own mask, its own greedy loop instead of
rnnkit.decoding.generate, BLEU with dicts and math. The given code
(encoder_of, train_captioner) is the kit's. Correct: full marks in the official grade
(tests/kit/exercises/test_ex08_grading.py grades it, then copies with classic mistakes)."""
import math
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import layers, ops

from rnnkit.datasets import shapes
from rnnkit.decoding import PAD, START, STOP, TokenTable

if __package__:
    from .ex03_gated_cells import LSTMCell
else:
    from ex03_gated_cells import LSTMCell

TABLE = TokenTable(shapes.WORDS)
UNITS, EMBED, FILTERS = 64, 16, (16, 32)
MAX_LENGTH = 8
GRADED = {"config": "single", "n_train": 2400, "max_words": 6, "epochs": 6,
          "batch_size": 32, "learning_rate": 1e-2}


def caption_ids(captions, table=TABLE, max_words=GRADED["max_words"]):
    rows = []
    for caption in captions:
        words = caption.split()
        if len(words) > max_words:
            raise ValueError(f"{caption!r}: {len(words)} words > max_words={max_words}")
        row = [START] + [table.ids[w] for w in words] + [STOP]
        rows.append(row + [PAD] * (max_words + 2 - len(row)))
    return np.array(rows, dtype=np.int32).reshape(len(captions), max_words + 2)


def teacher_forcing(sequences):
    seq = ops.cast(ops.convert_to_tensor(sequences), "int32")
    decoder_in = seq[:, :-1]
    decoder_out = seq[:, 1:]
    return decoder_in, decoder_out, ops.greater(decoder_out, 0)


def build_captioner(cell_class, vocab_size=len(TABLE), units=UNITS, embed_dim=EMBED):
    conv1 = layers.Conv2D(FILTERS[0], 3, padding="same", activation="relu", name="conv1")
    conv2 = layers.Conv2D(FILTERS[1], 3, padding="same", activation="relu", name="conv2")
    init_h = layers.Dense(units, activation="tanh", name="init_h")
    init_c = layers.Dense(units, name="init_c")
    embedding = layers.Embedding(vocab_size, embed_dim, name="embedding")

    image_in = keras.Input(shape=(shapes.IMAGE_SIZE, shapes.IMAGE_SIZE, 3), name="images")
    token_in = keras.Input(shape=(None,), dtype="int32", name="tokens")
    pixels = layers.Rescaling(1.0 / 255)(image_in)
    seen = layers.GlobalMaxPooling2D()(conv2(layers.MaxPooling2D(2)(conv1(pixels))))
    decoder = layers.RNN(cell_class(units), return_sequences=True, name="decoder")
    start_state = [init_h(seen), init_c(seen)]
    hidden = decoder(embedding(token_in), initial_state=start_state)
    logits = layers.Dense(vocab_size, name="logits")(hidden)
    return keras.Model(inputs=[image_in, token_in], outputs=logits)


def caption_loss(captioner, images, sequences):
    decoder_in, decoder_out, keep = teacher_forcing(sequences)
    logits = captioner([ops.cast(images, "float32"), decoder_in], training=True)
    per_token = keras.losses.sparse_categorical_crossentropy(decoder_out, logits,
                                                             from_logits=True)
    weight = ops.cast(keep, per_token.dtype)
    return ops.sum(per_token * weight) / ops.maximum(ops.sum(weight), 1.0)


def encoder_of(captioner):
    return keras.Model(captioner.inputs[0], [captioner.get_layer("init_h").output,
                                             captioner.get_layer("init_c").output])


def decoder_step(captioner, token_ids, states):
    x = captioner.get_layer("embedding")(ops.convert_to_tensor(token_ids))
    out, new_states = captioner.get_layer("decoder").cell(x, list(states))
    return captioner.get_layer("logits")(out), list(new_states)


def greedy_choice(logits):
    return ops.convert_to_numpy(ops.argmax(logits, axis=-1))


def greedy_captions(captioner, images, max_length=MAX_LENGTH):
    states = [np.asarray(s) for s in encoder_of(captioner)(np.asarray(images, np.float32))]
    n = len(images)
    token = np.full(n, START, dtype=np.int32)
    alive = np.ones(n, dtype=bool)
    columns = []
    for _ in range(max_length):
        logits, states = decoder_step(captioner, token, states)
        choice = greedy_choice(logits).astype(np.int32)
        columns.append(np.where(alive, choice, PAD))
        alive = alive & (choice != STOP)
        if not alive.any():
            break
        token = choice
    return np.stack(columns, axis=1).astype(np.int32)


def ngrams(tokens, n):
    counts = {}
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i:i + n])
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def corpus_bleu(references, hypotheses, max_n=4):
    if len(references) != len(hypotheses):
        raise ValueError("one list of references per hypothesis")
    clipped, counted = [0] * max_n, [0] * max_n
    c = r = 0
    for refs, hyp in zip(references, hypotheses):
        c += len(hyp)
        r += len(sorted(refs, key=lambda ref: (abs(len(ref) - len(hyp)), len(ref)))[0])
        for n in range(1, max_n + 1):
            most = {}
            for ref in refs:
                for gram, k in ngrams(ref, n).items():
                    most[gram] = max(most.get(gram, 0), k)
            for gram, k in ngrams(hyp, n).items():
                clipped[n - 1] += min(k, most.get(gram, 0))
                counted[n - 1] += k
    if c == 0 or 0 in clipped:
        return 0.0
    log_precision = sum(math.log(clipped[i] / counted[i]) for i in range(max_n)) / max_n
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_precision)


def train_captioner(cell_class, images, sequences, *, epochs=GRADED["epochs"],
                    batch_size=GRADED["batch_size"], learning_rate=GRADED["learning_rate"],
                    units=UNITS, seed=0, verbose=False):
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    captioner = build_captioner(cell_class, len(TABLE), units)
    optimizer = keras.optimizers.Adam(learning_rate)
    images, sequences = np.asarray(images, "float32"), np.asarray(sequences, "int32")

    @tf.function
    def train_step(x, s):
        with tf.GradientTape() as tape:
            loss = caption_loss(captioner, x, s)
        gradients = tape.gradient(loss, captioner.trainable_weights)
        optimizer.apply_gradients(zip(gradients, captioner.trainable_weights))
        return loss

    order_rng, losses = np.random.default_rng(seed), []
    for epoch in range(epochs):
        order = order_rng.permutation(len(images))
        batches = [order[k:k + batch_size]
                   for k in range(0, len(order) - batch_size + 1, batch_size)]
        losses.append(float(np.mean([train_step(images[b], sequences[b]) for b in batches])))
    return captioner, losses
