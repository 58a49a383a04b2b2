"""Where the kit keeps data: one place that maps a run's data source and profile to folders.

Layout under the data folder (``data/`` in the repository, or ``$AFFECT_DATA``)::

    data/<database>/                 the licensed databases (data_source = "real"), see data/README.md
    data/4dfab/                      the licensed VA-annotated 4D gallery (real)
    data/proxy-<profile>/<database>/ stand-in databases written by the kit (proxy)
    data/proxy-<profile>/gallery/    the stand-in gallery and its affect models, one per seed (proxy)
    data/augmented/<source>-<profile>/gallery-<source>-seed<seed>[-<method>]/<database>/   augmented training sets
    data/gans/<profile>/gallery-<source>-seed<seed>/<method>/   trained GAN baselines (StarGAN, GANimation)

Stand-ins live in one folder per profile, so a smoke run never leaves tiny copies where a
default or paper run would take them for its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from affect.vocabulary import SOURCES, check_choice

DATA_ENV = "AFFECT_DATA"
#: File name of an affect model inside its gallery folder; the seed enters the VA classes and sparse fits.
AFFECT_MODEL_FILE = "affect_model_seed{seed}.npz"


def data_dir() -> Path:
    """``$AFFECT_DATA`` if set, else the repository's ``data/`` folder (or ``./data`` outside it)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    repository = Path(__file__).resolve().parents[1]
    return repository / "data" if (repository / "data" / "README.md").exists() else Path("data").resolve()


def _check(data_source: str) -> None:
    check_choice("data_source", data_source, SOURCES)


def database_root(name: str, data_source: str, profile: str) -> Path:
    """Folder of database ``name`` for a run."""
    _check(data_source)
    return data_dir() / name if data_source == "real" else data_dir() / f"proxy-{profile}" / name


def gallery_root(data_source: str, profile: str) -> Path:
    """Folder of the VA-annotated 4D gallery for a run."""
    _check(data_source)
    return data_dir() / "4dfab" if data_source == "real" else data_dir() / f"proxy-{profile}" / "gallery"


def affect_model_path(data_source: str, profile: str, seed: int = 0) -> Path:
    """Where a run's affect model (built from its gallery with ``seed``) is saved."""
    return gallery_root(data_source, profile) / AFFECT_MODEL_FILE.format(seed=int(seed))


def augmented_root(
    database: str, data_source: str, profile: str, gallery_source: str, seed: int, method: str = "proposed"
) -> Path:
    """Where the augmented training set of a database is built, one per run setting (Sec. 6.2).

    Keyed by the databases (source and profile), the affect model (gallery source), the seed
    and the augmenter (``method``: the paper's, or a GAN baseline's folder suffix), so that
    every notebook of a run finds the same build and no run takes another's.
    """
    _check(data_source)
    _check(gallery_source)
    run = f"gallery-{gallery_source}-seed{int(seed)}" + ("" if method == "proposed" else f"-{method}")
    return data_dir() / "augmented" / f"{data_source}-{profile}" / run / database


def gan_root(method: str, gallery_source: str, profile: str, seed: int) -> Path:
    """Where a GAN baseline trained on a run's gallery keeps its checkpoints, curves and samples."""
    _check(gallery_source)
    return data_dir() / "gans" / profile / f"gallery-{gallery_source}-seed{int(seed)}" / method
