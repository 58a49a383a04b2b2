"""Stand-in face photos rendered from the morphable model, for the proxy databases.

The affect databases of the paper (Sec. 5: AffectNet, Aff-Wild, RECOLA, AFEW-VA, RAF-DB,
AFEW, BU-3DFE) are licensed. Their stand-ins keep the real on-disk formats, and their
pictures come from here: a face of the kit's own 3D model with a sampled identity and
expression, a skin and hair colour, a head pose, Lambertian lighting, a background, and the
degradations of a camera (blur, sensor noise, JPEG). Two conditions mimic the two kinds of
database: ``"in-the-wild"`` (AffectNet, Aff-Wild, AFEW: varied pose, light, clutter, low
quality) and ``"controlled"`` (RECOLA, BU-3DFE: near-frontal, even light, plain background).
A scene may carry the subject's ``age`` (years); the face then shows it (:func:`aged_shape`
and the ageing cues of :func:`render_face`: greying hair, wrinkles, a child's proportions), so
an age estimator (Sec. 6.5) has something to learn on stand-in data.

The model only covers the face area, so the head behind it (skull, hair, ears, neck) is an
ellipsoid and a cylinder drawn into the same z-buffer; without the dark hair mass around the
forehead dlib's HOG detector misses many faces.

Images are RGB uint8. Landmarks are the model's 68 iBUG landmark vertices projected through
the camera, ``(68, 2)`` float, x then y in pixels (pixel centres at integers). For a turned
head the jaw-line points are those vertices, not the silhouette that a 2D annotator marks.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from tqdm.auto import tqdm

from affect.face.camera import Camera, default_focal_length
from affect.face.morphable_model import MorphableModel, load_default
from affect.face.rendering import rasterize
from affect.vocabulary import BOTH_EYES, BROWS, EYES, LEFT_EYE, N_LANDMARKS, OUTER_LIPS, RIGHT_EYE

__all__ = [
    "CONDITIONS",
    "BACKGROUNDS",
    "SKIN_TONES",
    "SceneParameters",
    "sample_scene",
    "sample_scenes",
    "render_face",
    "render_faces",
    "aged_shape",
    "scene_shape",
    "save_scenes",
    "load_scenes",
]

Condition = Literal["in-the-wild", "controlled"]
CONDITIONS: tuple[str, ...] = ("in-the-wild", "controlled")
BACKGROUNDS: tuple[str, ...] = ("plain", "gradient", "noise", "clutter")

#: Skin albedo anchors in sRGB, light to dark: the ten swatches of the Monk Skin Tone scale
#: (Monk 2019, released by Google under CC-BY 4.0 in 2022), from hex #f6ede4 to #292420.
#: Sampled tones interpolate between neighbouring swatches.
SKIN_TONES = (
    np.array(
        [
            [0xF6, 0xED, 0xE4],
            [0xF3, 0xE7, 0xDB],
            [0xF7, 0xEA, 0xD0],
            [0xEA, 0xDA, 0xBA],
            [0xD7, 0xBD, 0x96],
            [0xA0, 0x7E, 0x56],
            [0x82, 0x5C, 0x43],
            [0x60, 0x41, 0x34],
            [0x3A, 0x31, 0x2A],
            [0x29, 0x24, 0x20],
        ],
        dtype=np.float64,
    )
    / 255.0
)

#: Hair colours in sRGB, from black through browns to blond and grey.
_HAIR_COLORS = np.array(
    [
        [0.05, 0.04, 0.04],
        [0.12, 0.08, 0.06],
        [0.22, 0.14, 0.09],
        [0.35, 0.24, 0.15],
        [0.55, 0.42, 0.26],
        [0.45, 0.43, 0.41],
    ]
)

# Size of the frontal mean face that ``face_size`` refers to: the larger side of the
# bounding box of its 68 landmarks (14.7 cm wide for ICT-FaceKit), measured per model.
# Head proxy, in model centimetres: an ellipsoid for skull and hair and a neck cylinder.
# Sizes are those of an adult head (about 15 cm wide, 20 cm deep, 23 cm from chin to crown)
# placed so that its front surface lies just behind the face mesh.
_HEAD_CENTRE = np.array([0.0, 2.5, -0.8])
_HEAD_RADII = np.array([7.8, 11.0, 9.6])
_NECK_RADIUS = 5.6
_NECK_RANGE = (-20.0, -4.0)
_HAIRLINE = 7.6  # cm above the origin at the front of the head; hair above it

# Rec. 709 luma weights, and the mean face luminance that auto-exposure aims for.
_LUMA = np.array([0.2126, 0.7152, 0.0722])
_EXPOSURE_TARGET = 0.42

_SCLERA = np.array([0.86, 0.82, 0.78])

#: Ages a scene may carry, years (IMDB-WIKI's and the DEX estimator's 0 to 100).
AGE_RANGE = (0, 100)
# Ageing cues (kit choices, tuned by eye so that a 64 px crop shows them): hair greys from 35
# and is white-grey by 75; wrinkles deepen from 25 to 80; below 16 the face is smaller under
# an adult-sized head and its lower half shorter (a child's proportions), most so at 2.
_GREY_HAIR = np.array([0.80, 0.79, 0.77])
_GREYING_AGES = (35.0, 75.0)
_WRINKLE_AGES = (25.0, 80.0)
_WRINKLE_DEPTH = 0.5  # albedo darkening in the deepest fold
_CHILD_AGES = (2.0, 16.0)
_MOUTH_INTERIOR = np.array([0.22, 0.07, 0.07])


@dataclass(frozen=True, eq=False)
class SceneParameters:
    """Everything that determines one stand-in face photo.

    Attributes
    ----------
    identity : (K_id,) float
        Identity coefficients of the morphable model (standard deviations).
    expression : (K_exp,) float
        Blendshape weights in [0, 1] (Eq. 1 extended by expressions).
    yaw, pitch, roll : float, degrees
        Head rotation: yaw turns the face towards the subject's left (image right for a
        frontal camera), pitch raises the chin (the nose moves up), roll turns the face
        counter-clockwise in the image (the head leans towards the subject's right shoulder).
    skin_tone, hair_color : (3,) float
        sRGB albedo in [0, 1].
    light_direction : (3,) float
        Unit vector in the camera frame (x right, y down, z forward) pointing from the face
        towards the light; ``(0, 0, -1)`` is a light at the camera.
    light_intensity, ambient : float
        Lambertian term weight and ambient term: ``albedo * (ambient + intensity * max(0, n.l))``.
    background : str
        One of :data:`BACKGROUNDS`.
    background_colors : (2, 3) float
        Two sRGB colours in [0, 1] the background is built from.
    blur_sigma : float, pixels
        Gaussian blur (focus, motion, resampling); 0 for none.
    noise_sigma : float, grey levels of 255
        Standard deviation of additive Gaussian sensor noise.
    jpeg_quality : int or None
        Quality of the JPEG round trip (1 to 100); None for none.
    image_shape : (height, width) int, pixels
    face_size : float, pixels
        Larger side of the landmark bounding box the face would have seen frontally.
    offset : (2,) float, pixels
        Position of the face centre relative to the image centre (x right, y down).
    seed : int
        Seed of the background pattern and the sensor noise.
    age : float or None, years
        The subject's age, shown by the face (:func:`aged_shape`, greying hair, wrinkles);
        None renders the face without any ageing cue.
    """

    identity: np.ndarray
    expression: np.ndarray
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    skin_tone: np.ndarray = (0.84, 0.74, 0.59)
    hair_color: np.ndarray = (0.12, 0.08, 0.06)
    light_direction: np.ndarray = (0.0, 0.0, -1.0)
    light_intensity: float = 0.7
    ambient: float = 0.35
    background: str = "plain"
    background_colors: np.ndarray = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None
    image_shape: tuple[int, int] = (256, 256)
    face_size: float = 128.0
    offset: np.ndarray = (0.0, 0.0)
    seed: int = 0
    age: float | None = None

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        for name in ("identity", "expression"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim != 1 or not np.all(np.isfinite(value)):
                raise ValueError(f"{name}: expected a finite 1-D vector, got shape {value.shape}")
            set_(name, _readonly(value))
        for name in ("yaw", "pitch", "roll"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or abs(value) > 90:
                raise ValueError(f"{name}: expected degrees in [-90, 90], got {value}")
            set_(name, value)
        for name in ("skin_tone", "hair_color"):
            set_(name, _readonly(_colour(getattr(self, name), name)))
        direction = np.asarray(self.light_direction, dtype=np.float64).reshape(-1)
        norm = np.linalg.norm(direction) if direction.shape == (3,) else 0.0
        if not np.isfinite(norm) or norm < 1e-9:
            raise ValueError(f"light_direction: expected a non-zero (3,) vector, got {self.light_direction!r}")
        set_("light_direction", _readonly(direction / norm))
        for name in ("light_intensity", "ambient", "blur_sigma", "noise_sigma"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a non-negative number, got {value}")
            set_(name, value)
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background: expected one of {BACKGROUNDS}, got {self.background!r}")
        colours = np.asarray(self.background_colors, dtype=np.float64)
        if colours.shape != (2, 3) or colours.min() < 0 or colours.max() > 1:
            raise ValueError("background_colors: expected (2, 3) sRGB values in [0, 1]")
        set_("background_colors", _readonly(colours))
        if self.jpeg_quality is not None:
            quality = int(self.jpeg_quality)
            if not 1 <= quality <= 100:
                raise ValueError(f"jpeg_quality: expected 1 to 100 or None, got {self.jpeg_quality!r}")
            set_("jpeg_quality", quality)
        try:
            height, width = (int(v) for v in self.image_shape)
        except (TypeError, ValueError):
            raise ValueError(f"image_shape: expected (height, width), got {self.image_shape!r}") from None
        if height < 8 or width < 8:
            raise ValueError(f"image_shape: expected at least 8 x 8 pixels, got {self.image_shape!r}")
        set_("image_shape", (height, width))
        face_size = float(self.face_size)
        if not np.isfinite(face_size) or face_size <= 0:
            raise ValueError(f"face_size: expected a positive number of pixels, got {self.face_size!r}")
        set_("face_size", face_size)
        offset = np.asarray(self.offset, dtype=np.float64).reshape(-1)
        if offset.shape != (2,) or not np.all(np.isfinite(offset)):
            raise ValueError(f"offset: expected a finite (2,) vector, got {self.offset!r}")
        set_("offset", _readonly(offset))
        set_("seed", int(self.seed))
        if self.age is not None:
            age = float(self.age)
            if not np.isfinite(age) or not 0 <= age <= AGE_RANGE[1]:
                raise ValueError(f"age: expected years in [0, {AGE_RANGE[1]}] or None, got {self.age!r}")
            set_("age", age)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


def _colour(value, name: str) -> np.ndarray:
    colour = np.asarray(value, dtype=np.float64).reshape(-1)
    if colour.shape != (3,) or not np.all((colour >= 0) & (colour <= 1)):
        raise ValueError(f"{name}: expected an sRGB (3,) colour in [0, 1], got {value!r}")
    return colour


# --------------------------------------------------------------------------------------
# Sampling scenes
# --------------------------------------------------------------------------------------


def sample_scene(
    rng: np.random.Generator | int,
    condition: Condition = "in-the-wild",
    *,
    model: MorphableModel | None = None,
    identity: np.ndarray | None = None,
    expression: np.ndarray | None = None,
    image_shape: tuple[int, int] = (256, 256),
    max_yaw: float | None = None,
) -> SceneParameters:
    """Draw the parameters of one stand-in photo for a database of the given condition.

    ``"in-the-wild"`` spreads head pose (yaw sd 20 deg up to 60, pitch sd 10, roll sd 8),
    lights from anywhere in front with a varying ambient share, backgrounds from gradients,
    noise and clutter, blur up to 1.5 px (per 256 px of image), noise up to 8 grey levels
    and JPEG quality 40 to 95. ``"controlled"`` keeps the head near frontal (sd 3 deg), the light near the camera,
    a plain background, little blur and noise, and JPEG quality 90 to 100 - the lab
    databases (RECOLA, BU-3DFE) look like that.

    Parameters
    ----------
    rng : numpy Generator or int
        Source of randomness, or the seed of a new one.
    condition : {"in-the-wild", "controlled"}
    model : MorphableModel, optional
        Defaults to :func:`affect.face.morphable_model.load_default`.
    identity : (K_id,) array, optional
        Keep this identity (e.g. one subject over many images); drawn from the prior if None.
    expression : (K_exp,) array, optional
        Blendshape weights; neutral if None.
    image_shape : (height, width)
    max_yaw : float, optional
        Clip |yaw| to this many degrees (default 60 in the wild, 10 controlled).

    Returns
    -------
    SceneParameters
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition: expected one of {CONDITIONS}, got {condition!r}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    model = load_default() if model is None else model
    if identity is None:
        identity = model.sample_identity(seed=int(rng.integers(2**31)))
    elif np.shape(identity) != (model.n_identity,):
        raise ValueError(f"identity: expected shape ({model.n_identity},), got {np.shape(identity)}")
    if expression is None:
        expression = np.zeros(model.n_expression)
    elif np.shape(expression) != (model.n_expression,):
        raise ValueError(f"expression: expected shape ({model.n_expression},), got {np.shape(expression)}")
    height, width = (int(v) for v in image_shape)
    wild = condition == "in-the-wild"
    scale = min(height, width) / 256.0  # blur is given for a 256-pixel frame
    yaw_limit = (60.0 if wild else 10.0) if max_yaw is None else float(max_yaw)

    def normal(sd: float, limit: float) -> float:
        return float(np.clip(rng.normal(0.0, sd), -limit, limit))

    skin = _interpolate(SKIN_TONES, rng.uniform(0, len(SKIN_TONES) - 1))
    hair = _HAIR_COLORS[rng.integers(len(_HAIR_COLORS))] * rng.uniform(0.8, 1.2)
    if wild:
        pose = (normal(20, yaw_limit), normal(8, 25), normal(6, 20))
        # Lights within ~60 deg of the viewing axis, more often from above.
        light = np.array([rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.4), -1.0])
        intensity, ambient = rng.uniform(0.45, 0.9), rng.uniform(0.25, 0.5)
        background = str(rng.choice(["gradient", "noise", "clutter", "clutter"]))
        colours = rng.uniform(0.0, 1.0, (2, 3))
        blur, noise = rng.uniform(0.3, 1.5) * scale, rng.uniform(0.0, 8.0)
        quality = int(rng.integers(40, 96))
        face = rng.uniform(0.4, 0.6) * min(height, width)
        offset = rng.uniform(-0.08, 0.08, 2) * (width, height)
    else:
        pose = (normal(3, yaw_limit), normal(3, 10), normal(2, 10))
        light = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.3, 0.0), -1.0])
        intensity, ambient = rng.uniform(0.55, 0.7), rng.uniform(0.35, 0.45)
        background = "plain"
        grey = rng.uniform(0.25, 0.9)
        colours = np.clip(grey + rng.uniform(-0.05, 0.05, (2, 3)), 0, 1)
        blur, noise = rng.uniform(0.3, 0.6) * scale, rng.uniform(0.0, 2.0)
        quality = int(rng.integers(90, 101))
        face = rng.uniform(0.5, 0.6) * min(height, width)
        offset = rng.uniform(-0.02, 0.02, 2) * (width, height)
    return SceneParameters(
        identity=identity,
        expression=expression,
        yaw=pose[0],
        pitch=pose[1],
        roll=pose[2],
        skin_tone=np.clip(skin, 0, 1),
        hair_color=np.clip(hair, 0, 1),
        light_direction=light,
        light_intensity=intensity,
        ambient=ambient,
        background=background,
        background_colors=colours,
        blur_sigma=blur,
        noise_sigma=noise,
        jpeg_quality=quality,
        image_shape=(height, width),
        face_size=face,
        offset=offset,
        seed=int(rng.integers(2**31)),
    )


