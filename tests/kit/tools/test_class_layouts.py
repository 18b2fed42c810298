"""grade-class on a class folder as LMSs deliver it (issue 14): Canvas's flat files, Moodle's
folders (one holding a macOS zip), a folder or zip per student, renamed and upper-case files,
CRLF and a byte-order mark, names in any alphabet and names that collide — each student with
the exact gradebook row, and every top-level entry that is no submission listed, not dropped.

The layout logic is proved without grading; one `grade-class --exercises ex02` run (ex02's
checks take about a second a student) proves the rows and the reports."""
import csv
import json
import re
import unicodedata

import pytest
from conftest import run_cli, zip_bytes

from rnnkit import KIT_ROOT
from rnnkit.tools import classbook, classroom
from rnnkit.tools.classroom import discover, find_modules, folder_name, submitted_files, unique_names
from rnnkit.grader.results import CheckResult, readable, render_table
from rnnkit.sandbox import worker

SOLVED = (KIT_ROOT / "solutions" / "ex02_bptt.py").read_text()
STUB = (KIT_ROOT / "exercises" / "ex02_bptt.py").read_text()
TABBED = SOLVED + "\n\ndef _helper():\n    x = 1\n\treturn x\n"     # a TabError on its last line
TAB_LINE = len(TABBED.splitlines())


def _mac_zip(members) -> bytes:
    """A zip as macOS's Finder makes it: resource forks under __MACOSX/ and .DS_Store files."""
    clutter = [("__MACOSX/hw/._ex02_bptt.py", b"\x00\x05\x16\x07"), ("hw/.DS_Store", b"\x00")]
    return zip_bytes(list(members) + clutter)


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)


def build_class(root):
    """The class folder; returns the gradebook rows it must produce (ex02 graded, 18 points)."""
    windows = ("\ufeff" + SOLVED).replace("\n", "\r\n").encode()          # BOM and CRLF
    moodle = root / "Judy Müller-Łukasz_1001_assignsubmission_file_"
    _write(moodle / "submission.zip", _mac_zip([("hw/rnn/ex02_bptt.py", windows)]))
    _write(root / "Judy Müller-Łukasz_1001_assignsubmission_onlinetext_" / "onlinetext.html",
           "hi")
    _write(root / "smithjohn_2002_3003_ex02_bptt (1).py", SOLVED)             # Canvas, renamed
    _write(root / "smithjohn_2002_3004_notes.txt", "see my code")
    _write(root / "leeann_LATE_2003_3005_EX02_BPTT.PY", SOLVED)              # Canvas, late
    _write(root / "Zoë.zip", zip_bytes([("exercises/ex02_bptt.py", STUB)]))      # the released stub
    _write(root / "Zoé" / "my work" / "ex02_bptt.py", TABBED)
    nfd = unicodedata.normalize("NFD", "Zoé")                                 # macOS spelling
    _write(root / f"{nfd}.zip", zip_bytes([("report.pdf", b"%PDF"), ("homework.py", "x = 1\n")]))
    _write(root / "Bob" / "ex01_simple_rnn.py", "x = 1\n")
    _write(root / "Bob" / "bptt_homework.py", SOLVED)
    _write(root / "Carl" / "ex02_bptt (1).py", SOLVED)
    _write(root / "Carl" / "ex02_bptt (2).py", SOLVED)
    _write(root / "ex02_bptt.py", SOLVED)                                     # whose is it?
    _write(root / "grades.xlsx", b"PK")
    _write(root / ".DS_Store", b"\x00")
    _write(root / "__MACOSX" / "._Zoë.zip", b"\x00")

    def row(student, id_, folder, points, notes=""):
        total = "" if points is None else f"{points:g}"
        return {"student": student, "id": id_, "folder": folder, "ex02": total, "total": total,
                "max": "" if points is None else "18", "notes": notes}

    unknown = ("not graded: not recognised as a submission (a folder or .zip per student, or an "
               "LMS file)")
    return [
        row("Bob", "", "Bob", 0, "ex02: missing; unrecognised: bptt_homework.py"),
        row("Carl", "", "Carl", 0, "ex02: missing; ex02: several files could be ex02_bptt: "
            "ex02_bptt (1).py, ex02_bptt (2).py; none was graded (rename the one to grade)"),
        row("Judy Müller-Łukasz", "1001", "Judy_Müller-Łukasz", 18),
        row("leeann", "2003", "leeann", 18, "handed in late; ex02: graded EX02_BPTT.PY as "
            "ex02_bptt.py"),
        row("smithjohn", "2002", "smithjohn", 18, "ex02: graded ex02_bptt (1).py as ex02_bptt.py"),
        # sorted as the folder lists them, the zip's decomposed é (macOS) comes first
        row("Zoé", "", "Zoé", 0, "no exercise module found (it holds homework.py, report.pdf)"),
        row("Zoé", "", "Zoé-2", 0, "ex02: import error"),
        row("Zoë", "", "Zoë", 0, "ex02: not started"),
        {**row("ex02_bptt.py", "", "", None, unknown), "ex02": "", "total": ""},
        {**row("grades.xlsx", "", "", None, unknown), "ex02": "", "total": ""},
    ]


