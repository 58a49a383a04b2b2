"""IMDB-WIKI (Rothe et al.): celebrity photos with a birth date and the year each was taken.

Paper Sec. 6.5: the age estimator trains on IMDB (and Adience) and is tested on WIKI. On disk,
each archive (``imdb_crop.tar``, ``wiki_crop.tar``) extracts to a folder holding a MATLAB
file and 100 sub-folders of face crops::

    <root>/imdb_crop/imdb.mat     struct 'imdb': one 1 x N field per column
    <root>/imdb_crop/00/nm0000100_rm46373120_1955-1-6_2003.jpg, ...
    <root>/wiki_crop/wiki.mat     struct 'wiki' (no celeb_names / celeb_id)

Fields (docs/networks.md 5): ``dob`` (MATLAB serial date number of the birth date),
``photo_taken`` (year), ``full_path`` (cell of paths relative to the crop folder), ``gender``
(0 female, 1 male, NaN unknown), ``name``, ``face_location`` (cell of ``[x1 y1 x2 y2]`` in the
crop, pixels), ``face_score`` (-inf: no face found), ``second_face_score`` (NaN: no second
face), and for IMDB ``celeb_names`` and ``celeb_id``.

The age is ``photo_taken`` minus the birth year, one less for a birth in July or later (the
photo is assumed taken mid-year), as yu4u's ``calc_age``. Rows are left out, and counted in
the report's ``excluded``, as yu4u's filter does: no face (score -inf), a face score below
``min_face_score``, a second face (the labelled person is ambiguous) and an age outside 0 to
100. ``subject`` is the IMDB ``celeb_id`` (WIKI: the name), so folds can keep a person on one
side.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.datasets.common import Collector, DatasetFormatError, check_image, check_root, check_split
from affect.image import write_image

__all__ = ["SPLITS", "PARTS", "MIN_FACE_SCORE", "AgeSample", "age_from_dob", "load", "write_layout"]

PARTS = ("imdb", "wiki")
SPLITS = (*PARTS, "all")
#: yu4u's filter keeps faces the detector scored at least 1 (docs/networks.md 5).
MIN_FACE_SCORE = 1.0
LAYOUT = "<root>/imdb_crop/imdb.mat and/or <root>/wiki_crop/wiki.mat beside the 00..99 crop folders"
_FIELDS = ("dob", "photo_taken", "full_path", "gender", "name", "face_location", "face_score", "second_face_score")
_MATLAB_EPOCH = 366  # MATLAB's datenum counts from year 0; Python's ordinal from year 1


def age_from_dob(dob: float, photo_taken: int) -> int:
    """Age in years of a person born on MATLAB date ``dob`` in a photo taken in ``photo_taken``.

    yu4u's ``calc_age``: the birth date is ``fromordinal(max(int(dob) - 366, 1))``; the photo
    counts as taken in the middle of the year, so a birth in July or later takes one year off.
    """
    birth = dt.date.fromordinal(max(int(dob) - _MATLAB_EPOCH, 1))
    return int(photo_taken) - birth.year - (1 if birth.month >= 7 else 0)


def _matlab_dob(birth: dt.date) -> float:
    return float(birth.toordinal() + _MATLAB_EPOCH)


def _text(cell) -> str:
    """A MATLAB string cell as loadmat returns it (``array(['text'])``, or empty)."""
    value = np.asarray(cell).reshape(-1)
    return str(value[0]) if value.size else ""


def with_object_gender(frame: pd.DataFrame) -> pd.DataFrame:
    """``gender`` as an object column holding None where unknown (pandas would infer NaN)."""
    frame["gender"] = pd.Series(
        [g if isinstance(g, str) else None for g in frame["gender"]], dtype=object, index=frame.index
    )
    return frame


def _read_part(collector: Collector, folder: Path, part: str, decode: bool, min_face_score: float) -> None:
    from scipy.io import loadmat

    mat = folder / f"{part}.mat"
    try:
        struct = loadmat(mat)[part][0, 0]
    except Exception as error:  # scipy raises MatReadError, ValueError, KeyError ... for a foreign file
        raise DatasetFormatError(f"{mat}: not an IMDB-WIKI MATLAB file with a struct {part!r} ({error})") from None
    missing = [f for f in _FIELDS if f not in struct.dtype.names]
    if missing:
        raise DatasetFormatError(f"{mat}: struct {part!r} lacks the fields {', '.join(missing)}")
    columns = {f: struct[f][0] for f in struct.dtype.names if f != "celeb_names"}  # celeb_names: one per person
    count = len(columns["full_path"])
    if any(len(values) != count for values in columns.values()):
        raise DatasetFormatError(f"{mat}: the fields of {part!r} differ in length")
    for i in range(count):
        line = i + 1  # the row's 1-based index in the struct's fields
        relative = _text(columns["full_path"][i])
        score, second = float(columns["face_score"][i]), float(columns["second_face_score"][i])
        if math.isinf(score) and score < 0:
            collector.exclude("no face (face_score -inf)")
            continue
        if not score >= min_face_score:
            collector.exclude(f"face_score below {min_face_score:g}")
            continue
        if not math.isnan(second):
            collector.exclude("second face in the photo")
            continue
        dob, taken = float(columns["dob"][i]), float(columns["photo_taken"][i])
        if not (math.isfinite(dob) and math.isfinite(taken)):
            collector.problem(mat, line, f"{relative}: dob or photo_taken is not a number")
            continue
        age = age_from_dob(dob, int(taken))
        if not 0 <= age <= 100:
            collector.exclude("age outside 0 to 100")
            continue
        box = np.asarray(columns["face_location"][i], dtype=float).reshape(-1)
        if box.shape != (4,) or not np.all(np.isfinite(box)):
            collector.problem(mat, line, f"{relative}: face_location is not [x1 y1 x2 y2]")
            continue
        path = folder / relative
        if not check_image(collector, path, decode, line, mat):
            continue
        gender = float(columns["gender"][i])
        subject = str(int(columns["celeb_id"][i])) if "celeb_id" in columns else _text(columns["name"][i])
        collector.add(
            str(path),
            subject=subject,
            age=float(age),
            age_low=float(age),
            age_high=float(age),
            gender=None if math.isnan(gender) else ("male" if gender == 1 else "female"),
            box=tuple(float(v) for v in box),
            face_score=score,
            part=part,
        )


def load(
    root: str | os.PathLike,
    split: str = "all",
    *,
    strict: bool = False,
    decode_check: bool = False,
    min_face_score: float = MIN_FACE_SCORE,
) -> pd.DataFrame:
    """Load IMDB and/or WIKI faces with their ages.

    Parameters
    ----------
    root : path
        Folder holding ``imdb_crop/`` and/or ``wiki_crop/``.
    split : {'imdb', 'wiki', 'all'}
        One part, or every part present (Sec. 6.5 trains on IMDB and tests on WIKI).
    strict : bool
        Raise on the first bad row instead of skipping it.
    decode_check : bool
        Also decode every image (slow).
    min_face_score : float
        Faces scored lower by the release's detector are left out (yu4u: 1).

    Returns
    -------
    DataFrame of the common schema (no valence, arousal or expression) plus ``age`` (years),
    ``age_low`` = ``age_high`` = ``age``, ``gender`` ('female', 'male' or None), ``box`` (the
    face location, pixels), ``face_score`` and ``part``.
    """
    check_split("imdb_wiki", split, SPLITS)
    root = check_root(root).resolve()
    parts = PARTS if split == "all" else (split,)
    present = [p for p in parts if (root / f"{p}_crop" / f"{p}.mat").is_file()]
    if not present:
        raise DatasetFormatError(f"{root}: no {' or '.join(f'{p}_crop/{p}.mat' for p in parts)}; expected {LAYOUT}")
    collector = Collector("imdb_wiki", split, strict)
    for part in present:
        _read_part(collector, root / f"{part}_crop", part, decode_check, min_face_score)
    collector.require_rows(root, LAYOUT)
    frame = collector.frame(extra_columns=("age", "age_low", "age_high", "gender", "box", "face_score", "part"))
    return with_object_gender(frame)


# --- writing a copy in the release's format -------------------------------------------------------


class AgeSample:
    """One face photo with its age, for the age databases' writers.

    Attributes
    ----------
    image : (H, W, 3) uint8 RGB array or a callable returning one
    subject : str
        Person identity (IMDB celeb_id, WIKI name, Adience user_id).
    age : int
        Years (IMDB-WIKI); an Adience writer bins it.
    box : (4,) float
        Face box ``(x1, y1, x2, y2)`` in the image, pixels.
    gender : str or None
        'female', 'male' or None.
    """

    def __init__(self, image, subject: str, age: int, box, gender: str | None = None):
        self.image, self.subject, self.age, self.gender = image, subject, int(age), gender
        self.box = tuple(float(v) for v in box)

    def pixels(self) -> np.ndarray:
        """The photo as (H, W, 3) uint8 RGB."""
        image = np.asarray(self.image() if callable(self.image) else self.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        return image


def write_layout(
    root: str | os.PathLike,
    records: Sequence[AgeSample],
    *,
    part: str = "wiki",
    photo_taken: int = 2015,
    extra_rows: Sequence[dict] = (),
) -> Path:
    """Write faces as an IMDB-WIKI part (``<part>_crop/<part>.mat`` and crop folders) for :func:`load`.

    The birth date is chosen so that :func:`age_from_dob` gives back each sample's age in a
    photo taken in ``photo_taken`` (born on 1 March). File names follow the release:
    ``NN/<id>_<birth date>_<year>.jpg`` with NN = the sample number modulo 100.

    Parameters
    ----------
    root : path
    records : sequence of AgeSample
    part : {'imdb', 'wiki'}
    photo_taken : int
    extra_rows : sequence of dict
        Rows without an image, written as given (``dob``, ``photo_taken``, ``face_score``,
        ``second_face_score``, ``gender``, ...; missing fields take harmless defaults): the
        release's quirks (no face, a second face, an impossible birth date) for tests.

    Returns
    -------
    The crop folder.
    """
    from scipy.io import savemat

    if part not in PARTS:
        raise ValueError(f"part: expected one of {PARTS}, got {part!r}")
    records = list(records)
    if not records:
        raise ValueError("records: empty")
    folder = Path(root) / f"{part}_crop"
    rows, ids = [], {}
    for i, sample in enumerate(records):
        if not 0 <= sample.age <= 100:
            raise ValueError(f"records[{i}].age: {sample.age} is outside 0 to 100")
        birth = dt.date(photo_taken - sample.age, 3, 1)
        relative = f"{i % 100:02d}/{part}{i:07d}_{birth.year}-{birth.month}-{birth.day}_{photo_taken}.jpg"
        write_image(folder / relative, sample.pixels())
        rows.append(
            {
                "dob": _matlab_dob(birth),
                "photo_taken": photo_taken,
                "full_path": relative,
                "gender": {"female": 0.0, "male": 1.0}.get(sample.gender, math.nan),
                "name": sample.subject,
                "face_location": np.array(sample.box),
                "face_score": 4.0,
                "second_face_score": math.nan,
                "celeb_id": ids.setdefault(sample.subject, len(ids) + 1),
            }
        )  # 1-based, one per person
    defaults = {
        "dob": _matlab_dob(dt.date(1980, 3, 1)),
        "photo_taken": photo_taken,
        "full_path": "99/missing.jpg",
        "gender": math.nan,
        "name": "",
        "face_location": np.array([1.0, 1.0, 2.0, 2.0]),
        "face_score": 4.0,
        "second_face_score": math.nan,
        "celeb_id": 0,
    }
    rows += [{**defaults, **extra} for extra in extra_rows]
    fields = _FIELDS + (("celeb_names", "celeb_id") if part == "imdb" else ())
    struct = {}
    for name in fields:
        if name == "celeb_names":
            values = sorted({r["name"] for r in rows})
        else:
            values = [r[name] for r in rows]
        if name in ("full_path", "name", "face_location", "celeb_names"):
            cell = np.empty((1, len(values)), dtype=object)
            cell[0, :] = values if name != "face_location" else [v.reshape(1, 4) for v in values]
            struct[name] = cell
        else:
            struct[name] = np.asarray(values, dtype=float).reshape(1, -1)
    folder.mkdir(parents=True, exist_ok=True)
    savemat(folder / f"{part}.mat", {part: struct})
    return folder
