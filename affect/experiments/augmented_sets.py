"""The augmented training sets of Tables 2 to 9: synthesized faces at the paper's share (Sec. 6.2).

Each table trains a network on a database's training set and on the same set plus faces the
kit synthesized from its neutral faces. The paper's share of synthesized images differs per
database (Table 1 over the training sizes of Sec. 5); :data:`PAPER_RATIO` holds it, and
:func:`augmented_set` builds a set that follows it, within the profile's cap, once per
database, kind, profile, seed and affect model, under the data folder where every notebook
that needs it (Tables 2 to 14) finds it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from affect import data_paths, datasets, profiles
from affect.augmentation.manifest import MANIFEST, read_manifest

__all__ = ["PAPER_RATIO", "AugmentedSet", "augmented_set", "make_augmenter", "plan_counts", "synthesizer_for"]

#: Synthesized over real training images in the paper, per (database, kind): Table 1's counts
#: over the training sizes of Sec. 5 (AffectNet VA "more than 5"; AffectNet expressions: about
#: 0.4 of the database, synthesized for the six basic expressions only).
PAPER_RATIO: dict[tuple[str, str], float] = {
    ("affwild", "va"): 0.06,
    ("recola", "va"): 0.39,
    ("affectnet", "va"): 5.0,
    ("afew_va", "va"): 3.6,
    ("rafdb", "expression"): 1.05,
    ("affectnet", "expression"): 0.4,
    ("afew", "expression"): 1.4,
    ("bu3dfe", "expression"): 0.24,
}
_EXPRESSIONS_PER_FACE = 6  # the six basic expressions (Sec. 6.2.2)


@dataclass(frozen=True)
class AugmentedSet:
    """A built augmented set and how close it came to the paper's share.

    Attributes
    ----------
    folder : Path
        The build (``manifest.csv`` and the images).
    database, kind : str
    real : int
        Training images of the database the share is counted against.
    synthesized : int
        Images in the manifest.
    target_ratio : float
        The paper's share (:data:`PAPER_RATIO`).
    """

    folder: Path
    database: str
    kind: str
    real: int
    synthesized: int
    target_ratio: float

    @property
    def ratio(self) -> float:
        """Synthesized over real training images reached."""
        return self.synthesized / self.real if self.real else math.nan

    def note(self) -> str:
        """One sentence for a table's note: the share reached beside the paper's."""
        return (
            f"Synthesized training images: {self.synthesized} beside {self.real} real "
            f"(ratio {self.ratio:.2f}; the paper's: {self.target_ratio:g})."
        )


def plan_counts(
    n_real: int, n_neutral: int, kind: str, ratio: float, cap: int | None, n_classes: int
) -> tuple[int, int]:
    """How many neutral faces to use and how many VA targets each, to reach ``ratio``.

    Targets per face follow Table 1 (57 VA targets or the 6 expressions per neutral face);
    with few neutral faces a VA set takes more targets per face, up to ``n_classes``.

    Returns
    -------
    (neutral faces, VA targets per face); the second is 0 for ``kind='expression'``.
    """
    from affect.augmentation.targets import VA_TARGETS_PER_IMAGE

    wanted = max(1, math.ceil(ratio * n_real))
    if cap is not None:
        wanted = min(wanted, cap)
    if n_neutral < 1:
        raise ValueError("the training set holds no neutral face to synthesize from")
    per_face = VA_TARGETS_PER_IMAGE if kind == "va" else _EXPRESSIONS_PER_FACE
    faces = min(n_neutral, math.ceil(wanted / per_face))
    if kind == "expression":
        return faces, 0
    return faces, min(n_classes, max(1, math.ceil(wanted / faces)))


def synthesizer_for(gallery_source: str, profile: str, seed: int):
    """The synthesizer of a run: the affect model of ``gallery_source`` (stand-in or 4DFAB)."""
    from affect.gallery.affect_model import ensure_affect_model
    from affect.synthesis import AffectSynthesizer

    return AffectSynthesizer.from_file(
        ensure_affect_model(gallery_source, profile, seed, progress=False), measure_identity=False
    )


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
    """The augmenter of ``method`` for a run (Sec. 6.1.2, 6.2).

    The paper's method adapts its synthesizer
    (:meth:`affect.augmentation.augmenters.SynthesizerAugmenter.from_file`); a GAN baseline is
    :func:`affect.learning.gans.augmenter.gan_augmenter`.

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
    from affect.augmentation.augmenters import SynthesizerAugmenter
    from affect.augmentation.methods import check_method
    from affect.gallery.affect_model import ensure_affect_model

    check_method(method)
    if affect_model is None:
        affect_model = ensure_affect_model(gallery_source, profile, seed, progress=progress)
    if method == "proposed":
        return SynthesizerAugmenter.from_file(affect_model)
    from affect.learning.gans.augmenter import gan_augmenter

    return gan_augmenter(
        method,
        affect_model,
        profile=profile,
        gallery_source=gallery_source,
        seed=seed,
        generator=generator,
        device=device,
        progress=progress,
    )


