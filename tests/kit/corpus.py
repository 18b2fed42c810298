"""The corpus of classic mistakes (issue 24): correct exercise modules written in another
style than solutions/ (`tests/kit/exercises/styled/`), each copied with one or more classic
mistakes planted, graded, and held to the words its feedback must contain.

A mistake is a list of edits (text of the styled module -> the mistaken text) and, for each
check it must cost, words that check's feedback must contain. Mistakes that hit different
checks share one grading (a group), so the corpus costs one grading per group; every check a
group's mistakes do not name keeps its points, so a mistake costs only where it is named.

    MISTAKES = {"targets one step late": Mistake(edits=[(old, new)], named={check: words})}
    graded = grade_groups("ex04", MISTAKES, GROUPS, tmp)     # {group name: {check: test}}
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import BY_ID, closure

STYLED = Path(__file__).parent / "exercises" / "styled"


@dataclass(frozen=True)
class Mistake:
    edits: list                      # [(text in the styled module, the mistaken text)]
    named: dict                      # {start of a check's title: [words its feedback holds]}


@dataclass(frozen=True)
class Group:
    mistakes: tuple                  # names of mistakes planted together (different checks)
    selection: str | None = None     # pytest -k expression (None: every check)
    training: bool = False           # run the training checks too (-m "not training" if not)


def styled_source(exercise_id: str) -> str:
    return (STYLED / BY_ID[exercise_id].filename).read_text()


def plant(folder: Path, exercise_id: str, edits) -> Path:
    """A submission folder: the styled module of `exercise_id` with `edits` made (each must
    match exactly once: a corpus that no longer matches its module says so), and the
    solutions of the earlier exercises it imports."""
    exercise = BY_ID[exercise_id]
    folder.mkdir(parents=True)
    source = styled_source(exercise_id)
    for old, new in edits:
        assert source.count(old) == 1, f"the mistake no longer matches the styled module: {old!r}"
        source = source.replace(old, new)
    (folder / exercise.filename).write_text(source)
    for earlier in closure(exercise)[1:]:
        shutil.copyfile(KIT_ROOT / "solutions" / earlier.filename, folder / earlier.filename)
    return folder


def grade_checks(folder: Path, exercise_id: str, out: Path, selection: str | None,
                 training: bool) -> dict:
    """{check title: its results.json entry}, graded by the checks' own pytest run."""
    command = [sys.executable, "-m", "pytest", str(KIT_ROOT / "tests" / "grading" /
                                                  f"test_{exercise_id}.py"),
               "--target", str(folder), "--rnnkit-json", str(out), "-p", "no:terminal",
               "-p", "no:cacheprovider"]
    if selection:
        command += ["-k", selection]
    if not training:
        command += ["-m", "not training"]
    completed = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True,
                               timeout=900)
    assert out.is_file(), completed.stderr[-3000:] or completed.stdout[-3000:]
    tests = json.loads(out.read_text())["tests"]
    return {test["name"].split(" ", 1)[1]: test for test in tests}


def grade_groups(exercise_id: str, mistakes: dict, groups: dict, root: Path) -> dict:
    """{group name: {check title: result}}: each group's mistakes planted together in one
    copy of the styled module and graded, two gradings at a time."""
    def run(item):
        name, group = item
        edits = [edit for mistake in group.mistakes for edit in mistakes[mistake].edits]
        folder = plant(root / name.replace(" ", "_"), exercise_id, edits)
        return name, grade_checks(folder, exercise_id, root / f"{name.replace(' ', '_')}.json",
                                  group.selection, group.training)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, groups.items()))


def find(checks: dict, start: str) -> dict:
    """The one check whose title starts with `start`."""
    found = [test for title, test in checks.items() if title.startswith(start)]
    assert len(found) == 1, f"{start!r} names {len(found)} checks of {sorted(checks)}"
    return found[0]


def cases(mistakes: dict, groups: dict) -> list:
    """[(group, mistake, check, words)] for pytest.mark.parametrize: one case per named check."""
    return [(group, mistake, check, words) for group, spec in groups.items()
            for mistake in spec.mistakes for check, words in mistakes[mistake].named.items()]


def untouched(mistakes: dict, groups: dict, checks_of_group: dict) -> dict:
    """{group: [check titles no mistake of the group names]}: they must keep their points."""
    found = {}
    for group, spec in groups.items():
        named = [start for mistake in spec.mistakes for start in mistakes[mistake].named]
        found[group] = [title for title in checks_of_group[group]
                        if not any(title.startswith(start) for start in named)]
    return found


def assert_named_where_it_costs(test: dict, mistake: str, words) -> None:
    """The check a mistake must cost: no point left, and every word its feedback must hold."""
    assert test["score"] == 0, (mistake, test)
    for word in words:
        assert word in test["output"], (mistake, word, test["output"])


def assert_untouched_checks_keep_their_points(mistakes: dict, groups: dict, checks_of_group: dict,
                                              group: str) -> list:
    """Every check no mistake of `group` names keeps its points; the checks kept."""
    kept = untouched(mistakes, groups, checks_of_group)[group]
    checks = checks_of_group[group]
    lost = {title: checks[title]["output"] for title in kept
            if checks[title]["score"] < checks[title]["max_score"]}
    assert not lost, lost
    return kept
