"""The benchmark's results: :class:`StageTiming` (one stage's runs summarised) and :class:`BenchResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from affect.bench.photos import CROP_SIZE

__all__ = ["STAGES", "NATIVE", "CROPPED", "ALL_PHOTOS", "StageTiming", "BenchResult"]

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
        (:func:`affect.bench.throughput.training_throughput`); empty if not run.
    quality : dict
        How closely the synthesized faces keep the photos
        (:func:`affect.bench.quality.quality_benchmark`): round-trip error, sharpness ratio,
        colour drift and identity distance per photo; empty if not run.
    scale : dict
        Augmentation throughput (:func:`affect.bench.scaling.scale_benchmark`): images per
        second keyed ``<engine>_<workers>``, speedup, the simulated coordination curve and the
        paper-scale estimate; empty if not run.
    explorer_update_ms : float or None
        Median time of one VA explorer update on a 512 px photo (deformation, render, blend and
        JPEG; :func:`affect.explorer.median_update_ms`); None if not run.
    path : dict
        A VA path written as a GIF on a 512 px photo (:func:`affect.bench.path_rate.path_frames_per_s`):
        ``path_frames_per_s``, CPU ms per frame, the frames whose identity was measured; empty if not run.
    failures : dict
        The parts that failed: part name to its one-line error; empty when every part ran.
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
    explorer_update_ms: float | None = None
    path: Mapping[str, object] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)

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
