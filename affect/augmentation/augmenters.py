"""The augmenter interface of a build (Sec. 6.2) and its adapter for the paper's synthesizer.

:class:`Augmenter` is what :func:`affect.augmentation.build.build` runs over a plan (the paper's
method or a GAN baseline); :class:`SynthesizerAugmenter` adapts ``affect.synthesis.AffectSynthesizer``
to it, and :func:`synthesizer_from_file` loads that synthesizer once per worker process.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from affect.augmentation.targets import Target


@runtime_checkable
class Augmenter(Protocol):
    """What :func:`~affect.augmentation.build.build` needs from a face synthesizer (ours, or a GAN).

    ``prepare`` runs once per source photo (for ours: landmarks, 3DMM fit and texture,
    Sec. 4.1 to 4.3) and returns whatever state ``synthesize`` needs; ``synthesize`` makes
    one image per target. Instances are pickled once into every worker process.
    """

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> Any:
        """Per-photo work. ``image``: (H, W, 3) uint8 RGB; ``landmarks``: (68, 2) or None."""

    def synthesize(self, state: Any, target: Target, seed: int) -> np.ndarray:
        """One synthesized (H', W', 3) uint8 RGB image; ``seed`` for any randomness."""


class SynthesizerAugmenter:
    """Adapts a synthesizer with ``static(image, va)`` and ``basic(image, expression)``.

    Those are the calls of ``affect.synthesis.AffectSynthesizer`` (Sec. 4.5.2); the
    synthesizer keeps its own per-photo fit, so :meth:`prepare` only hands the photo and the
    database's landmarks (if any) on. A result that is not an array is taken to carry the
    image in its ``image`` attribute. :func:`~affect.augmentation.build.build` measures identity
    itself, so a synthesizer's own identity measurement is switched off (on a shallow copy).
    """

    def __init__(self, synthesizer: Any):
        for method in ("static", "basic"):
            if not callable(getattr(synthesizer, method, None)):
                raise ValueError(f"synthesizer: {type(synthesizer).__name__} has no {method}() method")
        if getattr(synthesizer, "measure_identity", False) is True:
            synthesizer = copy.copy(synthesizer)
            synthesizer.measure_identity = False
        self.synthesizer = synthesizer
        self.recipe: tuple | None = None

    @classmethod
    def from_file(cls, path: str | os.PathLike | None = None, **options) -> SynthesizerAugmenter:
        """Adapt ``AffectSynthesizer.from_file(path, **options)``; pickled as the file, not the models.

        The face and affect models pickle to about 90 MB, which a Dask engine would send to
        every worker; this adapter sends the path and ``options`` instead, and each worker
        process loads the synthesizer once (:func:`synthesizer_from_file`).
        """
        recipe = (None if path is None else str(Path(path).resolve()), tuple(sorted(options.items())))
        adapter = cls(synthesizer_from_file(*recipe))
        adapter.recipe = recipe
        return adapter

    @property
    def affect_model(self):
        """The synthesizer's affect model (its VA classes are the VA targets, Sec. 4.5.1)."""
        return self.synthesizer.affect_model

    def __getstate__(self) -> dict:
        return {"recipe": self.recipe} if self.recipe is not None else self.__dict__.copy()

    def __setstate__(self, state: dict) -> None:
        if set(state) == {"recipe"}:
            self.__init__(synthesizer_from_file(*state["recipe"]))
            self.recipe = state["recipe"]
        else:
            self.__dict__.update(state)

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> tuple[Any, np.ndarray | None]:
        """Fit the photo once, if the synthesizer can; return what ``synthesize`` hands it.

        A synthesizer with ``prepare`` (AffectSynthesizer) gets its prepared photo back in place
        of the image, with no landmarks; one with ``reconstruction`` caches its fit by the photo's
        content; any other gets the photo and its landmarks. Fitting here makes a photo without a
        face fail once, in preparation, rather than once per target.
        """
        prepare = getattr(self.synthesizer, "prepare", None)
        if callable(prepare):
            return prepare(image, landmarks), None
        reconstruction = getattr(self.synthesizer, "reconstruction", None)
        if callable(reconstruction):
            reconstruction(image, landmarks)
        return image, landmarks

    def synthesize(self, state: tuple, target: Target, seed: int) -> np.ndarray:
        """Call ``basic`` for an expression target, ``static`` for a VA target."""
        image, landmarks = state
        options = {} if landmarks is None else {"landmarks": landmarks}
        if target.expression is not None:
            result = self.synthesizer.basic(image, target.expression, **options)
        else:
            result = self.synthesizer.static(image, (target.valence, target.arousal), **options)
        return result if isinstance(result, np.ndarray) else result.image


@functools.lru_cache(maxsize=2)
def synthesizer_from_file(path: str | None, options: tuple) -> Any:
    """An AffectSynthesizer loaded once per process for a (path, options) recipe."""
    from affect.synthesis import AffectSynthesizer

    return AffectSynthesizer.from_file(path, **{**dict(options), "measure_identity": False})
