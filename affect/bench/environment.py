"""The conditions of a benchmark run: the machine and the versions of the libraries on the timed path."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import cv2

__all__ = ["version", "versions", "machine"]


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None if it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str]:
    """Versions of affect and of the installed libraries on the timed path."""
    import affect

    names = (
        "numpy",
        "scipy",
        "numba",
        "opencv-python-headless",
        "opencv-python",
        "dlib-bin",
        "dlib",
        "threadpoolctl",
        "eos-py",
    )
    found = {name: version(name) for name in names}
    return {"affect": affect.__version__, **{k: v for k, v in found.items() if v is not None}}


def machine() -> dict[str, object]:
    """``cpu_count``, ``platform``, ``processor``, ``python`` and ``opencv_threads``."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "opencv_threads": cv2.getNumThreads(),
    }
