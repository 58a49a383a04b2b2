"""Tests for affect.learning.prepared: crops, the index, video decoding and cache invalidation."""

import math

import cv2
import numpy as np
import pandas as pd
import pytest

from affect.learning import prepared
from affect.learning.prepared import align_face, load_prepared, prepare, with_synthesized


def _face_landmarks(centre=(60.0, 60.0), scale=30.0, tilt_degrees=0.0):
    """68 points shaped roughly like a face: a jaw arc, two eyes, a mouth."""
    points = np.zeros((68, 2))
    jaw = np.linspace(math.pi * 1.0, 0.0, 17)
    points[:17] = np.c_[np.cos(jaw), 0.2 + 0.8 * np.sin(jaw)]
    points[17:36] = np.c_[np.linspace(-0.7, 0.7, 19), np.full(19, -0.5)]
    points[36:42] = np.c_[np.linspace(-0.5, -0.2, 6), np.full(6, -0.3)]
    points[42:48] = np.c_[np.linspace(0.2, 0.5, 6), np.full(6, -0.3)]
    points[48:68] = np.c_[np.linspace(-0.4, 0.4, 20), np.full(20, 0.5)]
    t = math.radians(tilt_degrees)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return points @ rotation.T * scale + np.asarray(centre)


def _database(tmp_path, n_images=4, video_frames=5):
    """Rows of the datasets schema: still images with landmarks, and one video without."""
    rows = []
    rng = np.random.default_rng(0)
    for i in range(n_images):
        path = tmp_path / "images" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 255, (120, 120, 3), dtype=np.uint8))
        rows.append(
            dict(
                path=str(path),
                subject=f"s{i % 2}",
                sequence="",
                frame=-1,
                valence=0.1 * i,
                arousal=-0.1 * i,
                expression="happiness",
                landmarks=_face_landmarks(),
            )
        )
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for t in range(video_frames):
        writer.write(np.full((48, 64, 3), 40 * t, dtype=np.uint8))
    writer.release()
    for t in (3, 0, 4):  # out of order on purpose: decoding must still go in order
        rows.append(
            dict(
                path=f"{video}#{t}",
                subject="s9",
                sequence="clip",
                frame=t,
                valence=0.0,
                arousal=0.0,
                expression=None,
                landmarks=None,
            )
        )
    return pd.DataFrame(rows)


def test_align_face_levels_the_eyes_and_centres_the_face():
    image = np.zeros((120, 120, 3), dtype=np.uint8)
    marks = _face_landmarks(tilt_degrees=20)
    crop, moved = align_face(image, marks, 64)
    left, right = moved[36:42].mean(0), moved[42:48].mean(0)
    assert crop.shape == (64, 64, 3)
    assert abs(left[1] - right[1]) < 1e-6 and left[0] < right[0]
    box_centre = (moved.min(0) + moved.max(0)) / 2
    np.testing.assert_allclose(box_centre, [32, 32], atol=2)
    assert np.ptp(moved, axis=0).max() == pytest.approx(64 / prepared.MARGIN, rel=0.05)


def test_prepare_writes_crops_index_and_landmarks(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared, "_detect", lambda image: None)  # no dlib in this test
    frame = _database(tmp_path)
    faces = prepare(frame, tmp_path / "cache", 32, label="toy-train")
    assert faces.faces.shape == (7, 32, 32, 3) and faces.faces.dtype == np.uint8
    assert list(faces.index.columns) == list(prepared.INDEX_COLUMNS)
    assert faces.index["crop"].tolist() == ["landmarks"] * 4 + ["whole image"] * 3
    assert faces.index["id"].iloc[0] == "images/0.png" and faces.index["id"].iloc[4] == "clip.avi#3"
    assert np.isfinite(faces.landmarks[:4]).all() and np.isnan(faces.landmarks[4:]).all()
    assert np.abs(faces.landmarks[:4]).max() <= 1
    # Video frames: uniform grey 40 * t, so each crop shows which frame it came from.
    for row, t in zip((4, 5, 6), (3, 0, 4)):
        assert abs(float(faces.faces[row].mean()) - 40 * t) < 6
    assert faces.index["expression"].iloc[4] is None and faces.index["expression"].iloc[0] == "happiness"
    assert faces.folder.name.startswith("toy-train-32px-")


