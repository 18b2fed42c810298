"""The one list of exercises: ids, module names and titles.

The CLI, the grader and `release` all read it, so adding an exercise means adding a line
here, a module in `solutions/` and a test file `tests/grading/test_<id>.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit import KIT_ROOT


@dataclass(frozen=True)
class Exercise:
    id: str          # "ex01"
    module: str      # module name inside the exercises package, "ex01_simple_rnn"
    title: str

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def test_file(self):
        return KIT_ROOT / "tests" / "grading" / f"test_{self.id}.py"


EXERCISES: tuple[Exercise, ...] = (
    Exercise("ex01", "ex01_simple_rnn", "vanilla RNN cell"),
    Exercise("ex02", "ex02_bptt", "backpropagation through time"),
    Exercise("ex03", "ex03_gated_cells", "gated cells: LSTM, GRU"),
)
BY_ID = {exercise.id: exercise for exercise in EXERCISES}


def resolve(ids: list[str] | None) -> list[Exercise]:
    """The exercises named by `ids` (all when empty); ValueError names the valid ids."""
    if not ids:
        return list(EXERCISES)
    unknown = [name for name in ids if name not in BY_ID]
    if unknown:
        valid = ", ".join(BY_ID)
        raise ValueError(f"unknown exercise {', '.join(unknown)}; valid ids: {valid}")
    return [BY_ID[name] for name in ids]