def sample_scenes(
    n: int,
    condition: Condition = "in-the-wild",
    seed: int = 0,
    **options,
) -> list[SceneParameters]:
    """Draw ``n`` scenes with :func:`sample_scene` from one seeded generator."""
    if int(n) < 0:
        raise ValueError(f"n: expected a non-negative count, got {n}")
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, condition, **options) for _ in range(int(n))]


def _interpolate(table: np.ndarray, position: float) -> np.ndarray:
    low = int(np.floor(position))
    high = min(low + 1, len(table) - 1)
    return table[low] + (position - low) * (table[high] - table[low])


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unit vertex normals: area-weighted sums of the adjacent triangles' normals.

    Parameters
    ----------
    vertices : (N, 3) float
    triangles : (T, 3) int, counter-clockwise seen from outside

    Returns
    -------
    (N, 3) float64, pointing outwards; zero for vertices in no triangle.
    """
    corners = vertices[triangles]
    face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    n = len(vertices)
    # bincount over the three corners is ~5x faster than np.add.at (numpy 2.4).
    index = triangles.T.reshape(-1)
    normals = np.stack([np.bincount(index, np.tile(face[:, c], 3), minlength=n) for c in range(3)], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


@dataclass(frozen=True, eq=False)
class _FaceLayout:
    """Per-model quantities shared by every rendering (computed once per model)."""

    brow: np.ndarray  # (N,) weight of eyebrow colour
    lip: np.ndarray  # (N,) weight of lip colour
    lash: np.ndarray  # (N,) weight of the dark eyelid margin
    hair: np.ndarray  # (N,) weight of hair colour (fringe at the top of the forehead)
    eye_triangles: np.ndarray  # (T_h,) bool, hole triangles that close the eyes
    face_extent: float  # cm, larger side of the frontal landmark bounding box
    centre: np.ndarray  # (3,) cm, centre of the landmark bounding box
    head_vertices: np.ndarray  # (M, 3) cm, head ellipsoid and neck
    head_triangles: np.ndarray  # (S, 3)
    head_hair: np.ndarray  # (M,) weight of hair colour on the head proxy
    skin_vertices: np.ndarray  # (N,) bool, cheeks, nose and forehead, for exposure
    wrinkle: np.ndarray  # (N,) weight of the folds that deepen with age
    eye_level: float  # cm, height of the eye centres; a child's face is shortened below it


@functools.lru_cache(maxsize=4)
def _layout(model: MorphableModel) -> _FaceLayout:
    """Paint brows, lips and eyelids as masks on the frontal mean face and sample them."""
    mean = model.mean
    landmarks = mean[model.landmark_indices]
    # A frontal orthographic map, 20 px per cm, of the regions drawn from the landmarks.
    scale = 20.0
    low = mean[:, :2].min(axis=0) - 1.0
    size = np.ceil((mean[:, :2].max(axis=0) + 1.0 - low) * scale).astype(int)

    def to_map(points: np.ndarray) -> np.ndarray:
        xy = (points[:, :2] - low) * scale
        xy[:, 1] = size[1] - xy[:, 1]  # image rows grow downwards
        return np.round(xy * 4).astype(np.int32)  # 2 fractional bits for cv2 drawing

    def painted(draw, blur_cm: float) -> np.ndarray:
        canvas = np.zeros((size[1], size[0]), np.float32)
        draw(canvas)
        canvas = cv2.GaussianBlur(canvas, (0, 0), blur_cm * scale)
        xy = (mean[:, :2] - low) * scale
        rows = np.clip(np.round(size[1] - xy[:, 1]).astype(int), 0, size[1] - 1)
        cols = np.clip(np.round(xy[:, 0]).astype(int), 0, size[0] - 1)
        return canvas[rows, cols]

    def brows(canvas):
        for part in (slice(17, 22), slice(22, 27)):
            points = landmarks[part].copy()
            points[:, 1] += 0.25  # the brow landmarks sit on the lower edge of the hair
            cv2.polylines(canvas, [to_map(points)], False, 1.0, int(0.75 * scale), cv2.LINE_AA, 2)

    def lips(canvas):
        cv2.fillPoly(canvas, [to_map(landmarks[OUTER_LIPS])], 1.0, cv2.LINE_AA, 2)

    def lashes(canvas):
        for part in EYES:
            cv2.polylines(canvas, [to_map(landmarks[part])], True, 1.0, int(0.2 * scale), cv2.LINE_AA, 2)

    def wrinkles(canvas):
        width = int(0.22 * scale)
        brow_top = landmarks[BROWS, 1].max()
        for k in range(3):  # forehead lines between the brows and the hairline
            y = brow_top + 1.0 + 0.8 * k
            xs = np.linspace(-3.5 + 0.4 * k, 3.5 - 0.4 * k, 9)
            line = np.stack([xs, y + 0.15 * np.cos(xs / 2.0), np.zeros_like(xs)], axis=1)
            cv2.polylines(canvas, [to_map(line)], False, 1.0, width, cv2.LINE_AA, 2)
        for corner, side in ((36, -1.0), (45, 1.0)):  # crow's feet fanning from the eye corners
            start = landmarks[corner] + [0.3 * side, 0.0, 0.0]
            for angle in (-25.0, 0.0, 25.0):
                a = np.radians(angle)
                end = start + [1.1 * side * np.cos(a), 1.1 * np.sin(a), 0.0]
                cv2.polylines(canvas, [to_map(np.stack([start, end]))], False, 1.0, width, cv2.LINE_AA, 2)
        for wing, mouth, chin in ((31, 48, 5), (35, 54, 11)):  # nasolabial and marionette folds
            fold = np.stack(
                [
                    landmarks[wing] + [0.0, 0.3, 0.0],
                    landmarks[mouth] * [1.15, 1.0, 1.0],
                    (landmarks[mouth] + landmarks[chin]) / 2,
                ]
            )
            cv2.polylines(canvas, [to_map(fold)], False, 1.0, int(0.3 * scale), cv2.LINE_AA, 2)
        for part in EYES:  # bags under the eyes
            lower = landmarks[part][[0, 5, 4, 3]] - [0.0, 0.7, 0.0]
            cv2.polylines(canvas, [to_map(lower)], False, 1.0, width, cv2.LINE_AA, 2)

    normals = vertex_normals(mean, model.triangles)
    front = np.clip((normals[:, 2] - 0.2) / 0.3, 0, 1)  # only the surface facing forwards
    hair = np.clip((mean[:, 1] - _HAIRLINE) / 1.5, 0, 1) ** 0.7
    hole_centres = mean[model.hole_triangles].mean(axis=1)
    eye_level = landmarks[BOTH_EYES, 1].mean()
    extent = landmarks[:, :2].max(axis=0) - landmarks[:, :2].min(axis=0)
    centre = (landmarks.max(axis=0) + landmarks.min(axis=0)) / 2
    head_vertices, head_triangles, head_hair = _head_proxy()
    return _FaceLayout(
        brow=painted(brows, 0.12) * front,
        lip=painted(lips, 0.08) * front,
        lash=painted(lashes, 0.05) * front,
        hair=hair,
        eye_triangles=np.abs(hole_centres[:, 1] - eye_level) < 1.5,
        face_extent=float(extent.max()),
        centre=centre,
        head_vertices=head_vertices,
        head_triangles=head_triangles,
        head_hair=head_hair,
        skin_vertices=(front > 0.5) & (np.abs(mean[:, 0]) < 5.0) & (mean[:, 1] > -7.0) & (hair == 0),
        wrinkle=painted(wrinkles, 0.06) * front * (1 - hair),
        eye_level=float(eye_level),
    )


def _head_proxy(rings: int = 28, segments: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ellipsoid skull and neck cylinder (model cm), triangles counter-clockwise outside."""
    polar = np.linspace(0, np.pi, rings + 1)  # from the crown (+y) down
    azimuth = np.linspace(0, 2 * np.pi, segments, endpoint=False)  # 0 at +z (front)
    p, a = np.meshgrid(polar, azimuth, indexing="ij")
    unit = np.stack([np.sin(p) * np.sin(a), np.cos(p), np.sin(p) * np.cos(a)], axis=-1)
    skull = (_HEAD_CENTRE + _HEAD_RADII * unit).reshape(-1, 3)
    heights = np.linspace(_NECK_RANGE[1], _NECK_RANGE[0], 6)
    h, a2 = np.meshgrid(heights, azimuth, indexing="ij")
    neck = np.stack([_NECK_RADIUS * np.sin(a2), h, _NECK_RADIUS * np.cos(a2) - 1.5], axis=-1).reshape(-1, 3)

    def grid(rows: int, offset: int) -> np.ndarray:
        r, s = np.meshgrid(np.arange(rows - 1), np.arange(segments), indexing="ij")
        a = offset + r * segments + s
        b = offset + r * segments + (s + 1) % segments
        c, d = a + segments, b + segments
        return np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)]).reshape(-1, 3)

    vertices = np.concatenate([skull, neck])
    triangles = np.concatenate([grid(rings + 1, 0), grid(len(heights), len(skull))])
    # Orient every triangle outwards (away from the vertical axis through the head).
    corners = vertices[triangles]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    centroid = corners.mean(axis=1)
    outward = centroid - np.where(centroid[:, 1:2] > _NECK_RANGE[1], _HEAD_CENTRE, [0.0, 0.0, -1.5] * np.ones(3))
    outward[centroid[:, 1] <= _NECK_RANGE[1], 1] = 0.0
    flip = np.einsum("ij,ij->i", normal, outward) < 0
    triangles[flip] = triangles[flip][:, ::-1]
    # Hair covers the skull above the hairline at the front and down to the nape at the back.
    front = np.clip(skull[:, 2] / _HEAD_RADII[2], 0, 1)
    hairline = _HAIRLINE + (_HEAD_CENTRE[1] - 3.0 - _HAIRLINE) * (1 - front) ** 0.5
    hair = np.clip((skull[:, 1] - hairline) / 1.0, 0, 1)
    # Ears and sides of the face stay skin: no hair within the face's width in front.
    hair = np.concatenate([hair, np.zeros(len(neck))])
    return vertices, triangles.astype(np.int32), hair


