"""The rooms hold (issue 22): every file of the package is in a room, imports point only where
`rnnkit.rooms.ALLOWED_IMPORTS` lets them (inside functions too, relative imports resolved),
and no kit module imports itself back through others. Each rule is also shown to fail on a
planted violation, in a small tree made for it.
"""
import textwrap
from pathlib import Path

import pytest
from conftest import KIT_ROOT

from rnnkit import rooms
from rnnkit.tools.release import imported_names

RULED = ("library", "runtime", "probes", "grader", "official", "commands", "checks",
         "solutions", "exercises")
ALLOWED = {**rooms.ALLOWED_IMPORTS, "solutions": {"solutions", "library"},
           "exercises": {"exercises", "library"}}


def python_files(root: Path) -> list[Path]:
    folders = ("rnnkit", "tests/grading", "solutions", "exercises")
    return sorted(p for folder in folders for p in (root / folder).rglob("*.py")
                  if "__pycache__" not in p.parts)


def resolve(name: str, root: Path) -> Path | None:
    """The kit file an imported name loads: the longest prefix that is a module or package
    (`rnnkit.plots.save_figure` is an attribute of rnnkit/plots.py)."""
    parts = name.split(".")
    while parts:
        base = root / Path(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        if base.is_dir():
            return None          # a namespace package: its modules are named one by one
        parts.pop()
    return None


def edges(root: Path) -> dict[Path, set[Path]]:
    """{kit file: the kit files it imports}. A module's own packages are not counted: Python
    imports them before the module itself (`from . import synth` inside a package)."""
    graph = {}
    for path in python_files(root):
        targets = set()
        for name in imported_names(path, root, named_oracles=False):
            if rooms.kit_module(name):
                target = resolve(name, root)
                own_package = target is not None and target.name == "__init__.py" \
                    and target.parent in path.parents
                if target is not None and target != path and not own_package:
                    targets.add(target)
        graph[path] = targets
    return graph


def unresolved(root: Path) -> list[str]:
    """Imports of kit modules that name no file of the kit (a module moved or renamed and an
    import inside a function left behind: it fails only when that function runs)."""
    found = []
    for path in python_files(root):
        for name in sorted(imported_names(path, root)):
            if not rooms.kit_module(name) or resolve(name, root) is not None:
                continue
            if (root / Path(*name.split("."))).is_dir():
                continue                       # a namespace package (no __init__.py)
            found.append(f"{path.relative_to(root)}: {name}")
    return found


def room_name(path: Path, root: Path) -> str | None:
    room = rooms.room_of(path.relative_to(root).as_posix())
    return room.name if room else None


def unroomed(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in python_files(root)
            if room_name(p, root) is None]


def forbidden_imports(root: Path) -> list[str]:
    found = []
    for path, targets in edges(root).items():
        mine = room_name(path, root)
        for target in sorted(targets):
            theirs = room_name(target, root)
            if mine in ALLOWED and theirs not in ALLOWED[mine]:
                found.append(f"{path.relative_to(root)} ({mine}) imports "
                             f"{target.relative_to(root)} ({theirs})")
    return found


def cycles(root: Path) -> list[list[str]]:
    """The import cycles among kit files (Tarjan's strongly connected components)."""
    graph = edges(root)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(p.relative_to(root).as_posix() for p in component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# -- the kit as it is ---------------------------------------------------------------------------
def test_every_file_of_the_package_is_in_a_room():
    assert unroomed(KIT_ROOT) == [], "declare these in rnnkit/rooms.py"


def test_every_import_of_the_kit_names_a_file_of_the_kit():
    assert unresolved(KIT_ROOT) == []


def test_imports_point_only_where_the_rooms_allow():
    assert forbidden_imports(KIT_ROOT) == []


def test_no_import_cycle_among_the_kit_modules():
    assert cycles(KIT_ROOT) == []


def test_the_student_side_is_what_the_rooms_say():
    """The copy for the student's process holds the student library, the runtime and the
    probes, and nothing of the grader, the oracles, the commands or the checks."""
    copied = {p.relative_to(KIT_ROOT).as_posix() for p in rooms.student_process_files(KIT_ROOT)}
    assert "rnnkit/sandbox/worker.py" in copied and "rnnkit/probes/ex01.py" in copied
    assert "rnnkit/decoding.py" in copied and "rnnkit/datasets/speech/synth.py" in copied
    for closed in ("rnnkit/grader/", "rnnkit/official/", "rnnkit/tools/", "tests/",
                   "solutions/", "data/"):
        assert not [name for name in copied if name.startswith(closed)], closed
    assert not rooms.in_student_process("rnnkit.grader.session")
    assert not rooms.in_student_process("rnnkit.newly_added")       # no room: refused
    assert rooms.in_student_process("rnnkit.probes.cells")
    assert rooms.student_may_import("rnnkit.plots.save_figure")
    assert not rooms.student_may_import("rnnkit.probes.cells")


def test_kits_carry_what_the_rooms_say():
    kit = {p.relative_to(KIT_ROOT).as_posix() for p in rooms.student_kit_files(KIT_ROOT)}
    assert not [name for name in kit if name.startswith(("solutions/", "tests/kit/", ".ci/"))]
    assert "tests/grading/test_ex01.py" in kit and "requirements.txt" in kit
    bundle = {p.relative_to(KIT_ROOT).as_posix() for p in rooms.official_files(KIT_ROOT)}
    assert "solutions/ex01_simple_rnn.py" in bundle
    assert not [name for name in bundle if name.startswith(("tests/kit/", "exercises/"))]


# -- each rule fails on a planted violation -----------------------------------------------------
def plant(root: Path, files: dict) -> Path:
    for name, text in {"rnnkit/__init__.py": "", "rnnkit/decoding.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


PLANTS = {
    "student side imports the grader (inside a function)": (
        {"rnnkit/sandbox/worker.py": """
            def main():
                from rnnkit.grader import session
            """,
         "rnnkit/grader/session.py": ""},
        forbidden_imports, "rnnkit/sandbox/worker.py (runtime) imports rnnkit/grader/session.py (grader)"),
    "the library imports a command": (
        {"rnnkit/plots.py": "from rnnkit.tools.cli import main\n",
         "rnnkit/tools/cli.py": ""},
        forbidden_imports, "rnnkit/plots.py (library) imports rnnkit/tools/cli.py (commands)"),
    "the grader imports a command (relatively)": (
        {"rnnkit/grader/api.py": "from ..tools import release\n",
         "rnnkit/tools/release.py": ""},
        forbidden_imports, "rnnkit/grader/api.py (grader) imports rnnkit/tools/release.py (commands)"),
    "the package imports the kit's tests": (
        {"rnnkit/official/ex01.py": "import tests.kit.conftest\n",
         "tests/kit/conftest.py": ""},
        forbidden_imports, "rnnkit/official/ex01.py (official) imports tests/kit/conftest.py (kit tests)"),
    "probes import an oracle": (
        {"rnnkit/probes/ex01.py": "from rnnkit.official.ex01 import keras_sequence\n",
         "rnnkit/official/ex01.py": ""},
        forbidden_imports, "rnnkit/probes/ex01.py (probes) imports rnnkit/official/ex01.py (official)"),
    "a cycle": (
        {"rnnkit/grader/api.py": "def grade():\n    from rnnkit.grader import plugin\n",
         "rnnkit/grader/plugin.py": "from rnnkit.grader.session import Grader\n",
         "rnnkit/grader/session.py": "from rnnkit.grader import api\n"},
        cycles, ["rnnkit/grader/api.py", "rnnkit/grader/plugin.py", "rnnkit/grader/session.py"]),
    "an import left behind by a move (inside a function)": (
        {"rnnkit/sandbox/zygote.py": "def serve():\n    from rnnkit.sandbox import confine\n"},
        unresolved, "rnnkit/sandbox/zygote.py: rnnkit.sandbox.confine"),
    "a module no room holds": (
        {"rnnkit/helpers.py": "X = 1\n"}, unroomed, "rnnkit/helpers.py"),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_a_planted_violation_is_found(tmp_path, name):
    files, rule, expected = PLANTS[name]
    root = plant(tmp_path, files)
    assert expected in rule(root)
    clean = plant(tmp_path / "clean", {})
    assert rule(clean) == []
