"""Facial affect synthesis on a photo: static VA, VA path, basic expression (Sec. 4.5.2, Fig. 4).

The user gives a photo and an affect: a valence-arousal point (static synthesis), a
path in the VA space (temporal synthesis, one frame per point) or one of the six basic
expressions. The photo's face is detected, fitted and textured once (Sec. 4.1 to 4.3,
:func:`affect.face.reconstruction.reconstruct`); for every affect the affect model
(:mod:`affect.gallery.affect_model`) gives a mean-face deformation, which is added to the
reconstructed face, rendered and Poisson-blended back into the photo (Sec. 4.3, 4.4). The
paper's photos are neutral; for others the photo's own fitted expression is removed first
unless ``keep_expression`` is set.

Each result reports whether the person still looks like themselves: the distance between
dlib's identity descriptors of the input and the output face (below 0.6 reads as the same
person, :data:`affect.face.recognition.SAME_PERSON_THRESHOLD`), and whether every pixel outside the
blended face region is the input's.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect.face.blending import METHODS as BLEND_METHODS
from affect.face.morphable_model import MorphableModel, load_default
from affect.face.reconstruction import Reconstruction, StageTimer, reconstruct, render_affect
from affect.gallery.affect_mapping import ACTION_UNITS, au_to_blendshapes
from affect.gallery.affect_model import AffectModel, check_va_path, ensure_default_affect_model
from affect.image import as_rgb_image
from affect.va_paths import read_va_path
from affect.vocabulary import DETECTORS, check_choice

__all__ = [
    "ACTION_UNITS",
    "PATH_IDENTITY_EVERY",
    "identity_frames",
    "AffectSynthesizer",
    "PreparedPhoto",
    "SynthesizedImage",
]

#: Largest intensity of an affect or action unit: twice the model's (calibrated) movement, beyond
#: which the blendshapes' linear extrapolation stops looking like a face.
MAX_INTENSITY = 2.0

#: Frames per second of GIF and MP4 sequences unless told otherwise.
DEFAULT_FPS = 10.0

#: A VA path's identity distance is measured on its first and last frames and every this-many-th
#: one: dlib's descriptor costs about 90 ms a face, twice the 40 ms of a 512 px frame, and the
#: identity barely changes from one frame of a path to the next.
PATH_IDENTITY_EVERY = 25


def identity_frames(n_frames: int, every: int = PATH_IDENTITY_EVERY) -> tuple[int, ...]:
    """The frames of an ``n_frames`` path whose identity distance is measured: the first, every
    ``every``-th (0, every, 2 every, ...) and the last; all of them for ``every`` 1."""
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"identity_every: expected a whole number >= 1, got {every!r}")
    if n_frames < 1:
        return ()
    return tuple(sorted({*range(0, n_frames, int(every)), n_frames - 1}))


@dataclass(frozen=True, eq=False)
class SynthesizedImage:
    """One photo with a new affect (Sec. 4.5.2).

    Attributes
    ----------
    image : (H, W, 3) uint8
        The input photo with the deformed face blended in; same size as the input.
    target : (valence, arousal) tuple of float, or str
        The VA point asked for, or the basic expression's name.
    va_class : int
        The VA class whose mean face was added; -1 for a basic expression.
    identity_distance : float
        Distance between dlib identity descriptors of the input and this image (< 0.6:
        same person), the largest over the edited faces; NaN when it could not be computed.
    unchanged_outside : bool
        True when every pixel outside ``mask`` equals the input's.
    mask : (H, W) bool
        Pixels covered by the rendered face (the Poisson-blending region).
    landmarks : (68, 2) float, or (F, 68, 2) for several faces
        The deformed faces' landmarks projected into the image (x, y pixels).
    """

    image: np.ndarray
    target: tuple[float, float] | str
    va_class: int
    identity_distance: float
    unchanged_outside: bool
    mask: np.ndarray
    landmarks: np.ndarray


@dataclass(eq=False)
class PreparedPhoto:
    """What is computed once per photo (:meth:`AffectSynthesizer.prepare`): the pixels, the
    reconstruction (Sec. 4.1 to 4.3) and, on first use, the input's identity descriptor."""

    pixels: np.ndarray
    reconstruction: Reconstruction
    descriptor: np.ndarray | None = None  # identity descriptor of the input, on first use


