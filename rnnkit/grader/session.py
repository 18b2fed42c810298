"""What a grading test file talks to: the `grader` fixture.

    for seed in grader.seeds():
        got = grader.run(probe_step, x=x, weights=weights)         # in the student's process
        want = grader.reference(probe_step, x=x, weights=weights)  # the instructor's solution
        keras = grader.oracle(O.keras_step, x, weights)            # an oracle, by name

`probe_step(module, **args)` is a probe (`rnnkit.probes`); it runs against the student's
module in the student's process (`run`) or against `solutions/` (`reference`). An oracle is
a function of the official room (`rnnkit.official`, named through `rnnkit.grader.oracles`).

Two modes (`Grader.kind`):
- the *official grade* (a kit with solutions/ and the course secret, `rnnkit.grader.secret`):
  every input is drawn from the secret: `seeds()` gives a seed shared by the course's
  submissions and one drawn from the submitted file too, so nothing recorded, trained or
  computed on public inputs earns a point, and a re-grade of the same file is the same; the
  reference and the oracles run here;
- the *self-check* (a student's kit: no solutions, no official room, no secret): the public
  seed 0 only, and the reference's and the oracles' results that `release` recorded on it in
  `data/references/` (`record` is release's own run, which makes them).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import time
from pathlib import Path

import numpy as np

from rnnkit import KIT_ROOT
from rnnkit.course import Exercise, closure
from rnnkit.grader import memo, oracles, scan, stubs
from rnnkit.grader.compare import CheckFailed
from rnnkit.grader.oracles import OfficialOnly, OracleRef
from rnnkit.sandbox import wire
from rnnkit.grader.references import (REFERENCES_DIR, ReferenceStore, official_dir,
                                      reference_key, trusted)
from rnnkit.grader.handles.process import StudentError, StudentProcess, one_line



DEFAULT_TIMEOUT = 30.0  # seconds for a function-level check; training checks pass their own
# Wall-clock seconds one exercise may take, all its checks together, its student process's
# starts included; its checks not yet run when they are spent lose their points unrun. The
# solutions' slowest exercise takes ~16 s here; 300 s is a student process that starts at its
# limit (60 s) and two training checks that run to the longest timeout (120 s each), so a
# submission is cut short only when it is slow over and over. Before it, one that slept 55 s
# at import and hung in every function took 15 min 52 s for one exercise (~2.5 h for nine);
# with it, 261 s (three checks timed out, the fourth restart would not have fit).
EXERCISE_BUDGET_SECONDS = 300.0
BUDGET_VARIABLE = "RNNKIT_EXERCISE_BUDGET"   # seconds, set by the kit's tests to run in seconds


def exercise_budget() -> float:
    """The time budget of one exercise: EXERCISE_BUDGET_SECONDS, or the grader's environment's
    RNNKIT_EXERCISE_BUDGET (which no student process sees: `worker_environment`)."""
    value = os.environ.get(BUDGET_VARIABLE, "")
    try:
        seconds = float(value) if value else EXERCISE_BUDGET_SECONDS
    except ValueError:
        raise ValueError(f"{BUDGET_VARIABLE} must be a number of seconds; received "
                         f"{value!r}") from None
    if not seconds > 0:
        raise ValueError(f"{BUDGET_VARIABLE} must be positive; received {value!r}")
    return seconds


def secret_paths() -> list[str]:
    """The course secret and its recordings: unreadable to student code (Landlock) wherever the
    instructor keeps them, even inside a folder the student's process may read."""
    from rnnkit.grader import secret

    return [str(secret.path()), str(official_dir())]


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


OUT_OF_TIME_ADVICE = ("the reference grades in under 20 s, so look for code that waits, loops "
                      "without end or trains when the module is imported (the checks that "
                      "timed out first say where)")

