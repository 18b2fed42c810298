"""What `release` writes in place of the solutions, and how the grader recognises it.

Every block between a `# BEGIN SOLUTION` line and an `# END SOLUTION` line in a solution
module becomes a stub that raises NotImplementedError naming the function to write
(`strip_solutions`); signatures, docstrings and everything outside blocks stay. The grader
calls an exercise *not started* when a NotImplementedError is raised, in a function release
stubbed (`stubs_of`, recorded in the references' manifest for a kit without solutions), by a
line that is a stub by its structure (`is_stub_raise`): `raise NotImplementedError('...')`
with one string, whatever it says. The message is never read: it quotes the docstring, so a
docstring fixed by a later kit changes it, and the stubs of the kit a student started from
are still *not started* under the new one. `untouched` tells, by the same structure, whether
a whole module is still a stub (grade-class prefers a worked file to one).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from rnnkit import KIT_ROOT

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
STUB_COMMENT = "# YOUR CODE (replace this line)"     # the line above each stub's raise
END = re.compile(r"^\s*# END SOLUTION\s*$")


class StubError(Exception):
    """The solution blocks cannot be turned into stubs; the message says why and where."""


def solution_blocks(source: str, filename: str) -> list[tuple[int, int, str]]:
    """(begin line, end line, indent) of every block, 1-based; StubError when unbalanced."""
    blocks, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.match(line):
            if start is not None:
                raise StubError(f"{filename}:{number}: BEGIN SOLUTION inside another block "
                                   f"(opened at line {start[0]})")
            start = (number, BEGIN.match(line).group("indent"))
        elif END.match(line):
            if start is None:
                raise StubError(f"{filename}:{number}: END SOLUTION without BEGIN SOLUTION")
            blocks.append((start[0], number, start[1]))
            start = None
    if start is not None:
        raise StubError(f"{filename}:{start[0]}: BEGIN SOLUTION is never closed")
    return blocks


def _functions(tree) -> list[tuple[int, int, str, ast.AST]]:
    """(first line, last line, qualified name, node) of every function in the module."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno, name, child))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def stub_line(name: str, what: str) -> str:
    """The line that stands for a solution block: it names the function and what to do."""
    return f"raise NotImplementedError({f'{name} is not written yet: {what}'!r})"


def _blocks_with_functions(source: str, filename: str):
    """(begin, end, indent, qualified function name, first docstring sentence) per block."""
    blocks = solution_blocks(source, filename)
    if not blocks:
        return []
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        raise StubError(f"{filename}:{error.lineno}: the solution does not parse: {error.msg}")
    functions = _functions(tree)
    found = []
    for begin, end, indent in blocks:
        enclosing = [f for f in functions if f[0] < begin <= f[1]]
        if not enclosing:
            raise StubError(f"{filename}:{begin}: a solution block must sit inside a function")
        _, _, name, node = max(enclosing, key=lambda f: f[0])
        found.append((begin, end, indent, name, first_sentence(ast.get_docstring(node))))
    return found


def first_sentence(doc: str | None) -> str:
    """The docstring's first sentence on one line (up to the first ". " or the end of its
    first paragraph), so a stub's message never stops mid-sentence."""
    if not doc or not doc.strip():
        return "see the exercise text."
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(?:\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return sentence if sentence.endswith((".", "?", "!")) else sentence + "."


def stubs_of(exercise, root: Path = KIT_ROOT) -> list[tuple[str, str]]:
    """[(function, stub line)] that release writes into the exercise's module."""
    path = root / "solutions" / exercise.filename
    source = path.read_text()
    return [(name, stub_line(name, what))
            for _, _, _, name, what in _blocks_with_functions(source, f"solutions/{path.name}")]


def strip_solutions(source: str, filename: str) -> str:
    """The student version of one solution module."""
    found = _blocks_with_functions(source, filename)
    lines = source.splitlines(keepends=True)
    for begin, end, indent, name, what in reversed(found):
        lines[begin - 1:end] = [f"{indent}{STUB_COMMENT}\n"
                                f"{indent}{stub_line(name, what)}\n"]
    student = "".join(lines)
    try:
        ast.parse(student, filename)
    except SyntaxError as error:  # e.g. a block that was the only statement of a loop body
        raise StubError(f"{filename}:{error.lineno}: the stripped module does not parse "
                           f"({error.msg}); move the block so a function body remains")
    return student


def is_stub_raise(line: str) -> bool:
    """Whether one line of source is a stub's statement by its structure:
    `raise NotImplementedError(<one string literal>)`, whatever the string says."""
    try:
        tree = ast.parse(line.strip())
    except (SyntaxError, ValueError):
        return False
    return len(tree.body) == 1 and _is_stub_statement(tree.body[0])


def _is_stub_statement(node) -> bool:
    exception = node.exc if isinstance(node, ast.Raise) else None
    return (isinstance(exception, ast.Call) and isinstance(exception.func, ast.Name)
            and exception.func.id == "NotImplementedError" and len(exception.args) == 1
            and not exception.keywords and isinstance(exception.args[0], ast.Constant)
            and isinstance(exception.args[0].value, str))


def untouched(source: str, functions) -> bool:
    """Whether every one of `functions` (qualified names, `stubs_of`) still holds its stub
    statement in `source`: nothing of the exercise written yet, whichever kit released it."""
    try:
        found = {name: node for _, _, name, node in _functions(ast.parse(source))}
    except (SyntaxError, ValueError, RecursionError):
        return False
    wanted = list(functions)
    return bool(wanted) and all(
        name in found and any(_is_stub_statement(node) for node in _own_statements(found[name]))
        for name in wanted)


def _own_statements(function):
    """The statements of a function's body at any depth, except those of nested functions
    and classes (whose stubs are their own)."""
    todo = list(function.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