# -- the layouts, without grading ---------------------------------------------------------------
def test_discover_groups_by_student_and_lists_what_it_does_not_know(tmp_path):
    build_class(tmp_path)
    students, unrecognised = discover(tmp_path)
    found = sorted((s.name, s.lms_id, sorted(shown for shown, _ in s.sources)) for s in students)
    assert found == [
        ("Bob", "", [""]), ("Carl", "", [""]),
        ("Judy Müller-Łukasz", "1001", ["", ""]),              # both Moodle folders: one student
        ("Zoé", "", [""]), ("Zoé", "", [""]), ("Zoë", "", [""]),  # a Zoé folder and a Zoé zip
        ("leeann", "2003", ["EX02_BPTT.PY"]),
        ("smithjohn", "2002", ["ex02_bptt (1).py", "notes.txt"])]
    assert unrecognised == ["ex02_bptt.py", "grades.xlsx"]
    assert [s.notes for s in students if s.name == "leeann"] == [["handed in late"]]


def test_files_are_shown_as_handed_in_and_clutter_is_ignored(tmp_path):
    build_class(tmp_path / "class")
    students, _ = discover(tmp_path / "class")
    judy = next(s for s in students if s.lms_id == "1001")
    files = submitted_files(judy.sources, tmp_path / "scratch")
    assert [shown for shown, _ in files] == ["submission.zip/hw/rnn/ex02_bptt.py",
                                             "onlinetext.html"]
    chosen, notes = find_modules(files)
    assert {k: v[0] for k, v in chosen.items()} == {"ex02": "submission.zip/hw/rnn/ex02_bptt.py"}
    assert notes == []


@pytest.mark.parametrize("names, graded, notes", [
    (["ex01_simple_rnn (1).py"], "ex01_simple_rnn (1).py",
     ["ex01: graded ex01_simple_rnn (1).py as ex01_simple_rnn.py"]),
    (["EX01_SIMPLE_RNN.PY"], "EX01_SIMPLE_RNN.PY",
     ["ex01: graded EX01_SIMPLE_RNN.PY as ex01_simple_rnn.py"]),
    (["ex01_simple_rnn-1.py"], "ex01_simple_rnn-1.py",                   # Canvas's resubmission
     ["ex01: graded ex01_simple_rnn-1.py as ex01_simple_rnn.py"]),
    (["Ex01_Simple_RNN (2).ipynb"], "Ex01_Simple_RNN (2).ipynb",         # a notebook stays one
     ["ex01: graded Ex01_Simple_RNN (2).ipynb as ex01_simple_rnn.ipynb"]),
    (["ex01_simple_rnn.py", "ex01_simple_rnn (1).py"], "ex01_simple_rnn.py", []),
    (["ex01_simple_rnn.ipynb", "ex01_simple_rnn.py"], "ex01_simple_rnn.py", []),
    (["Ex01_simple_rnn.IPYNB", "EX01_SIMPLE_RNN.PY"], "EX01_SIMPLE_RNN.PY",
     ["ex01: graded EX01_SIMPLE_RNN.PY as ex01_simple_rnn.py"]),
    (["ex01_simple_rnn (1).py", "EX01_SIMPLE_RNN.py"], "EX01_SIMPLE_RNN.py",
     ["ex01: graded EX01_SIMPLE_RNN.py as ex01_simple_rnn.py"]),       # case beats a copy
    (["ex01_simple_rnn (1).py", "ex01_simple_rnn (2).py"], None,
     [("ex01: several files could be ex01_simple_rnn: ex01_simple_rnn (1).py, "
       "ex01_simple_rnn (2).py; none was graded (rename the one to grade)")]),
    (["ex01_simple_rnn_old.py", "ex1.py"], None, []),
])
def test_renamed_modules_are_matched_only_when_unambiguous(tmp_path, names, graded, notes):
    files = [(name, tmp_path / name) for name in names]
    chosen, found_notes = find_modules(files)
    assert (chosen["ex01"][0] if "ex01" in chosen else None) == graded
    assert found_notes == notes


