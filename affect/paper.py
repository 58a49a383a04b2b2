"""The paper's own numbers (Tables 1 to 14 of Kollias et al., IJCV 2020), as data.

Every number the paper prints in Tables 1 to 14 is transcribed once, in long ("tidy") form, in
``affect/assets/paper/tables.csv``: one row per printed number (or, in Table 1, per text cell),
with these fields:

``table``      the table number, 1 to 14
``database``   the database the number is about (Table 1 and 12: the row label)
``row``        the paper's row label: network / method as printed (Tables 2 to 11), age group
               (Tables 13, 14); empty where the database is the row
``model``      the network a column belongs to: the tested network in Tables 10, 11;
               'Network-Augmented' / 'Network' in Table 13; 'VGG-FACE-Augmented' /
               'VGG-FACE' in Table 14; empty elsewhere
``metric``     what is measured (see the names below)
``dimension``  'valence' / 'arousal', an expression class (Table 6), or the case of a
               synthesized-image count (Table 1: 'VA', 'basic expressions')
``value``      the number (empty for a text cell)
``text``       the text of a Table 1 text cell (empty for a number)
``note``       how a garbled or ambiguous cell was read, or a remark on a printed value

``affect/assets/paper/captions.csv`` holds each table's caption and section.

Naming conventions, shared by all tables so that a run's table with the same index and columns
can be placed beside the paper's:

- metrics: 'CCC', 'PCC' (printed 'P-CC' or 'Pearson CC'), 'SAGR', 'MSE', 'accuracy' (printed
  'Total Accuracy'), 'F1', 'diagonal' (Table 6: diagonal of the confusion matrix, per class);
  counts: 'size', 'synthesized images' (Table 1), 'test samples', 'test frames',
  'synthesized samples' (Tables 13, 14); subset sizes 'N1', 'N2', ... (Table 12, in the
  printed order);
- dimensions: 'valence', 'arousal'; expression classes 'anger', 'disgust', 'fear', 'happy',
  'sad', 'surprise', 'neutral' and their 'average' (Table 6);
- the age-group row 'total' is the paper's all-ages row (Tables 13, 14);
- network labels keep the paper's wording and citation (``'AffWildNet [29,30]'``,
  ``'the VGG-FACE baseline'``), so that a row of this run matches only the row of the paper it
  reproduces; database names drop citations and footnote markers (``'MULTI-PIE'``).

:func:`table` gives a table in wide form, one number per cell, with the paper's layout.
Valence and arousal always sit in separate columns, also where the paper prints a
'valence-arousal' pair in one cell (Tables 10, 11, 13): such a pair ``0.43-0.33`` becomes
valence 0.43 and arousal 0.33 (the paper's captions state the order). Where the paper's
header has two or three levels the columns are a MultiIndex, e.g. ``('CCC', 'valence')`` or
``('Network-Augmented', 'MSE', 'arousal')``; a column with fewer levels (a count) is padded
with empty strings at the end, so ``frame['test samples']`` gives a Series. Table 14's
per-database criterion (F1 for RAF-DB and AffectNet, total accuracy for AFEW and BU-3DFE)
is the column 'performance', as in the paper's header; the long form keeps the criterion as
the metric. A cell the paper leaves empty ('-') is missing (NaN / <NA>).
AFEW's test samples in Table 14 are printed as 'videos (frames)': the videos are
'test samples', the frames the extra column 'test frames'.

The text was extracted from the published PDF, and some cells came out garbled: a two-line
row label carries two readings of its numbers, one of them corrupted. Each such cell was
resolved by the paper's own discussion around the table (e.g. 'outperformed all other
networks', 'slightly better than VGG-FACE-FER') or by a matching number in another table
(Tables 13 and 14 repeat the totals of Tables 2 to 9); where neither decides, the reading
that is complete and consistent with the table's other rows was kept. The ``note`` field
records every such choice, with the rejected reading.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from numbers import Integral

import pandas as pd

TABLES: tuple[int, ...] = tuple(range(1, 15))
"""Numbers of the paper's tables available here."""

FIELDS: tuple[str, ...] = ("table", "database", "row", "model", "metric", "dimension", "value", "text", "note")
"""Fields of the long form, in order."""

_ASSET_DIR = ("assets", "paper")  # inside the affect package


