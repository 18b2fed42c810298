"""What a grading test file talks to: the `grader` fixture.

    got = grader.run(probe_step, x=x, weights=weights)         # in the student's process
    want = grader.reference(probe_step, x=x, weights=weights)  # the instructor's solution

`probe_step(module, **args)` is a plain function of the test file; it runs against the
student's module in the student's process (`run`) or against `solutions/` (`reference`).

The reference is the live `solutions/` package when the kit has one (instructor and hosted
grading), otherwise what `python -m rnnkit release` recorded in `data/references/`, keyed
by probe name and a digest of its arguments — so a student's copy without solutions still
grades itself. When the reference is live, `seeds()` adds a fresh input seed derived from the
submission's own file, so an answer hard-coded from the recorded references fails.
"""
from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import Exercise, closure
from rnnkit.grader import memo, scan
from rnnkit.grader.references import REFERENCES_DIR, ReferenceStore, reference_key, trusted
from rnnkit.grader.handles.process import StudentError, StudentProcess

DEFAULT_TIMEOUT = 30.0  # seconds for a function-level check; training checks pass their own


def solutions_available() -> bool:
    return (KIT_ROOT / "solutions" / "__init__.py").is_file()


def stub_lines(exercise: Exercise) -> set[tuple[str, str]]:
    """{(function, stripped line)} of every stub `release` wrote into the exercise module:
    from the recorded manifest, or generated from solutions/ when the kit has them."""
    import json

    manifest = REFERENCES_DIR / "manifest.json"
    try:
        entry = json.loads(manifest.read_text()).get(exercise.id, {})
        if isinstance(entry.get("stubs"), list):
            return {(str(f), str(line)) for f, line in entry["stubs"]}
    except (OSError, ValueError):
        pass
    if solutions_available():
        from rnnkit.grader import stubs

        return set(stubs.stubs_of(exercise))
    return set()


def sandbox_config(exercise: Exercise) -> dict:
    """What the student's process of `exercise` needs, derived from the course declarations:
    its probe modules, the stand-ins of the earlier exercises it imports, the Keras layers to
    wall off (those it asks the student to write, except the ones standing in for earlier
    work), the modules it must do without, and the files to copy."""
    earlier = closure(exercise)[1:]
    stand_ins = {e.module: dict(e.stand_ins) for e in earlier if e.stand_ins}
    needed = {keras_name for e in earlier for keras_name in e.stand_ins.values()}
    return {"probes": [f"rnnkit.probes.{exercise.id}", "rnnkit.probes.cells"],
            "stand_ins": stand_ins,
            "disable": sorted(set(exercise.built_ins) - needed),
            "forbidden_imports": sorted(exercise.forbidden_imports),
            "copy": [e.filename for e in closure(exercise)]}


