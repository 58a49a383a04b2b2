import numpy as np
import pytest

from affect.gallery.sparse_blendshapes import SparseComponents, fit_sparse_components

_SIDE = 20
_CENTRES = np.array([[0.2, 0.2], [0.8, 0.25], [0.25, 0.8], [0.75, 0.75]])
_RADIUS = 0.25  # planted bumps are exactly zero beyond this distance from their centre


def _grid_mesh():
    """A flat 20 x 20 vertex grid on the unit square and its triangles."""
    g = np.linspace(0, 1, _SIDE)
    xx, yy = np.meshgrid(g, g)
    vertices = np.stack([xx.ravel(), yy.ravel(), np.zeros(_SIDE**2)], axis=1)
    i, j = np.meshgrid(np.arange(_SIDE - 1), np.arange(_SIDE - 1))
    corner = (j * _SIDE + i).ravel()
    triangles = np.concatenate(
        [
            np.stack([corner, corner + 1, corner + _SIDE], 1),
            np.stack([corner + 1, corner + _SIDE + 1, corner + _SIDE], 1),
        ]
    )
    return vertices, triangles


def _planted(seed=0, m=150, noise=0.01):
    """Four localized bumps moving in different 3-D directions with signed weights."""
    vertices, triangles = _grid_mesh()
    directions = np.array([[0, 0, 1], [1, 0, 0.5], [0, 1, 0], [0.6, -0.6, 0.5]], float)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    distance = np.linalg.norm(vertices[None, :, :2] - _CENTRES[:, None], axis=2)
    profile = np.exp(-((distance / 0.08) ** 2)) * (distance < _RADIUS)
    components = profile[:, :, None] * directions[:, None, :]
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-1, 1, (m, 4))
    clean = np.tensordot(weights, components, axes=(1, 0))
    noisy = clean + noise * rng.standard_normal(clean.shape)
    return vertices, triangles, components, distance, clean, noisy


@pytest.mark.parametrize("use_triangles", [False, True])
def test_planted_localized_components_are_recovered(use_triangles):
    vertices, triangles, planted, distance, clean, noisy = _planted()
    model = fit_sparse_components(
        noisy,
        4,
        vertices=vertices,
        triangles=triangles if use_triangles else None,
        d_min=0.1,
        d_max=0.3,
        n_iterations=15,
    )
    got = model.components.reshape(4, -1)
    corr = np.corrcoef(np.vstack([planted.reshape(4, -1), got]))[:4, 4:]
    match = np.argmax(np.abs(corr), axis=1)
    assert sorted(match) == [0, 1, 2, 3]
    assert np.all(np.abs(corr[np.arange(4), match]) > 0.95)
    for k, j in enumerate(match):
        energy = (model.components[j] ** 2).sum(axis=1)
        assert energy[distance[k] < _RADIUS].sum() > 0.95 * energy.sum()
    error = np.linalg.norm(model.reconstruct(model.weights) - clean) / np.linalg.norm(clean)
    assert error < 0.05


def test_group_sparsity_switches_components_off_far_from_their_centre():
    vertices, _, _, _, _, noisy = _planted(seed=5)
    model = fit_sparse_components(noisy, 4, vertices=vertices, sparsity=10.0, d_min=0.1, d_max=0.3, n_iterations=15)
    energy = (model.components**2).sum(axis=2)
    far = np.linalg.norm(vertices[None] - vertices[model.centres][:, None], axis=2) > 0.5
    assert np.all(energy[far] == 0.0)
    assert np.all(energy[np.arange(4), model.centres] > 0.0)


def test_weights_satisfy_the_bidirectional_constraint():
    vertices, _, _, _, _, noisy = _planted(seed=1, m=80)
    model = fit_sparse_components(noisy, 4, vertices=vertices, d_min=0.1, d_max=0.3, n_iterations=5)
    np.testing.assert_allclose(np.abs(model.weights).max(axis=0), 1.0)
    assert (model.weights < -0.5).any(axis=0).all()  # negative weights are kept


def test_centred_model_varies_around_the_mean_and_samples_reproducibly():
    vertices, _, _, _, _, noisy = _planted(seed=2, m=60)
    shifted = noisy + 0.3
    model = fit_sparse_components(shifted, 4, vertices=vertices, d_min=0.1, d_max=0.3, n_iterations=5, center=True)
    np.testing.assert_allclose(model.mean, shifted.mean(axis=0))
    np.testing.assert_allclose(model.reconstruct(np.zeros(4)), model.mean)
    first = model.sample(7, rng=3)
    assert first.shape == (7, _SIDE**2, 3)
    np.testing.assert_array_equal(first, model.sample(7, rng=3))
    assert not np.allclose(first, model.sample(7, rng=4))
    # Each drawn weight is one of the training weights of its component.
    drawn = np.linalg.lstsq(model.components.reshape(4, -1).T, (first - model.mean).reshape(7, -1).T, rcond=None)[0].T
    for k in range(4):
        assert np.min(np.abs(drawn[:, k, None] - model.weights[None, :, k]), axis=1).max() < 1e-6


def test_save_and_load_round_trip(tmp_path):
    vertices, _, _, _, _, noisy = _planted(seed=3, m=30)
    model = fit_sparse_components(noisy, 3, vertices=vertices, n_iterations=2)
    model.save(tmp_path / "model.npz")
    loaded = SparseComponents.load(tmp_path / "model.npz")
    for name in ("components", "weights", "centres", "mean", "energy"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))


def test_load_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "x.npz", weights=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="x.npz"):
        SparseComponents.load(tmp_path / "x.npz")


def test_reconstruct_rejects_wrong_number_of_weights():
    vertices, _, _, _, _, noisy = _planted(seed=4, m=20)
    model = fit_sparse_components(noisy, 2, vertices=vertices, n_iterations=1)
    with pytest.raises(ValueError, match="weights"):
        model.reconstruct(np.zeros(3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"deformations": np.zeros((4, 10, 2))}, "deformations"),
        ({"vertices": np.zeros((9, 3))}, "vertices"),
        ({"n_components": 0}, "n_components"),
        ({"d_min": 0.5, "d_max": 0.2}, "d_min"),
        ({"sparsity": -1.0}, "sparsity"),
        ({"triangles": np.array([[0, 1, 99]])}, "triangles"),
    ],
)
def test_fit_rejects_bad_inputs(kwargs, match):
    arguments = {
        "deformations": np.random.default_rng(0).standard_normal((4, 10, 3)),
        "n_components": 2,
        "vertices": np.random.default_rng(1).standard_normal((10, 3)),
    }
    arguments.update(kwargs)
    deformations = arguments.pop("deformations")
    n_components = arguments.pop("n_components")
    with pytest.raises(ValueError, match=match):
        fit_sparse_components(deformations, n_components, **arguments)
