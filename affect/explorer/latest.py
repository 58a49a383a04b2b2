"""Latest-wins work: a worker thread that runs only the newest of the requests given to it.

A drag on the VA plane sends a pointer event every few milliseconds while an update takes tens
of them; queued, the face would trail the pointer by seconds of stale frames. Here each new
request replaces the one still waiting, so the face shows the newest point as soon as the
update in progress ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LatestWins"]

T = TypeVar("T")


class LatestWins(Generic[T]):
    """Run ``work(request)`` on a daemon thread for the newest request only.

    Parameters
    ----------
    work : callable
        Called with each request that is still the newest when the worker is free; its
        exceptions go to ``on_error`` (the worker keeps running).
    on_error : callable
        Called with the exception of a failed ``work``.
    """

    def __init__(self, work: Callable[[T], None], on_error: Callable[[Exception], None]):
        self._work, self._on_error = work, on_error
        self._condition = threading.Condition()
        self._pending: tuple[T] | None = None
        self._busy = False
        self._thread: threading.Thread | None = None
        self.dropped = 0  #: requests replaced before they ran

    def submit(self, request: T) -> None:
        """Ask for ``request``; a request still waiting is dropped in its favour."""
        with self._condition:
            if self._pending is not None:
                self.dropped += 1
            self._pending = (request,)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="affect-explorer-updates", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no request waits or runs; False if ``timeout`` seconds passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending is not None)
                (request,), self._pending, self._busy = self._pending, None, True
            try:
                self._work(request)
            except Exception as error:  # a failed update must not end the worker
                self._on_error(error)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()
