"""FER2013 (Goodfellow et al. 2013): 35,887 grey 48 x 48 faces in seven expression classes.

Paper Sec. 6.2.2.2, Table 8: VGG-FACE-FER [28] is VGG-FACE fine-tuned on FER2013 before AFEW
(docs/networks.md 9). The release is one CSV::

    <root>/fer2013.csv     header 'emotion,pixels,Usage', one face per line

``emotion`` is 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral; ``pixels``
is the 2,304 grey values (0 to 255) of the 48 x 48 face, row by row, separated by spaces;
``Usage`` is ``Training`` (28,709 faces), ``PublicTest`` (3,589) or ``PrivateTest`` (3,589),
read as the splits ``train``, ``val`` and ``test``. Columns are found by their header names
(the ICML copy orders them ``emotion, Usage, pixels``). A face is addressed as
``"<root>/fer2013.csv#<line>"``, the 1-based line of its row in the file
(:func:`affect.datasets.read_frame`); the picture is the face, so ``box`` is the whole of it.
FER2013 has no identities: ``subject`` is ''.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from affect.datasets.common import (
    Collector,
    DatasetFormatError,
    Sample,
    check_root,
    check_samples,
    check_split,
    grey_pixels,
    read_text,
)

__all__ = ["SPLITS", "LABELS", "USAGES", "FILE", "SIDE", "load", "write_layout"]

SPLITS = ("train", "val", "test", "all")
#: The kit's expression of each ``emotion`` code 0..6 (Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral).
LABELS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
#: The split of each ``Usage`` value.
USAGES = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
FILE = "fer2013.csv"
HEADER = ("emotion", "pixels", "Usage")
SIDE = 48  # pixels a side of every face
#: Of a stand-in face with landmarks, the square cut around them: the landmark box's larger side
#: times this, so the face fills the picture as FER2013's registered faces do (a kit choice).
CUT_MARGIN = 1.2
LAYOUT = (
    f"<root>/{FILE} with the header '{','.join(HEADER)}' (emotion 0..6, pixels: {SIDE * SIDE} grey values, "
    f"Usage: {', '.join(USAGES)})"
)


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load FER2013's faces with their expression labels.

    Parameters
    ----------
    root : path
        The folder holding ``fer2013.csv``.
    split : {'train', 'val', 'test', 'all'}
        ``Training``, ``PublicTest``, ``PrivateTest`` or every row.
    strict : bool
        Raise on the first malformed row instead of skipping it.
    decode_check : bool
        Unused: every row's pixels are checked anyway.

    Returns
    -------
    DataFrame of the common schema (``path`` = ``"<root>/fer2013.csv#<line>"``) plus ``part``
    and ``box`` (the whole 48 x 48 picture).
    """
    check_split("fer2013", split, SPLITS)
    root = check_root(root).resolve()
    table = root / FILE
    if not table.is_file():
        raise DatasetFormatError(f"{root}: no {FILE}; expected {LAYOUT}")
    collector = Collector("fer2013", split, strict)
    reader = csv.reader(io.StringIO(read_text(table)))
    header = [name.strip() for name in next(reader, [])]
    if sorted(header) != sorted(HEADER):
        raise DatasetFormatError(f"{table}:1: expected the header {','.join(HEADER)}, found {','.join(header)!r}")
    columns = {name: header.index(name) for name in HEADER}
    box = (0.0, 0.0, float(SIDE), float(SIDE))
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(HEADER):
            collector.problem(table, line, f"expected {len(HEADER)} fields, found {len(fields)}")
            continue
        emotion, pixels, usage = (fields[columns[name]].strip() for name in HEADER)
        if not emotion.isdigit() or not 0 <= int(emotion) < len(LABELS):
            collector.problem(table, line, f"emotion {emotion!r} is not a code 0..6")
            continue
        if usage not in USAGES:
            collector.problem(table, line, f"Usage {usage!r} is not one of {', '.join(USAGES)}")
            continue
        try:
            side = grey_pixels(pixels).shape[0]
        except ValueError as error:
            collector.problem(table, line, str(error))
            continue
        if side != SIDE:
            collector.problem(table, line, f"pixels: expected {SIDE * SIDE} values, got {side * side}")
            continue
        part = USAGES[usage]
        if split in ("all", part):
            collector.add(f"{table}#{line}", expression=LABELS[int(emotion)], part=part, box=box)
    collector.require_rows(table, LAYOUT)
    return collector.frame(extra_columns=("part", "box"))


def write_layout(root: str | os.PathLike, records: Sequence[Sample]) -> Path:
    """Write samples as a FER2013 copy (one ``fer2013.csv``) for :func:`load`.

    Splits ``train``, ``val``, ``test`` become ``Training``, ``PublicTest``, ``PrivateTest``.
    Each picture is turned grey and resized to 48 x 48; one with landmarks is first cut to
    the square around them (:data:`CUT_MARGIN`), as FER2013's faces fill their pictures.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, ("train", "val", "test"), va=False, expressions=LABELS)
    usage = {split: name for name, split in USAGES.items()}
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lines = [",".join(HEADER)]
    for sample in samples:
        grey = _face(sample.pixels(), sample.landmarks)
        values = " ".join(str(int(v)) for v in grey.reshape(-1))
        lines.append(f"{LABELS.index(sample.expression)},{values},{usage[sample.split]}")
    (root / FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _face(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
    """(48, 48) uint8 grey: the square around the landmarks (else the whole picture), resized."""
    if landmarks is not None and np.all(np.isfinite(landmarks)):
        low, high = np.min(landmarks, axis=0), np.max(landmarks, axis=0)
        centre, side = (low + high) / 2, float(np.max(high - low)) * CUT_MARGIN
        scale = SIDE / max(side, 1.0)
        matrix = np.array([[scale, 0, SIDE / 2 - centre[0] * scale], [0, scale, SIDE / 2 - centre[1] * scale]])
        image = cv2.warpAffine(image, matrix, (SIDE, SIDE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    else:
        image = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
