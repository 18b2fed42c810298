"""Before any student code runs: a private copy of the student-side code, and fingerprints.

- The student's process imports only from a private folder holding the code that is meant
  to run beside student code: `rnnkit/` without the grader (`rnnkit/grader/`, the CLI,
  release, classroom, bench) and the probes (`tests/grading/probes/`). The checks, oracles,
  reference solutions and recorded references are not in it, so they cannot be imported or
  read from the student's process (Landlock allows reading this folder only).
- The kit's own files are hashed; `tampered()` lists any that changed since. A grading
  during which the kit changed is voided (see the plugin).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from rnnkit import KIT_ROOT

# What the student's process may import, relative to the kit root.
STUDENT_SIDE = ("rnnkit", "tests/grading/probes")
# Never copied for it: the trusted side of rnnkit.
TRUSTED_ONLY = ("rnnkit/grader", "rnnkit/cli.py", "rnnkit/classroom.py", "rnnkit/gradescope.py",
                "rnnkit/release.py", "rnnkit/bench.py", "rnnkit/pack.py", "rnnkit/notebooks.py",
                "rnnkit/__main__.py")
WATCHED = ("rnnkit", "tests/grading", "tests/conftest.py", "solutions", "data", "pyproject.toml",
           "conftest.py")  # what grading loads; tests/kit (the kit's own tests) is not
_IGNORED = {"__pycache__", ".pytest_cache"}


def _files(root: Path, relative: str):
    path = root / relative
    if path.is_file():
        yield path
    elif path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_file() and not _IGNORED & set(item.relative_to(root).parts) \
                    and item.suffix != ".pyc":
                yield item


def digest_tree(root: Path, parts) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for relative in parts for p in _files(root, relative)}


def _trusted_only(relative: str) -> bool:
    return any(relative == t or relative.startswith(t + "/") for t in TRUSTED_ONLY)


SHARED: "GraderSnapshot | None" = None   # the warm grader's, for every submission it grades


def for_this_grading() -> "GraderSnapshot":
    """The warm grader's snapshot in a grader it forked (grade-class: taken before any
    submission was graded, so a change any of them made is still found), else a new one."""
    return SHARED if SHARED is not None else GraderSnapshot()


def owned(snapshot: "GraderSnapshot") -> bool:
    """Whether this grading may delete `snapshot` when it ends (not the warm grader's)."""
    return snapshot is not SHARED


class GraderSnapshot:
    """A private copy of the student-side code, and fingerprints to notice tampering."""

    def __init__(self, kit_root: Path = KIT_ROOT):
        self.kit_root = Path(kit_root)
        self._dir = tempfile.TemporaryDirectory(prefix="rnnkit-code-")
        self.root = Path(self._dir.name)
        for relative in STUDENT_SIDE:
            for path in _files(self.kit_root, relative):
                name = path.relative_to(self.kit_root).as_posix()
                if path.suffix == ".py" and not _trusted_only(name):
                    (self.root / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, self.root / name)
        for folder, dirs, files in os.walk(self.root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        self._kit = digest_tree(self.kit_root, WATCHED)
        self._copy = digest_tree(self.root, ("rnnkit", "tests"))

    def tampered(self) -> list[str]:
        """Kit or snapshot files added, removed or changed since grading began."""
        changed = []
        for before, root, parts, label in ((self._kit, self.kit_root, WATCHED, ""),
                                           (self._copy, self.root, ("rnnkit", "tests"),
                                            "grader copy: ")):
            now = digest_tree(root, parts)
            changed += [label + name for name in sorted(set(before) | set(now))
                        if before.get(name) != now.get(name)]
        return changed

    def cleanup(self) -> None:
        self._dir.cleanup()
