"""The kit's rooms: which process runs each file, who may read it, what a student kit carries.

One declaration, and everything that must know the trust boundary derives from it:

- the private copy of code the student's process may import (`rnnkit.grader.snapshot`: the
  rooms with `student_process`; Landlock lets that process read nothing else of the kit);
- what the student's process refuses to import (`rnnkit.sandbox.worker`: every kit module
  outside those rooms) and what student code may not name at all (`rnnkit.grader.scan`:
  every kit module outside the rooms with `student_code`);
- the files of a student kit (`release --out`: the rooms with `student_kit`) and of a hosted
  autograder bundle (`gradescope`: the rooms with `official`);
- the import rules between rooms (`ALLOWED_IMPORTS`), which `tests/kit/test_rooms.py` holds
  the source to.

It is an allow-list: a file that no room lists is in no copy, no kit and no bundle, and
`tests/kit/test_rooms.py` fails until a room takes it. The library room lists its modules
one by one for that reason (its folder also holds the other rooms).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Room:
    name: str
    paths: tuple            # files, or folders ending in "/", relative to the kit root
    says: str               # which process runs its code, and what it is for
    student_process: bool   # copied for the student's process, where the kit's code imports it
    student_code: bool      # student code may import it (the source scan refuses the others)
    student_kit: bool       # `release --out` writes it into the student kit
    official: bool          # the hosted grading bundle carries it

    def holds(self, relative: str) -> bool:
        return any(relative == path or (path.endswith("/") and relative.startswith(path))
                   for path in self.paths)


LIBRARY_MODULES = ("__init__", "course", "rooms", "decoding", "plots", "memory",
                   "char_lm", "sentiment", "recognition", "speech_plots", "seq2seq", "mains")

ROOMS = (
    Room("library", tuple(f"rnnkit/{name}.py" for name in LIBRARY_MODULES) + ("rnnkit/datasets/",),
         "the student library: what exercises and solutions import (data sets, the lessons' "
         "fixed parts, plots), in the student's process and the grader alike; import paths "
         "stable across releases",
         student_process=True, student_code=True, student_kit=True, official=True),
    Room("notebooks", ("rnnkit/notebooks.py",),
         "notebooks read back as modules: by the grader (a submitted .ipynb) and by the set-up "
         "cell of the students' own notebooks (Jupyter, Colab); it executes the files it finds, "
         "so it is never in the student's graded process and student code may not import it",
         student_process=False, student_code=False, student_kit=True, official=True),
    Room("runtime", ("rnnkit/sandbox/",),
         "the student-side runtime: the worker, the zygote's loop, the wire, the stand-ins and "
         "the walls it applies to itself; runs in the student's process (and the zygote)",
         student_process=True, student_code=False, student_kit=True, official=True),
    Room("probes", ("rnnkit/probes/",),
         "what the grader asks the student's process to run, loaded there by name; returns "
         "plain data, judges nothing",
         student_process=True, student_code=False, student_kit=True, official=True),
    Room("grader", ("rnnkit/grader/",),
         "the trusted grader: pytest plugin, sessions, comparisons, recorded references, source "
         "scan, results; its handles on student processes (handles/)",
         student_process=False, student_code=False, student_kit=True, official=True),
    Room("official", ("rnnkit/official/",),
         "official-only: every oracle that computes a graded answer, the mistaken variants "
         "used for diagnosis, per-exercise grading helpers (one module per exercise); a "
         "student kit does not carry it (its results on public inputs are recorded instead)",
         student_process=False, student_code=False, student_kit=False, official=True),
    Room("commands", ("rnnkit/tools/", "rnnkit/__main__.py"),
         "the commands: cli, release, grade-class and its warm graders, gradescope, pack, bench, "
         "platforms, notebooks",
         student_process=False, student_code=False, student_kit=True, official=True),
    Room("checks", ("tests/grading/",),
         "the grading checks, one file per exercise, run by pytest in the grader",
         student_process=False, student_code=False, student_kit=True, official=True),
    Room("kit tests", ("tests/kit/",),
         "the kit's own tests (what `python -m pytest` runs), grouped like the rooms",
         student_process=False, student_code=False, student_kit=False, official=False),
    Room("solutions", ("solutions/",),
         "the instructor's reference (published after the deadline: release --with-solutions)",
         student_process=False, student_code=False, student_kit=False, official=True),
    Room("exercises", ("exercises/",),
         "generated from solutions/ by release; what students fill in (graded as the package "
         "`target`, never under this name)",
         student_process=False, student_code=True, student_kit=True, official=False),
    Room("data", ("data/",),
         "shipped data: samples in real formats, recorded references, grading data",
         student_process=False, student_code=False, student_kit=True, official=True),
    Room("deploy", ("deploy/",),
         "the instructor's deployment files: the grading image's Dockerfile (copied into the "
         "build context `image --out` writes), Slurm and Kubernetes examples; read by no "
         "grading, carried by no kit or bundle",
         student_process=False, student_code=False, student_kit=False, official=False),
)
BY_NAME = {room.name: room for room in ROOMS}
# Files of the kit's top level that are no room's: both kits carry them (`python -m rnnkit`
# needs pyproject.toml's pytest settings).
TOP_LEVEL = ("requirements.txt", "pyproject.toml", ".gitignore")
STUDENT_KIT_TOP_LEVEL = TOP_LEVEL                   # (README.md is written for students)
OFFICIAL_TOP_LEVEL = ("pyproject.toml",)

# Which rooms each room's modules may import (absolute or relative, at any depth of the file,
# inside functions too). Student-side rooms never import the trusted ones; the grader never
# imports a command; nothing in the package imports the kit's tests.
ALLOWED_IMPORTS = {
    "library": {"library"},
    "notebooks": {"notebooks", "library"},
    "runtime": {"runtime", "library"},
    "probes": {"probes", "runtime", "library"},
    "grader": {"grader", "notebooks", "probes", "runtime", "library"},
    "official": {"official", "grader", "probes", "runtime", "library"},
    "commands": {"commands", "grader", "notebooks", "official", "probes", "runtime", "library"},
    # The checks name oracles through rnnkit.grader.oracles, never by import: a student kit
    # has no official room, and its checks must still load.
    "checks": {"checks", "grader", "probes", "runtime", "library"},
}

IGNORED = {"__pycache__", ".pytest_cache", ".git", "runs", "build", "dist"}
# The course secret (`rnnkit.grader.secret`) is the official grade's: in the solutions room,
# so the hosted bundle carries it, and never in a kit a student or the public receives. Nor
# are the official grade's recordings beside it: the reference's answers on the course's
# secret inputs (a published copy would hand out the course seed's answers).
SECRET = "solutions/course.secret"
OFFICIAL_RECORDINGS = "solutions/official-references/"
INSTRUCTOR_ONLY = (SECRET, OFFICIAL_RECORDINGS)


def instructor_only(relative: str) -> bool:
    return any(relative == path or (path.endswith("/") and relative.startswith(path))
               for path in INSTRUCTOR_ONLY)


def room_of(relative: str) -> Room | None:
    """The room of a file, by its path relative to the kit root (posix), or None."""
    return next((room for room in ROOMS if room.holds(relative)), None)


def module_file(name: str) -> str:
    """'rnnkit.grader.api' -> 'rnnkit/grader/api.py' (a package's name: its folder + '/')."""
    return name.replace(".", "/")


def room_of_module(name: str) -> Room | None:
    """The room a dotted module name belongs to (a package: the room holding its folder)."""
    path = module_file(name)
    return room_of(path + ".py") or room_of(path + "/__init__.py") or room_of(path + "/")


def in_student_process(name: str) -> bool:
    """Whether the student's process may import the kit module `name` (the worker refuses
    every other module of the kit's packages: rnnkit, tests, solutions, exercises)."""
    room = room_of_module(name)
    return room is not None and room.student_process


def student_may_import(name: str, root: Path | None = None) -> bool:
    """Whether student code may import `name` (the source scan's rule). `name` may end in an
    attribute (`from rnnkit.plots import save_figure` names "rnnkit.plots.save_figure"): a
    name is taken for a module when the kit (`root`) has a file or folder of that name, else
    for an attribute of the module before it. A module of the kit that no room lists may not
    be imported."""
    from rnnkit import KIT_ROOT

    root = Path(root or KIT_ROOT)
    parts = name.split(".")
    while parts:
        path = "/".join(parts)
        if (root / f"{path}.py").is_file() or (root / path).is_dir():
            room = room_of_module(".".join(parts))
            return room is not None and room.student_code
        parts.pop()
    return False


KIT_PACKAGES = ("rnnkit", "tests", "solutions", "exercises")


def kit_module(name: str) -> bool:
    return name.split(".")[0] in KIT_PACKAGES


def closed_subpackages() -> list[str]:
    """The names of the package's folders that student code may not import ("grader", ...):
    an attribute of that name reaches them from `rnnkit` (the source scan refuses it)."""
    found = []
    for room in ROOMS:
        for path in room.paths:
            parts = path.rstrip("/").split("/")
            if parts[0] == "rnnkit" and len(parts) == 2 and path.endswith("/") \
                    and not room.student_code:
                found.append(parts[1])
    return sorted(found)


def files(root: Path, rooms, top_level=(), suffixes=None) -> list[Path]:
    """Every file of `rooms` under `root` (and the `top_level` files), sorted; clutter
    (__pycache__, .pyc) and links skipped; `suffixes`: only files with one of these endings."""
    root = Path(root)
    found = {root / name for name in top_level if (root / name).is_file()}
    for room in rooms:
        for path in room.paths:
            start = root / path
            candidates = [start] if not path.endswith("/") else \
                (p for p in start.rglob("*") if p.is_file()) if start.is_dir() else []
            for candidate in candidates:
                relative = candidate.relative_to(root)
                if not candidate.is_file() or candidate.is_symlink() or \
                        IGNORED & set(relative.parts) or candidate.suffix == ".pyc":
                    continue
                if suffixes is None or candidate.suffix in suffixes:
                    found.add(candidate)
    return sorted(found)


def student_process_files(root: Path) -> list[Path]:
    """The Python files the student's process may import (the private copy's content)."""
    return files(root, [room for room in ROOMS if room.student_process], suffixes={".py"})


def student_kit_files(root: Path, *, with_solutions: bool = False) -> list[Path]:
    """What `release --out` copies (exercises/ is generated, README.md written for students).

    With the solutions (published after the deadline) come the official room's oracles too:
    they compute nothing the solutions do not. Never the secret nor its recordings."""
    chosen = [room for room in ROOMS if room.student_kit and room.name != "exercises"]
    if with_solutions:
        chosen += [BY_NAME["solutions"], BY_NAME["official"]]
    return [path for path in files(root, chosen, STUDENT_KIT_TOP_LEVEL)
            if not instructor_only(path.relative_to(root).as_posix())]


def official_files(root: Path) -> list[Path]:
    """What a hosted grader (the Gradescope bundle) carries."""
    return files(root, [room for room in ROOMS if room.official], OFFICIAL_TOP_LEVEL)


def watched_files(root: Path) -> list[Path]:
    """What grading loads or reads, whose change during a grading voids it: every room but the
    kit's tests, the generated exercises and the deployment files, any file that appears in
    the package (in a room or not), the top-level files, and a conftest.py wherever pytest
    would load one."""
    chosen = [room for room in ROOMS if room.name not in ("kit tests", "exercises", "deploy")]
    package = Room("package", ("rnnkit/",), "", False, False, False, False)
    return files(root, chosen + [package], TOP_LEVEL + ("conftest.py", "tests/conftest.py"))
