"""The grading contract, end to end through `python -m rnnkit grade --json`."""
import json
import shutil

from conftest import KIT_ROOT, copy_solutions_into, grade, run_cli

from rnnkit.course import EXERCISES, is_bonus


def test_solutions_score_every_point(graded_solutions):
    g = graded_solutions
    assert g.max_score() > 0
    lost = [(t["name"], t["output"]) for t in g.tests if t["score"] < t["max_score"]]
    assert not lost
    # the bonus exercise's points (ex10) are a column of their own, outside the score
    bonus = sum(t["max_score"] for t in g.tests if is_bonus(t["tags"][0]))
    assert bonus > 0
    assert g.document["score"] == g.max_score() - bonus
    assert g.document["bonus"]["score"] == g.document["bonus"]["max_score"] == bonus
    assert {t["tags"][0] for t in g.tests} == {e.id for e in EXERCISES}


def test_released_stubs_score_zero_as_not_started(graded_exercises, graded_solutions):
    g = graded_exercises
    assert g.score() == 0
    assert g.max_score() == graded_solutions.max_score()      # nothing dropped
    for exercise in EXERCISES:
        assert g.kinds(exercise.id) == {"not_started"}, g.outputs(exercise.id)
    assert all(o.startswith("not started: ") and "Traceback" not in o
               for e in EXERCISES for o in g.outputs(e.id))
    assert "not started" in g.completed.stdout


def test_results_json_follows_the_gradescope_schema(graded_exercises):
    doc = graded_exercises.document
    assert set(doc) >= {"score", "execution_time", "output", "output_format", "visibility",
                        "stdout_visibility", "tests", "leaderboard"}
    for test in doc["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output",
                             "output_format", "tags", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["name"].split()[0] in {e.id for e in EXERCISES}
    assert len({t["number"] for t in doc["tests"]}) == len(doc["tests"])


def test_student_kit_grades_itself_from_recorded_references(student_kit, graded_solutions,
                                                            tmp_path):
    """No solutions/ anywhere: the recorded references are the reference."""
    copy_solutions_into(student_kit / "exercises")
    g = grade(student_kit / "exercises", kit=student_kit, tmp=tmp_path)
    assert "recorded" in g.completed.stdout
    # what only the official grade checks (ex01's quiz: the kit holds no answer) is listed by
    # the self-check, never run; every other check scores full
    official_only = [t for t in graded_solutions.tests if t["name"].startswith("ex01 Quiz:")]
    assert {t["name"] for t in graded_solutions.tests} - {t["name"] for t in g.tests} == \
        {t["name"] for t in official_only}
    assert "Checked by the official grade only" in g.completed.stdout
    assert g.score() == g.max_score() == graded_solutions.max_score() - sum(
        t["max_score"] for t in official_only), \
        [t["output"] for t in g.tests if t["score"] < t["max_score"]]


def test_student_kit_names_mistakes_from_recorded_variants(student_kit, tmp_path):
    """A mistaken variant's output is computed only when an answer is wrong (Grader.variants),
    except in release's recording: a student kit, which cannot compute it, still names the
    mistake from what release recorded. Two of them: ex08's ids padded to max_length and
    ex05's classifier without its mask."""
    exercises = copy_solutions_into(student_kit / "exercises")
    captioning = exercises / "ex08_captioning.py"
    right = ("    return generate(lambda ids, s: decoder_step(captioner, ids, s), list(states), "
             "START,\n                    STOP, max_length, greedy_choice)\n")
    source = captioning.read_text()
    assert right in source
    captioning.write_text(source.replace(right, "    ids = " + right.strip()[len("return "):]
                                         + "\n    return np.pad(ids, ((0, 0), (0, max_length"
                                         " - ids.shape[1])))\n"))
    sentiment = exercises / "ex05_sentiment.py"
    masked = "mask_zero=True)(ids)  # (N, T, E)"
    source = sentiment.read_text()
    assert masked in source
    sentiment.write_text(source.replace(masked, "mask_zero=False)(ids)  # (N, T, E)", 1))
    g = grade(exercises, "ex05", "ex08", "--quick", "-k", "greedy_decoding or padding",
              kit=student_kit, tmp=tmp_path)
    assert "recorded" in g.completed.stdout
    lost = {t["name"]: t["output"] for t in g.tests if t["score"] < t["max_score"]}
    assert any("right but padded with <pad> to max_length" in output
               for name, output in lost.items() if name.startswith("ex08")), lost
    assert any("equals the same model without a mask" in output
               for name, output in lost.items() if name.startswith("ex05")), lost


def test_broken_module_costs_only_its_own_points(tmp_path, graded_solutions):
    submission = copy_solutions_into(tmp_path / "submission")
    path = submission / "ex01_simple_rnn.py"
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if "def rnn_forward_unrolled" in line)
    lines[number] = lines[number].replace("):", ")")       # a syntax error
    path.write_text("\n".join(lines) + "\n")
    # ex01 and a module that does not import it: graded in one run, the second keeps its
    # points (ex03, which imports ex01, is test_broken_ex01_module_is_replaced_when_grading_ex03;
    # the other exercises took 2.5 minutes here and asserted nothing)
    g = grade(submission, "ex01", "ex02", tmp=tmp_path)
    assert g.score("ex01") == 0 and g.kinds("ex01") == {"import_error"}
    assert all(f"ex01_simple_rnn.py:{number + 1}" in o for o in g.outputs("ex01"))
    assert g.score("ex02") == graded_solutions.max_score("ex02")
    assert "error" in g.completed.stdout


