"""Oracles by name: a check names the official function it needs, and the grader decides how
its result is had.

    O = oracles.of("ex04")                                   # at the top of a check file
    want = grader.oracle(O.lstsq_forecast, x_train, y_train, x_new)

`O.lstsq_forecast` is only a name (`rnnkit.official.ex04.lstsq_forecast`): the check file
imports nothing of the official room, so it loads in a student kit, which does not carry
that room (the student kit carries no code that computes a graded answer). In an official
grade and when `release` records, the function runs here (`Grader.oracle`); `release` also
stores its result on the public inputs beside the references, and a self-check reads it from
there.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from rnnkit.grader.compare import CheckFailed

PACKAGE = "rnnkit.official"


class OfficialOnly(CheckFailed):
    """A check needs what only the official grader has (an oracle on inputs that release did
    not record): never the student's fault."""


@dataclass(frozen=True)
class OracleRef:
    """The name of an oracle: a function of `rnnkit.official.<module>`."""
    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{PACKAGE}.{self.module}.{self.name}"

    def resolve(self):
        """The function itself; ImportError or AttributeError where the official room is not."""
        return getattr(importlib.import_module(f"{PACKAGE}.{self.module}"), self.name)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.qualified} is an oracle's name: call it through "
                        "grader.oracle(...), which runs it or reads its recorded result")


class Oracles:
    """The oracles of one official module, by attribute: `of("ex04").lstsq_forecast`."""

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str) -> OracleRef:
        if name.startswith("_"):
            raise AttributeError(name)
        return OracleRef(self._module, name)


def of(module: str) -> Oracles:
    """The oracles of `rnnkit.official.<module>` ("ex04", or "cells" for the shared ones)."""
    return Oracles(module)


def available() -> bool:
    """Whether this kit carries the official room (the instructor's kit, a hosted bundle)."""
    try:
        importlib.import_module(PACKAGE)
    except ImportError:
        return False
    return True