def test_cache_is_reused_and_rebuilt_when_inputs_or_size_change(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(prepared, "_detect", lambda image: None)
    real_write = prepared._write
    monkeypatch.setattr(prepared, "_write", lambda *a, **k: (calls.append(1), real_write(*a, **k))[1])
    frame = _database(tmp_path)
    first = prepare(frame, tmp_path / "cache", 32)
    again = prepare(frame, tmp_path / "cache", 32)
    assert again.folder == first.folder and len(calls) == 1
    relabelled = frame.copy()
    relabelled.loc[0, "valence"] = 0.9
    assert prepare(relabelled, tmp_path / "cache", 32).folder != first.folder
    assert prepare(frame, tmp_path / "cache", 40).folder != first.folder
    cv2.imwrite(frame.loc[1, "path"], np.zeros((120, 120, 3), np.uint8))  # the file itself changed
    assert prepare(frame, tmp_path / "cache", 32).folder != first.folder
    assert len(calls) == 4
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no partial folders


def test_a_failed_prepare_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared, "_detect", lambda image: None)
    frame = _database(tmp_path)
    frame.loc[2, "path"] = str(tmp_path / "images" / "gone.png")
    with pytest.raises(ValueError, match="gone.png"):
        prepare(frame, tmp_path / "cache", 32)
    assert list((tmp_path / "cache").iterdir()) == []


def test_load_prepared_reads_what_prepare_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared, "_detect", lambda image: None)
    faces = prepare(_database(tmp_path), tmp_path / "cache", 32)
    again = load_prepared(faces.folder)
    pd.testing.assert_frame_equal(again.index, faces.index)
    np.testing.assert_array_equal(again.faces, faces.faces)


def _manifest(folder, outputs, sources):
    from affect.augmentation.manifest import MANIFEST_COLUMNS, write_manifest

    rows = [
        dict(
            output=output,
            source=source,
            subject="s0",
            sequence="",
            valence=0.5,
            arousal=0.2,
            expression=None,
            va_class=3,
            identity_distance=0.4,
        )
        for output, source in zip(outputs, sources)
    ]
    write_manifest(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), folder / "manifest.csv")


def test_with_synthesized_names_the_manifest_and_a_missing_image(tmp_path):
    pytest.importorskip("affect.augmentation.manifest")
    frame = _database(tmp_path, video_frames=1).iloc[:4]
    built = tmp_path / "built"
    built.mkdir()
    cv2.imwrite(str(built / "a.png"), np.zeros((120, 120, 3), np.uint8))
    _manifest(built, ["a.png", "b.png"], [frame.loc[0, "path"]] * 2)
    with pytest.raises(ValueError, match=r"manifest\.csv: 1 synthesized images are missing \(first: .*b\.png\)"):
        with_synthesized(frame, built)
    _manifest(built, ["a.png"], [frame.loc[0, "path"]])
    combined = with_synthesized(frame, built)
    assert len(combined) == 5 and combined["landmarks"].iloc[-1] is not None


def test_a_face_box_column_is_used_where_landmarks_are_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared, "_detect", lambda image: pytest.fail("detector called despite a box"))
    frame = _database(tmp_path, video_frames=1).iloc[:2].copy()
    image = np.zeros((120, 120, 3), np.uint8)
    image[40:80, 50:90] = 255  # the face: a white square
    cv2.imwrite(frame.loc[0, "path"], image)
    frame["landmarks"] = [None, None]
    frame["box"] = [(50, 40, 90, 80), (0, 0, 120, 120)]
    faces = prepare(frame, tmp_path / "cache", 32)
    assert faces.index["crop"].tolist() == ["box", "box"]
    assert faces.faces[0][12:20, 12:20].min() > 200  # the square fills the crop's centre
    # dlib's predictor marks each box: the landmarks are about the crop (in [-1, 1] give or take), not NaN
    assert np.isfinite(faces.landmarks).all() and np.abs(faces.landmarks).max() < 1.2


def test_landmarks_predicted_in_a_box_are_moved_into_the_box_crop(tmp_path, monkeypatch):
    marks = _face_landmarks(centre=(70.0, 60.0), scale=20.0)
    monkeypatch.setattr(prepared, "_landmarks_in_box", lambda image, box: marks)
    frame = _database(tmp_path, video_frames=1).iloc[:1].copy()
    frame["landmarks"], frame["box"] = [None], [(50, 40, 90, 80)]
    faces = prepare(frame, tmp_path / "cache", 44)
    # the box's 40 px side, times 1.1, becomes 44 px: one photo pixel per crop pixel, centre (70, 60) -> (22, 22)
    expected = (marks - (70.0, 60.0) + 22.0) / 22.0 - 1.0
    np.testing.assert_allclose(faces.landmarks[0], expected, atol=1e-5)


