"""An instructor's term, end to end (issue 25), in a copy of the kit, on ex01-ex02:

1. release a student kit; grade a class in Canvas's and Moodle's layouts (and a folder with no
   id, which a Canvas roster maps), with a late policy;
2. re-grade one student (a late resubmission) and then one exercise of another: every other
   row and results.json stays as it was, row by row;
3. the LMS files read as Canvas's and Moodle's importers read them (lms_formats.py); the
   class report and its plot; what students read (report.txt);
4. an erratum (a docstring and a line of given code in ex02, version 0.2.1): only ex02's
   recordings go stale; a started student kit is updated without losing a line of the
   student's work; the old kit's untouched ex02 stub, graded by the new kit, is still *not
   started* (merging it is refused until told, since the rest was graded by 0.2.0).

Cost, measured here on 2 cores busy with other work: 140-214 s (four class gradings
of 1-5 submissions on ex01-ex02, one recording of ex02's references, two releases)."""
import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile

import lms_formats
import pytest
from conftest import KIT_ROOT, run_cli, zip_bytes

from rnnkit.course import EXERCISES
from rnnkit.tools import release

EX01, EX02 = "ex01_simple_rnn.py", "ex02_bptt.py"
OLD_DOC = '"""Run one time step of a vanilla tanh RNN.'
NEW_DOC = '"""Run one time step of a vanilla tanh RNN: h_next = tanh(x Wx + h_prev Wh + b).'
OLD_SIZES, NEW_SIZES = "    N, T, D, H = 2, 4, 3, 5\n", "    N, T, D, H = 2, 5, 3, 4\n"
STUDENT_SIZES = "    N, T, D, H = 3, 4, 3, 5   # mine: a batch of three\n"
# what the student of the started kit writes, in a style of their own
STUDENT_STEP = ("    pre = np.dot(x, Wx) + np.dot(h_prev, Wh) + b   # (N, H), my way\n"
                "    out = np.tanh(pre)\n"
                "    return out, (x, h_prev, Wx, Wh, out)\n")
STUDENT_HELPER = "\n\ndef my_checks():\n    \"\"\"Mine.\"\"\"\n    return gradient_check(1)\n"
# a student's cell without the bias, and a backward step without tanh', not as solutions/
NO_BIAS = ("        (previous,) = states\n"
           "        h = ops.tanh(ops.add(ops.matmul(inputs, self.kernel),\n"
           "                             ops.matmul(previous, self.recurrent_kernel)))\n"
           "        return h, [h]\n")
NO_TANH = ("    xs, prev, w_x, w_h, _ = cache\n"
           "    grad = np.array(dh_next, dtype=float)   # through tanh? not here\n"
           "    return (grad.dot(w_x.T), grad.dot(w_h.T), xs.T.dot(grad), prev.T.dot(grad),\n"
           "            grad.sum(0))\n")
RECORD_EX02 = ("from rnnkit import KIT_ROOT\nfrom rnnkit.course import BY_ID\n"
               "from rnnkit.tools import release\n"
               "release.record_references(KIT_ROOT, [BY_ID['ex02']])\n")


def with_block(source: str, after: str, body: str) -> str:
    """`source` with the first solution block after `after` replaced by `body`."""
    start = source.index(after)
    begin = source.rindex("\n", 0, source.index("# BEGIN SOLUTION", start)) + 1
    end = source.index("\n", source.index("# END SOLUTION", begin)) + 1
    return source[:begin] + body + source[end:]


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)


def state(out):
    """What a run leaves in --out: gradebook rows and results by folder, the LMS files."""
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {row["folder"]: row for row in csv.DictReader(handle)}
    documents = {folder: json.loads((out / "students" / folder / "results.json").read_text())
                 for folder in rows}
    read = lambda name: list(csv.reader(open(out / name, newline="", encoding="utf-8")))
    return {"rows": rows, "documents": documents, "canvas": read("canvas-grades.csv"),
            "moodle": read("moodle-grades.csv"),
            "report": (out / "class-report.md").read_text(),
            "plot": (out / "class-report.png").read_bytes(),
            "not_imported": (out / "lms-not-imported.txt").read_text()}


