"""The eye a raised upper lid uncovers (affect.face.eyes): the iris read from a photo, the painted strip."""

import dataclasses

import numpy as np
import pytest

from affect.face.eyes import EyeAppearance, eye_appearance, paint_revealed_eye

SKIN = np.array([196.0, 146.0, 120.0])
SCLERA = np.array([236.0, 230.0, 224.0])
IRIS = np.array([112.0, 72.0, 42.0])
PUPIL = np.array([22.0, 18.0, 18.0])
LUMA = np.array([0.299, 0.587, 0.114])


def _synthetic_eye(iris_centre, iris_radius=8.0, half_width=20.0, half_height=7.0, size=(60, 90), grey=False):
    """An eye drawn at 4x and averaged down (anti-aliased edges): skin, an elliptic opening of
    white sclera centred at (45, 30), a brown iris with a dark pupil, the lids hiding the iris'
    top and bottom. Returns the image and the six iBUG landmarks of the opening."""
    scale = 4
    height, width = size
    ys, xs = (np.indices((height * scale, width * scale)) + 0.5) / scale - 0.5  # pixel centres at integers
    in_opening = ((xs - 45.0) / half_width) ** 2 + ((ys - 30.0) / half_height) ** 2 <= 1.0
    from_iris = np.hypot(xs - iris_centre[0], ys - iris_centre[1])
    colour = np.where(in_opening[..., None], SCLERA, SKIN)
    colour = np.where((in_opening & (from_iris <= iris_radius))[..., None], IRIS, colour)
    colour = np.where((in_opening & (from_iris <= 0.35 * iris_radius))[..., None], PUPIL, colour)
    image = colour.reshape(height, scale, width, scale, 3).mean(axis=(1, 3))
    if grey:
        image = np.repeat((image @ LUMA)[..., None], 3, axis=2)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    lid_x = 45.0 + half_width * np.array([-1 / 3, 1 / 3])
    lid_dy = half_height * np.sqrt(1.0 - ((lid_x - 45.0) / half_width) ** 2)
    landmarks = np.array(
        [
            [45.0 - half_width, 30.0],
            [lid_x[0], 30.0 - lid_dy[0]],
            [lid_x[1], 30.0 - lid_dy[1]],
            [45.0 + half_width, 30.0],
            [lid_x[1], 30.0 + lid_dy[1]],
            [lid_x[0], 30.0 + lid_dy[0]],
        ]
    )
    return image, landmarks


@pytest.mark.parametrize("iris_centre", [(46.0, 29.0), (38.0, 30.0), (53.5, 28.5)])
def test_the_iris_centre_radius_and_colours_of_a_synthetic_eye_are_recovered(iris_centre):
    image, landmarks = _synthetic_eye(iris_centre)
    eye = eye_appearance(image, landmarks)
    assert eye.measured
    assert np.hypot(*(eye.iris_centre - iris_centre)) < 1.5, eye.iris_centre
    assert abs(eye.iris_radius - 8.0) < 0.2 * 8.0, eye.iris_radius
    np.testing.assert_allclose(eye.iris_colour, IRIS, atol=20)
    np.testing.assert_allclose(eye.sclera_colour, SCLERA, atol=20)
    np.testing.assert_allclose(eye.limbus_colour, 0.6 * eye.iris_colour)
    shadow, sclera = eye.sclera_shadow @ LUMA, eye.sclera_colour @ LUMA
    assert 0.4 * sclera - 1e-6 <= shadow <= 0.7 * sclera + 1e-6  # the lid always casts a visible shadow


def test_painted_pixels_inside_the_iris_disc_are_iris_and_outside_are_sclera():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    eye = eye_appearance(image, landmarks)
    inside = np.array([[46.0, 23.0], [44.0, 23.0], [48.0, 24.0]])  # under the upper lid, within the disc
    outside = np.array([[34.0, 22.0], [58.0, 22.0], [36.0, 24.0]])  # under the lid, beside the disc
    deep = np.full(3, 10.0)  # far below the lid margin: out of its shadow
    iris = paint_revealed_eye(eye, inside, deep).astype(float)
    sclera = paint_revealed_eye(eye, outside, deep).astype(float)
    assert np.abs(iris - IRIS).max() <= 25, iris
    assert np.abs(sclera - SCLERA).max() <= 30, sclera
    # The limbal ring: the disc is darker near its edge than halfway in.
    centre = eye.iris_centre
    halfway, rim = centre + [0.0, -0.5 * eye.iris_radius], centre + [0.0, -0.95 * eye.iris_radius]
    colours = paint_revealed_eye(eye, np.array([halfway, rim]), deep[:2]).astype(float) @ LUMA
    assert colours[1] < colours[0] - 10


