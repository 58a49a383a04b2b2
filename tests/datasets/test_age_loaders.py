"""Tests of the age databases' loaders (Sec. 6.5): IMDB-WIKI's MATLAB files and Adience's fold lists.

The fixtures are written from the format description (scipy.io.savemat for the .mat, plain
text for the fold lists) with the releases' quirks; the round-trip tests check that each
``write_layout`` writes what its loader reads back.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from affect.datasets import AGE_NAMES, DatasetFormatError, adience, imdb_wiki, load

SIZE = 8


def _image(path: Path, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((SIZE, SIZE, 3), value, np.uint8))


def _datenum(year: int, month: int, day: int) -> float:
    return float(dt.date(year, month, day).toordinal() + 366)  # MATLAB counts from year 0


def _cell(values) -> np.ndarray:
    cell = np.empty((1, len(values)), dtype=object)
    cell[0, :] = values
    return cell


@pytest.fixture
def wiki_root(tmp_path: Path) -> Path:
    """A WIKI part with: a good face, a July birthday, no face (-inf), a second face, a NaN
    birth date, a negative age, unknown gender, a low score and a missing image."""
    folder = tmp_path / "wiki_crop"
    rows = [  # name, dob, taken, gender, score, second, path
        ("Ann", _datenum(1980, 3, 1), 2010, 0.0, 4.2, math.nan, "00/a_1980-3-1_2010.jpg"),
        ("Bob", _datenum(1980, 7, 15), 2010, 1.0, 3.0, math.nan, "01/b_1980-7-15_2010.jpg"),
        ("Cid", _datenum(1970, 1, 1), 2000, 1.0, -math.inf, math.nan, "02/c.jpg"),
        ("Dee", _datenum(1970, 1, 1), 2000, 0.0, 2.5, 1.7, "03/d.jpg"),
        ("Eve", math.nan, 2000, 0.0, 2.5, math.nan, "04/e.jpg"),
        ("Fay", _datenum(2012, 1, 1), 2009, 0.0, 2.5, math.nan, "05/f.jpg"),
        ("Gus", _datenum(1950, 2, 2), 2000, math.nan, 1.5, math.nan, "06/g_1950-2-2_2000.jpg"),
        ("Hal", _datenum(1950, 2, 2), 2000, 1.0, 0.4, math.nan, "07/h.jpg"),
        ("Ivy", _datenum(1960, 2, 2), 2000, 0.0, 3.0, math.nan, "08/missing.jpg"),
    ]
    for row in rows:
        if row[-1] != "08/missing.jpg":
            _image(folder / row[-1])
    struct = {
        "dob": np.array([[r[1] for r in rows]]),
        "photo_taken": np.array([[r[2] for r in rows]], float),
        "full_path": _cell([r[6] for r in rows]),
        "gender": np.array([[r[3] for r in rows]]),
        "name": _cell([r[0] for r in rows]),
        "face_location": _cell([np.array([[1.0, 2.0, 6.0, 7.0]]) for _ in rows]),
        "face_score": np.array([[r[4] for r in rows]]),
        "second_face_score": np.array([[r[5] for r in rows]]),
    }
    savemat(folder / "wiki.mat", {"wiki": struct})
    return tmp_path


def test_imdb_wiki_computes_ages_from_the_birth_date_and_the_year_taken(wiki_root: Path):
    frame = load("imdb_wiki", wiki_root, "wiki")
    ages = dict(zip(frame["subject"], frame["age"]))
    assert ages == {"Ann": 30.0, "Bob": 29.0, "Gus": 50.0}  # born in July: one year less
    assert (frame["age_low"] == frame["age"]).all() and (frame["age_high"] == frame["age"]).all()
    assert dict(zip(frame["subject"], frame["gender"])) == {"Ann": "female", "Bob": "male", "Gus": None}
    assert frame["box"].iloc[0] == (1.0, 2.0, 6.0, 7.0)
    assert frame["path"].iloc[0].endswith("wiki_crop/00/a_1980-3-1_2010.jpg")


def test_imdb_wiki_excludes_what_yu4u_filters_and_reports_bad_rows(wiki_root: Path):
    report = load("imdb_wiki", wiki_root, "all").attrs["report"]
    assert report.excluded == {
        "no face (face_score -inf)": 1,
        "second face in the photo": 1,
        "age outside 0 to 100": 1,
        "face_score below 1": 1,
    }
    reasons = [str(p) for p in report.problems]
    assert len(reasons) == 2
    assert "wiki.mat:5" in reasons[0] and "dob or photo_taken is not a number" in reasons[0]
    assert "image not found" in reasons[1]


def test_imdb_wiki_strict_mode_names_the_file_and_row(wiki_root: Path):
    with pytest.raises(DatasetFormatError, match=r"wiki\.mat:5: 04/e\.jpg"):
        load("imdb_wiki", wiki_root, "wiki", strict=True)


def test_imdb_wiki_without_the_mat_file_says_what_it_expected(tmp_path: Path):
    with pytest.raises(DatasetFormatError, match="imdb_crop/imdb.mat"):
        load("imdb_wiki", tmp_path, "imdb")
    (tmp_path / "wiki_crop").mkdir()
    (tmp_path / "wiki_crop" / "wiki.mat").write_text("not matlab")
    with pytest.raises(DatasetFormatError, match="wiki.mat: not an IMDB-WIKI MATLAB file"):
        load("imdb_wiki", tmp_path, "wiki")


def test_imdb_wiki_writer_round_trips_ages_boxes_and_the_imdb_ids(tmp_path: Path):
    image = np.full((20, 20, 3), 90, np.uint8)
    samples = [
        imdb_wiki.AgeSample(image, f"s{i}", age, (2, 3, 15, 16), gender)
        for i, (age, gender) in enumerate([(0, "male"), (37, None), (100, "female")])
    ]
    imdb_wiki.write_layout(tmp_path, samples, part="imdb", extra_rows=[{"face_score": -math.inf}])
    frame = load("imdb_wiki", tmp_path, "imdb")
    assert frame["age"].tolist() == [0.0, 37.0, 100.0]
    assert frame["gender"].tolist() == ["male", None, "female"]
    assert frame["subject"].tolist() == ["1", "2", "3"]  # IMDB: the celeb_id, one per person
    assert frame["part"].eq("imdb").all() and frame["box"].iloc[1] == (2.0, 3.0, 15.0, 16.0)
    assert frame.attrs["report"].excluded == {"no face (face_score -inf)": 1}


# --- Adience --------------------------------------------------------------------------------------

_HEADER = "\t".join(adience.HEADER)


@pytest.fixture
def adience_root(tmp_path: Path) -> Path:
    """Two folds with the release's quirks: ranges with a comma, off-range pairs, single ages,
    'None', empty gender, a short line, an unparseable age and a missing crop."""
    lines = {
        0: [
            ("u1", "a.jpg", "1", "(25, 32)", "f"),
            ("u1", "b.jpg", "2", "(38, 48)", "m"),
            ("u1", "c.jpg", "3", "35", ""),
            ("u1", "d.jpg", "4", "None", "u"),
            ("u1", "e.jpg", "5", "(8, 23)", "u"),
        ],
        1: [
            ("u2", "f.jpg", "6", "(0, 2)", "m"),
            ("u2", "g.jpg", "7", "thirty", "m"),
            ("u2", "missing.jpg", "8", "(60, 100)", "f"),
        ],
    }
    for fold, rows in lines.items():
        text = [_HEADER]
        for user, original, face, age, gender in rows:
            if original != "missing.jpg":
                _image(tmp_path / "faces" / user / f"coarse_tilt_aligned_face.{face}.{original}")
            text.append("\t".join([user, original, face, age, gender, "10", "20", "300", "310", "0", "0", "85"]))
        if fold == 1:
            text.append("u2\tshort.jpg\t9")
        (tmp_path / f"fold_{fold}_data.txt").write_text("\n".join(text) + "\n")
    return tmp_path


def test_adience_keeps_the_stated_age_range_and_its_midpoint(adience_root: Path):
    frame = load("adience", adience_root, "all")
    assert frame[["age_low", "age_high"]].values.tolist() == [[25, 32], [38, 48], [35, 35], [8, 23], [0, 2]]
    assert frame["age"].tolist() == [28.5, 43.0, 35.0, 15.5, 1.0]
    assert frame["gender"].tolist() == ["female", "male", None, None, "male"]
    assert frame["fold"].tolist() == [0, 0, 0, 0, 1] and frame["subject"].tolist()[-1] == "u2"
    assert frame["box"].iloc[0] == (0.0, 0.0, SIZE, SIZE)  # the crop is the face


def test_adience_excludes_none_and_reports_bad_lines_by_number(adience_root: Path):
    report = load("adience", adience_root, "all").attrs["report"]
    assert report.excluded == {"age None": 1}
    reasons = [str(p) for p in report.problems]
    assert "fold_1_data.txt:3: age 'thirty'" in reasons[0]
    assert "fold_1_data.txt:4: image not found" in reasons[1]
    assert "fold_1_data.txt:5: expected 12 tab-separated fields, found 3" in reasons[2]
    assert load("adience", adience_root, "fold1")["fold"].tolist() == [1]


def test_adience_rejects_a_comma_separated_copy_naming_the_file(tmp_path: Path):
    (tmp_path / "fold_0_data.txt").write_text(",".join(adience.HEADER) + "\nu1,a.jpg,1,(25, 32),f\n")
    with pytest.raises(DatasetFormatError, match=r"fold_0_data.txt:1: expected the tab-separated header"):
        load("adience", tmp_path, "fold0")


def test_parse_age_reads_ranges_single_ages_and_none():
    assert adience.parse_age("(25, 32)") == (25, 32)
    assert adience.parse_age(" 3") == (3, 3)
    assert adience.parse_age("None") is None
    with pytest.raises(ValueError, match="neither"):
        adience.parse_age("(32, 25)")


def test_adience_writer_bins_ages_and_keeps_subjects_in_one_fold(tmp_path: Path):
    image = np.full((12, 10, 3), 50, np.uint8)
    samples = [
        imdb_wiki.AgeSample(image, f"user{i % 7}", age, (0, 0, 10, 12))
        for i, age in enumerate([1, 5, 10, 24, 30, 40, 50, 70, 95, 14, 3])
    ]
    adience.write_layout(tmp_path, samples, extra_lines=["user0\tx.jpg\t99\tNone\tu\t0\t0\t1\t1\t0\t0\t0"])
    frame = load("adience", tmp_path)
    ages = [1, 5, 10, 24, 30, 40, 50, 70, 95, 14, 3]
    number = [int(Path(p).name.split(".")[1]) - 1 for p in frame["path"]]  # the face_id is i + 1
    by_age = {ages[i]: (int(lo), int(hi)) for i, lo, hi in zip(number, frame["age_low"], frame["age_high"])}
    assert len(by_age) == len(ages)
    assert by_age[24] == (25, 32) and by_age[14] == (15, 20) and by_age[70] == (60, 100) and by_age[3] == (0, 2)
    assert frame.groupby("subject")["fold"].nunique().max() == 1
    assert frame.attrs["report"].excluded == {"age None": 1}
    assert frame["box"].iloc[0] == (0.0, 0.0, 10.0, 12.0)


def test_age_databases_are_listed_apart_from_the_affect_databases():
    from affect.datasets import NAMES

    assert AGE_NAMES == ("imdb_wiki", "adience") and not set(AGE_NAMES) & set(NAMES)
