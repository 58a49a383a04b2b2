"""Tests of affect.datasets: hand-written copies of each database's on-disk format.

Each fixture is written directly from the format description (not through write_layout),
with the database's quirks and at least one bad row; the round-trip tests then check that
write_layout produces files that load returns unchanged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from affect import datasets
from affect.datasets import Sample, folds, load, neutral_frames, write_layout
from affect.vocabulary import EXPRESSIONS

SIZE = 8  # pixels; tiny solid-colour images keep every test fast


def _image(path: Path, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((SIZE, SIZE, 3), value, np.uint8))


def _video(path: Path, n_frames: int, fourcc: str = "MJPG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (SIZE, SIZE))
    for i in range(n_frames):
        writer.write(np.full((SIZE, SIZE, 3), 20 * i, np.uint8))
    writer.release()


def _report(frame: pd.DataFrame) -> datasets.LoadReport:
    return frame.attrs["report"]


def _problem_at(frame: pd.DataFrame, file_name: str, line: int) -> bool:
    return any(Path(p.file).name == file_name and p.line == line for p in _report(frame).problems)


def _check_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(datasets.COLUMNS)]) == list(datasets.COLUMNS)
    assert frame["frame"].dtype == np.int64
    assert set(frame["expression"].dropna()) <= set(EXPRESSIONS)
    for path in frame["path"]:
        assert Path(path.split("#")[0]).is_absolute()
    for marks in frame["landmarks"]:
        assert marks is None or (isinstance(marks, np.ndarray) and marks.shape == (68, 2))
    va = frame[["valence", "arousal"]].to_numpy()
    assert np.all(np.isnan(va) | ((va >= -1) & (va <= 1)))
    assert (np.isnan(va[:, 0]) == np.isnan(va[:, 1])).all()  # never one without the other


# --------------------------------------------------------------------------- AffectNet
AFFECTNET_HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)
MARKS = ";".join(f"{v}.5" for v in range(136))


def _affectnet_row(name: str, code: int, valence: float, arousal: float, width: int = 8) -> str:
    return f"689/{name},0,0,{width},8,{MARKS},{code},{valence},{arousal}"


@pytest.fixture
def affectnet_root(tmp_path: Path) -> Path:
    base = tmp_path / "Manually_Annotated"
    images = base / "Manually_Annotated_Images" / "689"
    lines = [AFFECTNET_HEADER]
    for i in range(20):  # 20 good rows: happiness with valence 0.05 i
        _image(images / f"good{i:02d}.jpg")
        lines.append(_affectnet_row(f"good{i:02d}.jpg", 1, round(0.05 * i, 2), -0.25))
    _image(images / "neutral.tif")  # .tif paths occur in the release
    lines += [
        _affectnet_row("neutral.tif", 0, 0.0, 0.0, width=-3),  # line 22: negative width, kept
        _affectnet_row("good00.jpg", 9, -2, -2),  # line 23: Uncertain, excluded
        _affectnet_row("good00.jpg", 10, -2, -2),  # line 24: No-Face, excluded
        _affectnet_row("good00.jpg", 8, 0.3, 0.3),  # line 25: None, excluded
        "689/short.jpg,0,0,8,8",  # line 26: malformed
        _affectnet_row("missing.jpg", 2, 0.1, 0.1),  # line 27: no image
        _affectnet_row("good01.jpg", 3, 1.5, 0.1),  # line 28: valence out of range
    ]
    (base / "training.csv").write_text("\n".join(lines) + "\n")
    _image(images / "val0.jpg")
    _image(images / "val1.jpg")
    # validation.csv without a header, as some releases ship it
    (base / "validation.csv").write_text(
        _affectnet_row("val0.jpg", 7, -0.5, 0.5) + "\n" + _affectnet_row("val1.jpg", 6, -0.75, 0.25) + "\n"
    )
    return tmp_path


def test_affectnet_loads_values_and_landmarks_from_the_csv(affectnet_root: Path):
    frame = load("affectnet", affectnet_root, "all")
    _check_schema(frame)
    assert len(frame) == 23
    good = frame[frame["path"].str.endswith("good03.jpg")].iloc[0]
    assert (good["valence"], good["arousal"], good["expression"]) == (0.15, -0.25, "happiness")
    assert good["subject"] == "" and good["sequence"] == "" and good["frame"] == -1
    np.testing.assert_array_equal(good["landmarks"][1], [2.5, 3.5])  # x then y
    test = frame[frame["part"] == "test"]
    assert list(test["expression"]) == ["contempt", "anger"]  # codes 7 and 6 of a headerless file


def test_affectnet_excludes_codes_8_to_10_and_reports_bad_rows_by_line(affectnet_root: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="affect.datasets"):
        frame = load("affectnet", affectnet_root, "all")
    report = _report(frame)
    assert sum(report.excluded.values()) == 3
    assert report.excluded["expression code 9 (Uncertain)"] == 1
    assert report.skipped == 3
    for line in (26, 27, 28):
        assert _problem_at(frame, "training.csv", line)
    assert "skipped 3" in caplog.text
    assert frame["path"].str.endswith("neutral.tif").sum() == 1  # negative face_width is kept


def test_affectnet_strict_mode_raises_naming_file_and_line(affectnet_root: Path):
    with pytest.raises(ValueError, match=r"training\.csv:26"):
        load("affectnet", affectnet_root, "train", strict=True)


def test_affectnet_train_val_split_is_85_15_seeded_and_disjoint(affectnet_root: Path):
    train = load("affectnet", affectnet_root, "train", seed=1)
    val = load("affectnet", affectnet_root, "val", seed=1)
    assert (len(train), len(val)) == (18, 3)  # 21 usable training rows, 15 % -> 3
    assert not set(train["path"]) & set(val["path"])
    assert list(load("affectnet", affectnet_root, "val", seed=1)["path"]) == list(val["path"])
    others = [set(load("affectnet", affectnet_root, "val", seed=s)["path"]) for s in range(2, 6)]
    assert any(o != set(val["path"]) for o in others)
    test = load("affectnet", affectnet_root, "test")
    assert len(test) == 2 and set(test["part"]) == {"test"}


def test_affectnet_drops_repeated_rows_and_test_images_from_training_and_says_so(affectnet_root: Path, caplog):
    base = affectnet_root / "Manually_Annotated"
    with open(base / "training.csv", "a") as handle:
        handle.write(_affectnet_row("good05.jpg", 1, 0.2, 0.2) + "\n")  # listed twice in training
        handle.write(_affectnet_row("val0.jpg", 2, 0.1, 0.1) + "\n")  # also a test image
    with caplog.at_level(logging.WARNING, logger="affect.datasets"):
        everything = load("affectnet", affectnet_root, "all")
    report = _report(everything)
    images = base / "Manually_Annotated_Images" / "689"
    assert report.repeats == {str(images / "good05.jpg"): 1}
    assert report.test_overlap == {str(images / "val0.jpg"): 1}
    assert everything["path"].is_unique and len(everything) == 23
    assert set(everything.loc[everything["path"].str.endswith("val0.jpg"), "part"]) == {"test"}
    assert "val0.jpg" in caplog.text and "good05.jpg" in caplog.text and "dropped from training 1 rows" in caplog.text
    for split in ("train", "val"):  # validation.csv is read for its names even when test is not loaded
        part = load("affectnet", affectnet_root, split, seed=1)
        assert not part["path"].str.endswith("val0.jpg").any()
        assert _report(part).test_overlap == {str(images / "val0.jpg"): 1}
    train, val = load("affectnet", affectnet_root, "train", seed=1), load("affectnet", affectnet_root, "val", seed=1)
    assert (len(train), len(val)) == (18, 3) and not set(train["path"]) & set(val["path"])


def test_load_report_names_repeated_images_of_every_loader(rafdb_root: Path):
    labels = rafdb_root / "EmoLabel" / "list_patition_label.txt"
    labels.write_text(labels.read_text() + "train_00001.jpg 5\n")
    frame = load("rafdb", rafdb_root, "all")
    assert list(_report(frame).repeats.values()) == [1] and frame["path"].is_unique
    assert "train_00001_aligned.jpg" in _report(frame).summary()


def test_affectnet_reads_validation_csv_with_a_header_too(affectnet_root: Path):
    file = affectnet_root / "Manually_Annotated" / "validation.csv"
    file.write_text(AFFECTNET_HEADER + "\n" + file.read_text())
    assert len(load("affectnet", affectnet_root, "test")) == 2


def test_unknown_split_raises_listing_the_valid_ones(affectnet_root: Path):
    with pytest.raises(ValueError, match="train, val, test, all"):
        load("affectnet", affectnet_root, "dev")
    with pytest.raises(ValueError, match="unknown database"):
        load("jaffe", affectnet_root)


# --------------------------------------------------------------------------- Aff-Wild
PTS = "version: 1\nn_points:  68\n{\n" + "".join(f"{i}.0 {i + 100}.0\t\n" for i in range(68)) + "}\n"


@pytest.fixture
def affwild_root(tmp_path: Path) -> Path:
    ann = tmp_path / "annotations" / "train"
    for name in ("valence", "arousal"):
        (ann / name).mkdir(parents=True)
    _video(tmp_path / "videos" / "train" / "105.avi", 5)
    # 4 lines for a 5-frame video (annotations shorter than the video); line 2 is broken.
    (ann / "valence" / "105.txt").write_text("0.0\nabc\n0.5\n-0.5\n")
    (ann / "arousal" / "105.txt").write_text("0.0\n0.1\n0.2\n0.3\n")
    (tmp_path / "landmarks" / "train" / "105").mkdir(parents=True)
    (tmp_path / "landmarks" / "train" / "105" / "1.pts").write_text(PTS)  # 1-based: frame 0
    _video(tmp_path / "videos" / "train" / "202.mp4", 3, "mp4v")
    (ann / "valence" / "202.txt").write_text("0.1\n0.2\n0.3\n")
    (ann / "arousal" / "202.txt").write_text("0.4\n0.5\n0.6\n")
    (ann / "valence" / "318.txt").write_text("0.1\n")  # no video for 318
    (ann / "arousal" / "318.txt").write_text("0.1\n")
    test = tmp_path / "annotations" / "test"
    for name in ("valence", "arousal"):
        (test / name).mkdir(parents=True)
        (test / name / "7.txt").write_text("0.9\n0.9\n")
    _video(tmp_path / "videos" / "test" / "7.avi", 2)
    return tmp_path


def test_affwild_reads_frames_clipped_to_the_annotation(affwild_root: Path):
    frame = load("affwild", affwild_root, "train")
    _check_schema(frame)
    video = frame[frame["sequence"] == "105"]
    assert list(video["frame"]) == [0, 2, 3]  # frame 1 has a broken line, frame 4 no line
    assert list(video["valence"]) == [0.0, 0.5, -0.5]
    assert video["path"].iloc[1].endswith("105.avi#2")
    # .pts files count pixels from 1; the kit's landmarks count from 0 (affect.face.landmarks)
    np.testing.assert_array_equal(video["landmarks"].iloc[0][3], [2.0, 102.0])
    assert video["landmarks"].iloc[1] is None
    assert list(frame[frame["sequence"] == "202"]["arousal"]) == [0.4, 0.5, 0.6]
    assert set(frame["subject"]) == {"105", "202"}


def test_affwild_reports_the_bad_line_and_the_missing_video(affwild_root: Path):
    frame = load("affwild", affwild_root, "train")
    assert _problem_at(frame, "105.txt", 2)
    assert any("no video 318" in p.reason for p in _report(frame).problems)
    with pytest.raises(ValueError, match=r"105\.txt:2"):
        load("affwild", affwild_root, "train", strict=True)


def test_affwild_frame_address_reads_the_video_frame(affwild_root: Path):
    frame = load("affwild", affwild_root, "all")
    assert set(frame["part"]) == {"train", "test"}
    pixels = datasets.read_frame(frame[frame["sequence"] == "105"]["path"].iloc[2])
    assert pixels.shape == (SIZE, SIZE, 3) and abs(int(pixels.mean()) - 60) <= 8  # frame 3 = 60


# --------------------------------------------------------------------------- AFEW-VA
def _afew_va_clip(root: Path, clip: str, actor: str | None, values: list[tuple[int, int]]) -> Path:
    frames = {}
    for i, (v, a) in enumerate(values):
        _image(root / clip / f"{i:05d}.png")
        frames[f"{i:05d}"] = {"valence": v, "arousal": a, "landmarks": [[float(j), float(j) + 0.5] for j in range(68)]}
    data = {"video_id": clip, "frames": frames}
    if actor is not None:
        data["actor"] = actor
    file = root / clip / f"{clip}.json"
    file.write_text(json.dumps(data, indent=1))
    return file


@pytest.fixture
def afew_va_root(tmp_path: Path) -> Path:
    _afew_va_clip(tmp_path, "001", "anna", [(0, 0), (5, -10), (12, 0)])  # frame 2 out of range
    _afew_va_clip(tmp_path, "002", "anna", [(-3, 4)])
    for k, clip in enumerate(("003", "004", "005", "006", "007")):
        _afew_va_clip(tmp_path, clip, f"actor{k}", [(k, -k), (0, 0)])
    _afew_va_clip(tmp_path, "008", None, [(1, 1)])  # no actor key: the clip is the subject
    (tmp_path / "003" / "00001.png").unlink()  # a missing frame image
    (tmp_path / "009").mkdir()
    (tmp_path / "009" / "009.json").write_text('{"video_id": "009",\n "frames": {,}}')
    return tmp_path


def test_afew_va_scales_ratings_from_tenths_and_reads_landmarks(afew_va_root: Path):
    frame = load("afew_va", afew_va_root)
    _check_schema(frame)
    clip = frame[frame["sequence"] == "001"]
    assert list(clip["valence"]) == [0.0, 0.5] and list(clip["arousal"]) == [0.0, -1.0]
    assert list(clip["frame"]) == [0, 1]
    np.testing.assert_array_equal(clip["landmarks"].iloc[0][2], [2.0, 2.5])
    assert set(frame[frame["sequence"] == "002"]["subject"]) == {"anna"}
    assert set(frame[frame["sequence"] == "008"]["subject"]) == {"008"}


def test_afew_va_reports_out_of_range_missing_image_and_broken_json(afew_va_root: Path):
    report = _report(load("afew_va", afew_va_root))
    reasons = {(Path(p.file).name, p.line): p.reason for p in report.problems}
    assert report.skipped == 3
    assert any(name == "001.json" and "outside [-10, 10]" in r for (name, _), r in reasons.items())
    assert any(name == "003.json" and "not found" in r for (name, _), r in reasons.items())
    assert ("009.json", 2) in reasons  # the JSON error's own line
    with pytest.raises(ValueError, match=r"001\.json:\d+: frame 00002"):
        load("afew_va", afew_va_root, strict=True)


def test_afew_va_folds_are_person_independent_and_seeded(afew_va_root: Path):
    result = folds("afew_va", afew_va_root, seed=3)
    assert len(result) == 5
    everything = load("afew_va", afew_va_root)
    tested = []
    for train, test in result:
        assert not set(train["subject"]) & set(test["subject"])
        assert len(train) + len(test) == len(everything)
        tested += list(test["path"])
    assert sorted(tested) == sorted(everything["path"])  # each row tested exactly once
    again = folds("afew_va", afew_va_root, seed=3)
    assert all(list(a[1]["path"]) == list(b[1]["path"]) for a, b in zip(result, again))


def test_neutral_frames_picks_zero_valence_and_arousal(afew_va_root: Path):
    neutral = neutral_frames(load("afew_va", afew_va_root))
    assert len(neutral) == 6  # 001/00000, 003/00000 (its 00001 image is missing), 004..007/00001
    assert (neutral["valence"] == 0).all() and (neutral["arousal"] == 0).all()


# --------------------------------------------------------------------------- RECOLA
def _arff(values: list[str], name: str) -> str:
    head = (
        "@relation GoldStandard\n\n@attribute Instance_name string\n"
        "@attribute frameTime numeric\n@attribute GoldStandard numeric\n\n@data\n"
    )
    return head + "".join(f"'{name}',{0.04 * i:.6f},{v}\n" for i, v in enumerate(values))


@pytest.fixture
def recola_root(tmp_path: Path) -> Path:
    gold = tmp_path / "ratings_gold_standard"
    for dimension in ("valence", "arousal"):
        (gold / dimension).mkdir(parents=True)
    # 5 label rows for a 4-frame video; row 2 (file line 9) is an ARFF missing value.
    (gold / "valence" / "train_1.arff").write_text(_arff(["0.1", "?", "0.3", "0.0", "0.5"], "train_1"))
    (gold / "arousal" / "train_1.arff").write_text(_arff(["-0.1", "-0.2", "-0.3", "0.0", "-0.5"], "train_1"))
    (gold / "valence" / "dev_1.arff").write_text(_arff(["0.2", "0.2"], "dev_1"))
    (gold / "arousal" / "dev_1.arff").write_text(_arff(["0.7", "0.8"], "dev_1"))
    _video(tmp_path / "recordings_video" / "train_1.mp4", 4, "mp4v")
    _video(tmp_path / "recordings_video" / "dev_1.mp4", 2, "mp4v")
    _video(tmp_path / "recordings_video" / "test_1.mp4", 2, "mp4v")  # no gold standard: ignored
    return tmp_path


def test_recola_pairs_valence_and_arousal_by_frame_time(recola_root: Path):
    frame = load("recola", recola_root, "train")
    _check_schema(frame)
    assert list(frame["frame"]) == [0, 2, 3]
    assert list(frame["valence"]) == [0.1, 0.3, 0.0] and list(frame["arousal"]) == [-0.1, -0.3, 0.0]
    assert set(frame["subject"]) == {"train_1"} and frame["path"].iloc[0].endswith("train_1.mp4#0")
    report = _report(frame)
    assert report.excluded == {"labels past the video's last frame": 1}
    assert _problem_at(frame, "train_1.arff", 9)  # the '?' row


def test_recola_dev_split_and_strict_mode(recola_root: Path):
    dev = load("recola", recola_root, "dev")
    assert list(dev["arousal"]) == [0.7, 0.8]
    assert set(load("recola", recola_root, "all")["part"]) == {"train", "dev"}
    with pytest.raises(ValueError, match=r"train_1\.arff:9"):
        load("recola", recola_root, "train", strict=True)
    with pytest.raises(ValueError, match="train, dev, all"):
        load("recola", recola_root, "test")


# --------------------------------------------------------------------------- RAF-DB
@pytest.fixture
def rafdb_root(tmp_path: Path) -> Path:
    aligned = tmp_path / "Image" / "aligned"
    for stem in ("train_00001", "train_00002", "test_0001", "test_0002"):
        _image(aligned / f"{stem}_aligned.jpg")
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text(
        "train_00001.jpg 5\n"
        "train_00002.jpg 7\n"
        "test_0001.jpg 1\n"
        "train_00003.jpg\n"  # line 4: no label
        "test_0002.jpg 9\n"  # line 5: label out of range
        "train_00004.jpg 4\n"
    )  # line 6: image missing
    return tmp_path


def test_rafdb_maps_its_one_based_labels_and_splits_by_name(rafdb_root: Path):
    frame = load("rafdb", rafdb_root, "all")
    _check_schema(frame)
    assert list(frame["expression"]) == ["sadness", "neutral", "surprise"]
    assert list(frame["part"]) == ["train", "train", "test"]
    assert frame["valence"].isna().all() and frame["landmarks"].isna().all()
    assert list(load("rafdb", rafdb_root, "test")["expression"]) == ["surprise"]
    assert {(Path(p.file).name, p.line) for p in _report(frame).problems} == {
        ("list_patition_label.txt", 4),
        ("list_patition_label.txt", 5),
        ("list_patition_label.txt", 6),
    }
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:4"):
        load("rafdb", rafdb_root, strict=True)


def test_image_decode_check_is_optional(rafdb_root: Path):
    (rafdb_root / "Image" / "aligned" / "train_00001_aligned.jpg").write_bytes(b"not a jpeg")
    assert len(load("rafdb", rafdb_root)) == 3  # existence only by default
    frame = load("rafdb", rafdb_root, decode_check=True)
    assert len(frame) == 2 and any("decoded" in p.reason for p in _report(frame).problems)


# --------------------------------------------------------------------------- AFEW
@pytest.fixture
def afew_root(tmp_path: Path) -> Path:
    _video(tmp_path / "Train" / "Happy" / "000046280.avi", 3)
    _video(tmp_path / "Train" / "Neutral" / "013736360.avi", 2)
    (tmp_path / "Train" / "Fear").mkdir()
    (tmp_path / "Train" / "Fear" / "000000001.avi").write_bytes(b"broken")
    (tmp_path / "Train" / "Train_6.xml").write_text("<xml/>")  # shipped beside the folders
    _video(tmp_path / "val_afew" / "Sad" / "001404920.avi", 2)  # the unzipped folder name
    return tmp_path


def test_afew_exposes_every_frame_with_the_clip_label(afew_root: Path):
    frame = load("afew", afew_root, "train")
    _check_schema(frame)
    happy = frame[frame["sequence"] == "000046280"]
    assert list(happy["frame"]) == [0, 1, 2] and set(happy["expression"]) == {"happiness"}
    assert happy["path"].iloc[2].endswith("Happy/000046280.avi#2")
    assert _report(frame).skipped == 1 and "000000001.avi" in _report(frame).problems[0].file
    assert list(load("afew", afew_root, "val")["expression"]) == ["sadness", "sadness"]
    assert len(neutral_frames(frame)) == 2
    with pytest.raises(ValueError, match="000000001.avi"):
        load("afew", afew_root, strict=True)


# --------------------------------------------------------------------------- BU-3DFE
@pytest.fixture
def bu3dfe_root(tmp_path: Path) -> Path:
    for k in range(12):
        subject = f"F{k + 1:04d}" if k < 7 else f"M{k - 6:04d}"
        _image(tmp_path / subject / f"{subject}_NE00WH_F2D.bmp")
        _image(tmp_path / subject / f"{subject}_HA04AM_F2D.bmp")
        (tmp_path / subject / f"{subject}_HA04AM_F3D.wrl").write_text("#VRML V2.0 utf8\n")
    _image(tmp_path / "F0001" / "F0001_XX01WH_F2D.bmp")  # unknown expression code
    _image(tmp_path / "F0001" / "F0001_SA00WH_F2D.bmp")  # 00 is for neutral only
    _image(tmp_path / "F0002" / "F0003_SU02WH_F2D.bmp")  # wrong folder
    return tmp_path


def test_bu3dfe_reads_subject_expression_intensity_from_the_name(bu3dfe_root: Path):
    frame = load("bu3dfe", bu3dfe_root)
    _check_schema(frame)
    assert len(frame) == 24 and frame["subject"].nunique() == 12
    row = frame[frame["path"].str.endswith("M0002_HA04AM_F2D.bmp")].iloc[0]
    assert (row["subject"], row["expression"], row["intensity"], row["race"]) == ("M0002", "happiness", 4, "AM")
    names = sorted(Path(p.file).name for p in _report(frame).problems)
    assert names == ["F0001_SA00WH_F2D.bmp", "F0001_XX01WH_F2D.bmp", "F0003_SU02WH_F2D.bmp"]
    assert len(neutral_frames(frame)) == 12


def test_bu3dfe_ten_folds_keep_subjects_apart(bu3dfe_root: Path):
    result = folds("bu3dfe", bu3dfe_root, seed=0)
    assert len(result) == 10
    for train, test in result:
        assert len(test) > 0 and not set(train["subject"]) & set(test["subject"])
    assert sum(len(test) for _, test in result) == 24
    first = [sorted(t["subject"].unique()) for _, t in result]
    assert first == [sorted(t["subject"].unique()) for _, t in folds("bu3dfe", bu3dfe_root, seed=0)]
    assert first != [sorted(t["subject"].unique()) for _, t in folds("bu3dfe", bu3dfe_root, seed=1)]


def test_folds_refuse_databases_without_identities(rafdb_root: Path):
    with pytest.raises(ValueError, match="subject"):
        folds("rafdb", rafdb_root, k=2)


# --------------------------------------------------------------------------- round trips
def _pixels(i: int) -> np.ndarray:
    return np.full((SIZE, SIZE, 3), 30 * (i % 8), np.uint8)


def _marks(i: int) -> np.ndarray:
    return np.stack([np.arange(68) + i, np.arange(68) * 0.5], axis=1).astype(float)


def _compare(frame: pd.DataFrame, samples: list[Sample], keys: tuple[str, ...]) -> None:
    got = frame[list(keys)].sort_values(list(keys)).reset_index(drop=True)
    want = pd.DataFrame([{k: getattr(s, k) for k in keys} for s in samples])
    want = want.sort_values(list(keys)).reset_index(drop=True)
    assert len(got) == len(samples)
    for key in keys:
        assert list(got[key]) == list(want[key]), key


VA = [(0.0, 0.0), (0.5, -0.25), (-0.75, 1.0), (0.1, 0.3)]
EXPR = ["neutral", "happiness", "fear", "anger"]


def test_affectnet_round_trip(tmp_path: Path):
    samples = [
        Sample(
            _pixels(i),
            split="train" if i < 3 else "test",
            valence=v,
            arousal=a,
            expression=EXPR[i],
            landmarks=_marks(i),
        )
        for i, (v, a) in enumerate(VA)
    ]
    for header in (True, False):
        root = tmp_path / str(header)
        write_layout("affectnet", root, samples, validation_header=header)
        frame = load("affectnet", root, strict=True)
        _compare(frame, samples, ("valence", "arousal", "expression"))
        np.testing.assert_array_equal(frame.sort_values("valence")["landmarks"].iloc[0], _marks(2))


def test_affwild_round_trip(tmp_path: Path):
    samples = [
        Sample(
            _pixels(i),
            split="train" if i < 2 else "test",
            subject=str(100 + i // 2),
            sequence=str(100 + i // 2),
            valence=v,
            arousal=a,
            landmarks=_marks(i) if i % 2 else None,
        )
        for i, (v, a) in enumerate(VA)
    ]
    write_layout("affwild", tmp_path, samples, unannotated_tail=2)
    frame = load("affwild", tmp_path, strict=True)
    _compare(frame, samples, ("subject", "sequence", "valence", "arousal"))
    assert list(frame["frame"]) == [0, 1, 0, 1]
    np.testing.assert_allclose(frame["landmarks"].iloc[1], _marks(1))
    assert frame["landmarks"].iloc[0] is None


def test_afew_va_round_trip_quantises_to_the_database_resolution(tmp_path: Path):
    samples = [
        Sample(
            _pixels(i),
            subject="actor" + str(i % 2),
            sequence=f"00{i % 2 + 1}",
            valence=v,
            arousal=a,
            landmarks=_marks(i),
        )
        for i, (v, a) in enumerate([(0.0, 0.0), (0.5, -0.2), (-0.7, 1.0), (0.1, 0.3)])
    ]
    write_layout("afew_va", tmp_path, samples)
    _compare(load("afew_va", tmp_path, strict=True), samples, ("subject", "sequence", "valence", "arousal"))
    write_layout("afew_va", tmp_path / "q", [Sample(_pixels(0), sequence="001", valence=0.23, arousal=-0.57)])
    row = load("afew_va", tmp_path / "q").iloc[0]
    assert (row["valence"], row["arousal"]) == (0.2, -0.6)


def test_recola_round_trip(tmp_path: Path):
    samples = [
        Sample(
            _pixels(i),
            split="train" if i < 2 else "dev",
            sequence="train_1" if i < 2 else "dev_4",
            subject="train_1" if i < 2 else "dev_4",
            valence=v,
            arousal=a,
        )
        for i, (v, a) in enumerate(VA)
    ]
    write_layout("recola", tmp_path, samples)
    frame = load("recola", tmp_path, strict=True)
    _compare(frame, samples, ("subject", "sequence", "valence", "arousal"))
    assert _report(frame).excluded == {}


def test_rafdb_afew_bu3dfe_round_trips(tmp_path: Path):
    raf = [Sample(_pixels(i), split="train" if i < 2 else "test", expression=e) for i, e in enumerate(EXPR)]
    write_layout("rafdb", tmp_path / "raf", raf)
    _compare(load("rafdb", tmp_path / "raf", strict=True), raf, ("expression",))
    assert (tmp_path / "raf" / "Image" / "aligned" / "test_0002_aligned.jpg").exists()

    afew = [
        Sample(_pixels(i), split="train" if i < 3 else "val", sequence=f"{i // 2:09d}", expression=EXPR[i // 2])
        for i in range(5)
    ]
    write_layout("afew", tmp_path / "afew", afew)
    _compare(load("afew", tmp_path / "afew", strict=True), afew, ("sequence", "expression"))

    bu = [
        Sample(_pixels(i), subject=s, expression=e)
        for i, (s, e) in enumerate(
            [("F0001", "neutral"), ("F0001", "happiness"), ("F0001", "happiness"), ("M0007", "surprise")]
        )
    ]
    write_layout("bu3dfe", tmp_path / "bu", bu, races={"M0007": "AE"})
    frame = load("bu3dfe", tmp_path / "bu", strict=True)
    _compare(frame, bu, ("subject", "expression"))
    assert sorted(frame["intensity"]) == [0, 1, 1, 2] and sorted(frame["race"]) == ["AE", "WH", "WH", "WH"]


def test_writers_reject_labels_the_database_cannot_hold(tmp_path: Path):
    with pytest.raises(ValueError, match="expression"):
        write_layout("rafdb", tmp_path, [Sample(_pixels(0), expression="contempt")])
    with pytest.raises(ValueError, match="valence and arousal"):
        write_layout("affwild", tmp_path, [Sample(_pixels(0), sequence="1", valence=0.1)])
    with pytest.raises(ValueError, match="9-digit"):
        write_layout("afew", tmp_path, [Sample(_pixels(0), sequence="12", expression="fear")])


def test_load_report_saves_and_loads_as_json(rafdb_root: Path, tmp_path: Path):
    labels = rafdb_root / "EmoLabel" / "list_patition_label.txt"
    labels.write_text(labels.read_text() + "test_0001.jpg 1\n")
    report = _report(load("rafdb", rafdb_root))
    assert report.repeats
    path = datasets.save_report(report, tmp_path / "report.json")
    assert datasets.load_report(path) == report


def test_neutral_frames_prefer_the_neutral_class_when_expressions_are_labelled():
    import pandas as pd

    frame = pd.DataFrame(
        {"valence": [0.0, 0.1, 0.0], "arousal": [0.0, 0.0, 0.0], "expression": ["happiness", "neutral", None]}
    )
    assert list(neutral_frames(frame).index) == [0] and neutral_frames(frame)["expression"][0] == "neutral"
    assert len(neutral_frames(frame, by="va")) == 2


# --------------------------------------------------------------------------- nothing usable
@pytest.mark.parametrize("name", ["affwild", "afew_va", "afew", "bu3dfe", "rafdb", "recola", "affectnet"])
def test_an_empty_folder_is_a_format_error_naming_it_and_the_layout(tmp_path: Path, name: str):
    with pytest.raises(datasets.DatasetFormatError, match="expected") as error:
        load(name, tmp_path)
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["affwild", "afew", "bu3dfe", "recola", "rafdb", "affectnet"])
def test_another_databases_folder_is_a_format_error(afew_va_root: Path, name: str):
    with pytest.raises(datasets.DatasetFormatError, match=f"{afew_va_root}.*expected"):
        load(name, afew_va_root)


def test_afew_va_on_a_bu3dfe_folder_is_a_format_error(bu3dfe_root: Path):
    with pytest.raises(datasets.DatasetFormatError, match="no usable afew_va rows; expected numbered clip"):
        load("afew_va", bu3dfe_root)


def test_a_load_whose_every_row_is_bad_is_a_format_error_quoting_the_first(tmp_path: Path):
    _afew_va_clip(tmp_path, "001", "anna", [(12, 0)])
    with pytest.raises(datasets.DatasetFormatError, match=r"skipped 1 bad rows, first: .*001\.json"):
        load("afew_va", tmp_path)


@pytest.mark.parametrize("content", ["", AFFECTNET_HEADER + "\n", "\n\n"])
def test_affectnet_empty_or_header_only_list_is_a_format_error(affectnet_root: Path, content: str):
    (affectnet_root / "Manually_Annotated" / "training.csv").write_text(content)
    with pytest.raises(datasets.DatasetFormatError, match=r"training\.csv: no usable affectnet rows"):
        load("affectnet", affectnet_root, "train")


def test_affectnet_semicolon_separated_list_is_a_format_error(affectnet_root: Path):
    file = affectnet_root / "Manually_Annotated" / "training.csv"
    rows = [AFFECTNET_HEADER.replace(",", ";")] + [f'689/good{i:02d}.jpg;0;0;8;8;"{MARKS}";1;0.1;0.2' for i in range(3)]
    file.write_text("\n".join(rows) + "\n")
    with pytest.raises(datasets.DatasetFormatError, match=r"training\.csv:1: fields are separated by ';'"):
        load("affectnet", affectnet_root)
    file.write_text("\n".join(rows[1:]) + "\n")  # no header either
    with pytest.raises(datasets.DatasetFormatError, match=r"training\.csv:1: fields are separated by ';'"):
        load("affectnet", affectnet_root)


def test_affectnet_split_without_rows_is_still_an_empty_frame_when_the_file_has_rows(affectnet_root: Path):
    file = affectnet_root / "Manually_Annotated" / "training.csv"
    file.write_text(AFFECTNET_HEADER + "\n" + _affectnet_row("good00.jpg", 1, 0.1, 0.2) + "\n")
    assert len(load("affectnet", affectnet_root, "train")) == 1
    assert len(load("affectnet", affectnet_root, "val")) == 0  # 15 % of one row rounds to 0


# --------------------------------------------------------------------------- text encodings
BOM = "\ufeff"


def test_affectnet_reads_lists_with_a_byte_order_mark(affectnet_root: Path):
    base = affectnet_root / "Manually_Annotated"
    expected = {part: len(load("affectnet", affectnet_root, part)) for part in ("train", "test")}
    for name in ("training.csv", "validation.csv"):  # with and without a header row
        (base / name).write_text(BOM + (base / name).read_text(), encoding="utf-8")
    assert {part: len(load("affectnet", affectnet_root, part)) for part in expected} == expected
    assert _report(load("affectnet", affectnet_root, "train")).skipped == 3  # as without the mark


def test_afew_va_clip_json_with_a_byte_order_mark_reads_the_same(afew_va_root: Path):
    before = load("afew_va", afew_va_root)
    file = afew_va_root / "001" / "001.json"
    file.write_text(BOM + file.read_text(), encoding="utf-8")
    after = load("afew_va", afew_va_root)
    assert list(after["path"]) == list(before["path"])


def test_rafdb_label_file_with_a_byte_order_mark_reads_the_same(rafdb_root: Path):
    labels = rafdb_root / "EmoLabel" / "list_patition_label.txt"
    before = list(load("rafdb", rafdb_root)["expression"])
    labels.write_text(BOM + labels.read_text(), encoding="utf-8")
    assert list(load("rafdb", rafdb_root)["expression"]) == before


def test_affwild_values_with_a_byte_order_mark(affwild_root: Path):
    file = affwild_root / "annotations" / "train" / "valence" / "202.txt"
    file.write_text(BOM + file.read_text(), encoding="utf-8")
    frame = load("affwild", affwild_root, "train")
    assert list(frame[frame["sequence"] == "202"]["valence"]) == [0.1, 0.2, 0.3]


def test_a_non_utf8_affectnet_list_is_reported_as_not_utf8_text(affectnet_root: Path):
    file = affectnet_root / "Manually_Annotated" / "training.csv"
    file.write_bytes(file.read_bytes().replace(b"good00", "g\u00e9od00".encode("latin-1")))
    with pytest.raises(datasets.DatasetFormatError, match=r"training\.csv: not UTF-8 text$"):
        load("affectnet", affectnet_root)


def test_a_non_utf8_rafdb_label_file_is_reported_as_not_utf8_text(rafdb_root: Path):
    labels = rafdb_root / "EmoLabel" / "list_patition_label.txt"
    labels.write_bytes(b"train_\xe900001.jpg 5\n")
    with pytest.raises(datasets.DatasetFormatError, match=r"list_patition_label\.txt: not UTF-8 text$"):
        load("rafdb", rafdb_root)


def test_a_non_utf8_annotation_file_of_one_video_is_a_skipped_problem(affwild_root: Path):
    (affwild_root / "annotations" / "train" / "arousal" / "202.txt").write_bytes(b"0.4\n\xff\xfe\n")
    frame = load("affwild", affwild_root, "train")
    assert "202" not in set(frame["sequence"])
    assert any(str(p).endswith("202.txt: not UTF-8 text") for p in _report(frame).problems)
    for other in ("105.txt", "318.txt"):  # strict mode would stop at their problems first
        for name in ("valence", "arousal"):
            (affwild_root / "annotations" / "train" / name / other).unlink()
    with pytest.raises(datasets.DatasetFormatError, match=r"202\.txt: not UTF-8 text"):
        load("affwild", affwild_root, "train", strict=True)


def test_affectnet_field_over_the_csv_limit_is_one_line_naming_file_and_line(affectnet_root: Path):
    training = affectnet_root / "Manually_Annotated" / "training.csv"
    lines = training.read_text().splitlines()
    lines.insert(3, _affectnet_row("good00.jpg", 1, 0.1, 0.1).replace(MARKS, "1" * (130 * 1024)))
    training.write_text("\n".join(lines) + "\n")
    with pytest.raises(datasets.DatasetFormatError) as error:
        load("affectnet", affectnet_root, "all")
    assert str(error.value).startswith(f"{training}:4: not a CSV row (field larger than field limit")
    assert "\n" not in str(error.value)


def test_affectnet_rows_whose_image_path_leaves_the_database_are_refused_and_counted(affectnet_root: Path, caplog):
    outside = affectnet_root / "secret.jpg"
    _image(outside)
    training = affectnet_root / "Manually_Annotated" / "training.csv"
    escapes = [f"../../{outside.name}", str(outside)]  # relative, and absolute
    rows = [_affectnet_row("x.jpg", 1, 0.1, 0.1).replace("689/x.jpg", name) for name in escapes]
    training.write_text(training.read_text() + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING, logger="affect.datasets"):
        frame = load("affectnet", affectnet_root, "all")
    assert not frame["path"].str.contains("secret").any()
    assert _report(frame).skipped == 5  # the fixture's 3 bad rows and the 2 escapes
    reasons = {p.line: p.reason for p in _report(frame).problems}
    assert all("image path leaves the image folder" in reasons[line] for line in (29, 30)), reasons
    assert "skipped 5" in caplog.text
