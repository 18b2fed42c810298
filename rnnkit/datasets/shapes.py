"""Shapes: small rendered images with captions in a small grammar (ex08, image captioning).

Each image (IMAGE_SIZE x IMAGE_SIZE RGB, uint8, black background with a little noise)
holds one to three objects; an object is a size, a colour and a shape:

    sizes   small, large                                (half-width 3 or 5 pixels)    
    colours red, green, blue, yellow, purple, white     (with a little jitter)
    shapes  circle, square, triangle, cross, diamond

Captions follow a small grammar; every image has several correct phrasings:

    one object      a large red circle | there is a large red circle | a large circle in red
    two in a row    a large red circle left of a small blue square
                    a small blue square right of a large red circle   (+ "there is ..." forms)
    two stacked     ... above ... | ... below ...
    three in a row  a X left of a Y left of a Z | a Z right of a Y right of a X
    three stacked   a X above a Y above a Z     | a Z below a Y below a X

Generalisation is measured on combinations never seen in training: the twelve
(size, colour, shape) triples in HELD_OUT (of 60) never appear in the train or validation splits;
every test image holds at least one of them. Each pair inside a held-out triple (large red,
red circle, large circle) does appear in training, so a model that composes what it learned
can describe them.

Configs: "single" (one object per image: the graded configuration) and "relations"
(one to three objects, with the spatial relations). Everything here is NumPy and
deterministic for a given (config, split, seed).
"""
from __future__ import annotations

import zlib

import numpy as np

from rnnkit.datasets import DataError

IMAGE_SIZE = 32
SIZES = {"small": 3.0, "large": 5.0}                   # half-width in pixels
COLOURS = {"red": (0.9, 0.15, 0.1), "green": (0.15, 0.8, 0.2), "blue": (0.15, 0.3, 0.95),
           "yellow": (0.95, 0.85, 0.1), "purple": (0.6, 0.2, 0.8), "white": (0.9, 0.9, 0.9)}
SHAPES = ("circle", "square", "triangle", "cross", "diamond")
HELD_OUT = frozenset({     # two per colour (one small, one large), never both sizes of one
    ("small", "red", "circle"), ("large", "red", "triangle"),        # (colour, shape) pair
    ("large", "green", "square"), ("small", "green", "cross"),
    ("small", "blue", "triangle"), ("large", "blue", "diamond"),
    ("large", "yellow", "cross"), ("small", "yellow", "circle"),
    ("small", "purple", "diamond"), ("large", "purple", "square"),
    ("large", "white", "circle"), ("small", "white", "triangle")})
TRIPLES = tuple((s, c, k) for s in SIZES for c in COLOURS for k in SHAPES)
SEEN = tuple(t for t in TRIPLES if t not in HELD_OUT)
UNSEEN = tuple(t for t in TRIPLES if t in HELD_OUT)

CONFIGS = {"single": (1,), "relations": (1, 2, 3)}     # objects per image
SPLITS = {"single": {"train": 2400, "validation": 240, "test": 240},
          "relations": {"train": 4000, "validation": 400, "test": 400}}
RELATIONS = {"x": ("left of", "right of"), "y": ("above", "below")}
WORDS = ("a", "there", "is", "in", *SIZES, *COLOURS, *SHAPES,
         "left", "right", "of", "above", "below")     # every word a caption can use
MAX_WORDS = 16                                         # three objects in a row


def _rng(config, split, seed):
    return np.random.default_rng([int(seed), zlib.crc32(config.encode()),
                                  zlib.crc32(split.encode())])


def _check(config, split=None):
    if config not in CONFIGS:
        raise DataError(f"unknown shapes config {config!r}; expected one of {sorted(CONFIGS)}")
    if split is not None and split not in SPLITS[config]:
        raise DataError(f"unknown split {split!r}; expected one of {sorted(SPLITS[config])}")


