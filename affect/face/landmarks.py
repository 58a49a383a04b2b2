"""Face detection and 68-point facial landmarks (paper Sec. 4.1).

The paper starts from a face photo, finds the face and its 68 iBUG landmarks, and fits the
3D morphable model to them. Detection here is dlib's HOG detector (default, fast on CPU) or
its CNN (MMOD) detector; landmarks come from dlib's 68-point shape predictor trained on
iBUG 300-W. The model files ship with the ``face-recognition-models`` package.

Landmark convention of the whole kit
------------------------------------
A face's landmarks are a ``(68, 2)`` float64 array: column 0 is x (image column), column 1 is
y (image row), in pixels, with the centre of the top-left pixel at (0, 0). Rows follow the
iBUG 68-point markup, 0-based: jaw 0-16, right brow 17-21, left brow 22-26 (subject's
right/left), nose 27-35, eyes 36-47 (outer corners 36 and 45), mouth 48-67.

iBUG ``.pts`` files store x then y as well, but 1-based (the Matlab convention of 300-W):
:func:`read_pts` subtracts 1 and :func:`write_pts` adds 1, exactly as menpo's importer and
exporter do, so files round-trip with menpo and the original 300-W annotations. (menpo's own
``PointCloud`` holds (y, x); this kit never does.)
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from affect.image import as_rgb_image
from affect.vocabulary import DETECTORS, N_LANDMARKS, check_choice

__all__ = [
    "FaceNotFoundError",
    "ModelFileError",
    "Detection",
    "detect_faces",
    "face_box",
    "detect_landmarks",
    "landmarks_for",
    "read_pts",
    "write_pts",
    "model_file",
]


# The CNN detector costs tens of seconds per megapixel on a CPU (173 s for a 4.9-megapixel
# photo): larger photos are searched on a copy downscaled to this size. A face then needs to
# be about sqrt(pixels / CNN_MAX_PIXELS) times the detector's smallest face (~80 px) at
# upsample 0; "auto" upsampling halves that again.
CNN_MAX_PIXELS = 1_000_000

log = logging.getLogger("affect.face")

Detector = Literal["hog", "cnn"]
Upsample = int | Literal["auto"]
Box = tuple[int, int, int, int]


class FaceNotFoundError(ValueError):
    """No face was detected in an image; the message names the file when it is known."""

    def __init__(self, source: str | os.PathLike | None = None, detail: str = "no face found"):
        self.source = None if source is None else str(source)
        super().__init__(detail if source is None else f"{source}: {detail}")


class ModelFileError(FileNotFoundError):
    """A dlib model file (from the ``face-recognition-models`` package) is missing."""


@dataclass(frozen=True)
class Detection:
    """One detected face.

    Attributes
    ----------
    box : (left, top, right, bottom) int, pixels
        dlib's rectangle; it can reach past the image border for faces cut by the frame.
    score : float
        Detector confidence: the HOG SVM margin, or the CNN's MMOD confidence. Scores of the
        two detectors are on different scales and are only comparable within one detector.
    """

    box: Box
    score: float

    @property
    def width(self) -> int:
        """Box width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        """Box height in pixels."""
        return self.box[3] - self.box[1]


# --------------------------------------------------------------------------------------
# Model files and cached dlib objects
# --------------------------------------------------------------------------------------


