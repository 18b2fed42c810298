"""The wall around the built-in equivalents of what an exercise asks students to write.

An exercise declares in `rnnkit.course` the keras.layers names it asks students to write
(`built_ins`); the grader passes the student's process those that do not stand in for an
earlier exercise (`disable`: in ex04-ex09 Keras's LSTMCell and GRUCell stand in for an
unfinished ex03, so only the layers are walled there). Before any student code runs, the
worker walls off, for each name, everything that computes it:

- classes, whole: keras.layers.<name>, and the classes that compute the same under another
  name (`RELATIVES`): Keras's ConvLSTM cell and layers, and the recurrent cells and layers of
  the Keras 2 that TensorFlow still carries (`tensorflow.python.keras`). Every function
  defined in the class -- methods and private helpers (`LSTMCell._compute_carry_and_output`),
  the constructor, static and class methods, properties' getters and setters, and the
  functions their decorators wrap -- gets a code object that raises, so the original
  function objects refuse to run, whatever name, alias, subclass or borrowed function
  reaches them.
- Keras's backend functions that compute a whole layer (lstm, gru and their cuDNN paths),
  the same way.
- TensorFlow's fused recurrent ops (LSTMBlockCell, BlockLSTM, GRUBlockCell, CudnnRNN, ...
  and their gradients): their Python wrappers (in gen_rnn_ops, gen_cudnn_rnn_ops and the
  copies tf.raw_ops holds) the same way, and their names at TensorFlow's per-op entry points
  (`ENTRY_POINTS`: eager execution, and the creation of an operation in a graph, which
  tf.function uses), so an op asked for by its name string is refused too.
- `sources`: the files holding the classes and functions (and their cached bytecode), which
  Landlock hides, so that running them again cannot rebuild what was walled; `MODULES`, the
  modules holding all of it, whose re-import the worker refuses.

Not walled (README, "Known limits"): a whole graph or function handed to TensorFlow as a
serialized definition (a GraphDef, a FunctionDef, a SavedModel), TensorFlow's C API reached
through ctypes, the original entry points reached through the filter's own references (the
name filter is Python code in the student's process), and TensorFlow Lite's interpreter.
"""
from __future__ import annotations

import importlib
import os
import sys
import types
from dataclasses import dataclass


@dataclass(frozen=True)
class Relatives:
    """What computes a keras.layers name besides its own class: "module.Name" paths."""
    classes: tuple = ()
    functions: tuple = ()
    ops: tuple = ()          # TensorFlow op names


_KERAS = "keras.src.layers.rnn"
_KERAS_2 = "tensorflow.python.keras.layers"          # the Keras 2 that TensorFlow carries
_BACKEND = "keras.src.backend.tensorflow.rnn"
# cuDNN's fused RNN computes any of the four recurrent layers (rnn_mode: rnn_tanh, lstm, gru)
_CUDNN = ("CudnnRNN", "CudnnRNNBackprop", "CudnnRNNV2", "CudnnRNNBackpropV2", "CudnnRNNV3",
          "CudnnRNNBackpropV3")
# Keras's ConvLSTM layers carry an LSTM cell of their own (a 1-wide kernel of which is a
# plain LSTM cell), and so does TensorFlow's Keras 2
_CONV_LSTM = Relatives(classes=(f"{_KERAS}.conv_lstm.ConvLSTMCell", f"{_KERAS}.conv_lstm.ConvLSTM",
                                f"{_KERAS_2}.convolutional_recurrent.ConvLSTM2DCell",
                                f"{_KERAS_2}.convolutional_recurrent.ConvLSTM2D"))