class AffectSynthesizer:
    """Adds affect to photos with an affect model; one 3DMM fit per photo (Sec. 4.5.2, Fig. 4).

    Parameters
    ----------
    affect_model : AffectModel
        Mean deformations per VA class and basic expression.
    face_model : MorphableModel, optional
        The morphable model fitted to photos; defaults to :func:`affect.face.morphable_model.load_default`.
        Its vertices must be those of the affect model's deformations.
    detector : ``'hog'`` or ``'cnn'``
        dlib face detector for photos without given landmarks.
    measure_identity : bool
        Compute the identity distance of each result (about half a second per image on one
        CPU core); False gives NaN.
    cache_size : int
        Photos whose reconstruction is kept for reuse.
    blend_method : ``'dst'`` or ``'opencv'``
        Poisson solver (:func:`affect.face.blending.poisson_blend`): the sine-transform solve
        (default, faster) or OpenCV's ``seamlessClone``; the images agree to about half a grey level.
    keep_expression : bool
        Add the affect on top of the photo's own fitted expression, as the paper does with its
        neutral photos. Default False: the photo's expression is removed first (the identity's
        neutral face plus the affect), so that a smiling photo can be made sad or angry.
    """

    def __init__(
        self,
        affect_model: AffectModel,
        face_model: MorphableModel | None = None,
        *,
        detector: str = "hog",
        measure_identity: bool = True,
        cache_size: int = 16,
        blend_method: str = "dst",
        keep_expression: bool = False,
    ):
        if not isinstance(affect_model, AffectModel):
            raise ValueError(f"affect_model: expected an AffectModel, got {type(affect_model).__name__}")
        face_model = face_model or load_default()
        if face_model.n_vertices != affect_model.n_vertices:
            raise ValueError(
                f"face_model: {face_model.name!r} has {face_model.n_vertices} vertices but the affect "
                f"model ({affect_model.face_model or 'unnamed'}) deforms {affect_model.n_vertices}"
            )
        check_choice("detector", detector, DETECTORS)
        if int(cache_size) != cache_size or cache_size < 1:
            raise ValueError(f"cache_size: expected a positive integer, got {cache_size!r}")
        self.affect_model = affect_model
        self.face_model = face_model
        self.detector = detector
        self.measure_identity = bool(measure_identity)
        self.cache_size = int(cache_size)
        check_choice("blend_method", blend_method, BLEND_METHODS)
        self.blend_method = blend_method
        self.keep_expression = bool(keep_expression)
        #: A :data:`affect.face.reconstruction.StageTimer` that every rendering runs its stages in
        #: (None: untimed); ``make bench`` sets it to see where the time of an image goes.
        self.stage_timer: StageTimer | None = None
        self._cache: OrderedDict[tuple, PreparedPhoto] = OrderedDict()

    @classmethod
    def from_file(
        cls, path: str | os.PathLike | None = None, face_model: MorphableModel | None = None, **options
    ) -> AffectSynthesizer:
        """Load the affect model at ``path``; by default :func:`affect.gallery.affect_model.default_affect_model_path`,
        built on first use (:func:`affect.gallery.affect_model.ensure_default_affect_model`)."""
        return cls(AffectModel.load(ensure_default_affect_model() if path is None else path), face_model, **options)

    def __getstate__(self) -> dict:
        # Worker processes get the models, not the fits of photos they will never see.
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        return state

    # ----------------------------------------------------------------------- per photo
    def reconstruction(self, image: str | os.PathLike | np.ndarray, landmarks=None) -> Reconstruction:
        """Return the photo's reconstruction (Sec. 4.1 to 4.3), fitted once and then reused.

        Parameters
        ----------
        image : path, (H, W, 3) array, or the photo's :meth:`prepare`
            The neutral photo.
        landmarks : (68, 2) array or path to a ``.pts`` file, optional
            The face's landmarks (x, y pixels); detected when omitted (the most confident face).
            The synthesis methods also take (F, 68, 2) arrays: every face given is edited.
        """
        prepared = self._prepare(image, landmarks)
        if isinstance(prepared, list):
            raise ValueError("landmarks: give one face's (68, 2) points for its reconstruction")
        return prepared.reconstruction

    def prepare(self, image: str | os.PathLike | np.ndarray, landmarks=None) -> PreparedPhoto | list[PreparedPhoto]:
        """Fit a photo once, for many affects: the synthesis methods take the result in place of
        the image (and its landmarks), and then skip the lookup of the photo's fit by content.

        Parameters
        ----------
        image, landmarks : see :meth:`reconstruction`; (F, 68, 2) landmarks give a list of F.
        """
        return self._prepare(image, landmarks)

    def forget_photos(self) -> None:
        """Drop the reconstructions kept for reuse: the next call on any photo fits it again."""
        self._cache.clear()

    def _prepare(self, image, landmarks) -> PreparedPhoto | list[PreparedPhoto]:
        if isinstance(image, PreparedPhoto) or (
            isinstance(image, list) and image and all(isinstance(face, PreparedPhoto) for face in image)
        ):
            if landmarks is not None:
                raise ValueError("landmarks: a prepared photo carries its own; give none")
            return image
        if landmarks is not None and not isinstance(landmarks, (str, os.PathLike)):
            points = np.asarray(landmarks, dtype=np.float64)
            if points.ndim == 3:  # several faces: one fit each
                if len(points) == 0:
                    raise ValueError("landmarks: no face given")
                faces = [self._prepare_one(image, face) for face in points]
                return faces[0] if len(faces) == 1 else faces
        return self._prepare_one(image, landmarks)

    def _prepare_one(self, image, landmarks) -> PreparedPhoto:
        key = (_cache_key(image), _cache_key(landmarks))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        pixels = as_rgb_image(image, "image")
        # Detection gets the path when there is one, so that "no face" names the file.
        photo = image if isinstance(image, (str, os.PathLike)) else pixels
        recon = reconstruct(photo, landmarks=landmarks, model=self.face_model, detector=self.detector)
        prepared = PreparedPhoto(pixels=pixels, reconstruction=recon)
        self._cache[key] = prepared
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    # ------------------------------------------------------------------------ affects
    def static(
        self,
        image: str | os.PathLike | np.ndarray,
        va: Sequence[float],
        *,
        landmarks=None,
        seed: int | None = None,
        intensity: float = 1.0,
    ) -> SynthesizedImage:
        """Add the mean face of a VA point's class to the photo (static synthesis, Sec. 4.5.2).

        Parameters
        ----------
        image : path, (H, W, 3) array, or the photo's :meth:`prepare`
        va : (valence, arousal), each in [-1, 1]
        landmarks : optional, see :meth:`reconstruction`
        seed : int, optional
            Draw a variation around the class's mean face from its sparse blendshape model
            (Sec. 4.5.3; the affect model must hold one for the class). None: the mean face.
        intensity : float
            Scale of the deformation, in [0, 2] (:data:`MAX_INTENSITY`): 1 is the class's mean
            face, 0 the photo's neutral face, 2 twice the movement.

        Returns
        -------
        SynthesizedImage
        """
        scale = check_intensity(intensity)
        valence, arousal = _va_pair(va)
        va_class = self.affect_model.va_class(valence, arousal)
        delta = (
            self.affect_model.class_means[va_class].astype(np.float64)
            if seed is None
            else self.affect_model.sample_delta(va_class, seed)
        )
        return self._render(self._prepare(image, landmarks), scale * delta, (valence, arousal), va_class)

    def temporal(
        self,
        image: str | os.PathLike | np.ndarray,
        path,
        *,
        landmarks=None,
        intensity: float = 1.0,
        identity_every: int = PATH_IDENTITY_EVERY,
    ) -> list[SynthesizedImage]:
        """Follow a VA path with one synthesized frame per point (temporal synthesis, Sec. 4.5.2).

        Parameters
        ----------
        image : path, (H, W, 3) array, or the photo's :meth:`prepare`
        path : (T, 2) array-like of (valence, arousal), or a CSV file (see :func:`read_va_path`)
        landmarks : optional, see :meth:`reconstruction`
        intensity : float
            Scale of every frame's deformation, in [0, 2] (see :meth:`static`).
        identity_every : int
            Measure the identity distance on the frames :func:`identity_frames` names (the first,
            the last and every ``identity_every``-th; 1: every frame); the others have NaN.

        Returns
        -------
        list of T SynthesizedImage, in path order.
        """
        return list(
            self.iter_temporal(image, path, landmarks=landmarks, intensity=intensity, identity_every=identity_every)
        )

    def iter_temporal(
        self,
        image: str | os.PathLike | np.ndarray,
        path,
        *,
        landmarks=None,
        intensity: float = 1.0,
        identity_every: int = PATH_IDENTITY_EVERY,
    ) -> Iterator[SynthesizedImage]:
        """:meth:`temporal` one frame at a time, so a long path is written as it is made.

        The path is read and checked and the photo fitted before the first frame is yielded.
        """
        scale = check_intensity(intensity)
        points = read_va_path(path) if isinstance(path, (str, os.PathLike)) else check_va_path(path, "path")
        measured = set(identity_frames(len(points), identity_every))
        prepared = self._prepare(image, landmarks)
        classes = np.asarray(self.affect_model.va_classes.lookup(points[:, 0], points[:, 1])).reshape(-1)

        def frames() -> Iterator[SynthesizedImage]:
            for index, ((v, a), k) in enumerate(zip(points, classes)):
                delta = scale * self.affect_model.class_means[k].astype(np.float64)
                yield self._render(prepared, delta, (float(v), float(a)), int(k), identity=index in measured)

        return frames()

    def basic(
        self,
        image: str | os.PathLike | np.ndarray,
        expression: str,
        *,
        landmarks=None,
        seed: int | None = None,
        intensity: float = 1.0,
    ) -> SynthesizedImage:
        """Add the mean face of a basic expression to the photo (Sec. 4.5.2).

        Parameters
        ----------
        image : path, (H, W, 3) array, or the photo's :meth:`prepare`
        expression : str
            anger, disgust, fear, happiness, sadness or surprise.
        landmarks : optional, see :meth:`reconstruction`
        seed : int, optional
            Draw a variation from the expression's sparse blendshape model (Sec. 4.5.3).
        intensity : float
            Scale of the deformation, in [0, 2] (see :meth:`static`).

        Returns
        -------
        SynthesizedImage
        """
        scale = check_intensity(intensity)
        delta = (
            self.affect_model.delta_for_expression(expression)
            if seed is None
            else self.affect_model.sample_delta(expression, seed)
        )
        return self._render(self._prepare(image, landmarks), scale * delta, expression, -1)

    def action_units(
        self, image: str | os.PathLike | np.ndarray, aus: Mapping[int, float], *, landmarks=None
    ) -> SynthesizedImage:
        """Add action units at chosen intensities to the photo (FACS; :data:`ACTION_UNITS`).

        The AUs drive the face model's blendshapes by :data:`affect.gallery.affect_mapping.AU_BLENDSHAPES`
        with the kit's calibrated amplitudes, the same way the affect model's gallery is made.

        Parameters
        ----------
        image : path, (H, W, 3) array, or the photo's :meth:`prepare`
        aus : mapping of AU number to intensity in [0, 2], e.g. ``{4: 1.0, 7: 0.6, 23: 0.8}``
        landmarks : optional, see :meth:`reconstruction`

        Returns
        -------
        SynthesizedImage whose target is the AUs written as ``'AU4=1 AU7=0.6'``.
        """
        weights = au_to_blendshapes(aus, self.face_model.expression_names, max_intensity=MAX_INTENSITY)
        delta = np.tensordot(weights, self.face_model.expression_basis, axes=1).astype(np.float64)
        label = " ".join(f"AU{int(au)}={float(value):g}" for au, value in sorted(aus.items()))
        return self._render(self._prepare(image, landmarks), delta, label, -1)

    def _render(
        self,
        prepared: PreparedPhoto | list[PreparedPhoto],
        delta: np.ndarray,
        target,
        va_class: int,
        identity: bool = True,
    ) -> SynthesizedImage:
        faces = prepared if isinstance(prepared, list) else [prepared]
        pixels = faces[0].pixels
        canvas, mask, landmarks, distances = pixels, np.zeros(pixels.shape[:2], bool), [], []
        for face in faces:  # several faces are edited one after another into the same image
            face_delta = delta if self.keep_expression else delta - face.reconstruction.expression_offset
            rendered = render_affect(
                canvas, face.reconstruction, face_delta, blend_method=self.blend_method, timer=self.stage_timer
            )
            canvas, mask = rendered.image, mask | rendered.mask
            landmarks.append(rendered.landmarks)
            distances.append(self._identity_distance(face, canvas, rendered.landmarks) if identity else np.nan)
        unchanged = _unchanged_outside(canvas, pixels, mask)
        return SynthesizedImage(
            image=canvas,
            target=target,
            va_class=int(va_class),
            identity_distance=max(distances),
            unchanged_outside=unchanged,
            mask=mask,
            landmarks=landmarks[0] if len(faces) == 1 else np.stack(landmarks),
        )

    def _identity_distance(self, prepared: PreparedPhoto, image: np.ndarray, landmarks: np.ndarray) -> float:
        if not self.measure_identity:
            return float("nan")
        from affect.face.recognition import face_descriptor

        try:
            if prepared.descriptor is None:
                prepared.descriptor = face_descriptor(prepared.pixels, prepared.reconstruction.fit.landmarks)
            output = face_descriptor(image, landmarks)
        # dlib raises RuntimeError for degenerate crops; a missing recognition model file is
        # a FileNotFoundError. Neither should cost the user the synthesized image.
        except (RuntimeError, ValueError, FileNotFoundError):
            return float("nan")
        return float(np.linalg.norm(prepared.descriptor - output))