def model_file(name: str) -> Path:
    """Path of a model file shipped by the ``face-recognition-models`` package.

    The package's ``__init__`` imports ``pkg_resources``, which recent setuptools no longer
    provides, so the file is located through the import system without importing it.

    Parameters
    ----------
    name : str
        File name inside the package's ``models/`` folder, e.g.
        ``"shape_predictor_68_face_landmarks.dat"``.

    Raises
    ------
    ModelFileError
        The package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / "models" / name
        if candidate.is_file():
            return candidate
    where = f" (looked in {', '.join(folders)})" if folders else ""
    raise ModelFileError(
        f"dlib model file {name} not found{where}; install it with: pip install face-recognition-models"
    )


@functools.cache
def _hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.cache
def _cnn_detector():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_file("mmod_human_face_detector.dat")))


@functools.cache
def _shape_predictor():
    import dlib

    return dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))


# --------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------


def detect_faces(
    image: np.ndarray,
    *,
    detector: Detector = "hog",
    upsample: Upsample = "auto",
    all_faces: bool = False,
) -> list[Detection]:
    """Detect faces, most confident first (paper Sec. 4.1, first step).

    Parameters
    ----------
    image : ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, uint8 or float in [0, 1].
    detector : {"hog", "cnn"}
        dlib's HOG + linear SVM detector (milliseconds on CPU) or its CNN (MMOD) detector
        (more robust to pose and blur, but seconds per megapixel on CPU).
    upsample : int >= 0 or "auto"
        How many times dlib doubles the image before detecting; each doubling lets it find
        faces half as large (the HOG detector's smallest face is about 80 px) at four times
        the cost. ``"auto"`` runs at 0 and, only if nothing is found, once more at 1.
    all_faces : bool
        Return every face found instead of only the most confident one.

    Returns
    -------
    list of Detection
        Empty when no face is found; at most one element unless ``all_faces``.
    """
    pixels = as_rgb_image(image)
    check_choice("detector", detector, DETECTORS)
    if upsample == "auto":
        levels = [0, 1]
    elif _is_count(upsample):
        levels = [int(upsample)]
    else:
        raise ValueError(f"upsample: expected a non-negative int or 'auto', got {upsample!r}")
    run = _run_hog if detector == "hog" else _run_cnn
    for level in levels:
        found = sorted(run(pixels, level), key=lambda d: d.score, reverse=True)
        if found:
            return found if all_faces else found[:1]
    return []


def face_box(image: np.ndarray) -> Box | None:
    """The most confident face's box (left, top, right, bottom) by the HOG detector; None if none."""
    found = detect_faces(image)
    return found[0].box if found else None


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _run_hog(pixels: np.ndarray, upsample: int) -> list[Detection]:
    # ``run`` rather than ``__call__``: only ``run`` returns the SVM scores.
    rectangles, scores, _ = _hog_detector().run(pixels, upsample, 0.0)
    return [Detection(_box(r), float(s)) for r, s in zip(rectangles, scores)]


def _run_cnn(pixels: np.ndarray, upsample: int) -> list[Detection]:
    import cv2

    height, width = pixels.shape[:2]
    scale = min(1.0, (CNN_MAX_PIXELS / (height * width)) ** 0.5)
    if scale < 1.0:
        log.warning(
            "a %.1f-megapixel photo: the CNN detector searches a copy downscaled to %.1f megapixels",
            height * width / 1e6,
            CNN_MAX_PIXELS / 1e6,
        )
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = np.ascontiguousarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))
    found = _cnn_detector()(pixels, upsample)
    return [Detection(tuple(int(round(v / scale)) for v in _box(d.rect)), float(d.confidence)) for d in found]


def _box(rectangle) -> Box:
    return (rectangle.left(), rectangle.top(), rectangle.right(), rectangle.bottom())


# --------------------------------------------------------------------------------------
# Landmarks
# --------------------------------------------------------------------------------------


