"""AffectNet (manually annotated part): valence-arousal and eight expression classes.

Paper Sec. 5 and 6.2: no test set was released, so the released validation set is the test
set and the training set is split at random 85/15 into train and val. AffectNet has no
identity labels, so that split cannot be person-independent; ``subject`` is ''.

On disk (``training.csv`` / ``validation.csv`` beside or inside the image folder)::

    <root>/Manually_Annotated/training.csv, validation.csv
    <root>/Manually_Annotated/Manually_Annotated_Images/<n>/<name>.jpg

Columns: ``subDirectory_filePath, face_x, face_y, face_width, face_height,
facial_landmarks, expression, valence, arousal``; ``facial_landmarks`` is one field of 136
numbers joined by ``;`` (x1;y1;...;x68;y68, pixels of the full image).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.datasets.common import (
    Collector,
    DatasetFormatError,
    Sample,
    check_image,
    check_root,
    check_samples,
    check_split,
    in_range,
)
from affect.image import write_image
from affect.vocabulary import N_LANDMARKS

__all__ = ["SPLITS", "load", "write_layout"]

SPLITS = ("train", "val", "test", "all")
VAL_FRACTION = 0.15  # Sec. 5: "randomly divide the training set ... (with a 85/15 split)"

HEADER = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
# The database's own code order (AffectNet paper; codes 8-10 are not expressions).
CODES = ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt")
UNUSED_CODES = {8: "None", 9: "Uncertain", 10: "No-Face"}
UNANNOTATED_VA = -2.0  # documented value of valence/arousal for Uncertain and No-Face rows

# Places the annotation lists are found in released copies (first match wins): inside
# Manually_Annotated/, in a sibling Manually_Annotated_file_lists/, or at the root.
_LIST_DIRS = ("Manually_Annotated", "Manually_Annotated_file_lists", ".")
_IMAGE_DIRS = ("Manually_Annotated/Manually_Annotated_Images", "Manually_Annotated_Images")
LAYOUT = f"comma-separated rows {','.join(HEADER)} (header optional) naming images under {_IMAGE_DIRS[0]}"


def _find(root: Path) -> tuple[Path, Path]:
    """The folder holding training.csv and the image folder (handles a doubled unzip folder)."""
    lists = next((root / d for d in _LIST_DIRS if (root / d / "training.csv").is_file()), None)
    if lists is None:
        raise DatasetFormatError(
            f"{root}: no training.csv (looked in {', '.join(_LIST_DIRS)}); "
            f"expected {_LIST_DIRS[0]}/training.csv and validation.csv"
        )
    images = next((root / d for d in _IMAGE_DIRS if (root / d).is_dir()), root / _IMAGE_DIRS[0])
    if (images / images.name).is_dir():  # some unzipped copies nest the folder in itself
        images = images / images.name
    return lists.resolve(), images.resolve()


def _read_csv(collector: Collector, path: Path, images: Path, part: str, decode: bool) -> None:
    """Parse one annotation list into the collector, tagging rows with their part.

    Raises DatasetFormatError when the file is not UTF-8, is separated by ';' (a
    spreadsheet's export in some locales) or yields no usable row.
    """
    if not path.is_file():
        raise DatasetFormatError(f"{path}: missing; expected {LAYOUT}")
    rows_before = len(collector.rows)
    # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            for fields in reader:
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(collector.rows) == rows_before and not collector.problems:
                    _check_delimiter(path, line, fields)
                # validation.csv ships without a header in some releases: detect, don't assume.
                if line == 1 and fields[0].strip() == HEADER[0]:
                    continue
                _parse_row(collector, path, line, fields, images, part, decode)
        except UnicodeDecodeError:
            raise DatasetFormatError(f"{path}: not UTF-8 text") from None
        except csv.Error as error:  # e.g. a field over the csv module's limit of 128 KiB
            raise DatasetFormatError(f"{path}:{reader.line_num}: not a CSV row ({error}); expected {LAYOUT}") from None
    collector.require_rows(path, LAYOUT, since=rows_before)


def _check_delimiter(path: Path, line: int, fields: list[str]) -> None:
    """Raise if the first row has its columns only when split at ';' (comma rows cannot:
    their landmark field alone holds 135 semicolons)."""
    if len(fields) == len(HEADER):
        return
    if len(next(csv.reader([",".join(fields)], delimiter=";"))) == len(HEADER):
        raise DatasetFormatError(f"{path}:{line}: fields are separated by ';'; expected {LAYOUT}")


def _parse_row(
    collector: Collector, path: Path, line: int, fields: list[str], images: Path, part: str, decode: bool
) -> None:
    if len(fields) != len(HEADER):
        collector.problem(path, line, f"expected {len(HEADER)} fields, found {len(fields)}")
        return
    try:
        code = int(fields[6])
        valence, arousal = float(fields[7]), float(fields[8])
    except ValueError:
        collector.problem(path, line, "expression, valence or arousal is not a number")
        return
    if code in UNUSED_CODES:
        collector.exclude(f"expression code {code} ({UNUSED_CODES[code]})")
        return
    if not 0 <= code < len(CODES):
        collector.problem(path, line, f"expression code {code} out of range 0..10")
        return
    if valence == UNANNOTATED_VA or arousal == UNANNOTATED_VA:
        collector.exclude("valence/arousal -2 (not annotated)")
        return
    if not (in_range(valence, -1, 1) and in_range(arousal, -1, 1)):
        collector.problem(path, line, f"valence/arousal ({valence}, {arousal}) outside [-1, 1]")
        return
    landmarks = None
    if fields[5].strip():  # an empty field is accepted as "no landmarks"
        try:
            landmarks = np.asarray(fields[5].split(";"), dtype=np.float64).reshape(N_LANDMARKS, 2)
        except ValueError:
            collector.problem(path, line, "facial_landmarks is not 136 ';'-joined numbers")
            return
    image = Path(os.path.normpath(images / fields[0].strip()))
    if not image.is_relative_to(images):  # '../', an absolute path: nothing outside the database is read
        collector.problem(path, line, f"image path leaves the image folder {images}: {fields[0].strip()}")
        return
    if check_image(collector, image, decode, line, path):
        collector.add(
            str(image), valence=valence, arousal=arousal, expression=CODES[code], landmarks=landmarks, part=part
        )


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False, seed: int = 0
) -> pd.DataFrame:
    """Load AffectNet's manually annotated images with valence, arousal and expression.

    Sec. 5: ``test`` is the released validation set; ``train`` and ``val`` are a seeded
    85/15 random split of the released training set (not person-independent: AffectNet
    has no identity labels). Rows with codes 8-10 or valence/arousal -2 are excluded and
    counted in the report. An image listed twice is kept once, and an image listed in both
    ``training.csv`` and ``validation.csv`` is dropped from training (also when only ``train``
    or ``val`` is loaded); the report names them.

    Parameters
    ----------
    root : path
        Folder holding ``Manually_Annotated/`` (or the lists and ``Manually_Annotated_Images``).
    split : {'train', 'val', 'test', 'all'}
    strict : bool
        Raise on the first malformed row instead of skipping it.
    decode_check : bool
        Also decode every image (slow); by default only existence is checked.
    seed : int
        Seed of the train/val split.

    Returns
    -------
    DataFrame of the common schema plus ``part`` ('train', 'val' or 'test').
    """
    check_split("affectnet", split, SPLITS)
    lists, images = _find(check_root(root))
    collector = Collector("affectnet", split, strict)
    if split != "test":
        _read_csv(collector, lists / "training.csv", images, "train", decode_check)
    if split in ("test", "all"):
        _read_csv(collector, lists / "validation.csv", images, "test", decode_check)
    else:
        collector.held_out = _listed_images(lists / "validation.csv", images)
    # Before the 85/15 draw, so that no image is in both train and val, nor in training and test.
    collector.drop_repeats()
    if split != "test":
        n_train = sum(row["part"] == "train" for row in collector.rows)  # the training rows come first
        order = np.random.default_rng(seed).permutation(n_train)
        for index in order[: int(round(VAL_FRACTION * n_train))]:
            collector.rows[index]["part"] = "val"
        if split != "all":
            collector.rows = [row for row in collector.rows if row["part"] == split]
    return collector.frame(extra_columns=("part",))


def _listed_images(path: Path, images: Path) -> set[str]:
    """The image paths an annotation list names, as :func:`_parse_row` builds them.

    Used for ``validation.csv`` when only ``train`` or ``val`` is loaded, so that its images
    are still kept out of training; a missing or unreadable list names none (loading
    ``test`` reports it).
    """
    if not path.is_file():
        return set()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            names = [fields[0].strip() for fields in csv.reader(handle) if fields and fields[0].strip()]
    except (UnicodeDecodeError, csv.Error):
        return set()
    return {os.path.normpath(images / name) for name in names if name != HEADER[0]}


def write_layout(
    root: str | os.PathLike, records: Sequence[Sample], *, validation_header: bool = True, seed: int = 0
) -> Path:
    """Write samples as an AffectNet copy that :func:`load` reads unchanged.

    Samples with ``split='train'`` go to ``training.csv`` (always with a header), those
    with ``split='test'`` to ``validation.csv`` (with or without a header: both forms are
    released). Images are JPEGs named ``<n>/<40 hex digits>.jpg``; the face box is the
    whole image; valence and arousal are written with full float precision.

    Parameters
    ----------
    root : path
        Folder to create the copy in.
    records : sequence of Sample
        Each needs valence, arousal and an expression.
    validation_header : bool
        Whether validation.csv starts with the header row.
    seed : int
        Seed of the file names.

    Returns
    -------
    Path of the ``Manually_Annotated`` folder.
    """
    samples = check_samples(records, ("train", "test"), va=True, expressions=CODES)
    base = Path(root) / "Manually_Annotated"
    images = base / "Manually_Annotated_Images"
    rows: dict[str, list[list[str]]] = {"train": [], "test": []}
    for i, sample in enumerate(samples):
        name = hashlib.sha1(f"{seed}:{i}".encode()).hexdigest()
        relative = f"{1 + i // 500}/{name}.jpg"
        pixels = sample.pixels()
        write_image(images / relative, pixels)
        marks = (
            ""
            if sample.landmarks is None
            else ";".join(f"{v:.3f}" for v in np.asarray(sample.landmarks, dtype=float).ravel())
        )
        rows[sample.split].append(
            [
                relative,
                "0",
                "0",
                str(pixels.shape[1]),
                str(pixels.shape[0]),
                marks,
                str(CODES.index(sample.expression)),
                repr(float(sample.valence)),
                repr(float(sample.arousal)),
            ]
        )
    base.mkdir(parents=True, exist_ok=True)
    for part, file, header in (("train", "training.csv", True), ("test", "validation.csv", validation_header)):
        with open(base / file, "w", newline="") as handle:
            writer = csv.writer(handle)
            if header:
                writer.writerow(HEADER)
            writer.writerows(rows[part])
    return base
