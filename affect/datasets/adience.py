"""Adience (Eidinger et al. 2014): Flickr face crops labelled with an age range, in five folds.

Paper Sec. 6.5: the age estimator trains on IMDB plus Adience, whose young faces IMDB lacks.
On disk (docs/networks.md 5)::

    <root>/fold_0_data.txt ... fold_4_data.txt     tab-separated, with a header
    <root>/faces/<user_id>/coarse_tilt_aligned_face.<face_id>.<original_image>
      (or <root>/aligned/<user_id>/landmark_aligned_face.<face_id>.<original_image>)

Columns: ``user_id, original_image, face_id, age, gender, x, y, dx, dy, tilt_ang,
fiducial_yaw_angle, fiducial_score``. The age is a string: one of the eight ranges ``(0, 2)``
... ``(60, 100)``, an off-range pair such as ``(38, 48)``, a single age such as ``35``, or
``None`` (no age: left out and counted in the report's ``excluded``). Fields are split on tabs
only, since the ranges hold a comma and a space. Gender is ``m``, ``f``, ``u`` or empty.

The age is kept as the range it states (``age_low``, ``age_high``; a single age is a range of
one year) with ``age`` its midpoint. How IMDB's years and Adience's ranges are mixed is not
in the paper; the kit trains on the range itself (a uniform distribution over its years,
:func:`affect.learning.training.age_loss`), a kit decision. ``subject`` is the user_id (the
Flickr album), the unit of Adience's subject-exclusive folds. The crop is the face, so
``box`` is the whole image.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from affect.datasets.common import Collector, DatasetFormatError, check_image, check_root, check_split
from affect.datasets.imdb_wiki import AgeSample, with_object_gender
from affect.image import write_image

__all__ = ["SPLITS", "HEADER", "AGE_BINS", "parse_age", "load", "write_layout"]

FOLDS = 5
SPLITS = tuple(f"fold{k}" for k in range(FOLDS)) + ("all",)
HEADER = (
    "user_id",
    "original_image",
    "face_id",
    "age",
    "gender",
    "x",
    "y",
    "dx",
    "dy",
    "tilt_ang",
    "fiducial_yaw_angle",
    "fiducial_score",
)
#: The eight age ranges of the release, years.
AGE_BINS = ((0, 2), (4, 6), (8, 12), (15, 20), (25, 32), (38, 43), (48, 53), (60, 100))
_RANGE = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_FOLDERS = (("faces", "coarse_tilt_aligned_face"), ("aligned", "landmark_aligned_face"))
LAYOUT = (
    "tab-separated <root>/fold_<k>_data.txt with a header naming faces "
    "<root>/faces/<user_id>/coarse_tilt_aligned_face.<face_id>.<original_image>"
)


def parse_age(text: str) -> tuple[int, int] | None:
    """``'(25, 32)'`` -> (25, 32); ``'35'`` -> (35, 35); ``'None'`` or '' -> None.

    Raises ValueError for anything else (a range whose bounds are reversed included).
    """
    text = text.strip()
    if text in ("None", ""):
        return None
    if text.isdigit():
        return int(text), int(text)
    match = _RANGE.fullmatch(text)
    if match is None or int(match[1]) > int(match[2]):
        raise ValueError(f"age {text!r} is neither '(low, high)', a number nor 'None'")
    return int(match[1]), int(match[2])


def _image(root: Path, user: str, face: str, original: str) -> Path:
    """The crop of a face: ``faces/`` if the folder exists, else ``aligned/``."""
    for folder, prefix in _FOLDERS:
        if (root / folder).is_dir():
            return root / folder / user / f"{prefix}.{face}.{original}"
    return root / _FOLDERS[0][0] / user / f"{_FOLDERS[0][1]}.{face}.{original}"


def _image_box(path: Path) -> tuple[float, float, float, float]:
    from PIL import Image  # reads the header only

    with Image.open(path) as image:
        width, height = image.size
    return (0.0, 0.0, float(width), float(height))


def _read_fold(collector: Collector, root: Path, fold: int, decode: bool) -> None:
    path = root / f"fold_{fold}_data.txt"
    text = collector.text(path)
    if text is None:
        return
    lines = text.splitlines()
    header = tuple(h.strip() for h in lines[0].split("\t")) if lines else ()
    if header[: len(HEADER)] != HEADER:
        raise DatasetFormatError(f"{path}:1: expected the tab-separated header {', '.join(HEADER)}")
    for line, row in enumerate(lines[1:], start=2):
        if not row.strip():
            continue
        fields = row.split("\t")
        if len(fields) < len(HEADER):
            collector.problem(path, line, f"expected {len(HEADER)} tab-separated fields, found {len(fields)}")
            continue
        values = dict(zip(HEADER, (f.strip() for f in fields)))
        try:
            age = parse_age(values["age"])
        except ValueError as error:
            collector.problem(path, line, str(error))
            continue
        if age is None:
            collector.exclude("age None")
            continue
        image = _image(root, values["user_id"], values["face_id"], values["original_image"])
        if not check_image(collector, image, decode, line, path):
            continue
        gender = {"m": "male", "f": "female"}.get(values["gender"])
        collector.add(
            str(image),
            subject=values["user_id"],
            age=(age[0] + age[1]) / 2,
            age_low=float(age[0]),
            age_high=float(age[1]),
            gender=gender,
            box=_image_box(image),
            fold=fold,
        )


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load Adience's face crops with their age ranges.

    Parameters
    ----------
    root : path
        Folder holding ``fold_<k>_data.txt`` and ``faces/`` (or ``aligned/``).
    split : {'fold0', ..., 'fold4', 'all'}
    strict : bool
        Raise on the first bad row instead of skipping it.
    decode_check : bool
        Also decode every image (slow).

    Returns
    -------
    DataFrame of the common schema plus ``age`` (midpoint, years), ``age_low``, ``age_high``,
    ``gender`` ('female', 'male' or None), ``box`` (the whole crop) and ``fold``.
    """
    check_split("adience", split, SPLITS)
    root = check_root(root).resolve()
    folds = range(FOLDS) if split == "all" else (int(split[4:]),)
    present = [k for k in folds if (root / f"fold_{k}_data.txt").is_file()]
    if not present:
        raise DatasetFormatError(f"{root}: no fold_<k>_data.txt for {split}; expected {LAYOUT}")
    collector = Collector("adience", split, strict)
    for fold in present:
        _read_fold(collector, root, fold, decode_check)
    collector.require_rows(root, LAYOUT)
    frame = collector.frame(extra_columns=("age", "age_low", "age_high", "gender", "box", "fold"))
    return with_object_gender(frame)