def test_the_lid_shades_the_eyeball_just_under_its_margin():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    eye = eye_appearance(image, landmarks)
    column = np.array([[58.0, 22.0]] * 4)
    luma = paint_revealed_eye(eye, column, np.array([0.0, 0.5 * eye.iris_radius, 3.0, 6.0])).astype(float) @ LUMA
    assert luma[0] < luma[2] - 20 and abs(luma[2] - luma[3]) < 8
    assert luma[0] <= luma[1] <= luma[2] + 8


def test_a_closed_eye_and_degenerate_landmarks_do_not_raise():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    closed = landmarks.copy()
    closed[:, 1] = 30.0  # zero height
    for points in (closed, np.full((6, 2), 45.0), landmarks + [500.0, 0.0], landmarks - [60.0, 0.0]):
        eye = eye_appearance(image, points)
        assert isinstance(eye, EyeAppearance) and not eye.measured
        assert np.all(np.isfinite(eye.iris_centre)) and eye.iris_radius > 0
        colours = paint_revealed_eye(eye, points, np.arange(6.0))
        assert colours.shape == (6, 3) and colours.dtype == np.uint8
    # The defaults follow the photo's light: the sclera is brighter than the iris.
    eye = eye_appearance(image, closed)
    assert eye.sclera_colour @ LUMA > eye.iris_colour @ LUMA + 50


def test_tiny_dark_and_uniform_eyes_do_not_raise():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    tiny = image[::4, ::4]  # an eye 10 pixels wide
    eye = eye_appearance(tiny, (landmarks + 0.5) / 4.0 - 0.5)
    assert 1.0 < eye.iris_radius < 3.0
    flat = np.full((40, 60, 3), 30, np.uint8)  # sunglasses: nothing to locate
    eye = eye_appearance(flat, landmarks - [15.0, 10.0])
    assert not eye.measured and eye.sclera_colour @ LUMA >= eye.iris_colour @ LUMA + 20 - 1e-9


def test_a_grey_photo_gets_grey_colours():
    image, landmarks = _synthetic_eye((46.0, 29.0), grey=True)
    eye = eye_appearance(image, landmarks)
    for colour in (eye.iris_colour, eye.sclera_colour, eye.sclera_shadow, eye.limbus_colour):
        assert np.ptp(colour) < 1.0
    closed = landmarks.copy()
    closed[:, 1] = 30.0
    eye = eye_appearance(image, closed)
    assert np.ptp(eye.iris_colour) < 1.0 and np.ptp(eye.sclera_colour) < 1.0


def test_estimate_and_painting_are_deterministic_and_each_pixel_keeps_its_colour():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    first, second = eye_appearance(image, landmarks), eye_appearance(image.copy(), landmarks.copy())
    for name in ("iris_centre", "iris_colour", "sclera_colour", "sclera_shadow", "limbus_colour"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.iris_radius == second.iris_radius and first.grain == second.grain
    rows, cols = np.mgrid[20:25, 30:62]
    xy = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    depth = (xy[:, 1] - 20.0) * 1.5
    colours = paint_revealed_eye(first, xy, depth)
    np.testing.assert_array_equal(colours, paint_revealed_eye(first, xy, depth))
    order = np.random.default_rng(0).permutation(len(xy))
    np.testing.assert_array_equal(colours[order], paint_revealed_eye(first, xy[order], depth[order]))
    # A faint grain of the photo's noise (at least half a grey level): each pixel a little off the
    # colour it would have without it.
    flat = paint_revealed_eye(dataclasses.replace(first, grain=0.0), xy, depth).astype(float)
    grain = colours - flat
    assert 0.3 < grain.std() < max(2.0 * first.grain, 1.0) and np.abs(grain).max() <= np.sqrt(3.0) * first.grain + 1


def test_the_appearance_is_frozen():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    eye = eye_appearance(image, landmarks)
    with pytest.raises(AttributeError):
        eye.iris_radius = 3.0
    with pytest.raises(ValueError):
        eye.iris_colour[0] = 0.0


def test_invalid_arguments_are_refused_with_the_argument_named():
    image, landmarks = _synthetic_eye((46.0, 29.0))
    with pytest.raises(ValueError, match="image"):
        eye_appearance(image.astype(float), landmarks)
    with pytest.raises(ValueError, match="image"):
        eye_appearance(image[..., 0], landmarks)
    with pytest.raises(ValueError, match="eye_landmarks"):
        eye_appearance(image, landmarks[:4])
    with pytest.raises(ValueError, match="eye_landmarks"):
        eye_appearance(image, np.full((6, 2), np.nan))
    eye = eye_appearance(image, landmarks)
    with pytest.raises(ValueError, match="xy"):
        paint_revealed_eye(eye, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="upper_lid_distance"):
        paint_revealed_eye(eye, np.zeros((4, 2)), np.zeros(3))
    assert paint_revealed_eye(eye, np.zeros((0, 2)), np.zeros(0)).shape == (0, 3)