class Grader:
    """The per-exercise fixture behind every grading check (see the module docstring)."""

    def __init__(self, exercise: Exercise, target: Path, *, mode: str, fresh_seed: int | None,
                 snapshot=None, user=None):
        if mode not in ("live", "recorded", "record"):
            raise ValueError(f"mode must be live, recorded or record; received {mode!r}")
        self.exercise = exercise
        self.target = Path(target)
        self.mode = mode
        self.fresh_seed = fresh_seed
        self.store = ReferenceStore(REFERENCES_DIR / f"{exercise.id}.npz")
        config = sandbox_config(exercise)
        self.student = StudentProcess(self.target, exercise.module, config=config,
                                      copy=config["copy"], user=user,
                                      code_root=snapshot.root if snapshot else KIT_ROOT,
                                      exclude=[str(KIT_ROOT), str(self.target)])
        self.probe_modules = set(config["probes"])
        scanning = os.environ.get("RNNKIT_SOURCE_SCAN", "on") != "off"   # never the student's
        self.findings = scan.scan_submission(self.target, exercise) if scanning else []
        # the stubs of the earlier exercises it imports too: an unwritten ex03 cell met in
        # ex04 is "not written yet", not a traceback
        self.stubs = {(Path(e.filename).stem, f.split(".")[-1], line)
                      for e in closure(exercise) for f, line in stub_lines(e)}
        self._solution = None
        self._cells: dict = {}
        self.notes: list[str] = []
        self.faults: dict[str, tuple[str, str]] = {}   # part -> (title of the check, culprit)

    # -- the student's side ---------------------------------------------------------------
    def run(self, probe, *, timeout: float = DEFAULT_TIMEOUT, seed: int = 0, **args):
        """`probe(student_module, **args)` in the student's process; plain data back."""
        if self.findings:
            raise StudentError("forbidden", "; ".join(self.findings[:3]) +
                               (" ..." if len(self.findings) > 3 else ""))
        if probe.__module__ not in self.probe_modules:
            raise ValueError(f"{probe.__name__} is not a probe of {self.exercise.id}: probes live "
                             f"in {sorted(self.probe_modules)}, received {probe.__module__}")
        try:
            return self.student.call(probe.__module__, probe.__name__, args, seed=seed,
                                     timeout=timeout)
        except StudentError as error:
            self._recognise_stub(error)
            raise
        finally:
            for note in self.student.notes:
                self.note(note)

    def _recognise_stub(self, error: StudentError) -> None:
        """A NotImplementedError is "not started" only when it was raised by a stub line
        exactly as `release` wrote it, in the module it wrote it into (the message is never
        read for this)."""
        raised = error.raised
        if raised and (Path(raised["file"]).stem, raised["function"].split(".")[-1],
                       raised["line"].strip()) in self.stubs:
            error.kind = "not_started"
            error.message = f"{raised['function']} is not written yet ({raised['file']})"

    def cell_problem(self, name: str) -> str | None:
        """None when the student's cell `name` computes what Keras's does, else why not."""
        return self._cell_check(name)[0]

    def cell_error(self, name: str):
        """The StudentError that kept the cell `name` from running at all (None otherwise)."""
        return self._cell_check(name)[1]

    def _cell_check(self, name: str):
        from rnnkit.grader import cellcheck

        if name not in self._cells:
            self._cells[name] = cellcheck.problem(self, name)
        return self._cells[name]

    def cell_stand_in(self, name: str) -> bool:
        """True when an earlier exercise's cell must be replaced by Keras's in this exercise
        (it is unfinished or wrong); the report then says so, once."""
        problem = self.cell_problem(name)
        if problem:
            self.note(f"{problem}: keras.layers.{name} stood in for it here, so this exercise "
                      "takes no points for it (its own exercise's checks do)")
        return problem is not None

    # -- one mistake, one explanation -------------------------------------------------------
    def found_wrong(self, part: str) -> str | None:
        """The title of the check that first found `part` (a function or a cell) wrong, or of
        the check that found wrong the part it was blamed on; None while nothing did."""
        return self.faults[part][0] if part in self.faults else None

    def attribute(self, title: str, part: str, uses=(), feedback: str = "") -> str:
        """The feedback of the check `title`, which failed on `part` (run on `uses`).

        When an earlier check already found `part` or one of `uses` wrong, the failure is
        blamed on that first finding: the feedback becomes "same cause as '<its title>'" and
        points there, instead of a fresh list of numbers. Otherwise this check is the first to
        find `part` wrong, is recorded as such, and keeps its own feedback.
        (`rnnkit.grader.plugin` calls this for every check marked `@pytest.mark.part(...)`.)
        """
        for used in (part, *uses):
            if used in self.faults and self.faults[used][0] != title:
                origin, culprit = self.faults[used]
                self.faults.setdefault(part, (origin, culprit))
                if culprit == part:
                    return (f"same cause as '{origin}': that check found your {part} wrong "
                            "first; fix it there")
                return (f"same cause as '{origin}': your {part} uses your {culprit}, which "
                        f"that check found wrong; fix {culprit} first")
        self.faults.setdefault(part, (title, part))
        return feedback

    # -- the reference's side -------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.mode in ("live", "record")

    def solution_module(self):
        if self._solution is None:
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            self._solution = importlib.import_module(f"solutions.{self.exercise.module}")
        return self._solution

    def reference(self, probe, *, seed: int = 0, prefer_recorded: bool = False, **args):
        """The instructor's result for the same probe and arguments.

        `prefer_recorded`: use the recording even when solutions/ is live, when one exists —
        for expensive probes on fixed inputs (training), whose live result would be the same.
        """
        key = reference_key(probe.__name__, args, seed)
        if self.mode == "recorded" or (prefer_recorded and self.mode == "live"
                                       and self.store.has(key)):
            return self.store.get(key)
        solution = self.solution_module()
        # remembered like an oracle's result, and exactly what a recording would hold (a
        # probe returns plain data, which comes back as the wire carries it)
        result = trusted(f"reference:{self.exercise.id}:{probe.__module__}.{probe.__name__}",
                          lambda **copied: probe(solution, **copied), (), args, seed)
        if self.mode == "record":
            self.store.record(key, result)
        return result

    @staticmethod
    def oracle(function, *args, seed: int = 0, **kwargs):
        """Run trusted code (a Keras built-in layer, autodiff) here, seeded, on copies; a
        module-level function's plain-data result is remembered (`rnnkit.grader.memo`)."""
        return trusted(memo.function_name(function), function, args, kwargs, seed)

    def note(self, text: str) -> None:
        """A line the report prints under the exercise (e.g. which cells were used)."""
        if text not in self.notes:
            self.notes.append(text)

    def seeds(self, *, always_fresh: bool = False) -> list[int]:
        """Input seeds for a check: the recorded one, plus a fresh one when it can be judged.

        A fresh seed is used whenever the reference is live, and for checks whose reference is
        computed here anyway (`always_fresh=True`, e.g. against Keras's own layers).
        """
        fresh = self.fresh_seed is not None and (self.mode == "live" or always_fresh)
        return [0, self.fresh_seed] if fresh else [0]

    def close(self) -> None:
        # Which walls applied (and which were missing, and why) is reported once for the
        # whole run, from `self.student.protections` (see the plugin's `grader` fixture).
        self.student.__exit__(None, None, None)


def submission_seed(target: Path, exercise: Exercise) -> int:
    """A seed no one can know before the file is final: a digest of the submitted module
    (read in blocks: a module of any size costs the grader no memory)."""
    path = Path(target) / exercise.filename
    digest = hashlib.sha256(exercise.id.encode() + b"\0")
    if path.is_file():
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return 1 + int.from_bytes(digest.digest()[:4], "big") % (2**31 - 2)