def test_the_folder_with_most_modules_wins_and_exercises_breaks_ties(tmp_path):
    files = [(shown, tmp_path) for shown in (
        "kit/drafts/ex02_bptt.py", "kit/exercises/ex02_bptt.py", "old/ex01_simple_rnn.py",
        "old/ex02_bptt.py", "new/ex01_simple_rnn.py", "new/ex02_bptt.py",
        "new/ex03_gated_cells.py", "EX04_TIME_SERIES (1).py")]
    chosen, notes = find_modules(files)
    assert notes == ["ex04: graded EX04_TIME_SERIES (1).py as ex04_time_series.py"]
    assert {k: v[0] for k, v in chosen.items()} == {
        "ex01": "new/ex01_simple_rnn.py", "ex02": "new/ex02_bptt.py",
        "ex03": "new/ex03_gated_cells.py", "ex04": "EX04_TIME_SERIES (1).py"}
    chosen, _ = find_modules(files[:2])
    assert chosen["ex02"][0] == "kit/exercises/ex02_bptt.py"


def test_folder_names_are_safe_and_unique_and_keep_their_letters():
    names = ["Judy Müller-Łukasz", "Zoë", "Zoé", unicodedata.normalize("NFD", "Zoé"),
             "../../etc", "..", "", "a/b\\c", "ZOË", "Bob_Smith", "Bob Smith"]
    folders = unique_names([folder_name(n) for n in names])
    assert folders == ["Judy_Müller-Łukasz", "Zoë", "Zoé", "Zoé-2", "etc", "unnamed",
                       "unnamed-2", "a_b_c", "ZOË-2", "Bob_Smith", "Bob_Smith-2"]


# -- the report's words ------------------------------------------------------------------------
def test_a_tab_error_shows_where_the_tab_is(tmp_path):
    with pytest.raises(TabError) as caught:
        compile(TABBED, str(tmp_path / "ex02_bptt.py"), "exec")
    assert worker._location(caught.value, str(tmp_path)) == \
        f"ex02_bptt.py:{TAB_LINE}: \\treturn x"


def test_internal_module_names_never_reach_the_report():
    note = ("ex01_simple_rnn.py could not be imported (ModuleNotFoundError: No module named "
            "'target.ex01_simple_rnn'); Keras's built-in layers stood in for it")
    assert readable(note) == ("ex01_simple_rnn.py is not in the submission; Keras's built-in "
                              "layers stood in for it")
    assert readable("the module could not be imported: ModuleNotFoundError: No module named "
                    "'target.ex03_gated_cells'") == ("the module could not be imported: "
                                                     "ModuleNotFoundError: ex03_gated_cells.py "
                                                     "is not in the submission")


def test_a_missing_exercise_is_one_line_not_one_per_check():
    """(Also an import error: every check of the exercise would say the same.)"""
    missing = [CheckResult("ex02", f"test_{i}", f"check {i}", 2, 0,
                           "missing: ex02_bptt.py is not in the submission", "missing")
               for i in range(9)]
    wrong = [CheckResult("ex01", "test_a", "check a", 1, 0, "output differs", "failed")]
    feedback = render_table(wrong + missing).split("Feedback")[1].splitlines()[1:]
    assert feedback == [
        ("- ex02 backpropagation through time [0/18, all 9 checks]: missing: ex02_bptt.py is not "
         "in the submission"), "- ex01 check a [0/1]: output differs"]