RELATIVES = {
    "SimpleRNNCell": Relatives(classes=(f"{_KERAS_2}.recurrent.SimpleRNNCell",
                                        f"{_KERAS_2}.legacy_rnn.rnn_cell_impl.BasicRNNCell")),
    "SimpleRNN": Relatives(classes=(f"{_KERAS_2}.recurrent.SimpleRNN",), ops=_CUDNN),
    "LSTMCell": Relatives(classes=(f"{_KERAS_2}.recurrent.LSTMCell",
                                   f"{_KERAS_2}.recurrent.PeepholeLSTMCell",
                                   f"{_KERAS_2}.legacy_rnn.rnn_cell_impl.LSTMCell",
                                   f"{_KERAS_2}.legacy_rnn.rnn_cell_impl.BasicLSTMCell"),
                          ops=("LSTMBlockCell", "LSTMBlockCellGrad")),
    "LSTM": Relatives(classes=(f"{_KERAS_2}.recurrent.LSTM",),
                      functions=(f"{_BACKEND}.lstm", f"{_BACKEND}._cudnn_lstm",
                                 f"{_BACKEND}.bidirectional_lstm"),
                      ops=("BlockLSTM", "BlockLSTMV2", "BlockLSTMGrad", "BlockLSTMGradV2") + _CUDNN),
    "GRUCell": Relatives(classes=(f"{_KERAS_2}.recurrent.GRUCell",
                                  f"{_KERAS_2}.legacy_rnn.rnn_cell_impl.GRUCell"),
                         ops=("GRUBlockCell", "GRUBlockCellGrad")),
    "GRU": Relatives(classes=(f"{_KERAS_2}.recurrent.GRU",),
                     functions=(f"{_BACKEND}.gru", f"{_BACKEND}._cudnn_gru",
                                f"{_BACKEND}.bidirectional_gru"),
                     ops=_CUDNN),
    "ConvLSTM1D": _CONV_LSTM, "ConvLSTM2D": _CONV_LSTM, "ConvLSTM3D": _CONV_LSTM,
    # ex10's attention layers, and the same in TensorFlow's Keras 2
    "AdditiveAttention": Relatives(classes=(f"{_KERAS_2}.dense_attention.AdditiveAttention",)),
    "Attention": Relatives(classes=(f"{_KERAS_2}.dense_attention.Attention",
                                    f"{_KERAS_2}.dense_attention.BaseDenseAttention")),
}
# The modules (and packages) holding what the wall covers: re-importing one after a
# `del sys.modules[...]` would rebuild it, so the worker refuses that wherever anything is
# walled (tests/kit/sandbox/test_walls.py checks that every walled object lives in one).
MODULES = (_KERAS, _BACKEND, f"{_KERAS_2}.recurrent", f"{_KERAS_2}.legacy_rnn",
           f"{_KERAS_2}.convolutional_recurrent", "tensorflow.python.ops.gen_rnn_ops",
           "tensorflow.python.ops.gen_cudnn_rnn_ops", "keras.src.layers.attention",
           f"{_KERAS_2}.dense_attention")
# TensorFlow's per-op entry points: (module, name, position of the op's name in the call).
# Every Python route to running one op goes through one of them; no other module holds them
# (tests/kit/sandbox/test_walls.py looks).
ENTRY_POINTS = (
    ("tensorflow.python._pywrap_tfe", "TFE_Py_FastPathExecute", 1),     # (ctx, op, name, ...)
    ("tensorflow.python._pywrap_tfe", "TFE_Py_Execute", 2),             # (ctx, device, op, ...)
    ("tensorflow.python._pywrap_tfe", "TFE_Py_ExecuteCancelable", 2),
    ("tensorflow.python.client._pywrap_tf_session", "TF_NewOperation", 1),  # (graph, op, name)
)
# the modules that re-export them (`from ._pywrap_tfe import *`)
ENTRY_POINT_ALIASES = {"tensorflow.python._pywrap_tfe": ("tensorflow.python.pywrap_tfe",),
                       "tensorflow.python.client._pywrap_tf_session":
                           ("tensorflow.python.client.pywrap_tf_session",)}


def message(name: str, op: str = "") -> str:
    if op:
        return (f"TensorFlow's fused op {op} (what keras.layers.{name} computes) is not "
                f"available while this exercise is graded: it asks you to write "
                f"keras.layers.{name} yourself (main() may still use it to compare)")
    return (f"keras.layers.{name} is not available while this exercise is graded: it asks you "
            "to write it yourself (main() may still use it to compare)")


# -- finding what to wall ---------------------------------------------------------------------
def _resolve(path: str):
    module, _, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute, None)
    except ImportError:
        return None


def classes(name: str) -> list[type]:
    """keras.layers.`name` and the classes in RELATIVES that compute the same."""
    import keras

    found = [getattr(keras.layers, name, None)]
    found += [_resolve(path) for path in RELATIVES.get(name, Relatives()).classes]
    return [cls for cls in found if isinstance(cls, type)]


