import numpy as np
import pytest

from affect.face.blending import default_erosion, poisson_blend


def disk(shape, center, radius):
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (xs - center[0]) ** 2 + (ys - center[1]) ** 2 <= radius**2


def textured_photo(shape=(64, 80), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)


def test_pixels_outside_the_mask_are_unchanged_and_inside_change():
    photo = textured_photo()
    rendered = textured_photo(seed=1)
    mask = disk(photo.shape, (40, 30), 15)
    out = poisson_blend(photo, rendered, mask)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    np.testing.assert_array_equal(out[~mask], photo[~mask])
    inner = disk(photo.shape, (40, 30), 10)
    assert np.abs(out[inner].astype(int) - photo[inner]).mean() > 20


def test_blend_keeps_the_rendering_gradients_and_meets_the_photo_at_the_boundary():
    # A rendering that is the photo plus a constant has the photo's gradients: the Poisson
    # solution inside is then the photo itself (up to rounding), not the brighter rendering.
    photo = np.tile(np.linspace(40, 160, 80, dtype=np.float32), (64, 1))[:, :, None].repeat(3, axis=2) / 255
    rendered = photo + 60 / 255
    mask = disk(photo.shape, (40, 30), 15)
    out = poisson_blend(photo, rendered, mask)
    assert np.abs(out[mask] - photo[mask]).max() < 3 / 255


@pytest.mark.parametrize("width, height", [(21, 21), (22, 21), (21, 22), (22, 22)])
def test_blended_face_stays_in_place_for_odd_and_even_mask_sizes(width, height):
    photo = np.full((60, 70, 3), 90, dtype=np.uint8)
    rendered = photo.copy()
    rendered[30, 35] = (250, 250, 250)  # a one-pixel feature in the rendering
    mask = np.zeros((60, 70), dtype=bool)
    mask[20 : 20 + height, 25 : 25 + width] = True
    out = poisson_blend(photo, rendered, mask, erosion=0)
    brightest = np.unravel_index(np.argmax(out[..., 0]), out.shape[:2])
    assert brightest == (30, 35)


def test_mask_touching_the_image_border_blends_up_to_the_border():
    photo = textured_photo()
    rendered = np.clip(photo.astype(int) + 50, 0, 255).astype(np.uint8)
    rendered[:, :12] = 255 - photo[:, :12]  # different content along the left edge
    mask = np.zeros(photo.shape[:2], dtype=bool)
    mask[10:50, 0:30] = True
    out = poisson_blend(photo, rendered, mask)
    np.testing.assert_array_equal(out[~mask], photo[~mask])
    left_edge = out[20:40, 0].astype(int)
    assert np.abs(left_edge - photo[20:40, 0]).mean() > 20  # the edge column is blended too