# -- one class, graded ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    submissions, out = root / "submissions", root / "out"
    expected = build_class(submissions)
    completed = run_cli("grade-class", submissions, "--out", out, "--exercises", "ex02",
                        "--jobs", "2", timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return out, expected, completed.stdout


def test_every_student_gets_the_exact_row_and_nothing_is_dropped(graded):
    out, expected, _ = graded
    raw = (out / "gradebook.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfstudent,id,folder,ex02,total,max,notes,graded\r\n")
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    # when each row was graded (a minute of this run); nothing for an entry not graded
    graded = [row.pop("graded") for row in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when) if row["folder"] else when == ""
               for row, when in zip(rows, graded)), graded
    assert rows == expected, "\n".join(f"got {g}\nexp {e}" for g, e in zip(rows, expected)
                                       if g != e)


def test_the_summary_names_what_was_not_graded(graded):
    _, _, stdout = graded
    assert "graded 8 submissions" in stdout
    assert ("not recognised, so not graded (2, listed in the gradebook): ex02_bptt.py, "
            "grades.xlsx") in stdout


def test_reports_show_the_files_as_handed_in(graded):
    out, _, _ = graded
    everything = "".join(path.read_text(encoding="utf-8") for path in
                         (out / "students").rglob("*") if path.is_file())
    assert "rnnkit-submission-" not in everything
    assert "'target." not in everything
    tabbed = json.loads((out / "students" / "Zoé-2" / "results.json").read_text())
    assert {t["output"] for t in tabbed["tests"]} == {
        ("the module could not be imported: TabError: inconsistent use of tabs and spaces in "
         f"indentation (my work/ex02_bptt.py, line {TAB_LINE}) at my work/ex02_bptt.py:"
         f"{TAB_LINE}: \\treturn x")}
    report = (out / "students" / "smithjohn" / "report.txt").read_text(encoding="utf-8")
    assert report.startswith("Official grade of the submission (course secret ")
    bob = (out / "students" / "Bob" / "results.json").read_text()
    assert json.loads(bob)["output"].startswith("unrecognised: bptt_homework.py\n")
    feedback = json.loads(bob)["output"].split("Feedback")[1].splitlines()[1:]
    assert feedback[0] == ("- ex02 backpropagation through time [0/18, all 11 checks]: missing: "
                           "ex02_bptt.py is not in the submission")
    assert feedback[1:] == ["", feedback[-1]] and feedback[-1].startswith("Graded: ")
    report = (out / "students" / "Zoé-2" / "report.txt").read_text(encoding="utf-8")
    feedback = report.split("Feedback")[1].strip().splitlines()[1:]
    assert feedback[0].startswith("- ex02 backpropagation through time [0/18, all 11 checks]: "
                                  "the module could not be imported: TabError") and \
        feedback[1:] == ["", report.strip().splitlines()[-1]], feedback


def test_a_folder_without_submissions_is_one_line_naming_what_it_holds(tmp_path):
    (tmp_path / "grades.xlsx").write_bytes(b"PK")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    completed = run_cli("grade-class", tmp_path, "--out", tmp_path / "out", timeout=120)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.strip().splitlines() == [
        (f"rnnkit grade-class: {tmp_path} holds no submission: grades.xlsx is not (a folder or "
         ".zip per student, or an LMS download: Canvas, Moodle)")]


def test_a_flat_lms_zip_is_read_as_a_folder_of_its_name(tmp_path):
    """Canvas delivers what `pack` wrote as a flat file named for the student: its members are
    the submission (shown under the zip's name), not names glued to it."""
    flat = tmp_path / "obrienzoe_777_888_Zo_O_Brien-hw1.zip"
    flat.write_bytes(zip_bytes([("ex02_bptt.py", "x = 1\n")]))
    (tmp_path / "scratch").mkdir()
    files = submitted_files([(flat.name, flat)], tmp_path / "scratch")
    assert [shown for shown, _ in files] == [f"{flat.name}/ex02_bptt.py"]
    chosen, notes = find_modules(files)
    assert list(chosen) == ["ex02"] and notes == []


