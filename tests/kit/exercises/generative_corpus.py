"""Helpers of the classic-mistake corpora of ex07-ex09 (test_ex07/08/09_grading.py): a
submission made from a correct module written in another style than solutions/
(tests/kit/exercises/styled/), with mistakes planted by exact text edits, and the feedback of
each check of its grading."""
import shutil
from pathlib import Path

from conftest import grade

from rnnkit import KIT_ROOT

STYLED = Path(__file__).parent / "styled"


def plant(folder: Path, module: str, edits=(), cells=()) -> Path:
    """A submission folder: the solutions' ex01 and ex03 (with `cells` edits), and the styled
    `module` with `edits` applied, each (old, new) matching exactly once."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(KIT_ROOT / "solutions" / "ex01_simple_rnn.py", folder)
    for name, changes in (("ex03_gated_cells.py", cells), (f"{module}.py", edits)):
        source = ((KIT_ROOT / "solutions" if name.startswith("ex03") else STYLED) / name)\
            .read_text()
        for old, new in changes:
            assert source.count(old) == 1, f"the plant no longer matches {name}: {old!r}"
            source = source.replace(old, new)
        (folder / name).write_text(source)
    return folder


class Checks:
    """The checks of one grading by title: `checks["words of the title"]` is the one whose
    title holds those words (exactly one must)."""

    def __init__(self, graded):
        self.graded, self.tests = graded, graded.tests

    def __getitem__(self, words):
        found = [t for t in self.tests if words in t["name"]]
        assert len(found) == 1, (words, [t["name"] for t in self.tests])
        return found[0]

    def lost(self):
        return [t for t in self.tests if t["score"] < t["max_score"]]


def graded(tmp_path_factory, name, module, exercise, edits=(), cells=(), options=()):
    folder = plant(tmp_path_factory.mktemp(name) / "submission", module, edits, cells)
    return Checks(grade(folder, exercise, *options, tmp=tmp_path_factory.mktemp(f"{name}_out")))


# -- what test_ex07/08/09_grading.py share: PLANTS = {plant: ({mistake: (edits, {title words:
# feedback words})}, grade options)} ---------------------------------------------------------
def grade_plants(tmp_path_factory, exercise, module, plants, cells=None):
    """{plant: Checks} of each plant's grading (its mistakes' edits together); `cells`:
    {plant: edits of ex03's cells}."""
    found = {}
    for name, (mistakes, options) in plants.items():
        edits = [edit for plant_edits, _ in mistakes.values() for edit in plant_edits]
        found[name] = graded(tmp_path_factory, f"{exercise}_{name}", module, exercise, edits,
                             (cells or {}).get(name, ()), options)
    return found


def cases(plants):
    """(plant, mistake, title words, feedback words) of every named mistake, and their ids."""
    found = [(plant, mistake, title, words) for plant, (mistakes, _) in plants.items()
             for mistake, (_, named) in mistakes.items() for title, words in named.items()]
    return found, [f"{m} [{t}]" for _, m, t, _ in found]


def assert_full_marks_officially(correct):
    assert correct.graded.completed.stdout.startswith("Official grade"), \
        correct.graded.completed.stdout[:300]
    assert not correct.lost() and correct.graded.score() == correct.graded.max_score() > 0, \
        [(t["name"], t["output"]) for t in correct.lost()]


def assert_named(check, words):
    """The check lost all its points and its feedback holds `words` (a string, or a list of
    strings that must all appear)."""
    words = [words] if isinstance(words, str) else words
    assert check["score"] == 0 and all(w in check["output"] for w in words), check["output"]


def assert_no_other_check_lost(checks, plants, plant):
    named = {title for _, named in plants[plant][0].values() for title in named}
    lost = [t["name"] for t in checks.lost() if not any(title in t["name"] for title in named)]
    assert not lost, lost
