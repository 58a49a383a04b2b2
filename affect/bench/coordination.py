"""SIMULATED coordination beyond one machine, and the paper-scale estimate of an augmented set.

:func:`simulate_coordination` runs shard tasks that only sleep on a Dask cluster of many
in-process workers, to see what the scheduler, the in-flight window and the result handling
cost at 8 to 512 workers; it measures coordination only, not compute, and its figures are
labelled simulated. :func:`paper_scale_estimate` turns the measured per-image cost into the
time and disk the paper's AffectNet set (2,476,235 images, Table 1) would take.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

__all__ = ["PAPER_AFFECTNET_IMAGES", "SIMULATED_WORKERS", "simulate_coordination", "paper_scale_estimate"]

log = logging.getLogger(__name__)

#: Synthesized AffectNet images in the paper (Table 1: VA and basic expressions together).
PAPER_AFFECTNET_IMAGES = 2_476_235
#: Workers of the simulated coordination curve.
SIMULATED_WORKERS: tuple[int, ...] = (8, 32, 128, 512)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def simulate_coordination(
    workers: Sequence[int] = SIMULATED_WORKERS, *, task_seconds: float = 0.25, tasks_per_worker: int = 4
) -> dict:
    """SIMULATED: shard tasks that sleep, on a Dask cluster of ``W`` in-process worker threads.

    Each point submits ``tasks_per_worker * W`` tasks of ``task_seconds`` through the same
    window the builder keeps (``2 * W`` in flight, topped up as results come back) and
    compares the wall time with the ideal ``tasks_per_worker * task_seconds``. Sleeping tasks
    do no compute and the workers share one process (a fresh one per point) and two cores, so
    this measures what the scheduler and the driver loop cost per task, nothing else. Real shards last minutes, so
    the efficiency here (sub-second tasks) is a lower bound.

    Returns
    -------
    dict: ``simulated`` True, ``task_seconds``, ``points`` (per W: tasks, wall_s, ideal_s, efficiency),
    ``timed_out`` (the W whose tasks stopped coming back twice: left out of ``points``).
    """
    points, timed_out = {}, []
    for n in workers:
        for attempt in range(2):  # a point that stalls gets one more try
            try:
                points[str(n)] = _point_in_fresh_process(n, task_seconds, tasks_per_worker)
                break
            except TimeoutError:
                log.warning("simulated coordination at %d workers timed out (try %d of 2)", n, attempt + 1)
        else:
            timed_out.append(n)
    return {
        "simulated": True,
        "task_seconds": task_seconds,
        "tasks_per_worker": tasks_per_worker,
        "points": points,
        "timed_out": timed_out,
    }


def _point_in_fresh_process(n: int, task_seconds: float, tasks_per_worker: int) -> dict:
    """:func:`_simulated_point` in a spawned process: nothing that ran before in this one (the
    engines' Dask clusters, torch's threads) can stall its scheduler. Once, after the rest of
    ``make bench`` in one process, every point from 32 workers on stopped getting its tasks back."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        return process.submit(_simulated_point, n, task_seconds, tasks_per_worker).result()


def _simulated_point(n: int, task_seconds: float, tasks_per_worker: int) -> dict:
    """One point of :func:`simulate_coordination`; TimeoutError when the tasks stop coming back."""
    from distributed import Client, LocalCluster, as_completed

    processes = min(n, 16)  # in-process workers, each with n / 16 threads: one event loop per 32 tasks
    with (
        LocalCluster(
            n_workers=processes,
            threads_per_worker=math.ceil(n / processes),
            processes=False,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(processes)
        total = tasks_per_worker * n
        start = time.perf_counter()
        submitted = min(2 * n, total)
        # A bounded wait: a scheduler that stops answering fails this point instead of hanging the bench.
        running = as_completed(
            [client.submit(_sleep, task_seconds, pure=False) for _ in range(submitted)],
            timeout=max(60.0, 10 * tasks_per_worker * task_seconds),
        )
        for future in running:
            future.result()
            future.release()
            if submitted < total:
                running.add(client.submit(_sleep, task_seconds, pure=False))
                submitted += 1
        wall = time.perf_counter() - start
    ideal = tasks_per_worker * task_seconds
    return {
        "tasks": total,
        "wall_s": round(wall, 3),
        "ideal_s": ideal,
        "efficiency": round(min(ideal / wall, 1.0), 3),
        "tasks_per_s": round(total / wall, 1),
    }


def paper_scale_estimate(
    image_cost_s: float,
    bytes_per_image: float,
    cores: Sequence[int] = (2, 32, 256, 1024),
    tasks_per_s: float | None = None,
    n_shards: int = 1024,
    images: int = PAPER_AFFECTNET_IMAGES,
) -> dict:
    """Hours and disk for the paper's AffectNet set from the measured per-image cost.

    The set is split into ``n_shards`` shards of ``images / n_shards * image_cost_s`` seconds
    each. On N cores at most ``n_shards`` work at once, and the scheduler must hand out
    ``N / shard seconds`` tasks per second; where that exceeds ``tasks_per_s`` (the rate the
    simulated coordination reached), the workers wait in that proportion.
    """
    core_hours = images * image_cost_s / 3600
    shard_seconds = images / n_shards * image_cost_s
    hours = {}
    for n in cores:
        busy = min(n, n_shards)
        share = 1.0 if not tasks_per_s else min(1.0, tasks_per_s / (busy / shard_seconds))
        hours[str(n)] = round(core_hours / busy / share, 3)
    return {
        "images": images,
        "core_hours": round(core_hours, 1),
        "n_shards": n_shards,
        "tasks_per_s": tasks_per_s,
        "shard_seconds": round(shard_seconds, 1),
        "hours_on_cores": hours,
        "disk_gb": round(images * bytes_per_image / 1e9, 1),
    }
