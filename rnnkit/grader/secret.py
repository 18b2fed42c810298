"""The course secret: what the official grade holds and the student kit never has.

Made once per course by `python -m rnnkit release` (only when none exists), kept beside the
reference as `solutions/course.secret` (never in a student kit, never in a published kit,
carried by the hosted bundle readable by root only), and never printed: reports and results
name it by its id, a digest that reveals nothing of it. `$RNNKIT_COURSE_SECRET` may name the
file instead (a hosted grader's, or a test's).

Every official input is drawn from it (`seed`, `permutation`): probe inputs, training and
test data, and the transforms that make answers computed on public data useless (token ids
permuted, a series of other parameters, other voices). Seeds are HMAC-SHA256 of the secret
and a label, so a label that names a course-wide input gives every submission the same one
(the memo of oracle results stays useful), and a label that includes a digest of the
submitted file gives each file its own (an answer looked up or passed on fails), while the
same file always draws the same inputs (a re-grade gives the same score).

Rotating the secret makes a new course: results made under another secret are never mixed
with this one's (each result records the secret's id).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit import KIT_ROOT

FILE_NAME = "course.secret"
ENVIRONMENT = "RNNKIT_COURSE_SECRET"
KEY_BYTES = 32


class SecretProblem(Exception):
    """The course secret cannot be read or made; the message says why."""


def path(root: Path = KIT_ROOT) -> Path:
    """Where the course secret is: $RNNKIT_COURSE_SECRET, else solutions/course.secret."""
    named = os.environ.get(ENVIRONMENT)
    return Path(named) if named else Path(root) / "solutions" / FILE_NAME


@dataclass(frozen=True)
class CourseSecret:
    key: bytes
    created: str = ""

    def __repr__(self) -> str:          # never the key, whatever prints this object
        return f"CourseSecret(id={self.id})"

    @property
    def id(self) -> str:
        """A name for the secret that reveals nothing of it (results record it)."""
        return hashlib.sha256(b"rnnkit course secret id\0" + self.key).hexdigest()[:12]

    def digest(self, *labels) -> bytes:
        message = "\0".join(str(label) for label in labels).encode()
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def seed(self, *labels) -> int:
        """A seed in [1, 2**31 - 1) for `labels` (exercise, purpose, ...), never 0."""
        return 1 + int.from_bytes(self.digest(*labels)[:4], "big") % (2**31 - 2)

    def permutation(self, n: int, *labels, keep=()) -> np.ndarray:
        """A permutation of range(n) drawn for `labels` that moves every index except those
        in `keep` (a derangement of the others, so no answer made on public data stays in
        place)."""
        rng = np.random.default_rng(self.seed("permutation", n, *labels))
        movable = np.array([i for i in range(n) if i not in set(keep)])
        order = movable.copy()
        while len(movable) > 1 and np.any(order == movable):
            order = rng.permutation(movable)
        result = np.arange(n)
        result[movable] = order
        return result


def load(root: Path = KIT_ROOT) -> CourseSecret | None:
    """The course secret, or None when this kit has none (a student kit, or before release)."""
    where = path(root)
    if not where.is_file():
        return None
    try:
        document = json.loads(where.read_text())
        key = bytes.fromhex(document["key"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SecretProblem(f"{where} is not a course secret rnnkit can read "
                            f"({type(error).__name__}); restore it from your backup") from None
    if len(key) < 16:
        raise SecretProblem(f"{where} holds a key of {len(key)} bytes; a course secret has "
                            f"{KEY_BYTES}")
    return CourseSecret(key, str(document.get("created", "")))


def make(root: Path = KIT_ROOT) -> tuple[CourseSecret, bool]:
    """The course secret, made now when none exists: (secret, made). Readable by its owner
    only."""
    existing = load(root)
    if existing is not None:
        return existing, False
    where = path(root)
    where.parent.mkdir(parents=True, exist_ok=True)
    made = CourseSecret(secrets.token_bytes(KEY_BYTES), time.strftime("%Y-%m-%d"))
    descriptor = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"id": made.id, "key": made.key.hex(), "created": made.created,
                   "note": "rnnkit's course secret: the official grade draws every input "
                           "from it. Keep it with the course (back it up); never share it. "
                           "Made anew, it starts a new course."}, handle, indent=1)
    return made, True