def test_a_whole_kit_zipped_is_graded_from_the_worked_notebook_not_the_stub(tmp_path):
    """A student who zipped the whole student kit hands in exercises/ (the untouched stubs)
    beside notebooks/ (the work): the work is graded, and the notes say which file."""
    from rnnkit.course import BY_ID
    from rnnkit.tools import notebooks

    kit = tmp_path / "kit"
    for exercise in (BY_ID["ex01"], BY_ID["ex02"]):
        stub = (KIT_ROOT / "exercises" / exercise.filename).read_text()
        (kit / "exercises").mkdir(parents=True, exist_ok=True)
        (kit / "notebooks").mkdir(exist_ok=True)
        (kit / "exercises" / exercise.filename).write_text(stub)
        (kit / "notebooks" / exercise.notebook).write_text(
            notebooks.to_notebook(stub, exercise.module))
    worked = (KIT_ROOT / "solutions" / "ex02_bptt.py").read_text()
    (kit / "notebooks" / "ex02_bptt.ipynb").write_text(notebooks.to_notebook(worked, "ex02_bptt"))
    chosen, notes = find_modules(submitted_files([("", kit)], tmp_path))
    assert chosen["ex02"][0] == "notebooks/ex02_bptt.ipynb"
    assert chosen["ex01"][0] == "exercises/ex01_simple_rnn.py"      # both stubs: as before
    assert notes == ["ex02: graded notebooks/ex02_bptt.ipynb, not the unchanged stub "
                     "exercises/ex02_bptt.py"]


def test_a_rerun_keeps_the_rows_of_students_not_in_it(tmp_path):
    """Re-grading into the same --out after a submission left the class merges (issue 25): the
    student no longer in it keeps their folder, results and row, and the run names them.
    Submissions without an exercise module are graded without starting the grader, so this
    is fast. (tests/kit/tools/test_term.py proves the merge row by row on graded work.)"""
    from rnnkit.tools.classroom import grade_class

    submissions, out = tmp_path / "class", tmp_path / "out"
    for name in ("ada", "bob"):
        (submissions / name).mkdir(parents=True)
        (submissions / name / "notes.txt").write_text("no code yet")
    said = []
    first = grade_class(submissions, out, exercise_ids=["ex01"], echo=said.append)
    assert not any("kept from earlier runs" in line for line in said), said
    (submissions / "bob" / "notes.txt").unlink()
    (submissions / "bob").rmdir()
    said.clear()
    rows = grade_class(submissions, out, exercise_ids=["ex01"], echo=said.append)
    assert [row["student"] for row in rows] == ["ada", "bob"]
    assert rows[1] == first[1]                                          # bob's row as it was
    assert (out / "students" / "bob" / "results.json").is_file()        # kept
    assert any(line.startswith("kept from earlier runs (1, not in this class folder): bob "
                               "(graded ") for line in said), said


def test_a_name_cannot_forge_a_line_on_the_instructors_screen():
    forged = 'zz",=HYPERLINK("x")\nzz_fake,,zz,20,20,20,forged\x1b[2J\r'
    shown = classroom.printable(f"[1/2] {forged}: 0 / 20 (1 s)")
    assert shown.isprintable() and "\n" not in shown and "\x1b" not in shown
    assert "zz_fake,,zz,20,20,20,forged" in shown and "\\n" in shown and "\\x1b" in shown
    assert classroom.printable("Zoë Müller-Łukasz 田中") == "Zoë Müller-Łukasz 田中"


def test_a_name_a_student_chose_cannot_forge_lines_of_the_report(tmp_path):
    """A zip's folder may hold a newline: the report names the file escaped, on one line."""
    forged = "x\nex01  vanilla RNN cell  20 / 20  complete\ntotal  20 / 20\n/ex01_simple_rnn.py"
    shown = {"ex01_simple_rnn.py": forged}
    text = "- ex01 [1/20]: NameError in call (ex01_simple_rnn.py, line 3)"
    rewritten = classroom._as_handed_in(text, shown, tmp_path / "target", tmp_path)
    assert "\n" not in rewritten
    assert "x\\nex01  vanilla RNN cell  20 / 20  complete\\ntotal" in rewritten


def test_an_exercises_notes_stand_together_in_the_gradebook():
    notes = ["ex01: import error", "ex02: missing", "ex01: graded hw/ex01_simple_rnn (1).py as "
             "ex01_simple_rnn.py", "handed in late"]
    assert classbook._by_exercise(notes, ["ex01", "ex02"]) == [notes[0], notes[2], notes[1],
                                                               notes[3]]
    assert classbook._by_exercise(notes[1:], ["ex01", "ex02"]) == notes[1:]   # already so
