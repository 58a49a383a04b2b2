"""The task every engine runs: one shard's pending jobs, synthesized and recorded (Sec. 6.2).

A :class:`ShardTask` holds the jobs of one shard (:mod:`affect.augmentation.shards`) with their
seeds and identity sample (:func:`shard_jobs`); :func:`run_shard` synthesizes them, writes each
image atomically, appends its manifest row to the shard's part and reports a
:class:`ShardResult`. :func:`single_thread_libraries` limits the libraries to one thread in a
worker process.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect.augmentation import shards
from affect.augmentation.augmenters import Augmenter
from affect.augmentation.identity_check import identity_descriptor, identity_sample, landmarks_in
from affect.augmentation.manifest import MANIFEST_COLUMNS, relative_source
from affect.augmentation.shards import SKIPPED, read_skipped
from affect.augmentation.targets import Target, derived_seed
from affect.datasets import read_frame
from affect.datasets.common import VIDEO_FRAME_SEPARATOR
from affect.files import disk_full
from affect.image import ImageReadError, read_image, size_problem, write_image
from affect.vocabulary import N_LANDMARKS

log = logging.getLogger("affect.augmentation")

# What running the jobs of one photo reports: manifest rows, failed jobs, (source, reason)
# when the photo itself was left out.
_Outcome = tuple[list[dict], int, tuple[str, str] | None]


@dataclass(frozen=True)
class ShardTask:
    """The pending jobs of one shard: what an engine hands a worker (small, picklable)."""

    index: int
    out: str
    jobs: list[dict]  # plan rows (+ seed, identity) of the shard, photo by photo
    digest: str
    skip_errors: bool
    retry_skipped: bool
    pieces: int = 1  # the shard's jobs are split into this many tasks; a piece leaves marking done to the build


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


def shard_jobs(
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
            for job in identity_sample(photo_jobs, seed, identity_every):
                job["identity"] = True
    return [job for photo_jobs in by_photo.values() for job in photo_jobs]  # plan order within a photo


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
    except OSError as error:  # a full disk stops the build: every later write would fail too
        full = disk_full(error, folder)
        if full is None:
            raise
        raise full from None
    finally:
        part.close()
    if not failed and task.pieces == 1:
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
        damage = _damage(first["source"], image)
        if damage is not None:
            raise ImageReadError(damage)
        landmarks = _landmarks(first.get("landmarks"))
        state = augmenter.prepare(image, landmarks)
        if any(job["identity"] for job in group):
            from affect.face.landmarks import face_box

            box = face_box(image)
            source_descriptor = identity_descriptor(image, landmarks_in(image, box) if landmarks is None else landmarks)
    except Exception as error:  # noqa: BLE001 - any failure of a third-party augmenter
        if not skip_errors or disk_full(error, out) is not None:
            raise
        reason = str(error) if isinstance(error, ImageReadError) else _source_problem(first["source"]) or str(error)
        log.warning("%s: skipped (%s)", first["source"], reason)
        yield [], len(group), (first["source"], reason)
        return
    for job in group:
        target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
        try:
            synthesized = augmenter.synthesize(state, target, job["seed"])
            write_image(out / job["output"], synthesized)
        except Exception as error:  # noqa: BLE001
            if not skip_errors or disk_full(error, out) is not None:
                raise
            log.warning("%s -> %s: skipped (%s)", job["source"], job["output"], error)
            yield [], 1, None
            continue
        distance = math.nan
        if source_descriptor is not None and job["identity"]:
            # The synthesized face lies where the source's did: its landmarks are located in the
            # source's face box (dlib's shape predictor), not searched for by the detector again.
            same_frame = synthesized.shape[:2] == image.shape[:2]
            output_descriptor = identity_descriptor(synthesized, landmarks_in(synthesized, box) if same_frame else None)
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


def _damage(source: str, image: np.ndarray) -> str | None:
    """Why a photo OpenCV decoded is no face source: too small (a 1 x 1 placeholder), or a
    truncated JPEG (OpenCV fills its missing part with grey, and a face may still be found in
    what is left), or None."""
    small = size_problem(image)
    if small is not None:
        return f"{source}: {small}"
    if Path(source).suffix.lower() in _JPEG_SUFFIXES:
        return _source_problem(source)
    return None


_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")


def _source_problem(source: str) -> str | None:
    """Why a source photo cannot be read in full (a truncated file), or None.

    OpenCV decodes what it can of a truncated JPEG without an error, so such a photo would
    be reported as having no face; Pillow names the damage.
    """
    if VIDEO_FRAME_SEPARATOR in source and source.rpartition(VIDEO_FRAME_SEPARATOR)[2].isdigit():
        return None
    try:
        read_image(source)
    except ImageReadError as error:
        return str(error)
    return None