@dataclass(frozen=True)
class _Layout:
    """Which long-form fields make the wide table's index and columns, and their names."""

    index: tuple[str, ...]
    index_names: tuple[str, ...]
    columns: tuple[str, ...]
    column_names: tuple[str, ...]
    metric_alias: tuple[tuple[str, str], ...] = ()


_NETWORK_ROWS = dict(index=("row",), index_names=("network",))
_VA_COLUMNS = dict(columns=("metric", "dimension"), column_names=("metric", "dimension"))
_PAIR_TABLE = _Layout(
    index=("database", "row", "metric"),
    index_names=("database", "method", "metric"),
    columns=("model", "dimension"),
    column_names=("network", "dimension"),
)
_AGE_ROWS = dict(index=("database", "row"), index_names=("database", "age"))

_LAYOUTS: dict[int, _Layout] = {
    1: _Layout(
        index=("database",),
        index_names=("database",),
        columns=("metric", "dimension"),
        column_names=("column", "subcolumn"),
    ),
    2: _Layout(**_NETWORK_ROWS, **_VA_COLUMNS),
    3: _Layout(**_NETWORK_ROWS, **_VA_COLUMNS),
    4: _Layout(**_NETWORK_ROWS, **_VA_COLUMNS),
    5: _Layout(**_NETWORK_ROWS, **_VA_COLUMNS),
    6: _Layout(**_NETWORK_ROWS, columns=("dimension",), column_names=("expression",)),
    7: _Layout(**_NETWORK_ROWS, columns=("metric",), column_names=("metric",)),
    8: _Layout(**_NETWORK_ROWS, columns=("metric",), column_names=("metric",)),
    9: _Layout(**_NETWORK_ROWS, columns=("metric",), column_names=("metric",)),
    10: _PAIR_TABLE,
    11: _PAIR_TABLE,
    12: _Layout(index=("database",), index_names=("database",), columns=("metric",), column_names=("subset",)),
    13: _Layout(**_AGE_ROWS, columns=("model", "metric", "dimension"), column_names=("model", "metric", "dimension")),
    # The paper's header says 'Performance Metric'; the criterion differs by database.
    14: _Layout(
        **_AGE_ROWS,
        columns=("model", "metric"),
        column_names=("model", "metric"),
        metric_alias=(("F1", "performance"), ("accuracy", "performance")),
    ),
}


def _check_number(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral) or int(n) not in TABLES:
        raise ValueError(f"n: expected a table number from {TABLES[0]} to {TABLES[-1]}, got {n!r}")
    return int(n)


@functools.cache
def _tables_csv() -> pd.DataFrame:
    path = resources.files("affect").joinpath(*_ASSET_DIR, "tables.csv")
    # Read as text, '' for an empty field: a text cell such as '-' or 'NA' must not turn NaN.
    with path.open("r", encoding="utf-8") as stream:
        frame = pd.read_csv(stream, dtype=str, keep_default_na=False)
    if tuple(frame.columns) != FIELDS:
        raise ValueError(f"{path}: expected columns {FIELDS}, found {tuple(frame.columns)}")
    frame["table"] = frame["table"].astype(int)
    frame["value"] = pd.to_numeric(frame["value"].where(frame["value"] != ""), errors="raise")
    return frame.astype({"value": float})


@functools.cache
def _captions_csv() -> pd.DataFrame:
    path = resources.files("affect").joinpath(*_ASSET_DIR, "captions.csv")
    with path.open("r", encoding="utf-8") as stream:
        frame = pd.read_csv(stream, dtype=str, keep_default_na=False)
    frame["table"] = frame["table"].astype(int)
    return frame.set_index("table")


def caption(n: int) -> str:
    """Return the caption of the paper's Table ``n``, as printed (markup removed).

    Parameters
    ----------
    n : int
        Table number, 1 to 14.
    """
    return str(_captions_csv().loc[_check_number(n), "caption"])


def _attrs(n: int) -> dict[str, object]:
    captions = _captions_csv()
    return {
        "source": "paper",
        "table": n,
        "caption": str(captions.loc[n, "caption"]),
        "section": str(captions.loc[n, "section"]),
    }


def long_table(n: int | None = None) -> pd.DataFrame:
    """Return the paper's numbers of Table ``n`` in long form, one row per printed number.

    Parameters
    ----------
    n : int or None
        Table number, 1 to 14; None gives all tables.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FIELDS` (see the module docstring); ``value`` is float (NaN for a
        text cell of Table 1), the other fields are strings ('' when they do not apply).
        ``attrs`` holds ``source='paper'`` and, for one table, its number and caption.
    """
    frame = _tables_csv()
    if n is None:
        out = frame.reset_index(drop=True).copy()
        out.attrs = {"source": "paper"}
        return out
    number = _check_number(n)
    out = frame[frame["table"] == number].reset_index(drop=True).copy()
    out.attrs = _attrs(number)
    return out


