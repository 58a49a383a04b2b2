"""The augmenters of the comparison (Sec. 6.1.2, 6.2): the paper's method and two GAN baselines.

Each method's augmenter has the :class:`affect.augmentation.augmenters.Augmenter` interface and
an ``affect_model`` (whose VA classes the plan draws the targets from), so the builder
(:func:`affect.augmentation.build.augment_database`) writes the same manifest and folders for
each, and every table switches method by one parameter. The paper's is
:class:`affect.augmentation.augmenters.SynthesizerAugmenter`; the GAN baselines' are made by
:func:`affect.learning.gans.augmenter.gan_augmenter`, and
:meth:`affect.run.Run.augmenter` picks a run's augmenter by method.
"""

from __future__ import annotations

__all__ = ["METHODS", "GAN_METHODS", "check_method"]

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
