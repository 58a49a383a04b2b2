"""What every database loader shares: the frame schema, the load report, samples for writers.

A loader turns one database's files into a :class:`pandas.DataFrame` with the columns of
:data:`COLUMNS` (one row per image or video frame) and attaches a :class:`LoadReport` in
``frame.attrs['report']``. Bad input (a malformed line, a missing image, a label out of
range) never stops a load: the row is skipped and the report names the file and line.
With ``strict=True`` the first such problem raises :class:`DatasetFormatError` instead.
A load that keeps no row at all (an empty folder, another database's folder, an empty
list) raises :class:`DatasetFormatError` naming the place and the expected layout, and
annotation text is read as UTF-8 with an optional byte-order mark (:func:`read_text`).
Rows that a database documents as unlabelled (AffectNet's ``-2`` valence-arousal, its
codes 8 to 10) are not problems: they are kept out and counted under ``excluded``.
An image listed more than once is kept once (``repeats``), and an image that is also a test
image is dropped from training (``test_overlap``): a test image is never trained on.

Frames of databases distributed as videos are addressed as ``"<video path>#<index>"``
with a 0-based frame index (the order OpenCV decodes them in); pictures stored as rows of a
pixel table (a ``.csv`` with a ``pixels`` column of space-separated grey values, FER2013) as
``"<table path>#<line>"`` with the row's 1-based line in the file; :func:`read_frame` reads
every form.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from affect.image import ImageReadError, check_pixels
from affect.vocabulary import N_LANDMARKS

__all__ = [
    "COLUMNS",
    "DatasetFormatError",
    "Problem",
    "LoadReport",
    "save_report",
    "load_report",
    "Sample",
    "read_frame",
    "read_table_rows",
    "grey_pixels",
    "read_text",
    "video_frame_count",
    "person_independent_folds",
]

log = logging.getLogger("affect.datasets")

# The seven basic expressions of Sec. 6.2.2 plus AffectNet's contempt, in a fixed order.

COLUMNS = ("path", "subject", "sequence", "frame", "valence", "arousal", "expression", "landmarks")

VIDEO_FRAME_SEPARATOR = "#"
PIXEL_TABLE_SUFFIX = ".csv"  # "<table>.csv#<line>" addresses a row of a pixel table, not a video frame
TEST_PARTS = ("test",)  # the ``part`` values of held-out rows, never trained on


class DatasetFormatError(ValueError):
    """A database file breaks its documented format; the message names the file and line."""


def read_text(path: str | os.PathLike) -> str:
    """The text of an annotation file, without a UTF-8 byte-order mark.

    Spreadsheet programs save "CSV UTF-8" with a byte-order mark; it is dropped so the first
    row reads like any other. A file that is not UTF-8 raises :class:`DatasetFormatError`
    ``"<file>: not UTF-8 text"``.
    """
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetFormatError(f"{path}: not UTF-8 text") from None


@dataclass(frozen=True)
class Problem:
    """One skipped row: the file, its 1-based line (0 when not line-addressable), and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class LoadReport:
    """What a load kept, skipped (problems) and left out on purpose (documented exclusions).

    Attributes
    ----------
    database, split : str
        The database name and the split that was loaded.
    rows : int
        Rows in the returned frame.
    problems : tuple of Problem
        Every skipped row, with file, line and reason.
    excluded : dict of str to int
        Rows left out because the database marks them as unlabelled, by reason.
    repeats : dict of str to int
        Images listed more than once: the image path and the extra rows dropped.
    test_overlap : dict of str to int
        Images listed for training and as test images: the image path and the training rows
        dropped.
    """

    database: str
    split: str
    rows: int
    problems: tuple[Problem, ...] = ()
    excluded: dict[str, int] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)
    test_overlap: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Number of rows skipped as problems."""
        return len(self.problems)

    def summary(self) -> str:
        """One line: rows kept, problems (with the first), exclusions, repeats, test overlap."""
        text = f"{self.database}/{self.split}: {self.rows} rows"
        if self.problems:
            text += f"; skipped {self.skipped} bad rows (first: {self.problems[0]})"
        if self.excluded:
            parts = ", ".join(f"{count} {reason}" for reason, count in sorted(self.excluded.items()))
            text += f"; excluded {parts}"
        if self.repeats:
            text += (
                f"; dropped {sum(self.repeats.values())} repeated rows of {len(self.repeats)} images listed "
                f"more than once ({_names(self.repeats)})"
            )
        if self.test_overlap:
            text += (
                f"; dropped from training {sum(self.test_overlap.values())} rows of {len(self.test_overlap)} "
                f"test images ({_names(self.test_overlap)})"
            )
        return text


def _names(paths: dict[str, int], shown: int = 3) -> str:
    """The first few paths of a report field, and how many more there are."""
    names = ", ".join(list(paths)[:shown])
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def save_report(report: LoadReport, path: str | os.PathLike) -> Path:
    """Write a load report as JSON; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(asdict(report), indent=1))
    return path


