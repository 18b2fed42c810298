"""Stand-ins for earlier exercises, so an unfinished one does not cost a later one's points.

When ex03 (which imports `from .ex01_simple_rnn import SimpleRNNCell`) is graded and the
student's ex01 module is missing or fails to import, the worker installs a stand-in module
and retries; when ex01 imports but its cell is still a stub, probes use `usable_cell` to
swap in the stand-in cell. Stand-ins are built on Keras's own layers (the same equations and
weight layout as the reference), so they exist even in a student kit without solutions.
The report says whenever one was used.
"""
from __future__ import annotations

import types


def ex01_simple_rnn(package: str) -> types.ModuleType:
    import keras

    module = types.ModuleType(f"{package}.ex01_simple_rnn")

    @keras.saving.register_keras_serializable(package="rnnkit_standin")
    class SimpleRNNCell(keras.layers.SimpleRNNCell):
        """keras.layers.SimpleRNNCell standing in for the student's unfinished ex01 cell."""

    module.SimpleRNNCell = SimpleRNNCell
    module.STAND_IN = True
    return module


STAND_INS = {"ex01_simple_rnn": ex01_simple_rnn}
STAND_IN_CELLS = {"SimpleRNNCell": ("ex01_simple_rnn", "SimpleRNNCell")}


def one_step(cell_class, *, input_dim: int = 3, units: int = 4) -> None:
    """Run one step of a fresh cell, so a stub raises NotImplementedError right here (inside
    a model, Keras may swallow it while building and fail later with another message)."""
    import numpy as np

    cell = cell_class(units)
    states = [np.zeros((1, s), "float32") for s in np.atleast_1d(cell.state_size)]
    cell(np.zeros((1, input_dim), "float32"), states)


def usable_cell(cell_class, *, input_dim: int = 3, units: int = 4):
    """(class, note): the student's cell class if one step runs, else the stand-in's."""
    try:
        one_step(cell_class, input_dim=input_dim, units=units)
        return cell_class, None
    except NotImplementedError:
        module_name, name = STAND_IN_CELLS[cell_class.__name__]
        standin = getattr(STAND_INS[module_name]("standin"), name)
        return standin, (f"your {name} ({module_name}.py) is not finished: "
                         f"keras.layers.{name} stood in for it")