def _ordered_unique(keys: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(keys))


def _column_order(row_keys: list[tuple[str, ...]], col_keys: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Order columns as the paper does, from their order within each row of the long form.

    A row may lack a column (a '-' cell), so first appearance alone would misplace it
    (Table 1's 'age range' first appears in the third row). Each row's sequence of columns
    gives precedence constraints; a topological sort that breaks ties by first appearance
    merges them (graphlib's order among ready nodes is unspecified, hence this small sort).
    """
    first_seen = {key: i for i, key in reversed(list(enumerate(col_keys)))}
    after: dict[tuple[str, ...], set[tuple[str, ...]]] = {key: set() for key in first_seen}
    before_count = dict.fromkeys(first_seen, 0)
    for i in range(1, len(col_keys)):
        prev, key = col_keys[i - 1], col_keys[i]
        if row_keys[i - 1] == row_keys[i] and key not in after[prev] and prev != key:
            after[prev].add(key)
            before_count[key] += 1
    ready = [key for key, count in before_count.items() if count == 0]
    order = []
    while ready:
        key = min(ready, key=first_seen.__getitem__)
        ready.remove(key)
        order.append(key)
        for nxt in after[key]:
            before_count[nxt] -= 1
            if before_count[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(first_seen):  # contradictory row orders: keep first appearance
        return _ordered_unique(col_keys)
    return order


def _left_justify(key: tuple[str, ...]) -> tuple[str, ...]:
    # A count has no model/dimension: ('', 'test samples', '') -> ('test samples', '', '') so
    # that frame['test samples'] selects it.
    filled = tuple(part for part in key if part)
    return filled + ("",) * (len(key) - len(filled))


def _make_index(keys: list[tuple[str, ...]], names: tuple[str, ...]) -> pd.Index:
    if len(names) == 1:
        return pd.Index([key[0] for key in keys], name=names[0], dtype=object)
    return pd.MultiIndex.from_tuples(keys, names=list(names))


def _column(cells: list[object]) -> pd.Series:
    present = [cell for cell in cells if cell is not None]
    if any(isinstance(cell, str) for cell in present):
        return pd.Series(cells, dtype=object)  # a Table 1 text column stays text
    series = pd.Series([math.nan if cell is None else cell for cell in cells], dtype=float)
    # Counts print as integers (755,370 frames, not 755370.000); scores stay float.
    if present and all(float(x).is_integer() for x in present) and max(present) > 1:
        return series.astype("Int64")
    return series


def table(n: int) -> pd.DataFrame:
    """Return the paper's Table ``n`` in wide form, one number per cell.

    The layout follows the paper (Sec. 5 and 6): the index holds the paper's row labels, the
    columns its column identities, with valence and arousal in separate columns (see the
    module docstring for names and for how garbled cells were read).

    Parameters
    ----------
    n : int
        Table number, 1 to 14.

    Returns
    -------
    pandas.DataFrame
        Scores as float, counts as nullable integers, Table 1's descriptive columns as text;
        cells the paper leaves empty are missing. ``attrs`` is
        ``{'source': 'paper', 'table': n, 'caption': ..., 'section': ...}``.
    """
    number = _check_number(n)
    layout = _LAYOUTS[number]
    long = long_table(number)
    alias = dict(layout.metric_alias)
    if alias:
        long = long.assign(metric=long["metric"].map(lambda m: alias.get(m, m)))
    row_keys = [tuple(r) for r in long[list(layout.index)].itertuples(index=False)]
    col_keys = [_left_justify(tuple(c)) for c in long[list(layout.columns)].itertuples(index=False)]
    cells = {
        (r, c): (text if text else value) for r, c, value, text in zip(row_keys, col_keys, long["value"], long["text"])
    }
    rows, columns = _ordered_unique(row_keys), _column_order(row_keys, col_keys)
    frame = pd.concat([_column([cells.get((r, c)) for r in rows]) for c in columns], axis=1, ignore_index=True)
    frame.index = _make_index(rows, layout.index_names)
    frame.columns = _make_index(columns, layout.column_names)
    frame.attrs = _attrs(number)
    return frame
