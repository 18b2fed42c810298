"""Keras's built-in layers in the student's process: as stand-ins, and walled off.

- Stand-ins: when a later exercise imports an earlier one that is missing, broken or wrong,
  Keras's own class takes the earlier class's place (same equations and weight layout as the
  reference), so one mistake costs points once; the report says so. They exist even in a
  student kit without solutions/.
- The wall: the built-in layers an exercise asks the student to write are made unusable in
  its grading (`disable_built_ins`), whatever name, alias or subclass reaches them — their
  methods' code objects are replaced, so even the original function objects refuse to run.
"""
from __future__ import annotations

import types

_CLASSES: dict[str, type] = {}
_METHODS = ("build", "call")   # (the constructor stays: Keras inspects it)


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


def _refusal(code: types.CodeType, message: str) -> types.CodeType:
    """A code object with the same free variables as `code` that raises `message`."""
    free = code.co_freevars
    lines = ["def outer():"] + [f"    {name} = None" for name in free] + [
        "    def refused(*args, **kwargs):",
        f"        ({', '.join(free)}{',' if free else ''})" if free else "        pass",
        f"        raise RuntimeError({message!r})",
        "    return refused"]
    namespace: dict = {}
    exec(compile("\n".join(lines), "<rnnkit wall>", "exec"), namespace)   # noqa: S102 - our own text
    return namespace["outer"]().__code__


# Classes behind a keras.layers name that hold the same computation under another name.
RELATIVES = {name: ("keras.src.layers.rnn.conv_lstm.ConvLSTMCell",
                    "keras.src.layers.rnn.conv_lstm.ConvLSTM")
             for name in ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")}


def _classes(name: str) -> list[type]:
    import importlib

    import keras

    found = [getattr(keras.layers, name, None)]
    for path in RELATIVES.get(name, ()):
        module, _, attribute = path.rpartition(".")
        try:
            found.append(getattr(importlib.import_module(module), attribute, None))
        except ImportError:
            pass
    return [cls for cls in found if isinstance(cls, type)]


def disable_built_ins(names) -> list[str]:
    """Make keras.layers.`name` unusable for every name (and every class built on it, and
    the classes in RELATIVES that compute the same under another name)."""
    done, seen = [], set()
    for name in names:
        classes = _classes(name)
        if not classes:
            continue
        message = (f"keras.layers.{name} is not available while this exercise is graded: "
                   "it asks you to write it yourself (main() may still use it to compare)")
        for cls in classes:
            if cls not in seen:
                seen.add(cls)
                _disable(cls, message)
        done.append(name)
    return done


def _disable(cls: type, message: str) -> None:
    for method in _METHODS:
        function = cls.__dict__.get(method)
        if isinstance(function, types.FunctionType):
            function.__code__ = _refusal(function.__code__, message)


def source_folders(names) -> list[str]:
    """The folders holding the source of keras.layers.`name` for every name: hidden from the
    student's process, so re-running Keras's own file (runpy, exec of its text, its cached
    bytecode) cannot rebuild the class the wall disabled."""
    import inspect
    import os

    import keras

    folders = set()
    for name in names:
        cls = getattr(keras.layers, name, None)
        if isinstance(cls, type):
            folders.add(os.path.dirname(inspect.getsourcefile(cls)))
    return sorted(folders)


def one_step(cell_class, *, input_dim: int = 3, units: int = 4) -> None:
    """Run one step of a fresh cell, so a stub raises NotImplementedError right here (inside
    a model, Keras may swallow it while building and fail later with another message)."""
    import numpy as np

    cell = cell_class(units)
    states = [np.zeros((1, s), "float32") for s in np.atleast_1d(cell.state_size)]
    cell(np.zeros((1, input_dim), "float32"), states)
