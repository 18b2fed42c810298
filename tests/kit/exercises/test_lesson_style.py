"""One lesson style across the nine exercises (issue 24), held on solutions/ (exercises/ and
the notebooks are generated from it):

- docstrings in CS231n's convention: a summary line, then an `Inputs:` section and, when it
  returns a value, a `Returns` section (`Returns:` or `Returns a tuple of:`), each a list of
  `- ` items, in every function and layer method the student writes (those holding a
  `# BEGIN SOLUTION` block; `main`, the `plot_*` and `print_*` helpers excepted); the
  dimension letters defined once, in the module's header;
- one script bootstrap: the kit's folder put on sys.path by the same two lines, before
  rnnkit or an earlier exercise is imported, and earlier exercises imported by one
  if/else (relative in a package, by name as a file or in a notebook);
- the stop token called `<stop>`, as rnnkit.decoding names it, never `<end>`.

Each rule is also tested on a planted violation, so the test cannot pass by finding nothing.
"""
import ast
import re

import pytest

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES

BOOTSTRAP = ("if not __package__:  # run as a file (python exercises/{module}.py): find rnnkit\n"
             "    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))\n")
SIBLING = re.compile(r"^if __package__:\n    from \.(?P<module>ex\d\d_\w+) import (?P<names>.+)\n"
                     r"else:  # run as a file, or in a notebook: the exercise next to this one\n"
                     r"    from (?P=module) import (?P=names)\n", re.MULTILINE)
EXEMPT = re.compile(r"^(main|plot_\w+|print_\w+|__init__|get_config)$")
ITEM = re.compile(r"^- \S")


def sections(docstring: str) -> dict:
    """{"Inputs": [items], "Returns": [items]} of a cleaned docstring (the sections found)."""
    found, current = {}, None
    for line in docstring.splitlines():
        if line in ("Inputs:", "Returns:", "Returns a tuple of:"):
            current = line.split()[0].rstrip(":")
            found[current] = []
        elif current and ITEM.match(line):
            found[current].append(line)
        elif current and not line.startswith("  ") and line.strip():
            current = None          # prose after a section ends it; continuation lines indent
    return found


def returns_a_value(function: ast.FunctionDef) -> bool:
    """Whether the function's own body (nested functions aside) returns or yields a value."""
    pending = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None or \
                isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def docstring_problems(source: str) -> list:
    """What breaks the docstring convention in a module's source, one line each."""
    problems = []
    tree = ast.parse(source)
    functions = [(node.name, node) for node in tree.body if isinstance(node, ast.FunctionDef)]
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        functions += [(f"{cls.name}.{node.name}", node) for node in cls.body
                      if isinstance(node, ast.FunctionDef)]
    for name, node in functions:
        short = name.split(".")[-1]
        arguments = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
        if short.startswith("_") and not short.startswith("__") or EXEMPT.match(short) \
                or not arguments or "# BEGIN SOLUTION" not in ast.get_source_segment(source, node):
            continue
        docstring = ast.get_docstring(node)
        if not docstring:
            problems.append(f"{name}: no docstring")
            continue
        found = sections(docstring)
        for section in ("Inputs", "Returns") if returns_a_value(node) else ("Inputs",):
            if not found.get(section):
                problems.append(f"{name}: no `{section}` section with `- ` items")
    header = source.split("\n# %%\n", 1)[0]
    if "Dimension letters" not in header:
        problems.append("the module's header does not define the dimension letters "
                        "(\"Dimension letters, in every docstring below: ...\")")
    return problems


def bootstrap_problems(source: str, module: str) -> list:
    problems = []
    expected = BOOTSTRAP.format(module=module)
    first_rnnkit = min([m.start() for m in re.finditer(r"^(from|import) rnnkit", source,
                                                        re.MULTILINE)] + [len(source)])
    at = source.find(expected)
    if source.count("__package__") - len(SIBLING.findall(source)) != 1 or at < 0:
        problems.append(f"the bootstrap is not the one form:\n{expected}")
    elif at > first_rnnkit or any(m.start() < at for m in SIBLING.finditer(source)):
        problems.append("the bootstrap comes after an import of rnnkit or an earlier exercise")
    leftover = re.findall(r"^.*(?:__package__|sys\.path).*$", SIBLING.sub("", source.replace(
        expected, "")), re.MULTILINE)
    if leftover:
        problems.append(f"other path or package handling: {leftover}")
    return problems


