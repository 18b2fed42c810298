"""The student's process: walls itself in, imports the graded folder, runs probes on request.

Started by `rnnkit.grader.handles.process.StudentProcess`, from a private copy of the kit's
student-side code (this package, the probes, data generators), either forked from the
zygote (`rnnkit.sandbox.zygote`, which has imported TensorFlow and Keras and nothing else)
or as a fresh interpreter (`python -s -P`, so neither the working folder nor any environment
variable can put a planted module on the path):

    python -s -P -c "...; worker.main([CONFIG_JSON])" CODE_ROOT CONFIG_JSON

In order, before any student code runs:
1. the walls (`rnnkit.sandbox.walls`): Landlock (read only Python, the system and the
   private copy; write only the scratch folder), then seccomp (no new processes, no programs,
   no chmod/chown, file times, xattrs or inode flags, no network sockets, signals only to
   itself);
2. the exercise's probe module and the shared cell probes are loaded;
3. Keras's built-in layers that the graded exercise asks the student to write are walled
   off whole, with everything else that computes them (`rnnkit.sandbox.built_ins`), and
   imports of the kit's reference and grader packages, of modules the exercise must do
   without, and re-imports of the walled modules are refused.
The graded folder is then imported as the package `target` (so `from .ex01_simple_rnn import
SimpleRNNCell` works wherever the folder lives; only the declared exercise modules were
copied into it, so nothing else — a `conftest.py`, a helper module — exists there).
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import re
import sys
import traceback
import types

from rnnkit import rooms
from rnnkit.sandbox import built_ins

PACKAGE = "target"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
REFUSED_PACKAGES = ("pytest", "_pytest")          # the grader's test runner
RECURRENT_MODULES = built_ins.MODULES   # re-importing them would undo the wall


class Refused(ImportError):
    """An import the grading forbids."""


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses imports of every kit module outside the rooms the student's process may import
    (`rnnkit.rooms`: the grader, the oracles, the commands, the checks, the solutions), of
    pytest, of modules the exercise must do without, and fresh imports of the modules the
    built-in wall covers (after a `del sys.modules[...]`)."""

    def __init__(self, refused, forbidden, *, reimport=()):
        self.refused, self.forbidden, self.reimport = tuple(refused), tuple(forbidden), reimport

    @staticmethod
    def _under(name, prefixes):
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    def find_spec(self, fullname, path=None, target=None):
        if self._under(fullname, self.refused) or (rooms.kit_module(fullname) and
                                                    not rooms.in_student_process(fullname)):
            raise Refused(f"importing {fullname!r} is not allowed while grading")
        if self._under(fullname, self.forbidden):
            raise Refused(f"importing {fullname!r} is not allowed in this exercise")
        if self._under(fullname, self.reimport):
            raise Refused(f"re-importing {fullname!r} is not allowed while grading")
        return None


def clean_message(error: BaseException) -> str:
    """The exception's own words: ANSI codes removed, Keras's call-context wrapper unwrapped,
    and characters that cannot be printed (lone surrogates) escaped."""
    text = _ANSI.sub("", str(error)).strip()
    wrapped = re.match(r"Exception encountered when calling [^\n]*\n\n(.*?)\n\nArguments received",
                       text, re.S)
    if wrapped:
        text = wrapped.group(1).strip()
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return " ".join(text.split())[:600]


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _frame(error: BaseException, folder: str):
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename).startswith(folder + os.sep):
            found = frame
    return found


def _location(error: BaseException, folder: str) -> str | None:
    """'file.py:LINE in function: source line' for the deepest frame inside `folder`."""
    if isinstance(error, SyntaxError) and error.filename:
        name = os.path.basename(error.filename)
        line = (error.text or "").rstrip("\n")
        shown = line.replace("\t", "\\t").strip()      # a TabError shows where the tab is
        return f"{name}:{error.lineno}" + (f": {shown}" if shown else "")
    found = _frame(error, folder)
    if found is None:
        return None
    where = f"{os.path.basename(found.filename)}:{found.lineno} in {found.name}"
    return where + (f": {found.line.strip()}" if found.line else "")


def describe(error: BaseException, folder: str) -> dict:
    """Plain-data account of an exception raised by student code.

    A NotImplementedError is reported with the file, line number and exact text of the line
    that raised it; the grader decides "not started" by comparing that line with the stubs
    `release` wrote (the message is never read for it)."""
    if isinstance(error, SystemExit):
        return {"kind": "exit", "message": repr(error.code)[:200],
                "location": _location(error, folder)}
    chain = list(_chain(error))
    stub = next((e for e in chain if isinstance(e, NotImplementedError)), None)
    shown = stub or error
    kind = "exception"
    if isinstance(error, MemoryError) or any(isinstance(e, MemoryError) for e in chain):
        kind = "memory"
    account = {"kind": kind, "type": type(shown).__name__, "message": clean_message(shown),
               "location": _location(shown, folder) or _location(error, folder)}
    if stub is not None:
        frame = _frame(stub, folder)
        if frame is not None:
            account["raised"] = {"file": os.path.basename(frame.filename),
                                 "function": frame.name, "line": frame.line or ""}
    return account


class MissingModule(Exception):
    """The submission has no file for this exercise."""


def import_target(folder: str, module: str):
    """Import `folder` as package `target` and return `target.<module>`."""
    if not os.path.isfile(os.path.join(folder, f"{module}.py")):
        raise MissingModule(f"{module}.py is not in the submission")
    package = types.ModuleType(PACKAGE)
    package.__path__ = [folder]
    package.__package__ = PACKAGE
    package.__spec__ = importlib.util.spec_from_loader(PACKAGE, loader=None, is_package=True)
    package.__spec__.submodule_search_locations = [folder]
    sys.modules[PACKAGE] = package
    return importlib.import_module(f"{PACKAGE}.{module}")


