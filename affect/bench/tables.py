"""Markdown tables of ``bench.md``: cells formatted by the caller, laid out by pandas (tabulate)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["markdown_table"]

_ALIGN = {"l": "left", "r": "right"}


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    """The lines of a Markdown (pipe) table of text cells, written as given.

    Parameters
    ----------
    columns : sequence of str
        Header cells; names may repeat.
    rows : iterable of sequences of str
        Cells already formatted (tabulate's number parsing is off, so ``"10.0"`` stays so).
    align : str
        One letter per column: ``l`` (text) or ``r`` (numbers).
    """
    if len(align) != len(columns) or set(align) - set(_ALIGN):
        raise ValueError(f"align: expected one of 'l' or 'r' per column ({len(columns)}), got {align!r}")
    frame = pd.DataFrame([list(row) for row in rows], columns=list(columns), dtype=object)
    colalign = [_ALIGN[letter] for letter in align]
    return frame.to_markdown(index=False, disable_numparse=True, colalign=colalign).splitlines()
