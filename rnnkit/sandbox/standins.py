"""Keras's built-in layers in the student's process, as stand-ins.

When a later exercise imports an earlier one that is missing, broken or wrong, Keras's own
class takes the earlier class's place (same equations and weight layout as the reference), so
one mistake costs points once; the report says so. They exist even in a student kit without
solutions/. (The wall around the built-in layers an exercise asks the student to write is
`rnnkit.sandbox.built_ins`.)
"""
from __future__ import annotations

import types

_CLASSES: dict[str, type] = {}


def keras_class(name: str) -> type:
    """A registered subclass of keras.layers.`name` (so it saves and loads as a .keras file)."""
    if name not in _CLASSES:
        import keras

        base = getattr(keras.layers, name)
        _CLASSES[name] = keras.saving.register_keras_serializable(package="rnnkit_standin")(
            type(name, (base,), {"__doc__": f"keras.layers.{name} standing in for yours",
                                 "__module__": "rnnkit_standin"}))
    return _CLASSES[name]


def stand_in_module(module_name: str, names: dict) -> types.ModuleType:
    """A module offering Keras's classes under the names an exercise module offers."""
    module = types.ModuleType(module_name)
    for name, keras_name in names.items():
        setattr(module, name, keras_class(keras_name))
    module.STAND_IN = True
    return module


def one_step(cell_class, *, input_dim: int = 3, units: int = 4) -> None:
    """Run one step of a fresh cell, so a stub raises NotImplementedError right here (inside
    a model, Keras may swallow it while building and fail later with another message)."""
    import numpy as np

    cell = cell_class(units)
    states = [np.zeros((1, s), "float32") for s in np.atleast_1d(cell.state_size)]
    cell(np.zeros((1, input_dim), "float32"), states)
