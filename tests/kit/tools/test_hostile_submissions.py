"""Hostile files cost their exercise, never the grader: each is read in a bounded place
(`rnnkit.grader.bounded`), once per grading. The three plants are a reviewer's attacks, built
here (zips of a few to a hundred KB, never committed), each graded through the command the
reviewer used, measured (`hostile.measure`) and held to the same bounds:

- LARGEST: no process of the grading holds more than 1 GiB, the reader's own limit (its
  RLIMIT_AS). A clean grading of ex01 and ex02 peaks at 0.58 GiB here in its largest process,
  the grader with TensorFlow. Before the bounded reader: 6.6 GiB (the notebook of newlines)
  and 7.6 GiB (the 10 MB module, parsed in the grader once per exercise loading it).
- SUMMED: the processes of the grading together hold at most 3 GiB (forked processes share
  their pages, counted in each: a clean grade-class of ex01 and ex02 sums 1.85 GiB), and are
  killed at 4 GiB, so that a regression fails in seconds instead of taking the machine.
- SECONDS: 60 s for two or three exercises, of which a clean grading takes 17 s here (the
  budget of all nine is ~90 s). Before: 46 s (the notebook of newlines, converted in 23 s),
  122 s (the 10 MB module). After: 7-9 s each.
"""
import csv
import json

from conftest import KIT_ROOT
from hostile import measure, module_of_one_list, nested_notebook, notebook_of_newlines, zipped

GIB = 2**30
LARGEST = 1 * GIB
SUMMED = 3 * GIB
SECONDS = 60
KILL_ABOVE = 4 * GIB


def solution(name: str) -> bytes:
    return (KIT_ROOT / "solutions" / name).read_bytes()


def within_bounds(measured) -> None:
    assert not measured.killed, f"killed: {measured.killed}\n{measured.stderr[-2000:]}"
    assert measured.code == 0, measured.stderr[-3000:]
    assert measured.largest <= LARGEST, f"{measured.largest / GIB:.2f} GiB in one process"
    assert measured.summed <= SUMMED, f"{measured.summed / GIB:.2f} GiB summed"
    assert measured.seconds <= SECONDS, f"{measured.seconds:.0f} s"


def test_a_small_zip_holding_a_notebook_of_newlines_costs_its_exercise_not_the_graders_memory(
        tmp_path):
    """107 KB zipped, 99 MB of escaped newlines: 52 million lines once converted. Before: the
    grader (forked for the submission) took 6.6 GiB and 46 s, and ex01 lost its points with no
    word of why."""
    archive = zipped([("ex01_simple_rnn.ipynb", notebook_of_newlines(99)),
                      ("ex02_bptt.py", solution("ex02_bptt.py"))])
    assert len(archive) < 120_000
    submissions, out = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    (submissions / "Ada.zip").write_bytes(archive)
    measured = measure("grade-class", submissions, "--out", out, "--exercises", "ex01", "ex02",
                       timeout=2 * SECONDS, kill_above=KILL_ABOVE, tmp=tmp_path)
    within_bounds(measured)
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["ex01"], row["ex02"], row["notes"]) == ("0", "18", "ex01: forbidden"), row
    said = ("not graded: ex01_simple_rnn.ipynb has more than 20,000 lines of code: the grader "
            "reads a notebook's code cells up to that many (the released ones have under 500)")
    tests = json.loads((out / "students" / "Ada" / "results.json").read_text())["tests"]
    assert {t["output"] for t in tests if t["tags"][0] == "ex01"} == {said}
    report = (out / "students" / "Ada" / "report.txt").read_text(encoding="utf-8")
    ex01 = [t for t in tests if t["tags"][0] == "ex01"]     # official: the quiz's 10 included
    maximum = f"{sum(t['max_score'] for t in ex01):g}"
    assert [line for line in report.splitlines() if "20,000" in line] == [
        f"- ex01 vanilla RNN cell [0/{maximum}, all {len(ex01)} checks]: {said}"], report
    assert (maximum, len(ex01)) == ("22.5", 25)


def test_a_small_zip_holding_a_10_mb_module_is_refused_once_not_parsed_per_exercise(tmp_path):
    """23 KB zipped, one list of 5 million names: ~7 GB of syntax tree. Before: the source scan
    parsed it in the grader for ex01 and again for ex03, which imports it (7.6 GiB, 122 s),
    and the student's process ran out of memory importing it."""
    archive = tmp_path / "hw.zip"
    archive.write_bytes(zipped([("ex01_simple_rnn.py", module_of_one_list(10)),
                                ("ex02_bptt.py", solution("ex02_bptt.py")),
                                ("ex03_gated_cells.py", solution("ex03_gated_cells.py"))]))
    assert archive.stat().st_size < 30_000
    measured = measure("grade-submission", archive, "--json", tmp_path / "results.json",
                       "--exercises", "ex01", "ex02", "ex03", timeout=2 * SECONDS,
                       kill_above=KILL_ABOVE, tmp=tmp_path)
    within_bounds(measured)
    tests = json.loads((tmp_path / "results.json").read_text())["tests"]
    said = ("not graded: ex01_simple_rnn.py is larger than 512 KB (10.0 MB): the grader reads "
            "an exercise module up to that size (the released ones are 11-20 KB)")
    assert {t["output"] for t in tests if t["tags"][0] == "ex01"} == {said}
    # ex03 loads ex01's module in its process: not run either, for the same one line
    assert all(said.split(": ", 1)[1] in t["output"] for t in tests if t["tags"][0] == "ex03")
    assert {t["tags"][1] for t in tests if t["tags"][0] == "ex01"} == {"forbidden"}
    assert sum(t["score"] for t in tests if t["tags"][0] == "ex02") == 18


def test_a_notebook_nested_100000_deep_costs_its_exercise_and_the_results_are_written(tmp_path):
    """200 KB of brackets. Before: RecursionError in the grader, pytest's INTERNALERROR, no
    results.json, and ex02, handed in beside it, lost too."""
    target = tmp_path / "handed_in"
    target.mkdir()
    (target / "ex01_simple_rnn.ipynb").write_bytes(nested_notebook(100_000))
    (target / "ex02_bptt.py").write_bytes(solution("ex02_bptt.py"))
    results = tmp_path / "results.json"
    measured = measure("grade", "ex01", "ex02", "--target", target, "--json", results,
                       timeout=2 * SECONDS, kill_above=KILL_ABOVE, tmp=tmp_path)
    within_bounds(measured)
    assert "INTERNALERROR" not in measured.stdout + measured.stderr
    tests = json.loads(results.read_text())["tests"]
    assert {t["output"] for t in tests if t["tags"][0] == "ex01"} == {
        "not graded: ex01_simple_rnn.ipynb is not a notebook Jupyter could open (it is nested "
        "too deeply to read): download it again from Jupyter (File > Download as .ipynb), or "
        "hand in the .py module instead"}
    assert sum(t["score"] for t in tests if t["tags"][0] == "ex02") == 18