def functions(name: str) -> list[types.FunctionType]:
    found = [_resolve(path) for path in RELATIVES.get(name, Relatives()).functions]
    return [f for f in found if isinstance(f, types.FunctionType)]


def _unwrapped(value):
    """The functions behind a class attribute: a property's accessors, a static or class
    method's function, and every function its decorators wrap."""
    if isinstance(value, property):
        candidates = [value.fget, value.fset, value.fdel]
    elif isinstance(value, (staticmethod, classmethod)):
        candidates = [value.__func__]
    else:
        candidates = [getattr(value, "func", None) if not callable(value) else value]
    for candidate in candidates:
        seen = set()
        while candidate is not None and id(candidate) not in seen:
            seen.add(id(candidate))
            yield candidate
            candidate = getattr(candidate, "__wrapped__", None)


def methods(cls: type) -> list[types.FunctionType]:
    """Every function defined in the class body (inherited and shared ones are not its own:
    a mixin's method, or a decorator's generic wrapper, stays usable elsewhere)."""
    prefix = cls.__qualname__ + "."
    found = {}
    for value in vars(cls).values():
        for candidate in _unwrapped(value):
            if isinstance(candidate, types.FunctionType) and \
                    candidate.__module__ == cls.__module__ and \
                    candidate.__qualname__.startswith(prefix):
                found[id(candidate)] = candidate
    return list(found.values())


def op_wrappers(op: str) -> list[types.FunctionType]:
    """The Python functions that run TensorFlow's op `op`: the generated wrapper, its eager
    fallback, and the copy tf.raw_ops holds (never the generic wrapper around that copy,
    whose code every raw op shares)."""
    import tensorflow as tf

    raw = getattr(tf.raw_ops, op, None)
    copy = raw
    while getattr(copy, "__wrapped__", None) is not None:
        copy = copy.__wrapped__
    if not isinstance(copy, types.FunctionType):
        return []
    found = {id(copy): copy}
    module = sys.modules.get(copy.__module__)
    fallback = f"{copy.__name__}_eager_fallback"
    for value in list(vars(module).values()) if module else ():
        for candidate in _unwrapped(value):
            if isinstance(candidate, types.FunctionType) and (
                    candidate.__code__ is copy.__code__ or candidate.__name__ == fallback):
                found[id(candidate)] = candidate
    return list(found.values())


def ops(names) -> dict[str, str]:
    """{op name: the refusal's message} for every walled name."""
    refused = {}
    for name in names:
        for op in RELATIVES.get(name, Relatives()).ops:
            refused.setdefault(op, message(name, op))
    return refused


# -- walling it off ---------------------------------------------------------------------------
def _parameters(code: types.CodeType) -> str:
    """The parameter list of `code` ("self, x, /, y, *args, z, **kwargs"), without defaults:
    the function keeps its own, so it still binds its arguments (and Keras, which reads a
    constructor's argument names before it calls it, still finds them)."""
    import inspect

    names, count, keyword_only = code.co_varnames, code.co_argcount, code.co_kwonlyargcount
    parameters = list(names[:count])
    if code.co_posonlyargcount:
        parameters.insert(code.co_posonlyargcount, "/")
    after = count + keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        parameters.append("*" + names[after])
        after += 1
    elif keyword_only:
        parameters.append("*")
    parameters += names[count:count + keyword_only]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        parameters.append("**" + names[after])
    return ", ".join(parameters)


def _refusal(code: types.CodeType, text: str) -> types.CodeType:
    """A code object with the same parameters and free variables as `code` that raises
    `text`."""
    free = code.co_freevars
    lines = ["def outer():"] + [f"    {name} = None" for name in free] + [
        f"    def refused({_parameters(code)}):",
        f"        ({', '.join(free)}{',' if free else ''})" if free else "        pass",
        f"        raise RuntimeError({text!r})",
        "    return refused"]
    namespace: dict = {}
    exec(compile("\n".join(lines), "<rnnkit wall>", "exec"), namespace)   # noqa: S102 - our own text
    return namespace["outer"]().__code__


def refuse(function: types.FunctionType, text: str) -> None:
    function.__code__ = _refusal(function.__code__, text)