def _head_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Model-frame rotation of the head: roll about z, then pitch about x, then yaw about y."""
    y, p, r = np.radians([yaw, pitch, roll])
    about_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    # Positive pitch raises the chin: +z (the nose) turns towards +y.
    about_x = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    about_z = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return about_y @ about_x @ about_z


def scene_camera(scene: SceneParameters, model: MorphableModel | None = None) -> Camera:
    """The camera that sees the head of ``scene`` at its pose, size and position.

    The focal length is :func:`affect.face.camera.default_focal_length`; the distance makes the
    frontal mean face's landmark box ``face_size`` pixels wide.
    """
    model = load_default() if model is None else model
    layout = _layout(model)
    focal = default_focal_length(scene.image_shape)
    distance = focal * layout.face_extent / scene.face_size
    # Model frame (y up, z towards the viewer) to OpenCV's camera frame: a half turn about x.
    rotation = np.diag([1.0, -1.0, -1.0]) @ _head_rotation(scene.yaw, scene.pitch, scene.roll)
    target = np.array([*(scene.offset * distance / focal), distance])
    translation = target - rotation @ layout.centre
    return Camera.from_rotation_matrix(rotation, translation, focal, scene.image_shape)


def _ramp(age: float, ages: tuple[float, float]) -> float:
    """0 at ``ages[0]``, 1 at ``ages[1]``, linear between."""
    return float(np.clip((age - ages[0]) / (ages[1] - ages[0]), 0.0, 1.0))


def aged_shape(shape: np.ndarray, age: float | None, model: MorphableModel) -> np.ndarray:
    """A face shape with a child's proportions when ``age`` is below 16 (a stand-in cue).

    Children have a small face under a large cranium, and a short lower face (Farkas's
    growth curves; the cue is a kit choice, not a growth model). Below 16 the face shrinks
    about the landmark box centre (up to 15 % at age 2) while the head proxy keeps an adult's
    size, and the part below the eyes shortens (up to 18 %). Adults' shapes are unchanged.

    Parameters
    ----------
    shape : (N, 3) float, cm
        A shape of ``model`` (:meth:`MorphableModel.shape`).
    age : float or None, years
    model : MorphableModel

    Returns
    -------
    (N, 3) float, cm; ``shape`` itself when there is nothing to change.
    """
    if age is None:
        return shape
    child = 1.0 - _ramp(age, _CHILD_AGES)
    if child == 0.0:
        return shape
    layout = _layout(model)
    aged = shape.copy()
    below = aged[:, 1] < layout.eye_level
    aged[below, 1] = layout.eye_level + (aged[below, 1] - layout.eye_level) * (1 - 0.18 * child)
    return layout.centre + (aged - layout.centre) * (1 - 0.15 * child)


def scene_shape(scene: SceneParameters, model: MorphableModel | None = None) -> np.ndarray:
    """The (N, 3) face shape of a scene, cm: identity and expression (Eq. 1), then its age."""
    model = load_default() if model is None else model
    return aged_shape(model.shape(scene.identity, scene.expression), scene.age, model)


def render_face(
    scene: SceneParameters, model: MorphableModel | None = None, shape: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Render one stand-in face photo and its 68 landmarks.

    The face is the morphable model's shape for the scene's identity and expression
    (Eq. 1), lit with a Lambertian model, z-buffered over a head proxy and the background,
    then blurred, made noisy and JPEG-compressed.

    Parameters
    ----------
    scene : SceneParameters
    model : MorphableModel, optional
        Defaults to :func:`affect.face.morphable_model.load_default`.
    shape : (N, 3) float, optional
        A mesh in the model's topology (e.g. a frame of the 4D gallery) drawn instead of the
        scene's identity and expression.

    Returns
    -------
    image : (H, W, 3) uint8 RGB
    landmarks : (68, 2) float64, pixels, x then y
    """
    model = load_default() if model is None else model
    if not isinstance(scene, SceneParameters):
        raise ValueError(f"scene: expected SceneParameters, got {type(scene).__name__}")
    if scene.identity.shape[0] > model.n_identity or scene.expression.shape[0] > model.n_expression:
        raise ValueError(
            f"scene: {scene.identity.shape[0]} identity / {scene.expression.shape[0]} expression "
            f"coefficients for a model with {model.n_identity} / {model.n_expression}"
        )
    layout = _layout(model)
    if shape is None:
        shape = scene_shape(scene, model)
    elif np.shape(shape) != (model.n_vertices, 3):
        raise ValueError(f"shape: expected ({model.n_vertices}, 3) vertices, got {np.shape(shape)}")
    camera = scene_camera(scene, model)
    rotation = camera.rotation_matrix
    light = scene.light_direction

    def shade(vertices: np.ndarray, triangles: np.ndarray, albedo: np.ndarray) -> np.ndarray:
        normals = vertex_normals(vertices, triangles) @ rotation.T
        lambert = np.clip(normals @ light, 0.0, None)
        return albedo * (scene.ambient + scene.light_intensity * lambert)[:, None]

    skin, hair = scene.skin_tone, scene.hair_color
    if scene.age is not None:  # hair greys, and brows with it (they are drawn in hair colour)
        hair = hair + _ramp(scene.age, _GREYING_AGES) ** 0.8 * (_GREY_HAIR - hair)
    lip = skin * np.array([0.82, 0.56, 0.56])
    brow = 0.75 * hair + 0.25 * skin * 0.5
    albedo = (
        skin
        + layout.lip[:, None] * (lip - skin)
        + layout.brow[:, None] * (brow - skin)
        + layout.lash[:, None] * (0.3 * skin - skin)
    )
    if scene.age is not None:
        albedo = albedo * (1 - _WRINKLE_DEPTH * _ramp(scene.age, _WRINKLE_AGES) * layout.wrinkle[:, None])
    albedo = albedo + layout.hair[:, None] * (hair - albedo)
    face_colours = shade(shape, model.triangles, albedo)
    head_albedo = skin + layout.head_hair[:, None] * (hair - skin)
    head_colours = shade(layout.head_vertices, layout.head_triangles, head_albedo * 0.95)
    # Auto-exposure on the face, as a camera metering for faces does: dark skin under dim
    # light is brought up to a mid grey, at most 2.5x (a bit more than one stop).
    luminance = float(np.mean(face_colours[layout.skin_vertices] @ _LUMA))
    gain = float(np.clip(_EXPOSURE_TARGET / max(luminance, 1e-6), 1.0, 2.5))
    face_colours, head_colours = face_colours * gain, head_colours * gain

    n = model.n_vertices
    vertices = camera.to_image(np.concatenate([shape, layout.head_vertices]))
    triangles = np.concatenate([model.triangles, model.hole_triangles, layout.head_triangles + n])
    colours = np.concatenate([face_colours, head_colours])
    # Head proxy slightly behind the face where the two overlap (1 mm in depth).
    vertices[n:, 2] += 0.1
    rendering = rasterize(vertices, triangles, colours, scene.image_shape)
    image = _background(scene)
    image[rendering.mask] = rendering.image[rendering.mask]
    landmarks = vertices[model.landmark_indices, :2].copy()
    _paint_holes(image, rendering.triangle_index, model, layout, landmarks, scene)
    return _degrade(image, scene), landmarks