def load_report(path: str | os.PathLike) -> LoadReport:
    """Read a load report written by :func:`save_report`."""
    data = json.loads(Path(path).read_text())
    problems = tuple(Problem(**p) for p in data.pop("problems"))
    return LoadReport(problems=problems, **data)


class Collector:
    """Gathers rows, problems and exclusions while a loader walks the files (internal)."""

    def __init__(self, database: str, split: str, strict: bool):
        self.database, self.split, self.strict = database, split, strict
        self.rows: list[dict] = []
        self.problems: list[Problem] = []
        self.excluded: dict[str, int] = {}
        self.held_out: set[str] = set()
        self.repeats: dict[str, int] = {}
        self.test_overlap: dict[str, int] = {}

    def problem(self, file: str | os.PathLike, line: int, reason: str) -> None:
        """Record a skipped row; in strict mode raise at once."""
        problem = Problem(str(file), int(line), reason)
        if self.strict:
            raise DatasetFormatError(str(problem))
        self.problems.append(problem)

    def text(self, path: str | os.PathLike) -> str | None:
        """A file's text (see :func:`read_text`), or None after recording it as not UTF-8."""
        try:
            return read_text(path)
        except DatasetFormatError:
            self.problem(path, 0, "not UTF-8 text")
            return None

    def require_rows(self, where: str | os.PathLike, layout: str, since: int = 0) -> None:
        """Raise DatasetFormatError if no row was added after the first ``since`` rows.

        A load that finds nothing usable (an empty folder, another database's folder, a list
        whose every row is bad) is an error, not an empty frame: the message names the place
        searched, the expected layout and the first skipped row.
        """
        if len(self.rows) > since:
            return
        split = f" for split {self.split!r}" if self.split != "all" else ""
        text = f"{where}: no usable {self.database} rows{split}; expected {layout}"
        if self.problems:
            text += f" (skipped {len(self.problems)} bad rows, first: {self.problems[0]})"
        if self.excluded:
            text += f" (excluded {sum(self.excluded.values())} unlabelled rows)"
        raise DatasetFormatError(text)

    def exclude(self, reason: str, count: int = 1) -> None:
        """Count rows left out on purpose (documented unlabelled rows)."""
        if count > 0:
            self.excluded[reason] = self.excluded.get(reason, 0) + count

    def drop_repeats(self) -> None:
        """Keep each image once; drop from training the images that are also test images.

        A row is a test row when its ``part`` is in :data:`TEST_PARTS`; ``held_out`` adds the
        test images of a split that was not loaded (AffectNet's ``train`` reads
        ``validation.csv``'s names). Of the rest, the first row of an image is kept.
        """
        test = self.held_out | {row["path"] for row in self.rows if row.get("part") in TEST_PARTS}
        kept: list[dict] = []
        seen: set[str] = set()
        for row in self.rows:
            path = row["path"]
            if path in test and row.get("part") not in TEST_PARTS:
                self.test_overlap[path] = self.test_overlap.get(path, 0) + 1
            elif path in seen:
                self.repeats[path] = self.repeats.get(path, 0) + 1
            else:
                seen.add(path)
                kept.append(row)
        self.rows = kept

    def add(
        self,
        path: str,
        subject: str = "",
        sequence: str = "",
        frame: int = -1,
        valence: float = math.nan,
        arousal: float = math.nan,
        expression: str | None = None,
        landmarks: np.ndarray | None = None,
        **extra,
    ) -> None:
        """Append one row of the common schema (plus database-specific columns)."""
        self.rows.append(
            dict(
                path=path,
                subject=subject,
                sequence=sequence,
                frame=int(frame),
                valence=float(valence),
                arousal=float(arousal),
                expression=expression,
                landmarks=landmarks,
                **extra,
            )
        )

    def frame(self, extra_columns: Sequence[str] = ()) -> pd.DataFrame:
        """Build the DataFrame (see :meth:`drop_repeats`), attach the report and log a warning
        if anything was skipped or dropped."""
        self.drop_repeats()
        dtypes = dict(frame=np.int64, valence=np.float64, arousal=np.float64, expression=object, landmarks=object)
        # Built column by column so that None stays None in the object columns (pandas 3
        # would otherwise infer a string dtype for `expression` and turn None into NaN).
        frame = pd.DataFrame(
            {
                column: pd.Series([row[column] for row in self.rows], dtype=dtypes.get(column))
                for column in list(COLUMNS) + list(extra_columns)
            }
        )
        report = LoadReport(
            self.database,
            self.split,
            len(frame),
            tuple(self.problems),
            dict(self.excluded),
            dict(self.repeats),
            dict(self.test_overlap),
        )
        frame.attrs["report"] = report
        if self.problems or self.excluded or self.repeats or self.test_overlap:
            log.warning(report.summary())
        return frame


