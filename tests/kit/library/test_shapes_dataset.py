"""Tests of the shapes captioning data (rnnkit.datasets.shapes) and its tfds builder.

The generator is checked against the scenes it draws (captions describe what was drawn,
relations agree with the positions), the held-out design is checked as a property (no
held-out combination in train or validation, one in every test image, every pair inside
a held-out triple seen in training), and the builder offline (sockets patched to fail),
deterministic, with one-line DataErrors.
"""
import itertools
import socket

import numpy as np
import pytest

from rnnkit.datasets import DataError, load, shapes


def objects_of(caption):
    """[(size, colour, shape), ...] in the order a caption names them."""
    words = caption.split()
    found = []
    for k, word in enumerate(words):
        if word in shapes.SHAPES:
            if k >= 1 and words[k - 1] in shapes.COLOURS:          # "a large red circle"
                found.append((words[k - 2], words[k - 1], word))
            else:                                                 # "a large circle in red"
                found.append((words[k - 1], words[k + 2], word))
    return found


def test_generate_is_deterministic_and_well_formed():
    images, captions = shapes.generate("relations", "train", n=30, seed=3)
    again, captions_again = shapes.generate("relations", "train", n=30, seed=3)
    np.testing.assert_array_equal(images, again)
    assert captions == captions_again
    assert images.shape == (30, shapes.IMAGE_SIZE, shapes.IMAGE_SIZE, 3)
    assert images.dtype == np.uint8
    other, _ = shapes.generate("relations", "train", n=30, seed=4)
    assert not np.array_equal(images, other)
    for options in captions:
        assert len(options) >= 2 and len(set(options)) == len(options)
        for caption in options:
            words = caption.split()
            assert set(words) <= set(shapes.WORDS) and len(words) <= shapes.MAX_WORDS
        assert len({frozenset(objects_of(c)) for c in options}) == 1   # same objects
    counts = [len(objects_of(options[0])) for options in captions]
    assert set(counts) == {1, 2, 3}


def test_single_config_has_three_phrasings_of_one_object():
    _, captions = shapes.generate("single", "validation", n=20)
    for options in captions:
        size, colour, shape = objects_of(options[0])[0]
        assert options == [f"a {size} {colour} {shape}", f"there is a {size} {colour} {shape}",
                           f"a {size} {shape} in {colour}"]


def test_held_out_combinations_stay_out_of_training():
    for config in shapes.CONFIGS:
        for split in ("train", "validation"):
            _, captions = shapes.generate(config, split, n=400)
            assert not any(set(objects_of(o[0])) & shapes.HELD_OUT for o in captions)
        _, captions = shapes.generate(config, "test", n=200)
        assert all(set(objects_of(o[0])) & shapes.HELD_OUT for o in captions)
    # Every pair inside a held-out triple is seen in training: the test asks for composition.
    _, captions = shapes.generate("single", "train")
    seen = {objects_of(o[0])[0] for o in captions}
    assert seen == set(shapes.SEEN)
    for size, colour, shape in shapes.HELD_OUT:
        for pair in ((size, colour, None), (None, colour, shape), (size, None, shape)):
            assert any(all(p is None or p == t for p, t in zip(pair, triple)) for triple in seen)


def test_rendered_objects_show_their_colour_and_size():
    rng = np.random.default_rng(0)
    areas = {}
    for size, colour, shape in itertools.product(shapes.SIZES, shapes.COLOURS, shapes.SHAPES):
        scene = [{"size": size, "colour": colour, "shape": shape, "x": 16.0, "y": 16.0,
                  "axis": "x"}]
        image = shapes.render(scene, rng).astype(float) / 255
        inside = image.max(axis=-1) > 0.4                              # (S, S) object pixels
        mean = image[inside].mean(axis=0)
        nearest = min(shapes.COLOURS,
                      key=lambda c: np.sum((np.array(shapes.COLOURS[c]) - mean) ** 2))
        assert nearest == colour, (size, colour, shape)
        areas[size, colour, shape] = inside.sum()
    for colour, shape in itertools.product(shapes.COLOURS, shapes.SHAPES):
        assert areas["large", colour, shape] > 1.6 * areas["small", colour, shape]


def test_relations_agree_with_positions():
    rng = np.random.default_rng(1)
    for n_objects in (2, 3):
        for _ in range(50):
            scene = shapes.make_scene(rng, n_objects, unseen=False)
            axis = scene[0]["axis"]
            along = [o[axis] for o in scene]
            assert along == sorted(along)                   # reading order
            assert min(np.diff(along)) > 5.0                # clearly apart along the axis
            forward = shapes.RELATIONS[axis][0]
            assert shapes.describe(scene)[0].count(forward) == n_objects - 1


def test_bad_arguments_raise_one_line_data_errors():
    for call in (lambda: shapes.generate("many"), lambda: shapes.generate("single", "dev"),
                 lambda: shapes.generate("single", "train", n=0)):
        with pytest.raises(DataError) as error:
            call()
        assert "\n" not in str(error.value) and isinstance(error.value, ValueError)


# -- the tfds builder -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    original = socket.socket
    socket.socket = no_network                      # any attempt to connect fails loudly
    try:
        first = tmp_path_factory.mktemp("first")
        second = tmp_path_factory.mktemp("second")
        splits = {split: list(load("rnnkit_shapes/single", split, data_dir=first, as_supervised=False))
                  for split in ("train", "validation", "test")}
        again = list(load("rnnkit_shapes/single", "test", data_dir=second, as_supervised=False))
    finally:
        socket.socket = original
    return splits, again, first


def test_builder_splits_and_features(built):
    splits, _, _ = built
    assert {s: len(v) for s, v in splits.items()} == shapes.SPLITS["single"]
    example = splits["test"][0]
    images, captions = shapes.generate("single", "test")
    np.testing.assert_array_equal(example["image"].numpy(), images[0])
    assert [c.decode() for c in example["captions"].numpy()] == captions[0]
    assert int(example["objects"]) == 1


def test_two_builds_are_identical(built):
    splits, again, _ = built
    for a, b in zip(splits["test"], again):
        np.testing.assert_array_equal(a["image"].numpy(), b["image"].numpy())
        np.testing.assert_array_equal(a["captions"].numpy(), b["captions"].numpy())


def test_load_as_supervised_and_bad_names(built):
    _, _, data_dir = built
    image, captions = next(iter(load("rnnkit_shapes/single", "validation", data_dir=data_dir,
                                     as_supervised=True)))
    assert image.shape == (shapes.IMAGE_SIZE, shapes.IMAGE_SIZE, 3) and captions.shape == (3,)
    for name, split in (("rnnkit_nothing", "train"), ("rnnkit_shapes/many", "train"),
                        ("rnnkit_shapes/single", "dev")):
        with pytest.raises(DataError) as error:
            load(name, split, data_dir=data_dir)
        assert "\n" not in str(error.value)