def _paint_holes(image, triangle_index, model, layout, landmarks, scene) -> None:
    """Colour the eye openings (sclera, iris) and the mouth interior, in place."""
    first = len(model.triangles)
    hole = triangle_index - first
    inside = (hole >= 0) & (hole < len(model.hole_triangles))
    if not inside.any():
        return
    rows, cols = np.nonzero(inside)
    is_eye = layout.eye_triangles[hole[rows, cols]]
    brightness = scene.ambient + scene.light_intensity * max(0.0, -scene.light_direction[2])
    colours = np.tile(_MOUTH_INTERIOR * brightness, (len(rows), 1))
    if is_eye.any():
        left, right = landmarks[RIGHT_EYE], landmarks[LEFT_EYE]
        points = np.stack([cols[is_eye], rows[is_eye]], axis=1).astype(float)
        centres = np.stack([left.mean(axis=0), right.mean(axis=0)])
        widths = np.array([np.linalg.norm(left[3] - left[0]), np.linalg.norm(right[3] - right[0])])
        distances = np.linalg.norm(points[:, None, :] - centres[None], axis=2)
        nearest = distances.argmin(axis=1)
        # The iris is about 11.5 mm across in an eye opening about 28 mm wide.
        radius = 0.21 * widths[nearest]
        iris = np.clip((radius - distances[np.arange(len(points)), nearest]) / 1.0 + 0.5, 0, 1)
        eye = _SCLERA + iris[:, None] * (np.array([0.09, 0.06, 0.05]) - _SCLERA)
        colours[is_eye] = eye * brightness
    image[rows, cols] = np.clip(colours, 0, 1)


