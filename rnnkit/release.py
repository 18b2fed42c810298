"""`python -m rnnkit release`: make the student version of the kit from `solutions/`.

- Every block between a `# BEGIN SOLUTION` line and an `# END SOLUTION` line in
  `solutions/*.py` becomes a stub that raises NotImplementedError naming the function to
  write; signatures, docstrings and everything outside blocks stay.
- The recorded references (`data/references/<id>.npz`) are made by grading `solutions/` in
  "record" mode, which also proves the solutions score every point; a manifest holds a
  fingerprint of what each recording depends on, so `--check` can tell stale ones quickly.
- `--out DIR` writes a self-contained student kit (no solutions, no instructor tests), with
  each exercise also as a notebook in `notebooks/`; `--with-solutions` adds `solutions/` for
  publishing after the deadline.

The notebooks are generated into the kit only, never stored in the repository: each is a
view of its `exercises/` module (stored, it would repeat every line as JSON, and a folder
holding both would hand in every exercise twice). `--check` proves the views sound: every
notebook's code cell runs on its own and its cells read back as exactly its module's code.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES, closure

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
MANIFEST = "manifest.json"
# What a student kit never contains: the reference, the instructor's tests, local clutter.
INSTRUCTOR_ONLY = ("solutions", "tests/kit", ".ci")
CLUTTER = {".git", "runs", "__pycache__", ".pytest_cache", "build", "dist"}


class ReleaseError(Exception):
    """Release cannot go on; the message says why and where."""


# -- stripping --------------------------------------------------------------------------------
def solution_blocks(source: str, filename: str) -> list[tuple[int, int, str]]:
    """(begin line, end line, indent) of every block, 1-based; ReleaseError when unbalanced."""
    blocks, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.match(line):
            if start is not None:
                raise ReleaseError(f"{filename}:{number}: BEGIN SOLUTION inside another block "
                                   f"(opened at line {start[0]})")
            start = (number, BEGIN.match(line).group("indent"))
        elif END.match(line):
            if start is None:
                raise ReleaseError(f"{filename}:{number}: END SOLUTION without BEGIN SOLUTION")
            blocks.append((start[0], number, start[1]))
            start = None
    if start is not None:
        raise ReleaseError(f"{filename}:{start[0]}: BEGIN SOLUTION is never closed")
    return blocks


def _functions(tree) -> list[tuple[int, int, str, ast.AST]]:
    """(first line, last line, qualified name, node) of every function in the module."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno, name, child))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def stub_line(name: str, what: str) -> str:
    """The line that stands for a solution block: it names the function and what to do."""
    return f"raise NotImplementedError({f'{name} is not written yet: {what}'!r})"


def _blocks_with_functions(source: str, filename: str):
    """(begin, end, indent, qualified function name, first docstring sentence) per block."""
    blocks = solution_blocks(source, filename)
    if not blocks:
        return []
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        raise ReleaseError(f"{filename}:{error.lineno}: the solution does not parse: {error.msg}")
    functions = _functions(tree)
    found = []
    for begin, end, indent in blocks:
        enclosing = [f for f in functions if f[0] < begin <= f[1]]
        if not enclosing:
            raise ReleaseError(f"{filename}:{begin}: a solution block must sit inside a function")
        _, _, name, node = max(enclosing, key=lambda f: f[0])
        found.append((begin, end, indent, name, first_sentence(ast.get_docstring(node))))
    return found