def ok(completed):
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("term")
    instr = shutil.copytree(KIT_ROOT, root / "instructor", ignore=shutil.ignore_patterns(
        ".git", "runs", "__pycache__", "*.pyc", ".pytest_cache", "course.secret",
        "official-references"))
    kit = root / "kit"
    ok(run_cli("release", "--out", kit, cwd=instr))
    stub02 = (instr / "exercises" / EX02).read_text()               # as released: 0.2.0
    ex01, ex02 = (KIT_ROOT / "solutions" / EX01).read_text(), (KIT_ROOT / "solutions" / EX02).read_text()
    no_bias = with_block(ex01, "    def call(self, inputs, states", NO_BIAS)
    no_tanh = with_block(ex02, "def rnn_step_backward(", NO_TANH)

    # 1. the class: Canvas's flat files (one late), Moodle's folders (4.1's and 3.x's names),
    # a folder with no id; a Canvas roster
    klass = root / "class"
    write(klass / "lovelaceada_101_9001_ex01_simple_rnn.py", ex01)
    write(klass / "lovelaceada_101_9002_ex02_bptt.py", ex02)
    write(klass / "turingalan_LATE_102_9003_ex02_bptt.py", no_tanh)
    hopper = zip_bytes([("exercises/" + EX01, no_bias), ("exercises/" + EX02, stub02)])
    write(klass / "Grace Hopper_1001_assignsubmission_file" / "hopper.zip", hopper)
    write(klass / "Edsger Dijkstra_1002_assignsubmission_file_" / EX01,
          (instr / "exercises" / EX01).read_text())
    write(klass / "Edsger Dijkstra_1002_assignsubmission_file_" / EX02, ex02)
    write(klass / "Barbara Liskov" / EX01, ex01)
    roster = root / "canvas-export.csv"
    roster.write_text(lms_formats.CANVAS_EXPORT)
    out = root / "out"
    grade = ("grade-class", "--out", out, "--jobs", "2")
    said = {"run1": ok(run_cli(*grade, klass, "--exercises", "ex01", "ex02", "--roster",
                               roster, "--late-policy", "10:30", cwd=instr, timeout=1200)).stdout}
    states = {"run1": state(out)}

    # 2. one student re-graded (a late resubmission), then one exercise of another
    again = root / "alan"
    write(again / "turingalan_LATE_102_9010_ex02_bptt.py", ex02)
    said["run2"] = ok(run_cli(*grade, again, "--exercises", "ex01", "ex02", cwd=instr)).stdout
    states["run2"] = state(out)
    fixed = root / "grace"
    write(fixed / "Grace Hopper_1001_assignsubmission_file" / EX01, ex01)
    said["run3"] = ok(run_cli(*grade, fixed, "--exercises", "ex01", cwd=instr)).stdout
    states["run3"] = state(out)

    # 4. an erratum, and a started kit brought to it
    before = {e.id: release.fingerprint(e, instr) for e in EXERCISES}
    solution = instr / "solutions" / EX02
    source = solution.read_text()
    assert source.count(OLD_DOC) == 1 and source.count(OLD_SIZES) == 1
    solution.write_text(source.replace(OLD_DOC, NEW_DOC).replace(OLD_SIZES, NEW_SIZES))
    for name, old, new in (("rnnkit/__init__.py", '__version__ = "0.2.0"', '__version__ = "0.2.1"'),
                           ("pyproject.toml", 'version = "0.2.0"', 'version = "0.2.1"'),
                           ("CHANGELOG.md", "## 0.2.0", "## 0.2.1\n\n- ex02: rnn_step_forward's "
                            "docstring gives its formula; gradient_check's sizes.\n\n## 0.2.0")):
        text = (instr / name).read_text()
        assert text.count(old) == 1, (name, old)
        (instr / name).write_text(text.replace(old, new))
    after = {e.id: release.fingerprint(e, instr) for e in EXERCISES}
    ok(run_cli("release", "--skip-references", cwd=instr))
    # what `release` then records (its official recordings under the course secret are left
    # out: all nine exercises' trainings, minutes, and nothing this test reads)
    ok(subprocess.run([sys.executable, "-c", RECORD_EX02], cwd=instr, capture_output=True,
                      text=True, timeout=900))
    started = kit / "exercises" / EX02
    mine = started.read_text()
    stub_lines = re.search(r"    # YOUR CODE \(replace this line\)\n    raise NotImplementedError"
                           r"\('rnn_step_forward[^\n]*\n", mine).group(0)
    mine = mine.replace(stub_lines, STUDENT_STEP).replace(OLD_SIZES, STUDENT_SIZES) + STUDENT_HELPER
    started.write_text(mine)
    notebook = kit / "notebooks" / "ex01_simple_rnn.ipynb"
    cells = json.loads(notebook.read_text())
    cells["cells"].append({"cell_type": "markdown", "id": "my-notes", "metadata": {},
                           "source": ["My notes on ex01."]})
    notebook.write_text(json.dumps(cells, indent=1))
    mine_notebook = notebook.read_bytes()
    said["update"] = ok(run_cli("update", kit, cwd=instr)).stdout

    # the old kit's untouched ex02 stub, graded by the new kit
    old_stub = root / "grace-again"
    write(old_stub / "Grace Hopper_1001_assignsubmission_file" / "hopper.zip", hopper)
    refused = run_cli(*grade, old_stub, "--exercises", "ex02", cwd=instr)
    said["run4"] = ok(run_cli(*grade, old_stub, "--exercises", "ex02", "--keep-mixed",
                              cwd=instr)).stdout
    states["run4"] = state(out)
    return {"root": root, "instr": instr, "kit": kit, "out": out, "said": said,
            "states": states, "stale": {e for e in before if before[e] != after[e]},
            "mine": mine, "mine_notebook": mine_notebook, "refused": refused}


