"""Plain-data messages between the grader and the student's worker process.

The grader must never unpickle what a student's process sends (unpickling runs code), so
messages are JSON plus raw NumPy buffers: a message is

    8-byte big-endian length | 4-byte header length | JSON header | array bytes

Allowed values: None, bool, int, float (NaN and inf included), str, lists/tuples, dicts
with str keys, and NumPy arrays or scalars of numeric or bool dtype. Anything else is a
`WireError`, which the grader reports as "returned data that is not plain numbers".
"""
from __future__ import annotations

import json
import struct

import numpy as np

MAX_MESSAGE_BYTES = 1 << 28  # 256 MiB: a check needs kilobytes; more is an attack or a bug
# What a reply's structured part (its JSON header; arrays travel as raw bytes beside it) may
# cost the grader, checked before it is decoded: json.loads and the walk that follows build
# ~50 bytes of Python objects per byte of `[[],[],...]` (a 48 MiB header took 3 GB and ~19 s
# of CPU). The nine exercises graded officially against solutions/ (234 replies) send at most
# 6,854 bytes and 952 brackets and commas (ex09's searches; the others under 1,000 and 130):
# the limits are ~150x and ~70x that, and cost the grader at most ~50 MB and ~8 MB to decode.
MAX_REPLY_HEADER_BYTES = 1 << 20     # 1 MiB
MAX_REPLY_HEADER_ITEMS = 1 << 16     # 65,536 (`header_items`)
_ARRAY_KEY = "__ndarray__"
_KINDS = "biuf"  # bool, signed int, unsigned int, float


class WireError(ValueError):
    """A message holds something that is not plain data, or is malformed."""


def _describe(value) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def encode(obj) -> bytes:
    """Serialise `obj` (plain data only) to bytes."""
    blobs: list[bytes] = []
    offset = 0

    def walk(value):
        nonlocal offset
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, np.generic):
            return value
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _KINDS:
                raise WireError(f"an array of dtype {value.dtype} is not plain numbers")
            data = np.ascontiguousarray(value).tobytes()
            entry = {_ARRAY_KEY: [value.dtype.str, list(value.shape), offset, len(data)]}
            blobs.append(data)
            offset += len(data)
            return entry
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str) or key == _ARRAY_KEY:
                    raise WireError(f"dict key {key!r} is not allowed")
                out[key] = walk(item)
            return out
        raise WireError(f"a value of type {_describe(value)} is not plain data")

    header = json.dumps(walk(obj), allow_nan=True).encode()
    body = struct.pack(">I", len(header)) + header + b"".join(blobs)
    return body


def _printable(text: str) -> str:
    """`text` with lone surrogates (which cannot be printed or written as UTF-8) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def header_items(header) -> int:
    """An upper bound, counted without decoding, on the containers and elements a JSON header
    holds: its brackets, braces and commas (those inside strings too; the count only has to
    be cheap and never below the truth)."""
    return header.count(b"[") + header.count(b"{") + header.count(b",")


class OverBudget(WireError):
    """A well-framed message whose structured part is larger than the reader accepts."""


def check_header_length(header_len: int, max_header: int | None) -> None:
    """`OverBudget` when a header of `header_len` bytes is over `max_header` (None: no limit);
    a reader may call it on a message's first 4 bytes, before it reads the rest."""
    if max_header is not None and header_len > max_header:
        raise OverBudget(f"a structured part of {header_len:,} bytes, over the {max_header:,} "
                         "the grader reads (return arrays for bulk numbers)")


def decode(payload: bytes, *, max_header: int | None = None, max_items: int | None = None):
    """Rebuild the object `encode` wrote; arrays are fresh, writable copies.

    What the sender claims is checked, not trusted: array entries must follow one another
    without overlap, so the arrays rebuilt never hold more bytes than the message carried.
    `max_header` (bytes) and `max_items` (`header_items`) bound what decoding the header may
    cost, checked before it is decoded: past either, `OverBudget`."""
    if len(payload) < 4:
        raise WireError("message too short")
    (header_len,) = struct.unpack(">I", payload[:4])
    header_end = 4 + header_len
    if header_end > len(payload):
        raise WireError("header longer than the message")
    check_header_length(header_len, max_header)
    if max_items is not None:
        items = header_items(bytes(payload[4:header_end]))
        if items > max_items:
            raise OverBudget(f"more than {max_items:,} lists, dicts and elements outside arrays "
                             f"({items:,}; return arrays for bulk numbers)")
    try:
        tree = json.loads(payload[4:header_end].decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise WireError(f"malformed header: {type(error).__name__}") from None
    blob = memoryview(payload)[header_end:]
    expected_start = 0

    def walk(value):
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            if _ARRAY_KEY in value:
                return _array(value[_ARRAY_KEY])
            return {_printable(key): walk(item) for key, item in value.items()}
        if isinstance(value, str):
            return _printable(value)
        return value

    def _array(spec):
        nonlocal expected_start
        try:
            dtype_str, shape, start, size = spec
            dtype = np.dtype(dtype_str)
            shape = tuple(int(n) for n in shape)
            start, size = int(start), int(size)
        except (TypeError, ValueError) as error:
            raise WireError(f"malformed array entry: {error}") from None
        if dtype.kind not in _KINDS or any(n < 0 for n in shape):
            raise WireError("malformed array entry")
        if start != expected_start or size < 0 or start + size > len(blob):
            raise WireError("array entries overlap or point outside the message")
        if size != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise WireError("an array entry does not match its shape")
        expected_start = start + size
        return np.frombuffer(blob[start:start + size], dtype=dtype).reshape(shape).copy()

    try:
        return walk(tree)
    except RecursionError:
        raise WireError("the message is nested too deeply") from None


def send(fd: int, obj) -> None:
    """Write one framed message to a file descriptor."""
    send_payload(fd, encode(obj))


def send_payload(fd: int, payload: bytes) -> None:
    """Write an already-encoded message (see `encode`) as one frame."""
    import os

    data = struct.pack(">Q", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes:
    """Read `size` bytes or raise EOFError when the writer is gone."""
    import os

    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(fd: int):
    """Read one framed message (blocking)."""
    (size,) = struct.unpack(">Q", read_exactly(fd, 8))
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes is larger than the limit")
    return decode(read_exactly(fd, size))
