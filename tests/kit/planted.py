"""The corpus of bad submissions (issue 4): plants, each a solution with one small edit.

A plant is built in a temporary folder from a copy of `solutions/exNN_*.py` with small,
described edits (a string replacement that must match exactly once, an appended block, a
whole function replaced, or lines inserted at the start of a function), and declares the
EXACT points it must receive per graded exercise, the checks that lose their points, and a
substring of the feedback those checks must carry. `tests/kit/grader/test_planted.py` grades the
corpus with a released copy of the kit and holds every plant to its declaration.

Each expected score carries a one-line reason, derived from the checks in
`tests/grading/test_ex0N.py` (which probe calls which student function, which checks use a
fresh input seed). Check names below are pytest's item names.

Facts the reasons rely on:
- ex02 (18 points, 11 checks). `probe_step` calls rnn_step_forward AND rnn_step_backward,
  so test_step_forward fails when either breaks; `probe_sequence` calls rnn_forward AND
  rnn_backward, so test_forward, test_backward and the finite-difference check all fail
  when either breaks; the solution's hidden_grad_norms calls rnn_forward and
  rnn_step_backward; rnn_backward calls rnn_step_backward.
  Fresh-seed checks (live reference): step_forward, step_backward, forward, backward,
  hidden_grad_norms and the three clip checks; NOT the finite-difference check (seed 0 only)
  nor test_vanishing_and_exploding (fixed inputs, np.random.default_rng(7)). The clip case
  'zero' multiplies its inputs by 0, so its fresh-seed inputs equal the recorded ones.
- ex01 (22.5 points, 25 checks: 15 on the cell and its models, and the quiz's 10 of 0.25,
  official-only, which every plant built on the solution answers right). Fresh-seed checks (always_fresh, Keras oracle): cell_step,
  sequence, gradients, unrolled, fit_step, masking; NOT contract, weight_layout,
  parameters, problem_shapes, round_trip.
- Student code runs confined by Landlock: it cannot read the kit (solutions/, data/), list
  /tmp, read /proc/<grader>/cwd, nor write anything outside its scratch folder; so a write
  into the kit or the grader's snapshot raises PermissionError in the student's process.
"""
from __future__ import annotations

import ast
import json
import textwrap
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

from rnnkit import KIT_ROOT
from rnnkit.probes.ex01 import QUIZ_APPLICATIONS

SOLUTIONS = KIT_ROOT / "solutions"
FILES = {"ex01": "ex01_simple_rnn.py", "ex02": "ex02_bptt.py", "ex03": "ex03_gated_cells.py"}
MAX_POINTS = {"ex01": 22.5, "ex02": 18.0, "ex03": 27.0}
HANDED_IN_WITH = {"ex03": ("ex01",)}  # ex03 imports ex01's cell: its solution is handed in too
FORGED = "forged-by-a-plant"          # marker of every document a plant tries to write
DAEMON_NAME = "rnnkit-plantd"        # /proc/<pid>/comm of the plant's detached daemon


class PlantError(Exception):
    """A plant no longer applies to the solution it edits (the solution changed)."""


Text = Union[str, Callable[[dict], str]]


def block(*parts: str) -> str:
    """Source parts written at different indentations, each dedented, joined."""
    return "\n".join(textwrap.dedent(part).strip("\n") + "\n" for part in parts)


def _render(text: Text, context: dict) -> str:
    """`text` with @KIT@ / @OUT@ replaced (paths known when the corpus is built)."""
    text = text(context) if callable(text) else text
    for key, value in context.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def _find_def(tree: ast.Module, qualified: str, filename: str):
    """The single def `name` or `Class.name` at the top of the module."""
    *owner, name = qualified.split(".")
    scopes = [tree]
    if owner:
        scopes = [node for node in tree.body
                  if isinstance(node, ast.ClassDef) and node.name == owner[0]]
        if len(scopes) != 1:
            raise PlantError(f"{filename}: expected one class {owner[0]}, found {len(scopes)}")
    found = [node for node in scopes[0].body
             if isinstance(node, ast.FunctionDef) and node.name == name]
    if len(found) != 1:
        raise PlantError(f"{filename}: expected one def {qualified}, found {len(found)}")
    return found[0]


# -- edits -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replace:
    """Replace `old` by `new`; `old` must occur exactly once."""
    file: str
    old: str
    new: Text

    def apply(self, source: str, context: dict) -> str:
        count = source.count(self.old)
        if count != 1:
            raise PlantError(f"{self.file}: {self.old!r} occurs {count} times, expected once")
        return source.replace(self.old, _render(self.new, context))


@dataclass(frozen=True)
class Append:
    """Add a block at the end of the module."""
    file: str
    text: Text

    def apply(self, source: str, context: dict) -> str:
        return source.rstrip("\n") + "\n\n\n" + textwrap.dedent(_render(self.text, context)) + "\n"


@dataclass(frozen=True)
class Function:
    """Replace the whole def `name` (or `Class.name`), decorators included."""
    file: str
    name: str
    text: Text

    def apply(self, source: str, context: dict) -> str:
        node = _find_def(ast.parse(source), self.name, self.file)
        lines = source.splitlines(keepends=True)
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        indent = " " * node.col_offset
        new = textwrap.indent(textwrap.dedent(_render(self.text, context)).strip("\n"), indent)
        return "".join(lines[:start]) + new + "\n" + "".join(lines[node.end_lineno:])


@dataclass(frozen=True)
class Insert:
    """Insert lines at the start of the body of def `name` (after its docstring)."""
    file: str
    name: str
    text: Text

    def apply(self, source: str, context: dict) -> str:
        node = _find_def(ast.parse(source), self.name, self.file)
        body = node.body
        first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr)
                            and isinstance(getattr(body[0], "value", None), ast.Constant)) \
            else body[0]
        lines = source.splitlines(keepends=True)
        indent = " " * first.col_offset
        new = textwrap.indent(textwrap.dedent(_render(self.text, context)).strip("\n"), indent)
        at = first.lineno - 1
        return "".join(lines[:at]) + new + "\n" + "".join(lines[at:])


# -- plants ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plant:
    name: str                  # the student's name in the gradebook (folder or zip name)
    demonstrates: str          # what it proves about the grader
    points: dict               # exercise -> exact points it must receive (graded exercises)
    lost: tuple                # every check that must lose its points (pytest item names)
    feedback: str              # substring of the feedback of the lost checks (or of the report)
    edits: tuple = ()
    every: bool = True         # feedback in EVERY lost check (False: in at least one)
    same_as: str | None = None  # must score check by check like this plant
    notes: str = ""            # the gradebook's notes column
    zipped: bool = False       # handed in as NAME.zip holding kit/exercises/ (and clutter)
    bug: str | None = None     # a known grader bug this plant exposes (the test is xfail)
    seconds: tuple | None = None  # (min, max) execution_time of its grading: timeouts really waited
    run: str | None = None     # the class run grading it (default: its exercise's)
    absent: str | None = None  # a string that must appear nowhere in its results.json
    base: str = "solutions"    # the modules it starts from: solutions/ or the stubs (exercises/)

    @property
    def exercises(self) -> tuple:
        return tuple(self.points)

    @property
    def run_name(self) -> str:
        return self.run or self.exercises[0]

    @property
    def files(self) -> list:
        return [FILES[name] for exercise in self.exercises
                for name in HANDED_IN_WITH.get(exercise, ()) + (exercise,)]


