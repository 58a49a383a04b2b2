"""The manifest of an augmented set: one row per finished image (Sec. 6.2, Table 1).

``manifest.csv`` in a build's output folder lists only images that are completely written,
so a killed build can resume from it. :func:`synthesized_frame` turns a manifest into rows of
the database schema, and :func:`augment_folds` keeps person-independent folds so.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.files import atomic_write_text, stored_path

log = logging.getLogger("affect.augmentation")

#: File name of the manifest inside a build's output folder.
MANIFEST = "manifest.csv"
#: The settings a build of one kind was made with, beside its manifest (``source_root``: the
#: database folder its relative ``source`` paths start from, relative to the manifest's folder).
SETTINGS_FILE = "augment.json"
#: Columns of the manifest, in file order.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "output",
    "source",
    "subject",
    "sequence",
    "valence",
    "arousal",
    "expression",
    "va_class",
    "identity_distance",
)
_FLOAT_COLUMNS = ("valence", "arousal", "identity_distance")
_TEXT_COLUMNS = ("output", "source", "subject", "sequence", "expression")
# Manifest rows are flushed to the OS after every finished photo (so a killed process loses
# none) and fsynced this often (so a power cut loses at most this many seconds of work).
_FSYNC_EVERY_ROWS = 256


def typed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes for plan and manifest columns (object text, float VA, int class)."""
    for column in frame.columns:
        if column in _FLOAT_COLUMNS:
            frame[column] = frame[column].astype(np.float64)
        elif column == "va_class":
            frame[column] = frame[column].astype(np.int64)
        elif column == "expression":  # None for VA rows, also where concatenation made it NaN
            frame[column] = pd.Series(
                [value if isinstance(value, str) else None for value in frame[column]], index=frame.index, dtype=object
            )
        elif column in _TEXT_COLUMNS:
            frame[column] = pd.Series(list(frame[column]), index=frame.index, dtype=object)
    return frame


