"""Prepared faces: every image or video frame of a split cropped once and cached on disk.

Training reads these crops, never the photos or the videos (Sec. 6.2 trains for many epochs
over hundreds of thousands of frames). :func:`prepare` turns a database frame (the output of
:func:`affect.datasets.load`, or training rows plus synthesized images) into:

- ``faces.npy``: ``(N, S, S, 3)`` uint8 RGB crops, read through a memory map;
- ``landmarks.npy``: ``(N, 68, 2)`` float32, the landmarks in crop coordinates scaled to
  [-1, 1], the second input of VGG-FACE-GRU and AffWildNet (Sec. 6.2.1.2): the database's, or
  dlib's 68-point predictor's in the database's face box or on a face its detector found; NaN
  where none is known;
- ``index.csv``: one row per crop with ``id, subject, video, frame, valence, arousal,
  expression, path, crop`` (``crop`` says how the face was found), plus ``age_low, age_high``
  (years) when the frame has them (the age databases of Sec. 6.5).

A face is aligned from the database's 68 landmarks (eyes level, the landmark box scaled by
:data:`MARGIN`), else from a face box column ``box`` ``(left, top, right, bottom)``, else
from dlib's detector (:func:`affect.face.landmarks.detect_faces`) and the 68 landmarks its
shape predictor places in the box found, aligned as annotated ones; with no face found, the
central square is kept. Each video is opened once and decoded in order. A row that holds no
usable face is left out and counted by reason (``PreparedFaces.skipped``, ``meta.json``): an
image under :data:`affect.image.MIN_SIDE` pixels a side, or landmarks mostly outside the image
(the crop would be the image's edge colour, stretched).

The cache folder is named by a hash of everything that shapes its content (rows, labels,
landmarks, file sizes and modification times, crop size, margin, format version), so a change
of any of them prepares a new folder, and runs that need the same split share one. The
folder is written beside its final name and renamed when complete (atomic).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from affect.datasets.common import PIXEL_TABLE_SUFFIX, VIDEO_FRAME_SEPARATOR, read_frame, read_table_rows
from affect.files import atomic_write_text, check_writable
from affect.image import size_problem
from affect.vocabulary import EYES

log = logging.getLogger("affect.learning")

__all__ = [
    "MARGIN",
    "INDEX_COLUMNS",
    "PreparedFaces",
    "prepare",
    "load_prepared",
    "align_face",
    "cache_key",
    "synthesized_rows",
    "with_synthesized",
    "alignment_matrix",
]

#: Side of the crop over the larger side of the (levelled) 68-landmark box: the landmarks
#: span brows to chin, so 1.3 keeps the forehead and the jaw line (a kit choice).
MARGIN = 1.3
INDEX_COLUMNS = ("id", "subject", "video", "frame", "valence", "arousal", "expression", "path", "crop")
#: Age targets carried into the index when the frame has them (the age estimator, Sec. 6.5).
AGE_COLUMNS = ("age_low", "age_high")
# Bump when the crop geometry or the file format changes (2: rows without a face left out;
# 3: detected faces get the shape predictor's landmarks; 4: so do faces cropped from a box).
_VERSION = 4


@dataclass(frozen=True)
class PreparedFaces:
    """The crops of one split and their index.

    Attributes
    ----------
    folder : Path
        The cache folder.
    size : int
        Crop side S, px.
    index : DataFrame
        :data:`INDEX_COLUMNS`, one row per crop.
    faces : (N, S, S, 3) uint8 array
        Memory-mapped crops, RGB.
    landmarks : (N, 68, 2) float32 array
        Landmarks in crop coordinates scaled to [-1, 1] (annotated or predicted); NaN where unknown.
    skipped : dict of str to int
        Rows of the frame left out (no usable face), counted by reason.
    """

    folder: Path
    size: int
    index: pd.DataFrame
    faces: np.ndarray
    landmarks: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)


def load_prepared(folder: str | os.PathLike) -> PreparedFaces:
    """Open a cache folder written by :func:`prepare`; ValueError naming the folder if it is damaged.

    The arrays are read without pickles (``allow_pickle=False``): a cache file holding Python
    objects is refused unread.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        index = pd.read_csv(
            folder / "index.csv",
            dtype={"id": str, "subject": str, "video": str, "path": str, "expression": object, "crop": str},
            keep_default_na=False,
            na_values={"valence": [""], "arousal": [""], **{c: [""] for c in AGE_COLUMNS}},
        )
        faces = np.load(folder / "faces.npy", mmap_mode="r", allow_pickle=False)
        landmarks = np.load(folder / "landmarks.npy", allow_pickle=False)
        size = int(meta["size"])
        skipped = {str(reason): int(count) for reason, count in meta.get("skipped", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, EOFError, pd.errors.ParserError) as error:
        detail = (str(error).splitlines() or [""])[0]
        raise ValueError(f"{folder}: not a prepared-faces cache ({type(error).__name__}: {detail})") from None
    index["expression"] = index["expression"].replace("", None)
    return PreparedFaces(folder, size, index, faces, landmarks, skipped)


def cache_key(frame: pd.DataFrame, size: int, margin: float = MARGIN) -> str:
    """Hex digest of everything that shapes a cache's content (see the module docstring)."""
    digest = hashlib.sha256(json.dumps([_VERSION, int(size), float(margin)]).encode())
    columns = [
        frame[c].to_numpy() for c in ("path", "subject", "sequence", "frame", "valence", "arousal", "expression")
    ]
    for row in zip(*columns):
        digest.update(repr(row).encode())
    for marks in frame["landmarks"]:
        digest.update(b"-" if marks is None else np.asarray(marks, np.float32).tobytes())
    if "box" in frame:
        digest.update(repr([None if b is None else tuple(b) for b in frame["box"]]).encode())
    for column in AGE_COLUMNS:
        if column in frame:
            digest.update(frame[column].to_numpy(dtype=np.float64).tobytes())
    for file in sorted({_file_of(p) for p in frame["path"]}):
        stat = os.stat(file) if os.path.exists(file) else None
        digest.update(f"{file}:{stat and stat.st_size}:{stat and stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _file_of(path: str) -> str:
    video, sep, index = str(path).rpartition(VIDEO_FRAME_SEPARATOR)
    return video if sep and index.isdigit() else str(path)


def prepare(
    frame: pd.DataFrame,
    cache_root: str | os.PathLike,
    size: int,
    *,
    label: str = "faces",
    margin: float = MARGIN,
    progress: bool = False,
) -> PreparedFaces:
    """Crop every row of ``frame`` once, or open the cache that already holds them.

    Sec. 6.2 trains on face crops; this is the one place they are made.

    Parameters
    ----------
    frame : DataFrame
        Rows of the :data:`affect.datasets.COLUMNS` schema (``path`` may address a video
        frame as ``<video>#<index>``); an optional ``box`` column gives face boxes.
    cache_root : path
        Folder of all caches; this one goes to ``<cache_root>/<label>-<size>px-<hash>``.
    size : int
        Crop side, px (the profile's input size).
    label : str
        Readable prefix of the folder name, e.g. ``'affectnet-train'``.
    margin : float
        Crop side over the landmark box side.
    progress : bool
        Show a progress bar.

    Returns
    -------
    PreparedFaces

    Raises
    ------
    ValueError
        On an empty frame, a frame without one usable face, or an image or video frame that
        cannot be read (naming it).
    """
    if len(frame) == 0:
        raise ValueError(f"frame: no rows to prepare for {label}")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size: expected a crop side of at least 8 px, got {size!r}")
    key = cache_key(frame, size, margin)
    folder = Path(cache_root) / f"{label}-{size}px-{key[:16]}"
    if (folder / "meta.json").is_file():
        return load_prepared(folder)
    check_writable(folder.parent, folder=True)  # a read-only $AFFECT_DATA: one line before any crop
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        skipped = _write(frame.reset_index(drop=True), partial, size, margin, progress, label)
        meta = {"key": key, "size": size, "margin": margin, "version": _VERSION, "rows": len(frame)}
        if skipped:
            meta |= {"rows": len(frame) - sum(skipped.values()), "skipped": skipped}
        atomic_write_text(partial / "meta.json", json.dumps(meta))
        try:
            os.rename(partial, folder)
        except OSError:  # another process finished the same cache first: theirs is identical
            shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return load_prepared(folder)


def _write(frame: pd.DataFrame, folder: Path, size: int, margin: float, progress: bool, label: str) -> dict[str, int]:
    """Write the crops, landmarks and index of ``frame`` into ``folder``; return the skipped rows by reason."""
    n = len(frame)
    faces = np.lib.format.open_memmap(folder / "faces.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    landmarks = np.full((n, 68, 2), np.nan, dtype=np.float32)
    methods = [""] * n
    problems: dict[int, tuple[str, str]] = {}  # row: (reason, detail)
    bar = _progress(n, progress)
    for row, image in _images(frame):
        marks, box = frame.at[row, "landmarks"], frame.at[row, "box"] if "box" in frame else None
        problem = _unusable(image, marks)
        if problem is not None:
            problems[row] = problem
            bar.update()
            continue
        crop, moved, methods[row] = _crop(image, marks, box, size, margin)
        faces[row] = crop
        if moved is not None:
            landmarks[row] = moved / (size / 2) - 1
        bar.update()
    bar.close()
    faces.flush()
    del faces
    keep = np.array([row not in problems for row in range(n)])
    if not keep.any():
        first = min(problems)
        raise ValueError(
            f"frame: no usable face to prepare for {label} (first: {frame.at[first, 'path']}: {problems[first][1]})"
        )
    if problems:
        _keep_rows(folder / "faces.npy", keep)
    np.save(folder / "landmarks.npy", landmarks[keep])
    index = pd.DataFrame(
        {
            "id": _ids(frame["path"]),
            "subject": frame["subject"].fillna("").astype(str),
            "video": frame["sequence"].fillna("").astype(str),
            "frame": frame["frame"].astype(np.int64),
            "valence": frame["valence"],
            "arousal": frame["arousal"],
            "expression": frame["expression"].fillna(""),
            "path": frame["path"].astype(str),
            "crop": methods,
            **{column: frame[column].astype(np.float64) for column in AGE_COLUMNS if column in frame},
        }
    )
    index[keep].to_csv(folder / "index.csv", index=False)
    return _skipped(frame, problems, label)


def _unusable(image: np.ndarray, landmarks) -> tuple[str, str] | None:
    """Why a row holds no usable face, as (reason, detail): an image too small, or most of its
    landmarks outside the image; None for a usable row."""
    small = size_problem(image)
    if small is not None:
        return "image too small to hold a face", small
    if landmarks is None or not np.all(np.isfinite(np.asarray(landmarks, dtype=float))):
        return None
    points = np.asarray(landmarks, dtype=np.float64)
    height, width = image.shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
    if 2 * inside.sum() > len(points):
        return None
    outside = len(points) - int(inside.sum())
    return "landmarks outside the image", f"{outside} of {len(points)} landmarks outside the {width} x {height} image"


def _keep_rows(path: Path, keep: np.ndarray) -> None:
    """Rewrite a ``.npy`` of crops with the rows of ``keep`` only, a block at a time."""
    full = np.load(path, mmap_mode="r")
    rows = np.flatnonzero(keep)
    kept_path = path.with_name(f"kept-{path.name}")
    kept = np.lib.format.open_memmap(kept_path, mode="w+", dtype=full.dtype, shape=(len(rows), *full.shape[1:]))
    for start in range(0, len(rows), 1024):
        kept[start : start + 1024] = full[rows[start : start + 1024]]
    kept.flush()
    del kept, full
    os.replace(kept_path, path)


def _skipped(frame: pd.DataFrame, problems: dict[int, tuple[str, str]], label: str) -> dict[str, int]:
    """Counts of the skipped rows by reason, logged in one warning that names the first."""
    counts: dict[str, int] = {}
    for reason, _ in problems.values():
        counts[reason] = counts.get(reason, 0) + 1
    if problems:
        first = min(problems)
        parts = ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
        where = f"{frame.at[first, 'path']}: {problems[first][1]}"
        log.warning("%s: left out %d of %d faces (%s; first: %s)", label, len(problems), len(frame), parts, where)
    return counts


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="preparing faces", unit="face", disable=not enabled)


def _ids(paths: pd.Series) -> list[str]:
    """Sample ids: paths relative to the folder all of them share (so ids hold no machine path)."""
    files = [_file_of(p) for p in paths]
    common = os.path.commonpath(files) if len(set(files)) > 1 else os.path.dirname(files[0])
    return [os.path.relpath(p, common) if common else str(p) for p in paths]


def _images(frame: pd.DataFrame):
    """Yield (row, RGB image): still images in row order, then each video (or pixel table) read
    once, in order."""
    videos: dict[str, list[tuple[int, int]]] = {}
    for row, path in enumerate(frame["path"]):
        video, sep, index = str(path).rpartition(VIDEO_FRAME_SEPARATOR)
        if sep and index.isdigit():
            videos.setdefault(video, []).append((int(index), row))
        else:
            yield row, read_frame(path)
    for video, wanted in videos.items():
        if video.lower().endswith(PIXEL_TABLE_SUFFIX):
            yield from _table_in_order(video, wanted)
        else:
            yield from _decode_in_order(video, sorted(wanted))


def _table_in_order(table: str, wanted: list[tuple[int, int]]):
    """The rows of a pixel table (``"<table>.csv#<line>"``, FER2013), the file read once."""
    rows: dict[int, list[int]] = {}
    for line, row in wanted:
        rows.setdefault(line, []).append(row)
    found = 0
    for line, image in read_table_rows(table, set(rows)):
        found += 1
        for row in rows[line]:
            yield row, image
    if found < len(rows):
        raise ValueError(f"{table}: {len(rows) - found} of the listed lines hold no picture")


def _decode_in_order(video: str, wanted: list[tuple[int, int]]):
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise ValueError(f"{video}: cannot open video")
    try:
        position, bgr = -1, None
        for index, row in wanted:
            while position < index:  # grab() skips without decoding to pixels
                if not capture.grab():
                    raise ValueError(f"{video}: no frame {index}")
                position += 1
                bgr = None
            if bgr is None:
                ok, bgr = capture.retrieve()
                if not ok:
                    raise ValueError(f"{video}: cannot decode frame {index}")
            yield row, np.ascontiguousarray(bgr[:, :, ::-1])
    finally:
        capture.release()


def _crop(image: np.ndarray, landmarks, box, size: int, margin: float):
    """(crop, landmarks moved into it or None, how the face was found)."""
    if landmarks is not None and np.all(np.isfinite(np.asarray(landmarks, dtype=float))):
        crop, moved = align_face(image, np.asarray(landmarks, dtype=np.float64), size, margin)
        return crop, moved, "landmarks"
    if box is not None and not (isinstance(box, float) and math.isnan(box)):
        marks, matrix = _landmarks_in_box(image, box), _box_matrix(box, size)
        return _box_crop(image, box, size), None if marks is None else marks @ matrix[:, :2].T + matrix[:, 2], "box"
    found = _detect(image)
    if found is not None:
        crop, moved = align_face(image, found, size, margin)
        return crop, moved, "detected"
    height, width = image.shape[:2]
    side = min(height, width)
    centre = ((width - side) // 2, (height - side) // 2)
    return _box_crop(image, (centre[0], centre[1], centre[0] + side, centre[1] + side), size, 1.0), None, "whole image"


def align_face(
    image: np.ndarray, landmarks: np.ndarray, size: int, margin: float = MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """Crop a face with its eyes level, from its 68 landmarks.

    A similarity transform rotates about the centre of the landmark box until the eye
    centres are level, and scales the box's larger side (after levelling) to
    ``size / margin``.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    landmarks : (68, 2) float, pixels (x, y)
    size : int
        Output side, px.
    margin : float

    Returns
    -------
    crop : (size, size, 3) uint8
    moved : (68, 2) float, the landmarks in crop pixels
    """
    matrix = alignment_matrix(landmarks, size, margin)
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return crop, landmarks @ matrix[:, :2].T + matrix[:, 2]


def alignment_matrix(landmarks: np.ndarray, size: int, margin: float = MARGIN) -> np.ndarray:
    """The (2, 3) similarity from photo to crop pixels used by :func:`align_face`."""
    left, right = (landmarks[eye].mean(axis=0) for eye in EYES)
    angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    centre = (landmarks.min(axis=0) + landmarks.max(axis=0)) / 2
    rotation = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    levelled = landmarks @ rotation[:, :2].T + rotation[:, 2]
    side = float(np.ptp(levelled, axis=0).max()) * margin
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, size / max(side, 1.0))
    matrix[:, 2] += size / 2 - centre  # the box centre goes to the crop centre
    return matrix


def _box_crop(image: np.ndarray, box, size: int, margin: float = 1.1) -> np.ndarray:
    """A square around a (left, top, right, bottom) box, ``margin`` times its larger side."""
    matrix = _box_matrix(box, size, margin)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def _box_matrix(box, size: int, margin: float = 1.1) -> np.ndarray:
    """The (2, 3) scale-and-shift from photo to crop pixels of :func:`_box_crop`."""
    left, top, right, bottom = (float(v) for v in box)
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    side = max(right - left, bottom - top, 1.0) * margin
    matrix = np.array([[size / side, 0, 0], [0, size / side, 0]])
    matrix[:, 2] = size / 2 - centre * size / side
    return matrix


def _landmarks_in_box(image: np.ndarray, box) -> np.ndarray | None:
    """The 68 landmarks (pixels) dlib's shape predictor places in a database's face box; None
    for a box of no area. The crop stays the box's: only the landmarks are added."""
    from affect.face.landmarks import detect_landmarks

    try:
        return detect_landmarks(image, box)
    except ValueError:  # right <= left or bottom <= top
        return None


def _detect(image: np.ndarray) -> np.ndarray | None:
    """The 68 landmarks (pixels) dlib's shape predictor places in the face its detector finds; None if none.

    Raises ModelFileError (one line naming the file) when the predictor's model is not installed.
    """
    # dlib is loaded only when a database lacks landmarks
    from affect.face.landmarks import detect_faces, detect_landmarks

    found = detect_faces(image)
    return detect_landmarks(image, found[0]) if found else None


def synthesized_rows(train: pd.DataFrame, built: str | os.PathLike) -> pd.DataFrame:
    """The synthesized images of an augmentation build as database rows, with their source's landmarks.

    A synthesized face keeps the pose and place of its neutral source (Sec. 4), so it is
    cropped from the source's landmarks where ``train`` holds the source. Labels are the
    targets each image was synthesized for.

    Parameters
    ----------
    train : DataFrame
        The rows the sources come from, :data:`affect.datasets.COLUMNS`.
    built : path
        The augmentation output folder (holding ``manifest.csv``) or the manifest itself.

    Returns
    -------
    DataFrame of :data:`affect.datasets.COLUMNS` plus ``source`` (the neutral photo's path).

    Raises
    ------
    ValueError
        One line naming the manifest and the first synthesized image that is missing.
    """
    from affect.augmentation.manifest import MANIFEST, read_manifest, synthesized_frame

    built = Path(built)
    manifest_path = built / MANIFEST if built.is_dir() else built
    synthesized = synthesized_frame(read_manifest(manifest_path), manifest_path.parent)
    missing = [p for p in synthesized["path"] if not os.path.exists(p)]
    if missing:
        raise ValueError(f"{manifest_path}: {len(missing)} synthesized images are missing (first: {missing[0]})")
    sources = dict(zip(train["path"].astype(str), train["landmarks"]))
    synthesized["landmarks"] = [sources.get(str(s)) for s in synthesized["source"]]
    return synthesized


def with_synthesized(
    train: pd.DataFrame, built: str | os.PathLike, *, only: bool = False, sources: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Training rows plus the synthesized images of an augmentation build (Sec. 6.2).

    See :func:`synthesized_rows` for how they are cropped and labelled.

    Parameters
    ----------
    train : DataFrame
        The training split, :data:`affect.datasets.COLUMNS`.
    built : path
        The augmentation output folder (holding ``manifest.csv``) or the manifest itself.
    only : bool
        Return the synthesized images alone, no row of ``train`` (Table 11, Sec. 6.3).
    sources : DataFrame, optional
        Rows whose landmarks crop the synthesized faces; default ``train``.

    Raises
    ------
    ValueError
        One line naming the manifest and the first synthesized image that is missing.
    """
    synthesized = synthesized_rows(train if sources is None else sources, built).drop(columns=["source"])
    return synthesized if only else pd.concat([train, synthesized], ignore_index=True)


def synthesized_subset(frame: pd.DataFrame, most: int | None, seed: int) -> pd.DataFrame:
    """At most ``most`` rows of ``frame`` (synthesized faces), in their order; all where ``most`` is None.

    Rows are chosen by a seeded hash of each image's file name, which the plan fixes
    (:mod:`affect.augmentation.targets`): the sets of every method built from one plan keep the
    same sources and targets (Table 11 compares the methods on equal footing).
    """
    if most is None or len(frame) <= most:
        return frame
    from affect.augmentation.targets import derived_seed

    keys = np.array([derived_seed(seed, "synthesized-subset", Path(str(path)).stem) for path in frame["path"]])
    keep = np.sort(np.argsort(keys, kind="stable")[:most])
    return frame.iloc[keep].reset_index(drop=True)