def test_import_time_exception_names_file_and_line(tmp_path):
    submission = copy_solutions_into(tmp_path / "submission")
    path = submission / "ex02_bptt.py"
    path.write_text(path.read_text() + "\nraise RuntimeError('boom at import')\n")
    g = grade(submission, "ex02", tmp=tmp_path)
    assert g.score() == 0
    last_line = len(path.read_text().splitlines())
    assert all("RuntimeError: boom at import" in o and f"ex02_bptt.py:{last_line}" in o
               for o in g.outputs("ex02"))


def test_grader_refuses_bad_requests_with_one_line(tmp_path):
    unknown = run_cli("grade", "ex99")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0 and "valid ids: ex01" in unknown.stderr
    missing = run_cli("grade", "--target", tmp_path / "nowhere")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = run_cli("grade", "--target", tmp_path)
    assert empty.returncode == 2 and "none of the exercise modules" in empty.stderr


def test_pytest_grades_a_folder_directly(tmp_path):
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", str(KIT_ROOT / "tests" / "grading" / "test_ex01.py"),
         "--target", str(KIT_ROOT / "exercises"), "-q", "-k", "contract"],
        cwd=KIT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1           # a stub fails its checks
    assert "rnnkit score" in completed.stdout and "not started" in completed.stdout


def test_unfinished_ex01_does_not_cost_ex03_points(tmp_path, graded_solutions):
    """ex03 imports ex01's SimpleRNNCell; a stub there is replaced by Keras's own cell."""
    submission = copy_solutions_into(tmp_path / "submission")
    shutil.copy(KIT_ROOT / "exercises" / "ex01_simple_rnn.py", submission)   # the released stub
    g = grade(submission, "ex03", tmp=tmp_path)
    assert g.score("ex03") == graded_solutions.max_score("ex03"), g.outputs("ex03")
    assert "keras.layers.SimpleRNNCell stood in" in g.completed.stdout


