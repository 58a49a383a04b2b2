"""The painted inner mouth (affect.face.inner_mouth)."""

import numpy as np
import pytest

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


def _frontal(points):  # a frontal camera: 40 px per cm, y down
    return np.stack([200 + 40 * points[:, 0], 200 - 40 * points[:, 1], 50 - points[:, 2]], axis=1)


def test_a_slightly_opened_mouth_shows_teeth_tongue_and_a_shaded_cavity_not_a_flat_blob():
    model = load_default()
    landmarks = model.landmark_indices
    opened = model.shape(expression=model.expression_vector({"jawOpen": 0.3}))  # fear, surprise
    top, bottom = _frontal(opened[landmarks[[62, 66]]])[:, :2]  # inner lips, down the middle
    column = np.linspace(top, bottom, 60)[1:-1]
    colours = paint_inner_mouth(column, model.mean, opened, landmarks, _frontal, np.array([0.7, 0.5, 0.4]), grey=False)
    luminance = colours @ [0.299, 0.587, 0.114]
    teeth = luminance > 0.5
    tongue = (colours[:, 0] > 1.5 * colours[:, 1]) & (luminance > 0.12) & ~teeth
    cavity = luminance < 0.12
    assert teeth[:3].all() and teeth.mean() < 0.8  # upper teeth under the lip, not all teeth
    assert tongue.sum() >= 3 and cavity.sum() >= 3, luminance.round(2)  # the tongue shows above the lower lip
    assert np.flatnonzero(tongue).min() > np.flatnonzero(cavity).min()  # tongue below the cavity's top
    # The cavity is shaded (not one flat colour) and has the oral lining's red, not a grey black.
    assert np.ptp(luminance[cavity]) > 0.01 and luminance.min() > 0.03
    assert (colours[cavity, 0] > 1.8 * colours[cavity, 1]).all()


def test_no_painted_mouth_of_the_basic_expressions_is_a_flat_blob():
    import menpo.io as mio

    from affect.experiments.qualitative import prototype_deltas
    from affect.face.reconstruction import reconstruct, render_affect
    from affect.image import read_image

    image = read_image(mio.data_path_to("lenna.png"))
    recon = reconstruct(image)
    skin = 255 * float(recon.mouth_lighting[0] @ [0.299, 0.587, 0.114])
    for name in ("fear", "surprise"):
        out = render_affect(image, recon, prototype_deltas(recon.model)[name] - recon.expression_offset)
        luminance = out.image[out.inner_mouth] @ [0.299, 0.587, 0.114]
        assert out.inner_mouth.sum() > 100, name
        assert (luminance > 0.6 * skin).mean() > 0.1 and np.ptp(luminance) > 0.4 * skin, name  # teeth, shaded
        if name == "surprise":  # the jaw dropped in full: the cavity shows below the teeth
            assert (luminance < 0.4 * skin).mean() > 0.1, name
        # No black hole: the cavity is shaded and the tongue shows (surprise's full jaw drop opens a
        # deeper, darker cavity than a half-open mouth, so the floor is a small share of the skin's).
        assert np.percentile(luminance, 5) > 0.12 * skin, name


def test_a_mouth_triangle_distorted_beyond_its_shape_shows_the_painted_interior():
    from affect.face.inner_mouth import DISTORTION_FULL, anisotropy

    photo = np.array([[[0, 0], [10, 0], [0, 10]]], float)
    squeezed = np.array([[[0, 0], [3, 0], [0, 30]]], float)  # same area, ten times taller than wide
    assert anisotropy(photo, photo)[0] == pytest.approx(1.0)
    assert anisotropy(photo, squeezed)[0] == pytest.approx(10.0)
    area = np.array([50.0])
    assert reveal_weight(area, area, np.array([1.2]))[0] == 0.0  # the photo's own mouth is kept
    assert reveal_weight(area, area, np.array([DISTORTION_FULL]))[0] == 1.0
    assert reveal_weight(np.array([0.0]), area * 0, np.array([5.0]))[0] == 0.0  # closed in the photo
