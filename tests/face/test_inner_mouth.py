"""The painted inner mouth (affect.face.inner_mouth)."""

import numpy as np

from affect.face.inner_mouth import REVEAL_FULL, REVEAL_START, paint_inner_mouth, reveal_weight
from affect.face.morphable_model import load_default


def test_a_mouth_about_as_open_as_in_the_photo_keeps_the_photo_and_a_new_opening_is_painted():
    photo = np.array([100.0, 100.0, 0.0, 0.2])
    now = np.array([100.0 * REVEAL_START, 100.0 * REVEAL_FULL, 40.0, 0.1])
    np.testing.assert_allclose(reveal_weight(photo, now), [0.0, 1.0, 1.0, 0.0])


def test_teeth_above_the_cavity_and_grey_photos_get_grey_colours():
    model = load_default()
    landmarks = model.landmark_indices
    neutral = model.mean
    opened = model.shape(expression=model.expression_vector({"jawOpen": 1.0}))

    def project(points):  # a frontal camera: 40 px per cm, y down
        return np.stack([200 + 40 * points[:, 0], 200 - 40 * points[:, 1], 50 - points[:, 2]], axis=1)

    top, bottom = project(opened[landmarks[[62, 66]]])[:, :2]
    column = np.linspace(top, bottom, 40)  # down the middle of the open mouth
    skin = np.array([0.7, 0.5, 0.4])
    colours = paint_inner_mouth(column, neutral, opened, landmarks, project, skin, grey=False)
    assert colours.shape == (40, 3) and (0 <= colours).all() and (colours <= 1).all()
    luminance = colours @ [0.299, 0.587, 0.114]
    assert luminance[:2].min() > 0.5  # the upper teeth under the upper lip
    assert luminance[10:30].min() < 0.15  # the cavity (or tongue) behind
    grey = paint_inner_mouth(column, neutral, opened, landmarks, project, skin, grey=True)
    np.testing.assert_allclose(grey[:, 0], grey[:, 2])