def check_image(
    collector: Collector, path: Path, decode: bool, line: int = 0, file: str | os.PathLike | None = None
) -> bool:
    """Whether an image file exists (and decodes, if asked); records a problem if not.

    The existence test is ``os.path.exists``, so a load of AffectNet's 400,000 rows does not
    decode any image; ``decode=True`` adds a full ``cv2.imread``.
    """
    where = file if file is not None else path
    if not os.path.exists(path):
        collector.problem(where, line, f"image not found: {path}")
        return False
    if decode:
        try:
            check_pixels(path)
        except ImageReadError as error:
            collector.problem(where, line, f"image refused: {error}")
            return False
        if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
            collector.problem(where, line, f"image cannot be decoded: {path}")
            return False
    return True


def in_range(value: float, low: float, high: float) -> bool:
    """Whether a finite value lies in [low, high]."""
    return math.isfinite(value) and low <= value <= high


def read_frame(path: str) -> np.ndarray:
    """Read one image or one video frame (``"<video>#<index>"``) as ``(H, W, 3)`` uint8 RGB.

    Parameters
    ----------
    path : str
        An image file, or a video file and a 0-based frame index joined by ``#``.

    Returns
    -------
    (H, W, 3) uint8 array, RGB.
    """
    video, sep, index = str(path).rpartition(VIDEO_FRAME_SEPARATOR)
    if sep and index.isdigit() and video.lower().endswith(PIXEL_TABLE_SUFFIX):
        found = dict(read_table_rows(video, {int(index)}))
        if int(index) not in found:
            raise ValueError(f"{video}: no picture on line {index}")
        return found[int(index)]
    if sep and index.isdigit():
        capture = cv2.VideoCapture(video)
        try:
            if not capture.isOpened():
                raise ValueError(f"{video}: cannot open video")
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, bgr = capture.read()
        finally:
            capture.release()
        if not ok:
            raise ValueError(f"{video}: no frame {index}")
    else:
        check_pixels(path)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{path}: image not found or not decodable")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def grey_pixels(text: str) -> np.ndarray:
    """A square grey picture from its space-separated values (a pixel table's ``pixels`` field).

    Returns
    -------
    (S, S) uint8 array. ValueError (one line) if the values are not integers in 0 to 255 or
    their count is not a square.
    """
    try:
        values = np.array(text.split(), dtype=np.int64)
    except ValueError:
        raise ValueError("pixels: expected space-separated integers") from None
    side = math.isqrt(len(values))
    if len(values) == 0 or side * side != len(values):
        raise ValueError(f"pixels: expected a square number of values, got {len(values)}")
    if values.min() < 0 or values.max() > 255:
        raise ValueError(f"pixels: expected values in 0 to 255, got {values.min()} to {values.max()}")
    return values.astype(np.uint8).reshape(side, side)


def read_table_rows(path: str | os.PathLike, lines: set[int]):
    """Yield ``(line, (S, S, 3) uint8 RGB)`` for the rows of a pixel table on the given lines.

    The table is a CSV with a header naming a ``pixels`` column (FER2013's ``fer2013.csv``);
    it is read once, in file order, and the grey picture is repeated in the three channels.
    A listed line that holds no readable picture raises ValueError naming the file and line.
    """
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = [name.strip() for name in next(reader, [])]
        if "pixels" not in header:
            raise ValueError(f"{path}: no 'pixels' column in the header")
        column, wanted = header.index("pixels"), set(lines)
        for fields in reader:
            if reader.line_num in wanted:
                try:
                    grey = grey_pixels(fields[column] if column < len(fields) else "")
                except ValueError as error:
                    raise ValueError(f"{path}:{reader.line_num}: {error}") from None
                yield reader.line_num, np.repeat(grey[:, :, None], 3, axis=2)
                wanted.discard(reader.line_num)
                if not wanted:
                    return


