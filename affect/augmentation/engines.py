"""The engines a build runs its shard tasks on: this process, a process pool, or Dask (Sec. 6.2).

:func:`run_shards` hands each :class:`~affect.augmentation.shard_tasks.ShardTask` to the engine
chosen (:data:`ENGINES`) and yields the results as the shards finish; the Dask engine is in
:mod:`affect.augmentation.dask_engine`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from urllib.parse import urlsplit

from affect.augmentation.augmenters import Augmenter
from affect.augmentation.shard_tasks import ShardResult, ShardTask, run_shard, single_thread_libraries

#: The engines :func:`affect.augmentation.build.build` runs shards on.
ENGINES = ("serial", "pool", "dask")
#: Seconds to wait for a Dask scheduler to accept a connection before giving up.
SCHEDULER_TIMEOUT = 5.0


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Raise a one-line ValueError unless a TCP connection to a Dask scheduler's address opens.

    ``tcp://host:port`` and ``tls://host:port`` (or ``host:port``) are tried with a plain socket,
    so an address where nothing listens fails in ``timeout`` seconds, not after Dask's 30 s
    of retries; other schemes (``inproc://``, ``ucx://``) are left to Dask.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        port = None
    if not host or port is None:
        raise ValueError(f"scheduler: expected an address such as tcp://host:8786, got {address!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(
            f"scheduler: expected a running Dask scheduler at {address}, but nothing answers ({reason})"
        ) from None


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
