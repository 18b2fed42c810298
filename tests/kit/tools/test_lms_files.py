"""The class record without grading (issue 25): merging results, the gradebook, the LMS
files read the way Canvas's and Moodle's importers read them (lms_formats.py says where each
rule comes from), rosters, the late policy, the class report. Results are made here with
the grader's own writer (rnnkit.grader.results.gradescope), so nothing starts TensorFlow:
about two seconds."""
import csv
import json
import zipfile
from datetime import datetime, timedelta

import lms_formats
import pytest

from rnnkit import __version__
from rnnkit.grader.results import CheckResult, gradescope
from rnnkit.tools import classbook, classreport, lms

CHECKS = {"ex01": [("cell", 2), ("loop", 2)], "ex02": [("forward", 1), ("backward", 3)]}
SECRET = "abc123abc123"
NO_BIAS = ("cell output: 12 of 40 values differ from the reference; largest error 0.31 at "
           "(1, 2) (got 0.1, expected 0.4; tolerance 1e-05 + 1e-05*|expected|); your cell "
           "matches one without the bias b")


def results(exercise, outcome, feedback="output differs"):
    """A results document of one exercise: outcome "full", "stub", "missing" or a set of
    check names that fail with `feedback`."""
    rows = []
    for name, points in CHECKS[exercise]:
        if outcome == "full" or (isinstance(outcome, set) and name not in outcome):
            rows.append(CheckResult(exercise, name, name, points, points))
        elif outcome == "stub":
            rows.append(CheckResult(exercise, name, name, points, 0, "not started: f is not "
                                    "written yet (ex.py)", "not_started"))
        elif outcome == "missing":
            rows.append(CheckResult(exercise, name, name, points, 0, "missing", "missing"))
        else:
            rows.append(CheckResult(exercise, name, name, points, 0, feedback, "failed"))
    mode = "" if outcome == "missing" else "official"
    return gradescope(rows, seconds=1.0, notes={"run": [
        "protections on this run: Landlock ABI 7, timeouts", "student code ran as nobody"]},
        mode=mode, secret_id=SECRET if mode else None)


def both(ex01, ex02, **feedback):
    one, two = results("ex01", ex01, **feedback), results("ex02", ex02, **feedback)
    return {**two, "tests": one["tests"] + two["tests"],
            "graded": {**one["graded"], **two["graded"]}, "notes": {**one["notes"]}}


def who(name, layout, lms_id="", notes=(), late=False):
    key = f"{layout}:{lms_id or name}"
    return {"student": name, "id": lms_id, "layout": layout, "key": key, "notes": list(notes),
            "late": {"marked": late}}


def keep(out, folder, document, submission):
    document = classbook.merge(None, document, ["ex01", "ex02"], submission)
    (out / "students" / folder).mkdir(parents=True, exist_ok=True)
    classbook.replace(out / "students" / folder / "results.json", document)
    return document


def read_csv(path, encoding="utf-8"):
    with open(path, newline="", encoding=encoding) as handle:
        return list(csv.reader(handle))


@pytest.fixture
def record(tmp_path):
    """A class of four kept in --out: two Canvas students (one late), a Moodle one, and a
    folder with no id."""
    out = tmp_path / "out"
    keep(out, "lovelaceada", both("full", "full"), who("lovelaceada", "canvas", "101"))
    keep(out, "turingalan", both("missing", {"forward"}),
         who("turingalan", "canvas", "102", ["handed in late"], late=True))
    keep(out, "Grace_Hopper", both({"cell"}, "stub", feedback=NO_BIAS),
         who("Grace Hopper", "moodle", "1001"))
    keep(out, "Barbara_Liskov", both("full", "missing"), who("Barbara Liskov", "folder"))
    roster = tmp_path / "canvas-export.csv"
    roster.write_text(lms_formats.CANVAS_EXPORT)
    return out, roster


