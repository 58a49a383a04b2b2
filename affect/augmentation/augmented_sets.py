"""The augmented training sets of Tables 2 to 9: synthesized faces at the paper's share (Sec. 6.2).

Each table trains a network on a database's training set and on the same set plus faces the
kit synthesized from its neutral faces. The paper's share of synthesized images differs per
database (Table 1 over the training sizes of Sec. 5); :data:`PAPER_RATIO` holds it, and
:func:`augmented_set` builds a set that follows it, within the profile's cap, in the folder it
is given (:meth:`affect.run.Run.augmented_set`: one per database, kind, profile, seed, method and
affect model, under the data folder where every notebook that needs it, Tables 2 to 14, finds it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from affect import datasets
from affect.augmentation.manifest import MANIFEST, read_manifest
from affect.profiles import Profile

__all__ = ["PAPER_RATIO", "AugmentedSet", "augmented_set", "fold_manifest", "plan_counts"]

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


def augmented_set(
    database: str,
    kind: str,
    root: Path,
    out: Path,
    make_synthesizer: Callable[[], Any],
    *,
    profile: Profile,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    method: str = "proposed",
) -> AugmentedSet:
    """Build (or find) the augmented set of a table: ``kind`` affects synthesized on ``database``.

    Each ``method`` (the paper's, StarGAN or GANimation, Sec. 6.1.2) has its own folder
    (:func:`affect.data_paths.augmented_root`) with the same plan: the same neutral faces and
    VA targets, the same manifest and layout.

    Parameters
    ----------
    database : str
    kind : {'va', 'expression'}
    root : Path
        The database's folder.
    out : Path
        The build's folder (``out/kind`` holds the manifest).
    make_synthesizer : callable
        Returns the AffectSynthesizer or Augmenter of ``method``; called only when the set is
        (re)built.
    profile : Profile
        The run's sizes: the cap on a set and the VA classes.
    seed : int
    jobs : int
        Worker processes of the build.
    method : {'proposed', 'stargan', 'ganimation'}
    """
    from affect.augmentation.build import augment_database

    if (database, kind) not in PAPER_RATIO:
        raise ValueError(f"{database}/{kind}: no augmented set in Tables 2 to 9")
    split = "train" if "train" in datasets.SPLITS[database] else "all"
    train = datasets.load(database, root, split)
    built = out / kind / MANIFEST
    faces, n_va = plan_counts(
        len(train),
        len(datasets.neutral_frames(train)),
        kind,
        PAPER_RATIO[database, kind],
        profile.augment_max_per_set,
        profile.n_va_classes,
    )
    stale = _stale(out / kind, root, faces, n_va)
    if stale or not built.exists():
        augment_database(
            database,
            root,
            out,
            make_synthesizer(),
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
    from affect.datasets.proxy import RECORD

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