def video_frame_count(path: str | os.PathLike) -> int:
    """Frames in a video as its container reports them (0 when it cannot be opened)."""
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


@dataclass(frozen=True)
class Sample:
    """One image (or video frame) and its labels, for the per-database ``write_layout``.

    Attributes
    ----------
    image : (H, W, 3) uint8 RGB array, or a callable returning one
        The picture; a callable is called only when the file is written.
    split : str
        The database's split the sample belongs to (as its loader names them).
    subject, sequence : str
        Person identity and clip/video id; frames of one sequence are written in the
        order they are given.
    valence, arousal : float
        In [-1, 1]; NaN where the database has none.
    expression : str or None
        One of :data:`affect.vocabulary.EXPRESSIONS`.
    landmarks : (68, 2) float array or None
        Pixel coordinates, x then y.
    """

    image: np.ndarray | Callable[[], np.ndarray]
    split: str = "train"
    subject: str = ""
    sequence: str = ""
    valence: float = math.nan
    arousal: float = math.nan
    expression: str | None = None
    landmarks: np.ndarray | None = None

    def pixels(self) -> np.ndarray:
        """The image as ``(H, W, 3)`` uint8 RGB (calls the producer if one was given)."""
        image = np.asarray(self.image() if callable(self.image) else self.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        return image


def check_samples(
    samples: Sequence[Sample], splits: Sequence[str] | None, *, va: bool, expressions: Sequence[str] | None
) -> list[Sample]:
    """Validate writer input: known splits (None: any), VA in range, allowed expressions."""
    samples = list(samples)
    if not samples:
        raise ValueError("records: empty")
    for i, sample in enumerate(samples):
        if splits is not None and sample.split not in splits:
            raise ValueError(f"records[{i}].split: {sample.split!r} not one of {tuple(splits)}")
        if va and not (in_range(sample.valence, -1, 1) and in_range(sample.arousal, -1, 1)):
            raise ValueError(f"records[{i}]: valence and arousal must both be in [-1, 1]")
        if expressions is not None and sample.expression not in expressions:
            raise ValueError(f"records[{i}].expression: {sample.expression!r} not one of {tuple(expressions)}")
        if sample.landmarks is not None and np.shape(sample.landmarks) != (N_LANDMARKS, 2):
            raise ValueError(f"records[{i}].landmarks: expected (68, 2), got {np.shape(sample.landmarks)}")
    return samples


def group_by_sequence(samples: Sequence[Sample]) -> dict[tuple[str, str], list[Sample]]:
    """Samples grouped by (split, sequence), keeping first-seen order of groups and frames."""
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.split, sample.sequence), []).append(sample)
    return groups


def check_split(database: str, split: str, splits: Sequence[str]) -> None:
    """Raise ValueError naming the valid splits when ``split`` is not one of them."""
    if split not in splits:
        raise ValueError(f"split: {database} has no split {split!r}; valid: {', '.join(splits)}")


def check_root(root: str | os.PathLike) -> Path:
    """The root folder as an absolute Path; ValueError if it is not a folder."""
    path = Path(root).expanduser().absolute()
    if not path.is_dir():
        raise ValueError(f"root: {path} is not a folder")
    return path


def person_independent_folds(frame: pd.DataFrame, k: int, seed: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Split rows into k folds so that no subject is on both sides of any fold.

    Subjects are shuffled with ``seed`` and dealt round-robin to the folds, so fold sizes in
    subjects differ by at most one (Sec. 6.2.1.2 and 6.2.2.2 use 5 and 10 person-independent
    folds for AFEW-VA and BU-3DFE).

    Returns
    -------
    list of k (train, test) DataFrame pairs; every row is in exactly one test part.
    """
    if k < 2:
        raise ValueError(f"k: need at least 2 folds, got {k}")
    subjects = np.array(sorted(frame["subject"].unique()))
    if (subjects == "").any():
        raise ValueError("frame: rows without a subject cannot be split person-independently")
    if len(subjects) < k:
        raise ValueError(f"k: {k} folds need at least {k} subjects, the data has {len(subjects)}")
    order = np.random.default_rng(seed).permutation(len(subjects))
    fold_of = {subjects[j]: i % k for i, j in enumerate(order)}
    assigned = frame["subject"].map(fold_of).to_numpy()
    folds = []
    for fold in range(k):
        test = assigned == fold
        folds.append((frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)))
    return folds
