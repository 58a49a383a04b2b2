"""The augmenters of the comparison (Sec. 6.1.2, 6.2): the paper's method and two GAN baselines.

:func:`make_augmenter` returns, for ``method = 'proposed' | 'stargan' | 'ganimation'``, an
object with the :class:`affect.augmentation.build.Augmenter` interface and an ``affect_model``
(whose VA classes the plan draws the targets from), so the builder
(:func:`affect.augmentation.build.augment_database`) writes the same manifest and folders for
each, and every table switches method by one parameter. The GANs are trained on the run's
gallery the first time they are asked for (:func:`affect.learning.gans.training.trained_generator`).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["METHODS", "GAN_METHODS", "check_method", "make_augmenter"]

#: Every augmenter: the paper's own, then StarGAN and GANimation conditioned on VA.
METHODS: tuple[str, ...] = ("proposed", "stargan", "ganimation")
GAN_METHODS: tuple[str, ...] = METHODS[1:]
#: How the reports name each method.
LABELS = {"proposed": "proposed", "stargan": "StarGAN", "ganimation": "GANimation"}


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ValueError listing them."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    return method


def make_augmenter(
    method: str,
    *,
    profile: str,
    gallery_source: str = "proxy",
    seed: int = 0,
    affect_model: str | os.PathLike | None = None,
    generator: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> Any:
    """The augmenter of ``method`` for a run.

    Parameters
    ----------
    method : {'proposed', 'stargan', 'ganimation'}
    profile, gallery_source, seed :
        The run: they choose the affect model (built from the gallery if absent) and, for a GAN,
        its trained generator (trained on the gallery if absent).
    affect_model : path, optional
        An affect model file instead of the run's.
    generator : path, optional
        A GAN's ``generator.pt`` instead of the run's.
    device : str
        Where a GAN trains and runs ('auto' trains on a GPU when there is one).
    """
    from affect.augmentation.build import SynthesizerAugmenter
    from affect.gallery.affect_model import ensure_affect_model

    check_method(method)
    if affect_model is None:
        affect_model = ensure_affect_model(gallery_source, profile, seed, progress=progress)
    if method == "proposed":
        return SynthesizerAugmenter.from_file(affect_model)
    from affect.learning.gans.augmenter import GANAugmenter
    from affect.learning.gans.training import trained_generator

    if generator is None:
        generator = trained_generator(
            method, profile=profile, gallery_source=gallery_source, seed=seed, device=device, progress=progress
        )
    return GANAugmenter(generator, affect_model, device="cpu" if device == "auto" else device)
