"""What a submission hands back, and how long it takes, is the exercise's cost, never the
grader's (issue 23). Planted submissions, built here from the released stubs, graded through
`python -m rnnkit grade` and measured as `hostile.measure` does:

- a reply frame written by student code into the worker's reply pipe, whose header is 8 MiB of
  `[[],[],...]`: decoding it grew the grader by ~50 bytes per byte (the reviewer's 48 MiB:
  3.0 GB against 0.58 GB, 19 s of CPU per reply). It is refused before it is decoded
  (`wire.MAX_REPLY_HEADER_BYTES`, `wire.MAX_REPLY_HEADER_ITEMS`), costing its check only;
- a module that sleeps at import and hangs (ex02) or crashes (ex01) in every function: each
  check paid a restart and its timeout (the reviewer's: 15 min 52 s for one exercise). The
  exercise's time budget (`session.EXERCISE_BUDGET_SECONDS`, lowered here to BUDGET by its
  environment variable) ends it, and a process is not started again when its last import
  took longer than the time left.
"""
import json
import re

from hostile import measure, stubbed_with, wire_bomb
from rnnkit.grader.session import OUT_OF_TIME_ADVICE

GIB, MIB = 2**30, 2**20
BOMB_MB = 8          # ~400 MB of Python objects when decoded: far above the noise
# How far the grader's peak may exceed a clean grading's: what a reply within the limits may
# cost to decode (~50 MiB for 1 MiB of header) and some noise. Measured: +1 MiB (the refused
# frame is read no further than its header's length), +415 MiB before the limits.
PEAK_MARGIN = 64 * MIB
# Seconds the bomb may add to a clean grading of ex02 (7-9 s): 2-6 s with the limits, 60 s
# before them (~3 s of CPU decoding each of its replies).
SLOWER_BY = 30
BUDGET = 15          # seconds per exercise: a few restarts of a module that imports in 4-5 s


def grade(tmp_path, name, modules, *exercises, timeout=180):
    target = tmp_path / name
    target.mkdir()
    for filename, text in modules.items():
        (target / filename).write_text(text)
    results = tmp_path / f"{name}.json"
    measured = measure("grade", *exercises, "--target", target, "--json", results,
                       timeout=timeout, kill_above=4 * GIB, tmp=tmp_path)
    assert not measured.killed, f"killed: {measured.killed}\n{measured.stderr[-2000:]}"
    assert measured.code in (0, 1), measured.stderr[-3000:]
    return measured, json.loads(results.read_text())["tests"]


def test_a_reply_frame_of_nested_lists_is_refused_before_it_is_decoded(tmp_path):
    """Measured here, a clean grading of ex02 against the bomb: the grader's peak RSS 0.551
    against 0.966 GiB before the limits (69 s against 9 s), 0.552 GiB after (13 s)."""
    from rnnkit.sandbox import wire

    clean, _ = grade(tmp_path, "clean", {"ex02_bptt.py": stubbed_with("ex02_bptt.py",
                                                                       "return None")}, "ex02")
    bombed, tests = grade(tmp_path, "bombed", {"ex02_bptt.py": wire_bomb(BOMB_MB)}, "ex02")
    grown = bombed.largest - clean.largest
    assert grown <= PEAK_MARGIN, (f"the grader peaked {grown / MIB:.0f} MiB above a clean "
                                  f"grading ({bombed.largest / GIB:.2f} GiB)")
    assert bombed.seconds <= clean.seconds + SLOWER_BY, (bombed.seconds, clean.seconds)
    header = 3 * (BOMB_MB * MIB // 3) + 1
    said = (f"your code returned more than the grader reads during the check: a structured "
            f"part of {header:,} bytes, over the {wire.MAX_REPLY_HEADER_BYTES:,} the grader "
            "reads (return arrays for bulk numbers)")
    refused = [t for t in tests if t["output"] == said]
    assert refused and all(t["tags"] == ["ex02", "bad_output"] for t in refused), \
        {t["output"] for t in tests}
    assert sum(t["score"] for t in tests) == 0


def test_an_exercise_stops_at_its_time_budget_and_a_slow_import_is_not_restarted(
        tmp_path, monkeypatch):
    """ex02 sleeps 5 s at import and hangs in every function; ex01 sleeps 4 s at import and
    exits (os._exit) in every function. Before: each of ex01's 15 checks paid a restart, and
    each of ex02's its 30 s timeout and a restart: killed here at 180 s, two checks into
    ex02. After: 47 s, three of ex01's checks crashed, the rest and all of ex02 not run."""
    monkeypatch.setenv("RNNKIT_EXERCISE_BUDGET", str(BUDGET))   # session.BUDGET_VARIABLE
    modules = {
        "ex01_simple_rnn.py": stubbed_with("ex01_simple_rnn.py", "os._exit(3)",
                                           "import os\nimport time\ntime.sleep(4)"),
        "ex02_bptt.py": stubbed_with("ex02_bptt.py", "time.sleep(3600)",
                                     "import time\ntime.sleep(5)")}
    measured, tests = grade(tmp_path, "slow", modules, "ex01", "ex02")
    # each exercise within its budget, and the grader's own start (TensorFlow, the scan)
    assert measured.seconds <= 2 * BUDGET + 40, f"{measured.seconds:.0f} s"
    ex01 = [t for t in tests if t["tags"][0] == "ex01"]
    ex02 = [t for t in tests if t["tags"][0] == "ex02"]
    assert sum(t["score"] for t in ex01 + ex02) == 0
    spent = f"not graded: ex02 used up its time budget of 15 s: {OUT_OF_TIME_ADVICE}"
    assert {t["output"] for t in ex02} == {spent}, {t["output"] for t in ex02}
    assert {t["tags"][1] for t in ex02} == {"out_of_time"}
    # ex01: crashes, each restarted while an import fits in what is left; then not restarted
    crashed = [t for t in ex01 if t["tags"][1] == "crash"]
    unrun = [t for t in ex01 if t["tags"][1] == "out_of_time"]
    assert crashed and unrun and len(crashed) + len(unrun) == len(ex01), \
        [(t["tags"][1], t["output"]) for t in ex01]
    pattern = (r"not graded: ex01 used up its time budget of 15 s( \(its module took \d+ s to "
               r"import, and \d+ s were left\))?: " + re.escape(OUT_OF_TIME_ADVICE))
    assert all(re.fullmatch(pattern, t["output"]) for t in unrun), [t["output"] for t in unrun]
    assert any("its module took" in t["output"] for t in unrun), [t["output"] for t in unrun]