def _background(scene: SceneParameters) -> np.ndarray:
    """(H, W, 3) float32 background of the scene's kind, from its seed."""
    height, width = scene.image_shape
    rng = np.random.default_rng([scene.seed, 1])
    first, second = scene.background_colors
    if scene.background == "plain":
        return np.broadcast_to(first, (height, width, 3)).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
    if scene.background == "noise":
        # Two octaves of smooth value noise: cells of 1/4 and 1/12 of the image.
        ramp = 0.35 * ramp
        for cells, weight in ((4, 0.45), (12, 0.2)):
            grid = rng.uniform(0, 1, (cells + 1, cells + 1)).astype(np.float32)
            ramp = ramp + weight * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        ramp = np.clip(ramp, 0, 1)
    image = (first + ramp[..., None] * (second - first)).astype(np.float32)
    if scene.background == "clutter":
        for _ in range(int(rng.integers(8, 25))):
            colour = tuple(float(c) for c in rng.uniform(0, 1, 3))
            x0, y0 = rng.uniform(-0.1, 1.1, 2) * (width, height)
            w, h = rng.uniform(0.05, 0.45, 2) * (width, height)
            kind = rng.integers(3)
            if kind == 0:
                cv2.rectangle(image, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), colour, -1)
            elif kind == 1:
                cv2.ellipse(
                    image,
                    (int(x0), int(y0)),
                    (int(w / 2), int(h / 2)),
                    float(rng.uniform(0, 180)),
                    0,
                    360,
                    colour,
                    -1,
                    cv2.LINE_AA,
                )
            else:
                thickness = max(1, int(rng.uniform(0.005, 0.03) * width))
                cv2.line(image, (int(x0), int(y0)), (int(x0 + w), int(y0 - h)), colour, thickness, cv2.LINE_AA)
    return image