# -- merging ------------------------------------------------------------------------------------
def test_a_run_of_one_exercise_replaces_only_that_exercise():
    old = classbook.merge(None, both("full", "stub"), ["ex01", "ex02"],
                          who("Ada", "folder", notes=["ex01: graded EX01.PY as ex01.py",
                                                      "handed in late"]))
    new = results("ex02", "full")
    new["graded"]["ex02"]["at"] = "2099-01-01T00:00:00+00:00"
    merged = classbook.merge(old, new, ["ex02"], who("Ada", "folder", notes=["ex02: graded "
                                                                             "EX02.PY as ex02.py"]))
    assert [t for t in merged["tests"] if t["tags"][0] == "ex01"] == \
        [t for t in old["tests"] if t["tags"][0] == "ex01"]
    assert [t["score"] for t in merged["tests"]] == [2, 2, 1, 3]
    assert merged["score"] == 8
    assert merged["graded"]["ex01"] == old["graded"]["ex01"]
    assert merged["graded"]["ex02"]["at"] == "2099-01-01T00:00:00+00:00"
    # ex01's note stays (ex01 was not graded again); the general one is this run's
    assert merged["submission"]["notes"] == ["ex02: graded EX02.PY as ex02.py",
                                             "ex01: graded EX01.PY as ex01.py"]


def test_results_made_otherwise_are_named_unless_graded_again():
    kept = {"ada": both("full", "full"), "bob": both("full", "missing")}
    kept["ada"]["graded"]["ex01"]["kit_version"] = "0.1.9"
    kept["bob"]["graded"]["ex01"]["secret_id"] = "otherothero"
    problems = classbook.mixed(kept, {}, __version__, SECRET)
    assert problems == [f"ada: ex01 graded by kit 0.1.9 (this kit: {__version__})",
                        f"bob: ex01 graded under course secret otherothero (this course: "
                        f"{SECRET})"]
    # what this run grades again is not kept; a missing exercise was never graded
    assert classbook.mixed(kept, {"ada": {"ex01"}, "bob": {"ex01"}}, __version__, SECRET) == []


def test_folders_follow_the_student_across_runs():
    kept = {"Zoé": {"tests": [], "submission": {"key": "zip:Zoé"}},
            "Zoé-2": {"tests": [], "submission": {"key": "folder:Zoé"}}}
    assert classbook.assign_folders([("Zoé", "folder:Zoé"), ("Zoé", "zip:Zoé"),
                                     ("Zoé", "moodle:7")], kept) == ["Zoé-2", "Zoé", "Zoé-3"]


# -- the student's report -------------------------------------------------------------------------
def test_the_report_holds_what_a_student_reads(record):
    out, _ = record
    report = classbook.student_report(json.loads(
        (out / "students" / "Grace_Hopper" / "results.json").read_text()))
    lines = report.splitlines()
    assert lines[0] == (f"Official grade of the submission (course secret {SECRET}: every input "
                        "drawn from it)")
    assert [line for line in lines if line.startswith("protections")] == [
        "protections on this run: Landlock ABI 7, timeouts"]
    assert "student code ran as" not in report
    assert f"- ex01 cell [0/2]: {NO_BIAS}" in lines
    assert lines[-1].startswith("Graded: ") and lines[-1].endswith(f"(rnnkit {__version__})")


