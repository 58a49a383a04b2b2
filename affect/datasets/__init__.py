"""Loaders and stand-in writers for the affect databases of the paper (Sec. 5, Table 1) and
the age databases of its age analysis (Sec. 6.5: IMDB-WIKI, Adience; :data:`AGE_NAMES`) and
FER2013, on which Table 8's VGG-FACE-FER is first trained (:data:`PRETRAINING_NAMES`).

Every database has a module with ``load(root, split, ...)`` reading its released on-disk
format and ``write_layout(root, records, ...)`` writing a copy in that same format (the
stand-in data is written this way, so the loaders are exercised on realistic files). All
loaders return the columns of :data:`COLUMNS`; see :mod:`affect.datasets.common`.

The stand-ins (``data_source='proxy'``): :mod:`~affect.datasets.proxy` writes each database's
stand-in once per profile and seed (``ensure_proxy``), drawing its faces with
:mod:`~affect.datasets.proxy_faces`; :mod:`~affect.datasets.proxy_ages` writes the age databases'.

>>> frame = load("afew_va", "/data/AFEW-VA")                  # doctest: +SKIP
>>> frame.attrs["report"].summary()                           # doctest: +SKIP
>>> for train, test in folds("afew_va", "/data/AFEW-VA", k=5, seed=0): ...  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pandas as pd

from affect.datasets import adience, afew, afew_va, affectnet, affwild, bu3dfe, fer2013, imdb_wiki, rafdb, recola
from affect.datasets.common import (
    COLUMNS,
    DatasetFormatError,
    LoadReport,
    Problem,
    Sample,
    load_report,
    person_independent_folds,
    read_frame,
    save_report,
)

__all__ = [
    "NAMES",
    "AGE_NAMES",
    "PRETRAINING_NAMES",
    "COLUMNS",
    "SPLITS",
    "FOLDS",
    "load",
    "folds",
    "neutral_frames",
    "write_layout",
    "read_frame",
    "Sample",
    "LoadReport",
    "Problem",
    "DatasetFormatError",
    "save_report",
    "load_report",
    "person_independent_folds",
]

_MODULES: dict[str, ModuleType] = {
    "affectnet": affectnet,
    "affwild": affwild,
    "afew_va": afew_va,
    "recola": recola,
    "rafdb": rafdb,
    "afew": afew,
    "bu3dfe": bu3dfe,
}
NAMES = tuple(_MODULES)
#: The age-labelled databases of Sec. 6.5; :func:`load` reads them too (rows carry ``age``,
#: ``age_low``, ``age_high`` and a face ``box``), but they are not affect databases.
_AGE_MODULES: dict[str, ModuleType] = {"imdb_wiki": imdb_wiki, "adience": adience}
AGE_NAMES = tuple(_AGE_MODULES)
#: Databases a row of Tables 2 to 9 trains on before its table's database (FER2013: Table 8's
#: VGG-FACE-FER); :func:`load` reads them, but they are not among Table 1's.
_PRETRAINING_MODULES: dict[str, ModuleType] = {"fer2013": fer2013}
PRETRAINING_NAMES = tuple(_PRETRAINING_MODULES)
_ALL_MODULES = {**_MODULES, **_AGE_MODULES, **_PRETRAINING_MODULES}
SPLITS = {name: module.SPLITS for name, module in _ALL_MODULES.items()}
# Sec. 6.2.1.2 (AFEW-VA, 5 folds) and 6.2.2.2 (BU-3DFE, 10 folds), both person-independent.
FOLDS = {"afew_va": 5, "bu3dfe": 10}


def _module(name: str) -> ModuleType:
    if name not in _ALL_MODULES:
        raise ValueError(f"name: unknown database {name!r}; known: {', '.join(_ALL_MODULES)}")
    return _ALL_MODULES[name]


def load(name: str, root: str | os.PathLike, split: str = "all", *, strict: bool = False, **options) -> pd.DataFrame:
    """Load one split of a database from its released on-disk format.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`, :data:`AGE_NAMES` or :data:`PRETRAINING_NAMES`.
    root : path
        The database's folder (see each module's docstring for the layout).
    split : str
        One of ``SPLITS[name]``; every database accepts ``'all'``.
    strict : bool
        Raise :class:`DatasetFormatError` (a ValueError naming file and line) on the first
        bad row instead of skipping and counting it.
    **options
        Passed to the database's loader: ``decode_check`` (all), ``seed`` (AffectNet's
        train/val split).

    Returns
    -------
    DataFrame with columns :data:`COLUMNS` (plus database extras) and the
    :class:`LoadReport` in ``frame.attrs['report']``.
    """
    return _module(name).load(root, split, strict=strict, **options)


def folds(
    name: str, root: str | os.PathLike, k: int | None = None, seed: int = 0, *, strict: bool = False
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Person-independent k-fold (train, test) frames of a whole database.

    Sec. 6.2.1.2 and 6.2.2.2: AFEW-VA uses 5 folds and BU-3DFE 10, with no person in both
    the training and the test part of a fold.

    Parameters
    ----------
    name : str
        Database name; databases without identities (AffectNet, RAF-DB, AFEW) are refused.
    root : path
    k : int, optional
        Number of folds; default :data:`FOLDS` [name].
    seed : int
        Seed of the assignment of subjects to folds.
    """
    if k is None:
        if name not in FOLDS:
            raise ValueError(f"k: no default fold count for {name!r}; give k")
        k = FOLDS[name]
    return person_independent_folds(load(name, root, "all", strict=strict), k, seed)


def neutral_frames(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Rows showing a neutral face, the sources of synthesis (Sec. 6.2.1, 6.2.2).

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`load`.
    by : {'va', 'expression'}, optional
        ``'va'``: valence == arousal == 0 (Sec. 6.2.1); ``'expression'``: the neutral
        class (Sec. 6.2.2). Default: ``'expression'`` if the frame has expression labels
        (so AffectNet, labelled with both, uses its neutral class), else ``'va'``.

    Returns
    -------
    The selected rows, index reset.
    """
    missing = {"valence", "arousal", "expression"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame: missing columns {sorted(missing)}")
    if by is None:
        by = "expression" if frame["expression"].notna().any() else "va"
    if by == "va":
        mask = (frame["valence"] == 0) & (frame["arousal"] == 0)
    elif by == "expression":
        mask = frame["expression"] == "neutral"
    else:
        raise ValueError(f"by: {by!r} is not 'va' or 'expression'")
    return frame[mask.to_numpy(dtype=bool)].reset_index(drop=True)


def write_layout(name: str, root: str | os.PathLike, records: Sequence[Sample], **options) -> Path:
    """Write samples as a copy of database ``name`` that :func:`load` reads unchanged.

    See each module's ``write_layout`` for which fields it needs and its ``options``.
    """
    return _module(name).write_layout(root, records, **options)
