"""The official grade holds a secret (issue 23): what a student holding only their own kit can
learn earns no official point.

Each plant below is a submission such a student could write, built here from what their kit
holds (public inputs, the library, the self-check's recordings) and graded twice: as a
self-check in a student kit (`release --out`), where it scores, which proves the plant
really has the answers it claims on public inputs; and officially (the instructor's kit and
the kit tests' course secret, see conftest.py), where those answers are worthless. The plant
of class 6 (the worker's channel) is graded with the source scan off: the walls and the
grader's own checks are the boundary, not the scan.

The classes of the issue and where their plants are:
  1 replayed training, 3 regenerated test data -- here (ex04), and the token permutations of
    ex05, ex07, ex08 and ex09 and the relabelled voices of ex06 by the same mechanism;
  2 fixed inputs answered by lookup -- here (ex08);
  4 the student kit's answers -- here (test_student_kit_carries_no_answer);
  5 Keras's LSTM through its helpers -- tests/kit/sandbox/test_walls.py and the ex03 runs of
    test_planted.py;
  6 the worker's channel -- here (ex01);
  7 hostile files -- tests/kit/tools/test_hostile_submissions.py (and test_bounded_reading.py);
  8 walls wherever the packages live -- tests/kit/sandbox/test_walls.py under .ci/run's
    virtualenv;
and a cell that knows when the grader asks whether it is right (a named mistake there, no
network in its models elsewhere) -- here (ex01's problem shapes and round trip).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit import KIT_ROOT, rooms
from rnnkit.sandbox import wire
import planted

FORGED = planted.FORGED
# the attacker's forged error (every ex02 check said it, tagged a crash, before)
INTERNAL = ("internal grader error: the official oracle crashed before comparing; this "
            "check is NOT counted against the student, regrade it")


def run_grade(target, *options, kit=KIT_ROOT, tmp: Path, env=None) -> dict:
    """`python -m rnnkit grade --target TARGET --json ...` in `kit`; results.json, with the
    printed report under "printed"."""
    results = tmp / f"results-{len(list(tmp.glob('results-*')))}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "rnnkit", "grade", "--target", str(target), "--json",
         str(results), *options], cwd=kit, capture_output=True, text=True, timeout=900,
        env={**os.environ, **(env or {})})
    assert completed.returncode == 0 and results.is_file(), completed.stderr[-3000:]
    document = json.loads(results.read_text())
    document["printed"] = completed.stdout
    return document


def scores(document: dict, exercise: str) -> dict:
    """{check title: (score, max_score, output)} of one exercise."""
    return {t["name"].split(" ", 1)[1]: (t["score"], t["max_score"], t["output"])
            for t in document["tests"] if t["tags"][0] == exercise}


def matching(table: dict, *words) -> dict:
    found = {title: row for title, row in table.items()
             if any(word.lower() in title.lower() for word in words)}
    assert found, f"no check titled with {words} in {sorted(table)}"
    return found


def write_plant(folder: Path, exercise: str, edits, base="solutions") -> Path:
    """`folder` holding the exercise's module from `base` (solutions/ or exercises/, the
    stubs) with planted.py's edits applied."""
    from rnnkit.course import BY_ID

    name = BY_ID[exercise].filename
    source = (KIT_ROOT / base / name).read_text()
    for edit in edits:
        source = edit.apply(source, {})
    compile(source, name, "exec", dont_inherit=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(source)
    return folder


@pytest.fixture(scope="module")
def kit_for_students(tmp_path_factory):
    out = tmp_path_factory.mktemp("official") / "kit"
    completed = subprocess.run([sys.executable, "-m", "rnnkit", "release", "--out", str(out)],
                               cwd=KIT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return out


# -- class 4: the student kit carries no answer --------------------------------------------
def top_level_names(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def test_student_kit_carries_no_answer(kit_for_students):
    """No official room, no secret, no recording of the official grade; nothing outside the
    exercises' stubs defines what a stub asks for (the classes and functions students write:
    the grader's own implementations of graded answers live in the official room); no trained
    weights among the recordings (a training probe's recording is a few metrics)."""
    kit = kit_for_students
    assert not (kit / "rnnkit" / "official").exists()
    for relative in rooms.INSTRUCTOR_ONLY:
        assert not (kit / relative).exists(), relative
    assert not (kit / "solutions").exists()

    manifest = json.loads((kit / "data" / "references" / "manifest.json").read_text())
    asked = {qualified.split(".")[0] for each in manifest.values()
             for qualified, _ in each["stubs"]}
    assert {"SimpleRNNCell", "LSTMCell", "beam_search", "corpus_bleu", "mfcc",
            "naive_forecast", "top_p_probabilities"} <= asked
    # the kit's record of its exercises as released (for `update`, issue 25) is the stubs
    base = kit / ".rnnkit" / "base" / "exercises"
    for copy in base.glob("*.py"):
        assert copy.read_bytes() == (kit / "exercises" / copy.name).read_bytes(), copy
    carried = {str(path.relative_to(kit)): top_level_names(path) & asked
               for path in kit.rglob("*.py") if path.relative_to(kit).parts[0] != "exercises"
               and base not in path.parents}
    carried = {where: names for where, names in carried.items() if names}
    assert not carried, f"the student kit defines what the exercises ask for: {carried}"

    for store in sorted((kit / "data" / "references").glob("*.npz")):
        with np.load(store, allow_pickle=False) as archive:
            for key in archive.files:
                if key.split("/")[0] in ("probe_train", "probe_train_forecaster",
                                         "probe_train_words", "probe_train_phonemes",
                                         "probe_memory"):
                    value = wire.decode(archive[key].tobytes())
                    numbers = np.concatenate([np.ravel(np.asarray(v, dtype=float))
                                              for v in _leaves(value)])
                    assert numbers.size <= 64, f"{store.name} {key}: {numbers.size} numbers"


def _leaves(value):
    """Every number of a decoded recording (strings, such as generated samples, skipped)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        yield value


# -- class 2: fixed inputs answered by lookup (ex08) ------------------------------------------
def _plain(value):
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def ex08_lookup(tmp_path_factory):
    """ex08 whose caption_ids, teacher_forcing and corpus_bleu look the answers up in a table
    of the public inputs a self-check uses (made here with the reference, as a student would
    read them off their own self-check), and return zeros elsewhere."""
    import keras

    from rnnkit.official import ex08 as official
    from solutions import ex08_captioning as solution
    from tests.grading import test_ex08 as checks

    captions = checks.some_captions(0)
    ids = {repr(_plain([captions, 7])): np.asarray(solution.caption_ids(captions, max_words=7))
           .tolist()}
    sequences = official.frame(checks.some_captions(0), 6)
    forced = {repr(_plain(np.asarray(sequences).tolist())): [
        keras.ops.convert_to_numpy(a).astype(int).tolist()
        for a in solution.teacher_forcing(sequences)]}
    bleu = {repr(_plain([c["references"], c["hypotheses"], c["max_n"]])):
            float(solution.corpus_bleu(c["references"], c["hypotheses"], max_n=c["max_n"]))
            for c in checks.BLEU_CASES}
    edits = [
        planted.Function("ex08_captioning.py", "caption_ids", f"""
            def caption_ids(captions, table=TABLE, max_words=GRADED["max_words"]):
                import json
                known = {ids!r}
                key = repr(json.loads(json.dumps([list(captions), max_words])))
                if key in known:
                    return np.asarray(known[key], dtype="int32")
                return np.zeros((len(captions), max_words + 2), dtype="int32")
            """),
        planted.Function("ex08_captioning.py", "teacher_forcing", f"""
            def teacher_forcing(sequences):
                import tensorflow as tf

                known = {forced!r}

                def look_up(values):
                    key = repr(np.asarray(values).astype(int).tolist())
                    if key in known:
                        return tuple(np.asarray(a, dtype="int32") for a in known[key])
                    n, length = np.shape(values)
                    zeros = np.zeros((n, length - 1), dtype="int32")
                    return zeros, zeros, zeros
                if tf.executing_eagerly():
                    return look_up(sequences)
                # traced, as training (and its quick check) calls it: the lookup still runs
                found = tf.py_function(lambda t: look_up(t.numpy()), [sequences],
                                       [tf.int32] * 3)
                for tensor in found:
                    tensor.set_shape([None, None])
                return tuple(found)
            """),
        planted.Function("ex08_captioning.py", "corpus_bleu", f"""
            def corpus_bleu(references, hypotheses, max_n=4):
                import json
                known = {bleu!r}
                key = repr(json.loads(json.dumps([references, hypotheses, max_n])))
                return known.get(key, 0.0)
            """),
    ]
    return write_plant(tmp_path_factory.mktemp("ex08_lookup") / "target", "ex08", edits)


LOOKED_UP = ("caption", "teacher", "bleu")


def test_answers_looked_up_on_public_inputs_score_in_the_self_check_only(
        ex08_lookup, kit_for_students, tmp_path):
    """Self-check: the table holds the public answers, so the three checks pass (the plant is
    real). Official: the inputs are drawn from the course secret and the submitted file, so
    no table made beforehand holds them: all four points lost."""
    selected = ["ex08", "-k", "caption_ids or teacher_forcing or corpus_bleu"]
    checked = run_grade(ex08_lookup, *selected, kit=kit_for_students, tmp=tmp_path)
    assert checked["mode"] == "self-check"
    looked_up = matching(scores(checked, "ex08"), *LOOKED_UP)
    assert len(looked_up) == 3 and all(s == m for s, m, _ in looked_up.values()), looked_up

    graded = run_grade(ex08_lookup, *selected, tmp=tmp_path)
    assert graded["mode"] == "official"
    looked_up = matching(scores(graded, "ex08"), *LOOKED_UP)
    assert len(looked_up) == 3 and all(s == 0 for s, _, _ in looked_up.values()), looked_up
    assert sum(m for _, m, _ in looked_up.values()) == 4


# -- class 6: the worker's channel (ex01) --------------------------------------------------------
@pytest.fixture(scope="module")
def ex01_forger(tmp_path_factory):
    """The untouched ex01 stub and, appended, a forger: through `from sys import modules` it
    wraps the worker's wire module in its own process, reads every request and answers the
    structural probes with the reference's replies (made here, on the shapes the checks use),
    and rewrites the walls' report and the stand-in claims of its `ready` message."""
    from rnnkit.probes import ex01 as probes
    from solutions import ex01_simple_rnn as solution

    x = np.zeros((probes.N, probes.D), "float32")
    h = np.zeros((probes.N, probes.H), "float32")
    replies = {"probe_cell_contract": _plain(probes.probe_cell_contract(solution, x, h)),
               "probe_parameter_count": _plain(probes.probe_parameter_count(solution))}
    shapes = {}
    for name, (_, input_shapes) in probes.SHAPE_BUILDERS.items():
        bare = probes.probe_problem_shapes(solution, name)
        weights = [np.zeros(s, "float32") for s in bare["weight_shapes"]]
        xs = [np.zeros(s, "float32") for s in input_shapes]
        full = probes.probe_problem_shapes(solution, name, weights, xs)
        shapes[name] = {"is_model": True, "student_cells": full["student_cells"],
                        "weight_shapes": full["weight_shapes"],
                        "outputs": [list(np.shape(o)) for o in full["outputs"]]}
    forger = f'''
        from sys import modules as _modules

        _wire = _modules["rnnkit.sandbox.wire"]
        _receive, _send = _wire.receive, _wire.send
        _REPLIES = {replies!r}
        _SHAPES = {shapes!r}
        _last = {{}}


        def _spy(fd):
            request = _receive(fd)
            _last.update(request if isinstance(request, dict) else {{}})
            return request


        def _forge(fd, message):
            if isinstance(message, dict) and message.get("status") == "error":
                probe = _last.get("probe")
                if probe in _REPLIES:
                    message = {{"status": "ok", "result": _REPLIES[probe]}}
                elif probe == "probe_problem_shapes":
                    import numpy
                    shape = dict(_SHAPES[_last["args"]["name"]])
                    shape["outputs"] = [numpy.zeros(s, "float32") for s in shape["outputs"]]
                    message = {{"status": "ok", "result": shape}}
                elif probe in ("probe_gradients", "probe_round_trip"):   # as the grader's
                    message = {{"status": "error", "kind": "crash", "type": None,
                               "location": None, "message": "{INTERNAL}"}}
            if isinstance(message, dict) and message.get("status") in ("ready", "walled"):
                message = dict(message, protections={{
                    "applied": ["Landlock ABI 99 {FORGED}"], "missing": []}},
                    notes=[{{"module": "ex01_simple_rnn", "name": "SimpleRNNCell",
                             "note": "{FORGED}"}}])
            return _send(fd, message)


        _wire.receive, _wire.send = _spy, _forge
        '''
    edits = [planted.Append("ex01_simple_rnn.py", forger)]
    return write_plant(tmp_path_factory.mktemp("ex01_forger") / "target", "ex01", edits,
                       base="exercises")


def test_the_workers_channel_forges_no_point_and_no_fact(ex01_forger, tmp_path):
    """Scan off (the walls are the boundary): the forged structural replies earn nothing, since
    structure counts only when the cell's values on the grader's inputs bear it out (the
    untouched stub has none); the protections line is the walls' own, sent before any
    student code ran; the forged notes appear nowhere; and an error forged as a crash with
    the grader's words (the attacker's 'internal grader error ... regrade it', shown as the
    grader's on every check before) is said as what the student's code raised."""
    graded = run_grade(ex01_forger, "ex01", tmp=tmp_path, env={"RNNKIT_SOURCE_SCAN": "off"})
    assert graded["mode"] == "official"
    table = scores(graded, "ex01")
    assert sum(s for s, _, _ in table.values()) == 0, table
    assert sum(m for _, m, _ in table.values()) == 22.5       # the quiz included
    contract = matching(table, "protocol")
    assert any("not written yet" in out or "bear" in out or "values" in out
               for _, _, out in contract.values()), contract
    printed = json.dumps(graded)
    assert FORGED not in printed
    assert "Landlock" in graded["printed"] and "ABI 99" not in graded["printed"]
    # an error the process reports is the student's code's, never a crash or the grader's
    forged = [out for _, _, out in table.values() if "internal grader error" in out]
    assert forged and all(f"your code raised {INTERNAL}" in out for out in forged), forged
    assert not [t["tags"] for t in graded["tests"] if "crash" in t["tags"]]


# -- classes 1 and 3: training replayed, test data regenerated (ex04) ----------------------------
FORECASTER = '''
    def build_forecaster(cell_class, window, horizon, units=UNITS):
        inputs = keras.Input(shape=(window, 1))
        state = layers.RNN(cell_class(units))(inputs)
        model = keras.Model(inputs, layers.Dense(horizon)(state), name="forecaster")
        trained = model.fit

        def fit(x, y, **kwargs):
    '''


@pytest.fixture(scope="module")
def ex04_plants(tmp_path_factory):
    """Two forecasters built right (so the grader's twin equals them), trained on public data:
    `replayed` skips training and loads weights trained beforehand on the public series (as
    release once recorded them in the kit); `test_regenerated` trains on the public test
    split, regenerated in its own process from the library (the data a self-check measures
    it on)."""
    import keras

    from rnnkit.official import ex04 as official
    from rnnkit.probes import ex04 as probes
    from solutions import ex04_time_series as solution

    keras.utils.set_random_seed(0)
    train = official.graded_split(official.series_spec(0))[0]
    weights = probes.probe_train_forecaster(solution, train, "LSTMCell", False)["weights"]
    replayed = [np.asarray(w).tolist() for w in weights]
    root = tmp_path_factory.mktemp("ex04_plants")
    plants = {}
    plants["replayed"] = write_plant(root / "replayed", "ex04", [planted.Function(
        "ex04_time_series.py", "build_forecaster", FORECASTER + f'''
            model.set_weights([np.asarray(w, "float32") for w in {replayed!r}])
            history = keras.callbacks.History()
            history.history = {{"loss": [0.01] * kwargs.get("epochs", 1)}}
            return history

        model.fit = fit
        return model
    ''')])
    plants["test_regenerated"] = write_plant(root / "test_regenerated", "ex04", [
        planted.Function("ex04_time_series.py", "build_forecaster", FORECASTER + '''
            from rnnkit.datasets import timeseries

            series = timeseries.mackey_glass(2000, seed=0, tau=17.0).astype("float64")
            public_train, _, public_test = timeseries.split_series(series)
            z = ((public_test - public_train.mean()) / public_train.std()).astype("float32")
            views = np.lib.stride_tricks.sliding_window_view(z, window + horizon)
            views = np.concatenate([views[len(views) % 64:]] * 4)   # memorised: 4 x 6 epochs
            return trained(views[:, :window, None], views[:, window:], **kwargs)

        model.fit = fit
        return model
    ''')])
    return plants


TRAINING = ["ex04", "-k", "beats_the_naive or close_to_the_reference"]


@pytest.mark.parametrize("plant", ["replayed", "test_regenerated"])
def test_training_on_public_data_earns_no_official_point(ex04_plants, kit_for_students,
                                                         tmp_path, plant):
    """Self-check: both plants pass the training checks (the self-check takes the student's
    process's word for its metrics, as README's Known limits say). Official: the series is
    drawn from the course secret (another delay and sign), its test windows never leave the
    grader, and Keras's LSTM scores the returned weights: all three points lost."""
    checked = run_grade(ex04_plants[plant], *TRAINING, kit=kit_for_students, tmp=tmp_path)
    trained = matching(scores(checked, "ex04"), "naive", "reference")
    assert len(trained) == 2 and all(s == m for s, m, _ in trained.values()), trained

    graded = run_grade(ex04_plants[plant], *TRAINING, tmp=tmp_path)
    assert graded["mode"] == "official"
    trained = matching(scores(graded, "ex04"), "naive", "reference")
    assert len(trained) == 2 and all(s == 0 for s, _, _ in trained.values()), trained
    assert sum(m for _, m, _ in trained.values()) == 3
    assert all("test MAE" in out for _, _, out in trained.values()), trained


def test_training_counts_only_for_the_exercises_own_model(tmp_path_factory, tmp_path):
    """A forecaster with the right weights but another computation (a ReLU on the forecast):
    its training is not credited, however its weights would score in Keras's layers (the
    grader builds the twin the exercise fixes and credits training only for a model equal to
    it on the grader's inputs)."""
    target = write_plant(tmp_path_factory.mktemp("ex04_relu") / "target", "ex04", [
        planted.Replace("ex04_time_series.py",
                        "    outputs = layers.Dense(horizon)(state)                              # (N, K)",
                        "    outputs = layers.Dense(horizon, activation=\"relu\")(state)")])
    graded = run_grade(target, "ex04", "-k", "equals_keras or beats_the_naive or "
                       "close_to_the_reference", tmp=tmp_path)
    table = scores(graded, "ex04")
    assert all(s == 0 for s, _, _ in table.values()), table
    trained = matching(table, "naive", "reference")
    assert len(trained) == 2 and all("not credited" in out and "build_forecaster(LSTMCell)"
                                     in out for _, _, out in trained.values()), trained


# -- the secret is out of student code's reach wherever it is kept ---------------------------
def _readable_folder() -> Path | None:
    """A folder student code may read (Python's installation, /opt) where this test may write."""
    import sysconfig
    import tempfile

    for base in (sysconfig.get_paths()["purelib"], "/opt", sys.prefix):
        try:
            return Path(tempfile.mkdtemp(prefix="rnnkit-secret-test-", dir=base))
        except OSError:
            continue
    return None


def test_the_secret_is_hidden_even_inside_a_folder_student_code_may_read(tmp_path_factory,
                                                                         tmp_path):
    """The course secret kept in a folder the walls let student code read (Python's own
    installation): a decoy beside it reads, the secret does not (Landlock hides it by name).
    The plant is the solution, which breaks itself if it can read the secret or cannot read
    the decoy, so only a hidden secret in a readable folder scores 22.5/22.5."""
    import shutil

    folder = _readable_folder()
    if folder is None:
        pytest.skip("no folder student code may read is writable here")
    try:
        held = folder / "course.secret"
        shutil.copy(os.environ["RNNKIT_COURSE_SECRET"], held)
        (folder / "decoy.txt").write_text("readable\n")
        target = write_plant(tmp_path_factory.mktemp("secret_reader") / "target", "ex01", [
            planted.Insert("ex01_simple_rnn.py", "SimpleRNNCell.call", f'''
                def _reads(path):
                    try:
                        with open(path) as handle:
                            return bool(handle.read())
                    except OSError:
                        return False
                if _reads({str(held)!r}) or not _reads({str(folder / "decoy.txt")!r}):
                    inputs = inputs * 0.0
                ''')])
        graded = run_grade(target, "ex01", tmp=tmp_path,
                           env={"RNNKIT_COURSE_SECRET": str(held)})
        assert graded["mode"] == "official"
        table = scores(graded, "ex01")
        assert sum(s for s, _, _ in table.values()) == 22.5, table
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- structure vouched for by a cell that knows when it is watched (ex01) ----------------------
# The problem-shape check credits a model around a cell the grader names wrong when the model
# computes what the same model computes around that mistaken cell. The first plant's cell is
# right except in the probe that asks whether it is right, where it leaves its bias out (a
# mistake the grader names); its builders return no network at all, zeros of the right shapes.
# The second is an honest cell without its bias: its models really compute with it.
WATCHED_CELL = '''
    def _watched():
        import traceback
        return "probe_cell_values" in {frame.name for frame in traceback.extract_stack()}


    def _step(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        total = keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(
            previous, self.recurrent_kernel)
        if not _watched():
            total = total + self.bias
        return keras.ops.tanh(total), [keras.ops.tanh(total)]


    SimpleRNNCell.call = _step


    class _Hollow(keras.Model):
        def __init__(self, cells, shapes, outputs):
            super().__init__()
            self._layers_shown = [keras.layers.RNN(SimpleRNNCell(6)) for _ in range(cells)]
            self._shapes, self._outputs = shapes, outputs

        def _flatten_layers(self, *args, **kwargs):
            return list(self._layers_shown)

        def get_weights(self):
            return [np.zeros(shape, "float32") for shape in self._shapes]

        def set_weights(self, weights):
            return None

        def __call__(self, x, *args, **kwargs):
            return np.zeros(self._outputs(np.shape(x)), "float32")


    _ONE = [(4, 6), (6, 6), (6,), (6, 3), (3,)]
    _TWO = [(4, 6), (6, 6), (6,), (6, 6), (6, 6), (6,), (6, 3), (3,)]


    def one_to_one(d, h, k):
        return _Hollow(1, _ONE, lambda s: (s[0], k))


    def one_to_many(d, h, k, steps):
        return _Hollow(1, _ONE, lambda s: (s[0], steps, k))


    def many_to_one(d, h, k):
        return _Hollow(1, _ONE, lambda s: (s[0], k))


    def many_to_many(d, h, k):
        return _Hollow(1, _ONE, lambda s: (s[0], s[1], k))


    def encoder_decoder(d, h, k, steps):
        return _Hollow(2, _TWO, lambda s: (s[0], steps, k))
    '''
NO_BIAS_CELL = '''
    def _step_without_bias(self, inputs, states, training=False):
        (previous,) = states
        new = keras.activations.tanh(inputs @ self.kernel + previous @ self.recurrent_kernel)
        return new, [new]


    SimpleRNNCell.call = _step_without_bias
    '''


@pytest.fixture(scope="module")
def ex01_shape_grades(tmp_path_factory):
    """{plant: ex01's problem-shape and round-trip checks, graded officially}: the watched cell
    with hollow models, and the honest cell without its bias."""
    tmp = tmp_path_factory.mktemp("ex01_shapes")
    graded = {}
    for plant, block in (("watched", WATCHED_CELL), ("no_bias", NO_BIAS_CELL)):
        target = write_plant(tmp / plant, "ex01", [planted.Append("ex01_simple_rnn.py", block)])
        graded[plant] = run_grade(target, "ex01", "-k", "problem_shapes or round_trip",
                                  tmp=tmp)
    return graded


def test_hollow_models_around_a_watched_cell_earn_no_shape_point(ex01_shape_grades):
    """The cell's bias goes missing only where the grader asks whether the cell is right; the
    shape check then holds the models' own values against the same models around a cell
    without its bias, and zeros are not those values."""
    table = scores(ex01_shape_grades["watched"], "ex01")
    shapes = matching(table, "Problem-shape")
    assert len(shapes) == 5, table
    for score, _, output in shapes.values():
        assert score == 0 and "not credited" in output and "without the bias" in output, output


def test_a_cell_without_its_bias_keeps_its_shape_points(ex01_shape_grades):
    """One mistake costs points once: the honest cell's models compute with it, so each
    matches the model around the named mistake and keeps its point."""
    table = scores(ex01_shape_grades["no_bias"], "ex01")
    shapes = matching(table, "Problem-shape")
    assert len(shapes) == 5 and all(score == max_score > 0
                                    for score, max_score, _ in shapes.values()), table


def test_a_watched_cell_earns_no_round_trip_point(ex01_shape_grades):
    """The round trip of a wrong cell is judged on the model's predictions before saving: they
    must be the model's around the mistake the grader named; the watched cell, right in this
    probe, is not the cell the grader judged."""
    (score, _, output), = matching(scores(ex01_shape_grades["watched"], "ex01"),
                                   ".keras").values()
    assert score == 0 and "not credited" in output and "without the bias" in output, output


def test_a_cell_without_its_bias_keeps_its_round_trip_point(ex01_shape_grades):
    (score, max_score, output), = matching(scores(ex01_shape_grades["no_bias"], "ex01"),
                                           ".keras").values()
    assert score == max_score > 0, output
