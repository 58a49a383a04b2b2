"""Atomic file writes, and paths stored relative to the folder of the file that names them.

Long jobs (galleries, stand-in databases, augmentation, reports) are killed and resumed; with
these helpers a reader never sees half a file, and an interrupted write leaves the old file.
A path written into a record (:func:`relative_path`) is relative to a folder the record moves
with, so a report folder can be moved or shared; :func:`stored_path` reads it back, and reads
the absolute paths of older records as they are.
:func:`check_writable` checks an output before the work, :func:`folder_lock` keeps a second
process out of a folder being written. A full disk during a write raises one error naming
the folder (:func:`disk_full`), and the temporary is removed.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set and restore
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike, *, folder: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written; returns it as a Path.

    A file path must not be a folder, and the nearest existing folder above it must be a
    writable folder (missing folders are made by the writers). With ``folder=True`` the path
    is an output folder: it must not be a file, and it (or the nearest existing folder
    above it) must be writable.

    Raises
    ------
    ValueError
        One line, ``"PATH: cannot write (why)"``.
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{path}: cannot write (it is a file, not a folder)")
    if not folder and path.is_dir():
        raise ValueError(f"{path}: cannot write (it is a folder)")
    existing = path if folder else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{path}: cannot write ({existing} is a file, not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: cannot write ({existing} is not writable)")
    return path


@contextmanager
def folder_lock(folder: str | os.PathLike, lock_file: str, writer: str, *, shared: bool = False) -> Iterator[Path]:
    """Hold an ``flock`` on ``folder/lock_file`` while writing the folder; ValueError if it is held.

    The second process is refused at once: ``"FOLDER is being written by another WRITER (pid N)"``.
    ``shared`` holders may hold it together, but not with an exclusive holder. The system
    releases the lock when the holder exits, however it exits (a killed job leaves no stale
    lock); the file stays, holding the last holder's pid.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / lock_file, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ValueError(f"{folder} is being written by another {writer} (pid {holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()


_DISK_FULL = "disk full (no space left on the device); free space and run again"


def disk_full(error: BaseException, folder: str | os.PathLike) -> OSError | None:
    """Where ``error`` says the disk is full (errno 28), an OSError that names ``folder`` and
    says so (the system's own names no file: ``[Errno 28] No space left on device``); an error
    that already does is returned as it is. None for any other error."""
    if not isinstance(error, OSError) or error.errno != errno.ENOSPC:
        return None
    if error.strerror == _DISK_FULL:
        return error
    return OSError(errno.ENOSPC, _DISK_FULL, str(folder))


def atomic_path(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary_path)`` (same folder and suffix as ``path``), then move it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; finished files honour the umask
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        full = disk_full(error, path.parent)
        if full is not None:
            raise full from None
        raise
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(stream)`` on a binary stream to a temporary sibling, then move it onto ``path``."""

    def to_file(temporary: str) -> None:
        with open(temporary, "wb") as stream:
            write(stream)

    return atomic_path(path, to_file)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write ``data`` to ``path`` atomically, in one write to a temporary sibling and one rename.

    For the many small images of an augmentation build: the temporary is opened once, with the
    umask's permissions (no chmod), and its folder is created only when missing, which halves the
    file-system calls of :func:`atomic_write`. Temporaries are named as ``mkstemp`` names them
    (``.<stem>.<8 characters><suffix>``), so a killed build's leftovers are found the same way.
    """
    path = Path(path)
    while True:
        temporary = path.with_name(f".{path.stem}.{base64.b32encode(os.urandom(5)).decode().lower()}{path.suffix}")
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
        break
    try:
        with open(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        full = disk_full(error, path.parent)
        if full is not None:
            raise full from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def write_npz(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    """Save named arrays to a compressed ``.npz`` atomically."""
    import numpy as np

    return atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))


def read_npz(path: str | os.PathLike, fields: Iterable[str], what: str) -> dict[str, Any]:
    """Read the named arrays of an ``.npz`` file; ValueError names the file and what is wrong.

    ``what`` says what the file should be ("a VA classes file") for the error: a missing file,
    one that is not an ``.npz`` (empty, truncated, another format) and one without ``fields``
    each give one line naming ``path``.
    """
    import zipfile
    import zlib

    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file ({what} expected)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array, not named arrays
            raise ValueError("a single .npy array")
        with data:
            arrays = {name: np.array(data[name]) for name in data.files}
    except ValueError as error:  # numpy's answer to text and pickles: "contains pickled data"
        raise ValueError(f"{path}: not {what} (not an .npz file: {str(error).split('. ')[0]})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, AttributeError) as error:
        raise ValueError(f"{path}: not {what} ({type(error).__name__}: {error})") from None
    missing = set(fields) - set(arrays)
    if missing:
        raise ValueError(f"{path}: not {what} (missing {sorted(missing)})")
    return arrays


def relative_path(path: str | os.PathLike, base: str | os.PathLike) -> str:
    """``path`` relative to the folder ``base`` (with ``..`` where it lies outside), in POSIX form."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()


def stored_path(text: str | os.PathLike, base: str | os.PathLike) -> Path:
    """A path written by :func:`relative_path` against ``base``; an absolute one is returned unchanged."""
    path = Path(text)
    return path if path.is_absolute() else Path(os.path.normpath(Path(base) / path))
