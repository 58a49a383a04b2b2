"""Tests for affect.face.morphable_model: the default ICT-FaceKit morphable model, LSFM loading, save/load."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import affect  # noqa: F401  (numpy/scipy shims before menpo3d)
from affect.face.morphable_model import (
    MorphableModel,
    load_default,
    load_lsfm,
    load_model,
    mirror_vertex_map,
    save_model,
)

ASSET = Path(affect.__file__).parent / "assets" / "ict_face_model.npz"
CONVERTER = Path(__file__).resolve().parents[2] / "scripts" / "convert_ict_facekit.py"

# iBUG-68 (0-based) positions used below.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER, NOSE_TIP, CHIN = 36, 45, 30, 8


@pytest.fixture(scope="module")
def model():
    return load_default()


def tiny_model(**overrides):
    """A five-vertex pyramid, symmetric about x = 0, with one identity and one expression."""
    mean = np.array([[-1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]])
    fields = dict(
        mean=mean,
        identity_basis=np.arange(15, dtype=float).reshape(1, 5, 3) / 10,
        identity_variance=np.array([4.0]),
        expression_basis=np.zeros((1, 5, 3)) + [0, -1, 0],
        expression_names=("jawOpen",),
        landmark_indices=np.array([4, 3]),
        triangles=np.array([[0, 3, 4], [3, 1, 4], [1, 2, 4], [2, 0, 4]]),
        mirror_indices=np.array([1, 0, 2, 3, 4]),
        name="tiny",
    )
    fields.update(overrides)
    return MorphableModel(**fields)


# --- the packaged default model ---------------------------------------------------------


def test_default_model_has_ict_sizes_and_dtypes(model):
    assert model.mean.shape == (9409, 3) and model.mean.dtype == np.float64
    assert model.identity_basis.shape == (100, 9409, 3)
    assert model.expression_basis.shape == (53, 9409, 3)
    assert np.array_equal(model.identity_variance, np.ones(100))
    assert model.triangles.shape == (18460, 3) and model.triangles.dtype == np.int32
    assert model.landmark_indices.shape == (68,)
    assert model.mirror_indices.shape == (9409,)
    assert (model.n_vertices, model.n_identity, model.n_expression) == (9409, 100, 53)
    assert len(model.expression_names) == 53 and "jawOpen" in model.expression_names
    assert np.unique(model.triangles).size == 9409  # every vertex is used by a triangle


def test_default_asset_is_small_and_records_its_source_and_licence(model):
    assert ASSET.stat().st_size < 25e6
    assert "ICT-FaceKit" in model.source and "MIT" in model.source
    assert "commit da5f95a" in model.source
    assert (ASSET.parent / "ICT-FaceKit-LICENSE.txt").is_file()


def test_default_model_is_cached_and_read_only(model):
    assert load_default() is model
    with pytest.raises(ValueError):
        model.mean[0, 0] = 1.0


def test_mean_face_has_plausible_size_in_centimetres(model):
    extent = np.ptp(model.mean, axis=0)
    assert 15 < extent[0] < 22  # ear to ear across the face area
    assert 20 < extent[1] < 32  # forehead to under the chin
    landmarks = model.landmarks(model.mean)
    eye_span = np.linalg.norm(landmarks[LEFT_EYE_OUTER] - landmarks[RIGHT_EYE_OUTER])
    assert 7 < eye_span < 11  # outer eye corners of adults are about 9 cm apart


def test_landmarks_lie_in_ibug_arrangement(model):
    lm = model.landmarks(model.mean)
    # x runs from the subject's right to their left: right eye corner at negative x.
    assert lm[RIGHT_EYE_OUTER, 0] < -3 and lm[LEFT_EYE_OUTER, 0] > 3
    assert np.argmax(lm[:, 2]) == NOSE_TIP  # the nose tip is the most frontal landmark
    assert np.argmin(lm[:, 1]) == CHIN  # the chin is the lowest
    eyes, nose, mouth = lm[36:48, 1].mean(), lm[27:36, 1].mean(), lm[48:68, 1].mean()
    assert lm[17:27, 1].min() > eyes > nose > mouth > lm[CHIN, 1]
    assert np.all(lm[0:8, 0] < 0) and np.all(lm[9:17, 0] > 0)  # jaw contour, right then left


def test_triangles_face_outwards(model):
    v = model.mean[model.triangles]
    normals = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    nose_tip = model.mean[model.landmark_indices[NOSE_TIP]]
    nose_region = np.linalg.norm(v.mean(axis=1) - nose_tip, axis=1) < 2
    assert normals[nose_region, 2].sum() > 0
    assert normals[:, 2].sum() > 0


def test_unit_identity_coefficients_give_plausible_faces(model):
    samples = model.sample_identity(n=5, seed=3)
    shapes = model.shape(identity=samples)
    assert shapes.shape == (5, 9409, 3)
    rms = np.sqrt(((shapes - model.mean) ** 2).sum(-1).mean(-1))
    assert np.all((rms > 0.1) & (rms < 2.0))  # mm-to-cm changes, not noise or a blow-up
    for shape in shapes:
        assert 14 < np.ptp(shape[:, 0]) < 24
    norms = np.linalg.norm(model.identity_basis.reshape(100, -1), axis=1)
    assert norms[0] > 2 * norms[-1]  # PCA order: the first component varies most


def test_sample_identity_is_deterministic_for_a_seed(model):
    assert np.array_equal(model.sample_identity(seed=1), model.sample_identity(seed=1))
    assert not np.array_equal(model.sample_identity(seed=1), model.sample_identity(seed=2))


def test_jaw_open_moves_the_chin_down_and_keeps_the_brows(model):
    open_jaw = model.shape(expression=model.expression_vector({"jawOpen": 1.0}))
    moved = model.landmarks(open_jaw) - model.landmarks(model.mean)
    assert moved[CHIN, 1] < -1.5  # at least 1.5 cm down
    assert np.abs(moved[17:27]).max() < 0.1  # eyebrows stay


def test_left_and_right_blendshapes_mirror_each_other(model):
    left = model.expression_basis[model.expression_index("mouthSmile_L")]
    right = model.expression_basis[model.expression_index("mouthSmile_R")]
    mirrored = left[model.mirror_indices] * [-1, 1, 1]
    assert np.abs(mirrored - right).max() < 0.05
    assert np.abs(left).max() > 0.5  # not trivially zero


def test_mirror_map_is_an_involution_that_reflects_x(model):
    mirror = model.mirror_indices
    assert np.array_equal(mirror[mirror], np.arange(model.n_vertices))
    assert np.abs(model.mean[mirror] - model.mean * [-1, 1, 1]).max() < 0.01
    lm = model.landmark_indices
    assert mirror[lm[RIGHT_EYE_OUTER]] == lm[LEFT_EYE_OUTER]
    assert mirror[lm[NOSE_TIP]] == lm[NOSE_TIP]
    assert np.sum(mirror == np.arange(model.n_vertices)) < 200  # only the midline is fixed


def test_hole_triangles_close_eyes_and_mouth_leaving_only_the_outer_rim(model):
    def boundary_vertices(triangles):
        edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
        edges = np.sort(edges, axis=1)
        unique, counts = np.unique(edges, axis=0, return_counts=True)
        return np.unique(unique[counts == 1])

    before = boundary_vertices(model.triangles)
    after = boundary_vertices(np.concatenate([model.triangles, model.hole_triangles]))
    assert len(after) < len(before)
    # the outer rim lies far from the eyes; every eye-corner landmark is no longer on a border
    assert not np.isin(model.landmark_indices[[36, 39, 42, 45, 60, 64]], after).any()


# --- shape() and landmarks() on a tiny model ----------------------------------------------


def test_shape_is_mean_plus_weighted_bases():
    m = tiny_model()
    expected = m.mean + 2.0 * m.identity_basis[0] + 0.5 * m.expression_basis[0]
    np.testing.assert_allclose(m.shape([2.0], [0.5]), expected, atol=1e-6)
    np.testing.assert_array_equal(m.shape(), m.mean)


def test_shape_batches_match_single_calls():
    m = tiny_model()
    ids = np.array([[1.0], [-2.0], [0.5]])
    batch = m.shape(identity=ids, expression=[0.3])
    assert batch.shape == (3, 5, 3)
    for row, shape in zip(ids, batch):
        np.testing.assert_allclose(shape, m.shape(row, [0.3]), atol=1e-6)
    assert m.landmarks(batch).shape == (3, 2, 3)
    np.testing.assert_array_equal(m.landmarks(batch)[1], batch[1, [4, 3]])


def test_shape_uses_leading_components_for_short_coefficient_vectors(model):
    short = model.shape(identity=[1.0, -1.0])
    padded = model.shape(identity=np.r_[1.0, -1.0, np.zeros(98)])
    np.testing.assert_allclose(short, padded, atol=1e-5)


def test_shape_accepts_empty_coefficients_of_a_shape_only_model():
    m = tiny_model(expression_basis=np.zeros((0, 5, 3)), expression_names=())
    np.testing.assert_allclose(m.shape([1.0], np.zeros(0)), m.mean + m.identity_basis[0])


def test_shape_rejects_too_many_coefficients():
    with pytest.raises(ValueError, match="identity"):
        tiny_model().shape(identity=[1.0, 2.0])
    with pytest.raises(ValueError, match="expression"):
        tiny_model().shape(expression=np.ones((2, 2, 1)))


def test_landmarks_rejects_a_shape_of_another_model():
    with pytest.raises(ValueError, match="shape"):
        tiny_model().landmarks(np.zeros((6, 3)))


def test_expression_index_names_unknown_blendshapes():
    m = tiny_model()
    assert m.expression_index("jawOpen") == 0
    np.testing.assert_array_equal(m.expression_vector({"jawOpen": 0.7}), [0.7])
    with pytest.raises(ValueError, match="smile"):
        m.expression_index("smile")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(mean=np.zeros((5, 2))), "mean"),
        (dict(identity_variance=np.array([-1.0])), "identity_variance"),
        (dict(identity_basis=np.zeros((1, 4, 3))), "identity_basis"),
        (dict(expression_names=("a", "b")), "expression_names"),
        (dict(landmark_indices=np.array([0, 5])), "landmark_indices"),
        (dict(triangles=np.array([[0, 1]])), "triangles"),
        (dict(mirror_indices=np.array([1, 2, 0, 3, 4])), "mirror_indices"),
    ],
)
def test_model_construction_names_the_invalid_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(**overrides)


def test_mirror_vertex_map_pairs_only_mutual_neighbours():
    points = np.array([[-1.0, 0, 0], [1, 0, 0], [0, 2, 0], [3, 3, 0], [-3.5, 3, 0]])
    mirror = mirror_vertex_map(points, tolerance=0.6)
    np.testing.assert_array_equal(mirror, [1, 0, 2, 4, 3])
    np.testing.assert_array_equal(mirror_vertex_map(points, tolerance=0.1), [1, 0, 2, 3, 4])


# --- saving and loading ------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    m = tiny_model(hole_triangles=np.array([[0, 1, 2]]), source="test fixture")
    path = save_model(m, tmp_path / "tiny")
    assert path.suffix == ".npz"
    loaded = load_model(path)
    for name in (
        "mean",
        "identity_basis",
        "identity_variance",
        "expression_basis",
        "landmark_indices",
        "triangles",
        "mirror_indices",
        "hole_triangles",
    ):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(m, name), err_msg=name)
    assert loaded.expression_names == m.expression_names
    assert (loaded.name, loaded.source) == ("tiny", "test fixture")


def test_compact_save_keeps_displacements_to_a_tenth_of_a_millimetre(tmp_path):
    m = tiny_model(identity_basis=np.random.default_rng(0).uniform(-3, 3, (1, 5, 3)))
    loaded = load_model(save_model(m, tmp_path / "tiny.npz", compact=True))
    np.testing.assert_allclose(loaded.identity_basis, m.identity_basis, atol=0.002)


def test_load_model_names_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(ValueError, match="nothing.npz"):
        load_model(tmp_path / "nothing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        load_model(tmp_path / "other.npz")


# --- LSFM ---------------------------------------------------------------------------------


def write_lsfm(path, n_vertices=70, n_components=3, landmarks=True):
    """Write a .mat in LSFM's key layout: flat mean, (3N, K) components, eigenvalues."""
    rng = np.random.default_rng(0)
    x = np.linspace(0.5, 5, n_vertices // 2)  # one side only: no duplicate midline points
    half = np.stack([x, np.sin(x), np.cos(x)], axis=1)
    mean = np.concatenate([half * [-1, 1, 1], half])  # symmetric about x = 0
    components, _ = np.linalg.qr(rng.standard_normal((3 * n_vertices, n_components)))
    content = {
        "mean": mean.reshape(-1),
        "trilist": np.array([[i, i + 1, i + 2] for i in range(n_vertices - 2)]),
        "components": components,
        "eigenvalues": np.array([9.0, 4.0, 1.0])[:n_components],
        "n_training_samples": 100,
    }
    if landmarks:
        content["landmarks"] = np.arange(68)
    scipy.io.savemat(path, content)
    return mean, components


def test_load_lsfm_builds_a_shape_only_model(tmp_path):
    mean, components = write_lsfm(tmp_path / "lsfm.mat")
    m = load_lsfm(tmp_path / "lsfm.mat")
    np.testing.assert_allclose(m.mean, mean)
    np.testing.assert_allclose(m.identity_variance, [9.0, 4.0, 1.0])
    np.testing.assert_allclose(m.identity_basis[1].reshape(-1), components[:, 1], atol=1e-6)
    np.testing.assert_allclose(m.shape([0, 2.0, 0]), mean + 2.0 * m.identity_basis[1], atol=1e-5)
    assert m.n_expression == 0 and m.expression_names == ()
    np.testing.assert_array_equal(m.landmark_indices, np.arange(68))
    assert m.triangles.shape == (68, 3)
    np.testing.assert_array_equal(m.mirror_indices[:35], np.arange(35, 70))


def test_load_lsfm_scales_millimetres_to_centimetres(tmp_path):
    mean, _ = write_lsfm(tmp_path / "lsfm.mat")
    m = load_lsfm(tmp_path / "lsfm.mat", scale=0.1)
    np.testing.assert_allclose(m.mean, mean * 0.1)
    np.testing.assert_allclose(m.identity_variance, [0.09, 0.04, 0.01])


def test_load_lsfm_needs_landmarks_from_the_file_or_the_caller(tmp_path):
    write_lsfm(tmp_path / "lsfm.mat", landmarks=False)
    with pytest.raises(ValueError, match="landmark"):
        load_lsfm(tmp_path / "lsfm.mat")
    m = load_lsfm(tmp_path / "lsfm.mat", landmark_indices=np.arange(68)[::-1])
    assert m.landmark_indices[0] == 67
    with pytest.raises(ValueError, match="landmark_indices"):
        load_lsfm(tmp_path / "lsfm.mat", landmark_indices=np.arange(10))


# --- the converter's mesh helpers ----------------------------------------------------------


@pytest.fixture(scope="module")
def converter():
    spec = importlib.util.spec_from_file_location("convert_ict_facekit", CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grid_quads_with_hole():
    """A 4x4-vertex grid of 3x3 quads (counter-clockwise) without its centre quad."""
    quads = []
    for row in range(3):
        for col in range(3):
            if (row, col) != (1, 1):
                v = row * 4 + col
                quads.append([v, v + 1, v + 5, v + 4])
    return quads


def test_converter_splits_quads_and_reindexes_kept_vertices(converter):
    polygons = [[0, 1, 5, 4], [10, 11, 15, 14]]
    triangles, kept = converter.crop_and_triangulate(polygons, n_polygons=1, n_vertices=16)
    np.testing.assert_array_equal(kept, [0, 1, 4, 5])
    np.testing.assert_array_equal(triangles, [[0, 1, 3], [0, 3, 2]])


def test_converter_finds_the_hole_and_closes_it_with_matching_winding(converter):
    triangles, _ = converter.crop_and_triangulate(grid_quads_with_hole(), 8, 16)
    loops = converter.hole_loops(triangles)
    assert [len(loop) for loop in loops] == [12, 4]
    assert set(loops[1].tolist()) == {5, 6, 9, 10}
    closed = np.concatenate([triangles, converter.fan_triangles(loops[1])])
    directed = np.concatenate([closed[:, [0, 1]], closed[:, [1, 2]], closed[:, [2, 0]]])
    assert len(np.unique(directed, axis=0)) == len(directed)  # consistent orientation
    assert len(converter.hole_loops(closed)) == 1
