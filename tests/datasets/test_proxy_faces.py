"""Tests of affect.datasets.proxy_faces: stand-in face photos rendered from the morphable model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from affect.datasets.proxy_faces import (
    BACKGROUNDS,
    SceneParameters,
    load_scenes,
    render_face,
    render_faces,
    sample_scene,
    sample_scenes,
    save_scenes,
    vertex_normals,
)
from affect.face.morphable_model import load_default

NOSE_TIP, CHIN, MOUTH_INNER = 30, 8, slice(60, 68)


@pytest.fixture(scope="module")
def model():
    return load_default()


def frontal(model, **changes) -> SceneParameters:
    """A clean frontal scene (no blur, noise or JPEG) of the mean face."""
    scene = SceneParameters(
        identity=np.zeros(model.n_identity),
        expression=np.zeros(model.n_expression),
        image_shape=(96, 96),
        face_size=48.0,
        background="plain",
        background_colors=((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    )
    return dataclasses.replace(scene, **changes)


def test_rendering_is_deterministic_for_a_seed(model):
    first = sample_scenes(3, "in-the-wild", seed=4, image_shape=(64, 64))
    second = sample_scenes(3, "in-the-wild", seed=4, image_shape=(64, 64))
    other = sample_scenes(3, "in-the-wild", seed=5, image_shape=(64, 64))
    images_1, landmarks_1 = render_faces(first, model, progress=False)
    images_2, landmarks_2 = render_faces(second, model, progress=False)
    images_3, _ = render_faces(other, model, progress=False)
    for a, b, c in zip(images_1, images_2, images_3):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    np.testing.assert_array_equal(landmarks_1, landmarks_2)


def test_image_is_uint8_rgb_of_the_requested_shape(model):
    scene = sample_scene(0, "controlled", model=model, image_shape=(80, 112))
    image, landmarks = render_face(scene, model)
    assert image.shape == (80, 112, 3) and image.dtype == np.uint8
    assert landmarks.shape == (68, 2) and landmarks.dtype == np.float64


def test_render_faces_matches_render_face_one_by_one(model):
    scenes = sample_scenes(2, "controlled", seed=1, image_shape=(64, 64))
    images, landmarks = render_faces(scenes, model, progress=False)
    image, points = render_face(scenes[1], model)
    np.testing.assert_array_equal(images[1], image)
    np.testing.assert_array_equal(landmarks[1], points)


def test_landmarks_lie_inside_the_image_and_centre_on_the_face(model):
    for scene in sample_scenes(10, "in-the-wild", seed=2, image_shape=(96, 96), max_yaw=30):
        _, landmarks = render_face(scene, model)
        assert np.all(landmarks >= 0) and np.all(landmarks <= 95)
    _, landmarks = render_face(frontal(model), model)
    box = landmarks.max(axis=0) - landmarks.min(axis=0)
    assert box.max() == pytest.approx(48.0, rel=0.1)  # face_size is the landmark box
    np.testing.assert_allclose((landmarks.max(axis=0) + landmarks.min(axis=0)) / 2, 47.5, atol=2)


def test_yaw_to_the_subjects_left_moves_the_nose_tip_to_image_right(model):
    _, straight = render_face(frontal(model), model)
    _, turned = render_face(frontal(model, yaw=25.0), model)
    _, other_way = render_face(frontal(model, yaw=-25.0), model)
    assert turned[NOSE_TIP, 0] > straight[NOSE_TIP, 0] + 3
    assert other_way[NOSE_TIP, 0] < straight[NOSE_TIP, 0] - 3
    # The subject's right jaw (point 0) comes nearer the centre as the face turns left.
    assert turned[NOSE_TIP, 0] - turned[0, 0] > straight[NOSE_TIP, 0] - straight[0, 0]


def test_positive_pitch_moves_the_nose_tip_up_and_roll_tilts_the_eye_line(model):
    _, straight = render_face(frontal(model), model)
    _, raised = render_face(frontal(model, pitch=20.0), model)
    assert raised[NOSE_TIP, 1] < straight[NOSE_TIP, 1] - 1
    _, rolled = render_face(frontal(model, roll=20.0), model)
    # Counter-clockwise in the image: the subject's left eye (45, image right) rises.
    assert rolled[45, 1] < rolled[36, 1] - 3
    assert straight[45, 1] == pytest.approx(straight[36, 1], abs=0.5)


def test_jaw_open_moves_the_chin_down_and_darkens_the_mouth(model):
    neutral_image, neutral = render_face(frontal(model), model)
    open_scene = frontal(model, expression=model.expression_vector({"jawOpen": 1.0}))
    open_image, opened = render_face(open_scene, model)
    assert opened[CHIN, 1] > neutral[CHIN, 1] + 2
    column, row = np.round(opened[MOUTH_INNER].mean(axis=0)).astype(int)
    assert open_image[row, column].mean() < neutral_image[row, column].mean() - 30


def test_eyes_show_a_dark_iris_in_a_lighter_opening(model):
    image, landmarks = render_face(frontal(model, image_shape=(256, 256), face_size=160.0), model)
    left_eye = landmarks[42:48]
    column, row = np.round(left_eye.mean(axis=0)).astype(int)
    iris = image[row, column].mean()
    width = left_eye[3, 0] - left_eye[0, 0]
    sclera = image[row, int(round(left_eye[0, 0] + 0.15 * width))].mean()
    assert iris < 60 and sclera > iris + 40


def test_skin_tone_sets_the_face_colour(model):
    light_image, landmarks = render_face(frontal(model, skin_tone=(0.95, 0.85, 0.8)), model)
    dark_image, _ = render_face(frontal(model, skin_tone=(0.3, 0.2, 0.15)), model)
    column, row = np.round(landmarks[[1, 2, 31]].mean(axis=0)).astype(int)  # right cheek
    assert light_image[row, column].mean() > dark_image[row, column].mean() + 40


def test_controlled_scenes_vary_less_than_in_the_wild_ones():
    wild = sample_scenes(150, "in-the-wild", seed=0, image_shape=(64, 64))
    lab = sample_scenes(150, "controlled", seed=0, image_shape=(64, 64))

    def spread(scenes, name):
        return float(np.std([getattr(s, name) for s in scenes]))

    for name in ("yaw", "pitch", "roll", "blur_sigma", "noise_sigma", "face_size"):
        assert spread(lab, name) < 0.5 * spread(wild, name), name
    assert {s.background for s in lab} == {"plain"}
    assert {s.background for s in wild} >= {"gradient", "noise", "clutter"}
    assert min(s.jpeg_quality for s in lab) > max(s.jpeg_quality for s in wild) - 10
    tones = np.array([s.skin_tone.mean() for s in wild])
    assert tones.min() < 0.35 and tones.max() > 0.8  # light to dark skin


def test_every_background_kind_renders_a_different_picture(model):
    scene = frontal(model, background_colors=((0.1, 0.2, 0.3), (0.9, 0.7, 0.2)), seed=3)
    corners = []
    for kind in BACKGROUNDS:
        image, _ = render_face(dataclasses.replace(scene, background=kind), model)
        corners.append(image[:20, :20].astype(float))
    for i in range(len(corners)):
        for j in range(i + 1, len(corners)):
            assert np.abs(corners[i] - corners[j]).mean() > 1, (BACKGROUNDS[i], BACKGROUNDS[j])


def test_sample_scene_keeps_a_given_identity_and_expression(model):
    identity = np.linspace(-1, 1, model.n_identity)
    expression = model.expression_vector({"mouthSmile_L": 0.7, "mouthSmile_R": 0.7})
    scene = sample_scene(3, model=model, identity=identity, expression=expression)
    np.testing.assert_array_equal(scene.identity, identity)
    np.testing.assert_array_equal(scene.expression, expression)
    assert abs(sample_scene(3, model=model, max_yaw=5.0).yaw) <= 5.0


def test_invalid_arguments_raise_value_errors_naming_them(model):
    with pytest.raises(ValueError, match="condition"):
        sample_scene(0, "studio", model=model)
    with pytest.raises(ValueError, match="identity"):
        sample_scene(0, model=model, identity=np.zeros(3))
    with pytest.raises(ValueError, match="background"):
        frontal(model, background="beach")
    with pytest.raises(ValueError, match="jpeg_quality"):
        frontal(model, jpeg_quality=0)
    with pytest.raises(ValueError, match="yaw"):
        frontal(model, yaw=120.0)
    with pytest.raises(ValueError, match="skin_tone"):
        frontal(model, skin_tone=(1.2, 0.5, 0.5))


def test_scenes_round_trip_through_json(model, tmp_path):
    scenes = sample_scenes(3, "in-the-wild", seed=8, image_shape=(64, 48))
    loaded = load_scenes(save_scenes(tmp_path / "scenes.json", scenes))
    for before, after in zip(scenes, loaded):
        np.testing.assert_array_equal(render_face(before, model)[0], render_face(after, model)[0])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        load_scenes(tmp_path / "bad.json")


def test_vertex_normals_point_out_of_a_counter_clockwise_triangle_and_the_face(model):
    triangle = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    normals = vertex_normals(triangle, np.array([[0, 1, 2]]))
    np.testing.assert_allclose(normals, [[0, 0, 1]] * 3)
    nose = model.landmark_indices[NOSE_TIP]
    assert vertex_normals(model.mean, model.triangles)[nose, 2] > 0.8


@pytest.mark.slow
def test_hog_detector_finds_nine_in_ten_stand_ins_within_30_degrees_of_yaw(model):
    from affect.face.landmarks import detect_faces

    for condition in ("in-the-wild", "controlled"):
        scenes = sample_scenes(30, condition, seed=11, image_shape=(192, 192), max_yaw=30)
        images, _ = render_faces(scenes, model, progress=False)
        found = np.mean([len(detect_faces(image)) > 0 for image in images])
        assert found >= 0.9, (condition, found)


def test_a_scene_without_age_renders_as_before_and_an_old_face_shows_its_age():
    from dataclasses import replace

    from affect.datasets.proxy_faces import aged_shape

    scene = sample_scene(3, "controlled", image_shape=(96, 96))
    plain, _ = render_face(scene)
    again, _ = render_face(replace(scene, age=None))
    assert np.array_equal(plain, again)
    young, _ = render_face(replace(scene, age=20))
    old, _ = render_face(replace(scene, age=80))
    assert np.abs(old.astype(int) - young.astype(int)).mean() > 1.0  # grey hair and wrinkles
    model = load_default()
    assert aged_shape(model.mean, 40, model) is model.mean  # adults keep their shape
    child = aged_shape(model.mean, 3, model)
    assert np.ptp(child[:, 1]) < 0.8 * np.ptp(model.mean[:, 1])  # a child's face is smaller and shorter


def test_scene_age_is_validated():
    scene = sample_scene(0)
    with pytest.raises(ValueError, match="age"):
        type(scene)(identity=scene.identity, expression=scene.expression, age=130)