def _unchanged_outside(image: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> bool:
    """Whether every pixel of ``image`` outside ``mask`` (H, W) equals ``photo``'s; both (H, W, C).

    Compares whole rows against the mask repeated per channel rather than gathering the pixels
    outside the mask (a tenth of the time at 256 px).
    """
    rows = len(mask)
    outside = np.repeat(~mask, image.shape[2], axis=1)
    return not np.any(np.not_equal(image.reshape(rows, -1), photo.reshape(rows, -1)) & outside)


def check_intensity(intensity: float, name: str = "intensity") -> float:
    """``intensity`` as a float, checked to lie in [0, :data:`MAX_INTENSITY`] (NaN refused); the
    error names the argument ``name``."""
    value = float(intensity)
    if not 0.0 <= value <= MAX_INTENSITY:
        raise ValueError(f"{name}: expected a number in [0, {MAX_INTENSITY:g}], got {value:g}")
    return value


def _va_pair(va: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(va, dtype=np.float64).reshape(-1)
    if values.shape != (2,):
        raise ValueError(f"va: expected (valence, arousal), got {len(values)} values")
    for label, value in zip(("valence", "arousal"), values):
        if not abs(value) <= 1.0:
            raise ValueError(f"va: {label} {value:g} is outside [-1, 1]")
    return float(values[0]), float(values[1])


def _cache_key(source) -> tuple | None:
    """A cache key for a photo or landmarks: the file (path, size, time) or the array's bytes."""
    if source is None:
        return None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).resolve()
        try:
            stat = path.stat()
        except OSError:
            return ("file", str(path))  # reading it will raise the error that names it
        return ("file", str(path), stat.st_size, stat.st_mtime_ns)
    array = np.ascontiguousarray(source)
    # A content hash, not id(): ids are reused once an array is freed, and equal photos
    # loaded twice should share one fit. SHA-1 (hardware-accelerated in OpenSSL) hashes the
    # array's buffer in place: 0.15 ms for a 256 px photo against 0.4 ms for blake2b of a copy.
    digest = hashlib.sha1(array).hexdigest()
    return ("array", array.shape, str(array.dtype), digest)
