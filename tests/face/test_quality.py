"""Sharpness ratio, round-trip error and colour drift (affect.face.quality)."""

import cv2
import numpy as np
import pytest

from affect.face.quality import colour_drift, round_trip_error, sharpness_ratio, upper_face


def _texture(size=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_sharpness_ratio_is_one_for_the_same_image_and_below_one_for_a_blurred_one():
    image = _texture()
    region = np.ones(image.shape[:2], bool)
    assert sharpness_ratio(image, image, region) == pytest.approx(1.0)
    assert sharpness_ratio(image, cv2.GaussianBlur(image, (5, 5), 1.0), region) < 0.5


def test_sharpness_ratio_of_an_empty_region_is_nan_and_sizes_must_match():
    image = _texture()
    assert np.isnan(sharpness_ratio(image, image, np.zeros(image.shape[:2], bool)))
    with pytest.raises(ValueError, match="differ in size"):
        sharpness_ratio(image, image[:10], np.ones(image.shape[:2], bool))


def test_upper_face_keeps_the_rows_above_the_nose_tip():
    landmarks = np.zeros((68, 2))
    landmarks[30] = (10, 20.4)
    region = upper_face(np.ones((40, 30), bool), landmarks)
    assert region[:21].all() and not region[21:].any()


def test_round_trip_error_and_drift_are_mean_absolute_grey_levels_over_their_pixels():
    photo = np.full((4, 4, 3), 100, np.uint8)
    output = photo.copy()
    output[0, 0] = 110
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    assert round_trip_error(photo, output, mask) == pytest.approx(5.0)
    assert colour_drift(photo, output, mask) == pytest.approx(5.0)
    assert np.isnan(colour_drift(photo, output, np.zeros((4, 4), bool)))
