"""Tests of affect.bench.tables: Markdown tables laid out by pandas."""

import pytest

from affect.bench.tables import markdown_table


def test_cells_are_written_as_given_and_numbers_aligned_right():
    rows = [["a", "10.0", "", "0.50"], ["bb", "1.25", "x", "2"]]
    assert markdown_table(["name", "ms", "ratio", "ratio"], rows, "lrlr") == [
        "| name   |   ms | ratio   |   ratio |",
        "|:-------|-----:|:--------|--------:|",
        "| a      | 10.0 |         |    0.50 |",  # not tabulate's own 10 and 0.5
        "| bb     | 1.25 | x       |       2 |",
    ]


def test_a_table_without_rows_keeps_its_header():
    assert markdown_table(["photo", "size"], [], "ll")[0].split() == ["|", "photo", "|", "size", "|"]


@pytest.mark.parametrize("align", ["l", "lc", "lrr"])
def test_an_alignment_per_column_is_required(align):
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a", "b"], [["1", "2"]], align)
