# ex05 as another student writes it: set_vocabulary on a layer configured in full, the two
# directions of the RNN written out by hand (go_backwards=True) and joined, the bag of words
# as a Sequential model. Correct (full marks officially); the kit's mistake corpus
# (test_ex05_grading.py) plants one classic mistake at a time in a copy. Only what the grader
# calls is here: the lesson, the plots and main() are the released exercise's.
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402,F401

from rnnkit import sentiment  # noqa: E402
from rnnkit.datasets import reviews  # noqa: E402,F401

from .ex03_gated_cells import LSTMCell  # noqa: E402,F401


def make_vectorizer(vocabulary, sequence_length):
    vectorizer = layers.TextVectorization(standardize="lower_and_strip_punctuation",
                                          split="whitespace", output_mode="int",
                                          output_sequence_length=sequence_length)
    vectorizer.set_vocabulary(list(vocabulary))
    return vectorizer


def build_rnn_classifier(cell_class, vocabulary_size, embedding_dim=sentiment.EMBEDDING_DIM,
                         units=sentiment.UNITS):
    tokens = keras.Input(shape=(None,), dtype="int32")
    vectors = layers.Embedding(input_dim=vocabulary_size, output_dim=embedding_dim,
                               mask_zero=True)(tokens)
    left_to_right = layers.RNN(cell_class(units))(vectors)
    right_to_left = layers.RNN(cell_class(units), go_backwards=True)(vectors)
    both = layers.Concatenate(axis=-1)([left_to_right, right_to_left])
    return keras.Model(tokens, layers.Dense(1, activation="sigmoid")(both))


def build_bag_of_words(vocabulary_size, embedding_dim=sentiment.EMBEDDING_DIM,
                       units=sentiment.UNITS):
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dense(units, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