def make_scene(rng, n_objects, unseen):
    """A list of n_objects dicts {size, colour, shape, x, y} laid out in a row or a column,
    in reading order (left to right or top to bottom), with "axis" set on the scene's first
    object. unseen: at least one object is a HELD_OUT triple (else none is)."""
    pool = UNSEEN if unseen else SEEN
    triples = [pool[rng.integers(len(pool))]]
    others = TRIPLES if unseen else SEEN
    while len(triples) < n_objects:
        triple = others[rng.integers(len(others))]
        if triple not in triples:
            triples.append(triple)
    triples = [triples[k] for k in rng.permutation(n_objects)]
    axis = "x" if rng.random() < 0.5 else "y"
    cell = IMAGE_SIZE / n_objects
    scene = []
    for k, (size, colour, shape) in enumerate(triples):
        half = SIZES[size]
        if n_objects == 1:                             # anywhere inside the frame
            along, across = rng.uniform(half + 1, IMAGE_SIZE - half - 1, size=2)
        else:                                          # its own cell along the axis
            jitter = max(cell / 2 - 5.0, 0.0)          # large neighbours barely touch
            along = (k + 0.5) * cell + rng.uniform(-jitter, jitter)
            across = IMAGE_SIZE / 2 + rng.uniform(-3.0, 3.0)
        x, y = (along, across) if axis == "x" else (across, along)
        scene.append({"size": size, "colour": colour, "shape": shape, "x": float(x),
                      "y": float(y)})
    scene[0]["axis"] = axis
    return scene


def render(scene, rng):
    """(IMAGE_SIZE, IMAGE_SIZE, 3) uint8 image of a scene."""
    rows, cols = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] + 0.5    # pixel centres
    image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 0.08)
    for item in scene:
        dx, dy, r = cols - item["x"], rows - item["y"], SIZES[item["size"]]
        inside = {"circle": dx ** 2 + dy ** 2 <= r ** 2,
                  "square": np.maximum(np.abs(dx), np.abs(dy)) <= 0.85 * r,
                  "triangle": (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2),
                  "cross": ((np.abs(dx) <= r) & (np.abs(dy) <= r / 3))
                  | ((np.abs(dy) <= r) & (np.abs(dx) <= r / 3)),
                  "diamond": np.abs(dx) + np.abs(dy) <= 1.1 * r}[item["shape"]]
        colour = np.clip(np.array(COLOURS[item["colour"]]) + rng.uniform(-0.08, 0.08, 3), 0, 1)
        image[inside] = colour
    image += rng.normal(0.0, 0.03, image.shape)
    return (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)


def describe(scene):
    """Every correct caption of a scene (a list of strings, the canonical one first)."""
    phrases = [f"a {o['size']} {o['colour']} {o['shape']}" for o in scene]
    if len(phrases) == 1:
        o = scene[0]
        return [phrases[0], f"there is {phrases[0]}",
                f"a {o['size']} {o['shape']} in {o['colour']}"]
    forward, backward = RELATIONS[scene[0]["axis"]]
    captions = [f" {forward} ".join(phrases), f" {backward} ".join(phrases[::-1])]
    if len(phrases) == 2:
        captions += [f"there is {caption}" for caption in captions]
    return captions


def generate(config="single", split="train", n=None, seed=0):
    """Images and captions of one split: (images (n, S, S, 3) uint8, captions: n lists of
    strings). n defaults to the split's size in SPLITS; the train and validation splits use
    only SEEN triples, the test split puts a HELD_OUT triple in every image."""
    _check(config, split)
    n = SPLITS[config][split] if n is None else n
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise DataError(f"n must be a positive int, received n={n!r}")
    rng = _rng(config, split, seed)
    counts = CONFIGS[config]
    images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    captions = []
    for k in range(n):
        scene = make_scene(rng, counts[k % len(counts)], unseen=split == "test")
        images[k] = render(scene, rng)
        captions.append(describe(scene))
    return images, captions


def pick_captions(captions, seed=0):
    """One caption per image, a phrasing drawn at random (seeded): for training."""
    rng = np.random.default_rng(seed)
    return [options[rng.integers(len(options))] for options in captions]
