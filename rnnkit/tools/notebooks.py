"""Exercises written as Jupyter notebooks, for the student kit (`release --out`).

`to_notebook` turns an exercise module (`# %%` cells) into nbformat 4 JSON: the set-up cell
first (it finds the kit, or installs it in Colab; the grader skips it), then the module's
cells in order. Reading a notebook back is `rnnkit.notebooks.from_notebook`.
"""
from __future__ import annotations

import json
import re


_CELL = re.compile(r"^# %%(?P<markdown> \[markdown\])?.*$")

SETUP_CELL = '''\
# rnnkit setup: finds the kit (a local Jupyter) or installs it (Colab). The grader skips this
# cell; write nothing of your own here.
import os
import sys
from pathlib import Path


def _find_kit():
    """The folder holding rnnkit/: $RNNKIT_KIT, this folder or one above it, or in Colab the
    kit's zip uploaded to the Files pane (rnnkit*.zip) or put in Drive as MyDrive/rnnkit."""
    here = Path.cwd()
    places = [Path(os.environ.get("RNNKIT_KIT", here)), here, *here.parents,
              Path("/content/drive/MyDrive/rnnkit"), here / "rnnkit_kit"]
    for archive in sorted(here.glob("rnnkit*.zip"))[:1]:
        if not any((place / "rnnkit" / "__init__.py").is_file() for place in places):
            import zipfile

            zipfile.ZipFile(archive).extractall(here / "rnnkit_kit")
        places += [p.parent.parent for p in (here / "rnnkit_kit").glob("*/rnnkit/__init__.py")]
    for place in places:
        if (place / "rnnkit" / "__init__.py").is_file():
            return place.resolve()
    raise RuntimeError("rnnkit not found: open this notebook from the kit's notebooks/ folder, "
                       "upload the kit's zip (rnnkit*.zip) next to it, or set RNNKIT_KIT")


KIT = _find_kit()
INSTALLED = Path("/tmp/rnnkit-requirements-installed")   # /tmp: once per Colab machine
if "google.colab" in sys.modules and not INSTALLED.exists():
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r",
                    str(KIT / "requirements.txt")], check=True)
    INSTALLED.touch()
sys.path.insert(0, str(KIT))
from rnnkit.notebooks import notebook_imports  # noqa: E402

__file__ = notebook_imports("{module}")   # the earlier exercises this one imports come from here
'''



# -- writing ------------------------------------------------------------------------------------
def cells_of(source: str) -> list[tuple[str, str]]:
    """[(kind, text)] of a `# %%` module: "markdown" (the `# ` taken off) or "code"."""
    cells: list[list] = [["code", []]]
    for line in source.splitlines():
        match = _CELL.match(line)
        if match:
            cells.append(["markdown" if match.group("markdown") else "code", []])
        elif cells[-1][0] == "markdown":
            cells[-1][1].append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        else:
            cells[-1][1].append(line)
    found = []
    for kind, lines in cells:
        text = "\n".join(lines).strip("\n")
        if text.strip():
            found.append((kind, text))
    return found


def _cell(kind: str, text: str, tags=()) -> dict:
    lines = text.splitlines(keepends=True)
    cell = {"cell_type": kind, "metadata": {"tags": list(tags)} if tags else {}, "source": lines}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def to_notebook(source: str, module: str) -> str:
    """The notebook of an exercise module: the set-up cell, then its cells in order."""
    cells = [_cell("code", SETUP_CELL.replace("{module}", module), tags=("rnnkit-setup",))]
    cells += [_cell(kind, text) for kind, text in cells_of(source)]
    document = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                            "name": "python3"},
                             "language_info": {"name": "python"}}}
    for number, cell in enumerate(cells):
        cell["id"] = f"{module[:4]}-{number:03d}"     # stable ids: the same source, the same file
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


