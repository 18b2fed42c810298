"""Before any student code runs: a private copy of the student-side code, and fingerprints.

- The student's process imports only from a private folder holding the code that is meant
  to run beside student code: the rooms `rnnkit.rooms` marks `student_process` (the student
  library, the student-side runtime, the probes). The grader, the oracles, the commands, the
  checks, the reference solutions and the recorded references are not in it, so they cannot
  be imported or read from the student's process (Landlock allows reading this folder only).
- The kit's own files are hashed; `tampered()` lists any that changed since. A grading
  during which the kit changed is voided (see the plugin).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from rnnkit import KIT_ROOT, rooms
from rnnkit.grader.references import DATA_READS

_IGNORED = {"__pycache__", ".pytest_cache"}


def digest_files(root: Path, paths) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in paths}


def _everything(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and not _IGNORED & set(p.relative_to(root).parts))


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
        for path in rooms.student_process_files(self.kit_root):
            target = self.root / path.relative_to(self.kit_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        for folder, dirs, files in os.walk(self.root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        with DATA_READS.paused():
            self._kit = digest_files(self.kit_root, rooms.watched_files(self.kit_root))
        self._copy = digest_files(self.root, _everything(self.root))

    def tampered(self) -> list[str]:
        """Kit or snapshot files added, removed or changed since grading began."""
        changed = []
        with DATA_READS.paused():
            kit = digest_files(self.kit_root, rooms.watched_files(self.kit_root))
        for before, now, label in (
                (self._kit, kit, ""),
                (self._copy, digest_files(self.root, _everything(self.root)), "grader copy: ")):
            changed += [label + name for name in sorted(set(before) | set(now))
                        if before.get(name) != now.get(name)]
        return changed

    def cleanup(self) -> None:
        self._dir.cleanup()
