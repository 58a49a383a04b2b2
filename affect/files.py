"""Atomic file writes: a file is written beside its destination and moved onto it in one step.

Long jobs (galleries, stand-in databases, augmentation, reports) are killed and resumed; with
these helpers a reader never sees half a file, and an interrupted write leaves the old file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_path(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary_path)`` (same folder and suffix as ``path``), then move it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(stream)`` on a binary stream to a temporary sibling, then move it onto ``path``."""
    def to_file(temporary: str) -> None:
        with open(temporary, "wb") as stream:
            write(stream)

    return atomic_path(path, to_file)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))
