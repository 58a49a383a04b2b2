"""Tests of affect.datasets.fer2013: the one-CSV release, its stand-in and its pixel-row addresses."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from affect import profiles
from affect.datasets import NAMES, PRETRAINING_NAMES, DatasetFormatError, Sample, fer2013, load, read_frame
from affect.datasets.proxy import ensure_proxy, write_proxy
from affect.learning.prepared import prepare
from affect.learning.runs import database_splits


def _pixels(value: int = 7, count: int = 48 * 48) -> str:
    return " ".join([str(value)] * count)


def _write(root, rows, header="emotion,pixels,Usage"):
    root.mkdir(parents=True, exist_ok=True)
    (root / "fer2013.csv").write_text("\n".join([header, *rows]) + "\n")
    return root


def test_rows_load_with_the_kits_expressions_and_bad_rows_are_skipped_naming_their_line(tmp_path):
    root = _write(
        tmp_path,
        [
            f"0,{_pixels(10)},Training",  # line 2
            f"6,{_pixels(20)},PublicTest",  # line 3
            f"9,{_pixels()},Training",  # line 4: no such emotion
            f"3,{_pixels(count=100)},PrivateTest",  # line 5: not 48 x 48
            f"3,{_pixels()},Validation",  # line 6: no such Usage
            f"4,{_pixels(300)},Training",  # line 7: a value over 255
            "5,1 2 3",  # line 8: a field missing
            f"3,{_pixels(30)},PrivateTest",  # line 9
        ],
    )
    frame = load("fer2013", root)
    assert list(frame["expression"]) == ["anger", "neutral", "happiness"]
    assert list(frame["part"]) == ["train", "val", "test"]
    assert [p.rsplit("#", 1)[1] for p in frame["path"]] == ["2", "3", "9"]
    assert frame["box"][0] == (0.0, 0.0, 48.0, 48.0) and (frame["subject"] == "").all()
    report = frame.attrs["report"]
    assert [p.line for p in report.problems] == [4, 5, 6, 7, 8]
    assert "emotion '9'" in report.problems[0].reason and "Usage" in report.problems[2].reason
    assert [len(load("fer2013", root, split)) for split in ("train", "val", "test")] == [1, 1, 1]
    with pytest.raises(DatasetFormatError, match=r"fer2013\.csv:4: emotion '9' is not a code 0\.\.6$"):
        load("fer2013", root, strict=True)


def test_the_label_codes_follow_the_release_and_name_the_kits_expressions():
    from affect.vocabulary import EXPRESSIONS

    assert fer2013.LABELS == ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    assert set(fer2013.LABELS) <= set(EXPRESSIONS) and "contempt" not in fer2013.LABELS


def test_columns_are_found_by_header_and_a_file_without_one_is_one_line(tmp_path):
    root = _write(tmp_path / "icml", [f"2, Training, {_pixels()}"], header="emotion, Usage, pixels")
    assert list(load("fer2013", root)["expression"]) == ["fear"]
    bad = _write(tmp_path / "bad", [f"2,{_pixels()},Training"], header=f"2,{_pixels()},Training")
    with pytest.raises(DatasetFormatError, match=r"fer2013\.csv:1: expected the header emotion,pixels,Usage"):
        load("fer2013", bad)
    with pytest.raises(DatasetFormatError, match="no fer2013.csv"):
        load("fer2013", tmp_path)


def test_a_row_is_read_as_an_rgb_picture_by_its_address(tmp_path):
    root = _write(tmp_path, [f"0,{_pixels(10)},Training", f"1,{_pixels(200)},Training"])
    frame = load("fer2013", root)
    image = read_frame(frame["path"][1])
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8 and (image == 200).all()
    with pytest.raises(ValueError, match="no picture on line 7"):
        read_frame(f"{root / 'fer2013.csv'}#7")


def test_prepared_faces_read_every_row_of_the_table_once_as_whole_picture_boxes(tmp_path):
    root = _write(tmp_path / "fer", [f"{k % 7},{_pixels(30 * k)},Training" for k in range(5)])
    faces = prepare(load("fer2013", root), tmp_path / "cache", 16, label="fer2013-train")
    assert faces.faces.shape == (5, 16, 16, 3) and set(faces.index["crop"]) == {"box"}
    assert [int(faces.faces[k, 8, 8, 0]) for k in range(5)] == [0, 30, 60, 90, 120]


def test_write_layout_writes_the_release_format_that_load_reads(tmp_path):
    rng = np.random.default_rng(0)
    records = [
        Sample(rng.integers(0, 256, (60, 50, 3), dtype=np.uint8), split, expression=expression)
        for split, expression in (("train", "fear"), ("val", "neutral"), ("test", "surprise"))
    ]
    root = fer2013.write_layout(tmp_path, records)
    rows = list(csv.reader((root / "fer2013.csv").open()))
    assert rows[0] == ["emotion", "pixels", "Usage"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("2", "Training"), ("6", "PublicTest"), ("5", "PrivateTest")]
    assert all(len(r[1].split()) == 48 * 48 for r in rows[1:])
    assert list(load("fer2013", root)["expression"]) == ["fear", "neutral", "surprise"]
    with pytest.raises(ValueError, match="records\\[0\\].expression"):
        fer2013.write_layout(tmp_path / "x", [Sample(records[0].image, "train", expression="contempt")])


def test_the_stand_in_is_a_fer2013_csv_in_the_exact_format(tmp_path):
    assert PRETRAINING_NAMES == ("fer2013",) and "fer2013" not in NAMES  # not one of Table 1's
    root = ensure_proxy("fer2013", tmp_path, profiles.get("smoke"))
    lines = (root / "fer2013.csv").read_text().splitlines()
    assert lines[0] == "emotion,pixels,Usage"
    usages = set()
    for line in lines[1:]:
        emotion, pixels, usage = line.split(",")
        values = [int(v) for v in pixels.split(" ")]
        assert emotion in "0123456" and len(values) == 48 * 48 and 0 <= min(values) and max(values) <= 255
        usages.add(usage)
    assert usages == {"Training", "PublicTest", "PrivateTest"}
    frame = load("fer2013", root)
    assert len(frame) == len(lines) - 1 and frame.attrs["report"].skipped == 0
    assert set(frame["expression"]) == set(fer2013.LABELS)
    assert np.std(read_frame(frame["path"][0])) > 5  # a rendered face, not a flat picture


def test_splits_train_on_training_pick_epochs_on_public_test_and_test_on_private_test(tmp_path):
    write_proxy("fer2013", tmp_path, scale=6e-4)
    splits = database_splits("fer2013", tmp_path)
    assert {name: set(frame["part"]) for name, frame in splits.items()} == {
        "train": {"train"},
        "val": {"val"},
        "test": {"test"},
    }
