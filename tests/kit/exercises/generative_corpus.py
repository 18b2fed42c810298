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
