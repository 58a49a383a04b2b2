import numpy as np
import pytest

import affect  # noqa: F401  (numpy shims for menpo3d)
from affect.face.rendering import Rendering, load_rendering, rasterize, save_rendering, visible_vertices

RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def right_triangle(z=(1.0, 1.0, 1.0)):
    vertices = np.array([[0.0, 0.0, z[0]], [8.0, 0.0, z[1]], [0.0, 8.0, z[2]]])
    return vertices, np.array([[0, 1, 2]], dtype=np.int32), np.array([RED, GREEN, BLUE])


def square(x0, y0, side, depth, color):
    """Two triangles covering pixel centres x0..x0+side, y0..y0+side, at one depth and colour."""
    vertices = np.array(
        [[x0, y0, depth], [x0 + side, y0, depth], [x0 + side, y0 + side, depth], [x0, y0 + side, depth]], dtype=float
    )
    triangles = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
    return vertices, triangles, np.tile(np.asarray(color, dtype=float), (4, 1))


def merge(*meshes):
    vertices, triangles, colors, offset = [], [], [], 0
    for v, t, c in meshes:
        vertices.append(v)
        triangles.append(t + offset)
        colors.append(c)
        offset += len(v)
    return np.concatenate(vertices), np.concatenate(triangles).astype(np.int32), np.concatenate(colors)


def test_triangle_covers_exactly_the_pixel_centres_inside_it():
    vertices, triangles, colors = right_triangle()
    rendering = rasterize(vertices, triangles, colors, (12, 12))
    ys, xs = np.mgrid[0:12, 0:12]
    expected = xs + ys <= 8  # pixel centres on the edges count as inside
    np.testing.assert_array_equal(rendering.mask, expected)
    assert rendering.image.dtype == np.float32 and rendering.image.shape == (12, 12, 3)
    assert np.all(np.isinf(rendering.depth[~expected]))
    assert np.all(rendering.triangle_index[~expected] == -1)
    assert np.all(rendering.image[~expected] == 0)


def test_colours_and_depth_are_interpolated_barycentrically():
    vertices, triangles, colors = right_triangle(z=(1.0, 5.0, 9.0))
    rendering = rasterize(vertices, triangles, colors, (12, 12))
    # pixel (x=2, y=4): weights 1 - 2/8 - 4/8, 2/8, 4/8 for the red, green and blue corners
    np.testing.assert_allclose(rendering.image[4, 2], [0.25, 0.25, 0.5], atol=1e-6)
    np.testing.assert_allclose(rendering.depth[4, 2], 0.25 * 1 + 0.25 * 5 + 0.5 * 9, atol=1e-5)
    np.testing.assert_allclose(rendering.image[0, 0], RED, atol=1e-6)
    np.testing.assert_allclose(rendering.image[0, 8], GREEN, atol=1e-6)


def test_attributes_outside_zero_to_one_are_interpolated_unclipped_when_asked():
    vertices, triangles, _ = right_triangle()
    attributes = np.array([[-4.0], [12.0], [0.5]])
    clipped = rasterize(vertices, triangles, attributes, (12, 12))
    free = rasterize(vertices, triangles, attributes, (12, 12), clip=False)
    assert clipped.image[0, 0, 0] == 0.0
    np.testing.assert_allclose(free.image[0, 0, 0], -4.0)
    np.testing.assert_allclose(free.image[4, 2, 0], 0.25 * -4 + 0.25 * 12 + 0.5 * 0.5, atol=1e-6)


def test_square_of_two_triangles_has_no_cracks_along_the_shared_diagonal():
    vertices, triangles, colors = square(2.5, 3.25, 9.5, 1.0, (0.2, 0.4, 0.6))
    rendering = rasterize(vertices, triangles, colors, (20, 20))
    expected = np.zeros((20, 20), dtype=bool)
    expected[4:13, 3:13] = True  # x in [2.5, 12] holds columns 3..12, y in [3.25, 12.75] rows 4..12
    np.testing.assert_array_equal(rendering.mask, expected)
    np.testing.assert_allclose(rendering.image[expected], np.tile([0.2, 0.4, 0.6], (90, 1)), atol=1e-6)


@pytest.mark.parametrize("near_first", [True, False])
def test_nearer_surface_wins_whatever_the_triangle_order(near_first):
    near = square(4, 4, 6, 2.0, RED)
    far = square(0, 0, 15, 3.0, BLUE)
    vertices, triangles, colors = merge(near, far) if near_first else merge(far, near)
    rendering = rasterize(vertices, triangles, colors, (16, 16))
    np.testing.assert_allclose(rendering.image[7, 7], RED)
    np.testing.assert_allclose(rendering.image[1, 1], BLUE)
    assert rendering.depth[7, 7] == pytest.approx(2.0)
    assert rendering.depth[1, 1] == pytest.approx(3.0)


def test_triangles_partly_outside_the_image_are_clipped():
    vertices = np.array([[-20.0, -5.0, 1.0], [30.0, -5.0, 1.0], [-20.0, 45.0, 1.0]])
    triangles = np.array([[0, 1, 2]], dtype=np.int32)
    rendering = rasterize(vertices, triangles, np.ones((3, 3)), (10, 10))
    ys, xs = np.mgrid[0:10, 0:10]
    np.testing.assert_array_equal(rendering.mask, (xs + 20) + (ys + 5) <= 50)

    outside = vertices + [100.0, 0.0, 0.0]
    assert not rasterize(outside, triangles, np.ones((3, 3)), (10, 10)).mask.any()