def _degrade(image: np.ndarray, scene: SceneParameters) -> np.ndarray:
    """Blur, add sensor noise, quantise to uint8 and round-trip through JPEG."""
    if scene.blur_sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), scene.blur_sigma)
    image = image * 255.0
    if scene.noise_sigma > 0:
        rng = np.random.default_rng([scene.seed, 2])
        image = image + rng.normal(0.0, scene.noise_sigma, image.shape).astype(np.float32)
    pixels = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if scene.jpeg_quality is not None:
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality])
        if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR array
            raise RuntimeError("OpenCV could not encode the image as JPEG")
        pixels = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(pixels)


def render_faces(
    scenes: Sequence[SceneParameters],
    model: MorphableModel | None = None,
    *,
    progress: bool = True,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Render many stand-in photos (see :func:`render_face`) with a progress bar.

    Returns
    -------
    images : list of (H, W, 3) uint8 arrays (sizes may differ between scenes)
    landmarks : (B, 68, 2) float64, pixels
    """
    model = load_default() if model is None else model
    images, landmarks = [], []
    for scene in tqdm(scenes, desc="rendering faces", unit="img", disable=not progress):
        image, points = render_face(scene, model)
        images.append(image)
        landmarks.append(points)
    return images, np.array(landmarks).reshape(-1, N_LANDMARKS, 2)


# --------------------------------------------------------------------------------------
# Saving scenes
# --------------------------------------------------------------------------------------


def save_scenes(path: str | Path, scenes: Iterable[SceneParameters]) -> Path:
    """Write scenes to a JSON file (one object per scene, arrays as lists)."""
    path = Path(path)
    records = []
    for scene in scenes:
        record = {}
        for field in fields(SceneParameters):
            value = getattr(scene, field.name)
            record[field.name] = value.tolist() if isinstance(value, np.ndarray) else value
        records.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"scenes": records}, indent=1))
    return path


def load_scenes(path: str | Path) -> list[SceneParameters]:
    """Read scenes written by :func:`save_scenes`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such scene file")
    try:
        records = json.loads(path.read_text())["scenes"]
        return [SceneParameters(**record) for record in records]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a scene file ({error})") from None
