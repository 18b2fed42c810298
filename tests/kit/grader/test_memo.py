"""The memo of oracle results (`rnnkit.grader.memo`): a remembered result is the one the
oracle computes, handed out as a new copy; only module-level functions of plain data are
remembered; the warm grader's part (report and merge) takes plain data only and keeps to its
budget. The warm grader's own use of it is in test_warm.py; here too, what grade-class does
where it may not use warm graders (no Landlock)."""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from rnnkit.tools import classroom
from rnnkit.grader import memo
from rnnkit.grader.session import Grader
from rnnkit.sandbox import wire

CALLS: list[tuple] = []
# Grader.oracle on the grader's own code (no student process, no official name): a session
# object with nothing started, since that path reads nothing of the session.
GRADER = object.__new__(Grader)


def doubled(x, scale=2.0):
    """A module-level oracle that counts its calls."""
    CALLS.append((np.asarray(x).tolist(), scale))
    return {"y": np.asarray(x, dtype="float32") * scale, "pair": (1, 2.5)}


def drifting(x):
    """Not a function of its inputs alone: what RNNKIT_ORACLE_MEMO=check is there to find."""
    CALLS.append(x)
    return len(CALLS)


def a_model(x):
    return object()                         # not plain data


def counted(anything):
    CALLS.append(1)
    return 7


