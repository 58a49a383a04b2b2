import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from affect.gallery.va_classes import VAClasses, class_means, fit_va_classes, weighted_ward_linkage


def _skewed_va(n, seed):
    """VA samples with most mass at positive valence, like the gallery's Fig. 3."""
    rng = np.random.default_rng(seed)
    component = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    means = np.array([[0.4, 0.2], [0.1, -0.1], [-0.4, 0.3]])
    return np.clip(means[component] + 0.2 * rng.standard_normal((n, 2)), -1, 1)


def _within_class_sse(va, labels):
    total = 0.0
    for label in np.unique(labels):
        members = va[labels == label]
        total += ((members - members.mean(axis=0)) ** 2).sum()
    return total


def test_weighted_ward_linkage_with_unit_weights_equals_scipy_ward():
    points = np.random.default_rng(0).uniform(-1, 1, (300, 2))
    expected = linkage(points, method="ward")
    got = weighted_ward_linkage(points)
    np.testing.assert_array_equal(got[:, [0, 1, 3]], expected[:, [0, 1, 3]])
    np.testing.assert_allclose(got[:, 2], expected[:, 2], rtol=1e-10)


@pytest.mark.parametrize("n_classes", [3, 40, 150])
def test_fit_without_grid_gives_the_exact_ward_partition(n_classes):
    va = np.random.default_rng(1).uniform(-1, 1, (400, 2))
    exact = fcluster(linkage(va, method="ward"), n_classes, criterion="maxclust")
    classes = fit_va_classes(va, n_classes, grid_step=None)
    assert classes.n_classes == n_classes
    assert adjusted_rand_score(exact, classes.labels) == 1.0


def test_weighted_points_cluster_like_their_expanded_duplicates_in_sklearn_ward():
    rng = np.random.default_rng(2)
    distinct = rng.uniform(-1, 1, (150, 2))
    va = np.repeat(distinct, rng.integers(1, 6, len(distinct)), axis=0)
    expected = AgglomerativeClustering(n_clusters=25, linkage="ward").fit_predict(va)
    classes = fit_va_classes(va, 25, grid_step=None)
    assert adjusted_rand_score(expected, classes.labels) == 1.0


def test_grid_grouping_keeps_ward_objective_close_to_exact_ward():
    va = _skewed_va(3000, seed=3)
    exact = fcluster(linkage(va, method="ward"), 60, criterion="maxclust")
    grouped = fit_va_classes(va, 60, grid_step=1 / 100).labels
    ratio = _within_class_sse(va, grouped) / _within_class_sse(va, exact)
    assert 0.97 < ratio < 1.03


def test_samples_in_one_grid_cell_share_a_class():
    va = _skewed_va(2000, seed=4)
    classes = fit_va_classes(va, 30, grid_step=1 / 20)
    cells = np.rint(va * 20).astype(int)
    for cell in np.unique(cells, axis=0)[:50]:
        in_cell = (cells == cell).all(axis=1)
        assert len(np.unique(classes.labels[in_cell])) == 1


def test_first_stage_coarsens_grid_until_cells_fit_the_exact_limit():
    va = _skewed_va(5000, seed=5)
    classes = fit_va_classes(va, 20, grid_step=1 / 200, max_exact_points=500)
    assert len(classes.cell_points) <= 500
    assert classes.grid_step in {1 / 200 * 2**k for k in range(1, 8)}


def test_counts_centroids_and_numbering_describe_the_labels():
    va = _skewed_va(1500, seed=6)
    classes = fit_va_classes(va, 25)
    np.testing.assert_array_equal(classes.counts, np.bincount(classes.labels, minlength=25))
    for k in (0, 12, 24):
        np.testing.assert_allclose(classes.centroids[k], va[classes.labels == k].mean(axis=0))
    order = np.lexsort((classes.centroids[:, 1], classes.centroids[:, 0]))
    np.testing.assert_array_equal(order, np.arange(25))


def test_lookup_returns_the_training_label_of_every_gallery_sample():
    va = _skewed_va(2000, seed=7)
    classes = fit_va_classes(va, 40)
    np.testing.assert_array_equal(classes.lookup(va[:, 0], va[:, 1]), classes.labels)


