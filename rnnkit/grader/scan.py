"""A policy check of the submitted source, read as text by the grader (never imported).

Value checks compare what the student's code computes; two things they cannot see are
ruled out here instead:
- reaching into the grader from inside the student's process (frames, the garbage
  collector, `__main__`, `eval`/`exec`, `importlib`, `ctypes`): with those a submission
  could rewrite the probes that run beside it;
- handing the exercise to Keras's built-in equivalent (`class SimpleRNNCell(
  keras.layers.SimpleRNNCell)` matches Keras perfectly and teaches nothing). `main()` may use
  the built-in layers: the lessons compare against them there on purpose.
A finding costs the exercise's points with a message that names the line; it is a stated
rule, so the exercise texts and the README say it too.
"""
from __future__ import annotations

import ast

from rnnkit import rooms

# Anywhere in the file: ways to reach the grader's objects from the student's process. The
# kit's own modules are ruled by `rnnkit.rooms` (student code may import the student library
# only), and the folders of the other rooms may not be named as attributes either.
GRADER_ACCESS = {
    "names": {"eval", "exec", "compile", "__import__", "globals", "__builtins__", "vars"},
    "modules": {"gc", "inspect", "importlib", "ctypes", "_ctypes", "numpy.ctypeslib",
                "__main__", "pytest", "_pytest", "builtins"},
    "attributes": {"_getframe", "f_back", "f_globals", "f_locals", "f_builtins", "__globals__",
                   "__code__", "__closure__", "__subclasses__", "_load_probe_file",
                   "get_referrers", "get_objects", "modules", "__dict__", "tb_frame",
                   "gi_frame", "cr_frame", "ag_frame", "ctypeslib",
                   *rooms.closed_subpackages()},
}


def _refused_module(name: str) -> bool:
    """A module student code may not import: one of GRADER_ACCESS's, or a kit module outside
    the rooms `rnnkit.rooms` opens to student code."""
    return _matches(name, GRADER_ACCESS["modules"]) or (
        rooms.kit_module(name) and not rooms.student_may_import(name))
# Attribute access by a name given as a value: the name must be written out (a literal), and
# is held to the attribute rules above and to the exercise's built-in layers. getattr and its
# kind take the name second; operator.attrgetter takes names (dotted ones too), and
# __getattribute__ (object.__getattribute__(x, name), x.__getattribute__(name)) takes it last.
BY_NAME = {"getattr", "setattr", "delattr", "hasattr"}
GETTERS = {"attrgetter"}
GETATTRIBUTE = "__getattribute__"
def _is_refused_kit(text: str) -> bool:
    """A string that names a kit module student code may not import ("rnnkit.grader")."""
    return all(part.isidentifier() for part in text.split(".")) and rooms.kit_module(text) \
        and not rooms.student_may_import(text)


