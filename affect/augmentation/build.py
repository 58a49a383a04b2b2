"""Build an augmented set: run an augmenter over a plan, resumably, on several cores (Sec. 6.2).

:func:`build` runs an :class:`Augmenter` over the jobs of a plan
(:func:`affect.augmentation.targets.plan`), writing each image atomically and recording finished
images in the manifest; a killed build resumes where it stopped. :func:`augment_database`
does it for the neutral faces of one database, :func:`augment_stand_ins` for every database of
a run.
"""

from __future__ import annotations

import copy
import csv
import fcntl
import functools
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from affect.augmentation import manifest as manifest_module
from affect.augmentation import shards
from affect.augmentation.manifest import (
    MANIFEST,
    MANIFEST_COLUMNS,
    read_manifest,
    relative_source,
    resolve_sources,
    typed_columns,
)
from affect.augmentation.shards import SHARDS
from affect.augmentation.targets import PLAN_COLUMNS, Target, derived_seed, plan
from affect.datasets import read_frame
from affect.datasets.common import VIDEO_FRAME_SEPARATOR
from affect.face.landmarks import N_LANDMARKS
from affect.files import atomic_write_text
from affect.image import write_image

log = logging.getLogger("affect.augmentation")

# What running the jobs of one photo reports: manifest rows, failed jobs, (source, reason)
# when the photo itself was left out.
_Outcome = tuple[list[dict], int, tuple[str, str] | None]

SKIPPED = shards.SKIPPED  # in each kind's folder (merged from its shards'): source photos left out, with the reason
LOCK_FILE = ".augment.lock"  # in the output folder; holds the pid of the augment writing it
SETTINGS_FILE = manifest_module.SETTINGS_FILE  # in each kind's folder: the settings its images were made with


@runtime_checkable
class Augmenter(Protocol):
    """What :func:`build` needs from a face synthesizer (ours, or a GAN baseline).

    ``prepare`` runs once per source photo (for ours: landmarks, 3DMM fit and texture,
    Sec. 4.1 to 4.3) and returns whatever state ``synthesize`` needs; ``synthesize`` makes
    one image per target. Instances are pickled once into every worker process.
    """

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> Any:
        """Per-photo work. ``image``: (H, W, 3) uint8 RGB; ``landmarks``: (68, 2) or None."""

    def synthesize(self, state: Any, target: Target, seed: int) -> np.ndarray:
        """One synthesized (H', W', 3) uint8 RGB image; ``seed`` for any randomness."""


class SynthesizerAugmenter:
    """Adapts a synthesizer with ``static(image, va)`` and ``basic(image, expression)``.

    Those are the calls of ``affect.synthesis.AffectSynthesizer`` (Sec. 4.5.2); the
    synthesizer keeps its own per-photo fit, so :meth:`prepare` only hands the photo and the
    database's landmarks (if any) on. A result that is not an array is taken to carry the
    image in its ``image`` attribute. :func:`build` measures identity itself, so a
    synthesizer's own identity measurement is switched off (on a shallow copy).
    """

    def __init__(self, synthesizer: Any):
        for method in ("static", "basic"):
            if not callable(getattr(synthesizer, method, None)):
                raise ValueError(f"synthesizer: {type(synthesizer).__name__} has no {method}() method")
        if getattr(synthesizer, "measure_identity", False) is True:
            synthesizer = copy.copy(synthesizer)
            synthesizer.measure_identity = False
        self.synthesizer = synthesizer
        self.recipe: tuple | None = None

    @classmethod
    def from_file(cls, path: str | os.PathLike | None = None, **options) -> SynthesizerAugmenter:
        """Adapt ``AffectSynthesizer.from_file(path, **options)``; pickled as the file, not the models.

        The face and affect models pickle to about 90 MB, which a Dask engine would send to
        every worker; this adapter sends the path and ``options`` instead, and each worker
        process loads the synthesizer once (:func:`_synthesizer_from_file`).
        """
        recipe = (None if path is None else str(Path(path).resolve()), tuple(sorted(options.items())))
        adapter = cls(_synthesizer_from_file(*recipe))
        adapter.recipe = recipe
        return adapter

    @property
    def affect_model(self):
        """The synthesizer's affect model (its VA classes are the VA targets, Sec. 4.5.1)."""
        return self.synthesizer.affect_model

    def __getstate__(self) -> dict:
        return {"recipe": self.recipe} if self.recipe is not None else self.__dict__.copy()

    def __setstate__(self, state: dict) -> None:
        if set(state) == {"recipe"}:
            self.__init__(_synthesizer_from_file(*state["recipe"]))
            self.recipe = state["recipe"]
        else:
            self.__dict__.update(state)

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> tuple[Any, np.ndarray | None]:
        """Fit the photo once, if the synthesizer can; return what ``synthesize`` hands it.

        A synthesizer with ``prepare`` (AffectSynthesizer) gets its prepared photo back in place
        of the image, with no landmarks; one with ``reconstruction`` caches its fit by the photo's
        content; any other gets the photo and its landmarks. Fitting here makes a photo without a
        face fail once, in preparation, rather than once per target.
        """
        prepare = getattr(self.synthesizer, "prepare", None)
        if callable(prepare):
            return prepare(image, landmarks), None
        reconstruction = getattr(self.synthesizer, "reconstruction", None)
        if callable(reconstruction):
            reconstruction(image, landmarks)
        return image, landmarks

    def synthesize(self, state: tuple, target: Target, seed: int) -> np.ndarray:
        """Call ``basic`` for an expression target, ``static`` for a VA target."""
        image, landmarks = state
        options = {} if landmarks is None else {"landmarks": landmarks}
        if target.expression is not None:
            result = self.synthesizer.basic(image, target.expression, **options)
        else:
            result = self.synthesizer.static(image, (target.valence, target.arousal), **options)
        return result if isinstance(result, np.ndarray) else result.image