class Grader:
    """The per-exercise fixture behind every grading check (see the module docstring)."""

    def __init__(self, exercise: Exercise, target: Path, *, mode: str, secret=None,
                 snapshot=None, user=None, record_official: bool = False):
        if mode not in ("live", "recorded", "record"):
            raise ValueError(f"mode must be live, recorded or record; received {mode!r}")
        self.exercise = exercise
        self.target = Path(target)
        self.mode = mode
        self.secret = secret if mode == "live" else None
        self.store = ReferenceStore(REFERENCES_DIR / f"{exercise.id}.npz")
        self.official_store = ReferenceStore(official_dir() / f"{exercise.id}.npz")
        self._submission_seed = None
        self._student_objects: set[int] = set()     # ids of what the student's process returned
        self._student_answers: list = []            # ... kept alive, so no id is reused
        self.record_official = record_official and self.secret is not None
        config = sandbox_config(exercise)
        self.student = StudentProcess(self.target, exercise.module, config=config,
                                      copy=config["copy"], user=user,
                                      code_root=snapshot.root if snapshot else KIT_ROOT,
                                      exclude=[str(KIT_ROOT), str(self.target)],
                                      hidden=secret_paths())
        self.probe_modules = set(config["probes"])
        scanning = os.environ.get("RNNKIT_SOURCE_SCAN", "on") != "off"   # never the student's
        self.findings = scan.scan_submission(self.target, exercise) if scanning else []
        # the stubs of the earlier exercises it imports too: an unwritten ex03 cell met in
        # ex04 is "not written yet", not a traceback
        self.stubs = {(Path(e.filename).stem, f.split(".")[-1])
                      for e in closure(exercise) for f, _ in stub_lines(e)}
        self._solution = None
        self._cells: dict = {}
        self._imports: dict[str, bool] = {}     # earlier module -> imports alone (checked)
        self.notes: list[str] = []
        self.faults: dict[str, tuple[str, str]] = {}   # part -> (title of the check, culprit)
        self.budget = exercise_budget()
        self._clock = time.monotonic()          # the budget counts from here

    # -- the exercise's time budget -------------------------------------------------------
    # (what a student does about it: the reference's whole exercise takes under 20 s here)
    def time_left(self) -> float:
        return self.budget - (time.monotonic() - self._clock)

    def out_of_time(self, why: str = "") -> StudentError:
        """The one line of every check the budget leaves unrun (or cut short)."""
        return StudentError("out_of_time", f"{self.exercise.id} used up its time budget of "
                            f"{self.budget:g} s{why}: {OUT_OF_TIME_ADVICE}")

    # -- the student's side ---------------------------------------------------------------
    def run(self, probe, *, timeout: float = DEFAULT_TIMEOUT, seed: int = 0,
            end_after: bool = False, **args):
        """`probe(student_module, **args)` in the student's process; plain data back.

        `end_after`: end the student's process once the probe has answered (a training, whose
        memory the process would otherwise hold while the grader scores the trained weights
        in Keras: the two were the grading's peak of memory); the next probe starts a new
        process, as after a crash."""
        if self.findings:
            raise StudentError("forbidden", "; ".join(self.findings[:3]) +
                               (" ..." if len(self.findings) > 3 else ""))
        if probe.__module__ not in self.probe_modules:
            raise ValueError(f"{probe.__name__} is not a probe of {self.exercise.id}: probes live "
                             f"in {sorted(self.probe_modules)}, received {probe.__module__}")
        left = self.time_left()
        if left <= 0:
            raise self.out_of_time()
        last_start = self.student.import_seconds
        if self.student.proc is None and self.student.import_failure is None \
                and last_start is not None and last_start >= left:
            # started again (after a timeout, a crash) it could not even finish importing
            raise self.out_of_time(f" (its module took {last_start:.0f} s to import, and "
                                   f"{max(left, 0):.0f} s were left)")
        try:
            return self._from_student(
                self.student.call(probe.__module__, probe.__name__, args, seed=seed,
                                  timeout=min(timeout, left), start_within=left))
        except StudentError as error:
            if error.kind == "timeout" and self.time_left() <= 0:
                raise self.out_of_time() from None
            self._recognise_stub(error)
            raise
        finally:
            for note in self.stand_in_notes():
                self.note(note)
            if end_after:
                self.student.close()

    def _from_student(self, answer):
        """The answer, its containers and arrays remembered as the student's (by identity,
        kept alive for the grading): an oracle given one of them is about this submission, so
        its result is neither read from nor recorded in the official recordings."""
        def walk(value):
            if isinstance(value, (list, tuple, dict, np.ndarray)):
                self._student_objects.add(id(value))
                self._student_answers.append(value)
                for item in (value.values() if isinstance(value, dict) else
                             value if not isinstance(value, np.ndarray) else ()):
                    walk(item)
        walk(answer)
        return answer

    def _about_submission(self, args, kwargs) -> bool:
        """Whether an oracle's inputs hold an object the student's process returned."""
        def walk(value):
            if id(value) in self._student_objects:
                return True
            if isinstance(value, dict):
                return any(walk(item) for item in value.values())
            if isinstance(value, (list, tuple)):
                return any(walk(item) for item in value)
            return False
        return walk(list(args)) or walk(kwargs)

    def stand_in_notes(self) -> list[str]:
        """The report's words on earlier modules Keras's layers stood in for. The student's
        process names them after student code ran there, so each claim is checked here:
        the module is imported alone in a student process of its own exercise, and the note
        stands only if that import fails too (checked once per module)."""
        notes = []
        for claim in self.student.claims:
            module = claim["module"]
            if module not in self._imports:
                self._imports[module] = self._imports_alone(module)
            if not self._imports[module]:
                notes.append(f"{module}.py could not be imported "
                             f"({one_line(claim['reason'], 120)}); Keras's built-in layers "
                             "stood in for it")
        return notes

    def _imports_alone(self, module: str) -> bool:
        from rnnkit.course import BY_MODULE

        exercise = BY_MODULE[module]
        config = sandbox_config(exercise)
        checker = StudentProcess(self.target, module, config=config, copy=config["copy"],
                                 code_root=self.student.code_root, exclude=self.student.exclude,
                                 hidden=self.student.hidden, user=self.student.user)
        try:
            checker._start()               # the handshake: walled, then imported or not
            return True
        except StudentError:
            return False
        finally:
            checker.__exit__(None, None, None)

    def _recognise_stub(self, error: StudentError) -> None:
        """A NotImplementedError is "not started" only when it was raised in a function that
        `release` stubbed, in the module it stubbed it in, by a line that is a stub by its
        structure (`stubs.is_stub_raise`): the message is never read, so a stub of an earlier
        kit, whose message quotes an older docstring, is still not started."""
        raised = error.raised
        if raised and (Path(raised["file"]).stem, raised["function"].split(".")[-1]) \
                in self.stubs and stubs.is_stub_raise(raised["line"]):
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

    def cell_mistake(self, name: str) -> str | None:
        """The sentence of the named mistake the student's wrong cell `name` computes on the
        grader's inputs; None when it is right or its mistake has no name."""
        from rnnkit.grader import cellcheck

        key = f"mistake:{name}"
        if key not in self._cells:
            self._cells[key] = cellcheck.mistake(self, name)
        return self._cells[key]

    def structure_verified(self, name: str) -> str | None:
        """None when what the student's process reports about the cell `name`'s structure is
        borne out by its values (Keras's, or a named mistake's), else why it is not credited."""
        from rnnkit.grader import cellcheck

        key = f"structure:{name}"
        if key not in self._cells:
            self._cells[key] = cellcheck.structure_verified(self, name)
        return self._cells[key]

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
        if self.mode == "recorded":
            return self.store.get(key)
        if prefer_recorded and self.mode == "live" and not self.record_official:
            store = self.official_store if self.official else self.store
            if store.has(key):
                return store.get(key)
            if self.official:
                self.note("the reference was trained during this grading on the course's "
                          "data: `python -m rnnkit release` records it once for the course")
        solution = self.solution_module()
        # remembered like an oracle's result, and exactly what a recording would hold (a
        # probe returns plain data, which comes back as the wire carries it)
        result = trusted(f"reference:{self.exercise.id}:{probe.__module__}.{probe.__name__}",
                          lambda **copied: probe(solution, **copied), (), args, seed)
        if self.mode == "record":
            self.store.record(key, result)
        if self.record_official and prefer_recorded:
            self.official_store.record(key, result)
        return result

    def oracle(self, function, *args, seed: int = 0, prefer_recorded: bool = False, **kwargs):
        """An oracle's result for these arguments: `function` is its name (`oracles.of(...)`:
        run here where the kit has the official room, read from the recordings in a
        self-check) or trusted code of the grader's own (run here). Seeded, on copies; a
        plain-data result of a module-level function is remembered (`rnnkit.grader.memo`).
        In an official grade, a result release recorded for the same function, inputs and seed
        is read instead of computed: release's official grading of solutions/ records every
        oracle it calls, so the course seed's half of each check (inputs every submission
        shares) costs nothing; inputs drawn from the submission's seed or computed from its
        answers are new and computed. `prefer_recorded`: an expensive oracle of course-wide
        inputs (the course's data), whose result must be recordable (plain data)."""
        if not isinstance(function, OracleRef):
            return trusted(memo.function_name(function), function, args, kwargs, seed)
        key = reference_key(f"oracle:{function.qualified}", {"args": list(args),
                                                              "kwargs": kwargs}, seed)
        if self.mode == "recorded" or not oracles.available():
            if not self.store.has(key):
                raise OfficialOnly(f"{function.name} is computed by the official grader only, "
                                   "and release recorded no result of it for these inputs")
            return self.store.get(key)
        shared = self.official and not self._about_submission(args, kwargs)
        if shared and not self.record_official and self.official_store.has(key):
            return self.official_store.get(key)
        result = trusted(function.qualified, function.resolve(), args, kwargs, seed)
        if self.mode == "record":
            self.store.record(key, result)
        if shared and self.record_official:
            try:
                self.official_store.record(key, result)
            except wire.WireError:
                if prefer_recorded:
                    raise
        return result

    def variants(self, function, *args, needed: bool, **kwargs):
        """A named-mistake oracle's result (what each classic mistake returns on these inputs),
        computed only where it is read: when the student's answer is wrong (`needed`), and in
        release's recording, which keeps it for a self-check that has no official room. A right
        answer does not pay for the mistakes it does not make (about 3 s of an official
        grading of the nine exercises). None when not needed."""
        if needed or self.mode == "record":
            return self.oracle(function, *args, **kwargs)
        return None

    def note(self, text: str) -> None:
        """A line the report prints under the exercise (e.g. which cells were used)."""
        if text not in self.notes:
            self.notes.append(text)

    @property
    def kind(self) -> str:
        """"official" (the course secret), "self-check" or "record" (release's own run)."""
        if self.mode == "record":
            return "record"
        return "official" if self.secret is not None else "self-check"

    @property
    def official(self) -> bool:
        return self.kind == "official"

    def seeds(self) -> list[int]:
        """Input seeds for a check. Official: one drawn from the course secret for this
        exercise (every submission's, so oracle results are shared) and one drawn from the
        secret and the submitted file (an answer looked up or passed on fails; the same file
        always draws the same). Self-check and recording: the public seed 0."""
        if not self.official:
            return [0]
        return [self.course_seed(), self.submission_seed()]

    @property
    def seed(self) -> int:
        """The one seed of a check that needs only one: 0, or the course's in an official grade."""
        return self.seeds()[0]

    def course_seed(self, *labels) -> int:
        """A seed drawn from the course secret for this exercise (and `labels`): 0 unless
        official."""
        return self.secret.seed(self.exercise.id, "course", *labels) if self.official else 0

    def submission_seed(self) -> int:
        if self._submission_seed is None and self.record_official:
            # release's official grading of solutions/: a seed no file draws, so what it
            # records of the submission's half matches no later grading (solutions/ graded
            # again, in the bench, pays for that half like any submission)
            self._submission_seed = self.secret.seed(self.exercise.id, "recording",
                                                     os.urandom(16).hex())
        if self._submission_seed is None:
            path = self.target / self.exercise.filename
            digest = hashlib.sha256()
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as handle:        # in blocks: the file may be huge
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            self._submission_seed = self.secret.seed(self.exercise.id, "submission",
                                                     digest.hexdigest())
        return self._submission_seed

    def close(self) -> None:
        # Which walls applied (and which were missing, and why) is reported once for the
        # whole run, from `self.student.protections` (see the plugin's `grader` fixture).
        self.student.__exit__(None, None, None)
