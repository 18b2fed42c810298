"""`release`: stubs from solution blocks, exercises in sync, a student kit that leaks nothing."""
import ast
import re

import pytest

from rnnkit import KIT_ROOT
from rnnkit.tools import release
from rnnkit.course import EXERCISES

SOLUTION = '''\
def add(a, b):
    """Return a + b."""
    # BEGIN SOLUTION
    total = a + b
    return total
    # END SOLUTION


class Cell:
    def call(self, x):
        """Double x."""
        # BEGIN SOLUTION
        return 2 * x
        # END SOLUTION
'''


def test_blocks_become_stubs_that_name_the_function():
    student = release.strip_solutions(SOLUTION, "s.py")
    assert "total = a + b" not in student and "2 * x" not in student
    assert "raise NotImplementedError('add is not written yet: Return a + b.')" in student
    assert "Cell.call is not written yet: Double x." in student
    assert '"""Return a + b."""' in student          # docstring kept
    namespace = {}
    exec(compile(student, "s.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="add is not written yet"):
        namespace["add"](1, 2)


WRAPPED = '''\
def encode(x):
    """Read the input, its final state
    starts the decoder. It is fed the summary.
    """
    # BEGIN SOLUTION
    return x
    # END SOLUTION


def decode(x):
    """Write the outputs (N, T, H)
    one step at a time

    Inputs:
    - x: (N, T, D).
    """
    # BEGIN SOLUTION
    return x
    # END SOLUTION
'''


def test_a_stub_message_is_the_whole_first_sentence_on_one_line():
    student = release.strip_solutions(WRAPPED, "s.py")
    assert ("raise NotImplementedError('encode is not written yet: Read the input, its final "
            "state starts the decoder.')") in student
    assert ("raise NotImplementedError('decode is not written yet: Write the outputs (N, T, H) "
            "one step at a time.')") in student


def _sentence_ends(text):
    return text.endswith((".", "?", "!")) and text.count("(") == text.count(")") \
        and text.count("`") % 2 == 0


def test_every_generated_stub_message_ends_with_a_full_sentence():
    """The message names the function and carries its docstring's whole first sentence."""
    checked = 0
    for exercise in EXERCISES:
        path = KIT_ROOT / "solutions" / exercise.filename
        tree = ast.parse(path.read_text())
        docs = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for child in node.body:
                    if isinstance(child, ast.FunctionDef):
                        docs[f"{node.name}.{child.name}"] = ast.get_docstring(child) or ""
            elif isinstance(node, ast.FunctionDef):
                docs.setdefault(node.name, ast.get_docstring(node) or "")
        for name, line in release.stubs_of(exercise):
            message = ast.literal_eval(ast.parse(line.strip()).body[0].exc.args[0])
            prefix = f"{name} is not written yet: "
            assert message.startswith(prefix), line
            what = message[len(prefix):]
            assert _sentence_ends(what), f"{exercise.id} {name}: stub stops mid-sentence: {what!r}"
            first_paragraph = " ".join(docs[name].strip().split("\n\n")[0].split())
            assert first_paragraph.startswith(what), (name, what, first_paragraph)
            rest = first_paragraph[len(what):]
            assert rest == "" or rest.startswith(" "), f"{name}: {what!r} cuts a word"
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without BEGIN"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "inside a function"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n",
     "inside another block"),
])
def test_malformed_blocks_are_reported_with_file_and_line(source, problem):
    with pytest.raises(release.ReleaseError, match=problem) as error:
        release.strip_solutions(source, "bad.py")
    assert re.match(r"bad\.py:\d+:", str(error.value))


def test_every_exercise_has_a_solution_a_grading_file_and_references():
    for exercise in EXERCISES:
        assert (KIT_ROOT / "solutions" / exercise.filename).is_file(), exercise
        assert exercise.test_file.is_file(), exercise
        assert (KIT_ROOT / "data" / "references" / f"{exercise.id}.npz").is_file(), exercise


def test_exercises_and_references_are_up_to_date():
    """`release --check`: exercises/ is what release generates and no recording is stale."""
    problems = release.exercise_differences() + release.reference_differences()
    assert not problems, "run `python -m rnnkit release`:\n" + "\n".join(problems)