def first_sentence(doc: str | None) -> str:
    """The docstring's first sentence on one line (up to the first ". " or the end of its
    first paragraph), so a stub's message never stops mid-sentence."""
    if not doc or not doc.strip():
        return "see the exercise text."
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(?:\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return sentence if sentence.endswith((".", "?", "!")) else sentence + "."


def stubs_of(exercise, root: Path = KIT_ROOT) -> list[tuple[str, str]]:
    """[(function, stub line)] that release writes into the exercise's module."""
    path = root / "solutions" / exercise.filename
    source = path.read_text()
    return [(name, stub_line(name, what))
            for _, _, _, name, what in _blocks_with_functions(source, f"solutions/{path.name}")]


def strip_solutions(source: str, filename: str) -> str:
    """The student version of one solution module."""
    found = _blocks_with_functions(source, filename)
    lines = source.splitlines(keepends=True)
    for begin, end, indent, name, what in reversed(found):
        lines[begin - 1:end] = [f"{indent}# YOUR CODE (replace this line)\n"
                                f"{indent}{stub_line(name, what)}\n"]
    student = "".join(lines)
    try:
        ast.parse(student, filename)
    except SyntaxError as error:  # e.g. a block that was the only statement of a loop body
        raise ReleaseError(f"{filename}:{error.lineno}: the stripped module does not parse "
                           f"({error.msg}); move the block so a function body remains")
    return student


def generated_exercises(root: Path = KIT_ROOT) -> dict[str, bytes]:
    """relative path inside exercises/ -> content, generated from solutions/."""
    solutions = root / "solutions"
    if not (solutions / "__init__.py").is_file():
        raise ReleaseError(f"no solutions/ package in {root}: release is the instructor's "
                           "command and needs the reference solutions")
    files = {}
    for path in sorted(solutions.rglob("*")):
        relative = path.relative_to(solutions)
        if path.is_dir() or CLUTTER & set(relative.parts) or path.suffix == ".pyc":
            continue
        data = path.read_bytes()
        if path.suffix == ".py":
            data = strip_solutions(data.decode(), f"solutions/{relative}").encode()
        files[str(relative)] = data
    return files


def exercise_differences(root: Path = KIT_ROOT) -> list[str]:
    """One line per file of exercises/ that is not what release would write."""
    expected = generated_exercises(root)
    folder = root / "exercises"
    present = {str(p.relative_to(folder)) for p in folder.rglob("*")
               if p.is_file() and not CLUTTER & set(p.relative_to(folder).parts)} \
        if folder.is_dir() else set()
    problems = []
    for name, data in expected.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"exercises/{name} is missing")
        elif path.read_bytes() != data:
            diff = list(difflib.unified_diff(data.decode(errors="replace").splitlines(),
                                             path.read_text(errors="replace").splitlines(),
                                             lineterm="", n=0))
            changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
            problems.append(f"exercises/{name} differs from its generated version "
                            f"({changed} changed lines)")
    problems += [f"exercises/{name} has no counterpart in solutions/"
                 for name in sorted(present - set(expected))]
    return problems


def generated_notebooks(exercises: dict[str, bytes]) -> dict[str, bytes]:
    """notebooks/<module>.ipynb of every exercise, from its generated module."""
    from rnnkit.notebooks import to_notebook

    return {f"notebooks/{e.notebook}": to_notebook(exercises[e.filename].decode(), e.module)
            .encode() for e in EXERCISES if e.filename in exercises}


def notebook_differences(root: Path = KIT_ROOT) -> list[str]:
    """One line per exercise whose notebook would not behave as its module: a code cell that
    does not parse alone (a `# %%` inside a function), or code that reads back differently."""
    from rnnkit.notebooks import cells_of, from_notebook

    exercises = generated_exercises(root)
    problems = []
    for name, data in generated_notebooks(exercises).items():
        module = exercises[Path(name).stem + ".py"].decode()
        for number, (kind, text) in enumerate(cells_of(module), start=2):   # 1: set-up cell
            try:
                if kind == "code":
                    ast.parse(text)
            except SyntaxError as error:
                problems.append(f"{name} cell {number} does not run on its own ({error.msg}, "
                                f"line {error.lineno}): move its `# %%` line out of the block")
        converted = from_notebook(data, Path(name).name)
        if converted.problems or ast.dump(ast.parse(converted.source)) != ast.dump(
                ast.parse(module)):
            problems.append(f"{name} does not read back as exercises/{Path(name).stem}.py")
    return problems