# -- the LMS files, read as the LMSs read them --------------------------------------------------------
def test_canvas_file_is_what_canvas_imports(record):
    out, roster = record
    settings = lms.Settings.resolve(out, {"lms": ["canvas", "moodle"], "roster": str(roster),
                                          "late_policy": "10:30"})
    said = []
    rows = classbook.rebuild(out, settings, echo=said.append)
    read = lms_formats.canvas_reads(read_csv(out / lms.CANVAS_FILE))
    assert read["assignments"] == ["rnnkit"] and read["points"] == {"rnnkit": "8"}
    assert {s["id"]: (s["sis_user_id"], s["sis_login_id"], s["grades"]["rnnkit"])
            for s in read["students"]} == {
        "101": ("S101", "ada@uni.example", "8"),
        "102": ("S102", "alan@uni.example", "2.7"),          # 3 points, one day late: -10 %
        "103": ("S103", "barbara@uni.example", "4")}         # no id: the roster's, by name
    assert [s["name"] for s in read["students"]] == ["Liskov, Barbara", "Lovelace, Ada",
                                                    "Turing, Alan"]
    left = (out / lms.NOT_IMPORTED).read_text().splitlines()
    assert "canvas-grades.csv: Grace Hopper (Grace_Hopper): no Canvas ID (give --roster, " \
           "Canvas's gradebook export)" in left
    assert "roster: Grace Hopper (Grace_Hopper): not on the roster" in said
    late = next(row for row in rows if row["folder"] == "turingalan")
    assert late["notes"] == ("ex01: missing; handed in late; late policy: 1 day late (marked "
                             "late by the LMS, no submission time: counted as 1 day): -10 % "
                             "(3 -> 2.7 of 8)")
    report = (out / "students" / "turingalan" / "report.txt").read_text()
    assert "late policy: 1 day late" in report


def test_canvas_can_take_one_column_per_exercise(record):
    out, roster = record
    classbook.rebuild(out, lms.Settings.resolve(out, {"lms": ["canvas"], "roster": str(roster),
                                                      "canvas_columns": "exercises",
                                                      "assignment": "RNN"}), echo=print)
    read = lms_formats.canvas_reads(read_csv(out / lms.CANVAS_FILE))
    assert read["assignments"] == ["RNN ex01 vanilla RNN cell",
                                   "RNN ex02 backpropagation through time"]
    assert read["points"] == dict(zip(read["assignments"], ["4", "4"]))
    ada = next(s for s in read["students"] if s["id"] == "101")
    assert list(ada["grades"].values()) == ["4", "4"]
    barbara = next(s for s in read["students"] if s["id"] == "103")
    assert list(barbara["grades"].values()) == ["4", "0"]


def test_moodle_files_are_what_moodle_imports(record, tmp_path):
    out, _ = record
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text(lms_formats.MOODLE_WORKSHEET)
    settings = lms.Settings.resolve(out, {"lms": ["moodle"], "roster": str(worksheet),
                                          "out_of": 100.0, "late_policy": "10:30",
                                          "due": "2026-12-01T23:59"})
    classbook.rebuild(out, settings, echo=print)
    rows = read_csv(out / lms.MOODLE_FILE)
    documented = lms_formats.rows_of(lms_formats.MOODLE_WORKSHEET)[0]
    assert [c for c in documented if c in rows[0]] == rows[0], "not in Moodle's own order"
    [grace] = lms_formats.moodle_reads(rows)
    assert grace["participant"] == "1001" and grace["grade"] == "25"      # 2 of 8, out of 100
    assert datetime.fromisoformat(grace["modified"]).tzinfo is not None   # strtotime reads it
    assert grace["comment"].startswith("2 of 8 points; grade 25 of 100; ex01 vanilla RNN cell: "
                                       "2/4; ex02 backpropagation through time: 0/4.")
    with zipfile.ZipFile(out / lms.MOODLE_FEEDBACK) as bundle:
        names = bundle.namelist()
        assert [lms_formats.moodle_zip_reads(n) for n in names] == [
            ("1001", ("assignfeedback", "file"), "/report.txt")]
        assert bundle.read(names[0]) == (out / "students" / "Grace_Hopper" /
                                         "report.txt").read_bytes()


