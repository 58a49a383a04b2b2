"""BU-3DFE: 100 subjects, neutral plus six expressions at four intensities (2D textures).

Paper Sec. 6.2.2.2, Table 9: 10-fold person-independent cross-validation (see
:func:`affect.datasets.folds`). On disk, one folder per subject::

    <root>/F0001/F0001_AN01WH_F2D.bmp    (also _F3D.wrl, _F3D.bnd: not read here)

The name holds subject, expression (``AN DI FE HA SA SU NE``), intensity (``01``-``04``,
``00`` for neutral) and a 2-letter race code. Only the frontal 2D images (``_F2D.bmp``,
or ``.png`` in some copies) are rows; they carry the intensity and race as extra columns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from affect.datasets.common import Collector, Sample, check_image, check_root, check_samples, check_split
from affect.image import write_image

__all__ = ["SPLITS", "CODES", "load", "write_layout"]

SPLITS = ("all",)  # no official split; the paper uses person-independent folds
CODES = {
    "AN": "anger",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happiness",
    "SA": "sadness",
    "SU": "surprise",
    "NE": "neutral",
}
_SUBJECT = re.compile(r"[FM]\d{4}")
_NAME = re.compile(r"(?P<subject>[FM]\d{4})_(?P<code>[A-Z]{2})(?P<intensity>\d{2})(?P<race>[A-Z]{2})_F2D")
_IMAGE_EXTENSIONS = (".bmp", ".png")
LAYOUT = "subject folders <root>/F0001/ ... holding frontal images F0001_AN01WH_F2D.bmp"


def _parse(collector: Collector, folder: Path, file: Path, decode: bool) -> None:
    match = _NAME.fullmatch(file.stem)
    if match is None:
        collector.problem(file, 0, "name is not <subject>_<EE><II><RR>_F2D")
        return
    code, intensity = match["code"], int(match["intensity"])
    if code not in CODES:
        collector.problem(file, 0, f"unknown expression code {code!r}")
        return
    if (code == "NE") != (intensity == 0) or intensity > 4:
        collector.problem(file, 0, f"intensity {intensity:02d} invalid for {code} (NE is 00, others 01-04)")
        return
    if match["subject"] != folder.name:
        collector.problem(file, 0, f"subject {match['subject']} in a folder named {folder.name}")
        return
    if check_image(collector, file, decode):
        collector.add(str(file), subject=folder.name, expression=CODES[code], intensity=intensity, race=match["race"])


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load BU-3DFE's frontal 2D images with expression, intensity and subject.

    Parameters
    ----------
    root : path
        Folder holding the subject folders ``F0001`` ... ``M0044``.
    split : {'all'}
        BU-3DFE has no official split; use :func:`affect.datasets.folds`.
    strict : bool
        Raise on the first badly named image instead of skipping it.
    decode_check : bool
        Also decode every image (slow).

    Returns
    -------
    DataFrame of the common schema plus ``intensity`` (int, 0-4) and ``race`` (2 letters).
    """
    check_split("bu3dfe", split, SPLITS)
    root = check_root(root).resolve()
    collector = Collector("bu3dfe", split, strict)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in _IMAGE_EXTENSIONS and "_F2D" in file.stem:
                _parse(collector, folder, file, decode_check)
    collector.require_rows(root, LAYOUT)
    return collector.frame(extra_columns=("intensity", "race"))


def write_layout(root: str | os.PathLike, records: Sequence[Sample], *, races: Mapping[str, str] | None = None) -> Path:
    """Write samples as BU-3DFE frontal images (``<S>_<EE><II><RR>_F2D.bmp``) for :func:`load`.

    Per subject, at most one neutral (intensity 00) and four samples per expression, which
    get intensities 01 to 04 in the given order (low to high, as in the database). The 3D
    files (``_F3D.wrl``, ``_F3D.bnd``) are not written.

    Parameters
    ----------
    root : path
    records : sequence of Sample
        ``subject`` like ``F0001`` or ``M0044``; ``expression`` one of the seven.
    races : mapping of subject to 2-letter race code, optional
        Default ``WH`` for every subject.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, None, va=False, expressions=tuple(CODES.values()))
    root, code_of, used = Path(root), {v: k for k, v in CODES.items()}, {}
    for i, sample in enumerate(samples):
        if not _SUBJECT.fullmatch(sample.subject):
            raise ValueError(f"records[{i}].subject: {sample.subject!r} is not F#### or M####")
        code = code_of[sample.expression]
        count = used[(sample.subject, code)] = used.get((sample.subject, code), 0) + 1
        if count > (1 if code == "NE" else 4):
            raise ValueError(f"records[{i}]: too many {sample.expression} images for {sample.subject}")
        intensity = 0 if code == "NE" else count
        race = (races or {}).get(sample.subject, "WH")
        name = f"{sample.subject}_{code}{intensity:02d}{race}_F2D.bmp"
        write_image(root / sample.subject / name, sample.pixels())
    return root
