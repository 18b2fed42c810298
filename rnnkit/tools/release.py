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

from rnnkit import KIT_ROOT, rooms
from rnnkit.course import EXERCISES, closure
from rnnkit.grader import oracles
from rnnkit.grader.stubs import StubError, solution_blocks, strip_solutions, stubs_of

MANIFEST = "manifest.json"
CLUTTER = {".git", "runs", "__pycache__", ".pytest_cache", "build", "dist"}


# Raised by release and by the stub writer it calls: one error, named for what the user ran.
ReleaseError = StubError


def generated_exercises(root: Path = KIT_ROOT) -> dict[str, bytes]:
    """relative path inside exercises/ -> content, generated from solutions/."""
    solutions = root / "solutions"
    if not (solutions / "__init__.py").is_file():
        raise ReleaseError(f"no solutions/ package in {root}: release is the instructor's "
                           "command and needs the reference solutions")
    files = {}
    # Only the modules: whatever else lies in solutions/ (the course secret, the official
    # grade's recordings, an instructor's notes) is never copied into exercises/.
    for path in sorted(solutions.rglob("*.py")):
        relative = path.relative_to(solutions)
        if not path.is_file() or CLUTTER & set(relative.parts) or \
                rooms.instructor_only(f"solutions/{relative.as_posix()}"):
            continue
        data = strip_solutions(path.read_text(), f"solutions/{relative}").encode()
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
    from rnnkit.tools.notebooks import to_notebook

    return {f"notebooks/{e.notebook}": to_notebook(exercises[e.filename].decode(), e.module)
            .encode() for e in EXERCISES if e.filename in exercises}


def notebook_differences(root: Path = KIT_ROOT) -> list[str]:
    """One line per exercise whose notebook would not behave as its module: a code cell that
    does not parse alone (a `# %%` inside a function), or code that reads back differently."""
    from rnnkit.notebooks import from_notebook
    from rnnkit.tools.notebooks import cells_of

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
    for path in sorted(folder.rglob("*"), reverse=True):     # folders left empty go too
        if path.is_dir() and not CLUTTER & set(path.relative_to(folder).parts) \
                and not any(path.iterdir()):
            path.rmdir()
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    return changed


# -- recorded references ----------------------------------------------------------------------
# What a recording depends on: the files whose bytes can change a recorded value. Imports are
# followed into every room that computes values (the student library, the runtime's
# stand-ins, the probes, the oracles, the checks, the solutions); into the grader only for the
# modules that make inputs and compute and store references; never into the commands. The
# walls, the processes and the comparisons decide whether a value arrives, never what it is:
# a change to them re-records nothing. The data files a recording read are listed in the
# manifest when it is made (`record_references`) and hashed with the code.
# Checks name official modules without importing them (`oracles.of("ex04")`): followed as
# imports. cellcheck.py draws the inputs on which a cell is judged (and names the shared
# cells' oracles): a dependency of the exercises whose checks ask the grader about a cell.
FOLLOWED_ROOMS = ("library", "runtime", "probes", "official", "checks", "solutions")
VALUE_SHAPING = ("rnnkit/grader/inputs.py", "rnnkit/grader/references.py")
CELL_JUDGING = "rnnkit/grader/cellcheck.py"
CELL_QUESTIONS = ("cell_stand_in", "cell_problem", "cell_error", "cell_mistake",
                  "structure_verified")
# Kit modules that checks import but that shape no recorded value: the course (each
# exercise's own declarations are hashed instead), the rooms, and the package's __init__ (the
# kit's root folder and its version: an erratum bumps the version, and hashing it made every
# recording stale, 6.5 minutes of re-recording for a docstring).
NOT_RECORDED = ("rnnkit/course.py", "rnnkit/rooms.py", "rnnkit/__init__.py")


def _module_files(name: str, root: Path) -> list[Path]:
    """The kit files an import of `name` loads: the module (or the package's __init__), and
    for `from package import sub` names, the submodule too."""
    base = root / Path(*name.split("."))
    return [p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]


