"""The submitted folder as the grader sees it: notebooks become modules here, at the boundary.

A student may hand in `ex01_simple_rnn.ipynb` instead of `ex01_simple_rnn.py`. When the
folder holds any exercise notebook, the grader (this process, never the student's) writes a
private folder of modules: the `.py` files copied, each notebook's code cells converted
(`rnnkit.notebooks.from_notebook`, outputs ignored). Everything downstream (the source scan,
the student's process, the fresh seed) reads that folder, and `translate` points locations in
the feedback back into the notebooks' cells.

Refused, costing only that exercise: a notebook with shell lines or magics, one that is not
notebook JSON, and an exercise handed in twice (`.py` and `.ipynb`: which one was meant?).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rnnkit.course import EXERCISES
from rnnkit.notebooks import from_notebook, translate

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
        for exercise in EXERCISES:
            self._take(exercise)

    def _take(self, exercise) -> None:
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
                return
            converted = from_notebook(notebook.read_bytes(), exercise.notebook)
            if converted.problems:
                self.problems[exercise.id] = converted.problems
                return
            (self.folder / exercise.filename).write_text(converted.source)
            self.maps[exercise.filename] = (exercise.notebook, converted)

    def refusals(self, exercise) -> list[str]:
        return list(self.problems.get(exercise.id, []))

    def translate(self, text: str) -> str:
        return translate(text, self.maps)

    def cleanup(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