def test_output_keeps_the_photo_dtype_and_channels():
    mask = disk((32, 32), (16, 16), 8)
    grey = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    out = poisson_blend(grey, np.ones((32, 32, 3), dtype=np.float32) * 0.5, mask)
    assert out.dtype == np.float32 and out.shape == (32, 32)
    np.testing.assert_array_equal(out[~mask], grey[~mask])
    photo16 = (np.random.default_rng(1).random((32, 32, 3)) * 65535).astype(np.uint16)
    out16 = poisson_blend(photo16, photo16 // 2, mask)
    assert out16.dtype == np.uint16
    np.testing.assert_array_equal(out16[~mask], photo16[~mask])


def test_empty_mask_returns_the_photo_and_inputs_are_not_modified():
    photo = textured_photo()
    mask = np.zeros(photo.shape[:2], dtype=bool)
    np.testing.assert_array_equal(poisson_blend(photo, textured_photo(seed=2), mask), photo)
    mask = disk(photo.shape, (40, 30), 12)
    kept = mask.copy()
    poisson_blend(photo, textured_photo(seed=2), mask)
    np.testing.assert_array_equal(mask, kept)


def test_mask_is_eroded_by_about_one_percent_of_its_size():
    mask = np.zeros((400, 400), dtype=bool)
    mask[50:350, 100:300] = True
    assert default_erosion(mask) == 3
    assert default_erosion(disk((20, 20), (10, 10), 3)) == 1
    photo = np.full((400, 400, 3), 100, dtype=np.uint8)
    rendered = textured_photo((400, 400), seed=3) // 2 + 60
    changed = (poisson_blend(photo, rendered, mask) != photo).any(axis=2)
    assert not changed[50:53].any() and not changed[:, 100:103].any()
    assert changed[53:347, 103:297].mean() > 0.9


@pytest.mark.parametrize(
    "rendered, mask, message",
    [
        (np.zeros((10, 12, 3), np.uint8), np.ones((10, 10), bool), "rendered"),
        (np.zeros((10, 10, 3), np.uint8), np.ones((10, 12), bool), "mask"),
        (np.zeros((10, 10, 3), np.int64), np.ones((10, 10), bool), "rendered"),
        (np.full((10, 10, 3), 200.0), np.ones((10, 10), bool), r"rendered: expected float images in \[0, 1\]"),
    ],
)
def test_mismatched_inputs_raise_value_error_naming_the_argument(rendered, mask, message):
    with pytest.raises(ValueError, match=message):
        poisson_blend(np.zeros((10, 10, 3), np.uint8), rendered, mask)


def test_sine_transform_solver_matches_opencv_on_a_rendered_face():
    import menpo.io as mio

    import affect  # noqa: F401  (menpo shims)
    from affect.face.reconstruction import reconstruct, render_affect
    from affect.image import read_image

    photo = read_image(mio.data_path_to("takeo.ppm"))
    recon = reconstruct(photo)
    model = recon.model
    delta = np.tensordot(model.expression_vector({"jawOpen": 0.4, "mouthSmile_L": 0.8}), model.expression_basis, 1)
    pasted = render_affect(photo, recon, delta, blend=False)
    opencv = poisson_blend(photo, pasted.rendering, pasted.mask, method="opencv")
    dst = poisson_blend(photo, pasted.rendering, pasted.mask, method="dst")
    difference = np.abs(opencv.astype(int) - dst)
    assert difference[pasted.mask].mean() < 1.0 and np.percentile(difference[pasted.mask], 99) <= 3
    assert np.array_equal(dst[~pasted.mask], photo[~pasted.mask])
    assert np.abs(dst.astype(int) - photo)[pasted.mask].mean() > 1  # it did change the face


def test_unknown_blend_method_is_rejected():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="method"):
        poisson_blend(image, image, np.ones((8, 8), bool), method="fast")


@pytest.mark.parametrize("method", ["dst", "opencv"])
def test_a_seam_width_keeps_the_rendering_inside_the_band_and_blends_the_edge(method):
    photo = textured_photo()
    rendered = np.clip(photo.astype(int) + 40, 0, 255).astype(np.uint8)  # brighter everywhere
    mask = disk(photo.shape, (40, 30), 20)
    out = poisson_blend(photo, rendered, mask, method=method, seam_width=6)
    np.testing.assert_array_equal(out[~mask], photo[~mask])
    inner = disk(photo.shape, (40, 30), 11)  # more than 6 px from the (eroded) edge
    np.testing.assert_array_equal(out[inner], rendered[inner])
    ring = mask & ~disk(photo.shape, (40, 30), 18)
    full = poisson_blend(photo, rendered, mask, method=method)
    assert np.abs(out[ring].astype(int) - full[ring]).mean() < 8  # the edge is blended as before


def test_a_seam_width_that_is_not_positive_is_rejected():
    photo = textured_photo()
    with pytest.raises(ValueError, match="seam_width"):
        poisson_blend(photo, photo, disk(photo.shape, (40, 30), 10), seam_width=0)


def test_an_edge_contrast_keeps_a_real_edge_out_of_the_face_and_blends_a_small_seam():
    photo = textured_photo()
    mask = disk(photo.shape, (40, 30), 20)
    # A face over a background 120 grey levels away: a real edge, whose colour must not drift in.
    far = np.clip(photo.astype(int) + 120, 0, 255).astype(np.uint8)
    band = mask & ~disk(photo.shape, (40, 30), 15)
    inner_band = band & disk(photo.shape, (40, 30), 17)  # 3 to 5 px inside the edge
    plain = poisson_blend(photo, far, mask, method="dst", seam_width=6)
    kept = poisson_blend(photo, far, mask, method="dst", seam_width=6, edge_contrast=24)
    assert (
        np.abs(kept[inner_band].astype(int) - far[inner_band]).mean()
        < 0.2 * np.abs(plain[inner_band].astype(int) - far[inner_band]).mean()
    )
    # A seam of a few grey levels is blended about as before.
    near = np.clip(photo.astype(int) + 6, 0, 255).astype(np.uint8)
    a = poisson_blend(photo, near, mask, method="dst", seam_width=6)
    b = poisson_blend(photo, near, mask, method="dst", seam_width=6, edge_contrast=24)
    assert np.abs(a[band].astype(int) - b[band]).mean() < 1.0
    with pytest.raises(ValueError, match="edge_contrast"):
        poisson_blend(photo, near, mask, method="dst", seam_width=6, edge_contrast=0)
