"""rnnkit: a Keras course kit on recurrent neural networks, with its autograder.

Folders: `solutions/` (the instructor's reference), `exercises/` (generated for students),
`tests/grading/` (the autograder, one file per exercise), `data/` (shipped data and the
recorded references). `python -m rnnkit --help` lists the commands.
"""
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
__version__ = "0.2.0"   # the kit's version (pyproject.toml says the same): every result records it
