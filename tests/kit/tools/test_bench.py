"""`python -m rnnkit bench`'s measuring parts, on small commands (the bench itself grades all
nine exercises several times: minutes, so it is run by hand, not here)."""
from __future__ import annotations

import sys

import pytest

from rnnkit.tools import bench

CHILDREN = """
import subprocess, sys, time
held = bytearray(200 * 2**20)          # 200 MiB touched in the parent
for i in range(0, len(held), 4096):
    held[i] = 1
child = subprocess.Popen([sys.executable, "-c",
    "b = bytearray(100 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n"
    "import time; time.sleep(1.5)"])
child.wait()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_of_a_process_tree_counts_its_children():
    measured = bench.measure_command([sys.executable, "-c", CHILDREN])
    assert measured["code"] == 0
    assert measured["processes"] >= 2
    # both processes' private pages at once: at least 300 MiB (each interpreter adds ~10)
    assert measured["pss"] >= 300 * 2**20, measured
    assert measured["rss"] >= measured["pss"]          # shared pages count once in PSS


def test_spread_is_median_and_range():
    found = bench.spread([3.0, 1.0, 2.0, 10.0])
    assert (found["median"], found["min"], found["max"]) == (2.5, 1.0, 10.0)


def test_the_report_shows_every_budget_with_its_limit():
    spread = bench.spread
    figures = {
        "date": "2026-11-28", "machine": "Linux x86_64, 2 cores", "budgets": bench.BUDGETS,
        "grading": {"seconds": spread([80.0, 85.0]), "pss_gib": spread([0.9, 0.95]),
                    "rss_gib": spread([1.5, 1.6]), "processes": 3,
                    "per_exercise": {"ex01": spread([6.0, 7.0])},
                    "training_checks": {"ex03 test_memory": spread([8.0, 9.0])},
                    "observer_cpu": spread([1.0, 2.0])},
        "starts": {"zygote": 4.0, "fork": spread([0.3, 0.4]), "fresh": spread([4.0, 5.0])},
        "training": {"GRUCell": {"custom": 1.1, "builtin": 1.0, "ratio": 1.1,
                                 "builtin_name": "GRU"}},
        "class": {"size": 4, "jobs": 2, "exercises": ["ex01"], "per_minute": 6.5,
                  "seconds": 37.0, "each": [30.0, 31.0, 20.0, 22.0],
                  "later": spread([20.0, 22.0]), "steady_per_minute": 2 * 60 / 21.0,
                  "pss_gib": 0.8, "rss_gib": 1.2},
    }
    text = bench.report(figures)
    for expected in ("82.5 s (80.0-85.0) | 90 s", "8.5 s (8.0-9.0) (ex03 test_memory) | 10 s",
                     "ex03 test_memory: 8.5 (8.0-9.0)", "used 1.5 s (1.0-2.0) of CPU",
                     "0.93 GiB (0.90-0.95) | 1 GiB", "0.35 s (0.30-0.40) / 4.5 s (4.0-5.0)",
                     "= 1.10x | 1.2x", "6.5 per minute (37 s) | - |",
                     "5.7 per minute (21 s each, 20-22) | 6 per minute **missed** |"):
        assert expected in text, (expected, text)
    assert text.count("**missed**") == 1          # only the class rate misses its target


def test_each_submission_is_read_from_grade_class_progress_lines():
    printed = ("[1/3] Zoé Ab (zoe_ab): 65 / 65 (31 s)\n"
               "[2/3] b: 0 / 65 (5 s)  ex01: grading failed (took (9 s) once)\n"
               "graded 3 submissions in 1.0 min (3.0 per minute)\n[3/3] c: 65 / 65 (20 s)\n")
    assert bench.each_submission(printed) == [31.0, 5.0, 20.0]
