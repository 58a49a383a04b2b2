"""The augmentation tests' fakes are a module of their own, so worker processes can import them."""

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from affect.gallery.va_classes import fit_va_classes  # noqa: E402

N_CLASSES = 20


@pytest.fixture(scope="module")
def classes():
    va = np.clip(np.random.default_rng(0).normal(0.2, 0.4, (300, 2)), -1, 1)
    return fit_va_classes(va, N_CLASSES)