def test_a_late_policy_counts_days_from_dates_and_caps():
    policy = lms.LatePolicy.parse("10%/day, max 25%")
    due = lms.parse_time("2026-12-01T23:59")
    assert lms.lateness(policy, due, False, due - timedelta(minutes=5)) is None
    assert lms.lateness(policy, due, True, due + timedelta(hours=1)).days == 1
    three = lms.lateness(policy, due, False, due + timedelta(days=2, minutes=1))
    assert (three.days, three.share) == (3, 0.25)
    assert lms.lateness(None, due, True, None) is None          # off by default
    assert lms.parse_time("Tuesday, 1 December 2026, 10:15 PM").hour == 22
    for wrong in ("ten", "10:0", "150"):
        with pytest.raises(lms.LmsProblem):
            lms.LatePolicy.parse(wrong)


# -- rosters --------------------------------------------------------------------------------------
def entry(name, layout="folder", lms_id=""):
    return lms.Entry(name, name, layout, lms_id, {}, {}, False, "")


def test_names_match_only_when_they_are_the_same_name(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(lms_formats.CANVAS_EXPORT + '"Lee, Ann",104,,,A,,0,0\n'
                                                  '"Lee, Ann",105,,,B,,0,0\n')
    kind, people = lms.read_roster(roster)
    assert kind == "canvas" and [p.canvas_id for p in people] == ["101", "102", "103", "999",
                                                                  "104", "105"]
    entries = [entry("ada lovelace"), entry("lovelaceada"), entry("Barbara_Liskov"),
               entry("Ann Lee"), entry("Ada Lovelance"), entry("x", "canvas", "102")]
    problems = lms.match_roster(entries, kind, people)
    assert [e.person.canvas_id if e.person else None for e in entries] == [
        "101", "101", "103", None, None, "102"]
    assert problems == ["Ann Lee (Ann Lee): matches 2 roster rows (line 7 Lee, Ann, line 8 "
                        "Lee, Ann); none was chosen",
                        "Ada Lovelance (Ada Lovelance): not on the roster"]


def test_a_file_that_is_no_roster_is_refused_in_one_line(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Name;Mark\nAda;3\n")
    with pytest.raises(lms.LmsProblem, match="neither Canvas's gradebook export"):
        lms.read_roster(roster)


# -- the class report -----------------------------------------------------------------------------
def test_the_class_report_counts_checks_mistakes_and_scores(record):
    out, _ = record
    kept = classbook.load(out)
    stats = classreport.statistics(kept)
    assert stats["checks"][("ex01", "cell")] == {"points": 2, "handed_in": 3, "passed": 2,
                                                 "failed": 1, "not_started": 0,
                                                 "not_handed_in": 1}
    [(key, mistake)] = stats["mistakes"].items()
    assert mistake["example"] == "your cell matches one without the bias b"
    assert (mistake["students"], mistake["checks"]) == (1, {"cell"})
    assert classreport.distribution(sorted(stats["scores"])) == [
        ("0-10 %", 0), ("10-20 %", 0), ("20-30 %", 1), ("30-40 %", 1), ("40-50 %", 0),
        ("50-60 %", 1), ("60-70 %", 0), ("70-80 %", 0), ("80-90 %", 0), ("90-100 %", 1)]
    classreport.write(out, kept, echo=print)
    text = (out / classreport.MARKDOWN).read_text()
    assert "| ex01 | your cell matches one without the bias b | 1 | cell |" in text
    assert (out / classreport.PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("feedback, named", [
    (NO_BIAS, "your cell matches one without the bias b"),
    ("clipped gradient 0: 3 of 9 values differ (tolerance 1e-06); it was clipped by its own "
     "norm; clipping by global norm scales every array by the same factor",
     "it was clipped by its own norm; clipping by global norm scales every array by the same "
     "factor"),
    ("same cause as 'One step': that check found your cell wrong first; fix it there", None),
    ("the module could not be imported: NameError: name 'np' is not defined", None),
    ("h: shape (2, 3), expected (2, 4); your code raised nothing", None),
])
def test_a_diagnosis_is_the_clause_naming_the_mistake(feedback, named):
    assert classreport.diagnosis(feedback) == named
