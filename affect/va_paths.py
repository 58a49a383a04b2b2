"""VA paths as CSV files: the input of temporal synthesis (Sec. 4.5.2, Fig. 10), read and written."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from affect.files import atomic_write_text


def read_va_path(path: str | os.PathLike) -> np.ndarray:
    """Read a VA path from a CSV file: one ``valence,arousal`` row per frame.

    A header row is optional; with one, the columns named ``valence`` and ``arousal`` are
    read and others (e.g. ``frame``) ignored. Blank lines and lines starting with ``#`` are
    skipped.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    (T, 2) float64, values in [-1, 1].

    Raises
    ------
    ValueError
        Naming the file and line of the first bad row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such VA path file")
    with open(path, newline="", encoding="utf-8-sig") as handle:  # Excel writes a byte-order mark
        rows = [
            (n, [c.strip() for c in row])
            for n, row in enumerate(csv.reader(handle), start=1)
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
        ]
    if not rows:
        raise ValueError(f"{path}: no VA points")
    columns = (0, 1)
    expected = 2
    first = rows[0][1]
    if not any(_is_number(c) for c in first):
        names = [c.lower() for c in first]
        if "valence" not in names or "arousal" not in names:
            raise ValueError(f"{path}, line {rows[0][0]}: a header needs columns 'valence' and 'arousal'")
        columns, expected = (names.index("valence"), names.index("arousal")), len(names)
        rows = rows[1:]
        if not rows:
            raise ValueError(f"{path}: no VA points after the header")
    points = np.empty((len(rows), 2))
    for i, (number, row) in enumerate(rows):
        if len(row) != expected:
            raise ValueError(f"{path}, line {number}: expected {expected} values, got {len(row)}")
        for j, (label, column) in enumerate(zip(("valence", "arousal"), columns)):
            if not _is_number(row[column]):
                raise ValueError(f"{path}, line {number}: {label} {row[column]!r} is not a number")
            value = float(row[column])
            if not abs(value) <= 1.0:
                raise ValueError(f"{path}, line {number}: {label} {value:g} is outside [-1, 1]")
            points[i, j] = value
    return points


def write_va_path(path: str | os.PathLike, points) -> Path:
    """Write a VA path as the CSV :func:`read_va_path` reads: a ``valence,arousal`` header, one row per frame.

    Parameters
    ----------
    path : str or Path
    points : (T, 2) array-like of (valence, arousal), values in [-1, 1], T >= 1

    Returns
    -------
    Path of the file, written atomically.
    """
    values = np.asarray(points, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != 2 or len(values) == 0:
        raise ValueError(f"points: expected (T, 2) valence-arousal pairs, got shape {values.shape}")
    if not np.all(np.abs(values) <= 1.0):  # also refuses NaN
        raise ValueError("points: expected values in [-1, 1]")
    rows = "".join(f"{v:.6f},{a:.6f}\n" for v, a in values)
    return atomic_write_text(path, "valence,arousal\n" + rows)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