def maxima(state):
    ada = state["rows"]["lovelaceada"]
    return ada["ex01"], ada["ex02"]


# -- 1. the class -------------------------------------------------------------------------------
def test_every_student_of_both_layouts_gets_the_row_expected(term):
    rows = term["states"]["run1"]["rows"]
    full01, full02 = maxima(term["states"]["run1"])
    assert float(full01) > 0 and float(full02) > 0
    shown = {folder: (row["student"], row["id"], row["ex01"], row["ex02"], row["notes"])
             for folder, row in rows.items()}
    grace, alan = shown.pop("Grace_Hopper"), shown.pop("turingalan")
    assert shown == {
        "Barbara_Liskov": ("Barbara Liskov", "", full01, "0", "ex02: missing"),
        "Edsger_Dijkstra": ("Edsger Dijkstra", "1002", "0", full02, "ex01: not started"),
        "lovelaceada": ("lovelaceada", "101", full01, full02, "")}
    assert grace[:2] == ("Grace Hopper", "1001") and 0 < float(grace[2]) < float(full01)
    assert grace[3:] == ("0", "ex02: not started")
    assert alan[:3] == ("turingalan", "102", "0") and 0 < float(alan[3]) < float(full02)
    assert alan[4] == (f"ex01: missing; handed in late; late policy: 1 day late (marked late "
                       f"by the LMS, no submission time: counted as 1 day): -10 % ({alan[3]} "
                       f"-> {round(float(alan[3]) * 0.9, 2):g} of {rows['turingalan']['max']})")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["graded"]) for row in rows.values())


# -- 2. re-grading merges, row by row -------------------------------------------------------------
def test_regrading_one_student_keeps_every_other_row_and_result(term):
    one, two = term["states"]["run1"], term["states"]["run2"]
    _, full02 = maxima(one)
    for folder in one["rows"]:
        if folder != "turingalan":
            assert two["rows"][folder] == one["rows"][folder], folder
            assert two["documents"][folder] == one["documents"][folder], folder
    alan, before = two["rows"]["turingalan"], one["rows"]["turingalan"]
    assert (alan["ex01"], alan["ex02"]) == ("0", full02)
    now, then = (s["documents"]["turingalan"]["graded"] for s in (two, one))
    assert now["ex01"]["at"] >= then["ex01"]["at"] and now["ex02"]["at"] > then["ex02"]["at"]
    assert "[1/1] turingalan:" in term["said"]["run2"]
    assert "kept from earlier runs (4, not in this class folder)" in term["said"]["run2"]
    assert before["ex02"] != alan["ex02"]


