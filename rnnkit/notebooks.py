"""Exercise notebooks read back as modules: by the grader, and in the student's Jupyter.

A notebook here is nbformat 4 JSON, small enough to read with `json` (no new dependency):
`from_notebook` turns a notebook back into a module with a line map, so what the grader
reports at `ex01_simple_rnn.py:57` reads "cell 9, line 3"; `notebook_imports` (called by every
notebook's set-up cell) lets a notebook import the earlier exercises where the student works.
Writing the notebooks is `release --out`'s (`rnnkit.tools.notebooks`).

Cells are numbered from the top, markdown cells included, starting at 1. The first cell is
the set-up cell (it finds the kit, or installs it in Colab); it is never graded.
"""
from __future__ import annotations

import ast
import itertools
import json
import re
from dataclasses import dataclass, field

SETUP_MARK = "# rnnkit setup"      # the first line of the set-up cell; the grader skips the cell
_SHELL_OR_MAGIC = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?(?P<kind>[!%])")

# -- reading ------------------------------------------------------------------------------------
@dataclass
class Converted:
    """A notebook read back as a module: its source, where each of its lines came from
    ((cell, line), both from 1), and why it cannot be graded (empty when it can)."""
    source: str = ""
    lines: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def where(self, line: int) -> str:
        if 1 <= line <= len(self.lines) and self.lines[line - 1]:
            cell, number = self.lines[line - 1]
            return f"cell {cell}, line {number}"
        return f"line {line} of the code cells"


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def is_setup(cell) -> bool:
    return _text(cell).lstrip().startswith(SETUP_MARK)


def from_notebook(data: bytes, name: str, *, max_lines: int | None = None) -> Converted:
    """The code cells of a notebook, in order, as one module (outputs are never read).

    Shell lines (`!pip ...`) and IPython magics (`%matplotlib ...`) are not Python: they are
    refused, each named by cell and line, rather than silently dropped. `max_lines`: code cells
    holding more lines than that are refused before they are split (the grader's limit: a
    notebook of 50 million empty lines made a line map of 6.5 GB); JSON nested deeper than
    Python's recursion limit is refused, not raised."""
    try:
        document = json.loads(data.decode("utf-8"))
        cells = document.get("cells") if isinstance(document, dict) else None
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise ValueError("it holds no list of cells")
    except RecursionError:
        return Converted(problems=[_unreadable(name, "it is nested too deeply to read")])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        return Converted(problems=[_unreadable(name, reason)])
    converted = Converted()
    out: list[str] = []
    left = max_lines
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code" or is_setup(cell):
            continue
        text = _text(cell)
        if left is not None:
            # counted as splitlines() splits, and no further than the limit
            left -= sum(1 for _ in itertools.islice(_LINE_BREAKS.finditer(text), left + 1)) + 1
            if left < 0:
                return Converted(problems=[
                    f"{name} has more than {max_lines:,} lines of code: the grader reads a "
                    "notebook's code cells up to that many (the released ones have under 500)"])
        lines = text.splitlines()
        converted.problems += _not_python(lines, name, number)
        out += lines + [""]
        converted.lines += [(number, line) for line in range(1, len(lines) + 1)] + [None]
    converted.source = "\n".join(out) + "\n"
    return converted


_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _unreadable(name: str, reason: str) -> str:
    return (f"{name} is not a notebook Jupyter could open ({reason}): download it again from "
            "Jupyter (File > Download as .ipynb), or hand in the .py module instead")


def _not_python(lines: list[str], name: str, cell: int) -> list[str]:
    try:
        ast.parse("\n".join(lines))
        return []                      # a `%` or `!` inside an expression is Python
    except SyntaxError:
        pass
    problems = []
    for number, line in enumerate(lines, start=1):
        match = _SHELL_OR_MAGIC.match(line)
        if match:
            shown = json.dumps(line.strip()[:60], ensure_ascii=False)[1:-1]   # one line
            shell = match.group("kind") == "!"
            what = "a shell line (!)" if shell else "an IPython magic (%)"
            hint = " (run installs in a terminal)" if shell else ""
            problems.append(f"{name} cell {cell}, line {number}: `{shown}` is {what}, not Python: "
                            f"the grader runs your code cells as plain Python, so delete the "
                            f"line{hint}")
    return problems