def _exact(value):
    """An exact str, bytes or bytearray holding the text of `value` (a subclass's own methods
    are not asked); anything else as it is."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes.__getitem__(value, slice(None))
    if isinstance(value, bytearray):
        return bytes(bytearray.__getitem__(value, slice(None)))
    return value


def _filtered(original, position: int, refused: dict):
    """`original` (one of TensorFlow's entry points), refusing the ops in `refused`."""
    def entry(*args):
        if len(args) > position:
            # the name as TensorFlow will read it: a str or bytes subclass can answer == and
            # hash as it likes (its __eq__ returned False for the fused op's name, which
            # TensorFlow's C++ side read as written), so the filter checks an exact copy of
            # its text, and passes that copy on
            op = _exact(args[position])
            args = args[:position] + (op,) + args[position + 1:]
            name = op.decode("utf-8", "replace") if isinstance(op, (bytes, bytearray)) else op
            if isinstance(name, str) and name in refused:
                raise RuntimeError(refused[name])
        return original(*args)
    entry.__name__ = entry.__qualname__ = getattr(original, "__name__", "entry")
    return entry


def filter_entry_points(refused: dict) -> list[str]:
    """Put the name filter in front of TensorFlow's per-op entry points (ENTRY_POINTS), in
    the modules that hold them; the names of those filtered."""
    done = []
    for module_name, attribute, position in ENTRY_POINTS:
        module = sys.modules.get(module_name)
        original = getattr(module, attribute, None)
        if original is None:
            continue
        entry = _filtered(original, position, refused)
        for holder in (module_name,) + ENTRY_POINT_ALIASES.get(module_name, ()):
            if getattr(sys.modules.get(holder), attribute, None) is original:
                setattr(sys.modules[holder], attribute, entry)
        done.append(attribute)
    return done


def walled(names) -> list:
    """Every function `disable(names)` refuses (no two the same object)."""
    found = {}
    for name in names:
        for cls in classes(name):
            found.update((id(function), function) for function in methods(cls))
        found.update((id(function), function) for function in functions(name))
    for op in ops(names):
        found.update((id(function), function) for function in op_wrappers(op))
    return list(found.values())


def disable(names) -> list[str]:
    """Wall off everything that computes keras.layers.`name`, for every name (see above);
    the names walled off."""
    names = [name for name in names if classes(name)]
    done = set()

    def refuse_once(function, text):
        if id(function) not in done:
            done.add(id(function))
            refuse(function, text)

    for name in names:
        for cls in classes(name):
            for function in methods(cls):
                refuse_once(function, message(name))
        for function in functions(name):
            refuse_once(function, message(name))
    refused = ops(names)
    for op, text in refused.items():
        for function in op_wrappers(op):
            refuse_once(function, text)
    if refused:
        filter_entry_points(refused)
    return names


def sources(names) -> list[str]:
    """The files holding what `disable(names)` walls off, hidden from the student's process so
    that running them again (runpy, exec of their text, their cached bytecode) cannot rebuild
    it: the folder of each keras.layers class (Keras's recurrent layers live in one), and the
    file and cached bytecode of every other class's and function's module. Not the generated
    op wrappers' (gen_rnn_ops.py): a wrapper made again from them still runs its op through
    the filtered entry points, and hiding a file in TensorFlow's largest folder costs the
    process ~500 more Landlock rules."""
    import inspect

    folders, modules = set(), set()
    for name in names:
        found = classes(name)
        if found:
            folders.add(os.path.dirname(inspect.getsourcefile(found[0])))
        modules.update(cls.__module__ for cls in found[1:])
        modules.update(function.__module__ for function in functions(name))
    files = set()
    for module in modules:
        path = getattr(sys.modules.get(module), "__file__", None)
        if not path or any(path.startswith(folder + os.sep) for folder in folders):
            continue
        files.add(path)
        cache = os.path.join(os.path.dirname(path), "__pycache__")
        stem = os.path.splitext(os.path.basename(path))[0] + "."
        if os.path.isdir(cache):
            files.update(os.path.join(cache, entry) for entry in os.listdir(cache)
                         if entry.startswith(stem) and entry.endswith(".pyc"))
    return sorted(folders | files)
