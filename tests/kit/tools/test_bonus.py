"""A bonus exercise's points are a column of their own, outside the maximum (issue 26), in
every place that totals points: the score table, results.json (Gradescope), the gradebook,
the LMS files and the class report. A toy bonus exercise (ex90) is declared into the course
for these tests only; results are made with the grader's own writer, so nothing starts
TensorFlow (about two seconds)."""
import csv
import json
import sys

import lms_formats
import pytest

from rnnkit import course
from rnnkit.course import Exercise
from rnnkit.grader.results import CheckResult, gradescope, render_table, results_of_document
from rnnkit.tools import classbook, classreport, lms

SECRET = "abc123abc123"
TOY = Exercise("ex90", "ex90_toy_bonus", "toy bonus exercise", bonus=True)
# (check, max points, points) per exercise: 4 + 4 regular points, 5 bonus points
CHECKS = {"ex01": [("cell", 2, 2), ("loop", 2, 2)],
          "ex02": [("forward", 1, 0), ("backward", 3, 3)],
          "ex90": [("attention", 3, 3), ("heatmap", 2, 0)]}


@pytest.fixture
def bonus_course(monkeypatch):
    """The course with ex90 declared a bonus, wherever the kit reads the declarations."""
    assert TOY.id not in course.BY_ID
    declared = course.EXERCISES
    extended = declared + (TOY,)
    for module in [m for name, m in sys.modules.items() if name.startswith("rnnkit")]:
        if getattr(module, "EXERCISES", None) is declared:
            monkeypatch.setattr(module, "EXERCISES", extended)
    monkeypatch.setitem(course.BY_ID, TOY.id, TOY)
    monkeypatch.setitem(course.BY_MODULE, TOY.module, TOY)
    assert course.is_bonus("ex90") and not course.is_bonus("ex01")


def checks(*exercises):
    return [CheckResult(e, name, name, maximum, points, "" if points == maximum
                        else "output differs", "passed" if points == maximum else "failed")
            for e in exercises for name, maximum, points in CHECKS[e]]


def document(*exercises):
    return gradescope(checks(*exercises), seconds=1.0, mode="official", secret_id=SECRET)


def test_the_score_table_totals_without_the_bonus(bonus_course):
    table = render_table(checks("ex01", "ex02", "ex90"), feedback=False).splitlines()
    [total] = [line for line in table if line.startswith("total")]
    [bonus] = [line for line in table if line.startswith("bonus")]
    assert total.split()[1:] == ["7", "/", "8"]                    # the maximum unchanged
    assert bonus.split()[1:4] == ["3", "/", "5"] and "outside the maximum" in bonus
    [row] = [line for line in table if line.startswith("ex90")]
    assert row.endswith("partial, bonus")
    # without a bonus exercise graded, no bonus line
    assert not [line for line in render_table(checks("ex01"), feedback=False).splitlines()
                if line.startswith("bonus")]


def test_results_json_keeps_the_score_within_the_maximum(bonus_course):
    found = document("ex01", "ex02", "ex90")
    assert found["score"] == 7                                    # not 10: the bonus is apart
    assert found["bonus"] == {"score": 3, "max_score": 5, "exercises": ["ex90"]}
    bonus_tests = [t for t in found["tests"] if t["tags"][0] == "ex90"]
    assert [(t["score"], t["max_score"], t["tags"]) for t in bonus_tests] == [
        (3, 3, ["ex90", "passed", "bonus"]), (0, 2, ["ex90", "failed", "bonus"])]
    assert [r.points for r in results_of_document(found)] == [2, 2, 0, 3, 3, 0]
    assert "bonus" not in document("ex01", "ex02")


def test_a_merge_counts_the_bonus_apart_whichever_run_graded_it(bonus_course):
    kept = classbook.merge(None, document("ex01", "ex90"), ["ex01", "ex90"], {"notes": []})
    merged = classbook.merge(kept, document("ex02"), ["ex02"], {"notes": []})
    assert (merged["score"], merged["bonus"]["score"]) == (7, 3)
    again = classbook.merge(merged, document("ex01"), ["ex01", "ex90"], {"notes": []})
    assert again["score"] == 4 + 3 and "bonus" not in again     # ex90 graded again: not handed in


def keep(out, folder, found, name, layout, lms_id):
    found = classbook.merge(None, found, sorted({t["tags"][0] for t in found["tests"]}),
                            {"student": name, "id": lms_id, "layout": layout,
                             "key": f"{layout}:{lms_id}", "notes": [], "late": {"marked": False}})
    (out / "students" / folder).mkdir(parents=True)
    classbook.replace(out / "students" / folder / "results.json", found)