def translate(text: str, maps: dict) -> str:
    """Locations in `text` ("ex01_simple_rnn.py:57") pointed into the notebooks they came from
    ("ex01_simple_rnn.ipynb cell 9, line 3"); maps: {module file name: (notebook name,
    Converted)}."""
    if not maps or not text:
        return text
    names = "|".join(re.escape(name) for name in maps)
    pattern = re.compile(rf"(?<![\w.])({names})(?::(\d+))?(?![\w])")

    def replace(match):
        notebook, converted = maps[match.group(1)]
        if match.group(2) is None:
            return notebook
        return f"{notebook} {converted.where(int(match.group(2)))}"

    return pattern.sub(replace, text)


# -- running notebooks (in the student's Jupyter, not in grading) ------------------------------
def notebook_imports(module: str) -> str:
    """Make `from exNN_topic import X` in a notebook find that exercise where the student works:
    its `.ipynb` (code cells, set-up cell skipped) or `.py` in the current folder, else the kit's
    `exercises/`. Returns a `__file__` for the notebook (the exercises read it)."""
    import importlib.abc
    import importlib.util
    import os
    import sys
    from pathlib import Path

    from rnnkit import KIT_ROOT
    from rnnkit.course import BY_MODULE

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    here = Path.cwd()

    class Loader(importlib.abc.Loader):
        def __init__(self, path: Path):
            self.path = path

        def create_module(self, spec):
            return None

        def exec_module(self, loaded):
            if self.path.suffix == ".ipynb":
                converted = from_notebook(self.path.read_bytes(), self.path.name)
                if converted.problems:
                    raise ImportError(converted.problems[0])
                source = converted.source
            else:
                source = self.path.read_text()
            exec(compile(source, str(self.path), "exec"), loaded.__dict__)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname not in BY_MODULE:
                return None
            for candidate in (here / f"{fullname}.ipynb", here / f"{fullname}.py",
                              KIT_ROOT / "exercises" / f"{fullname}.py"):
                if candidate.is_file():
                    return importlib.util.spec_from_file_location(fullname, candidate,
                                                                  loader=Loader(candidate))
            return None

    if not any(type(finder).__name__ == "Finder" and type(finder).__module__ == __name__
               for finder in sys.meta_path):
        sys.meta_path.insert(0, Finder())
    show_saved_plots()
    return str(here / f"{module}.py")


def show_saved_plots(shell=None, folder="runs", display=None) -> bool:
    """In Jupyter or Colab, show inline every PNG a cell saved under `folder` (the exercises
    save their plots with `rnnkit.plots.save_figure`, which closes the figure, so nothing
    would show): after each cell, the PNGs that are new or changed since it started. The
    files stay where they were saved. Returns whether it is watching (False outside IPython).
    Calling it again replaces the earlier watch."""
    from pathlib import Path

    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "events"):
        return False
    if display is None:
        from IPython.display import Image, display as show

        def display(path):
            show(Image(filename=str(path)))

    def saved():
        root = Path(folder)
        return {path: (stat.st_mtime_ns, stat.st_size) for path in sorted(root.rglob("*.png"))
                for stat in [path.stat()]} if root.is_dir() else {}

    before = {}

    def pre_run_cell(*_):
        before.clear()
        before.update(saved())

    def post_run_cell(*_):
        for path, state in saved().items():
            if before.get(path) != state:
                display(path)

    for event, callback in (("pre_run_cell", pre_run_cell), ("post_run_cell", post_run_cell)):
        for earlier in list(shell.events.callbacks.get(event, [])):
            if getattr(earlier, "__qualname__", "").startswith("show_saved_plots."):
                shell.events.unregister(event, earlier)
        shell.events.register(event, callback)
    pre_run_cell()
    return True