# -- what a recording depends on (the fingerprint rule, rnnkit.tools.release) ---------------
@pytest.fixture(scope="module")
def kit_copy(tmp_path_factory):
    """The code and data a fingerprint reads, copied (edits here leave the kit alone)."""
    import shutil

    copy = tmp_path_factory.mktemp("fingerprints") / "kit"
    for folder in ("rnnkit", "tests/grading", "solutions", "data"):
        shutil.copytree(KIT_ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def fingerprints(root):
    return {e.id: release.fingerprint(e, root) for e in EXERCISES}


def edited(path, text=b"\n# edited\n"):
    """Append `text` to a file; returns a function that puts it back."""
    original = path.read_bytes()
    path.write_bytes(original + text)
    return lambda: path.write_bytes(original)


@pytest.mark.parametrize("walls", ["rnnkit/sandbox/walls.py", "rnnkit/sandbox/worker.py",
                                   "rnnkit/sandbox/built_ins.py",
                                   "rnnkit/sandbox/zygote.py", "rnnkit/grader/handles/process.py",
                                   "rnnkit/grader/plugin.py", "rnnkit/grader/scan.py",
                                   "rnnkit/tools/cli.py"])
def test_walls_processes_and_commands_re_record_nothing(kit_copy, walls):
    """Hardening the sandbox, the grader's machinery or a command cannot move a recorded
    value (the re-recording of issue 22 proved it byte for byte): no fingerprint changes."""
    before = fingerprints(kit_copy)
    restore = edited(kit_copy / walls)
    try:
        assert fingerprints(kit_copy) == before
    finally:
        restore()


@pytest.mark.parametrize("changed, stale", [
    ("rnnkit/datasets/speech/synth.py", {"ex06"}),      # reached by a relative import only
    ("data/speech/ex06_grading.npz", {"ex06"}),          # a data file the recording read
    ("rnnkit/probes/cells.py", {e.id for e in EXERCISES if e.id != "ex02"}),
    ("rnnkit/official/ex04.py", {"ex04"}),
    ("rnnkit/grader/inputs.py", {e.id for e in EXERCISES}),
    ("rnnkit/grader/cellcheck.py", {e.id for e in EXERCISES if e.id != "ex02"}),
    ("solutions/ex03_gated_cells.py", {"ex03", "ex04", "ex05", "ex06", "ex07", "ex08", "ex09",
                                       "ex10"}),
])
def test_what_a_recording_read_makes_it_stale(kit_copy, changed, stale):
    before = fingerprints(kit_copy)
    restore = edited(kit_copy / changed)
    try:
        after = fingerprints(kit_copy)
        assert {name for name in before if before[name] != after[name]} == stale
    finally:
        restore()


def test_check_notices_a_hand_edited_exercise(tmp_path):
    kit = tmp_path / "kit"
    (kit / "exercises").mkdir(parents=True)
    (kit / "solutions").mkdir()
    (kit / "solutions" / "__init__.py").write_text("")
    (kit / "solutions" / "ex.py").write_text(SOLUTION)
    release.write_exercises(kit, release.generated_exercises(kit))
    assert release.exercise_differences(kit) == []
    (kit / "exercises" / "ex.py").write_text(SOLUTION)            # solutions pasted in by hand
    (kit / "exercises" / "stray.py").write_text("x = 1\n")
    problems = release.exercise_differences(kit)
    assert any("ex.py differs" in p for p in problems)
    assert any("stray.py has no counterpart" in p for p in problems)


def _code_lines(text):
    """Stripped lines that carry code (no blanks, no comments)."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _solution_fingerprints():
    """What would betray a leaked solution: every pair of consecutive code lines of a block,
    and every long single line (a generic line like `states.append(h)` alone proves nothing)."""
    pairs, long_lines = set(), set()
    for path in (KIT_ROOT / "solutions").glob("*.py"):
        source = path.read_text()
        lines = source.splitlines()
        for begin, end, _ in release.solution_blocks(source, path.name):
            code = _code_lines("\n".join(lines[begin:end - 1]))
            pairs.update(zip(code, code[1:]))
            long_lines.update(line for line in code if len(line) >= 45)
    return pairs, long_lines


def test_student_kit_holds_no_marker_and_no_solution_line(student_kit):
    assert not (student_kit / "solutions").exists()
    assert not (student_kit / "tests" / "kit").exists()
    pairs, long_lines = _solution_fingerprints()
    assert len(pairs) > 30   # the test is only meaningful if there is something to hide
    marker = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$")
    for path in student_kit.rglob("*"):
        if not path.is_file() or path.suffix in (".npz", ".png", ".pyc"):
            continue
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            assert not marker.match(line), f"{path}:{number} keeps a solution marker"
        code = _code_lines(text)
        for pair in zip(code, code[1:]):
            assert pair not in pairs, f"{path} leaks solution lines: {pair}"
        for line in code:
            assert line not in long_lines, f"{path} leaks a solution line: {line}"


def test_published_kit_adds_the_solutions(tmp_path):
    from conftest import run_cli

    out = tmp_path / "published"
    completed = run_cli("release", "--out", out, "--with-solutions")
    assert completed.returncode == 0, completed.stderr
    for exercise in EXERCISES:
        assert (out / "solutions" / exercise.filename).read_bytes() == \
            (KIT_ROOT / "solutions" / exercise.filename).read_bytes()
        generated = (out / "exercises" / exercise.filename).read_text()
        ast.parse(generated)
        assert "NotImplementedError" in generated


def test_release_refuses_to_write_over_a_folder(tmp_path):
    from conftest import run_cli

    (tmp_path / "keep.txt").write_text("student work")
    completed = run_cli("release", "--out", tmp_path)
    assert completed.returncode == 2 and "not empty" in completed.stderr
    assert (tmp_path / "keep.txt").read_text() == "student work"


def test_the_course_secret_never_leaves_solutions(tmp_path):
    """An instructor's kit with its secret and official recordings where release puts them
    (solutions/): regenerating exercises/ copies neither, and neither kit release writes (for
    students, or published with the solutions) carries them, by name or by content. (A fresh
    clone's review found the secret copied into exercises/ and so into every student kit.)"""
    import os
    import shutil
    import subprocess
    import sys

    from rnnkit.grader import secret

    kit = tmp_path / "instructor"
    shutil.copytree(KIT_ROOT, kit, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.pyc", "runs", ".venv*", ".pytest_cache"))
    env = {k: v for k, v in os.environ.items() if k != secret.ENVIRONMENT}

    def cli(*args):
        completed = subprocess.run([sys.executable, "-m", "rnnkit", *map(str, args)], cwd=kit,
                                   env=env, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr[-2000:]
        return completed

    made = subprocess.run([sys.executable, "-c", "from rnnkit.grader import secret; "
                           "print(secret.make()[0].key.hex())"], cwd=kit, env=env,
                          capture_output=True, text=True, timeout=60)
    key = made.stdout.strip().encode()
    assert len(key) == 64 and (kit / "solutions" / "course.secret").is_file(), made.stderr
    recordings = kit / "solutions" / "official-references"
    recordings.mkdir()
    (recordings / "ex01.npz").write_bytes(b"the reference's answers on the course's inputs")
    (kit / "exercises" / "course.secret").write_bytes(key)     # left by an earlier release

    cli("release", "--skip-references")
    assert sorted(p.name for p in (kit / "exercises").iterdir()
                  if p.name != "__pycache__") == sorted(
        p.name for p in (kit / "solutions").glob("*.py"))
    for out, options in ((tmp_path / "student", ()), (tmp_path / "published",
                                                       ("--with-solutions",))):
        cli("release", "--out", out, *options)
        files = [p for p in out.rglob("*") if p.is_file()]
        assert files and not [p for p in out.rglob("*") if p.name in (
            "course.secret", "official-references")]
        assert not [p for p in files if key in p.read_bytes()]
    assert (tmp_path / "published" / "rnnkit" / "official").is_dir()    # after the deadline
    assert not (tmp_path / "student" / "rnnkit" / "official").exists()