def detect_landmarks(
    image: np.ndarray,
    box: Detection | Sequence[int] | None = None,
    *,
    detector: Detector = "hog",
    upsample: Upsample = "auto",
    all_faces: bool = False,
) -> np.ndarray:
    """Locate the 68 iBUG landmarks of a face (paper Sec. 4.1).

    Parameters
    ----------
    image : ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, uint8 or float in [0, 1].
    box : Detection or (left, top, right, bottom), optional
        The face to mark; when omitted, faces are found with :func:`detect_faces`.
    detector, upsample :
        Passed to :func:`detect_faces` when ``box`` is omitted.
    all_faces : bool
        Mark every detected face (ignored when ``box`` is given).

    Returns
    -------
    ndarray
        ``(68, 2)`` float64, (x, y) pixels, for the most confident face; ``(F, 68, 2)`` in
        detection order when ``all_faces``.

    Raises
    ------
    FaceNotFoundError
        ``box`` is omitted and no face is detected.
    """
    pixels = as_rgb_image(image)
    if box is not None:
        boxes = [_validated_box(box)]
    else:
        found = detect_faces(pixels, detector=detector, upsample=upsample, all_faces=all_faces)
        if not found:
            raise FaceNotFoundError(None, f"no face found by the {detector} detector")
        boxes = [d.box for d in found]
    shapes = np.stack([_predict_shape(pixels, b) for b in boxes])
    return shapes if all_faces and box is None else shapes[0]


def _validated_box(box: Detection | Sequence[int]) -> Box:
    values = box.box if isinstance(box, Detection) else tuple(box)
    if len(values) != 4:
        raise ValueError(f"box: expected (left, top, right, bottom), got {box!r}")
    left, top, right, bottom = (int(round(v)) for v in values)
    if right <= left or bottom <= top:
        raise ValueError(f"box: expected right > left and bottom > top, got {values}")
    return (left, top, right, bottom)


