"""The corpus of bad submissions (`planted.py`), graded by a released copy of the kit.

`python -m rnnkit release --out COPY --with-solutions` writes a kit with solutions/ and
tests/grading/ (no tests/kit); every grading runs with cwd=COPY, so a plant that managed to
tamper could only damage the copy. Class runs (`grade-class --jobs 2`) grade the corpus, all
started at once: ex01 plants, ex02 plants (including the import hang, started first), the ex02
plant whose three checks time out, alone, so that its 90 s of waiting overlap the work of the
others, ex03 plants, and those graded with the source scan on (scan01, scan02, scan03). Each
plant's test then reads OUT/<name>/results.json. Only the runs the selected tests read are
started (`-k ex03`: the two ex03 runs). The whole corpus takes about 8 minutes on 2 cores,
depending on what else the machine runs.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import KIT_ROOT, descendants, load_catalogue, run_cli

import planted
from planted import (BY_NAME, DAEMON_NAME, DETERMINISM_BASE, DETERMINISM_COPIES,
                     MAX_POINTS, PLANTS, RUNS, Plant, PlantError, assert_scored_as_declared,
                     checks_of, show)
from rnnkit.course import is_bonus
from rnnkit.grader.snapshot import digest_files

RUN_SECONDS = 480
KIT_PARTS = ("rnnkit", "tests", "solutions", "data", "pyproject.toml")


def digest_tree(kit, parts):
    """{relative path: sha256} of every file of the kit copy under `parts`."""
    return digest_files(kit, [p for p in kit.rglob("*") if p.is_file() and p.suffix != ".pyc"
                              and "__pycache__" not in p.parts
                              and p.relative_to(kit).parts[0] in parts])


# -- the copy of the kit and its catalogue of checks ----------------------------------------
@pytest.fixture(scope="session")
def kit(tmp_path_factory):
    """A released kit with solutions/ (live reference, fresh seeds) and without tests/kit."""
    out = tmp_path_factory.mktemp("planted") / "kit"
    completed = run_cli("release", "--out", out, "--with-solutions")
    assert completed.returncode == 0, completed.stderr
    assert (out / "solutions" / "ex02_bptt.py").is_file() and (out / "tests" / "grading").is_dir()
    assert not (out / "tests" / "kit").exists()
    return out


@pytest.fixture(scope="session")
def kit_digest(kit):
    """The copy's files before any plant ran (taken before the class runs start)."""
    return digest_tree(kit, KIT_PARTS)


@pytest.fixture(scope="session")
def catalogue(kit):
    """{exercise: {check name: (title, points)}} collected from the copy's tests/grading."""
    return load_catalogue(cwd=kit, timeout=120)