def test_faces_with_landmarks_outside_the_image_or_a_one_pixel_image_are_left_out_and_counted(
    tmp_path, monkeypatch, caplog
):
    import logging

    monkeypatch.setattr(prepared, "_detect", lambda image: None)
    frame = _database(tmp_path)
    frame.at[1, "landmarks"] = _face_landmarks() + 500.0  # the whole face beyond the 120 px image
    cv2.imwrite(frame.loc[2, "path"], np.zeros((1, 1, 3), np.uint8))
    with caplog.at_level(logging.WARNING, logger="affect.learning"):
        faces = prepare(frame, tmp_path / "cache", 32, label="toy-train")
    assert faces.skipped == {"landmarks outside the image": 1, "image too small to hold a face": 1}
    assert len(faces) == 5 and faces.faces.shape == (5, 32, 32, 3) and faces.landmarks.shape == (5, 68, 2)
    assert faces.index["path"].tolist() == [frame.loc[i, "path"] for i in (0, 3, 4, 5, 6)]
    assert faces.index["crop"].tolist() == ["landmarks"] * 2 + ["whole image"] * 3
    assert abs(float(faces.faces[3].mean()) - 0) < 6 and abs(float(faces.faces[2].mean()) - 120) < 6  # video rows kept
    assert "toy-train: left out 2 of 7 faces" in caplog.text and "68 of 68 landmarks outside" in caplog.text
    assert load_prepared(faces.folder).skipped == faces.skipped
    only_bad = frame.iloc[[2]]
    with pytest.raises(ValueError, match=r"no usable face to prepare for toy-train \(first: .*2\.png: 1 x 1 pixels"):
        prepare(only_bad, tmp_path / "cache", 32, label="toy-train")
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # nothing half-written


@pytest.fixture(scope="module")
def proxy_face():
    """A stand-in face photo (controlled condition) that dlib's detector finds, and its true landmarks."""
    from affect.datasets.proxy_faces import render_face, sample_scene
    from affect.face.morphable_model import load_default

    model = load_default()
    return render_face(sample_scene(1, "controlled", model=model, image_shape=(160, 160)), model)


def _one_face_database(tmp_path, image, landmarks=None):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    row = dict(path=str(path), subject="s0", sequence="", frame=-1, valence=0.2, arousal=0.1)
    return pd.DataFrame([row | dict(expression=None, landmarks=landmarks)])


def test_a_detected_face_gets_the_predictors_landmarks_and_is_aligned_from_them(tmp_path, proxy_face):
    from affect.face.landmarks import detect_faces, detect_landmarks

    image, truth = proxy_face
    detected = prepare(_one_face_database(tmp_path, image), tmp_path / "cache", 64)
    assert detected.index["crop"].tolist() == ["detected"]
    marks = detected.landmarks[0]
    assert np.isfinite(marks).all() and np.abs(marks).max() <= 1
    eyes, mouth = marks[36:48], marks[48:68]
    assert (eyes[:, 1] < 0).all() and (mouth[:, 1] > 0).all()  # eyes in the crop's upper half, mouth lower
    assert marks[36:42, 0].mean() < marks[42:48, 0].mean()
    predicted = detect_landmarks(image, detect_faces(image)[0])
    annotated = prepare(_one_face_database(tmp_path, image, predicted), tmp_path / "cache", 64)
    assert annotated.index["crop"].tolist() == ["landmarks"]
    np.testing.assert_array_equal(detected.faces[0], annotated.faces[0])
    np.testing.assert_allclose(detected.landmarks, annotated.landmarks, atol=1e-6)
    true_in_crop = prepare(_one_face_database(tmp_path, image, truth), tmp_path / "cache", 64).landmarks[0]
    eye_distance = np.linalg.norm(true_in_crop[36] - true_in_crop[45])
    assert np.linalg.norm(marks - true_in_crop, axis=1).mean() < 0.15 * eye_distance  # the predictor found this face


def test_a_missing_shape_predictor_is_a_one_line_error_and_leaves_no_cache(tmp_path, proxy_face, monkeypatch):
    from affect.face import landmarks

    def missing(name):
        raise landmarks.ModelFileError(f"dlib model file {name} not found; install it with: pip install x")

    monkeypatch.setattr(landmarks, "model_file", missing)
    landmarks._shape_predictor.cache_clear()
    try:
        with pytest.raises(landmarks.ModelFileError, match="shape_predictor_68_face_landmarks.dat") as error:
            prepare(_one_face_database(tmp_path, proxy_face[0]), tmp_path / "cache", 64)
    finally:
        landmarks._shape_predictor.cache_clear()
    assert "\n" not in str(error.value)
    assert not list((tmp_path / "cache").iterdir())


def test_the_cache_version_is_part_of_the_key(tmp_path, monkeypatch):
    frame = _database(tmp_path, video_frames=1)
    key = prepared.cache_key(frame, 32)
    monkeypatch.setattr(prepared, "_VERSION", prepared._VERSION - 1)
    assert prepared.cache_key(frame, 32) != key