def write_sources(plant: Plant, folder: Path, context: dict) -> Path:
    """The plant's exercise modules in `folder` (created); raises PlantError when stale."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {name: (SOLUTIONS.parent / plant.base / name).read_text() for name in plant.files}
    for edit in plant.edits:
        if edit.file not in sources:
            raise PlantError(f"{plant.name}: edits {edit.file}, which it does not hand in")
        sources[edit.file] = edit.apply(sources[edit.file], context)
    for name, text in sources.items():
        if plant.name not in SYNTAX_ERRORS:   # a plant must fail where it says, not by accident
            compile(text, name, "exec", dont_inherit=True)
        (folder / name).write_text(text)
    return folder


DRAFT_WITH_SYNTAX_ERROR = "def rnn_forward(x, h0, Wx, Wh, b)\n    return None\n"


def build(plant: Plant, submissions: Path, context: dict) -> Path:
    """Write the plant into `submissions` as a folder (or a zip) named after it."""
    if not plant.zipped:
        return write_sources(plant, submissions / plant.name, context)
    staging = submissions.parent / "staging" / plant.name
    write_sources(plant, staging, context)
    archive = submissions / f"{plant.name}.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(staging.iterdir()):
            bundle.write(path, f"kit/exercises/{path.name}")
            # clutter the finder must ignore: an older draft of the same module (one module,
            # like kit/exercises/, which wins the tie by its name) and macOS resource forks
            bundle.writestr(f"kit/drafts/{path.name}", DRAFT_WITH_SYNTAX_ERROR)
            bundle.writestr(f"__MACOSX/kit/exercises/._{path.name}", b"\x00\x05\x16\x07junk")
        bundle.writestr("kit/README.txt", "my submission\n")
    return archive


# -- building blocks ----------------------------------------------------------------------------
EX01, EX02 = "ex01_simple_rnn.py", "ex02_bptt.py"

STEP = ("test_step_forward", "test_step_backward")
SEQUENCE = ("test_forward", "test_backward", "test_backward_matches_finite_differences")
HIDDEN = ("test_hidden_grad_norms", "test_vanishing_and_exploding[0.5]",
          "test_vanishing_and_exploding[1.5]")
CLIP = ("test_clip_by_global_norm[above]", "test_clip_by_global_norm[below]",
        "test_clip_by_global_norm[zero]")
ALL_EX02 = STEP + SEQUENCE + HIDDEN + CLIP
# ex01's quiz (official-only), one check per application
QUIZ_EX01 = tuple(f"test_quiz_application[{name}]" for name in QUIZ_APPLICATIONS)
ALL_EX01 = ("test_cell_contract", "test_weight_layout", "test_cell_step_matches_keras",
            "test_sequence_matches_keras", "test_gradients_match_keras", "test_unrolled_forward",
            "test_parameters_shared_over_time", "test_problem_shapes[one_to_one]",
            "test_problem_shapes[one_to_many]", "test_problem_shapes[many_to_one]",
            "test_problem_shapes[many_to_many]", "test_problem_shapes[encoder_decoder]",
            "test_fit_step_graph_mode", "test_masking_right_padded", "test_keras_file_round_trip",
            *QUIZ_EX01)
# every ex01 check whose cell output is compared with Keras's SimpleRNN
EX01_VALUES = ("test_cell_step_matches_keras", "test_sequence_matches_keras",
               "test_gradients_match_keras", "test_unrolled_forward", "test_fit_step_graph_mode",
               "test_masking_right_padded")

CARRY_LINE = "        dh_total = dh[:, t] + dh_from_later  # (N, H) sum over the two paths\n"
DROPS_CARRY = Replace(EX02, CARRY_LINE,
                      "        dh_total = dh[:, t]  # (N, H) forgets the gradient from t+1\n")
NO_BIAS = Function(EX01, "SimpleRNNCell.call", '''
    def call(self, inputs, states, training=False):
        """h = tanh(inputs @ kernel + states[0] @ recurrent_kernel); the bias is forgotten."""
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]
''')

NAN_CLIP = Function(EX02, "clip_by_global_norm", '''
    def clip_by_global_norm(grads, max_norm):
        """The unit direction times the capped length: 0 / 0 when every gradient is zero."""
        global_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
        length = min(global_norm, max_norm)
        clipped = [np.asarray(g, dtype=np.float64) / global_norm * length for g in grads]
        return clipped, global_norm
''')

MUTATES_DH = Replace(EX02, CARRY_LINE,
                     "        dh[:, t] += dh_from_later  # accumulate in place (saves a copy)\n"
                     "        dh_total = dh[:, t]\n")

CLAIM_FULL_MARKS = block('''
    def _claim_full_marks():
        """Overwrite every results.json in reach (and the one the class run writes) with 100 %."""
        import json
        import os

        forged = {"score": 1000.0, "tests": [], "output": "@FORGED@"}
        targets = [os.path.join("@OUT@", "ex02_results_writer", "results.json")]
        for folder, _, names in os.walk("/tmp"):    # Landlock: /tmp cannot even be listed
            targets += [os.path.join(folder, n) for n in names if n == "results.json"]
        for path in targets:
            try:
                with open(path, "w") as handle:
                    json.dump(forged, handle)
            except OSError as error:
                print("could not forge", path, error)
''').replace("@FORGED@", FORGED)


def _grading_checks(exercise: str):
    """tests/grading/test_<exercise>.py as a module (its input builders and sizes)."""
    import importlib.util

    path = KIT_ROOT / "tests" / "grading" / f"test_{exercise}.py"
    spec = importlib.util.spec_from_file_location(f"planted_view_of_test_{exercise}", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():   # its @pytest.mark.points is registered by the grader only
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


def hardcoded_cases() -> dict:
    """The inputs a hard-coder can know: those of the recorded (seed 0) checks, built exactly
    as tests/grading/test_ex02.py does."""
    import numpy as np

    from rnnkit.grader import inputs

    checks = _grading_checks("ex02")
    N, D, H = checks.N, checks.D, checks.H
    clip = {scale: [scale * inputs.uniform(0, f"g{i}", shape, -1, 1, "float64")
                    for i, shape in enumerate(checks.clip_shapes(0))]
            for scale in (3.0, 0.01, 0.0)}           # the cases above, below and zero
    p = checks.problem(0, steps=12)
    norms = [dict(x=p["x"], h0=p["h0"], Wx=p["Wx"], Wh=p["Wh"], b=p["b"], dh_last=p["dh"][:, -1])]
    for radius in (0.5, 1.5):
        steps, rng = 20, inputs.rng(0, "vanishing")
        q, _ = np.linalg.qr(rng.normal(size=(H, H)))
        norms.append(dict(x=np.zeros((N, steps, D)), h0=np.zeros((N, H)),
                          Wx=rng.normal(size=(D, H)),
                          Wh=radius * q, b=np.zeros(H), dh_last=rng.normal(size=(N, H))))
    return {"clip": clip, "norms": norms}


def input_key(*arrays) -> str:
    import hashlib

    import numpy as np

    return hashlib.sha256(b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes()
                                   for a in arrays)).hexdigest()


def _hardcoded_clip(context: dict) -> str:
    """clip_by_global_norm answering from a table of the recorded cases only."""
    import numpy as np

    from solutions.ex02_bptt import clip_by_global_norm

    table = {}
    for scale, grads in hardcoded_cases()["clip"].items():
        clipped, norm = clip_by_global_norm(grads, 1.0)
        table[scale] = ([np.asarray(c).tolist() for c in clipped], float(norm))
    return f'''
    _CLIPPED = {table!r}   # answers of the recorded cases, pasted in


    def clip_by_global_norm(grads, max_norm):
        """Recognise the recorded (seed 0) inputs, recomputed with the grader's own generator."""
        from rnnkit.grader import inputs

        for scale, (clipped, norm) in _CLIPPED.items():
            recorded = [scale * inputs.uniform(0, f"g{{i}}", np.shape(g), -1, 1, "float64")
                        for i, g in enumerate(grads)]
            if all(np.array_equal(np.asarray(g), r) for g, r in zip(grads, recorded)):
                return [np.array(c) for c in clipped], norm
        return [np.full(np.shape(g), 0.5) for g in grads], 1.0    # garbage for anything else
    '''


def _hardcoded_norms(context: dict) -> str:
    """hidden_grad_norms answering from a table keyed by the bytes of known inputs."""
    from solutions.ex02_bptt import hidden_grad_norms

    table = {input_key(*args.values()): hidden_grad_norms(**args).tolist()
             for args in hardcoded_cases()["norms"]}
    return f'''
    _NORMS = {table!r}   # answers for the inputs the checks are known to use


    def hidden_grad_norms(x, h0, Wx, Wh, b, dh_last):
        """Look the inputs up by their bytes; garbage for inputs never seen."""
        import hashlib

        key = hashlib.sha256(b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes()
                                      for a in (x, h0, Wx, Wh, b, dh_last))).hexdigest()
        return np.array(_NORMS[key]) if key in _NORMS else np.ones(np.shape(x)[1])
    '''


EVIL_CONFTEST = '''
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"     # every check passes
'''

# ---------------------------------------------------------------------------------------------
# The corpus. ex02 plants are graded with `--exercises ex02`, ex01 plants with `--exercises
# ex01`. The comment above each score gives its reason: which checks lose points, and why.
# ---------------------------------------------------------------------------------------------
EX02_PLANTS = [
    Plant("ex02_reference", "the unmodified solution: the control of the corpus",
          # 18: nothing changed
          {"ex02": 18.0}, (), "complete"),

    # -- the module cannot be imported: every check reports the same import failure ----------
    Plant("ex02_syntax_error", "a syntax error costs every point of its exercise, with file:line",
          # 0: the module does not compile, so all 11 checks fail alike
          {"ex02": 0.0}, ALL_EX02, "SyntaxError",
          (Replace(EX02, "def rnn_backward(dh, cache):", "def rnn_backward(dh, cache)"),),
          notes="ex02: import error"),
    Plant("ex02_import_missing_package", "importing a package that is not installed",
          # 0: ModuleNotFoundError while importing the module
          {"ex02": 0.0}, ALL_EX02, "No module named 'tensorflow_addons'",
          (Replace(EX02, "import numpy as np\n",
                   "import numpy as np\nimport tensorflow_addons as tfa  # noqa\n"),),
          notes="ex02: import error"),
    Plant("ex02_import_runtime_error", "an exception raised while the module is imported",
          # 0: RuntimeError while importing the module
          {"ex02": 0.0}, ALL_EX02, "RuntimeError: the data folder is missing",
          (Append(EX02, 'raise RuntimeError("the data folder is missing")'),),
          notes="ex02: import error"),

    # -- student code crashes during a check: only the checks reaching it lose points --------
    Plant("ex02_backward_raises", "an exception inside one function during a check",
          # 18-5: rnn_backward raises ValueError; probe_sequence calls it for forward (1),
          # backward (3) and finite differences (1)
          {"ex02": 13.0}, SEQUENCE, "could not be broadcast",
          (Replace(EX02, CARRY_LINE, CARRY_LINE.replace("dh_from_later", "dh_from_later.T")),)),
    Plant("ex02_sys_exit", "sys.exit(3) in hidden_grad_norms: the worker restarts, only the "
          "checks calling it are lost",
          # 18-4: hidden_grad_norms (2) and the two vanishing/exploding checks (1+1) call it
          {"ex02": 14.0}, HIDDEN, "sys.exit(3)",
          (Insert(EX02, "hidden_grad_norms", "import sys\nsys.exit(3)  # from a script"),),
          notes="ex02: exit"),
    Plant("ex02_os_exit", "os._exit(3) in rnn_step_backward, which nearly every check reaches",
          # 18-12: probe_step, rnn_backward and hidden_grad_norms all call rnn_step_backward;
          # only the three clip checks (2 each) never reach it
          {"ex02": 6.0}, STEP + SEQUENCE + HIDDEN, "exited with status 3",
          (Insert(EX02, "rnn_step_backward", "import os\nos._exit(3)"),), notes="ex02: crash"),
    Plant("ex02_segfault", "a segmentation fault in clip_by_global_norm",
          # 18-6: the three clip checks (2 each) crash the worker, which restarts for each
          {"ex02": 12.0}, CLIP, "crashed with SIGSEGV",
          (Insert(EX02, "clip_by_global_norm", "import ctypes\nctypes.string_at(0)  # address 0"),),
          notes="ex02: crash"),
    Plant("ex02_out_of_memory", "a 16 GiB allocation under the 4 GiB address-space limit",
          # 18-5: MemoryError in rnn_backward, reached by forward, backward and finite differences
          {"ex02": 13.0}, SEQUENCE, "ran out of memory",
          (Insert(EX02, "rnn_backward", "workspace = np.ones(2**31)  # (2**31,) float64: 16 GiB"),),
          notes="ex02: memory"),
    # Timeouts cost wall time, not work: both hang by waiting, not spinning (the grader cannot
    # tell), and both start at once -- the import hang is named ex02__* so that grade-class
    # (sorted names) starts it first, the clip hang has a class run of its own.
    Plant("ex02__hang_import", "a hang at import: one 60 s timeout, then every check fails",
          # 0: the import never ends; the failed start is reused by all 11 checks (60 s once)
          {"ex02": 0.0}, ALL_EX02, "timed out after 60 s during importing the module",
          (Append(EX02, "import os, time\n\nwhile not os.path.exists('data/ready'):  # download\n"
                        "    time.sleep(0.5)"),),
          notes="ex02: timeout", seconds=(60, 119)),   # < 120 s: the 60 s were waited once
    Plant("ex02_hang_clip", "a hang in one narrowly used function: three 30 s timeouts",
          # 18-6: only the three clip checks (2 each) call clip_by_global_norm; each times out
          {"ex02": 12.0}, CLIP, "timed out after 30 s during the check",
          (Insert(EX02, "clip_by_global_norm",
                  "import os, time\nwhile not os.path.exists('continue.flag'):  # debugging aid\n"
                  "    time.sleep(0.5)"),),
          notes="ex02: timeout", seconds=(90, 150),    # >= 90 s: the 3 x 30 s were waited
          run="ex02-timeouts"),

    # -- wrong numbers, shapes, dtypes; mutated inputs --------------------------------------
    Plant("ex02_nan_clip", "NaN outputs (0 / 0 for an all-zero gradient)",
          # 18-2: only the 'zero' case divides 0 by 0; above and below agree to ~1e-16
          {"ex02": 16.0}, CLIP[2:], "contains NaN", (NAN_CLIP,)),
    Plant("ex02_wrong_shape_db", "a wrong shape: db kept as (1, H)",
          # 18-7: step_backward (2) sees db (1, 5); then `db += db_t` raises in rnn_backward
          # (forward 1, backward 3, finite 1); step_forward compares h only, norms ignore db
          {"ex02": 11.0}, STEP[1:] + SEQUENCE, "expected shape (5,), got (1, 5)",
          (Replace(EX02, "    db = da.sum(axis=0)  # (H,)\n",
                   "    db = da.sum(axis=0, keepdims=True)  # (1, H)\n"),), every=False),
    Plant("ex02_float32_forward", "a wrong dtype: rnn_forward stores the states in float32",
          # 18-2: test_forward checks the dtype (1); float32 states turn eps=1e-6 finite
          # differences into noise (1); backward and norms use the float64 step caches
          {"ex02": 16.0}, ("test_forward", "test_backward_matches_finite_differences"),
          "expected dtype float64, got float32",
          (Replace(EX02, "h = np.zeros((N, T, H), dtype=np.float64)",
                   "h = np.zeros((N, T, H), dtype=np.float32)"),), every=False),
    Plant("ex02_mutates_dh", "rnn_backward adds into dh in place (its gradients are right)",
          # 18-3: only test_backward rejects a mutated dh (test_forward ignores dh by design)
          {"ex02": 15.0}, ("test_backward",), "modified its input(s) dh in place", (MUTATES_DH,)),
    Plant("ex02_mutates_clip", "clip_by_global_norm scales the gradients in place",
          # 18-2: only 'above' rescales; `g *= 1.0` in 'below' and 'zero' changes nothing
          {"ex02": 16.0}, CLIP[:1], "modified the gradients in place",
          (Function(EX02, "clip_by_global_norm", '''
              def clip_by_global_norm(grads, max_norm):
                  """In place, to save memory."""
                  global_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
                  scale = max_norm / global_norm if global_norm > max_norm else 1.0
                  for g in grads:
                      g *= scale
                  return grads, global_norm
          '''),)),
    Plant("ex02_noisy", "printing a lot and emitting warnings never changes a score",
          # 18: correct code; what it prints goes to its own log, never into the feedback
          {"ex02": 18.0}, (), "complete",
          (Append(EX02, '''
              import functools
              import os
              import sys
              import warnings

              warnings.simplefilter("always")
              print("loading ex02\\n" * 20000, end="")


              def _chatty(function):
                  @functools.wraps(function)
                  def wrapper(*args, **kwargs):
                      for i in range(50):
                          print(f"{function.__name__}: debugging line {i}", "=" * 60)
                      print("also on stderr", file=sys.stderr)
                      os.write(1, b"raw bytes on fd 1\\n")
                      warnings.warn(f"{function.__name__} is not vectorised", RuntimeWarning)
                      with np.errstate(all="warn"):
                          np.log(np.zeros(3))           # numpy's own RuntimeWarning
                      return function(*args, **kwargs)
                  return wrapper


              for _name in ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                            "hidden_grad_norms", "clip_by_global_norm"):
                  globals()[_name] = _chatty(globals()[_name])
          '''),), absent="debugging line"),

    # -- tampering on top of a wrong implementation: scores exactly like it ------------------
    Plant("ex02_drops_carry", "the wrong implementation the tampering plants sit on",
          # 18-4: backward (3) and finite differences (1) fail; forward and the rest are right
          {"ex02": 14.0}, SEQUENCE[1:],
          "same cause as 'rnn_backward equals autodiff", (DROPS_CARRY,),
          every=False),
    Plant("ex02_monkeypatch", "monkeypatching numpy's comparisons, the kit's comparison "
          "helpers, its results module and pytest in the student's process",
          # 14, like ex02_drops_carry: comparisons and the tally run in the grader's process
          {"ex02": 14.0}, SEQUENCE[1:],
          "same cause as 'rnn_backward equals autodiff",
          (DROPS_CARRY, Append(EX02, '''
              import types

              import numpy.testing

              try:   # the grader's modules are refused in the student's process; fakes then
                  import pytest

                  import rnnkit.grader.compare as compare
                  import rnnkit.grader.results as results
              except ImportError:
                  pytest = types.SimpleNamespace()
                  compare = types.SimpleNamespace()
                  results = types.SimpleNamespace()

              np.allclose = lambda *args, **kwargs: True
              np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, bool)
              numpy.testing.assert_allclose = lambda *args, **kwargs: None
              numpy.testing.assert_array_almost_equal = lambda *args, **kwargs: None
              compare.expect_close = lambda *args, **kwargs: None
              compare.expect_shape = lambda name, actual, shape: np.asarray(actual)
              compare.fail = lambda message: None
              results.gradescope = lambda *args, **kwargs: {"score": 1000.0, "tests": []}
              pytest.fail = lambda *args, **kwargs: None
              pytest.approx = lambda expected, *args, **kwargs: type(
                  "Anything", (), {"__eq__": lambda self, other: True})()
          ''')), every=False, same_as="ex02_drops_carry"),
    Plant("ex02_results_writer", "overwriting every results.json it can find during the checks, "
          "and a detached double-forked daemon rewriting them for ten minutes",
          # 14, like ex02_drops_carry: /tmp cannot be listed, OUT cannot be written, and the
          # daemon dies with the exercise's grading
          {"ex02": 14.0}, SEQUENCE[1:],
          "same cause as 'rnn_backward equals autodiff",
          (DROPS_CARRY, Append(EX02, block(CLAIM_FULL_MARKS, '''
              _rnn_backward = rnn_backward


              def rnn_backward(dh, cache):
                  _claim_full_marks()
                  return _rnn_backward(dh, cache)


              def _daemon():
                  """Detach (fork, setsid, fork) and rewrite the results for ten minutes."""
                  import ctypes
                  import os
                  import time

                  child = os.fork()
                  if child:
                      os.waitpid(child, 0)
                      return
                  os.setsid()
                  if os.fork():
                      os._exit(0)
                  ctypes.CDLL(None).prctl(15, b"@DAEMON@", 0, 0, 0)   # PR_SET_NAME
                  deadline = time.time() + 600
                  while time.time() < deadline:
                      _claim_full_marks()
                      time.sleep(0.2)
                  os._exit(0)


              try:
                  _daemon()
              except OSError as error:   # no new processes in the sandbox
                  print("no daemon:", error)
          ''').replace("@DAEMON@", DAEMON_NAME))), every=False, same_as="ex02_drops_carry"),
    Plant("ex02_grader_files", "editing and adding test files and conftest.py in the kit and in "
          "the grader's snapshot, catching the PermissionError",
          # 14, like ex02_drops_carry: every write raises PermissionError, which it catches
          {"ex02": 14.0}, SEQUENCE[1:],
          "same cause as 'rnn_backward equals autodiff",
          (DROPS_CARRY, Append(EX02, '''
              def _plant_grader_files():
                  import os

                  roots = ["@KIT@"]                    # the kit, as published on the course page
                  try:
                      roots.append(os.readlink(f"/proc/{os.getppid()}/cwd"))   # the grader's cwd
                  except OSError as error:
                      print("cannot locate the grader:", error)
                  roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
                  for root in roots:
                      grading = os.path.join(root, "tests", "grading")
                      for name, mode in (("conftest.py", "a"), ("test_ex02.py", "a"),
                                         ("test_zz_bonus.py", "w")):
                          try:
                              with open(os.path.join(grading, name), mode) as handle:
                                  handle.write(EVIL_CONFTEST)
                          except OSError as error:
                              print("cannot write", name, error)


              EVIL_CONFTEST = @EVIL@
              _plant_grader_files()
          '''.replace("@EVIL@", repr(EVIL_CONFTEST)))), every=False, same_as="ex02_drops_carry"),
    Plant("ex02_snapshot_at_import", "writing the grader's snapshot (found on sys.path) at "
          "import, uncaught",
          # 0: the write raises PermissionError during import: the module is not importable
          {"ex02": 0.0}, ALL_EX02, "PermissionError",
          (Replace(EX02, "import numpy as np\n", '''import numpy as np