def _main_lines(tree) -> set[int]:
    lines = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def _imported(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _names_from(node) -> list[str]:
    """The names `from X import a, b` takes: a module reached through another's attribute
    (`from numpy.ctypeslib import ctypes`) is still that module."""
    return [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []


def _matches(name: str, modules: set[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _called(node) -> str | None:
    """The name a call is made by: `f(...)` -> "f", `a.b.f(...)` -> "f"."""
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _names_given(node) -> tuple[str, list] | None:
    """(how, [name argument nodes]) for a call that reaches an attribute by a name given as a
    value: getattr(x, NAME), operator.attrgetter(NAME, ...), object.__getattribute__(x, NAME)."""
    called = _called(node)
    if called in BY_NAME and isinstance(node.func, ast.Name) and len(node.args) >= 2:
        return called, [node.args[1]]
    if called in GETTERS and node.args:
        return called, list(node.args)
    if called == GETATTRIBUTE and isinstance(node.func, ast.Attribute) and node.args:
        return called, [node.args[-1]]
    return None


def scan_submission(folder, exercise) -> list[str]:
    """Every file the student's process of `exercise` will load (the exercise module and the
    earlier ones it imports), each under its own rules and the graded exercise's.

    The files are read once per grading, in a bounded helper (`read_submission`), never in
    this process; a file it could not read is refused with one line, for every exercise
    that loads it (its content is unknown)."""
    from pathlib import Path

    from rnnkit.course import closure

    read = read_submission(Path(folder))
    findings = []
    for owner in closure(exercise):
        if owner.filename in read:
            found = read[owner.filename]
            findings += found if isinstance(found, list) else found.get(exercise.id, [])
    return findings


def scan(source: str, exercises, filename: str) -> list[str]:
    """One sentence per rule the source breaks (empty when it keeps them all).

    `exercises`: an Exercise, an exercise id, or a list of them, whose rules apply."""
    from rnnkit.course import BY_ID, BY_MODULE

    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return []            # the import itself will fail and say where
    rules = [BY_ID[e] if isinstance(e, str) else e
             for e in (exercises if isinstance(exercises, (list, tuple)) else [exercises])]
    exercise_id = rules[0].id
    in_main = _main_lines(tree)
    built_ins = set().union(*(set(e.built_ins) for e in rules))
    forbidden_imports = set().union(*(set(e.forbidden_imports) for e in rules))
    findings = []

    def found(node, text):
        findings.append(f"{filename}:{node.lineno}: {text}")

    def built_in(node, name):
        found(node, f"uses Keras's built-in {name}; {exercise_id} asks you to write it yourself "
                    "(main() may use it to compare)")

    for node in ast.walk(tree):
        for name in _names_from(node):
            if name in GRADER_ACCESS["modules"]:
                found(node, f"imports {name}, which could reach into the grader")
            elif name in GRADER_ACCESS["attributes"]:      # from sys import modules
                found(node, f"uses .{name}, which could reach into the grader")
            elif name == "*" and node.module == "sys":     # modules, among others
                found(node, "imports * from sys, whose modules could reach into the grader")
        for name in _imported(node):
            if _refused_module(name):
                found(node, f"imports {name}, which could reach into the grader")
            elif _matches(name, forbidden_imports):
                found(node, f"imports {name}; {exercise_id} is written by hand without it")
            elif name.split(".")[-1] in built_ins and node.lineno not in in_main \
                    and name.split(".")[0] not in BY_MODULE:   # an earlier exercise's own cell
                found(node, f"imports Keras's built-in {name.split('.')[-1]}; {exercise_id} asks "
                            "you to write it yourself (main() may use it to compare)")
        given = _names_given(node) if isinstance(node, ast.Call) else None
        for name in given[1] if given else ():
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                found(node, f"{given[0]}() with a name built at run time; write the "
                            "attribute out (it could reach into the grader)")
                continue
            for part in name.value.split("."):       # attrgetter("layers.LSTMCell")
                if part in GRADER_ACCESS["attributes"]:
                    found(node, f"uses .{part}, which could reach into the grader")
                elif part in built_ins and node.lineno not in in_main:
                    built_in(node, part)
        if isinstance(node, ast.Name) and node.id in GRADER_ACCESS["names"]:
            found(node, f"uses {node.id}(), which could reach into the grader")
        elif isinstance(node, ast.Attribute):
            if node.attr in GRADER_ACCESS["attributes"]:
                found(node, f"uses .{node.attr}, which could reach into the grader")
            elif node.attr in built_ins and node.lineno not in in_main:
                built_in(node, node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value in (GRADER_ACCESS["modules"] - {"__main__"}) | (
                    GRADER_ACCESS["attributes"] - {"modules"})      # getattr(sys, "_getframe")
                or _is_refused_kit(node.value)):
            found(node, f"names {node.value!r}, which could reach into the grader")
    return sorted(set(findings), key=lambda f: int(f.split(":")[1]))


# -- reading the submitted modules: once per grading, in a bounded helper ------------------------
# A module is read up to these sizes, far beyond any exercise module (the released ones: 11-20
# KB, 283-465 lines, 1,194-2,449 syntax nodes) and far below what costs the reader: 1 MB of
# dense source (one long list) parses into ~700 MB of syntax tree in 3.6 s, 512 KB into half.
# Each scan walks the tree once per exercise that loads the module (ex01's: eight times when
# all nine are graded), ~1 microsecond a node.
MODULE_BYTES = 512 * 1024
MODULE_LINES = 20_000
MODULE_NODES = 100_000
_READ: dict = {}          # (folder, its modules' identities) -> {file name: findings}


def read_submission(folder) -> dict:
    """{module file name: {exercise id: findings}, or [one refusal]} for every exercise module
    in `folder`, under the rules of every exercise whose student process loads it; read by one
    helper (`rnnkit.grader.bounded`) per grading and remembered for the later exercises."""
    import os
    from pathlib import Path

    from rnnkit.course import EXERCISES
    from rnnkit.grader import bounded

    folder = Path(folder)
    present = [(e, folder / e.filename) for e in EXERCISES
               if (folder / e.filename).is_file() and not (folder / e.filename).is_symlink()]
    identities = []
    for exercise, path in present:
        status = os.stat(path)
        identities.append((exercise.filename, status.st_size, status.st_mtime_ns,
                           status.st_ino))
    key = (str(folder.resolve()), tuple(identities))
    if key not in _READ:
        reads = bounded.read_each("module", [
            {"path": str(path), "filename": e.filename, "owner": e.id} for e, path in present])
        found = {}
        for (exercise, _), read in zip(present, reads):
            found[exercise.filename] = read.value if read.ok else [
                f"{exercise.filename} could not be read within the grader's limits "
                f"({read.why})"]
        _READ.clear()                  # one grading's submission at a time
        _READ[key] = found
    return _READ[key]


def _near_memory_limit() -> bool:
    try:
        import resource
    except ImportError:
        return False
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    # this process's own peak (VmHWM): ru_maxrss also keeps, across exec, the peak of the
    # grader it was started from (~0.6 GiB with TensorFlow), which would always look "near"
    peak = 0
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024     # KB on Linux
    return limit != resource.RLIM_INFINITY and peak > limit / 4


def read_module(path: str, filename: str, owner: str):
    """In the bounded helper: the findings of one module, {exercise id: [sentence]} for every
    exercise that loads it, from one syntax tree; or [one refusal] past the limits above."""
    import os
    import sys

    from rnnkit.course import BY_ID, EXERCISES, closure

    size = os.stat(path).st_size
    if size > MODULE_BYTES:
        return [f"{filename} is larger than {MODULE_BYTES // 1024} KB ({size / 2**20:.1f} MB): "
                "the grader reads an exercise module up to that size (the released ones are "
                "11-20 KB)"]
    with open(path, "rb") as handle:
        data = handle.read(MODULE_BYTES + 1)
    lines = data.count(b"\n")
    if lines > MODULE_LINES:
        return [f"{filename} has more than {MODULE_LINES:,} lines: the grader reads an exercise "
                "module up to that many (the released ones have under 500)"]
    # Python reads a module in the encoding its first two lines declare (PEP 263): under
    # `# -*- coding: utf-7 -*-` a comment, read as UTF-8, held `+AAo-`, a newline in UTF-7,
    # and the import ran the lines the scan saw as that comment. The scan reads what Python
    # reads only in UTF-8, so any other declared encoding is refused, not guessed at.
    import io
    import tokenize

    try:
        declared = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError as error:          # an unknown encoding: the import fails there too
        return [f"{filename}'s first lines declare a source encoding Python cannot read "
                f"({error}): delete that line and save the file as UTF-8"]
    if declared not in ("utf-8", "utf-8-sig"):
        return [f"{filename} declares its source encoding as {declared!r} in its first lines: "
                "the grader reads exercise modules as UTF-8 only; delete that line (and save "
                "the file as UTF-8)"]
    # utf-8-sig: a byte-order mark (Windows editors) must not hide the file from the scan
    source = data.decode("utf-8-sig", errors="replace")
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:                # the import itself will fail and say where (as scan())
        return {e.id: [] for e in EXERCISES if BY_ID[owner] in closure(e)}
    except (RecursionError, MemoryError):
        # the parser's own stack overflows as MemoryError (`-----1`); out of memory, the
        # helper's limit (its peak near that limit) is said as such
        if not isinstance(sys.exc_info()[1], RecursionError) and _near_memory_limit():
            raise
        return [f"{filename} is nested too deeply for Python's parser (an import of it would "
                "fail too)"]
    nodes = 0
    for _ in ast.walk(tree):
        nodes += 1
        if nodes > MODULE_NODES:
            return [f"{filename} has more than {MODULE_NODES:,} syntax nodes: the grader reads "
                    "an exercise module up to that many (the released ones have under 2,500)"]
    module_owner = BY_ID[owner]
    found = {}
    for exercise in EXERCISES:
        if module_owner in closure(exercise):
            rules = [exercise] + ([module_owner] if module_owner is not exercise else [])
            # scan() takes the tree as it takes source (ast.parse hands a tree back as it is)
            found[exercise.id] = scan(tree, rules, filename)
    return found
