"""Run the shards of a build on Dask distributed: a local cluster, or any running scheduler.

Optional: ``pip install 'affect-kit[dask]'``. One shard is one task (minutes of work, far above
Dask's millisecond per-task overhead). The augmenter (for ours: the face and affect models)
is sent once to every worker by a :class:`AugmenterPlugin`, which Dask also runs on every
worker that joins later, restarted ones included; tasks carry only their shard's jobs. At
most ``2 * workers`` shard tasks are in flight, so the scheduler never holds millions of
futures. Results are counts; the images and rows are on disk, written by the shard itself,
which makes a task that runs twice (its worker killed, a retry) harmless: the second run
skips what the first finished (:mod:`affect.augmentation.shards`).

Dask moves the plugin, the tasks and their results as pickles (cloudpickle for what a script or
notebook defines), so a scheduler named with ``scheduler`` must be one you trust: whoever runs
it can run code in its workers and in this process (Dask's security model; ``tls://`` addresses
with certificates keep others out). The kit itself unpickles nothing it receives.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import uuid
from collections.abc import Iterable, Iterator
from multiprocessing import get_all_start_methods
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from affect.augmentation.augmenters import synthesizer_from_file
from affect.augmentation.shard_tasks import ShardResult, ShardTask, run_shard, single_thread_libraries

PLUGIN = "affect-augmenter"
#: Times a shard task is retried after an error (a worker's death counts separately, Dask's
#: ``distributed.scheduler.allowed-failures``, 3 by default).
RETRIES = 2


class AugmenterPlugin(WorkerPlugin):
    """Carries the augmenter to each worker process, where Dask rebuilds it once.

    Dask pickles the plugin with cloudpickle when it holds what a script or notebook defines,
    so such an augmenter reaches the workers too; the scheduler keeps it as bytes.
    """

    def __init__(self, augmenter: Any):
        self.augmenter = augmenter
        self.restore_threads = None

    def setup(self, worker) -> None:
        # One thread per library pool while the plugin is on the worker (restored on teardown,
        # for a shared cluster): a thread per core in every worker process would oversubscribe.
        self.restore_threads = single_thread_libraries()

    def teardown(self, worker) -> None:
        self.augmenter = None
        if self.restore_threads is not None:
            self.restore_threads()
            self.restore_threads = None
        synthesizer_from_file.cache_clear()  # the models an adapter from a file loaded in this worker


def local_cluster(jobs: int) -> LocalCluster:
    """A ``LocalCluster`` of ``jobs`` single-threaded worker processes, forked from this one.

    Forked, as the process pool's workers are (``distributed.worker.multiprocessing-method``):
    they start with the modules this process imported (torch, numba's compiled kernels, the
    face models) and the synthesizer :func:`synthesizer_from_file` loaded, which the plugin's
    augmenter unpickles to. A spawned worker imports and loads all of that again, and pays the
    rest on its first photo: about 2.7 s per worker on the scale benchmark, a quarter of a
    2-worker build of its 1,512 images. The plugin limits the libraries to one thread
    (:func:`single_thread_libraries`), as Dask's ``OMP/MKL/OPENBLAS_NUM_THREADS=1`` would in a
    spawned worker.

    Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``) is left
    out: it turns off glibc's adaptive mmap threshold, so every image-sized array is mapped
    and unmapped afresh (measured on the scale benchmark's synthesis in spawned workers: 17 to
    18 ms of CPU per image against 12 ms without it, all of it system time), also when an
    earlier Dask cluster of this process left it in ``os.environ`` (Dask's nanny sets it there
    before starting a worker).
    """
    import os

    import dask

    inherited = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    settings = {
        # Windows has no fork; there the workers are spawned.
        "distributed.worker.multiprocessing-method": "fork" if "fork" in get_all_start_methods() else "spawn",
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        # Dask samples each task's stack every 10 ms for a dashboard profile that this cluster,
        # without a dashboard, never shows: about 1 % of a worker's CPU.
        "distributed.worker.profile.enabled": False,
    }
    try:
        with dask.config.set(settings):
            return LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
    finally:
        if inherited is not None:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = inherited


def _run_on_worker(task: ShardTask) -> ShardResult:
    return run_shard(task, get_worker().plugins[PLUGIN].augmenter)


def run_dask(
    tasks: Iterable[ShardTask], augmenter: Any, *, jobs: int, scheduler: str | None = None
) -> Iterator[ShardResult]:
    """Run shard tasks on Dask, yielding each result as its shard finishes.

    Parameters
    ----------
    tasks : iterable of ShardTask
        Consumed lazily, ``2 * workers`` ahead of the finished ones.
    augmenter : Augmenter
    jobs : int
        Without ``scheduler``: a ``LocalCluster`` of ``jobs`` single-threaded worker processes
        (the synthesis holds the GIL), forked from this process (:func:`local_cluster`).
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``, a dask-jobqueue cluster's
        ``scheduler_address``); the in-flight window follows its workers at the start.
    """
    cluster = local_cluster(jobs) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        client.register_plugin(AugmenterPlugin(augmenter), name=PLUGIN)
        workers = jobs if scheduler is None else len(client.scheduler_info().get("workers", {}))
        window = 2 * max(workers, 1)
        token = uuid.uuid4().hex[:8]  # keys unique per build: a shared scheduler may hold old ones
        numbers = itertools.count()  # and per task: the pieces of a split shard share its index

        def submit(task: ShardTask):
            key = f"affect-shard-{task.index:04d}-{next(numbers)}-{token}"
            return client.submit(_run_on_worker, task, key=key, retries=RETRIES)

        pending = iter(tasks)
        running = as_completed([submit(task) for task in itertools.islice(pending, window)])
        for future in running:
            try:
                result = future.result()
            except KilledWorker as error:
                raise RuntimeError(
                    f"{future.key}: every worker that ran it died (distributed.scheduler."
                    f"allowed-failures; out of memory? {error}); what finished is kept, run "
                    "again to resume"
                ) from None
            future.release()
            task = next(pending, None)
            if task is not None:
                running.add(submit(task))
            yield result
    finally:
        if cluster is None:  # a shared cluster: its workers need not keep our models
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(PLUGIN)
        client.close()
        if cluster is not None:
            cluster.close()
