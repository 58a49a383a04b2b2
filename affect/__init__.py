"""Facial affect synthesis and data augmentation (Kollias et al., IJCV 2020)."""

from affect import _compat  # noqa: F401  (restores names menpo's releases still use)

__version__ = "0.1.0"
