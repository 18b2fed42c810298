"""The student's process: imports the graded folder and runs probes on request.

Started by `rnnkit.grading.student.StudentProcess`, never by hand:

    python -m rnnkit.grading.worker CONFIG_JSON

The graded folder is imported as the package `target` (so `from .ex01_simple_rnn import
SimpleRNNCell` inside it works wherever the folder lives, and nothing else in the folder —
a `conftest.py`, a test file — is ever loaded). A probe is a function in a grading test file,
`probe(module, **args)`, that drives the student's module and returns plain data; this
process sends that data back over a pipe (`rnnkit.grading.wire`). Whatever the student's
code does here — print, raise, exit, loop, patch libraries — only this process is affected,
and the grader decides the score from the returned numbers alone.
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

PACKAGE = "target"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses imports of the kit's reference packages from student code."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"importing {fullname!r} is not allowed while grading")
        return None


def clean_message(error: BaseException) -> str:
    """The exception's own words: ANSI codes removed, Keras's call-context wrapper unwrapped."""
    text = _ANSI.sub("", str(error)).strip()
    wrapped = re.match(r"Exception encountered when calling [^\n]*\n\n(.*?)\n\nArguments received",
                       text, re.S)
    if wrapped:
        text = wrapped.group(1).strip()
    return " ".join(text.split())[:600]


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _location(error: BaseException, folder: str) -> str | None:
    """'file.py:LINE in function: source line' for the deepest frame inside `folder`."""
    if isinstance(error, SyntaxError) and error.filename:
        name = os.path.basename(error.filename)
        line = (error.text or "").strip()
        return f"{name}:{error.lineno}" + (f": {line}" if line else "")
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename).startswith(folder + os.sep):
            found = frame
    if found is None:
        return None
    where = f"{os.path.basename(found.filename)}:{found.lineno} in {found.name}"
    return where + (f": {found.line.strip()}" if found.line else "")


def describe(error: BaseException, folder: str) -> dict:
    """Plain-data account of an exception raised by student code."""
    if isinstance(error, SystemExit):
        return {"kind": "exit", "message": f"the code called sys.exit({error.code!r})",
                "location": _location(error, folder)}
    chain = list(_chain(error))
    stub = next((e for e in chain if isinstance(e, NotImplementedError)), None)
    shown = stub or error
    kind = "not_started" if stub is not None else "exception"
    if isinstance(error, MemoryError) or any(isinstance(e, MemoryError) for e in chain):
        kind = "memory"
    return {"kind": kind, "type": type(shown).__name__, "message": clean_message(shown),
            "location": _location(shown, folder) or _location(error, folder)}


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


def import_with_stand_ins(folder: str, module: str):
    """Import the exercise, replacing broken earlier exercises by stand-ins; (module, notes)."""
    from rnnkit.grading.standins import STAND_INS

    notes, replaced = [], set()
    while True:
        try:
            return import_target(folder, module), notes
        except BaseException as error:  # noqa: BLE001
            broken = _failed_dependency(error, folder, module)
            if broken is None or broken not in STAND_INS or broken in replaced:
                raise
            replaced.add(broken)
            for name in [n for n in sys.modules if n.startswith(PACKAGE + ".")]:
                del sys.modules[name]
            sys.modules[f"{PACKAGE}.{broken}"] = STAND_INS[broken](PACKAGE)
            setattr(sys.modules[PACKAGE], broken, sys.modules[f"{PACKAGE}.{broken}"])
            reason = describe(error, folder)
            notes.append(f"{broken}.py could not be imported ({reason['type']}: "
                         f"{reason['message'][:120]}); Keras's built-in layers stood in for it")


def _load_probe_file(path: str):
    """Execute a grading test file as a private module (kept out of sys.modules)."""
    name = "rnnkit_checks_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    return checks


def main(argv: list[str]) -> None:
    config = json.loads(argv[0])
    fd_in, fd_out = config["fd_in"], config["fd_out"]
    folder = os.path.realpath(config["target"])
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")

    from rnnkit.grading import sandbox

    # Before any student code: read only the interpreter, the system and the grader's copy;
    # write only this process's scratch folder (the kit, solutions/ and results are out of reach).
    confined = sandbox.restrict_filesystem(
        read=sandbox.system_read_paths() + config.get("read", []),
        write=config.get("write", []) + ["/dev"])

    import random

    import numpy

    from rnnkit.grading import wire

    sys.meta_path.insert(0, _Blocker(config.get("block", [])))
    # The probes are loaded before any student code runs and are reachable only from this
    # function's locals (reaching them through frames or gc is refused by the source scan).
    probes = {path: _load_probe_file(path) for path in config.get("probes", [])}

    try:
        module, notes = import_with_stand_ins(folder, config["module"])
    except BaseException as error:  # noqa: BLE001 - any failure of student code is reported
        wire.send(fd_out, {"status": "import_error", **describe(error, folder)})
        return
    if "keras" in sys.modules:   # the module uses Keras: make its kernels deterministic
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    wire.send(fd_out, {"status": "ready", "confined": confined, "notes": notes})

    while True:
        try:
            request = wire.receive(fd_in)
        except EOFError:
            return
        try:
            if request["file"] not in probes:
                raise LookupError(f"probe file {request['file']} was not loaded at start")
            probe = getattr(probes[request["file"]], request["probe"])
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
                               "message": f"the code returned data the grader cannot read: {error}",
                               "location": None})
            continue
        wire.send_payload(fd_out, payload)


if __name__ == "__main__":
    main(sys.argv[1:])
