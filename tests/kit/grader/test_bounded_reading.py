"""The grader reads submitted files in a bounded helper (`rnnkit.grader.bounded`), once per
grading: a module the source rules need for several exercises is parsed once, a file that
exhausts the helper's memory or time costs only itself, and notebooks keep their line maps.
Nothing here grades (no student process, no TensorFlow): seconds in all."""
import time

from conftest import KIT_ROOT
from hostile import module_of_one_list, nested_notebook, notebook_of_newlines

from rnnkit.course import BY_ID
from rnnkit.grader import scan


def test_a_module_is_read_once_per_grading_not_once_per_exercise_that_loads_it(tmp_path):
    """400 KB of one list: within the size a module may have, ~0.7 s and ~300 MB to parse,
    over the syntax nodes it may have. Before: parsed in the grader's own process for every
    exercise that loads it (ex01, and ex03-ex05 through ex03), and never refused."""
    (tmp_path / "ex01_simple_rnn.py").write_bytes(module_of_one_list(0.4))
    for name in ("ex03_gated_cells.py", "ex04_time_series.py"):
        (tmp_path / name).write_bytes((KIT_ROOT / "solutions" / name).read_bytes())
    refusal = ("ex01_simple_rnn.py has more than 100,000 syntax nodes: the grader reads an "
               "exercise module up to that many (the released ones have under 2,500)")
    seconds = []
    for exercise in ("ex01", "ex03", "ex04", "ex05"):
        started = time.monotonic()
        findings = scan.scan_submission(tmp_path, BY_ID[exercise])
        seconds.append(time.monotonic() - started)
        assert findings == [refusal], (exercise, findings)
    # the first call read every module; the others look their findings up (a parse: ~0.7 s)
    assert max(seconds[1:]) < 0.05, seconds


def test_a_module_that_exhausts_the_readers_memory_or_time_costs_only_itself(tmp_path):
    from rnnkit.grader import bounded

    dense, small = tmp_path / "dense.py", tmp_path / "small.py"
    dense.write_bytes(module_of_one_list(0.45))       # ~350 MB and ~0.8 s to parse
    small.write_text("x = 1\n")
    items = [{"path": str(path), "filename": path.name, "owner": "ex03"}
             for path in (dense, small)]
    short = bounded.read_each("module", items, memory=150 * 2**20)
    assert (short[0].failed, short[0].why) == ("memory", "reading it needs more than 150 MB of "
                                                         "memory")
    assert short[1].ok and short[1].value["ex03"] == []       # read by a new helper
    slow = bounded.read_each("module", items, seconds=0.1)
    assert (slow[0].failed, slow[0].why) == ("time", "reading it takes longer than 0.1 s")
    assert slow[1].ok and slow[1].value["ex04"] == []


def test_notebooks_are_read_in_the_bounded_reader_with_their_line_maps(tmp_path):
    """Before: the nested notebook raised RecursionError out of the grader, and the notebook
    of newlines took 6.5 GB and 23 s in it."""
    from rnnkit.grader.submission import Submission
    from rnnkit.notebooks import from_notebook
    from rnnkit.tools.notebooks import to_notebook

    (tmp_path / "ex01_simple_rnn.ipynb").write_bytes(nested_notebook(100_000))
    (tmp_path / "ex02_bptt.ipynb").write_bytes(notebook_of_newlines(99))
    solved = to_notebook((KIT_ROOT / "solutions" / "ex03_gated_cells.py").read_text(),
                         "ex03_gated_cells")
    (tmp_path / "ex03_gated_cells.ipynb").write_text(solved)
    submission = Submission(tmp_path)
    try:
        assert {key: len(value) for key, value in submission.problems.items()} == {
            "ex01": 1, "ex02": 1}
        assert "(it is nested too deeply to read)" in submission.problems["ex01"][0]
        assert submission.problems["ex02"][0].startswith(
            "ex02_bptt.ipynb has more than 20,000 lines of code")
        assert sorted(p.name for p in submission.folder.iterdir()) == ["ex03_gated_cells.py"]
        direct = from_notebook(solved.encode(), "ex03_gated_cells.ipynb")
        assert (submission.folder / "ex03_gated_cells.py").read_text() == direct.source
        name, converted = submission.maps["ex03_gated_cells.py"]
        assert name == "ex03_gated_cells.ipynb" and converted.lines == direct.lines
        assert len(direct.lines) > 200 and converted.where(40) == direct.where(40)
    finally:
        submission.cleanup()