# -- the class runs ---------------------------------------------------------------------------
class ClassRun:
    """One `grade-class` of a group of plants, started in the background."""

    def __init__(self, kit: Path, root: Path, exercise: str, plants: list, copies=()):
        self.exercise, self.plants = exercise, plants
        self.submissions, self.out = root / "submissions", root / "out"
        self.submissions.mkdir(parents=True)
        context = {"KIT": kit, "OUT": self.out}
        for plant in plants:
            planted.build(plant, self.submissions, context)
        for copy in copies:   # the determinism test: one submission under several names
            shutil.copytree(self.submissions / DETERMINISM_BASE, self.submissions / copy)
        self.log = open(root / "grade-class.log", "w")
        self.started = time.monotonic()
        scan = "on" if root.name.startswith("scan") else "off"   # see planted.SCAN_PLANTS
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rnnkit", "grade-class", str(self.submissions),
             "--out", str(self.out), "--jobs", "2", "--exercises", exercise],
            cwd=kit, stdout=self.log, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "RNNKIT_SOURCE_SCAN": scan})
        self.code = None

    def wait(self) -> "ClassRun":
        if self.code is None:
            left = RUN_SECONDS - (time.monotonic() - self.started)
            try:
                self.code = self.process.wait(timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                self.stop()
                raise
            finally:
                self.log.close()
            log = Path(self.log.name).read_text()
            print(f"\ngrade-class --exercises {self.exercise}, {len(self.plants)} plants:\n{log}")
        assert self.code == 0, f"grade-class {self.exercise} exited with {self.code}:\n" \
                               f"{Path(self.log.name).read_text()[-3000:]}"
        return self

    def stop(self) -> None:
        """End the run and the graders it started (they run in sessions of their own)."""
        for pid in [self.process.pid] + descendants(self.process.pid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.process.wait()

    def document(self, name: str) -> dict:
        path = self.out / "students" / name / "results.json"
        assert path.is_file(), f"no results.json for {name}"
        return json.loads(path.read_text())

    def gradebook(self) -> list:
        with open(self.out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))


# tests that read the ex02 run as a whole (every other test reads its plant's run, or all)
EX02_RUN_TESTS = ("test_gradebook_rows_are_exactly_as_declared",
                  "test_same_submission_under_five_names_scores_identically")


def selected_runs(items) -> set:
    """The class runs the selected tests read: a plant's test its plant's run, the ex02 run's
    tests that run, any other test every run (so `-k ex03` grades only the ex03 runs)."""
    needed = set()
    for item in items:
        if "runs" not in getattr(item, "fixturenames", ()):
            continue
        plant = item.callspec.params.get("plant") if hasattr(item, "callspec") else None
        needed |= {plant.run_name} if isinstance(plant, Plant) else \
            {"ex02"} if item.originalname in EX02_RUN_TESTS else set(RUNS)
    return needed


@pytest.fixture(scope="session")
def runs(request, kit, kit_digest, catalogue, tmp_path_factory):
    """Every class run the selected tests read, started at once (timeouts wait while the
    others work)."""
    root = tmp_path_factory.mktemp("runs")
    needed = selected_runs(request.session.items)
    started = {name: ClassRun(kit, root / name, exercise, plants,
                              DETERMINISM_COPIES if BY_NAME[DETERMINISM_BASE] in plants else ())
               for name, (exercise, plants) in RUNS.items() if name in needed}
    started["watch"] = DaemonWatch(list(started.values()))
    started["watch"].start()
    yield started
    started.pop("watch")
    for run in started.values():   # a session cut short (-x): end what is still running
        if run.process.poll() is None:
            run.stop()


def daemons() -> set:
    """Pids of live processes named like the plant's detached daemon."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if comm == DAEMON_NAME and state != "Z":
            found.add(int(entry))
    return found


class DaemonWatch(threading.Thread):
    """Records every daemon of the plant seen while the class runs are going."""

    def __init__(self, runs):
        super().__init__(daemon=True)
        self.runs, self.seen = runs, set()

    def run(self):
        while any(run.process.poll() is None for run in self.runs):
            self.seen |= daemons()
            time.sleep(0.5)


def finished(runs, exercise: str) -> ClassRun:
    return runs[exercise].wait()


# -- checking one document ----------------------------------------------------------------------


# -- the corpus is well formed (no grading) --------------------------------------------------
def test_corpus_declarations_add_up(catalogue, tmp_path):
    assert len(PLANTS) >= 25 and len(BY_NAME) == len(PLANTS)
    for plant in PLANTS:
        assert plant.demonstrates and plant.feedback and plant.exercises, plant.name
        folder = planted.write_sources(plant, tmp_path / plant.name, {"KIT": "K", "OUT": "O"})
        changed = [name for name in plant.files
                   if (folder / name).read_text() != (planted.SOLUTIONS / name).read_text()]
        assert bool(changed) == bool(plant.edits), f"{plant.name}: its edits change nothing"
        for exercise in plant.exercises:
            checks = catalogue[exercise]
            assert sum(p for _, p in checks.values()) == MAX_POINTS[exercise]
            unknown = set(plant.lost) - set(checks)
            assert not unknown, f"{plant.name}: unknown checks {unknown}"
            lost = sum(checks[name][1] for name in plant.lost)
            assert plant.points[exercise] == MAX_POINTS[exercise] - lost, \
                f"{plant.name}: declares {plant.points[exercise]:g} but loses {lost:g} points"
        if plant.same_as:
            base = BY_NAME[plant.same_as]
            assert (base.points, sorted(base.lost)) == (plant.points, sorted(plant.lost)), \
                plant.name


def test_a_stale_plant_breaks_loudly(tmp_path):
    """An edit that no longer matches the solution exactly once is an error, not a no-op."""
    stale = Plant("stale", "an edit of a line the solution no longer has", {"ex02": 18.0}, (),
                  "complete", (planted.Replace(planted.EX02, "no such line", "x = 1"),))
    with pytest.raises(PlantError, match="occurs 0 times"):
        planted.write_sources(stale, tmp_path / "stale", {})
    twice = Plant("twice", "an edit that matches twice", {"ex02": 18.0}, (), "complete",
                  (planted.Replace(planted.EX02, "h, cache = rnn_forward(x, h0, Wx, Wh, b)",
                                   "h, cache = None, None"),))
    with pytest.raises(PlantError, match="occurs 2 times"):
        planted.write_sources(twice, tmp_path / "twice", {})


def test_the_hardcoded_answers_are_right_only_for_the_known_inputs(tmp_path):
    """So its lost points come from the fresh seeds, nothing else: right on the recorded and
    fixed inputs, garbage on the same problems drawn with another seed."""
    import importlib.util

    import numpy as np

    from rnnkit.grader import inputs
    from solutions.ex02_bptt import clip_by_global_norm, hidden_grad_norms

    folder = planted.write_sources(BY_NAME["ex02_hardcoded"], tmp_path / "plant", {})
    spec = importlib.util.spec_from_file_location("hardcoded_plant", folder / "ex02_bptt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    known = planted.hardcoded_cases()
    fresh = planted._grading_checks("ex02").problem(12345, steps=12)
    fresh_norms = dict(x=fresh["x"], h0=fresh["h0"], Wx=fresh["Wx"], Wh=fresh["Wh"],
                       b=fresh["b"], dh_last=fresh["dh"][:, -1])
    for args, right in [(a, True) for a in known["norms"]] + [(fresh_norms, False)]:
        same = np.allclose(module.hidden_grad_norms(**args), hidden_grad_norms(**args))
        assert same == right, f"hidden_grad_norms is {'wrong' if right else 'right'} on {args}"
    fresh_grads = [3.0 * inputs.uniform(12345, f"g{i}", np.shape(g), -1, 1, "float64")
                   for i, g in enumerate(known["clip"][3.0])]
    for grads, right in [(g, True) for g in known["clip"].values()] + [(fresh_grads, False)]:
        got, norm = module.clip_by_global_norm(grads, 1.0)
        want, want_norm = clip_by_global_norm(grads, 1.0)
        same = np.isclose(norm, want_norm) and all(np.allclose(g, w) for g, w in zip(got, want))
        assert same == right, f"clip_by_global_norm is {'wrong' if right else 'right'} on {grads}"


# -- every plant scores exactly as declared ----------------------------------------------------
def _param(plant):
    marks = [pytest.mark.xfail(strict=True, reason=f"grader bug: {plant.bug}")] if plant.bug else []
    return pytest.param(plant, id=plant.name, marks=marks)


@pytest.mark.parametrize("plant", [_param(p) for p in PLANTS])
def test_plant_scores_exactly_as_declared(plant, runs, catalogue):
    run = finished(runs, plant.run_name)
    document = run.document(plant.name)
    assert_scored_as_declared(plant, document, catalogue)
    if plant.same_as:   # tampering on top of a wrong implementation earns nothing more
        base = run.document(plant.same_as)
        for exercise in plant.exercises:
            mine, theirs = (checks_of(d, catalogue, exercise) for d in (document, base))
            differ = [n for n in mine if (mine[n]["score"], mine[n]["tags"])
                      != (theirs[n]["score"], theirs[n]["tags"])]
            assert not differ, (f"{plant.name} scores differently from {plant.same_as}:\n"
                                f"{show(mine, differ)}\n  vs\n{show(theirs, differ)}")


def test_gradebook_rows_are_exactly_as_declared(runs):
    """The ex02 run's gradebook: every plant (one a .zip with kit/exercises/ inside) and the
    determinism copies, with points, total, max and notes exactly as declared."""
    run = finished(runs, "ex02")
    rows = run.gradebook()
    expected = [["student", "id", "folder", "ex02", "total", "max", "notes", "graded"]]
    names = {p.name: p for p in run.plants if not p.bug}
    names.update({copy: BY_NAME[DETERMINISM_BASE] for copy in DETERMINISM_COPIES})
    for name in sorted(names):
        plant = names[name]
        points = f"{plant.points['ex02']:g}"
        expected.append([name, "", name, points, points, f"{MAX_POINTS['ex02']:g}", plant.notes])
    got = [row if index == 0 else row[:7]      # (the last column says when: not declared)
           for index, row in enumerate(rows) if row[0] not in {p.name for p in run.plants if p.bug}]
    assert all(row[7] for row in rows[1:]), "a row without the time it was graded"
    assert len(got) > 10 and any(BY_NAME[n].zipped for n in names if n in BY_NAME)
    kinds = {note.split(": ")[1] for row in expected[1:] if row[6] for note in row[6].split("; ")}
    assert kinds >= {"import error", "timeout", "crash", "memory"}, kinds
    assert got == expected, "\n".join(f"got {g}\nexp {e}" for g, e in zip(got, expected) if g != e)


def test_same_submission_under_five_names_scores_identically(runs, catalogue):
    run = finished(runs, "ex02")
    names = [DETERMINISM_BASE] + DETERMINISM_COPIES
    documents = {name: run.document(name) for name in names}
    base = BY_NAME[DETERMINISM_BASE]
    first = checks_of(documents[names[0]], catalogue, "ex02")
    assert 0 < base.points["ex02"] < MAX_POINTS["ex02"]   # partial credit, so there is a choice
    for name in names[1:]:
        assert_scored_as_declared(base, documents[name], catalogue)
        other = checks_of(documents[name], catalogue, "ex02")
        differ = [n for n in first if (first[n]["score"], first[n]["tags"], first[n]["output"])
                  != (other[n]["score"], other[n]["tags"], other[n]["output"])]
        assert not differ, f"{name} differs from {names[0]}:\n{show(other, differ)}\n  vs\n" \
                           f"{show(first, differ)}"


def test_no_plant_damaged_the_kit_or_left_a_daemon(runs, kit, kit_digest):
    for name in RUNS:
        finished(runs, name)
    runs["watch"].join(timeout=5)
    now = digest_tree(kit, KIT_PARTS)
    changed = sorted(n for n in set(now) | set(kit_digest) if now.get(n) != kit_digest.get(n))
    assert not changed, f"the corpus changed the kit copy: {changed}"
    # ex02_results_writer tries to fork a daemon at import; the student's process may not
    # create processes (seccomp), so none is ever seen — its import ran (it scores 14, not 0)
    # and test_walls proves the refusal itself.
    assert not runs["watch"].seen, f"a daemon of the plant ran: {runs['watch'].seen}"
    survivors = daemons()
    for pid in survivors:   # the plant's daemon (its unique name): stop it, then fail
        os.kill(pid, 9)
    assert not survivors, f"the plant's detached daemon outlived its grading: {survivors}"


# -- grade-submission on garbage ------------------------------------------------------------------
def _not_a_zip(path: Path) -> str:
    path.write_bytes(b"%PDF-1.4 this is my report, not a zip\n" * 50)
    return "is not a readable zip file"


def _escaping_zip(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.write(KIT_ROOT / "solutions" / "ex02_bptt.py", "exercises/ex02_bptt.py")
        bundle.writestr("../../evil.py", "print('escaped')\n")
    return "unsafe path '../../evil.py'"


@pytest.mark.parametrize("make", [_not_a_zip, _escaping_zip], ids=["not_a_zip", "escaping_path"])
def test_grade_submission_of_garbage_still_writes_every_check(make, kit, catalogue, tmp_path):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    archive = deep / "submission.zip"
    reason = make(archive)
    results = tmp_path / "results" / "results.json"
    completed = run_cli("grade-submission", archive, "--json", results, cwd=kit, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert not any(p.name == "evil.py" for p in tmp_path.rglob("*")), "the zip escaped its folder"
    document = json.loads(results.read_text())
    assert document["score"] == 0
    assert reason in document["output"], document["output"][:500]
    for exercise, checks in catalogue.items():
        named = checks_of(document, catalogue, exercise)
        assert set(named) == set(checks), f"{exercise}: checks missing {set(checks) - set(named)}"
        for name, test in named.items():
            assert (test["score"], test["max_score"]) == (0, checks[name][1]), test
            assert test["tags"] == [exercise, "not_graded"] + (
                ["bonus"] if is_bonus(exercise) else []) and reason in test["output"], test