def test_back_faces_are_drawn_unless_culling_is_asked_for():
    vertices, triangles, colors = right_triangle()  # clockwise as seen with y pointing down
    assert rasterize(vertices, triangles, colors, (12, 12)).mask.any()
    assert rasterize(vertices, triangles[:, ::-1], colors, (12, 12)).mask.any()
    assert not rasterize(vertices, triangles, colors, (12, 12), cull="clockwise").mask.any()
    assert rasterize(vertices, triangles, colors, (12, 12), cull="counterclockwise").mask.any()


def test_vertex_behind_another_surface_is_not_visible():
    occluder = square(2, 2, 10, 1.0, RED)
    # a small triangle behind the occluder, and one beside it
    hidden = (np.array([[5.0, 5.0, 4.0], [8.0, 5.0, 4.0], [5.0, 8.0, 4.0]]), np.array([[0, 1, 2]]), np.zeros((3, 3)))
    beside = (np.array([[14.0, 3.0, 4.0], [17.0, 3.0, 4.0], [14.0, 6.0, 4.0]]), np.array([[0, 1, 2]]), np.zeros((3, 3)))
    vertices, triangles, _ = merge(occluder, hidden, beside)
    visible = visible_vertices(vertices, triangles, (20, 20), tolerance=0.1)
    np.testing.assert_array_equal(visible, [True] * 4 + [False] * 3 + [True] * 3)


def test_vertices_outside_the_image_are_not_visible():
    vertices = np.array([[-3.0, 2.0, 1.0], [6.0, 2.0, 1.0], [6.0, 12.5, 1.0]])
    visible = visible_vertices(vertices, np.array([[0, 1, 2]]), (10, 10))
    np.testing.assert_array_equal(visible, [False, True, False])


def test_rasterizer_matches_menpo3d_on_a_small_grid():
    import menpo3d.rasterize.cpu as menpo_cpu
    from menpo.shape import ColouredTriMesh
    from menpo3d.rasterize import rasterize_mesh

    # menpo3d 0.8.6's compiled pixel enumerator refers to Python 2's `long`; use its own
    # pure-Python fallback for this comparison.
    original = menpo_cpu.pixels_to_check
    menpo_cpu.pixels_to_check = menpo_cpu._pixels_to_check_python
    try:
        rng = np.random.default_rng(3)
        u, v = np.meshgrid(np.linspace(3.3, 27.1, 7), np.linspace(2.7, 25.9, 6))
        vertices = np.stack([u.ravel(), v.ravel(), rng.random(u.size)], axis=1)
        idx = np.arange(u.size).reshape(u.shape)
        a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
        triangles = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int32)
        colors = rng.random((u.size, 3))
        ours = rasterize(vertices, triangles, colors, (32, 32))
        theirs = rasterize_mesh(ColouredTriMesh(vertices[:, [1, 0, 2]], trilist=triangles, colours=colors), (32, 32))
    finally:
        menpo_cpu.pixels_to_check = original
    both = ours.mask & theirs.mask.mask
    assert both.sum() > 0.98 * ours.mask.sum()
    np.testing.assert_allclose(ours.image[both], theirs.pixels.transpose(1, 2, 0)[both], atol=1e-5)


@pytest.mark.parametrize(
    "vertices, triangles, colors, shape, message",
    [
        (np.zeros((3, 2)), np.array([[0, 1, 2]]), np.zeros((3, 3)), (4, 4), "vertices"),
        (np.zeros((3, 3)), np.array([[0, 1, 3]]), np.zeros((3, 3)), (4, 4), "triangles"),
        (np.zeros((3, 3)), np.array([[0.0, 1.0, 2.0]]), np.zeros((3, 3)), (4, 4), "triangles"),
        (np.zeros((3, 3)), np.array([[0, 1, 2]]), np.zeros((2, 3)), (4, 4), "colors"),
        (np.zeros((3, 3)), np.array([[0, 1, 2]]), np.zeros((3, 3)), (0, 4), "image_shape"),
        (np.full((3, 3), np.nan), np.array([[0, 1, 2]]), np.zeros((3, 3)), (4, 4), "NaN"),
    ],
)
def test_malformed_inputs_raise_value_error_naming_the_argument(vertices, triangles, colors, shape, message):
    with pytest.raises(ValueError, match=message):
        rasterize(vertices, triangles, colors, shape)


def test_rendering_round_trips_through_npz(tmp_path):
    vertices, triangles, colors = right_triangle(z=(1.0, 2.0, 3.0))
    rendering = rasterize(vertices, triangles, colors, (12, 12))
    save_rendering(tmp_path / "r.npz", rendering)
    loaded = load_rendering(tmp_path / "r.npz")
    assert isinstance(loaded, Rendering)
    for field in ("image", "mask", "depth", "triangle_index"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(rendering, field))
    with pytest.raises(ValueError, match="missing.npz"):
        load_rendering(tmp_path / "missing.npz")
