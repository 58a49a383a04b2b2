"""What data each numbered notebook reads, and which of it a run with real data lacks.

:func:`notebook_needs` maps every notebook number to the databases it loads and whether it
reads the 4D gallery, derived from the experiments' own table specs (Tables 2 to 9:
:data:`affect.experiments.affect_tables.TABLES`; 10 and 11: the synthetic tables' sources; 12:
the profile's granularity curves; 13 and 14: the age tables' blocks and the age estimator's
IMDB-WIKI). :func:`missing_data` names the folders under the data folder that a run with
``data_source='real'`` or ``gallery_source='real'`` still lacks, each with the section of
``data/README.md`` that says how to obtain it; stand-ins (``'proxy'``) are written on use, so
nothing is missing then. A database that only a row of a table pretrains on (FER2013, Table 8's
VGG-FACE-FER) is ``optional``: without it the notebook runs and leaves that row out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from affect import data_paths, datasets
from affect.experiments import affect_tables, age_tables, granularity, synthetic_tables
from affect.profiles import Profile

__all__ = ["Needs", "MissingData", "SECTIONS", "notebook_needs", "missing_data"]

#: The section of data/README.md that describes each folder a notebook may need.
SECTIONS = {
    **{name: "Databases of Table 1" for name in datasets.NAMES},
    **{name: "Age databases of Sec. 6.5 (Tables 13 and 14)" for name in datasets.AGE_NAMES},
    **{name: affect_tables.PRETRAINING_SECTION for name in datasets.PRETRAINING_NAMES},
    "4dfab": "4DFAB: the VA-annotated 4D gallery (`data/4dfab/`)",
}


@dataclass(frozen=True)
class Needs:
    """The data one notebook reads.

    Attributes
    ----------
    databases : tuple of str
        Databases loaded with the run's ``data_source`` (:data:`affect.datasets.NAMES`, ``AGE_NAMES``).
    gallery : bool
        Whether it reads the 4D gallery (or the affect model built from it) of the run's ``gallery_source``.
    optional : tuple of str
        Databases it reads when present (:data:`affect.datasets.PRETRAINING_NAMES`): a real run
        without them runs the notebook and leaves out the rows that need them.
    """

    databases: tuple[str, ...] = ()
    gallery: bool = True
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class MissingData:
    """A data folder a notebook needs and the data folder lacks."""

    folder: Path
    section: str

    def shown(self) -> str:
        """The folder as the user names it: ``data/affwild/`` (or ``$AFFECT_DATA/affwild/``)."""
        base = f"${data_paths.DATA_ENV}" if os.environ.get(data_paths.DATA_ENV) else "data"
        try:
            return f"{base}/{self.folder.relative_to(data_paths.data_dir()).as_posix()}/"
        except ValueError:
            return f"{self.folder}/"


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def notebook_needs(profile: Profile) -> dict[str, Needs]:
    """The data of every numbered notebook (``'00'`` to ``'15'``) for a run of ``profile``."""
    tables = affect_tables.TABLES
    needs = {
        "00": Needs(),  # the gallery's figures and its affect model
        "01": Needs(datasets.NAMES),  # Table 1 synthesizes from every database's neutral faces
        **{
            f"{n:02d}": Needs((spec.database,), optional=_unique([r.pretrain for r in spec.rows if r.pretrain]))
            for n, spec in tables.items()
        },
        **{f"{n}": Needs(_unique([s.database for s in synthetic_tables.SOURCES])) for n in (10, 11)},
        "12": Needs(_unique([tables[c.table].database for c in granularity.curves(profile)])),
        **{f"{n}": Needs(_unique([s.database for s in age_tables.AGE_TABLES[n]] + ["imdb_wiki"])) for n in (13, 14)},
        "15": Needs(),  # the VA explorer synthesizes with the gallery's affect model
    }
    return needs


def missing_data(needs: Needs, profile: Profile, data_source: str, gallery_source: str) -> tuple[MissingData, ...]:
    """The folders of ``needs`` that are absent for a run with these sources (none for stand-ins).

    Only the required ones: an absent ``optional`` database leaves a row out, not the notebook.
    """
    folders = []
    if data_source == "real":
        folders += [(data_paths.database_root(n, data_source, profile.name), n) for n in needs.databases]
    if gallery_source == "real" and needs.gallery:
        folders.append((data_paths.gallery_root(gallery_source, profile.name), "4dfab"))
    return tuple(MissingData(folder, SECTIONS[name]) for folder, name in folders if not folder.is_dir())
