import numpy as np
import pytest

from affect.face.texture import VertexTexture, load_texture, sample_texture, save_texture


def grid_mesh(x0, y0, x1, y1, n, depth):
    """Flat n x n grid from (x0, y0) to (x1, y1) at one depth."""
    u, v = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    vertices = np.stack([u.ravel(), v.ravel(), np.full(u.size, depth)], axis=1)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    triangles = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int32)
    return vertices, triangles


def gradient_image(height=40, width=50):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs / width, ys / height, np.full_like(xs, 0.5)], axis=2)


def test_sampling_recovers_colours_of_a_linear_image_at_subpixel_positions():
    image = gradient_image()
    vertices, triangles = grid_mesh(3.3, 4.6, 41.9, 33.2, 6, 1.0)
    texture = sample_texture(image, vertices, triangles)
    assert texture.colors.dtype == np.float32 and texture.colors.shape == (36, 3)
    assert texture.visible.all()
    expected = np.stack([vertices[:, 0] / 50, vertices[:, 1] / 40, np.full(36, 0.5)], axis=1)
    np.testing.assert_allclose(texture.colors, expected, atol=1e-4)  # bilinear is exact on a ramp


def test_uint8_and_grey_images_are_scaled_to_unit_range():
    vertices, triangles = grid_mesh(2.0, 2.0, 12.0, 12.0, 3, 1.0)
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    rgb[..., 2] = 51
    np.testing.assert_allclose(
        sample_texture(rgb, vertices, triangles).colors, np.tile([1.0, 0.0, 0.2], (9, 1)), atol=1e-6
    )
    grey = np.full((16, 16), 0.25, dtype=np.float64)
    np.testing.assert_allclose(sample_texture(grey, vertices, triangles).colors, 0.25, atol=1e-6)


def occluded_scene():
    """Left and right patches mirrored about x = 20, and a plate hiding part of the right one.

    The photo is red under the left patch, green under the right patch and black under the plate.
    """
    left, left_tris = grid_mesh(4.0, 4.0, 16.0, 16.0, 5, 5.0)
    right = left.copy()
    right[:, 0] = 40.0 - left[:, 0]
    plate, plate_tris = grid_mesh(24.0, 3.0, 30.5, 17.0, 2, 1.0)
    vertices = np.concatenate([left, right, plate])
    triangles = np.concatenate([left_tris, left_tris + 25, plate_tris + 50]).astype(np.int32)
    mirror = np.concatenate([np.arange(25) + 25, np.arange(25), np.arange(50, 54)])
    image = np.zeros((20, 40, 3), dtype=np.float32)
    image[:, :20] = (1.0, 0.0, 0.0)
    image[:, 20:] = (0.0, 1.0, 0.0)
    image[2:19, 23:32] = 0.0
    return image, vertices, triangles, mirror


def test_occluded_vertices_take_their_visible_mirror_colour():
    image, vertices, triangles, mirror = occluded_scene()
    texture = sample_texture(image, vertices, triangles, mirror_indices=mirror)
    hidden = ~texture.visible
    assert hidden[25:50].sum() >= 5 and not hidden[:25].any()  # the plate hides part of the right patch
    np.testing.assert_allclose(texture.colors[hidden], np.tile([1.0, 0.0, 0.0], (hidden.sum(), 1)))


def test_occluded_vertices_without_mirrors_take_their_neighbours_colour():
    image, vertices, triangles, _ = occluded_scene()
    texture = sample_texture(image, vertices, triangles)
    hidden = ~texture.visible
    # several rings deep, every hidden vertex ends up green like the visible part of its patch,
    # not black like the plate in front of it
    np.testing.assert_allclose(texture.colors[hidden], np.tile([0.0, 1.0, 0.0], (hidden.sum(), 1)), atol=1e-6)


def test_vertices_outside_the_image_are_filled_and_flagged_not_visible():
    image = np.full((10, 10, 3), 0.5, dtype=np.float32)
    vertices, triangles = grid_mesh(2.0, 2.0, 18.0, 8.0, 5, 1.0)
    texture = sample_texture(image, vertices, triangles)
    outside = vertices[:, 0] > 9.5
    np.testing.assert_array_equal(texture.visible, ~outside)
    np.testing.assert_allclose(texture.colors, 0.5, atol=1e-6)


def test_mesh_with_no_visible_vertex_is_rejected():
    vertices, triangles = grid_mesh(50.0, 50.0, 60.0, 60.0, 2, 1.0)
    with pytest.raises(ValueError, match="no vertex"):
        sample_texture(np.zeros((10, 10, 3)), vertices, triangles)


@pytest.mark.parametrize("mirror", [np.arange(8), np.full(9, 9), np.zeros(9, dtype=float)])
def test_bad_mirror_indices_are_rejected(mirror):
    vertices, triangles = grid_mesh(2.0, 2.0, 8.0, 8.0, 3, 1.0)
    with pytest.raises(ValueError, match="mirror_indices"):
        sample_texture(np.zeros((10, 10, 3)), vertices, triangles, mirror_indices=mirror)


@pytest.mark.parametrize("image", [np.zeros((10, 10, 2)), np.full((10, 10, 3), 255.0), np.zeros((10, 10, 3), np.int32)])
def test_bad_image_is_rejected(image):
    vertices, triangles = grid_mesh(2.0, 2.0, 8.0, 8.0, 3, 1.0)
    with pytest.raises(ValueError, match="image"):
        sample_texture(image, vertices, triangles)


def test_texture_round_trips_through_npz(tmp_path):
    texture = VertexTexture(
        colors=np.random.default_rng(0).random((5, 3)).astype(np.float32),
        visible=np.array([True, False, True, True, False]),
    )
    save_texture(tmp_path / "t.npz", texture)
    loaded = load_texture(tmp_path / "t.npz")
    np.testing.assert_array_equal(loaded.colors, texture.colors)
    np.testing.assert_array_equal(loaded.visible, texture.visible)


def test_vertex_adjacency_is_built_once_per_mesh():
    from affect.face import texture

    triangles = np.array([[0, 1, 2], [1, 3, 2]])
    first = texture._vertex_adjacency(triangles, 4)
    assert texture._vertex_adjacency(triangles.copy(), 4) is first  # same content, same matrix
    other = texture._vertex_adjacency(np.array([[0, 1, 3]]), 4)
    assert other is not first and other.nnz == 6
    np.testing.assert_array_equal(first.toarray(), [[0, 1, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 0]])
