"""Table 1: the number of images synthesized per database, beside the paper's (Sec. 6.2)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from affect.augmentation.targets import VA_TARGETS_PER_IMAGE
from affect.reporting import beside_paper, write_table
from affect.run import Run

#: Our database names -> the row labels of the paper's Table 1.
PAPER_NAMES: dict[str, str] = {
    "affectnet": "AffectNet",
    "affwild": "Aff-Wild",
    "afew_va": "AFEW-VA",
    "recola": "RECOLA",
    "rafdb": "RAF-DB",
    "afew": "AFEW 5.0",
    "bu3dfe": "BU-3DFE",
}
_COUNT_COLUMNS = (("synthesized images", "VA"), ("synthesized images", "basic expressions"))


def synthesized_counts(manifests: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Count synthesized images per database, VA and basic-expression cases (Table 1).

    Parameters
    ----------
    manifests : dict of database name -> manifest
        Our database names (``'afew_va'``) or any other label.

    Returns
    -------
    DataFrame indexed by database, columns ``('synthesized images', 'VA')``,
    ``('synthesized images', 'basic expressions')`` (Table 1's) and
    ``('neutral images', '')``: distinct source photos.
    """
    rows = {}
    for name, manifest in manifests.items():
        if not {"source", "expression"} <= set(manifest.columns):
            raise ValueError(f"manifests[{name!r}]: needs the columns 'source' and 'expression'")
        basic = manifest["expression"].notna() & (manifest["expression"] != "")
        rows[name] = [int((~basic).sum()), int(basic.sum()), int(manifest["source"].nunique())]
    columns = pd.MultiIndex.from_tuples(list(_COUNT_COLUMNS) + [("neutral images", "")], names=["column", "subcolumn"])
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "database"
    return frame.astype(np.int64)


def table_1(counts: pd.DataFrame) -> pd.DataFrame:
    """Our synthesized-image counts beside the paper's Table 1 counts.

    Rows are the paper's database names (:data:`PAPER_NAMES` maps ours); only the paper's
    two count columns are shown beside ours.
    """
    from affect import paper

    ours = counts.rename(index=lambda name: PAPER_NAMES.get(name, name))
    theirs = paper.table(1)[list(_COUNT_COLUMNS)]
    return beside_paper(ours, theirs)


def write_table_1(counts: pd.DataFrame, run: Run) -> Path:
    """Write Table 1 of this run beside the paper's (``tables/table_01.md`` and ``.csv``)."""
    ours = counts.rename(index=lambda name: PAPER_NAMES.get(name, name))
    notes = (
        "Counts depend on how many neutral images a database holds; the comparable "
        "quantity is the count per neutral image: the paper's Table 1 implies 6 basic "
        f"expressions and {VA_TARGETS_PER_IMAGE} VA targets per neutral image for most "
        "databases."
    )
    return write_table(
        1,
        ours,
        run,
        title="Databases and number of synthesized images",
        notes=notes,
        paper_columns=list(_COUNT_COLUMNS),
    )