def write_exercises(root: Path, files: dict[str, bytes]) -> list[str]:
    """Write exercises/ as generated; the names of the files that changed (or went)."""
    folder = root / "exercises"
    folder.mkdir(exist_ok=True)
    changed = []
    for path in list(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and str(relative) not in files and not CLUTTER & set(relative.parts):
            path.unlink()
            changed.append(f"{relative} (removed)")
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    return changed


# -- recorded references ----------------------------------------------------------------------
# Kit modules that checks import but that shape no recorded value: the course (each
# exercise's own declarations are hashed instead) and release itself (stub lines).
NOT_RECORDED = ("rnnkit.course", "rnnkit.release")


def _kit_imports(path: Path, root: Path) -> set[Path]:
    """Kit files (rnnkit.*, tests.grading.*) that a Python file imports."""
    found = set()
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError):
        return found
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] + [f"{node.module}.{a.name}" for a in node.names] \
            if isinstance(node, ast.ImportFrom) and node.module else []
        for name in names:
            if not name.startswith(("rnnkit", "tests.grading")) or name in NOT_RECORDED:
                continue
            base = root / Path(*name.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    found.add(candidate)
    return found


def dependencies(exercise, root: Path = KIT_ROOT) -> list[Path]:
    """What a recording of `exercise` depends on: its solution modules (and the earlier ones
    they import), its check and probe files, and every kit module those import, transitively."""
    paths = {root / "solutions" / e.filename for e in closure(exercise)}
    todo = [root / "tests" / "grading" / f"test_{exercise.id}.py",
            root / "tests" / "grading" / "probes" / f"{exercise.id}.py",
            root / "rnnkit" / "grader" / "session.py"]   # how references are keyed and stored
    while todo:
        path = todo.pop()
        if path in paths:
            continue
        paths.add(path)
        todo += sorted(_kit_imports(path, root) - paths)
    return sorted(paths)


def fingerprint(exercise, root: Path = KIT_ROOT) -> str:
    """Digest of everything a recording of `exercise` depends on."""
    digest = hashlib.sha256()
    for declared in closure(exercise):
        digest.update(declared.signature().encode() + b"\0")
    for path in dependencies(exercise, root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") if path.is_file() else b"-")
    return digest.hexdigest()


def _manifest(root: Path) -> dict:
    try:
        return json.loads((root / "data" / "references" / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def stale_exercises(root: Path = KIT_ROOT) -> list:
    """The exercises whose recorded references are missing or no longer match."""
    manifest = _manifest(root)
    folder = root / "data" / "references"
    return [e for e in EXERCISES
            if not (folder / f"{e.id}.npz").is_file() or e.id not in manifest
            or manifest[e.id].get("fingerprint") != fingerprint(e, root)]


def reference_differences(root: Path = KIT_ROOT) -> list[str]:
    if not (root / "data" / "references" / MANIFEST).is_file():
        return [f"data/references/{MANIFEST} is missing: run `python -m rnnkit release`"]
    manifest = _manifest(root)
    return [f"no recorded references for {e.id}" if e.id not in manifest else
            f"references of {e.id} are stale (its solution, checks, probes or the kit modules "
            "they use changed)" for e in stale_exercises(root)]


def record_references(root: Path = KIT_ROOT, exercises=None):
    """Grade the stale exercises' solutions in record mode (all when `exercises` is None and
    everything is stale); ReleaseError unless they score every point. Returns the exercises
    recorded (possibly none)."""
    from rnnkit.grader.api import grade

    todo = stale_exercises(root) if exercises is None else list(exercises)
    if not todo:
        return []
    report = grade(root / "solutions", [e.id for e in todo], reference="record", progress=True)
    print()
    lost = [r for r in report.results if r.points < r.max_points]
    if lost:
        lines = "\n".join(f"  {r.exercise} {r.title}: {r.feedback}" for r in lost)
        raise ReleaseError(f"the solutions lose points, so nothing was recorded as final:\n{lines}")
    manifest = {e.id: entry for e, entry in ((e, _manifest(root).get(e.id)) for e in EXERCISES)
                if entry is not None}
    for exercise in todo:
        manifest[exercise.id] = {"fingerprint": fingerprint(exercise, root),
                                 "checks": sum(r.exercise == exercise.id for r in report.results),
                                 "stubs": [list(stub) for stub in stubs_of(exercise, root)]}
    (root / "data" / "references" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return todo


# -- student kit ------------------------------------------------------------------------------
# Everything a student kit holds, as patterns relative to the kit root; nothing else is ever
# copied (an autograder.zip, a backup of a solution, notes lying in the folder stay out).
STUDENT_KIT = ("requirements.txt", "pyproject.toml", ".gitignore", "rnnkit/**/*.py",
               "tests/grading/**/*.py", "data/**/*")
PUBLISHED_EXTRA = ("solutions/*.py",)   # --with-solutions, after the deadline


def kit_files(root: Path, patterns=STUDENT_KIT) -> list[Path]:
    """The files of the kit matching `patterns` (sorted; clutter such as __pycache__ skipped)."""
    found = set()
    for pattern in patterns:
        found.update(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink()
                     and not CLUTTER & set(p.relative_to(root).parts) and p.suffix != ".pyc")
    return sorted(found)


# Sections of the README that are the instructor's (the kit's layout says solutions/ and "never
# edit exercises/", the budgets are measured against solutions/): not in the students' README.
INSTRUCTOR_SECTIONS = ("## For instructors", "## Budgets", "## Layout")


def student_readme(text: str) -> str:
    """The README for students: the instructor's sections and the kit-proving command go."""
    for heading in INSTRUCTOR_SECTIONS:
        start = text.find(heading)
        if start != -1:
            end = text.find("\n## ", start + 1)
            text = text[:start] + (text[end + 1:] if end != -1 else "")
    return "\n".join(line for line in text.splitlines()
                     if "python -m pytest" not in line or "tests/grading" in line) + "\n"


def _solution_code(root: Path) -> set[tuple[str, str]]:
    """Consecutive pairs of code lines inside solution blocks (what must never leak)."""
    pairs = set()
    for path in sorted((root / "solutions").glob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for begin, end, _ in solution_blocks(source, path.name):
            code = [line.strip() for line in lines[begin:end - 1]
                    if line.strip() and not line.strip().startswith("#")]
            pairs.update(zip(code, code[1:]))
    return pairs


def _leaks(data: bytes, pairs: set) -> bool:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return False
    code = [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]
    return any(pair in pairs for pair in zip(code, code[1:]))


def write_student_kit(out: Path, *, with_solutions: bool, root: Path = KIT_ROOT) -> Path:
    out = Path(out).resolve()
    if out == root or root in out.parents:
        raise ReleaseError(f"--out {out} is inside the kit; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"--out {out} exists and is not empty; nothing was written")
    exercises = generated_exercises(root)
    files = {path.relative_to(root).as_posix(): path.read_bytes()
             for path in kit_files(root, STUDENT_KIT + (PUBLISHED_EXTRA if with_solutions else ()))}
    files.update(generated_notebooks(exercises))
    files["README.md"] = student_readme((root / "README.md").read_text()).encode() \
        if not with_solutions else (root / "README.md").read_bytes()
    if not with_solutions:
        pairs = _solution_code(root)
        leaking = sorted(name for name, data in files.items() if _leaks(data, pairs))
        if leaking:
            raise ReleaseError(f"{', '.join(leaking)} hold(s) lines of the solutions; nothing was "
                               "written (move the file out of the kit or remove those lines)")
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    write_exercises(out, exercises)
    return out
