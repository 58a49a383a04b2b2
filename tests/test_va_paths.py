"""Tests of affect.va_paths: VA paths read from CSV files."""

import numpy as np
import pytest

from affect.va_paths import read_va_path


def test_va_path_without_header(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("0.1,0.2\n\n-0.5, 0.75\n")
    np.testing.assert_array_equal(read_va_path(path), [[0.1, 0.2], [-0.5, 0.75]])


def test_va_path_with_header_picks_columns_by_name(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("# drawn by hand\nframe,arousal,valence\n0,0.3,0.1\n1,0.4,0.2\n")
    np.testing.assert_array_equal(read_va_path(path), [[0.1, 0.3], [0.2, 0.4]])


@pytest.mark.parametrize(
    "body, message",
    [
        ("0.1,0.2\n0.3,abc\n", r"line 2: arousal 'abc' is not a number"),
        ("0.1,0.2\n0.3,0.4\n0.5\n", r"line 3: expected 2 values, got 1"),
        ("valence,arousal\n0.1,0.2\n1.5,0.0\n", r"line 3: valence 1.5 is outside \[-1, 1\]"),
        ("x,y\n0.1,0.2\n", r"line 1: a header needs columns 'valence' and 'arousal'"),
        ("valence,arousal\n", "no VA points"),
        ("", "no VA points"),
    ],
)
def test_va_path_errors_name_the_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as error:
        read_va_path(path)
    assert "bad.csv" in str(error.value)


def test_missing_va_path_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.csv"):
        read_va_path(tmp_path / "none.csv")


def test_va_path_saved_by_excel_with_a_byte_order_mark_keeps_its_header(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("valence,arousal\n0.1,0.2\n".encode("utf-8-sig"))
    np.testing.assert_array_equal(read_va_path(path), [[0.1, 0.2]])
