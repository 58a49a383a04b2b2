import numpy as np
import pytest

from affect.face.camera import (
    Camera,
    default_focal_length,
    matrix_from_quaternion,
    quaternion_from_matrix,
    rotation_error_degrees,
)


def rotation_about_y(degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    return np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])


FRONTAL = np.diag([1.0, -1.0, -1.0])  # model +y up, +z to the viewer -> camera y down, z ahead


def test_identity_camera_projects_like_the_pinhole_formula_by_hand():
    camera = Camera(np.array([1.0, 0, 0, 0]), np.zeros(3), 100.0, (50, 80))
    pixels = camera.project(np.array([[2.0, -1.0, 10.0], [0.0, 0.0, 5.0]]))
    # centre (79/2, 49/2) = (39.5, 24.5); x = 100 * 2/10 + 39.5, y = 100 * -1/10 + 24.5
    np.testing.assert_allclose(pixels, [[59.5, 14.5], [39.5, 24.5]])


def test_to_image_gives_pixels_and_depth_growing_away_from_the_camera():
    camera = Camera.from_rotation_matrix(FRONTAL, np.array([1.0, 2.0, 50.0]), 200.0, (101, 201))
    image = camera.to_image(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 2.0]]))
    # second point: camera frame R X + t = (1 + 1, -1 + 2, -2 + 50) = (2, 1, 48)
    np.testing.assert_allclose(image[0], [100 + 200 * 1 / 50, 50 + 200 * 2 / 50, 50.0])
    np.testing.assert_allclose(image[1], [100 + 200 * 2 / 48, 50 + 200 * 1 / 48, 48.0])
    assert image[1, 2] < image[0, 2]  # the nose-side point is nearer


def test_frontal_camera_sees_model_up_as_image_up_and_subject_left_as_image_right():
    camera = Camera.from_rotation_matrix(FRONTAL, np.array([0.0, 0.0, 60.0]), 500.0, (200, 200))
    centre, up, left = camera.project(np.array([[0.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0]]))
    assert up[1] < centre[1]
    assert left[0] > centre[0]


def test_rotation_matrix_round_trips_through_the_quaternion():
    matrix = rotation_about_y(30) @ FRONTAL
    camera = Camera.from_rotation_matrix(matrix, np.zeros(3), 1.0, (10, 10))
    np.testing.assert_allclose(camera.rotation_matrix, matrix, atol=1e-12)
    round_trip = matrix_from_quaternion(quaternion_from_matrix(matrix))
    np.testing.assert_allclose(round_trip, matrix, atol=1e-12)
    assert camera.rotation[0] >= 0


def test_quaternion_is_normalised_on_construction():
    camera = Camera(np.array([2.0, 0, 0, 0]), np.zeros(3), 1.0, (10, 10))
    np.testing.assert_allclose(camera.rotation, [1, 0, 0, 0])


def test_update_rotates_on_the_left_translates_and_scales_the_focal_length():
    camera = Camera.from_rotation_matrix(FRONTAL, np.array([0.0, 0, 50]), 300.0, (10, 10))
    delta = np.array([0, np.radians(10), 0, 1.0, 2.0, 3.0, np.log(2.0)])
    updated = camera.update(delta)
    np.testing.assert_allclose(updated.rotation_matrix, rotation_about_y(10) @ FRONTAL, atol=1e-12)
    np.testing.assert_allclose(updated.translation, [1, 2, 53])
    assert updated.focal_length == pytest.approx(600.0)
    assert camera.focal_length == 300.0  # frozen: the original is unchanged


def test_arrays_round_trip_keeps_every_field():
    camera = Camera.from_rotation_matrix(rotation_about_y(-20), np.array([1.0, -2, 40]), 812.5, (480, 640))
    restored = Camera.from_arrays(camera.to_arrays())
    np.testing.assert_allclose(restored.rotation, camera.rotation)
    np.testing.assert_allclose(restored.translation, camera.translation)
    assert restored.focal_length == camera.focal_length
    assert restored.image_shape == (480, 640)


def test_rotation_error_is_the_angle_between_two_rotations():
    assert rotation_error_degrees(rotation_about_y(5), rotation_about_y(-20)) == pytest.approx(25)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rotation": np.zeros(4)}, "rotation"),
        ({"translation": np.zeros(2)}, "translation"),
        ({"focal_length": -1.0}, "focal_length"),
        ({"image_shape": (0, 10)}, "image_shape"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, message):
    arguments = dict(
        rotation=np.array([1.0, 0, 0, 0]),
        translation=np.zeros(3),
        focal_length=1.0,
        image_shape=(5, 5),
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Camera(**arguments)


def test_non_rotation_matrix_is_rejected():
    with pytest.raises(ValueError, match="matrix"):
        Camera.from_rotation_matrix(np.diag([1.0, 1.0, -1.0]), np.zeros(3), 1.0, (5, 5))


def test_default_focal_length_scales_with_the_larger_image_side():
    assert default_focal_length((480, 640)) == pytest.approx(1.5 * 640)
    assert default_focal_length((1000, 200)) == pytest.approx(1.5 * 1000)