@pytest.fixture
def record(tmp_path, bonus_course):
    """Ada did the bonus exercise, Alan did not hand it in; both on Canvas and on Moodle."""
    out = tmp_path / "out"
    keep(out, "lovelaceada", document("ex01", "ex02", "ex90"), "lovelaceada", "canvas", "101")
    keep(out, "turingalan", document("ex01", "ex02"), "turingalan", "canvas", "102")
    roster = tmp_path / "canvas-export.csv"
    roster.write_text(lms_formats.CANVAS_EXPORT)
    return out, roster


def read_csv(path, encoding="utf-8"):
    with open(path, newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle)) if encoding == "utf-8-sig" else list(
            csv.reader(handle))


def test_the_gradebook_has_a_bonus_column_outside_total_and_max(record):
    out, roster = record
    classbook.rebuild(out, lms.Settings.resolve(out, {"lms": ["canvas"], "roster": str(roster)}),
                      echo=lambda line: None)
    rows = {row["student"]: row for row in read_csv(out / classbook.GRADEBOOK, "utf-8-sig")}
    header = list(rows["lovelaceada"])
    assert header[:header.index("notes")] == ["student", "id", "folder", "ex01", "ex02", "ex90",
                                              "total", "max", "bonus"]
    ada, alan = rows["lovelaceada"], rows["turingalan"]
    assert (ada["ex90"], ada["total"], ada["max"], ada["bonus"]) == ("3", "7", "8", "3")
    assert (alan["ex90"], alan["total"], alan["max"], alan["bonus"]) == ("", "7", "8", "")
    report = (out / "students" / "lovelaceada" / "report.txt").read_text()
    assert "outside the maximum" in report


def test_canvas_gets_the_bonus_in_a_column_of_its_own(record):
    out, roster = record
    classbook.rebuild(out, lms.Settings.resolve(out, {"lms": ["canvas"], "roster": str(roster),
                                                      "out_of": 100.0}), echo=lambda line: None)
    read = lms_formats.canvas_reads(read_csv(out / lms.CANVAS_FILE))
    assert read["assignments"] == ["rnnkit", "rnnkit bonus"]
    # the maximum is the regular points' (scaled to 100); the bonus column on the same scale
    assert read["points"] == {"rnnkit": "100", "rnnkit bonus": "62.5"}
    grades = {s["id"]: s["grades"] for s in read["students"]}
    assert grades["101"] == {"rnnkit": "87.5", "rnnkit bonus": "37.5"}
    assert grades["102"] == {"rnnkit": "87.5", "rnnkit bonus": ""}


def test_canvas_per_exercise_columns_keep_the_bonus_apart(record):
    out, roster = record
    classbook.rebuild(out, lms.Settings.resolve(out, {"lms": ["canvas"], "roster": str(roster),
                                                      "canvas_columns": "exercises"}),
                      echo=lambda line: None)
    read = lms_formats.canvas_reads(read_csv(out / lms.CANVAS_FILE))
    assert read["assignments"][-1] == "rnnkit ex90 toy bonus exercise"
    assert list(read["points"].values()) == ["4", "4", "5"]


def test_moodle_grade_leaves_the_bonus_out_and_says_it(record, tmp_path):
    out, _ = record
    # Moodle's layout: Ada as participant 1001
    found = json.loads((out / "students" / "lovelaceada" / "results.json").read_text())
    found["submission"].update({"layout": "moodle", "id": "1001", "key": "moodle:1001"})
    classbook.replace(out / "students" / "lovelaceada" / "results.json", found)
    classbook.rebuild(out, lms.Settings.resolve(out, {"lms": ["moodle"]}), echo=lambda line: None)
    [ada] = lms_formats.moodle_reads(read_csv(out / lms.MOODLE_FILE))
    assert ada["participant"] == "1001" and ada["grade"] == "7"
    rows = read_csv(out / lms.MOODLE_FILE)
    assert rows[1][rows[0].index("Maximum Grade")] == "8"
    assert ada["comment"].startswith("7 of 8 points; bonus 3 of 5 points, outside the maximum "
                                     "and not in the grade; ")
    assert "ex90 toy bonus exercise (bonus): 3/5" in ada["comment"]


def test_the_class_report_counts_the_bonus_apart(record):
    out, _ = record
    stats = classreport.statistics(classbook.load(out))
    assert sorted(stats["scores"]) == [87.5, 87.5]                # 7 of 8 each, bonus aside
    assert stats["bonus"] == [(3, 5)]
    text = classreport.markdown(stats)
    assert ("Bonus, outside the maximum (not in the scores above): 1 students graded, 1 earned "
            "bonus points (median 3 of 5).") in text