def _failed_dependency(error: BaseException, folder: str, module: str) -> str | None:
    """The earlier exercise module whose import broke `module`'s import, if any."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith(PACKAGE + "."):
        return error.name.split(".", 1)[1]
    if isinstance(error, SyntaxError) and error.filename:
        name = os.path.splitext(os.path.basename(error.filename))[0]
        return name if name != module else None
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename).startswith(folder + os.sep)]
    if frames:
        name = os.path.splitext(os.path.basename(frames[-1].filename))[0]
        return name if name != module else None
    return None


def import_with_stand_ins(folder: str, module: str, stand_ins: dict):
    """Import the exercise, replacing broken earlier exercises by stand-ins; (module, notes).

    `stand_ins`: {module name: {name: keras.layers class name}} from the course declarations."""
    from rnnkit.sandbox.standins import stand_in_module

    notes, replaced = [], set()
    while True:
        try:
            return import_target(folder, module), notes
        except BaseException as error:  # noqa: BLE001
            broken = _failed_dependency(error, folder, module)
            if broken is None or broken not in stand_ins or broken in replaced:
                raise
            replaced.add(broken)
            for name in [n for n in sys.modules if n.startswith(PACKAGE + ".")]:
                del sys.modules[name]
            standin = stand_in_module(f"{PACKAGE}.{broken}", stand_ins[broken])
            sys.modules[f"{PACKAGE}.{broken}"] = standin
            setattr(sys.modules[PACKAGE], broken, standin)
            reason = describe(error, folder)
            notes.append({"module": broken, "reason": f"{reason['type']}: {reason['message']}"})


def _package_folders(names) -> list[str]:
    """The folders (or files) of the top-level packages `names`, where installed."""
    import importlib.util

    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            found += list(spec.submodule_search_locations)
        elif spec.origin and os.path.isfile(spec.origin):
            found.append(spec.origin)
    return found


def _capture_probes(names) -> dict:
    """Import the probe modules, keep their functions, and take the modules out of reach.

    The functions are looked up here, before any student code runs, and called from this
    table: rebinding `probe_x` in the module later (through `sys.modules` or the package)
    changes nothing. The modules are then removed from `sys.modules` and from their package,
    so a later import gives a fresh copy, not the objects the probes use."""
    table = {}
    for name in names:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, types.FunctionType) and value.__module__ == name:
                table[(name, attribute)] = value
    for name in names:
        sys.modules.pop(name, None)
        package, _, child = name.rpartition(".")
        if package in sys.modules and hasattr(sys.modules[package], child):
            delattr(sys.modules[package], child)
    return table


def main(argv: list[str]) -> None:
    config = json.loads(argv[0])
    from rnnkit.sandbox import portable

    fd_in, fd_out, limited = portable.worker_channel(config)   # the portable path: stdin/stdout
    folder = os.path.realpath(config["target"])
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")

    from rnnkit.sandbox import walls, wire

    forbidden = list(config.get("forbidden_imports", []))
    uses_keras = not ({"keras", "tensorflow"} & set(forbidden))
    import random

    import numpy

    hidden = _package_folders(forbidden)        # libraries the exercise must do without
    hidden += config.get("hidden", [])          # the course secret, its recordings
    if uses_keras:
        import keras  # noqa: F401  (imported before the walls; its files are then hidden)

        hidden += built_ins.sources(config.get("disable", []))
    protections = walls.apply(read=config["read"], write=config["write"],
                                exclude=config.get("exclude", []), hidden=hidden)
    if limited:                                 # what the portable path applied to itself
        protections = {key: protections[key] + limited[key] for key in ("applied", "missing")}
    probes = _capture_probes(config["probes"])
    poisoned = built_ins.disable(config.get("disable", [])) if uses_keras else []
    sys.meta_path.insert(0, _Blocker(REFUSED_PACKAGES, forbidden,
                                     reimport=RECURRENT_MODULES if poisoned else ()))
    # Sent before any student code has run in this process: the walls' own account, the only
    # message the grader takes the report's protections line from.
    wire.send(fd_out, {"status": "walled", "protections": protections})
    try:
        module, notes = import_with_stand_ins(folder, config["module"], config["stand_ins"])
    except BaseException as error:  # noqa: BLE001 - any failure of student code is reported
        wire.send(fd_out, {"status": "import_error", **describe(error, folder)})
        return
    if "keras" in sys.modules:   # the module uses Keras: make its kernels deterministic
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    wire.send(fd_out, {"status": "ready", "notes": notes})

    while True:
        try:
            request = wire.receive(fd_in)
        except EOFError:
            return
        try:
            probe = probes.get((request["module"], request["probe"]))
            if probe is None:
                raise LookupError(f"no probe {request['module']}.{request['probe']} was loaded "
                                  "at start")
            seed = int(request["seed"])
            random.seed(seed)
            numpy.random.seed(seed)
            if "keras" in sys.modules:
                sys.modules["keras"].utils.set_random_seed(seed)
            result = probe(module, **request["args"])
        except BaseException as error:  # noqa: BLE001
            wire.send(fd_out, {"status": "error", **describe(error, folder)})
            continue
        try:
            payload = wire.encode({"status": "ok", "result": result})
        except (wire.WireError, TypeError, ValueError) as error:
            wire.send(fd_out, {"status": "error", "kind": "bad_output",
                               "message": clean_message(error), "location": None})
            continue
        wire.send_payload(fd_out, payload)