def test_regrading_one_exercise_replaces_only_that_exercise(term):
    two, three = term["states"]["run2"], term["states"]["run3"]
    full01, _ = maxima(two)
    for folder in two["rows"]:
        if folder != "Grace_Hopper":
            assert three["rows"][folder] == two["rows"][folder], folder
            assert three["documents"][folder] == two["documents"][folder], folder
    grace, was = three["documents"]["Grace_Hopper"], two["documents"]["Grace_Hopper"]
    assert three["rows"]["Grace_Hopper"]["ex01"] == full01
    assert three["rows"]["Grace_Hopper"]["ex02"] == "0"
    assert [t for t in grace["tests"] if t["tags"][0] == "ex02"] == \
        [t for t in was["tests"] if t["tags"][0] == "ex02"]
    assert grace["graded"]["ex02"] == was["graded"]["ex02"]
    assert grace["graded"]["ex01"]["at"] > was["graded"]["ex01"]["at"]
    assert "kept: ex02 graded" in term["said"]["run3"]


# -- 3. the LMS files, the class report, what students read -------------------------------------
def test_the_lms_files_are_what_canvas_and_moodle_import(term):
    three = term["states"]["run3"]
    full01, full02 = maxima(three)
    total = float(full01) + float(full02)
    canvas = lms_formats.canvas_reads(three["canvas"])
    assert canvas["assignments"] == ["rnnkit"] and canvas["points"] == {"rnnkit": f"{total:g}"}
    assert {s["id"]: (s["sis_user_id"], s["grades"]["rnnkit"]) for s in canvas["students"]} == {
        "101": ("S101", f"{total:g}"),
        "102": ("S102", f"{float(full02) * 0.9:g}"),            # late: -10 %
        "103": ("S103", full01)}                                 # matched by name on the roster
    moodle = {row["participant"]: row for row in lms_formats.moodle_reads(three["moodle"])}
    assert {p: row["grade"] for p, row in moodle.items()} == {"1001": full01, "1002": full02}
    assert moodle["1002"]["comment"].startswith(f"{full02} of {total:g} points")
    with zipfile.ZipFile(term["out"] / "moodle-feedback.zip") as bundle:
        read = {lms_formats.moodle_zip_reads(name): bundle.read(name) for name in bundle.namelist()}
    assert read == {("1001", ("assignfeedback", "file"), "/report.txt"):
                    (term["out"] / "students" / "Grace_Hopper" / "report.txt").read_bytes(),
                    ("1002", ("assignfeedback", "file"), "/report.txt"):
                    (term["out"] / "students" / "Edsger_Dijkstra" / "report.txt").read_bytes()}
    listed = three["not_imported"]
    for name in ("Grace Hopper (Grace_Hopper): no Canvas ID",
                 "lovelaceada (lovelaceada): no Moodle participant number"):
        assert name in listed, listed


def test_the_class_report_counts_what_the_class_did(term):
    first, last = term["states"]["run1"], term["states"]["run3"]
    for state in (first, last):
        assert state["plot"][:8] == b"\x89PNG\r\n\x1a\n"
        table = re.findall(r"^\| \d+-\d+ % \| (\d+) \|$", state["report"], re.M)
        assert sum(map(int, table)) == 5
    assert re.search(r"^\| ex01 \| your cell matches one without the bias b.* \| 1 \|",
                     first["report"], re.M), first["report"]
    assert re.search(r"^\| ex02 \| it is the gradient without the tanh derivative.* \| 1 \|",
                     first["report"], re.M), first["report"]
    assert "No feedback named a mistake." in last["report"]        # both fixed since