def test_broken_ex01_module_is_replaced_when_grading_ex03(tmp_path):
    import subprocess
    import sys

    submission = copy_solutions_into(tmp_path / "submission")
    (submission / "ex01_simple_rnn.py").write_text("def broken(:\n")
    out = tmp_path / "ex03.json"
    subprocess.run([sys.executable, "-m", "pytest", str(KIT_ROOT / "tests/grading/test_ex03.py"),
                    "--target", str(submission), "-k", "vanilla or contract",
                    "--rnnkit-json", str(out), "-p", "no:terminal"],
                   cwd=KIT_ROOT, capture_output=True, timeout=600)
    document = json.loads(out.read_text())
    assert document["tests"] and all(t["score"] == t["max_score"] for t in document["tests"])
    assert "ex01_simple_rnn.py could not be imported (SyntaxError" in document["output"]


def test_fit_steps_on_one_model_equal_fresh_models():
    """`cells.fit_steps` traces one train function for every case (seed 0 and the fresh
    seed): each case's weights must be exactly those of a model made for it alone."""
    import keras
    import numpy as np

    from rnnkit.probes import cells

    rng = np.random.default_rng(0)
    cases = [{"x": rng.uniform(-1, 1, (8, 5, 3)).astype("float32"),
              "y": rng.uniform(-1, 1, (8, 2)).astype("float32"),
              "weights": [rng.uniform(-0.5, 0.5, shape).astype("float32")
                          for shape in ((3, 4), (4, 4), (4,), (4, 2), (2,))]}
             for _ in range(3)]
    together = cells.fit_steps(keras.layers.SimpleRNN(4), cases)
    for case, got in zip(cases, together, strict=True):
        alone = cells.fit_steps(keras.layers.SimpleRNN(4), [case])[0]
        assert not np.array_equal(got[0], case["weights"][0])      # the step changed it
        for g, a in zip(got, alone, strict=True):
            np.testing.assert_array_equal(g, a)


def test_a_student_kit_names_a_wrong_cells_mistake(student_kit, tmp_path):
    """The self-check names a wrong cell's classic mistake from the mistaken cells' values that
    release recorded on the public inputs (the fresh-clone review found every wrong cell of a
    student kit losing 19 of 20 points to 'computed by the official grader only'): ex01 without
    its bias, written as a student would, and ex03's LSTM with the input and forget gates
    exchanged. The structural checks are credited, since the values match a named mistake."""
    folder = copy_solutions_into(tmp_path / "work")
    cell = (folder / "ex01_simple_rnn.py").read_text()
    right = ("        h = ops.tanh(ops.matmul(inputs, self.kernel)                    # (N, H)\n"
             "                     + ops.matmul(h_prev, self.recurrent_kernel)\n"
             "                     + self.bias)\n")
    assert cell.count(right) == 1
    (folder / "ex01_simple_rnn.py").write_text(cell.replace(right, (
        "        pre = inputs @ self.kernel + h_prev @ self.recurrent_kernel   # forgot b\n"
        "        h = ops.tanh(pre)\n")))
    lstm = (folder / "ex03_gated_cells.py").read_text()
    right = "a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)"
    assert lstm.count(right) == 1
    (folder / "ex03_gated_cells.py").write_text(lstm.replace(right,
                                                             "a_f, a_i, a_c, a_o = ops.split(a, 4, axis=-1)"))
    g = grade(folder, "ex01", "ex03", kit=student_kit, tmp=tmp_path)
    assert g.document["mode"] == "self-check"
    outputs = [t["output"] for t in g.tests]
    assert not [o for o in outputs if "official grader only" in o], outputs
    assert any("without the bias" in o for o in g.outputs("ex01")), g.outputs("ex01")
    assert any("gate" in o and "LSTMCell" in o for o in g.outputs("ex03")), g.outputs("ex03")
    structure = [t for t in g.tests if t["tags"][0] == "ex01" and any(
        word in t["name"] for word in ("protocol", "Weights are kernel", "parameter count"))]
    assert len(structure) == 3 and all(t["score"] == t["max_score"] for t in structure), \
        [(t["name"], t["output"]) for t in structure]