def token_problems(source: str) -> list:
    return [f"line {number}: <end> (the stop token is <stop>)"
            for number, line in enumerate(source.splitlines(), 1) if "<end>" in line]


MODULES = [exercise.module for exercise in EXERCISES
           if (KIT_ROOT / "solutions" / f"{exercise.module}.py").is_file()]


def solution(module: str) -> str:
    return (KIT_ROOT / "solutions" / f"{module}.py").read_text()


@pytest.mark.parametrize("module", MODULES)
def test_docstrings_follow_one_convention(module):
    assert docstring_problems(solution(module)) == []


@pytest.mark.parametrize("module", MODULES)
def test_one_bootstrap(module):
    assert bootstrap_problems(solution(module), module) == []


@pytest.mark.parametrize("module", MODULES)
def test_the_stop_token_is_stop(module):
    assert token_problems(solution(module)) == []


# -- the rules on planted violations --------------------------------------------------------
GOOD = '''# %% [markdown]
# Dimension letters, in every docstring below: N batch, D features.

# %%
import sys
from pathlib import Path

if not __package__:  # run as a file (python exercises/ex99_x.py): find rnnkit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnkit import decoding

if __package__:
    from .ex03_gated_cells import LSTMCell
else:  # run as a file, or in a notebook: the exercise next to this one
    from ex03_gated_cells import LSTMCell


def scale(x, factor):
    """Multiply by a factor.

    Inputs:
    - x: (N, D) float32,
      any values.
    - factor: a float.

    Returns:
    - y: (N, D) float32, x * factor.
    """
    # BEGIN SOLUTION
    return x * factor
    # END SOLUTION


def main(epochs=1):
    """Train."""
'''


def test_the_rules_accept_a_module_that_keeps_them():
    assert docstring_problems(GOOD) == []
    assert bootstrap_problems(GOOD, "ex99_x") == []
    assert token_problems(GOOD) == []


@pytest.mark.parametrize("old, new, problem", [
    ("    Inputs:\n    - x: (N, D) float32,\n      any values.\n    - factor: a float.\n\n", "",
     "no `Inputs` section"),
    ("    Returns:\n    - y: (N, D) float32, x * factor.\n",
     "    Returns y (N, D) float32, x * factor.\n", "no `Returns` section"),
    ("    - y: (N, D) float32, x * factor.\n", "    y (N, D) float32, x * factor.\n",
     "no `Returns` section"),
    ("    Inputs:\n    - x: (N, D) float32,", "    Inputs: x (N, D) float32,",
     "no `Inputs` section"),
    ("    - x: (N, D) float32,\n      any values.\n    - factor: a float.\n",   # indented
     "      x: (N, D) float32, any values.\n      factor: a float.\n", "no `Inputs` section"),
    ("# Dimension letters, in every docstring below: N batch, D features.\n", "",
     "dimension letters"),
])
def test_a_planted_docstring_violation_fails(old, new, problem):
    assert GOOD.count(old) == 1
    found = docstring_problems(GOOD.replace(old, new))
    assert any(problem in p for p in found), found


@pytest.mark.parametrize("old, new", [
    ("    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))\n",
     "    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))\n"),
    ("if not __package__:  # run as a file (python exercises/ex99_x.py): find rnnkit\n"
     "    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))\n", ""),
    ("else:  # run as a file, or in a notebook: the exercise next to this one\n"
     "    from ex03_gated_cells import LSTMCell\n",
     "else:\n    sys.path.insert(0, '..')\n    from ex03_gated_cells import LSTMCell\n"),
    ("from rnnkit import decoding\n\n", ""),     # moved before the bootstrap, below
])
def test_a_planted_bootstrap_violation_fails(old, new):
    assert GOOD.count(old) == 1
    source = GOOD.replace(old, new)
    if not new and old.startswith("from rnnkit"):
        source = source.replace("import sys\n", "import sys\nfrom rnnkit import decoding\n")
    assert bootstrap_problems(source, "ex99_x") != []


def test_a_planted_end_token_fails():
    assert token_problems(GOOD.replace("Multiply by a factor.", "Stop at <end>.")) != []