def _predict_shape(pixels: np.ndarray, box: Box) -> np.ndarray:
    import dlib

    shape = _shape_predictor()(pixels, dlib.rectangle(*box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def landmarks_for(
    image: str | os.PathLike | np.ndarray,
    landmarks: str | os.PathLike | np.ndarray | None = None,
    *,
    detector: Detector = "hog",
    upsample: Upsample = "auto",
) -> np.ndarray:
    """Landmarks of the main face in a photo: the user's if given, else detected ones.

    This is the entry point of the pipeline (paper Sec. 4.1): a user who already holds
    landmarks (e.g. a dataset's annotation) skips detection.

    Parameters
    ----------
    image : str, path-like or ndarray
        The photo, as a file or an array (see :func:`affect.image.as_rgb_image`).
    landmarks : str, path-like, ndarray or None
        A ``.pts`` file, a ``(68, 2)`` (x, y) array, or None to detect them.
    detector, upsample :
        Passed to :func:`detect_faces` when detecting.

    Returns
    -------
    (68, 2) float64 array, (x, y) pixels.

    Raises
    ------
    FaceNotFoundError
        No face detected; the message names the file when ``image`` is a path.
    ValueError
        Given landmarks of the wrong shape, with non-finite values, or mostly outside the
        image (the message names the ``.pts`` file).
    """
    if landmarks is not None:
        if isinstance(landmarks, (str, os.PathLike)):
            points, name = read_pts(landmarks), str(landmarks)
        else:
            points, name = _validated_landmarks(landmarks, "landmarks"), "landmarks"
        _check_in_image(points, as_rgb_image(image).shape[:2], name)
        return points
    pixels = as_rgb_image(image)
    try:
        return detect_landmarks(pixels, detector=detector, upsample=upsample)
    except FaceNotFoundError as error:
        if isinstance(image, (str, os.PathLike)):
            raise FaceNotFoundError(image, str(error)) from None
        raise


def _check_in_image(points: np.ndarray, image_shape: tuple[int, int], name: str) -> None:
    """Refuse landmarks of which more than half lie outside the image.

    A face cut by the photo's border legitimately has some points outside (300-W annotates
    them), but a file with most points outside belongs to another photo or was shifted.
    """
    height, width = image_shape
    x, y = points[:, 0], points[:, 1]
    outside = int(np.count_nonzero((x < 0) | (x > width - 1) | (y < 0) | (y > height - 1)))
    if outside > len(points) // 2:
        raise ValueError(
            f"{name}: {outside} of {len(points)} landmarks lie outside the {width} x {height} "
            "image; are they this photo's?"
        )


def _validated_landmarks(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points)
    if points.shape != (N_LANDMARKS, 2):
        raise ValueError(f"{name}: expected shape ({N_LANDMARKS}, 2), got {points.shape}")
    if not np.issubdtype(points.dtype, np.number):
        raise ValueError(f"{name}: expected a numeric array, got dtype {points.dtype}")
    points = points.astype(np.float64)
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return points


# --------------------------------------------------------------------------------------
# iBUG .pts files
# --------------------------------------------------------------------------------------

_HEADER_LINE = re.compile(r"^\s*(version|n_points)\s*:\s*(\S+)\s*$")


def read_pts(path: str | os.PathLike, n_points: int | None = N_LANDMARKS) -> np.ndarray:
    """Read an iBUG ``.pts`` landmark file as (x, y), 0-based pixels.

    Accepts the 300-W layout (``version: 1``, ``n_points:  68``, ``{``, one ``x y`` per line,
    ``}``) with any spacing; coordinates are taken as 1-based and shifted by -1, as menpo does.
    Written by hand rather than with ``menpo.io`` so that a malformed file is reported by
    line, and so the result is (x, y) without menpo's (y, x) swap.

    Parameters
    ----------
    path : str or path-like
    n_points : int or None
        Required number of points (68 by default); None accepts any count.

    Returns
    -------
    (N, 2) float64 array, (x, y) pixels.

    Raises
    ------
    ValueError
        Missing file, malformed line (the message names file and line number), or a point
        count that differs from ``n_points`` or from the file's own ``n_points`` header.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such .pts file")
    try:
        # utf-8-sig: files saved by Windows editors may start with a byte-order mark
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    declared, points, state = None, [], "header"
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if state == "header":
            match = _HEADER_LINE.match(line)
            if line == "{":
                state = "points"
            elif match and match.group(1) == "n_points":
                declared = _parse_count(match.group(2), path, number)
            elif not match:
                raise ValueError(f"{path}, line {number}: expected a header or '{{', got {raw!r}")
        elif state == "points":
            if line == "}":
                state = "done"
            else:
                points.append(_parse_point(line, path, number))
        else:
            raise ValueError(f"{path}, line {number}: text after the closing '}}': {raw!r}")
    if state != "done":
        missing = "'{'" if state == "header" else "closing '}'"
        raise ValueError(f"{path}: missing {missing}")
    if declared is not None and declared != len(points):
        raise ValueError(f"{path}: header says n_points {declared} but {len(points)} points follow")
    if n_points is not None and len(points) != n_points:
        raise ValueError(f"{path}: expected {n_points} points, found {len(points)}")
    # 300-W coordinates are 1-based (Matlab); menpo's PTS importer subtracts 1 as well.
    return np.array(points, dtype=np.float64).reshape(-1, 2) - 1.0


def _parse_count(text: str, path: Path, number: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path}, line {number}: n_points is not an integer: {text!r}") from None


def _parse_point(line: str, path: Path, number: int) -> tuple[float, float]:
    fields = line.split()
    try:
        x, y = (float(f) for f in fields)
    except ValueError:
        message = f"{path}, line {number}: expected two numbers 'x y', got {line!r}"
        raise ValueError(message) from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"{path}, line {number}: non-finite coordinate in {line!r}")
    return x, y


def write_pts(path: str | os.PathLike, points: np.ndarray) -> Path:
    """Write (x, y) 0-based landmarks as an iBUG ``.pts`` file (1-based, 300-W layout).

    Parameters
    ----------
    path : str or path-like
    points : (N, 2) array, (x, y) pixels, finite.

    Returns
    -------
    Path of the written file.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points: expected shape (N, 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("points contains NaN or infinite values")
    # Two spaces after "n_points:" as in the original 300-W files; 6 decimals keep
    # sub-pixel precision well below annotation noise.
    body = "\n".join(f"{x:.6f} {y:.6f}" for x, y in points + 1.0)
    text = f"version: 1\nn_points:  {len(points)}\n{{\n{body}\n}}\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Command line: ``affect landmarks photo.jpg [-o photo.pts]``
# --------------------------------------------------------------------------------------
