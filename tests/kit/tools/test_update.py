"""`update`'s merges on their own (issue 25): what the kit changed is applied where the
student did not change the same lines, the student's lines are never changed, a notebook is
merged cell by cell. The whole path (release, a started kit, update) runs in test_term.py.
Under a second."""
import json

from rnnkit.grader.stubs import stub_line
from rnnkit.tools import notebooks
from rnnkit.tools.update import keeps_every_line, merge_module, merge_notebook, merge_text

BASE = '''import numpy as np


def step(x, w):
    """Run one step of the cell."""
    # YOUR CODE (replace this line)
    {stub}


def demo():
    """Given code."""
    n, d = 2, 4
    return step(np.ones((n, d)), np.ones((d, d)))
'''.replace("{stub}", stub_line("step", "Run one step of the cell."))
# the erratum: a fixed docstring (so the stub's message changes too) and a given line
NEW = BASE.replace("Run one step of the cell.", "Run one step of the cell: h = tanh(x w).") \
    .replace("n, d = 2, 4", "n, d = 3, 4")
MINE = BASE.replace('''    # YOUR CODE (replace this line)
    {stub}
'''.replace("{stub}", stub_line("step", "Run one step of the cell.")), '''    h = np.tanh(x.dot(w))   # my own way
    return h
''') + '''

def helper():
    return "mine"
'''


def test_the_kits_changes_apply_around_the_students_code():
    merged = merge_module(BASE, MINE, NEW)
    assert '"""Run one step of the cell: h = tanh(x w)."""' in merged.text
    assert "n, d = 3, 4" in merged.text
    assert "    h = np.tanh(x.dot(w))   # my own way\n    return h\n" in merged.text
    assert merged.text.endswith('def helper():\n    return "mine"\n')
    assert "NotImplementedError" not in merged.text
    assert merged.refused == []
    assert len(merged.applied) == 2 and len(merged.replaced_stubs) == 1
    assert keeps_every_line(BASE, MINE, merged.text)


def test_a_change_to_lines_the_student_changed_is_listed_not_applied():
    mine = MINE.replace("n, d = 2, 4", "n, d = 8, 4   # a bigger batch")
    merged = merge_module(BASE, mine, NEW)
    assert "n, d = 8, 4   # a bigger batch" in merged.text and "n, d = 3, 4" not in merged.text
    assert merged.refused == ["line 12 (n, d = 3, 4): you changed the lines it changes"]
    assert '"""Run one step of the cell: h = tanh(x w)."""' in merged.text


def test_an_insertion_beside_a_students_line_is_not_applied():
    base = "a\nb\nc\n"
    assert merge_text(base, "a\nB\nc\n", "a\nb\nnew\nc\n").refused      # next to their B
    applied = merge_text(base, "a\nb\nc\nd\n", "new\na\nb\nc\n")
    assert applied.text == "new\na\nb\nc\nd\n" and not applied.refused


def test_an_untouched_stub_takes_the_new_message():
    merged = merge_module(BASE, BASE.replace("n, d = 2, 4", "n, d = 2, 5"), NEW)
    assert stub_line("step", "Run one step of the cell: h = tanh(x w).") in merged.text
    assert merged.replaced_stubs == [] and "n, d = 2, 5" in merged.text


def test_nothing_is_written_that_would_lose_a_line():
    assert not keeps_every_line(BASE, MINE, NEW)          # the plain new file loses their code


def _notebook(source, module="ex09_demo"):
    return notebooks.to_notebook(source, module).encode()


def test_a_notebook_is_merged_cell_by_cell():
    base_source = "# %% [markdown]\n# The lesson.\n\n# %%\n" + BASE
    new_source = "# %% [markdown]\n# The lesson, fixed.\n\n# %% [markdown]\n# A new note.\n\n# %%\n" + NEW
    base, new = _notebook(base_source), _notebook(new_source)
    theirs = json.loads(base)
    code = next(c for c in theirs["cells"] if "def step" in "".join(c["source"]))
    code["source"] = MINE.splitlines(keepends=True)
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]}]
    theirs["cells"].append({"cell_type": "markdown", "id": "mine-1", "metadata": {},
                            "source": ["My own notes."]})
    data, merged = merge_notebook(base, json.dumps(theirs).encode(), new)
    cells = json.loads(data)["cells"]
    texts = ["".join(c["source"]) for c in cells]
    assert texts[1] == "The lesson, fixed."             # untouched: the new cell
    assert texts[2] == "A new note."                     # inserted where the kit has it
    assert "# my own way" in texts[3] and "h = tanh(x w)" in texts[3]
    assert cells[3]["outputs"] == code["outputs"]        # the student's run is kept
    assert texts[-1] == "My own notes."
    assert merged.refused == [] and len(merged.replaced_stubs) == 1
    # the kit's cells take the new kit's ids (positions), so the next update pairs them
    assert [c["id"] for c in cells[:4]] == [c["id"] for c in json.loads(new)["cells"]]