def read_manifest(path: str | os.PathLike, source_root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read a build's ``manifest.csv`` (or the folder holding it).

    A last line without its newline is a row cut off by a kill during the write: it is
    dropped (its image is synthesized again on resume). Any other malformed line raises.

    ``output`` paths are relative to the manifest's folder. ``source`` paths written relative
    to the database folder are joined to ``source_root``: by default the one recorded in the
    build's :data:`SETTINGS_FILE` beside the manifest; give it where the database now lies on
    another machine or after a move.

    Returns
    -------
    DataFrame with :data:`MANIFEST_COLUMNS`; ``expression`` None for VA rows, ``valence``
    and ``arousal`` NaN for expression rows, ``va_class`` -1 for expression rows.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    frame = manifest_frame(read_manifest_rows(path))
    return resolve_sources(frame, source_root if source_root is not None else recorded_source_root(path.parent))


def read_manifest_rows(path: str | os.PathLike) -> list[dict]:
    """The rows of a manifest file as dicts (see :func:`read_manifest`; sources as written).

    For callers that join many small files (a build's shard parts): one :func:`manifest_frame`
    over all their rows costs a fraction of a DataFrame per file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such manifest")
    # Parsed line by line rather than with pandas.read_csv: a row cut off inside its last
    # field (identity distance "0.4" of "0.4321") parses cleanly there; only the missing
    # newline tells that it is unfinished.
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's "CSV UTF-8" has a byte-order mark
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    lines = text.split("\n")
    complete = lines[:-1]  # the last element is '' if the file ends with a newline, else a cut line
    if lines[-1]:
        log.warning("%s: dropped an unfinished last line (interrupted write)", path)
    if not complete or next(csv.reader([complete[0]])) != list(MANIFEST_COLUMNS):
        raise ValueError(f"{path}: not a manifest (expected header {','.join(MANIFEST_COLUMNS)})")
    rows = []
    for number, line in enumerate(complete[1:], start=2):
        fields = next(csv.reader([line]), [])
        try:
            rows.append(_manifest_row(fields))
        except ValueError as error:
            raise ValueError(f"{path}:{number}: bad manifest line ({error})") from None
    return rows


def manifest_frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    """Manifest rows (dicts of :data:`MANIFEST_COLUMNS`) as a DataFrame with the fixed dtypes.

    Built column by column in one construction: the same frame as
    ``typed_columns(pd.DataFrame(rows))`` in a tenth of the time for a shard's few rows.
    """
    columns = {}
    for column in MANIFEST_COLUMNS:
        values = [row[column] for row in rows]
        if column in _FLOAT_COLUMNS:
            columns[column] = np.array(values, dtype=np.float64)
        elif column == "va_class":
            columns[column] = np.array(values, dtype=np.int64)
        else:
            if column == "expression":  # None for VA rows
                values = [value if isinstance(value, str) else None for value in values]
            columns[column] = np.empty(len(values), dtype=object)
            columns[column][:] = values
    return pd.DataFrame(columns)


def recorded_source_root(folder: str | os.PathLike) -> str | None:
    """The database folder a build's relative sources start from (its :data:`SETTINGS_FILE`), or None.

    Stored relative to ``folder`` (:func:`affect.files.relative_path`, as ``run.json`` stores its
    paths), so a copy of the build beside a copy of the database resolves to the copy; an
    absolute folder, as older builds store it, is kept.
    """
    import json

    settings = Path(folder) / SETTINGS_FILE
    if not settings.is_file():
        return None
    try:
        stored = json.loads(settings.read_text(encoding="utf-8")).get("source_root")
    except (UnicodeDecodeError, ValueError):
        return None
    return None if stored is None else str(stored_path(stored, Path(folder).resolve()))


def relative_source(source: str, root: str | None) -> str:
    """``source`` relative to the database folder ``root`` if it lies in it (as text), else unchanged."""
    if root is None:
        return source
    prefix = str(root).rstrip("/" + os.sep) + os.sep
    return source[len(prefix) :] if source.startswith(prefix) else source


def resolve_sources(frame: pd.DataFrame, root: str | os.PathLike | None) -> pd.DataFrame:
    """Join the relative ``source`` paths of manifest rows to the database folder ``root``."""
    if root is None or frame.empty:
        return frame
    # Joined once: a source that already starts with the folder (a manifest written from resolved
    # rows, e.g. one fold's) is kept as it is.
    prefix = str(root).rstrip("/" + os.sep) + os.sep
    frame = frame.copy()
    frame["source"] = pd.Series(
        [s if os.path.isabs(s) or s.startswith(prefix) else str(Path(root) / s) for s in frame["source"]],
        index=frame.index,
        dtype=object,
    )
    return frame


def _manifest_row(fields: list[str]) -> dict:
    if len(fields) != len(MANIFEST_COLUMNS):
        raise ValueError(f"{len(fields)} fields, expected {len(MANIFEST_COLUMNS)}")
    row = dict(zip(MANIFEST_COLUMNS, fields))
    for column in _FLOAT_COLUMNS:
        row[column] = float(row[column]) if row[column] else math.nan
    row["va_class"] = int(row["va_class"])
    row["expression"] = row["expression"] or None
    if not row["output"]:
        raise ValueError("empty output path")
    return row


def _manifest_line(row: Mapping) -> str:
    """One CSV line (with newline) of a manifest row; NaN and None as empty fields."""
    values = []
    for column in MANIFEST_COLUMNS:
        value = row[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values.append("")
        elif column in _FLOAT_COLUMNS:
            values.append(repr(float(value)))
        else:
            values.append(str(value))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def write_manifest(manifest: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a manifest atomically (temporary file, then replace); returns the path.

    In a build's folder, sources inside its database folder (:func:`recorded_source_root`) are
    written relative to it, as the build writes them: a manifest of resolved rows (one fold's,
    one granularity's) names no absolute path there either.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise ValueError(f"manifest: missing columns {sorted(missing)}")
    root = recorded_source_root(path.parent)
    if root is not None and not manifest.empty:
        manifest = manifest.assign(source=[relative_source(str(s), root) for s in manifest["source"]])
    header = ",".join(MANIFEST_COLUMNS) + "\n"
    body = "".join(_manifest_line(row) for row in manifest[list(MANIFEST_COLUMNS)].to_dict("records"))
    atomic_write_text(path, header + body)
    return path


class ManifestAppender:
    """Appends finished rows: flushed per batch, fsynced every :data:`_FSYNC_EVERY_ROWS`."""

    def __init__(self, path: Path):
        self.stream = open(path, "a", encoding="utf-8", newline="")
        self.unsynced = 0

    def append(self, rows: Sequence[Mapping]) -> None:
        if not rows:
            return
        self.stream.write("".join(_manifest_line(row) for row in rows))
        self.stream.flush()
        self.unsynced += len(rows)
        if self.unsynced >= _FSYNC_EVERY_ROWS:
            os.fsync(self.stream.fileno())
            self.unsynced = 0

    def close(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()


def synthesized_frame(manifest: pd.DataFrame, out_dir: str | os.PathLike) -> pd.DataFrame:
    """The synthesized images as rows of the database frame schema, ready to concatenate.

    Labels are the targets: (valence, arousal) for VA rows, the expression for the others.
    ``frame`` is -1 and ``landmarks`` None (the landmarks moved with the new expression);
    the extra column ``source`` keeps the neutral photo each image came from.
    """
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise ValueError(f"manifest: missing columns {sorted(missing)}")
    out = Path(out_dir)
    return pd.DataFrame(
        {
            "path": [str(out / name) for name in manifest["output"]],
            "subject": manifest["subject"].to_numpy(dtype=object),
            "sequence": manifest["sequence"].to_numpy(dtype=object),
            "frame": np.full(len(manifest), -1, dtype=np.int64),
            "valence": manifest["valence"].to_numpy(dtype=np.float64),
            "arousal": manifest["arousal"].to_numpy(dtype=np.float64),
            "expression": pd.Series(list(manifest["expression"]), dtype=object),
            "landmarks": pd.Series([None] * len(manifest), dtype=object),
            "source": manifest["source"].to_numpy(dtype=object),
        }
    )


def augment_folds(folds: Iterable[tuple[pd.DataFrame, pd.DataFrame]], manifest: pd.DataFrame) -> list[pd.DataFrame]:
    """The synthesized rows each fold may train on (Sec. 6.2.1.2, 6.2.2.2).

    The paper augments "the training set with the synthesized images of people appearing
    only in that set (preserving the person independence)". A row is kept for a fold when
    its source photo is in the fold's training part and its subject is not in the test
    part (the second test also guards folds whose subjects were not kept apart).

    Parameters
    ----------
    folds : sequence of (train, test) DataFrames
        E.g. ``affect.datasets.folds(...)``; both need ``path`` and ``subject``.
    manifest : DataFrame
        From :func:`build` or :func:`read_manifest`.

    Returns
    -------
    list of manifest subsets, one per fold, in fold order.
    """
    if "source" not in manifest.columns or "subject" not in manifest.columns:
        raise ValueError("manifest: needs the columns 'source' and 'subject'")
    kept = []
    for i, (train, test) in enumerate(folds):
        for side, part in (("train", train), ("test", test)):
            if not {"path", "subject"} <= set(part.columns):
                raise ValueError(f"folds[{i}] {side}: needs the columns 'path' and 'subject'")
        from_train = manifest["source"].isin(set(train["path"].astype(str)))
        of_test_subject = manifest["subject"].isin(set(test["subject"].astype(str)) - {""})
        kept.append(manifest[from_train & ~of_test_subject].reset_index(drop=True))
    return kept