def test_reports_hold_what_a_student_reads(term):
    for folder in term["states"]["run3"]["rows"]:
        report = (term["out"] / "students" / folder / "report.txt").read_text()
        assert str(term["root"]) not in report and "/tmp" not in report, folder
        assert "results written to" not in report and "student code ran as" not in report
        assert len([line for line in report.splitlines()
                    if line.startswith("protections on this run:")]) <= 1
        assert report.splitlines()[-1].startswith("Graded: ")
    alan = (term["out"] / "students" / "turingalan" / "report.txt").read_text()
    assert "late policy: 1 day late" in alan


# -- 4. an erratum ---------------------------------------------------------------------------------
def test_an_erratum_re_records_only_the_exercise_it_changed(term):
    assert term["stale"] == {"ex02"}            # the version bump re-records nothing


def test_a_started_kit_is_updated_without_losing_a_line(term):
    kit, said = term["kit"], term["said"]["update"]
    updated = (kit / "exercises" / EX02).read_text()
    position = 0
    for line in (STUDENT_STEP + STUDENT_SIZES + STUDENT_HELPER).splitlines():
        if line.strip():
            assert line in updated, line
    for block in (STUDENT_STEP, STUDENT_HELPER):                    # in order, whole
        position = updated.index(block, position)
    assert NEW_DOC in updated and OLD_DOC + "\n" not in updated     # the fix applied
    assert NEW_SIZES not in updated                                 # their line kept, and said
    assert "NOT applied: line" in said and "N, T, D, H = 2, 5, 3, 4" in said
    [backup] = (kit / "backups").iterdir()
    assert (backup / "exercises" / EX02).read_text() == term["mine"]
    assert "N, T, D, H = 2, 5, 3, 4" in (backup / "NOT-APPLIED.txt").read_text()
    assert "rnn_step_forward is not written yet" not in (backup / "NOT-APPLIED.txt").read_text()
    # the notebook they changed had nothing to apply; the one they did not is the new one
    assert (kit / "notebooks" / "ex01_simple_rnn.ipynb").read_bytes() == term["mine_notebook"]
    generated = subprocess.run(        # the notebook the new kit releases, made in its copy
        [sys.executable, "-c", "import sys\nfrom rnnkit.tools import release\n"
         "sys.stdout.buffer.write(release.student_kit_contents(with_solutions=False)"
         "['notebooks/ex02_bptt.ipynb'])"], cwd=term["instr"], capture_output=True, timeout=120)
    assert (kit / "notebooks" / "ex02_bptt.ipynb").read_bytes() == generated.stdout
    assert '__version__ = "0.2.1"' in (kit / "rnnkit" / "__init__.py").read_text()
    assert json.loads((kit / ".rnnkit" / "kit.json").read_text())["version"] == "0.2.1"
    assert "0.2.0 -> 0.2.1" in said and "## 0.2.1" in said


def test_an_old_stub_is_still_not_started_under_the_new_kit(term):
    refused = term["refused"]
    assert refused.returncode == 2
    assert "graded by kit 0.2.0 (this kit: 0.2.1)" in refused.stderr
    assert "--keep-mixed" in refused.stderr
    four = term["states"]["run4"]
    grace = four["documents"]["Grace_Hopper"]
    kinds = {t["tags"][1] for t in grace["tests"] if t["tags"][0] == "ex02"}
    assert kinds == {"not_started"}, [t["output"] for t in grace["tests"]][-3:]
    assert four["rows"]["Grace_Hopper"]["notes"] == "ex02: not started"
    assert grace["graded"]["ex02"]["kit_version"] == "0.2.1"
    assert grace["graded"]["ex01"]["kit_version"] == "0.2.0"
    report = (term["out"] / "students" / "Grace_Hopper" / "report.txt").read_text()
    assert report.splitlines()[-1].endswith("(rnnkit 0.2.0, 0.2.1)")
    three = term["states"]["run3"]
    for folder in three["rows"]:
        if folder != "Grace_Hopper":
            assert four["rows"][folder] == three["rows"][folder], folder