def test_lookup_of_empty_region_uses_nearest_occupied_cell_and_scalar_gives_int():
    va = np.array([[0.5, 0.5], [0.52, 0.5], [-0.5, -0.5], [-0.52, -0.5]])
    classes = fit_va_classes(va, 2)
    near_positive = classes.lookup(0.9, 0.9)
    assert isinstance(near_positive, int)
    assert near_positive == classes.labels[0]
    assert classes.lookup(-0.9, -0.8) == classes.labels[2]
    assert classes.lookup(np.array([[0.9], [-0.9]]), -0.1).shape == (2, 1)


def test_lookup_outside_the_va_square_names_the_value():
    classes = fit_va_classes(_skewed_va(200, seed=8), 5)
    with pytest.raises(ValueError, match="arousal.*1.5"):
        classes.lookup(0.0, 1.5)
    with pytest.raises(ValueError, match="valence"):
        classes.lookup(np.array([0.0, np.nan]), 0.0)


def test_save_and_load_round_trip(tmp_path):
    va = _skewed_va(500, seed=9)
    classes = fit_va_classes(va, 12)
    classes.save(tmp_path / "va_classes.npz")
    loaded = VAClasses.load(tmp_path / "va_classes.npz")
    for name in ("centroids", "counts", "labels", "cell_points", "cell_index", "cell_labels"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(classes, name))
    assert loaded.grid_step == classes.grid_step
    np.testing.assert_array_equal(loaded.lookup(va[:, 0], va[:, 1]), classes.labels)


def test_load_rejects_a_file_that_is_not_va_classes(tmp_path):
    np.savez(tmp_path / "other.npz", centroids=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="other.npz"):
        VAClasses.load(tmp_path / "other.npz")


@pytest.mark.parametrize(
    ("va", "n_classes", "match"),
    [
        (np.zeros((5, 3)), 2, "va"),
        (np.array([[0.0, 0.0], [1.2, 0.0]]), 1, "valence.*1.2"),
        (np.random.default_rng(0).uniform(-1, 1, (10, 2)), 0, "n_classes"),
        (np.array([[0.1, 0.1], [0.1, 0.1], [0.2, 0.2]]), 3, "n_classes"),
    ],
)
def test_fit_rejects_bad_inputs(va, n_classes, match):
    with pytest.raises(ValueError, match=match):
        fit_va_classes(va, n_classes)


def test_class_means_from_array_and_from_blocks_match_per_class_averages():
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 4, 50)
    labels[labels == 2] = 1  # class 2 left empty
    values = rng.standard_normal((50, 6, 3)).astype(np.float32)
    expected = np.stack([values[labels == k].mean(axis=0) for k in (0, 1, 3)])
    from_array = class_means(labels, values, 4)
    from_blocks = class_means(labels, (values[i : i + 7] for i in range(0, 50, 7)), 4)
    for means in (from_array, from_blocks):
        assert means.shape == (4, 6, 3)
        np.testing.assert_allclose(means[[0, 1, 3]], expected, rtol=1e-5)
        assert np.isnan(means[2]).all()


def test_class_means_rejects_row_count_mismatch():
    with pytest.raises(ValueError, match="values"):
        class_means(np.zeros(5, int), (np.ones((2, 3)) for _ in range(2)), 1)
    with pytest.raises(ValueError, match="labels"):
        class_means(np.array([0, 3]), np.ones((2, 3)), 2)


@pytest.mark.slow
def test_paper_scale_gallery_of_600k_samples_is_clustered_into_550_classes():
    va = _skewed_va(600_000, seed=11)
    # The exact-point limit forces the coarsening first stage, keeping this under ~20 s.
    classes = fit_va_classes(va, 550, max_exact_points=30_000)
    assert classes.centroids.shape == (550, 2)
    assert classes.counts.sum() == 600_000
    assert len(classes.cell_points) <= 30_000
    assert (classes.centroids[:, 0] > 0).mean() > 0.5  # most classes at positive valence
    np.testing.assert_array_equal(classes.lookup(va[:5000, 0], va[:5000, 1]), classes.labels[:5000])