def augmented_set(
    database: str,
    kind: str,
    *,
    profile: str,
    data_source: str,
    gallery_source: str = "proxy",
    seed: int = 0,
    jobs: int = 1,
    synthesizer=None,
    progress: bool = False,
    method: str = "proposed",
    device: str = "cpu",
) -> AugmentedSet:
    """Build (or find) the augmented set of a table: ``kind`` affects synthesized on ``database``.

    Each ``method`` (the paper's, StarGAN or GANimation, Sec. 6.1.2) has its own folder
    (:func:`affect.data_paths.augmented_root`) with the same plan: the same neutral faces and
    VA targets, the same manifest and layout.

    Parameters
    ----------
    database : str
    kind : {'va', 'expression'}
    profile, data_source : str
        The run's sizes and databases.
    gallery_source : {'proxy', 'real'}
        Whose affect model synthesizes: the kit's stand-in gallery or a VA-annotated 4DFAB.
    seed : int
    jobs : int
        Worker processes of the build.
    synthesizer : AffectSynthesizer or Augmenter, optional
        Default :func:`synthesizer_for` (``method='proposed'``) or
        :func:`make_augmenter` (a GAN, trained first if absent).
    method : {'proposed', 'stargan', 'ganimation'}
    device : str
        Where a GAN baseline trains, if it has to.
    """
    from affect.augmentation.build import augment_database
    from affect.augmentation.methods import check_method

    if (database, kind) not in PAPER_RATIO:
        raise ValueError(f"{database}/{kind}: no augmented set in Tables 2 to 9")
    root = data_paths.database_root(database, data_source, profile)
    split = "train" if "train" in datasets.SPLITS[database] else "all"
    train = datasets.load(database, root, split)
    out = data_paths.augmented_root(database, data_source, profile, gallery_source, seed, check_method(method))
    built = out / kind / MANIFEST
    sizes = profiles.get(profile)
    faces, n_va = plan_counts(
        len(train),
        len(datasets.neutral_frames(train)),
        kind,
        PAPER_RATIO[database, kind],
        sizes.augment_max_per_set,
        sizes.n_va_classes,
    )
    stale = _stale(out / kind, root, faces, n_va)
    if stale or not built.exists():
        if synthesizer is None:
            synthesizer = (
                synthesizer_for(gallery_source, profile, seed)
                if method == "proposed"
                else make_augmenter(method, profile=profile, gallery_source=gallery_source, seed=seed, device=device)
            )
        augment_database(
            database,
            root,
            out,
            synthesizer,
            kinds=(kind,),
            split=split,
            n_va=n_va or None,
            max_neutral=faces,
            jobs=jobs,
            seed=seed,
            measure_identity=False,
            progress=progress,
            overwrite=stale,
            method=method,
        )
    manifest = read_manifest(built)
    return AugmentedSet(out / kind, database, kind, len(train), len(manifest), PAPER_RATIO[database, kind])


def _stale(folder: Path, root: Path, faces: int, n_va: int) -> bool:
    """Whether a cached set no longer matches its plan, or predates its database's stand-in."""
    from affect.augmentation.manifest import SETTINGS_FILE
    from affect.datasets.standin import RECORD

    settings, record = folder / SETTINGS_FILE, root / RECORD
    if not settings.is_file():
        return False
    stored = json.loads(settings.read_text(encoding="utf-8"))
    planned = stored.get("max_neutral") != faces or (n_va and stored.get("n_va") != n_va)
    return bool(planned) or (record.is_file() and record.stat().st_mtime > settings.stat().st_mtime)


def fold_manifest(augmented: AugmentedSet, train: pd.DataFrame, test: pd.DataFrame, fold: int) -> Path:
    """The synthesized images one cross-validation fold may train on, as a manifest file.

    Sec. 6.2.1.2 and 6.2.2.2: each fold is augmented only with faces synthesized from its own
    training subjects (:func:`affect.augmentation.augment_folds`). The file sits in the build's
    folder so that its relative image paths resolve.
    """
    from affect.augmentation import augment_folds, write_manifest

    kept = augment_folds([(train, test)], read_manifest(augmented.folder / MANIFEST))[0]
    return write_manifest(kept, augmented.folder / f"manifest-fold{fold}.csv")