def imported_names(path: Path, root: Path, named_oracles: bool = True) -> set[str]:
    """Every module name a Python file imports, at any depth (inside functions too), relative
    imports resolved against the file's own package; `from m import x` also names `m.x`.
    With `named_oracles`, an official module named through `oracles.of(...)` counts too (a
    recording depends on it); the rooms' import rules leave it out: it is loaded by name, in
    the grader, only when the official room is there."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    package = path.relative_to(root).parent.parts
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            if module:
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        elif named_oracles and isinstance(node, ast.Call) and _names_oracles(node):
            names.add(f"{oracles.PACKAGE}.{node.args[0].value}")
    return names


def _names_oracles(call: ast.Call) -> bool:
    """`oracles.of("ex04")` (or `of("ex04")`): a check names an official module without
    importing it (rnnkit.grader.oracles), and depends on it as on an import."""
    function = call.func
    named = (isinstance(function, ast.Attribute) and function.attr == "of"
             and isinstance(function.value, ast.Name) and function.value.id == "oracles") or \
        (isinstance(function, ast.Name) and function.id == "of")
    return named and len(call.args) == 1 and isinstance(call.args[0], ast.Constant) \
        and isinstance(call.args[0].value, str)


def _kit_imports(path: Path, root: Path) -> set[Path]:
    """The kit files that `path` imports and that a recording follows (see FOLLOWED_ROOMS)."""
    found = set()
    for name in imported_names(path, root):
        if not rooms.kit_module(name):
            continue
        for candidate in _module_files(name, root):
            relative = candidate.relative_to(root).as_posix()
            room = rooms.room_of(relative)
            if relative in NOT_RECORDED or room is None:
                continue
            if room.name in FOLLOWED_ROOMS or relative in VALUE_SHAPING:
                found.add(candidate)
    return found


def dependencies(exercise, root: Path = KIT_ROOT) -> list[Path]:
    """The code a recording of `exercise` depends on: its solution modules (and the earlier
    ones they import), its checks and probes, the modules that make inputs and store
    references, and every module those import that FOLLOWED_ROOMS follows, transitively."""
    paths = set()
    todo = [root / "solutions" / e.filename for e in closure(exercise)]
    todo += [root / "tests" / "grading" / f"test_{exercise.id}.py",
             root / "rnnkit" / "probes" / f"{exercise.id}.py"]
    todo += [root / relative for relative in VALUE_SHAPING]
    if _asks_about_cells(root / "tests" / "grading" / f"test_{exercise.id}.py"):
        todo.append(root / CELL_JUDGING)
    while todo:
        path = todo.pop()
        if path in paths:
            continue
        paths.add(path)
        todo += sorted(_kit_imports(path, root) - paths)
    return sorted(paths)


def _asks_about_cells(check: Path) -> bool:
    try:
        tree = ast.parse(check.read_text(), str(check))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.Attribute) and node.attr in CELL_QUESTIONS
               for node in ast.walk(tree))


def fingerprint(exercise, root: Path = KIT_ROOT, data=None) -> str:
    """Digest of everything a recording of `exercise` depends on: the course's declarations,
    the code (`dependencies`) and the data files it read (`data`: relative paths; by default
    those the manifest lists for it)."""
    if data is None:
        data = _manifest(root).get(exercise.id, {}).get("data", [])
    digest = hashlib.sha256()
    for declared in closure(exercise):
        digest.update(declared.signature().encode() + b"\0")
    for path in dependencies(exercise, root) + [root / name for name in sorted(data)]:
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
        data = report.data_read.get(exercise.id, [])
        manifest[exercise.id] = {"fingerprint": fingerprint(exercise, root, data=data),
                                 "data": data,
                                 "checks": sum(r.exercise == exercise.id for r in report.results),
                                 "stubs": [list(stub) for stub in stubs_of(exercise, root)]}
    (root / "data" / "references" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return todo


# -- the official grade's own recordings -------------------------------------------------------
# The reference's expensive results on the course's secret inputs (its trainings on the
# course's data), recorded once per course and per change of the code they depend on, so an
# official grading compares with them instead of training the reference again. They live in
# solutions/official-references/: instructor-only, like the secret they are drawn from.
def official_folder(root: Path = KIT_ROOT) -> Path:
    """Beside the course secret (rnnkit.grader.references.official_dir)."""
    from rnnkit.grader import secret

    return secret.path(root).parent / "official-references"


def _official_manifest(root: Path) -> dict:
    try:
        return json.loads((official_folder(root) / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


# What an official recording holds. 3: every oracle result of the official grading of
# solutions/ whose inputs the submission did not choose (before: only the expensive ones marked
# prefer_recorded); a recording of another kind is made again by the instructor's next
# release, which speeds up their official grade.
OFFICIAL_KIND = 3


def stale_official(root: Path = KIT_ROOT, secret=None) -> list:
    """The exercises whose official recordings are missing, were made under another course
    secret, or no longer match the code (none when there is no secret)."""
    if secret is None:
        return []
    manifest = _official_manifest(root)
    return [e for e in EXERCISES if manifest.get(e.id, {}).get("secret") != secret.id
            or manifest[e.id].get("fingerprint") != fingerprint(e, root)
            or manifest[e.id].get("kind", 1) != OFFICIAL_KIND]


def official_differences(root: Path = KIT_ROOT) -> list[str]:
    from rnnkit.grader import secret as secrets

    try:
        held = secrets.load(root)
    except secrets.SecretProblem as problem:
        return [str(problem)]
    return [f"official recordings of {e.id} are stale (made under another course secret, or "
            "its code changed)" for e in stale_official(root, held)]


def record_official(root: Path = KIT_ROOT, secret=None, exercises=None) -> list:
    """Grade the solutions officially (the course secret's inputs), recording the reference's
    expensive results; ReleaseError unless they score every point."""
    from rnnkit.grader.api import grade

    todo = stale_official(root, secret) if exercises is None else list(exercises)
    if not todo:
        return []
    report = grade(root / "solutions", [e.id for e in todo], reference="record-official",
                   progress=True)
    print()
    lost = [r for r in report.results if r.points < r.max_points]
    if lost:
        lines = "\n".join(f"  {r.exercise} {r.title}: {r.feedback}" for r in lost)
        raise ReleaseError("the solutions lose points in the official grade, so nothing was "
                           f"recorded as final:\n{lines}")
    manifest = _official_manifest(root)
    for exercise in todo:
        manifest[exercise.id] = {"fingerprint": fingerprint(exercise, root),
                                 "secret": secret.id, "kind": OFFICIAL_KIND}
    official_folder(root).mkdir(parents=True, exist_ok=True)
    (official_folder(root) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    private(official_folder(root))
    return todo


def private(folder: Path) -> None:
    """The official recordings readable by their owner only, like the secret beside them."""
    folder.chmod(0o700)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o600)


# -- student kit ------------------------------------------------------------------------------
# What a student kit holds is declared once, by room (`rnnkit.rooms`): nothing else is ever
# copied (an autograder.zip, a backup of a solution, notes lying in the folder stay out).


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


# What a released kit records about itself, for `python -m rnnkit update` (rnnkit.tools.update):
# its version, what it holds, and the exercises and notebooks exactly as released (the base
# against which a student's changes are told apart from the kit's).
RECORD = ".rnnkit"
KIT_RECORD = f"{RECORD}/kit.json"
BASE = f"{RECORD}/base"
CHANGELOG = "CHANGELOG.md"
STUDENT_WORK = ("exercises/", "notebooks/")      # what students write in; never overwritten


def changelog_entry(root: Path = KIT_ROOT, version: str | None = None) -> str:
    """The CHANGELOG.md section of `version` (this kit's by default); ReleaseError without one:
    every released version says what changed for students."""
    from rnnkit import __version__

    version = version or __version__
    try:
        text = (root / CHANGELOG).read_text(encoding="utf-8")
    except OSError:
        raise ReleaseError(f"{CHANGELOG} is missing: it says what each released version "
                           "changed") from None
    match = re.search(rf"^## \[?{re.escape(version)}\]?\b.*?(?=^## |\Z)", text, re.M | re.S)
    if not match:
        raise ReleaseError(f"{CHANGELOG} has no entry for {version} (rnnkit/__init__.py's "
                           f"__version__): add a '## {version}' section saying what changed")
    return match.group(0).strip()


def version_problem(root: Path = KIT_ROOT) -> str | None:
    """pyproject.toml and rnnkit/__init__.py must give the kit one version."""
    from rnnkit import __version__

    found = re.search(r'^version\s*=\s*"([^"]+)"', (root / "pyproject.toml").read_text(), re.M)
    if not found or found.group(1) != __version__:
        return (f"pyproject.toml says version {found.group(1) if found else '(none)'} and "
                f"rnnkit/__init__.py {__version__}: give both the same")
    return None


def student_kit_contents(*, with_solutions: bool, root: Path = KIT_ROOT) -> dict[str, bytes]:
    """{relative path: bytes} of the student kit `release --out` writes (and `update` brings
    a started kit to): the rooms' list, the generated exercises and notebooks, the README for
    students, the changelog, and the kit's record of itself (`KIT_RECORD`, `BASE`). With
    the solutions, their notebooks too (`solutions/notebooks/`)."""
    from datetime import datetime

    from rnnkit import __version__

    problem = version_problem(root)
    if problem:
        raise ReleaseError(problem)
    changelog_entry(root)
    exercises = generated_exercises(root)
    files = {path.relative_to(root).as_posix(): path.read_bytes()
             for path in rooms.student_kit_files(root, with_solutions=with_solutions)}
    files.update({f"exercises/{name}": data for name, data in exercises.items()})
    files.update(generated_notebooks(exercises))
    files["README.md"] = student_readme((root / "README.md").read_text()).encode() \
        if not with_solutions else (root / "README.md").read_bytes()
    files[CHANGELOG] = (root / CHANGELOG).read_bytes()
    if with_solutions:
        solved = {f"{e.filename}": (root / "solutions" / e.filename).read_bytes()
                  for e in EXERCISES if (root / "solutions" / e.filename).is_file()}
        files.update({name.replace("notebooks/", "solutions/notebooks/", 1): data
                      for name, data in generated_notebooks(solved).items()})
    if not with_solutions:
        pairs = _solution_code(root)
        leaking = sorted(name for name, data in files.items()
                         if not name.startswith("exercises/") and _leaks(data, pairs))
        if leaking:
            raise ReleaseError(f"{', '.join(leaking)} hold(s) lines of the solutions; nothing was "
                               "written (move the file out of the kit or remove those lines)")
    carrying = _secret_carriers(root, files)
    if carrying:
        raise ReleaseError(f"{', '.join(carrying)} would carry the course secret or its "
                           "recordings; nothing was written")
    record = {"kit": "rnnkit", "version": __version__, "with_solutions": with_solutions,
              "released": datetime.now().astimezone().isoformat(timespec="seconds"),
              "files": {name: hashlib.sha256(data).hexdigest()
                        for name, data in sorted(files.items())}}
    files.update({f"{BASE}/{name}": data for name, data in files.items()
                  if name.startswith(STUDENT_WORK)})
    files[KIT_RECORD] = (json.dumps(record, indent=1) + "\n").encode()
    return files


def write_student_kit(out: Path, *, with_solutions: bool, root: Path = KIT_ROOT) -> Path:
    out = Path(out).resolve()
    if out == root or root in out.parents:
        raise ReleaseError(f"--out {out} is inside the kit; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"--out {out} exists and is not empty; nothing was written (a "
                           "started kit is brought to this version by `python -m rnnkit "
                           "update`)")
    files = student_kit_contents(with_solutions=with_solutions, root=root)
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return out


def _secret_carriers(root: Path, files: dict[str, bytes]) -> list[str]:
    """The files of a kit about to be written that hold the course secret (its key, in any
    file) or the official grade's recordings (by name): a last guard, whatever put them there."""
    from rnnkit.grader import secret

    try:
        held = secret.load(root)
    except secret.SecretProblem:
        held = None
    key = held.key.hex().encode() if held is not None else None
    return sorted(name for name, data in files.items()
                  if Path(name).name == secret.FILE_NAME or "official-references" in name
                  or (key is not None and key in data))