@functools.lru_cache(maxsize=2)
def _synthesizer_from_file(path: str | None, options: tuple) -> Any:
    """An AffectSynthesizer loaded once per process for a (path, options) recipe."""
    from affect.synthesis import AffectSynthesizer

    return AffectSynthesizer.from_file(path, **{**dict(options), "measure_identity": False})


# --- the build -------------------------------------------------------------------------------


def build(
    plan: pd.DataFrame,
    augmenter: Augmenter,
    out_dir: str | os.PathLike,
    *,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    identity_every: int = 1,
    n_shards: int = SHARDS,
    shard_set: tuple[int, int] | None = None,
    merge_only: bool = False,
    progress: bool = True,
    skip_errors: bool = False,
    retry_skipped: bool = False,
    source_root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Synthesize every job of a plan into ``out_dir``, shard by shard, and merge ``manifest.csv``.

    Sec. 6.2: the synthesized images that are added to the training sets. The plan's photos
    are split into ``n_shards`` shards (:mod:`affect.augmentation.shards`); each shard is one
    task of the engine, writes its images atomically, appends their rows to its own manifest
    part once each image is complete, and is marked done when finished. A build killed at any
    point resumes by running again with the same arguments: finished shards are skipped,
    finished images of the others too, nothing is lost and nothing is listed twice. At the
    end the parts are merged into ``manifest.csv``: this plan's rows in plan order after any
    rows of other plans built into the same folder. Images and manifests are the same for
    every engine and number of workers.

    Parameters
    ----------
    plan : DataFrame
        From :func:`plan` (several plans can be concatenated).
    augmenter : Augmenter
        Sent once to each worker process (pickled) when the engine is not ``'serial'``.
    out_dir : path
        Output folder; images at ``out_dir / plan.output``.
    jobs : int
        Worker processes (for Dask's local cluster: single-threaded workers).
    engine : {'serial', 'pool', 'dask'}, optional
        In this process; a process pool; Dask distributed (:mod:`affect.augmentation.dask_engine`).
        Default: ``'serial'`` for one job, else ``'pool'``.
    scheduler : str, optional
        Address of a running Dask scheduler (``engine='dask'``); default a local cluster of ``jobs``.
    seed : int
        Base of the per-job seeds handed to ``synthesize``; each job's seed is derived from
        ``seed`` and its output name, so the images do not depend on engine, workers or order.
    measure_identity : bool
        Record the dlib identity-descriptor distance between source and output
        (:mod:`affect.face.recognition`); NaN when False, when no face is found, or for jobs
        outside the sample (``identity_every``).
    identity_every : int
        Measure identity on 1 job in ``identity_every`` on average (a seeded choice by photo and
        output name, in groups of up to :data:`IDENTITY_GROUP` images of a photo, see
        ``_identity_sample``): at scale the check costs more than the synthesis.
    n_shards : int
        Shards the photos are split into (:data:`SHARDS`); fixed for an output folder.
    shard_set : (k, n), optional
        Run only the shards ``s`` with ``s % n == k`` (one element of a job array) and write no
        ``manifest.csv``; run a build without it (or ``merge_only``) when all sets are done.
    merge_only : bool
        Synthesize nothing: check that every shard of the plan is done and merge them.
    progress : bool
        Show a tqdm progress bar (advanced per finished shard).
    skip_errors : bool
        Log and skip a photo whose preparation or synthesis fails instead of stopping;
        skipped jobs are not in the manifest and their number is in
        ``manifest.attrs['failed']``. A photo that cannot be prepared (unreadable, no face
        found) is logged once and listed with the reason in :data:`SKIPPED` (``source,reason``);
        later builds leave the listed photos out (``manifest.attrs['skipped_sources']``
        counts them) unless ``retry_skipped``. A failed synthesis of one target is retried
        by the next build (its shard is not marked done).
    retry_skipped : bool
        Try the photos listed in :data:`SKIPPED` again.
    source_root : path, optional
        The database folder: sources inside it are written to the manifest relative to it
        (record it as ``source_root`` in the folder's :data:`SETTINGS_FILE`, as
        :func:`augment_database` does, so :func:`read_manifest` joins them again). The rows
        returned carry the plan's source paths.

    Returns
    -------
    The manifest rows of this plan (:data:`MANIFEST_COLUMNS`), in plan order (with
    ``shard_set``: the rows of those shards). ``attrs``: ``failed``, ``skipped_sources`` and
    ``worker_seconds`` (the shards' run times summed over workers) and ``worker_cpu_seconds``
    (their processes' CPU time: less than the run time where other jobs share the cores).
    """
    missing = set(PLAN_COLUMNS) - set(plan.columns)
    if missing:
        raise ValueError(f"plan: missing columns {sorted(missing)}")
    if plan["output"].duplicated().any():
        first = plan.loc[plan["output"].duplicated(), "output"].iloc[0]
        raise ValueError(f"plan: output {first!r} occurs twice")
    for name, value in (("jobs", jobs), ("identity_every", identity_every), ("n_shards", n_shards)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    engine = engine or ("serial" if jobs == 1 else "pool")
    if engine not in ENGINES:
        raise ValueError(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if shard_set is not None:
        k, n = shard_set
        if not (isinstance(n, int) and isinstance(k, int) and n >= 1 and 0 <= k < n):
            raise ValueError(f"shard_set: expected (k, n) with 0 <= k < n, got {shard_set!r}")
    if not isinstance(augmenter, Augmenter):
        raise ValueError(f"augmenter: {type(augmenter).__name__} has no prepare() and synthesize()")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not shards.check_layout(out, n_shards):
        shards.migrate(out, n_shards, read_skipped)
        shards.write_layout(out, n_shards)

    index = shards.shard_of(plan["source"], n_shards)
    selected = np.ones(len(plan), dtype=bool) if shard_set is None else index % shard_set[1] == shard_set[0]
    # Shard tasks are made as the engine asks for them: a plan of millions of jobs is never
    # held as millions of job records at once.
    rows_of = pd.Series(np.arange(len(plan))).groupby(index).indices
    pending, done_jobs = [], 0
    for shard in np.unique(index[selected]):
        rows = plan.iloc[rows_of[shard]]
        shard_digest = shards.digest(rows["output"])
        if shards.is_done(
            shards.shard_folder(out, int(shard)), shard_digest, retry_skipped=retry_skipped and skip_errors
        ):
            done_jobs += len(rows)
        else:
            pending.append((int(shard), shard_digest))
    if merge_only and pending:
        raise ValueError(
            f"{out}: {len(pending)} of {len(np.unique(index))} shards are not finished (first: "
            f"{shards.shard_folder(out, pending[0][0])}); run their --shard sets first"
        )
    root_text = None if source_root is None else str(source_root)
    tasks = (
        ShardTask(
            shard,
            str(out),
            _jobs(plan.iloc[rows_of[shard]], seed, measure_identity, identity_every, root_text),
            shard_digest,
            skip_errors,
            retry_skipped,
        )
        for shard, shard_digest in pending
    )

    bar = _progress_bar(int(selected.sum()), done_jobs, progress)
    failed, worker_seconds, worker_cpu_seconds = 0, 0.0, 0.0
    try:
        runs = run_shards(tasks, augmenter, engine=engine, jobs=int(jobs), scheduler=scheduler) if pending else ()
        for result in runs:
            failed += result.failed
            worker_seconds += result.seconds
            worker_cpu_seconds += result.cpu_seconds
            bar.update(result.jobs)
    finally:
        bar.close()

    if shard_set is None:
        ours = shards.merge(out, plan, read_skipped=read_skipped)
    else:
        mine = plan[selected]
        rows = [shards.finished_rows(out, shards.shard_folder(out, int(s))) for s in np.unique(index[selected])]
        empty = typed_columns(pd.DataFrame(columns=list(MANIFEST_COLUMNS)))
        rows = pd.concat(rows, ignore_index=True) if rows else empty
        position = {name: i for i, name in enumerate(mine["output"])}
        rows = rows[rows["output"].isin(position)]
        ours = rows.iloc[np.argsort(rows["output"].map(position).to_numpy(), kind="stable")].reset_index(drop=True)
    if source_root is not None:
        ours = resolve_sources(ours, source_root)
    if failed:
        log.warning("%s: %d of %d jobs failed and were skipped", out, failed, int(selected.sum()))
    skipped: dict[str, str] = {}
    if skip_errors:
        for s in np.unique(index[selected]):
            skipped.update(read_skipped(shards.shard_folder(out, int(s)) / SKIPPED))
    n_skipped = int(plan.loc[selected, "source"].drop_duplicates().isin(set(skipped)).sum())
    if n_skipped:
        log.warning(
            "%s: %d source photos left out (unreadable or no face), listed in %s", out, n_skipped, out / SKIPPED
        )
    ours.attrs["failed"] = failed
    ours.attrs["skipped_sources"] = n_skipped
    ours.attrs["worker_seconds"] = worker_seconds
    ours.attrs["worker_cpu_seconds"] = worker_cpu_seconds
    return ours


#: The engines :func:`build` runs shards on.
ENGINES = ("serial", "pool", "dask")


@dataclass(frozen=True)
class ShardTask:
    """The pending jobs of one shard: what an engine hands a worker (small, picklable)."""

    index: int
    out: str
    jobs: list[dict]  # plan rows (+ seed, identity) of the shard, photo by photo
    digest: str
    skip_errors: bool
    retry_skipped: bool


@dataclass(frozen=True)
class ShardResult:
    """What a worker reports for a shard: counts only (the rows are in the shard's parts)."""

    index: int
    jobs: int
    images: int
    failed: int
    skipped_sources: int
    seconds: float
    cpu_seconds: float = 0.0  # CPU time of the worker process (all its threads) while it ran the shard


def _jobs(
    rows: pd.DataFrame, seed: int, measure_identity: bool, identity_every: int, source_root: str | None = None
) -> list[dict]:
    """A shard's jobs with their seeds, whether identity is measured and the source as the manifest
    lists it, grouped by photo."""
    jobs = rows.to_dict("records")
    by_photo: dict[str, list[dict]] = {}
    for job in jobs:
        job["seed"] = derived_seed(seed, "job", job["output"])
        job["manifest_source"] = relative_source(job["source"], source_root)
        job["identity"] = False
        by_photo.setdefault(job["source"], []).append(job)
    if measure_identity:
        for photo_jobs in by_photo.values():
            for job in _identity_sample(photo_jobs, seed, identity_every):
                job["identity"] = True
    return [job for photo_jobs in by_photo.values() for job in photo_jobs]  # plan order within a photo


#: Images of one photo measured together in the identity sample (see :func:`_identity_sample`).
IDENTITY_GROUP = 6


def _identity_sample(jobs: list[dict], seed: int, every: int) -> list[dict]:
    """The jobs of one photo whose identity is measured: a seeded 1 in ``every`` of all images.

    The source's own descriptor (dlib's ResNet, about 80 ms of CPU) is needed wherever one of
    its images is measured, so the sample is gathered in groups of :data:`IDENTITY_GROUP`
    images of one photo: a photo with ``n`` images is picked with probability ``n / (g *
    every)``, where ``g = min(n, IDENTITY_GROUP)``, and then ``g`` of its images are measured
    (each measured image then carries a sixth of the source's descriptor, not all of it). A
    photo with ``n >= IDENTITY_GROUP * every`` images has each measured with probability
    ``1 / every`` instead. Either way 1 image in ``every`` is measured on average, and the choice depends
    only on the seed and the output names (a photo is named by its first output, so the choice
    does not change when the database moves), not on the engine or the order.
    """
    if every == 1:
        return jobs
    n = len(jobs)
    group = min(n, IDENTITY_GROUP)
    if n >= IDENTITY_GROUP * every:
        return [job for job in jobs if derived_seed(seed, "identity", job["output"]) % every == 0]
    photo = min(job["output"] for job in jobs)
    if derived_seed(seed, "identity-photo", photo) % (group * every) >= n:
        return []
    return sorted(jobs, key=lambda job: derived_seed(seed, "identity", job["output"]))[:group]


def run_shard(task: ShardTask, augmenter: Augmenter) -> ShardResult:
    """Run the pending jobs of one shard; every engine's task (idempotent, see :mod:`shards`)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    out = Path(task.out)
    folder = shards.shard_folder(out, task.index)
    folder.mkdir(parents=True, exist_ok=True)
    skipped_path = folder / SKIPPED
    if task.retry_skipped:
        skipped_path.unlink(missing_ok=True)
    skipped = read_skipped(skipped_path) if task.skip_errors else {}
    done = shards.finished_outputs(out, folder)
    todo = [job for job in task.jobs if job["output"] not in done and job["source"] not in skipped]
    groups: dict[str, list[dict]] = {}
    for job in todo:
        groups.setdefault(job["source"], []).append(job)
    part = shards.PartAppender(folder)
    images = failed = 0
    try:
        for group in groups.values():
            for rows, n_failed, skipped_source in _run_group(augmenter, group, out, task.skip_errors):
                part.append(rows)
                images += len(rows)
                failed += n_failed
                if skipped_source is not None:
                    shards.append_skipped(skipped_path, *skipped_source)
                    skipped[skipped_source[0]] = skipped_source[1]
    finally:
        part.close()
    if not failed:
        shards.mark_done(folder, task.index, task.digest, len(done) + images, len(skipped))
    return ShardResult(
        task.index,
        len(task.jobs),
        images,
        failed,
        len(skipped),
        time.perf_counter() - start,
        time.process_time() - cpu_start,
    )


def run_shards(
    tasks: Iterable[ShardTask], augmenter: Augmenter, *, engine: str, jobs: int, scheduler: str | None = None
) -> Iterator[ShardResult]:
    """Run shard tasks on an engine, yielding each result as its shard finishes.

    ``tasks`` is consumed lazily, at most ``2 * workers`` ahead of the finished ones.
    """
    if engine == "serial":
        return _run_serial(tasks, augmenter)
    if engine == "pool":
        return _run_pool(tasks, augmenter, jobs)
    try:
        from affect.augmentation.dask_engine import run_dask
    except ImportError as error:
        raise RuntimeError(f"engine 'dask': {error}; install it with pip install 'affect-kit[dask]'") from None
    return run_dask(tasks, augmenter, jobs=jobs, scheduler=scheduler)


def _run_serial(tasks: Iterable[ShardTask], augmenter: Augmenter) -> Iterator[ShardResult]:
    """Run the shards in this process, one library thread while they run."""
    restore = single_thread_libraries()
    try:
        for task in tasks:
            yield run_shard(task, augmenter)
    finally:
        restore()


def single_thread_libraries() -> Callable[[], None]:
    """Limit the thread pools of the libraries the synthesis calls to one thread; return a restorer.

    A build runs one worker process per core, and each process's OpenBLAS, OpenMP, OpenCV and
    torch pools would start a thread per core of their own: more threads than cores, and idle
    pool threads that spin-wait. Measured on the scale benchmark's plan (one process, 256 px
    faces, JPEG): 21 to 24 ms of process CPU time per image with the default pools, 16 to 17 ms
    with one thread, and the same bytes. Workers call this once at start (no restore needed);
    the serial engine restores the caller's settings when it is done.
    """
    import sys

    import cv2
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=1)
    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    torch = sys.modules.get("torch")  # only if something loaded it: importing torch takes seconds
    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)

    def restore() -> None:
        limits.restore_original_limits()
        cv2.setNumThreads(cv2_threads)
        if torch is not None:
            torch.set_num_threads(torch_threads)

    return restore


def read_skipped(path: str | os.PathLike) -> dict[str, str]:
    """The photos a build left out (:data:`SKIPPED`), source to reason; {} if there is no list."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    return {row[0]: row[1] for row in rows[1:] if len(row) == 2}


def _source_problem(source: str) -> str | None:
    """Why a source photo cannot be read in full (a truncated file), or None.

    OpenCV decodes what it can of a truncated JPEG without an error, so such a photo would
    be reported as having no face; Pillow names the damage.
    """
    from affect.image import ImageReadError, read_image

    if VIDEO_FRAME_SEPARATOR in source and source.rpartition(VIDEO_FRAME_SEPARATOR)[2].isdigit():
        return None
    try:
        read_image(source)
    except ImageReadError as error:
        return str(error)
    return None


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="synthesizing", disable=not enabled)


def _run_pool(tasks: Iterable[ShardTask], augmenter: Augmenter, jobs: int) -> Iterator[ShardResult]:
    """Run the shards in ``jobs`` processes, yielding each when it is done.

    At most ``2 * jobs`` shards are in flight, so a plan of millions of jobs does not hold
    millions of futures. On an error the queued shards are cancelled and the error propagates
    (what finished is in the shards' parts).
    """
    pending = iter(tasks)
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(augmenter,)) as pool:
        running: set[Future] = set()
        try:
            while True:
                while len(running) < 2 * jobs:
                    task = next(pending, None)
                    if task is None:
                        break
                    running.add(pool.submit(_worker_shard, task))
                if not running:
                    return
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        except BaseException:
            for future in running:
                future.cancel()
            raise


_WORKER_AUGMENTER: Augmenter | None = None


def _init_worker(augmenter: Augmenter) -> None:
    global _WORKER_AUGMENTER
    single_thread_libraries()
    _WORKER_AUGMENTER = augmenter


def _worker_shard(task: ShardTask) -> ShardResult:
    return run_shard(task, _WORKER_AUGMENTER)


def _run_group(augmenter: Augmenter, group: list[dict], out: Path, skip_errors: bool) -> Iterator[_Outcome]:
    """Synthesize the jobs of one photo.

    Yields ``([row], 0, None)`` per image, ``([], 1, None)`` per failed target and
    ``([], n, (source, reason))`` once when the photo itself cannot be prepared. The source's
    identity descriptor is computed only if one of the jobs measures identity.
    """
    first = group[0]
    source_descriptor: np.ndarray | None = None
    box = None
    try:
        image = read_frame(first["source"])
        landmarks = _landmarks(first.get("landmarks"))
        state = augmenter.prepare(image, landmarks)
        if any(job["identity"] for job in group):
            from affect.face.landmarks import face_box

            box = face_box(image)
            source_descriptor = _descriptor(image, _landmarks_in(image, box) if landmarks is None else landmarks)
    except Exception as error:  # noqa: BLE001 - any failure of a third-party augmenter
        if not skip_errors:
            raise
        reason = _source_problem(first["source"]) or str(error)
        log.warning("%s: skipped (%s)", first["source"], reason)
        yield [], len(group), (first["source"], reason)
        return
    for job in group:
        target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
        try:
            synthesized = augmenter.synthesize(state, target, job["seed"])
            write_image(out / job["output"], synthesized)
        except Exception as error:  # noqa: BLE001
            if not skip_errors:
                raise
            log.warning("%s -> %s: skipped (%s)", job["source"], job["output"], error)
            yield [], 1, None
            continue
        distance = math.nan
        if source_descriptor is not None and job["identity"]:
            # The synthesized face lies where the source's did: its landmarks are located in the
            # source's face box (dlib's shape predictor), not searched for by the detector again.
            same_frame = synthesized.shape[:2] == image.shape[:2]
            output_descriptor = _descriptor(synthesized, _landmarks_in(synthesized, box) if same_frame else None)
            if output_descriptor is not None:
                distance = float(np.linalg.norm(source_descriptor - output_descriptor))
        row = {column: job[column] for column in MANIFEST_COLUMNS[:-1]}
        row["source"] = job.get("manifest_source", job["source"])
        yield [row | {"identity_distance": distance}], 0, None


def _landmarks(value: Any) -> np.ndarray | None:
    """(68, 2) landmarks of a frame row, None where the row has none."""
    if isinstance(value, np.ndarray) and value.shape == (N_LANDMARKS, 2):
        return value
    return None


def _descriptor(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray | None:
    """dlib identity descriptor, None where no face is found (``landmarks`` None: detected)."""
    from affect.face.landmarks import FaceNotFoundError
    from affect.face.recognition import face_descriptor

    try:
        return face_descriptor(image, landmarks)
    except FaceNotFoundError:
        return None


def _landmarks_in(image: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray | None:
    """(68, 2) landmarks located in a known face box (None: detect the face, see :func:`_descriptor`)."""
    from affect.face.landmarks import detect_landmarks

    return None if box is None else detect_landmarks(image, box)


def augment_database(
    name: str,
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    synthesizer: Any,
    *,
    kinds: Sequence[str] = ("va", "expression"),
    split: str | None = None,
    n_va: int | None = None,
    max_neutral: int | None = None,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    identity_every: int = 1,
    image_format: str | None = None,
    n_shards: int = SHARDS,
    shard_set: tuple[int, int] | None = None,
    merge_only: bool = False,
    progress: bool = True,
    overwrite: bool = False,
    check_settings: bool = True,
    retry_skipped: bool = False,
    method: str = "proposed",
) -> dict[str, pd.DataFrame]:
    """Synthesize the paper's affects on every neutral face of a database (Sec. 6.2, Table 1).

    Loads database ``name`` from ``root``, selects its neutral faces
    (:func:`affect.datasets.neutral_frames`), plans VA targets over the synthesizer's VA classes
    and the six basic expressions, and builds each kind into ``out_dir/<kind>`` (resumable).

    Parameters
    ----------
    synthesizer : AffectSynthesizer or Augmenter
        Holds the affect model whose VA classes the VA targets are drawn from: the paper's
        synthesizer, or the augmenter of ``method`` (:func:`affect.augmentation.methods.make_augmenter`).
    method : {'proposed', 'stargan', 'ganimation'}
        Which method ``synthesizer`` is; stored with the settings, so a folder built by one
        method is never resumed by another. The GAN baselines are conditioned on VA only
        (``kinds=('va',)``).
    kinds : subset of ``('va', 'expression')``
    split : str, optional
        Default: ``'train'`` where the database has one, else ``'all'``.
    n_va : int, optional
        VA targets per neutral face (default :data:`VA_TARGETS_PER_IMAGE`).
    max_neutral : int, optional
        Use only the first ``max_neutral`` neutral faces of a seeded shuffle (small runs).
    jobs, engine, scheduler, seed, measure_identity, identity_every, n_shards, shard_set, merge_only
        As for :func:`build`.
    image_format : {'jpg', 'png'}, optional
        JPEG (quality 95: about 0.3 ms to encode a 256 px face against 4.5 ms for PNG, and a
        quarter of the disk) or PNG. Default: the format a kind's folder was built in (PNG for
        folders built before the choice was stored), JPEG for a new folder.
    overwrite : bool
        Replace the images of an earlier build made with other settings instead of refusing
        (not with ``shard_set``: other shard sets may be writing).
    check_settings : bool
        Store the settings in each kind's folder (:data:`SETTINGS_FILE`) and refuse a folder
        built with other ones (see :func:`claim_folder`).
    retry_skipped : bool
        Try again the photos an earlier build left out (see :func:`build`).

    Photos that cannot be prepared are left out and listed in each kind's :data:`SKIPPED`;
    hidden temporaries that a killed build left behind are removed first (with ``shard_set``
    only those of its shards).

    The output folder is locked while the build runs (:func:`output_lock`): a second build
    into it fails at once. Shard sets (``shard_set``) share the lock with each other, so the
    elements of a job array run side by side, but not with a whole build or a merge.

    Returns
    -------
    dict mapping each kind to its manifest (with ``shard_set``: the rows of those shards).
    """
    from affect import datasets
    from affect.augmentation.methods import check_method

    unknown = set(kinds) - {"va", "expression"}
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; expected 'va' and/or 'expression'")
    if check_method(method) != "proposed" and "expression" in kinds:
        raise ValueError(f"kinds: {method} is conditioned on valence and arousal; build kind 'va' only")
    made_by = getattr(synthesizer, "method", "proposed")
    if made_by != method:
        raise ValueError(f"synthesizer: a {made_by} augmenter given for method {method!r}")
    if shard_set is not None and (overwrite or merge_only):
        raise ValueError(
            "shard_set: cannot be combined with overwrite or merge_only (other shard sets may be "
            "running); overwrite or merge without it"
        )
    split = split or ("train" if "train" in datasets.SPLITS[name] else "all")
    out = Path(out_dir)
    with output_lock(out, shared=shard_set is not None):
        formats = {kind: image_format or stored_format(out / kind) or "jpg" for kind in kinds}
        settings = {
            kind: run_settings(name, root, split, kind, n_va, max_neutral, seed, formats[kind], method)
            for kind in kinds
        }
        replaced = [
            kind for kind in kinds if check_settings and claim_folder(out / kind, settings[kind], overwrite=overwrite)
        ]
        neutral = datasets.neutral_frames(datasets.load(name, root, split))
        if neutral.empty:
            raise ValueError(f"{root}: no neutral faces in {name}/{split}")
        for kind in replaced:
            clear_build(out / kind)
        if max_neutral is not None and len(neutral) > max_neutral:
            neutral = neutral.sample(n=max_neutral, random_state=seed).sort_index()
        augmenter = synthesizer if isinstance(synthesizer, Augmenter) else SynthesizerAugmenter(synthesizer)
        # Sources relative to the database folder where the settings record it (so a finished set
        # can be moved or shared); the loaders build every path as str(Path(root) / ...).
        source_root = str(Path(root)) if check_settings else None
        plans = {}
        for kind in kinds:
            classes = synthesizer.affect_model.va_classes if kind == "va" else None
            plans[kind] = plan(neutral, kind, classes, n_va if kind == "va" else None, seed, image_format=formats[kind])
            if shard_set is None:
                remove_temporaries(out / kind)
            else:
                index = shards.shard_of(plans[kind]["source"], n_shards)
                mine = plans[kind]["output"][index % shard_set[1] == shard_set[0]]
                remove_temporaries(out / kind, set(mine))
        manifests = {}
        for kind in kinds:
            if check_settings:
                recorded = settings[kind] | {
                    "measure_identity": bool(measure_identity),
                    "identity_every": int(identity_every),
                    "identity_sample": IDENTITY_SAMPLE.format(every=int(identity_every), group=IDENTITY_GROUP),
                    "shards": int(n_shards),
                    "source_root": source_root,
                }
                atomic_write_text(out / kind / SETTINGS_FILE, json.dumps(recorded, indent=1) + "\n")
            manifests[kind] = build(
                plans[kind],
                augmenter,
                out / kind,
                jobs=jobs,
                engine=engine,
                scheduler=scheduler,
                seed=seed,
                measure_identity=measure_identity,
                identity_every=identity_every,
                n_shards=n_shards,
                shard_set=shard_set,
                merge_only=merge_only,
                progress=progress,
                skip_errors=True,
                retry_skipped=retry_skipped,
                source_root=source_root,
            )
    return manifests


@contextmanager
def output_lock(folder: str | os.PathLike, *, shared: bool = False) -> Iterator[Path]:
    """Hold the lock of an output folder while building into it; ValueError if it is held.

    Two builds into one folder would each merge the manifest while the other writes shards,
    so the second is refused at once: ``"OUT is being written by another augment (pid N)"``.
    ``shared`` holders (shard sets of a job array, which write only their own shards) may
    hold it together, but not with an exclusive holder. The lock is an ``flock`` on
    :data:`LOCK_FILE`, released by the system when the holder exits, however it exits (a
    killed build leaves no stale lock). The file itself stays, holding the last holder's pid.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ValueError(f"{folder} is being written by another augment (pid {holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()


def run_settings(
    name: str,
    root: str | os.PathLike,
    split: str,
    kind: str,
    n_va: int | None,
    max_neutral: int | None,
    seed: int,
    image_format: str = "jpg",
    method: str = "proposed",
) -> dict:
    """What decides which images a build of one kind makes (stored in :data:`SETTINGS_FILE`).

    The file also records how they were measured and split (:data:`RECORDED_SETTINGS`), which
    does not change the images and is not compared. ``method`` is stored only for the GAN
    baselines (folders of the paper's method built before it was a setting stay valid).
    """
    from affect.augmentation.targets import VA_TARGETS_PER_IMAGE

    settings = {
        "database": name,
        "root": str(Path(root).expanduser().resolve()),
        "split": split,
        "kind": kind,
        "seed": int(seed),
        "max_neutral": max_neutral,
        "format": image_format,
    }
    if method != "proposed":
        settings["method"] = method
    if kind == "va":
        settings["n_va"] = int(n_va) if n_va is not None else VA_TARGETS_PER_IMAGE
    return settings


def stored_format(folder: Path) -> str | None:
    """The image format a kind's folder was built in; None for a new folder.

    Folders built before the format was stored hold PNG images.
    """
    stored_file = folder / SETTINGS_FILE
    if stored_file.is_file():
        try:
            return json.loads(stored_file.read_text(encoding="utf-8")).get("format", "png")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
    return "png" if (folder / MANIFEST).is_file() else None


def claim_folder(folder: Path, settings: Mapping, *, overwrite: bool) -> bool:
    """Whether a kind's folder holds a build made with other settings; ValueError unless ``overwrite``.

    A folder's stored settings (:data:`SETTINGS_FILE`) must equal ``settings``, else the
    new images would be merged with the old ones in one manifest. With ``overwrite`` the
    answer is True and the caller empties the folder (:func:`clear_build`). A folder without
    stored settings (built before they were stored) is accepted as it is.
    """
    stored_file = folder / SETTINGS_FILE
    if not stored_file.is_file():
        return False
    try:
        stored = json.loads(stored_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        stored = {"unreadable": str(stored_file)}
    stored = {"format": "png"} | stored  # stored before the format was a setting: PNG
    stored = {key: value for key, value in stored.items() if key not in RECORDED_SETTINGS}
    settings = {key: value for key, value in settings.items() if key not in RECORDED_SETTINGS}
    if stored == settings:
        return False
    if not overwrite:
        changed = ", ".join(
            f"{key} {stored.get(key)!r} -> {settings.get(key)!r}"
            for key in sorted(set(stored) | set(settings))
            if stored.get(key) != settings.get(key)
        )
        raise ValueError(
            f"{folder}: holds images made with other settings ({changed}); "
            "choose another --out or add --overwrite to replace them"
        )
    return True


#: Settings stored for the record only: a build resumed with other values is not refused.
RECORDED_SETTINGS = ("measure_identity", "identity_every", "identity_sample", "shards", "source_root")

#: How the identity distances of a kind's manifest were measured (recorded in :data:`SETTINGS_FILE`).
IDENTITY_SAMPLE = (
    "1 image in {every} on average, in groups of up to {group} images of one source photo; "
    "dlib descriptor distance between source and output, the output's landmarks located in "
    "the source's detected face box"
)

# atomic_path's temporaries: "." + the destination's stem + "." + mkstemp's 8 characters + suffix
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.(png|jpg|jpeg|csv)")


def remove_temporaries(folder: Path, outputs: set[str] | None = None) -> int:
    """Remove the half-written temporaries of a killed build (call with the folder locked).

    With ``outputs`` (output names relative to ``folder``) only the temporaries of those
    images: other shard sets may be writing the rest.
    """
    if not folder.is_dir():
        return 0
    stale = [path for path in folder.rglob(".*") if path.is_file() and _TEMPORARY.fullmatch(path.name)]
    if outputs is not None:
        stale = [path for path in stale if _temporary_of(folder, path) in outputs]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info("%s: removed %d half-written files of an interrupted build", folder, len(stale))
    return len(stale)


def _temporary_of(folder: Path, temporary: Path) -> str:
    """The output name (relative to ``folder``) a temporary was being written for."""
    stem = temporary.name[1:].rsplit(".", 2)[0]
    return (temporary.parent / (stem + temporary.suffix)).relative_to(folder).as_posix()


def clear_build(folder: Path) -> None:
    """Remove a build: the images its manifest and shards list, them, and the stored settings."""
    import shutil

    inside = folder.resolve()
    names: set[str] = set()
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        names |= set(read_manifest(manifest_path)["output"])
    for part in (folder / shards.SHARDS_FOLDER).glob(f"*/{shards.PART_PREFIX}*.csv"):
        names |= set(read_manifest(part)["output"])
    for name in names:
        image = (folder / name).resolve()
        if image.is_relative_to(inside):  # a hand-edited manifest cannot reach outside
            image.unlink(missing_ok=True)
    manifest_path.unlink(missing_ok=True)
    (folder / SKIPPED).unlink(missing_ok=True)
    shutil.rmtree(folder / shards.SHARDS_FOLDER, ignore_errors=True)
    (folder / SETTINGS_FILE).unlink(missing_ok=True)
    log.warning("%s: removed the images of a build with other settings", folder)


def augment_stand_ins(
    synthesizer: Any,
    out_root: str | os.PathLike,
    *,
    data_source: str,
    profile: str,
    names: Sequence[str] | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Augment every database of a run, both kinds, sized by the profile (Table 1).

    Stand-ins (``data_source='proxy'``) are written first if absent
    (:func:`affect.datasets.standin.ensure_proxy`); real databases are read from
    :func:`affect.data_paths.database_root`. Returns each database's manifest, VA and
    basic-expression rows together, ready for :func:`synthesized_counts`.
    """
    from affect import data_paths, datasets, profiles
    from affect.datasets.standin import ensure_proxy

    sizes = profiles.get(profile)
    manifests = {}
    for name in names or datasets.NAMES:
        root = data_paths.database_root(name, data_source, profile)
        if data_source == "proxy":
            ensure_proxy(name, root.parent, profile, seed)
        # A run's results folder holds the builds of every profile and seed run into it, each
        # returning only its own rows, so stored settings are not enforced here. PNG: the
        # stand-in runs' results folders were built so, and resume.
        built = augment_database(
            name,
            root,
            Path(out_root) / name,
            synthesizer,
            n_va=sizes.augment_va_targets,
            max_neutral=sizes.augment_neutral_per_database,
            seed=seed,
            measure_identity=measure_identity,
            image_format="png",
            progress=progress,
            check_settings=False,
        )
        manifests[name] = pd.concat(built.values(), ignore_index=True)
    return manifests