def _bin(age: int) -> tuple[int, int]:
    """The release's range nearest to an age (ages between two ranges go to the closer one)."""
    return min(AGE_BINS, key=lambda b: 0 if b[0] <= age <= b[1] else min(abs(age - b[0]), abs(age - b[1])))


def write_layout(root: str | os.PathLike, records: Sequence[AgeSample], *, extra_lines: Sequence[str] = ()) -> Path:
    """Write face crops as an Adience release (five fold files, ``faces/``) for :func:`load`.

    Each sample's age becomes the release's range that holds it (or the nearest one); subjects
    are dealt to the folds in order of first appearance, so no subject spans two folds.

    Parameters
    ----------
    root : path
    records : sequence of AgeSample
        ``image`` is the face crop itself.
    extra_lines : sequence of str
        Tab-separated lines appended to ``fold_0_data.txt`` as given (the release's quirks, for tests).

    Returns
    -------
    The root folder.
    """
    records = list(records)
    if not records:
        raise ValueError("records: empty")
    root = Path(root)
    fold_of: dict[str, int] = {}
    lines: dict[int, list[str]] = {k: ["\t".join(HEADER)] for k in range(FOLDS)}
    for i, sample in enumerate(records):
        if not 0 <= sample.age <= 100:
            raise ValueError(f"records[{i}].age: {sample.age} is outside 0 to 100")
        fold = fold_of.setdefault(sample.subject, len(fold_of) % FOLDS)
        original = f"{10000000 + i}_{i:08x}.jpg"
        image = sample.pixels()
        write_image(root / "faces" / sample.subject / f"coarse_tilt_aligned_face.{i + 1}.{original}", image)
        low, high = _bin(sample.age)
        gender = {"male": "m", "female": "f"}.get(sample.gender, "u")
        height, width = image.shape[:2]
        lines[fold].append(
            "\t".join(
                [
                    sample.subject,
                    original,
                    str(i + 1),
                    f"({low}, {high})",
                    gender,
                    "0",
                    "0",
                    str(width),
                    str(height),
                    "0",
                    "0",
                    "90",
                ]
            )
        )
    lines[0] += list(extra_lines)
    for fold, text in lines.items():
        (root / f"fold_{fold}_data.txt").write_text("\n".join(text) + "\n")
    return root
