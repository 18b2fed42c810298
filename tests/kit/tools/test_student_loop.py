"""The student's loop (issue 15): `grade --quick` and `-k`, `pack`, and notebooks.

Kept to ex01, ex02 and ex04's quick checks, so the whole file grades for about a minute."""
import csv
import json
import shutil
import subprocess
import sys
import zipfile

from conftest import KIT_ROOT, grade, run_cli

from rnnkit.notebooks import from_notebook, translate
from rnnkit.tools.notebooks import to_notebook


# -- grade --quick, -k ------------------------------------------------------------------------
def test_quick_grading_skips_exactly_the_training_checks(tmp_path):
    from rnnkit.tools.classroom import check_catalogue

    rows = check_catalogue(["ex04"])          # collected apart, no student code runs
    training = {f"ex04 {row['title']}" for row in rows if row["training"]}
    assert training, "ex04 has training checks, so this test can fail"
    g = grade(KIT_ROOT / "solutions", "ex04", "--quick", tmp=tmp_path)
    assert {t["name"] for t in g.tests} == {f"ex04 {r['title']}" for r in rows} - training
    assert g.score() == g.max_score() > 0
    assert g.document["official"] is False and set(g.document["skipped"]) == training
    table = g.completed.stdout.split("\n\n(")[0].strip().splitlines()
    assert table[-1].startswith(f"QUICK RUN, NOT YOUR GRADE: {len(training)} check(s)"), \
        table[-4:]
    assert all(any(name.split(" ", 1)[1] in line for line in table) for name in training)


def test_k_selects_checks_by_name(tmp_path):
    g = grade(KIT_ROOT / "solutions", "ex02", "-k", "clip", tmp=tmp_path)
    assert g.tests and all("clip" in t["name"].lower() for t in g.tests), \
        [t["name"] for t in g.tests]
    assert "not selected by -k" in g.completed.stdout and g.document["official"] is False
    assert "SELECTED CHECKS ONLY, NOT YOUR GRADE" in g.completed.stdout
    nothing = run_cli("grade", "ex02", "-k", "no_such_check", "--target", KIT_ROOT / "solutions")
    assert nothing.returncode == 2 and nothing.stderr.count("\n") == 1
    assert "selects none of the checks of ex02" in nothing.stderr


# -- pack -------------------------------------------------------------------------------------
def _working_folder(folder):
    """ex02 done, ex01 as released, and the clutter a student's folder gathers."""
    folder.mkdir()
    shutil.copy(KIT_ROOT / "exercises" / "ex01_simple_rnn.py", folder)
    shutil.copy(KIT_ROOT / "solutions" / "ex02_bptt.py", folder)
    shutil.copy(KIT_ROOT / "solutions" / "ex01_simple_rnn.py", folder / "ex01_simple_rnn (1).py")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "ex01_simple_rnn.cpython-311.pyc").write_bytes(b"\0" * 64)
    (folder / "solutions").mkdir()
    shutil.copy(KIT_ROOT / "solutions" / "ex02_bptt.py", folder / "solutions")
    (folder / "runs" / "ex01").mkdir(parents=True)
    (folder / "runs" / "ex01" / "accuracy.png").write_bytes(b"\x89PNG")
    (folder / "notes.txt").write_text("ask about clipping\n")
    return folder