@pytest.fixture(autouse=True)
def fresh_memo(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(memo, "MEMO", memo.OracleMemo())
    monkeypatch.delenv("RNNKIT_ORACLE_MEMO", raising=False)


def test_a_remembered_result_equals_the_computed_one_and_is_a_new_copy_each_time():
    x = np.arange(3, dtype="float32")
    first = GRADER.oracle(doubled, x)
    first["y"][:] = -1                      # a check that changes what it was given
    second = GRADER.oracle(doubled, x)
    assert len(CALLS) == 1
    np.testing.assert_array_equal(second["y"], [0, 2, 4])
    assert second["y"].dtype == np.float32
    # The same types whether computed or remembered: plain data as the wire carries it.
    assert first["pair"] == second["pair"] == [1, 2.5]


def test_other_inputs_keyword_or_seed_are_computed_again():
    x = np.arange(3, dtype="float32")
    GRADER.oracle(doubled, x)
    GRADER.oracle(doubled, x + 1)
    GRADER.oracle(doubled, x, scale=3.0)
    GRADER.oracle(doubled, x, seed=1)
    GRADER.oracle(doubled, x.astype("float64"))      # same values, another dtype
    assert len(CALLS) == 5
    assert memo.MEMO.misses == 5 and memo.MEMO.hits == 0


def test_only_module_level_functions_of_plain_data_are_remembered():
    x = np.arange(3, dtype="float32")
    scale = 2.0

    def nested(values):
        return doubled(values, scale)

    for _ in range(2):
        GRADER.oracle(nested, x)
        GRADER.oracle(lambda values: doubled(values), x)
        GRADER.oracle(counted, {1, 2})                     # an input that is not plain data
    assert len(CALLS) == 6
    results = [GRADER.oracle(a_model, x) for _ in range(2)]
    assert results[0] is not results[1]                    # computed each time, as it is
    assert memo.function_name(nested) is None and memo.function_name(len) is None
    assert memo.function_name(doubled) == f"{__name__}.doubled"


def test_off_computes_everything_and_check_finds_an_oracle_that_drifts(monkeypatch):
    monkeypatch.setenv("RNNKIT_ORACLE_MEMO", "off")
    GRADER.oracle(doubled, 1.0)
    GRADER.oracle(doubled, 1.0)
    assert len(CALLS) == 2
    monkeypatch.setenv("RNNKIT_ORACLE_MEMO", "check")
    GRADER.oracle(doubled, 1.0)
    GRADER.oracle(doubled, 1.0)                            # remembered, computed again: equal
    assert len(CALLS) == 4
    GRADER.oracle(drifting, 5)
    with pytest.raises(memo.MemoMismatch, match="drifting"):
        GRADER.oracle(drifting, 5)


def test_the_memo_keeps_to_its_budget_dropping_the_least_recently_used():
    small = memo.OracleMemo(budget=3000)
    for index in range(3):
        small.remembered("f", index, lambda: np.zeros(200, dtype="float32"))   # ~900 B each
    small.remembered("f", 0, lambda: pytest.fail("0 is remembered"))           # used again
    small.remembered("f", 3, lambda: np.zeros(200, dtype="float32"))           # 1 is dropped
    assert small.size <= 3000
    assert [small.key("f", i) in small.entries for i in range(4)] == [True, False, True, True]
    huge = np.zeros(memo.ENTRY_LIMIT // 4 + 1, dtype="float32")
    small.remembered("g", 0, lambda: huge)
    assert small.key("g", 0) not in small.entries


def test_a_forked_graders_report_adds_plain_data_only():
    """What the warm grader merges comes from a grader it forked, over a pipe only that
    grader holds; it is still decoded as any plain-data message, never unpickled, and
    entries that are not byte strings are left out."""
    forked = memo.OracleMemo()
    forked.remembered("f", 1, lambda: [1.0, 2.0])
    forked.remembered("f", 2, lambda: "two")
    warm = memo.OracleMemo()
    assert warm.merge(forked.report()) == {"added": 2, "used": 0}
    assert wire.decode(warm.entries[warm.key("f", 1)]) == [1.0, 2.0]
    assert warm.merge(forked.report()) == {"added": 0, "used": 0}   # already there
    forked.begin_grading()
    assert forked.report() == memo.OracleMemo().report()   # a new grading reports only its own
    forked.entries = warm.entries
    forked.remembered("f", 1, lambda: pytest.fail("remembered"))
    assert warm.merge(forked.report()) == {"added": 0, "used": 1}
    odd = wire.encode({"used": [3], "new": {"k": np.zeros(2, dtype="float32"), "j": "text"}})
    assert warm.merge(odd) == {"added": 0, "used": 0}
    for malformed in (wire.encode([1, 2]), wire.encode({"used": "x", "new": {}}), b"\0" * 9):
        with pytest.raises(wire.WireError):
            warm.merge(malformed)
    assert len(warm.entries) == 2


def test_without_landlock_grade_class_grades_without_warm_graders(monkeypatch):
    """A warm grader, its zygote and its memo outlive a submission; without Landlock a
    student process of the grader's user could write into their memory through /proc, so
    grade-class then gives every submission a grader of its own, and says why."""
    from rnnkit.sandbox import walls

    def missing():
        raise OSError("Landlock is not available in this kernel (simulated)")

    monkeypatch.setattr(walls, "landlock_abi", missing)
    monkeypatch.delenv("RNNKIT_WARM_GRADER", raising=False)
    lines: list[str] = []
    slots = classroom.WarmSlots(2, echo=lines.append)
    try:
        assert [slot._warm for slot in slots._slots] == [None, None]    # _fresh_grader each
    finally:
        slots.close()
    if sys.platform.startswith("linux"):
        assert len(lines) == 1 and "(simulated)" in lines[0] and "Landlock" in lines[0], lines


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="grade-class grades on Linux")
def test_a_fresh_grading_killed_at_its_limit_leaves_no_folder(tmp_path):
    """Without warm graders (no Landlock, RNNKIT_WARM_GRADER=off, or after one died) each
    submission's grader is a process of its own; killed at its limit, it leaves nothing."""
    hangs, temporary = tmp_path / "hangs", tmp_path / "tmp"
    hangs.mkdir()
    temporary.mkdir()
    (hangs / "ex01_simple_rnn.py").write_text("import time\ntime.sleep(600)\n")
    argv = ["grade", "ex01", "--target", str(hangs), "--json", str(tmp_path / "h.json")]
    started = time.monotonic()
    assert classroom._fresh_grader(argv, tmp_path / "h.log", 20,
                                   {**os.environ, "TMPDIR": str(temporary)}) == (None, True)
    assert time.monotonic() - started < 60
    assert list(temporary.iterdir()) == []


def test_a_switch_set_to_a_value_the_kit_does_not_know_is_refused():
    """`RNNKIT_ORACLE_MEMO=Off` must not quietly mean on."""
    import subprocess

    from rnnkit import KIT_ROOT

    for name, value in (("RNNKIT_ORACLE_MEMO", "Off"), ("RNNKIT_WARM_GRADER", "0")):
        completed = subprocess.run([sys.executable, "-m", "rnnkit", "grade", "ex02"],
                                   cwd=KIT_ROOT, capture_output=True, text=True, timeout=120,
                                   env={**os.environ, name: value})
        assert completed.returncode == 2, completed.stderr
        assert f"{name}='{value}': expected on" in completed.stderr
