"""The submitted folder as the grader sees it: notebooks become modules here, at the boundary.

A student may hand in `ex01_simple_rnn.ipynb` instead of `ex01_simple_rnn.py`. When the
folder holds any exercise notebook, the grader (this process, never the student's) writes a
private folder of modules: the `.py` files copied, each notebook's code cells converted
(`rnnkit.notebooks.from_notebook`, outputs ignored). Everything downstream (the source scan,
the student's process, the submission seed) reads that folder, and `translate` points locations in
the feedback back into the notebooks' cells.

Refused, costing only that exercise: a notebook with shell lines or magics, one that is not
notebook JSON (or is nested too deeply to read), one larger than `MAX_NOTEBOOK_MB` or with more
lines of code than a module may have (`rnnkit.grader.scan.MODULE_LINES`), one whose reading
needs more than the reader's memory or time, and an exercise handed in twice (`.py` and
`.ipynb`: which one was meant?). The notebooks are read by one bounded helper per grading
(`rnnkit.grader.bounded`), never in the grader's own process.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rnnkit.course import EXERCISES
from rnnkit.notebooks import Converted, from_notebook, translate

MAX_NOTEBOOK_MB = 100      # outputs (images) make notebooks large; they are never read


class Submission:
    def __init__(self, target):
        self.target = Path(target)
        self.folder = self.target          # what the grader reads
        self.maps: dict = {}               # module file name -> (notebook name, Converted)
        self.problems: dict = {}           # exercise id -> [sentence]: not graded
        self._scratch = None
        if not any((self.target / e.notebook).is_file() for e in EXERCISES):
            return
        self._scratch = tempfile.TemporaryDirectory(prefix="rnnkit-notebooks-")
        self.folder = Path(self._scratch.name)
        self._convert([exercise for exercise in EXERCISES if self._take(exercise)])

    def _take(self, exercise) -> bool:
        """Copy the exercise's module, or refuse it; True for a notebook still to convert."""
        module, notebook = self.target / exercise.filename, self.target / exercise.notebook
        usable = [path for path in (module, notebook) if path.is_file() and not path.is_symlink()]
        if len(usable) == 2:
            self.problems[exercise.id] = [
                f"both {exercise.filename} and {exercise.notebook} were handed in; keep only the "
                "one you worked in (the grader will not guess which one you meant)"]
        elif usable == [module]:
            shutil.copyfile(module, self.folder / exercise.filename)
        elif usable == [notebook]:
            if notebook.stat().st_size > MAX_NOTEBOOK_MB * 2**20:
                self.problems[exercise.id] = [f"{exercise.notebook} is larger than "
                                              f"{MAX_NOTEBOOK_MB} MB; clear its outputs"]
                return False
            return True
        return False

    def _convert(self, exercises) -> None:
        """The notebooks converted in one bounded helper: each module written beside the
        others, its line map kept for the feedback; a notebook the helper could not read
        within its limits costs its exercise, with one line."""
        from rnnkit.grader import bounded

        if not exercises:
            return
        items = [{"path": str(self.target / e.notebook), "name": e.notebook,
                  "out": str(self.folder / e.filename)} for e in exercises]
        try:
            reads = bounded.read_each("notebook", items)
        except bounded.ReaderProblem as problem:      # the grader's fault: said, never hidden
            for exercise in exercises:
                self.problems[exercise.id] = [f"{exercise.notebook} was not read: {problem}"]
            return
        for exercise, read in zip(exercises, reads):
            if not read.ok:
                (self.folder / exercise.filename).unlink(missing_ok=True)   # half written
                self.problems[exercise.id] = [
                    f"{exercise.notebook} could not be read within the grader's limits "
                    f"({read.why}): clear its outputs, or hand in the .py module instead"]
            elif read.value["problems"]:
                self.problems[exercise.id] = list(read.value["problems"])
            else:
                converted = Converted(lines=[entry for cell, count in read.value["cells"]
                                             for entry in [(cell, line) for line in
                                                           range(1, count + 1)] + [None]])
                self.maps[exercise.filename] = (exercise.notebook, converted)

    def refusals(self, exercise) -> list[str]:
        return list(self.problems.get(exercise.id, []))

    def translate(self, text: str) -> str:
        return translate(text, self.maps)

    def cleanup(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def read_notebook(path: str, name: str, out: str) -> dict:
    """In the bounded helper (`rnnkit.grader.bounded`): the notebook at `path` converted, its
    module written to `out`; {"problems": [...], "cells": [[cell, its lines], ...]} (the line
    map, one pair per code cell)."""
    import os

    from rnnkit.grader.scan import MODULE_LINES

    if os.stat(path).st_size > MAX_NOTEBOOK_MB * 2**20:
        return {"problems": [f"{name} is larger than {MAX_NOTEBOOK_MB} MB; clear its outputs"]}
    with open(path, "rb") as handle:
        converted = from_notebook(handle.read(), name, max_lines=MODULE_LINES)
    if converted.problems:
        return {"problems": converted.problems}
    with open(out, "w") as handle:
        handle.write(converted.source)
    cells, count, cell = [], 0, None
    for entry in converted.lines:
        if entry is None:
            cells.append([cell, count])
            count = 0
        else:
            cell, count = entry[0], entry[1]
    return {"problems": [], "cells": cells}
