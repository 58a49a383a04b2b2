"""``make bench`` part by part: :func:`run_parts` keeps each part's figures as soon as it ends.

A part is a name and a function from the results so far to the results with its own added
(the engine timings and quality, scale, training, the explorer, the VA path). After every part
``bench.json`` and ``bench.md`` are rewritten atomically, so a part that fails, or a run that
is stopped, keeps the figures of the parts before it; a failed part is recorded with its
one-line error (:attr:`affect.bench.result.BenchResult.failures`) and the next part runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from affect.bench.environment import machine, versions
from affect.bench.report import save_bench
from affect.bench.result import BenchResult

__all__ = ["BenchPart", "blank_result", "one_line_error", "run_parts"]

#: One part of the benchmark: its name and what it adds to the results so far.
BenchPart = tuple[str, Callable[[BenchResult], BenchResult]]


def blank_result() -> BenchResult:
    """A result with no timings yet (NaN engine figures), the machine and versions filled in."""
    return BenchResult(
        timings=(),
        fit_ms=math.nan,
        one_affect_256_ms=math.nan,
        one_affect_256_opencv_ms=math.nan,
        eos_fit_ms=None,
        eos_note="eos not run",
        repeats=0,
        photos=(),
        machine=machine(),
        versions=versions(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def one_line_error(error: BaseException) -> str:
    """``ExceptionType: first line of the message``."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def run_parts(parts: Sequence[BenchPart], out_dir: str | os.PathLike, result: BenchResult | None = None) -> BenchResult:
    """Run ``parts`` in order, writing ``bench.{json,md}`` into ``out_dir`` after each one.

    A part that raises is recorded in ``failures`` with :func:`one_line_error`, the results of
    the parts before it are kept, and the next part runs on them. Returns the last results.
    """
    result = blank_result() if result is None else result
    for name, part in parts:
        try:
            result = part(result)
        except Exception as error:  # noqa: BLE001 - a failed part is reported; the other parts still run
            result = replace(result, failures={**result.failures, name: one_line_error(error)})
        save_bench(result, out_dir)
    return result