def test_pack_holds_exactly_the_modules_and_grades_like_the_folder(tmp_path):
    folder = _working_folder(tmp_path / "work")
    packed = run_cli("pack", "--target", folder, "--name", "Ada Lovelace", "--out",
                     tmp_path / "out")
    assert packed.returncode == 0, packed.stderr[-2000:]
    assert "Not started: ex01" in packed.stdout and "QUICK RUN, NOT YOUR GRADE" in packed.stdout
    archive = tmp_path / "out" / "Ada_Lovelace-rnnkit.zip"
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.namelist() == ["ex01_simple_rnn.py", "ex02_bptt.py"]
        assert all(bundle.read(n) == (folder / n).read_bytes() for n in bundle.namelist())

    submissions = tmp_path / "class"
    submissions.mkdir()
    shutil.copytree(folder, submissions / "folder")
    shutil.copy(archive, submissions)
    out = tmp_path / "graded"
    completed = run_cli("grade-class", submissions, "--out", out, "--exercises", "ex01", "ex02",
                        "--jobs", "2", timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {row["folder"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"Ada_Lovelace-rnnkit", "folder"}, rows
    scores = [{k: v for k, v in row.items() if k not in ("student", "id", "folder", "graded")}
              for row in rows.values()]
    assert scores[0] == scores[1], rows
    assert rows["folder"]["ex01"] == "0" and rows["folder"]["ex02"] == "18"
    documents = [json.loads((out / "students" / name / "results.json").read_text())
                 for name in ("Ada_Lovelace-rnnkit", "folder")]
    assert [(t["name"], t["score"], t["output"]) for t in documents[0]["tests"]] == \
        [(t["name"], t["score"], t["output"]) for t in documents[1]["tests"]]


def test_pack_refuses_in_one_line(tmp_path):
    empty = run_cli("pack", "--target", tmp_path, "--out", tmp_path / "out")
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1
    assert "nothing to pack" in empty.stderr and not (tmp_path / "out").exists()
    shutil.copy(KIT_ROOT / "exercises" / "ex02_bptt.py", tmp_path)
    (tmp_path / "ex02_bptt.ipynb").write_text(to_notebook("x = 1\n", "ex02_bptt"))
    twice = run_cli("pack", "--target", tmp_path, "--out", tmp_path / "out")
    assert twice.returncode == 2 and "both ex02_bptt.py and ex02_bptt.ipynb" in twice.stderr


# -- notebooks --------------------------------------------------------------------------------
RUN_AS_JUPYTER = """
import contextlib, io, json, sys
path = sys.argv[1]
notebook = json.load(open(path))
namespace = {"__name__": "__main__"}
for count, cell in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile("".join(cell["source"]), f"<cell {count}>", "exec"), namespace)
    cell["execution_count"] = count + 1
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": out.getvalue()}]
json.dump(notebook, open(path, "w"), indent=1)      # saved with its outputs, as Jupyter does
"""


def _filled(notebook, module):
    """The released stub notebook with every code cell as in the solution."""
    stub = json.loads(notebook.read_text())
    solved = json.loads(to_notebook((KIT_ROOT / "solutions" / f"{module}.py").read_text(), module))
    assert len(stub["cells"]) == len(solved["cells"])
    for mine, answer in zip(stub["cells"], solved["cells"]):
        mine["source"] = answer["source"]
    notebook.write_text(json.dumps(stub, indent=1))
    return stub


def test_notebook_round_trip_full_marks_and_magics_cost_only_their_exercise(student_kit,
                                                                           tmp_path):
    notebooks = student_kit / "notebooks"
    assert sorted(p.name for p in notebooks.iterdir()) == sorted(
        p.name.replace(".py", ".ipynb") for p in (student_kit / "exercises").glob("ex*.py"))
    _filled(notebooks / "ex02_bptt.ipynb", "ex02_bptt")
    ran = subprocess.run([sys.executable, "-c", RUN_AS_JUPYTER, "ex02_bptt.ipynb"],
                         cwd=notebooks, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]      # the set-up cell found the kit
    assert "saved runs/ex02/gradient_norms.png" in (notebooks / "ex02_bptt.ipynb").read_text()

    ex01 = _filled(notebooks / "ex01_simple_rnn.ipynb", "ex01_simple_rnn")
    first_code = next(i for i, c in enumerate(ex01["cells"]) if c["cell_type"] == "code" and i)
    ex01["cells"][first_code]["source"].insert(0, "%matplotlib inline\n")
    ex01["cells"].insert(first_code + 1, {"cell_type": "code", "metadata": {}, "outputs": [],
                                          "execution_count": None, "source": ["!pip install numpy"]})
    (notebooks / "ex01_simple_rnn.ipynb").write_text(json.dumps(ex01))

    handed_in = tmp_path / "handed_in"
    handed_in.mkdir()
    for name in ("ex01_simple_rnn.ipynb", "ex02_bptt.ipynb"):
        shutil.copy(notebooks / name, handed_in)
    g = grade(handed_in, "ex01", "ex02", kit=student_kit, tmp=tmp_path)   # recorded references
    assert g.score("ex02") == g.max_score("ex02") > 0, g.outputs("ex02")
    assert g.score("ex01") == 0 and g.kinds("ex01") == {"forbidden"}
    said = g.outputs("ex01")[0]
    assert (f"ex01_simple_rnn.ipynb cell {first_code + 1}, line 1: `%matplotlib inline` is an "
            "IPython magic") in said, said
    assert f"cell {first_code + 2}, line 1: `!pip install numpy` is a shell line" in said, said
    assert "not graded" in g.completed.stdout


def test_feedback_locations_point_into_cells():
    source = "# %%\nimport numpy as np\n\n# %% [markdown]\n# text\n\n# %%\ndef f():\n    x = 1\n" \
             "    raise ValueError('planted')\n"
    converted = from_notebook(to_notebook(source, "ex02_bptt").encode(), "ex02_bptt.ipynb")
    assert not converted.problems
    namespace = {}
    exec(compile(converted.source, "ex02_bptt.py", "exec"), namespace)
    try:
        namespace["f"]()
    except ValueError as error:
        line = error.__traceback__.tb_next.tb_lineno      # the line in the converted module
    said = translate(f"raised at ex02_bptt.py:{line} in f (ex02_bptt.py)",
                     {"ex02_bptt.py": ("ex02_bptt.ipynb", converted)})
    # cell 1 is the set-up cell, 2 the imports, 3 the markdown, 4 the function
    assert said == "raised at ex02_bptt.ipynb cell 4, line 3 in f (ex02_bptt.ipynb)"


def test_only_python_is_refused_never_a_modulo_or_not_equal():
    notebook = json.loads(to_notebook("# %%\nx = (7\n     % 3)\ny = (x\n     != 1)\n", "ex02_bptt"))
    assert not from_notebook(json.dumps(notebook).encode(), "ex02_bptt.ipynb").problems
    broken = from_notebook(b"{not json", "ex02_bptt.ipynb")
    assert broken.problems and "not a notebook Jupyter could open" in broken.problems[0]


def test_an_exercise_handed_in_twice_is_refused_alone(tmp_path):
    from rnnkit.grader.submission import Submission

    shutil.copy(KIT_ROOT / "exercises" / "ex02_bptt.py", tmp_path)
    (tmp_path / "ex02_bptt.ipynb").write_text(to_notebook("x = 1\n", "ex02_bptt"))
    shutil.copy(KIT_ROOT / "exercises" / "ex01_simple_rnn.py", tmp_path)
    submission = Submission(tmp_path)
    try:
        assert list(submission.problems) == ["ex02"]
        assert "both ex02_bptt.py and ex02_bptt.ipynb" in submission.problems["ex02"][0]
        assert sorted(p.name for p in submission.folder.iterdir()) == ["ex01_simple_rnn.py"]
    finally:
        submission.cleanup()


def test_release_check_finds_a_notebook_cell_that_cannot_run_alone(tmp_path):
    from rnnkit.tools.release import notebook_differences

    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "__init__.py").write_text("")
    (tmp_path / "solutions" / "ex02_bptt.py").write_text(
        "# %%\ndef f():\n    x = 1\n# %%\n    return x\n")
    problems = notebook_differences(tmp_path)
    assert len(problems) == 1 and "cell 3 does not run on its own" in problems[0], problems
    (tmp_path / "solutions" / "ex02_bptt.py").write_text("# %%\ndef f():\n    return 1\n")
    assert notebook_differences(tmp_path) == []


def test_the_notebook_importer_never_reaches_the_students_process():
    """rnnkit.notebooks can exec any exercise-named file it finds: a gadget past the source
    scan, so (like pack and the grader) it is not in the code the student's process reads."""
    from rnnkit.grader.snapshot import GraderSnapshot

    snapshot = GraderSnapshot()
    try:
        assert (snapshot.root / "rnnkit" / "course.py").is_file()
        assert not (snapshot.root / "rnnkit" / "notebooks.py").exists()
        assert not (snapshot.root / "rnnkit" / "pack.py").exists()
    finally:
        snapshot.cleanup()


def test_a_packed_zip_keeps_the_name_in_any_alphabet():
    from rnnkit.tools.pack import safe

    assert [safe(n) for n in ("Zoë O'Brien", "Łukasz Müller", "李小龙", "../..", " ")] == \
        ["Zoë_O_Brien", "Łukasz_Müller", "李小龙", "unnamed", "unnamed"]


def test_k_matches_the_words_of_a_check_title_as_the_report_shows_it():
    completed = run_cli("grade", "ex01", "-k", "protocol", "--target", KIT_ROOT / "solutions")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "ex01  vanilla RNN cell      1 / 1  complete" in completed.stdout, completed.stdout