import os

import sys

with open(os.path.join(sys.path[0], "rnnkit", "probes", "ex02.py"), "a") as _handle:
    _handle.write("\\n# every check passes\\n")
'''),), notes="ex02: import error"),
    Plant("ex02_import_solutions", "importing the reference package from student code",
          # 18-5: rnn_backward raises ImportError; forward, backward, finite differences call it
          {"ex02": 13.0}, SEQUENCE, "not allowed while grading",
          (Function(EX02, "rnn_backward", '''
              def rnn_backward(dh, cache):
                  """Borrowed from the instructor."""
                  from solutions.ex02_bptt import rnn_backward as reference
                  return reference(dh, cache)
          '''),)),
    Plant("ex02_read_solution_file", "reading solutions/ex02_bptt.py by its path",
          # 18-6: open() of the kit's solutions raises PermissionError in the three clip checks
          {"ex02": 12.0}, CLIP, "Permission denied",
          (Function(EX02, "clip_by_global_norm", '''
              def clip_by_global_norm(grads, max_norm):
                  """Borrowed from the instructor's file."""
                  namespace = {}
                  with open("@KIT@/solutions/ex02_bptt.py") as handle:
                      exec(handle.read(), namespace)
                  return namespace["clip_by_global_norm"](grads, max_norm)
          '''),)),
    Plant("ex02_hardcoded", "answers hard-coded for the inputs a student can know: the recorded "
          "seed-0 inputs of hidden_grad_norms and clip_by_global_norm",
          # 18-10: with solutions/ live every check of these two functions also runs on a fresh
          # seed (fresh inputs, and fresh shapes for clip), which the tables cannot answer:
          # hidden_grad_norms (2), vanishing/exploding (1+1), clip above, below, zero (2+2+2)
          {"ex02": 8.0}, HIDDEN + CLIP, "differ from the reference",
          (Function(EX02, "hidden_grad_norms", _hardcoded_norms),
           Function(EX02, "clip_by_global_norm", _hardcoded_clip)), every=False),
    Plant("ex02_kill_grader", "trying to kill its own grader: Landlock scopes signals to the "
          "student's own processes, so os.kill raises and only the checks calling it are lost",
          # 18-6: the three clip checks (2 each) raise PermissionError; the grader lives on
          {"ex02": 12.0}, CLIP, "PermissionError",
          (Insert(EX02, "clip_by_global_norm",
                  "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),)),
    Plant("ex02_hidden_mutation", "patching np.array_equal to hide an in-place mutation",
          # 15, like ex02_mutates_dh: the grader compares the inputs the probe hands back with
          # what it sent, in its own process, with its own numpy
          {"ex02": 15.0}, ("test_backward",), "modified its input(s) dh in place",
          (MUTATES_DH, Append(EX02, "np.array_equal = lambda a, b, equal_nan=False: True")),
          same_as="ex02_mutates_dh"),

    # -- correct but different: full marks ---------------------------------------------------
    Plant("ex02_einsum_backward", "correct but different: BPTT with np.einsum and one loop over "
          "da, without rnn_step_backward",
          # 18: the same gradients up to summation order (~1e-15, tolerance rtol 1e-7)
          {"ex02": 18.0}, (), "complete",
          (Function(EX02, "rnn_backward", '''
              def rnn_backward(dh, cache):
                  """da for every step in one backward loop, then every gradient at once."""
                  x = np.stack([step[0] for step in cache], axis=1)        # (N, T, D)
                  h_prev = np.stack([step[1] for step in cache], axis=1)   # (N, T, H)
                  h = np.stack([step[4] for step in cache], axis=1)        # (N, T, H)
                  Wx, Wh = cache[0][2], cache[0][3]
                  da = np.empty_like(h)                                    # (N, T, H)
                  carry = np.zeros_like(h[:, 0])                           # (N, H)
                  for t in range(h.shape[1] - 1, -1, -1):
                      da[:, t] = (dh[:, t] + carry) * (1.0 - h[:, t] ** 2)
                      carry = np.einsum("nk,hk->nh", da[:, t], Wh)
                  dx = np.einsum("ntk,dk->ntd", da, Wx)
                  dWx = np.einsum("ntd,ntk->dk", x, da)
                  dWh = np.einsum("nth,ntk->hk", h_prev, da)
                  return dx, carry, dWx, dWh, da.sum(axis=(0, 1))
          '''),)),
    Plant("ex02_clip_concat_norm", "correct but different: clipping with np.linalg.norm of the "
          "concatenation and a min() factor",
          # 18: the same numbers as tf.clip_by_global_norm to ~1e-16
          {"ex02": 18.0}, (), "complete",
          (Function(EX02, "clip_by_global_norm", '''
              def clip_by_global_norm(grads, max_norm):
                  """One flat vector for the norm; factor 1 unless the norm is too large."""
                  flat = np.concatenate([np.ravel(g) for g in grads])
                  global_norm = float(np.linalg.norm(flat))
                  factor = max_norm / max(global_norm, max_norm)
                  return [np.multiply(g, factor) for g in grads], global_norm
          '''),)),

    # -- the wire protocol: a forged header ----------------------------------------------------
    Plant("ex02_forged_wire_header", "replies to the clip checks forged at the wire: 64 array "
          "entries all pointing at the same 32 MiB, which a trusting reader would copy 64 times",
          # 18-6: the grader refuses the overlapping entries as a malformed message (before
          # copying any) for the three clip checks; the others get honest replies
          {"ex02": 12.0}, CLIP, "malformed message",
          (Append(EX02, '''
              import sys as _sys

              _wire = _sys.modules["rnnkit.sandbox.wire"]
              _encode = _wire.encode
              _FORGE = []


              def _forged_encode(obj):
                  if not _FORGE:
                      return _encode(obj)
                  _FORGE.clear()
                  import json
                  import struct
                  size = 32 * 2**20
                  entry = {"__ndarray__": ["<f8", [size // 8], 0, size]}
                  header = json.dumps({"status": "ok", "result": [entry] * 64}).encode()
                  return struct.pack(">I", len(header)) + header + bytes(size)


              _wire.encode = _forged_encode
          '''), Insert(EX02, "clip_by_global_norm", "_FORGE.append(1)")),
          notes="ex02: bad output"),

    # -- packaging ---------------------------------------------------------------------------
    Plant("ex02_zip_nested", "a .zip holding kit/exercises/ plus a broken draft and __MACOSX",
          # 16, like ex02_nan_clip: kit/exercises/ is graded (it wins the tie with kit/drafts/
          # by its name; __MACOSX is skipped)
          {"ex02": 16.0}, CLIP[2:], "contains NaN", (NAN_CLIP,), zipped=True,
          same_as="ex02_nan_clip"),
]

BY_NAME_EARLY = {plant.name: plant for plant in EX02_PLANTS}

EX01_PLANTS = [
    Plant("ex01_einsum_tuple", "correct but different: the cell with keras.ops.einsum / dot and "
          "a tuple of states, the loop with unstack / concatenate",
          # 22.5: the same function as keras.layers.SimpleRNNCell up to float32 summation order
          {"ex01": 22.5}, (), "complete",
          (Function(EX01, "SimpleRNNCell.call", '''
              def call(self, inputs, states, training=False):
                  """einsum for the input term, dot for the recurrence, a tuple of states."""
                  h_prev = states[0] if isinstance(states, (list, tuple)) else states
                  xw = ops.einsum("nd,dh->nh", inputs, self.kernel)          # (N, H)
                  hw = ops.dot(h_prev, self.recurrent_kernel)                # (N, H)
                  h = ops.tanh(ops.add(ops.add(xw, hw), self.bias))
                  return h, (h,)
          '''), Function(EX01, "rnn_forward_unrolled", '''
              def rnn_forward_unrolled(cell, x, h0=None):
                  """Unstack the time axis, run the cell, concatenate the states."""
                  x = ops.convert_to_tensor(x)
                  h = ops.zeros((ops.shape(x)[0], cell.units), x.dtype) if h0 is None else h0
                  states = []
                  for x_t in ops.unstack(x, axis=1):
                      h, _ = cell(x_t, (h,))
                      states.append(ops.expand_dims(h, 1))                 # (N, 1, H)
                  return ops.concatenate(states, axis=1)                   # (N, T, H)
          '''))),
    Plant("ex01_no_bias", "a wrong cell (the bias is created but not used)",
          # 22.5-11: every check comparing values with Keras fails (2+2+2+2+2+1: the first names
          # the mistake, the others say "same cause as"); contract, layout and parameter count
          # see structure only; the 5 problem shapes and the round trip (the file, and the
          # loaded model against the same model before saving) hold their models' values
          # against the grader's models around a cell without its bias
          {"ex01": 11.5}, EX01_VALUES, "without the bias b", (NO_BIAS,), every=False),
    Plant("ex01_patched_save_load", "Model.save and load_model patched in the student's "
          "process so that a cell Keras cannot load back (not registered) seems to round-trip",
          # 22.5-1: the grader reads the .keras file itself as data and finds the cell saved
          # without a registered name; the predictions "loaded back" are never reached
          {"ex01": 21.5}, ("test_keras_file_round_trip",), "without a registered name",
          (Replace(EX01, '@keras.saving.register_keras_serializable(package="rnnkit")\n', ""),
           Append(EX01, '''
              _saved = {}
              _save = keras.Model.save


              def _save_and_remember(self, filepath, *args, **kwargs):
                  _saved[str(filepath)] = self
                  return _save(self, filepath, *args, **kwargs)


              keras.Model.save = _save_and_remember
              keras.saving.load_model = lambda filepath, *args, **kwargs: _saved[str(filepath)]
          '''))),
    Plant("ex01_weights_file_bomb", "a .keras file of a few kilobytes whose weights file "
          "declares a 3 GiB dataset, which a grader reading it would allocate",
          # 22.5-1: the grader bounds what the datasets declare before reading any
          {"ex01": 21.5}, ("test_keras_file_round_trip",), "declares 3221225",
          (Append(EX01, '''
              def _save_own_variables(self, store):
                  layers.Layer.save_own_variables(self, store)
                  store.h5_file.create_dataset("z", shape=(3 * 2**27,), dtype="f8")


              SimpleRNNCell.save_own_variables = _save_own_variables
          '''),)),
    Plant("ex01_replaced_probes", "the untouched stub replacing the probes of the structural "
          "checks with answers (the probe module re-imported and rebound)",
          # 0: the probes were captured before the module was imported, so rebinding them in a
          # fresh import changes nothing; every check reaches the stub
          {"ex01": 0.0}, ALL_EX01, "not written yet",
          (Append(EX01, '''
              import rnnkit.probes.ex01 as _probes

              _probes.probe_parameter_count = lambda module: [87, 87]
              _probes.probe_cell_contract = lambda module, x, h: {"is_layer": True}
          '''),), base="exercises", notes="ex01: not started"),
    Plant("ex01_patch_keras", "monkeypatching keras.layers.SimpleRNN(Cell) in the student's "
          "process so that 'Keras's own layer' agrees with the wrong cell",
          # 11.5, like ex01_no_bias: the Keras oracle runs in the grader's process
          {"ex01": 11.5}, EX01_VALUES, "without the bias b",
          (NO_BIAS, Append(EX01, '''
              keras.layers.SimpleRNNCell = SimpleRNNCell
              keras.layers.SimpleRNN = lambda units, **kwargs: layers.RNN(SimpleRNNCell(units),
                                                                          **kwargs)
          ''')), every=False, same_as="ex01_no_bias"),
]

# ex03: Keras's LSTM reached around the wall (issue: a reviewer's 27/27 through its helpers).
# Each earns full marks on a kit whose wall replaced only build and call; the wall now covers
# the built-ins whole, so only the LSTM checks are lost. Graded with `--exercises ex03`.
EX03 = "ex03_gated_cells.py"
ALL_EX03 = ("test_state_contract[LSTMCell]", "test_state_contract[GRUCell]",
            "test_weight_layout[LSTMCell]", "test_weight_layout[GRUCell]",
            "test_matches_keras[LSTMCell]", "test_matches_keras[GRUCell]",
            "test_gradients_match_keras[LSTMCell]", "test_gradients_match_keras[GRUCell]",
            "test_fit_step_graph_mode[LSTMCell]", "test_fit_step_graph_mode[GRUCell]",
            "test_mask_and_go_backwards[LSTMCell]", "test_mask_and_go_backwards[GRUCell]",
            "test_bidirectional[LSTMCell]", "test_bidirectional[GRUCell]",
            "test_keras_file_round_trip[LSTMCell]", "test_keras_file_round_trip[GRUCell]",
            "test_memory_at_long_lag[LSTMCell]", "test_memory_at_long_lag[GRUCell]",
            "test_gates_beat_the_vanilla_cell")
# every check that runs the LSTM cell: its own 9 (13 points) and the gates-against-vanilla one
LSTM_CALLED = tuple(name for name in ALL_EX03 if name.endswith("[LSTMCell]")) + (
    "test_gates_beat_the_vanilla_cell",)
WALL = "not available while this exercise is graded"


def _lstm_call(keras_cell: str, prelude: str = "pass") -> Function:
    """LSTMCell.call handing the gates and the cell state to Keras's LSTMCell, reached by
    `keras_cell` (an expression naming it, after the statement `prelude`)."""
    return Function(EX03, "LSTMCell.call", f'''
        def call(self, inputs, states, training=False):
            """Keras computes the four gates and c: its LSTMCell's helper, borrowed."""
            {prelude}
            keras_cell = {keras_cell}
            gates = type("Gates", (), {{"units": self.units,
                                       "recurrent_kernel": self.recurrent_kernel,
                                       "activation": staticmethod(ops.tanh),
                                       "recurrent_activation": staticmethod(ops.sigmoid)}})()
            h_prev, c_prev = states[0], states[1]
            x = ops.split(ops.matmul(inputs, self.kernel) + self.bias, 4, axis=-1)
            c, o = keras_cell._compute_carry_and_output(gates, x, (h_prev,) * 4, c_prev)
            h = o * ops.tanh(c)
            return h, [h, c]
    ''')


KERAS_LSTM_HELPER = _lstm_call('getattr(layers, "LSTMCell")')
FUSED_LSTM = Function(EX03, "LSTMCell.call", '''
    def call(self, inputs, states, training=False):
        """TensorFlow's fused LSTM over a sequence of one step, fed this cell's weights
        (Keras's gate order i, f, c, o turned into the op's i, c, f, o)."""
        import tensorflow as tf

        def icfo(weights):
            i, f, c, o = ops.split(weights, 4, axis=-1)
            return ops.concatenate([i, c, f, o], axis=-1)

        h_prev, c_prev = states[0], states[1]
        zeros = ops.zeros((self.units,), dtype=self.kernel.dtype)
        steps = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.constant(1, tf.int64), x=inputs[None], cs_prev=c_prev, h_prev=h_prev,
            w=icfo(ops.concatenate([self.kernel, self.recurrent_kernel], axis=0)),
            wci=zeros, wcf=zeros, wco=zeros, b=icfo(self.bias), forget_bias=0.0, cell_clip=-1.0,
            use_peephole=False)
        c, h = steps[1][0], steps[6][0]
        return h, [h, c]
''')
# At import, every other route to Keras's LSTM and GRU and TensorFlow's fused ops; the module
# raises (every ex03 point lost) if one of them reaches the built-in code instead of a wall:
# the wall's refusal, Landlock's (a hidden source file), or the refused re-import.
REACHES_THE_BUILT_INS = '''
    import os as _os
    import runpy as _runpy
    import sys as _sys

    import numpy as _np

    import tensorflow as _tf

    _N, _D, _H = 2, 3, 4
    _x = _np.linspace(-1, 1, _N * _D, dtype="float32").reshape(_N, _D)
    _h = _np.zeros((_N, _H), "float32")
    _z = _np.zeros(_H, "float32")
    _W = _np.linspace(-0.5, 0.5, (_D + _H) * 4 * _H, dtype="float32").reshape(_D + _H, 4 * _H)
    _b = _np.zeros(4 * _H, "float32")
    _backend = _sys.modules["keras.src.backend.tensorflow.rnn"]
    _legacy = "tensorflow.python.keras.layers"


    def _graph_op_by_name():
        from tensorflow.python.framework import op_def_library
        with _tf.Graph().as_default():
            op_def_library._apply_op_helper(
                "BlockLSTM", seq_len_max=_np.int64(1), x=_x[None], cs_prev=_h, h_prev=_h, w=_W,
                wci=_z, wcf=_z, wco=_z, b=_b, forget_bias=0.0, cell_clip=-1.0,
                use_peephole=False)


    def _by_name_eagerly():
        from tensorflow.python import pywrap_tfe
        from tensorflow.python.eager import context
        return pywrap_tfe.TFE_Py_FastPathExecute(
            context.context(), "LSTMBlockCell", None, _x, _h, _h, _W, _z, _z, _z, _b,
            "forget_bias", 0.0, "cell_clip", -1.0, "use_peephole", False)


    def _legacy_source_again():
        folder = _os.path.dirname(_sys.modules[f"{_legacy}.recurrent"].__file__)
        return _runpy.run_path(_os.path.join(folder, "recurrent.py"))["LSTMCell"]


    def _legacy_imported_again():
        del _sys.modules[f"{_legacy}.recurrent"]
        import importlib
        return importlib.import_module(f"{_legacy}.recurrent").LSTMCell


    _ROUTES = {
        "Keras's backend lstm": lambda: _backend.lstm(
            _x[:, None], _h, _h, None, _W[:_D], _W[_D:], _b, keras.activations.tanh,
            keras.activations.sigmoid),
        "Keras's backend gru": lambda: _backend.gru(
            _x[:, None], _h, None, _W[:_D, :3 * _H], _W[_D:, :3 * _H], _np.zeros((2, 3 * _H), "float32"),
            keras.activations.tanh, keras.activations.sigmoid),
        "Keras's cuDNN LSTM": lambda: _backend._cudnn_lstm(
            _x[:, None], _h, _h, _W[:_D], _W[_D:], _b, None, False, False, True),
        "keras.layers.LSTM": lambda: layers.LSTM(_H),
        "LSTM.inner_loop": lambda: layers.LSTM.inner_loop(None, _x[:, None], [_h, _h], None),
        "GRUCell.get_initial_state": lambda: layers.GRUCell.get_initial_state(None, 2),
        "tf.raw_ops.LSTMBlockCell": lambda: _tf.raw_ops.LSTMBlockCell(
            x=_x, cs_prev=_h, h_prev=_h, w=_W, wci=_z, wcf=_z, wco=_z, b=_b, forget_bias=0.0,
            cell_clip=-1.0, use_peephole=False),
        "tf.raw_ops.BlockLSTM": lambda: _tf.raw_ops.BlockLSTM(
            seq_len_max=_np.int64(1), x=_x[None], cs_prev=_h, h_prev=_h, w=_W, wci=_z, wcf=_z,
            wco=_z, b=_b, forget_bias=0.0, cell_clip=-1.0, use_peephole=False),
        "tf.raw_ops.GRUBlockCell": lambda: _tf.raw_ops.GRUBlockCell(
            x=_x, h_prev=_h, w_ru=_W[:, :2 * _H], w_c=_W[:, :_H], b_ru=_b[:2 * _H], b_c=_z),
        "LSTMBlockCell by its name, eagerly": _by_name_eagerly,
        "BlockLSTM by its name, in a graph": _graph_op_by_name,
        "TensorFlow's Keras 2 BasicLSTMCell": lambda: _sys.modules[
            f"{_legacy}.legacy_rnn.rnn_cell_impl"].BasicLSTMCell(_H)(_x, (_h, _h)),
        "TensorFlow's Keras 2 GRU": lambda: _sys.modules[f"{_legacy}.recurrent"].GRU(_H)(
            _tf.ones((_N, 5, _D))),
        "TensorFlow's Keras 2 source run again": _legacy_source_again,
        "TensorFlow's Keras 2 imported again": _legacy_imported_again,
    }
    _THROUGH = []
    for _route, _attempt in _ROUTES.items():
        try:
            _attempt()
            _THROUGH.append(_route)
        except PermissionError:                              # Landlock: a hidden file
            pass
        except Exception as _error:   # noqa: BLE001 - only the walls' refusals are welcome
            if not ("not available while this exercise is graded" in str(_error)
                    or "not allowed while grading" in str(_error)):
                _THROUGH.append(f"{_route} ({type(_error).__name__})")
    if _THROUGH:
        raise RuntimeError(f"reached Keras's or TensorFlow's own LSTM or GRU: {_THROUGH}")
'''

EX03_PLANTS = [
    Plant("ex03_keras_lstm_helper", "Keras's LSTM through its helpers: LSTMCell.call borrows "
          "_compute_carry_and_output from Keras's LSTMCell, reached by getattr with the name "
          "written out (27/27 when the wall replaced only build and call)",
          # 27-14: every LSTMCell check (13) reaches the helper, which the wall refuses, and
          # so does the check that trains the LSTM cell against the vanilla one (1)
          {"ex03": 13.0}, LSTM_CALLED, WALL, (KERAS_LSTM_HELPER,), every=False),
    Plant("ex03_fused_lstm", "TensorFlow's fused LSTM: LSTMCell.call runs tf.raw_ops.BlockLSTM "
          "over a one-step sequence on its own weights, the gates reordered (27/27 when the "
          "fused ops were not walled: BlockLSTM has a gradient, LSTMBlockCell has none)",
          # 27-14, like ex03_keras_lstm_helper: the op's wrapper is walled off
          {"ex03": 13.0}, LSTM_CALLED, WALL, (FUSED_LSTM,), every=False,
          same_as="ex03_keras_lstm_helper"),
    Plant("ex03_reaches_the_built_ins", "every other route to Keras's LSTM and GRU at import "
          "(the backend's lstm, gru and cuDNN paths, the LSTM layer and its loop, a GRUCell "
          "helper, tf.raw_ops.BlockLSTM and GRUBlockCell, the fused ops by their names eagerly "
          "and in a graph, TensorFlow's Keras 2 cells, their source run again and re-imported); "
          "the module raises if one reaches the built-in code",
          # 27: every route is refused, so the module imports and its own cells are graded
          {"ex03": 27.0}, (), "complete", (Append(EX03, REACHES_THE_BUILT_INS),)),
]

# The runs above grade with the source scan OFF (RNNKIT_SOURCE_SCAN=off, read by the grader
# only), so they prove the runtime defences on their own. These run with it ON.
SCAN_PLANTS = [
    Plant("ex01_subclasses_keras", "handing ex01 to Keras: class SimpleRNNCell(keras.layers."
          "SimpleRNNCell) matches Keras perfectly, so only the source scan can catch it",
          # 0: the scan refuses the module before any check runs; every check says why
          {"ex01": 0.0}, ("test_cell_contract", "test_weight_layout",
                          "test_cell_step_matches_keras", "test_sequence_matches_keras",
                          "test_gradients_match_keras", "test_unrolled_forward",
                          "test_parameters_shared_over_time", "test_problem_shapes[one_to_one]",
                          "test_problem_shapes[one_to_many]", "test_problem_shapes[many_to_one]",
                          "test_problem_shapes[many_to_many]",
                          "test_problem_shapes[encoder_decoder]", "test_fit_step_graph_mode",
                          "test_masking_right_padded", "test_keras_file_round_trip",
                          *QUIZ_EX01),
          "uses Keras's built-in SimpleRNNCell",
          (Replace(EX01, "class SimpleRNNCell(layers.Layer):",
                   "class SimpleRNNCell(layers.SimpleRNNCell):"),),
          notes="ex01: forbidden", run="scan01"),
    Plant("ex02_autodiff", "ex02's gradients by tf.GradientTape instead of by hand",
          # 0: ex02 is NumPy by hand; importing tensorflow there is refused by the scan
          {"ex02": 0.0}, ALL_EX02, "imports tensorflow",
          (Insert(EX02, "rnn_backward", "import tensorflow as tf  # let autodiff do it"),),
          notes="ex02: forbidden", run="scan02"),
    Plant("ex02_frame_walk", "walking up the stack to rewrite the probe that calls it",
          # 0: sys._getframe / f_globals are refused by the scan
          {"ex02": 0.0}, ALL_EX02, "._getframe",
          (Insert(EX02, "clip_by_global_norm",
                  "import sys\nsys._getframe(1).f_globals['np'] = None"),),
          notes="ex02: forbidden", run="scan02"),
    Plant("ex02_monkeypatch_scanned", "ex02_monkeypatch graded with the scan on: importing pytest "
          "and rnnkit.grading from a submission costs the exercise",
          # 0: the scan refuses the imports of pytest and rnnkit.grading
          {"ex02": 0.0}, ALL_EX02, "which could reach into the grader",
          BY_NAME_EARLY["ex02_monkeypatch"].edits, notes="ex02: forbidden", run="scan02"),
    Plant("ex02_module_table_imported", "the module table imported by name: from sys import "
          "modules, then the worker's wire module taken from it",
          # 0: the scan refuses `from sys import modules` as it refuses sys.modules
          {"ex02": 0.0}, ALL_EX02, "uses .modules",
          (Append(EX02, '''
              from sys import modules

              _wire = modules["rnnkit.sandbox." + "wire"]
          '''),), notes="ex02: forbidden", run="scan02"),
    Plant("ex03_keras_lstm_helper_scanned", "ex03_keras_lstm_helper graded with the scan on: "
          "getattr(layers, \"LSTMCell\") names the built-in with the name written out",
          # 0: the scan refuses the module before any check runs; every check says why
          {"ex03": 0.0}, ALL_EX03, "uses Keras's built-in LSTMCell", (KERAS_LSTM_HELPER,),
          notes="ex03: forbidden", run="scan03"),
    Plant("ex03_attrgetter", "Keras's LSTMCell reached by operator.attrgetter(\"LSTMCell\")",
          # 0: attrgetter's names are held to the same rules as getattr's
          {"ex03": 0.0}, ALL_EX03, "uses Keras's built-in LSTMCell",
          (_lstm_call('operator.attrgetter("LSTMCell")(layers)', "import operator"),),
          notes="ex03: forbidden", run="scan03"),
    Plant("ex03_getattribute_built_name", "Keras's LSTMCell reached by "
          "object.__getattribute__(layers, \"LST\" + \"MCell\"), a name built at run time",
          # 0: __getattribute__ with a name that is not written out is refused
          {"ex03": 0.0}, ALL_EX03, "__getattribute__() with a name built at run time",
          (_lstm_call('object.__getattribute__(layers, "LST" + "MCell")'),),
          notes="ex03: forbidden", run="scan03"),
]

PLANTS = EX02_PLANTS + EX01_PLANTS + EX03_PLANTS + SCAN_PLANTS
BY_NAME = {plant.name: plant for plant in PLANTS}
RUNS = {}   # class run -> (graded exercise, its plants)
for _plant in PLANTS:
    RUNS.setdefault(_plant.run_name, (_plant.exercises[0], []))[1].append(_plant)
SYNTAX_ERRORS = {"ex02_syntax_error"}        # the only plants whose source must not compile

# the same partial-credit submission under five names (the determinism test)
DETERMINISM_BASE = "ex02_float32_forward"
DETERMINISM_COPIES = [f"{DETERMINISM_BASE}_copy{i}" for i in range(1, 5)]


def reports_uid(name: str, uid) -> Plant:
    """A plant whose clip_by_global_norm raises naming the user it runs as: 18-6, the three
    clip checks (2 each) lose their points and say `uid`."""
    return Plant(name, "student code reports the user it runs as",
                 {"ex02": 12.0}, CLIP, f"student code runs as uid {uid} ",
                 (Insert(EX02, "clip_by_global_norm", 'import os\nraise RuntimeError('
                         'f"student code runs as uid {os.getuid()} (gid {os.getgid()})")'),))


# -- judging a plant's results.json (tests/kit/grader/test_planted.py, test_hosted, test_privilege)
def checks_of(document: dict, catalogue: dict, exercise: str) -> dict:
    """{check name: test entry} of one exercise, named like pytest's items."""
    by_title = {f"{exercise} {title}": name for name, (title, _) in catalogue[exercise].items()}
    assert len(by_title) == len(catalogue[exercise]), "two checks share a title"
    tests = [t for t in document["tests"] if t["tags"][0] == exercise]
    unknown = [t["name"] for t in tests if t["name"] not in by_title]
    assert not unknown, f"checks not in the catalogue: {unknown}"
    named = {by_title[t["name"]]: t for t in tests}
    assert len(named) == len(tests), "a check is reported twice"
    return named


def show(checks: dict, names=None) -> str:
    names = sorted(checks) if names is None else names
    return "\n".join(f"  {n}: {checks[n]['score']:g}/{checks[n]['max_score']:g} "
                     f"[{checks[n]['tags'][1]}] {checks[n]['output']}"
                     for n in names if n in checks)


def assert_scored_as_declared(plant: Plant, document: dict, catalogue: dict) -> None:
    for exercise in plant.exercises:
        checks = checks_of(document, catalogue, exercise)
        missing = set(catalogue[exercise]) - set(checks)
        assert not missing, f"{plant.name}: checks dropped from results.json: {sorted(missing)}"
        for name, (_, points) in catalogue[exercise].items():
            assert checks[name]["max_score"] == points, \
                f"{plant.name}: {name} is worth {checks[name]['max_score']}, not {points}"
        points = sum(t["score"] for t in checks.values())
        lost = sorted(n for n, t in checks.items() if t["score"] < t["max_score"])
        assert (points, lost) == (plant.points[exercise], sorted(plant.lost)), (
            f"{plant.name} ({plant.demonstrates}): {exercise} scored {points:g}, expected "
            f"{plant.points[exercise]:g}\n lost:     {lost}\n expected: {sorted(plant.lost)}\n"
            f"feedback:\n{show(checks)}")
        assert all(checks[n]["score"] == 0 for n in lost), show(checks, lost)
        texts = [checks[n]["output"] for n in lost] or [document["output"]]
        found = [plant.feedback in text for text in texts]
        assert (all(found) if plant.every else any(found)), (
            f"{plant.name}: {plant.feedback!r} missing from the feedback of "
            f"{'every' if plant.every else 'any'} lost check:\n"
            f"{show(checks, lost) if lost else document['output']}")
    text = json.dumps(document)
    assert FORGED not in text, f"{plant.name}: a forged results.json survived"
    assert plant.absent is None or plant.absent not in text, \
        f"{plant.name}: {plant.absent!r} leaked into the results"
    assert document["score"] == sum(plant.points.values())
    if plant.seconds:
        low, high = plant.seconds
        assert low <= document["execution_time"] <= high, \
            f"{plant.name}: graded in {document['execution_time']} s, expected {low}-{high} s"
