"""Reading a user's own UTF-8 text file for a character-level language model (ex07).

`read_text(path)` returns the file's text or raises `rnnkit.datasets.DataError` with one
line naming the file (missing, a folder, empty, only whitespace, not UTF-8 with the byte
offset and line of the first bad byte). `text_lines(text, max_chars)` turns it into
training strings: one per non-blank line, lines longer than `max_chars` cut into pieces.
Pure stdlib: no tfds, usable in any process.
"""
from __future__ import annotations

from pathlib import Path


def _error(message: str):
    from rnnkit.datasets import DataError

    return DataError(message)


def read_text(path) -> str:
    """The whole text of the UTF-8 file `path` (a leading byte-order mark is dropped;
    line endings become "\\n"). DataError when it cannot serve as a training corpus."""
    path = Path(path)
    if not path.exists():
        raise _error(f"{path}: no such file")
    if not path.is_file():
        raise _error(f"{path}: not a file (a text file is needed)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise _error(f"{path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset "
                     f"{error.start}, line {line}); save it as UTF-8") from None
    if not text.strip():
        raise _error(f"{path}: the file is empty" if not text
                     else f"{path}: the file holds only whitespace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_lines(text: str, max_chars: int) -> list[str]:
    """One string per non-blank line of `text` (trailing whitespace stripped), lines longer
    than `max_chars` cut into consecutive pieces of at most `max_chars` characters."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, received max_chars={max_chars!r}")
    pieces = []
    for line in text.split("\n"):
        line = line.rstrip()
        pieces.extend(line[i:i + max_chars] for i in range(0, len(line), max_chars))
    return pieces


def read_text_lines(path, max_chars: int) -> list[str]:
    """`text_lines(read_text(path), max_chars)`; DataError names the file as read_text does."""
    return text_lines(read_text(path), max_chars)
