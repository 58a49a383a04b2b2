"""Tests of affect.bench.photos: square face crops."""

import numpy as np
import pytest

from affect.bench import face_crop


def test_face_crop_centres_the_box_and_maps_points_by_scale_and_origin():
    image = np.zeros((120, 160, 3), dtype=np.uint8)
    image[50:70, 70:90] = 255  # a bright square at the box centre
    box = (60, 40, 100, 80)  # 40 px square centred on (80, 60)
    crop, scale, origin = face_crop(image, box, size=64, margin=2.0)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert scale == pytest.approx(64 / 80)
    centre = (np.array([80.0, 60.0]) - origin) * scale
    assert np.allclose(centre, 32.0, atol=1.0)
    assert crop[32, 32].min() == 255 and crop[2, 2].max() == 0


def test_face_crop_repeats_border_pixels_where_the_square_leaves_the_photo():
    image = np.zeros((50, 50, 3), dtype=np.uint8)
    image[:, 0] = (10, 20, 30)  # left column, repeated to the left of the photo
    crop, _, origin = face_crop(image, (0, 10, 30, 40), size=60, margin=2.0)
    assert origin[0] < 0
    assert tuple(crop[30, 0]) == (10, 20, 30)


@pytest.mark.parametrize("box", [(10, 10, 10, 20), (10, 30, 20, 20)])
def test_face_crop_rejects_an_empty_box(box):
    with pytest.raises(ValueError, match="box"):
        face_crop(np.zeros((40, 40, 3), dtype=np.uint8), box)
