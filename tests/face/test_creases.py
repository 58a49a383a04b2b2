"""Tests for affect.face.creases: the expression wrinkle maps in the template's UV space."""

import numpy as np
import pytest

from affect.face.creases import (
    CREASES,
    DEPTH_SCALE,
    FACTOR_RANGE,
    MAX_ACTIVATION,
    crease_activations,
    crease_curves,
    crease_factor,
)
from affect.face.morphable_model import MorphableModel, load_default
from affect.gallery.affect_mapping import AU_BLENDSHAPES

NAMES = [crease.name for crease in CREASES]
GRID_STEP = 0.08  # cm: finer than the narrowest valley (about 1.7 mm across at half depth)


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def landmarks(model):
    return model.mean[model.landmark_indices, :2]


@pytest.fixture(scope="module")
def iod(landmarks):
    return float(np.linalg.norm(landmarks[45] - landmarks[36]))


@pytest.fixture(scope="module")
def grid(model):
    """UV positions on a regular grid over the template, symmetric about x = 0."""
    half_width = np.abs(model.mean[:, 0]).max()
    xs = np.arange(-half_width, half_width + 1e-9, GRID_STEP)
    ys = np.arange(model.mean[:, 1].min(), model.mean[:, 1].max(), GRID_STEP)
    x, y = np.meshgrid(xs - xs.mean(), ys)
    return np.column_stack([x.ravel(), y.ravel()])


def au_weights(model, action_units, intensity=1.0):
    weights = np.zeros(model.n_expression)
    for au in action_units:
        for name, gain in AU_BLENDSHAPES[au].items():
            weights[model.expression_index(name)] += gain * intensity
    return weights


def one_crease(name, activation=1.0):
    activations = np.zeros(len(CREASES))
    activations[NAMES.index(name)] = activation
    return activations


def test_no_active_crease_means_no_change(model, grid):
    assert crease_factor(model, np.zeros(len(CREASES)), grid) is None
    assert crease_factor(model, crease_activations(model, np.zeros(model.n_expression)), grid) is None
    assert crease_factor(model, -np.ones(len(CREASES)), grid) is None  # clipped to zero


def test_pixels_away_from_every_crease_keep_exactly_one(model, landmarks, grid):
    all_on = np.ones(len(CREASES))
    factor = crease_factor(model, all_on, grid)
    assert factor.dtype == np.float32 and factor.shape == (len(grid),)
    assert (factor == 1.0).mean() > 0.5  # most of the face has no crease
    far = np.array([landmarks[30], landmarks[8] - [0.0, 5.0], [100.0, 100.0], [np.nan, 0.0]])  # nose tip, neck
    np.testing.assert_array_equal(crease_factor(model, all_on, far), np.ones(4, np.float32))


AU_REGIONS = {
    # AU: (where it must darken, where it must change nothing), each a function of uv, landmarks
    # and the inter-ocular distance.
    1: (
        lambda p, lm, iod: (np.abs(p[:, 0]) < lm[22, 0] * 1.5) & (p[:, 1] > lm[19, 1] + 0.3),
        lambda p, lm, iod: p[:, 1] < lm[27, 1],
    ),
    2: (
        lambda p, lm, iod: (np.abs(p[:, 0]) > lm[24, 0]) & (p[:, 1] > lm[24, 1] + 0.3),
        lambda p, lm, iod: p[:, 1] < lm[27, 1],
    ),
    4: (
        lambda p, lm, iod: (np.abs(p[:, 0]) < lm[22, 0]) & (p[:, 1] > lm[39, 1]) & (p[:, 1] < lm[22, 1] + 1.5),
        lambda p, lm, iod: p[:, 1] < lm[30, 1],
    ),
    6: (
        lambda p, lm, iod: (np.abs(p[:, 0]) > lm[45, 0]) & (np.abs(p[:, 1] - lm[45, 1]) < 0.15 * iod),
        lambda p, lm, iod: (p[:, 1] > lm[24, 1]) | (p[:, 1] < lm[33, 1]),
    ),
    9: (
        lambda p, lm, iod: (np.abs(p[:, 0]) < lm[42, 0]) & (p[:, 1] < lm[27, 1] + 0.5) & (p[:, 1] > lm[30, 1]),
        lambda p, lm, iod: (p[:, 1] > lm[22, 1]) | (p[:, 1] < lm[8, 1] + 0.5 * (lm[57, 1] - lm[8, 1])),
    ),
    12: (
        lambda p, lm, iod: (
            (np.abs(p[:, 0]) > lm[35, 0])
            & (np.abs(p[:, 0]) < lm[54, 0] + 0.25 * iod)
            & (p[:, 1] < lm[35, 1] + 0.15 * iod)
            & (p[:, 1] > lm[54, 1] - 0.1 * iod)
        ),
        lambda p, lm, iod: (p[:, 1] > lm[39, 1]) | (p[:, 1] < lm[8, 1] + 0.5 * (lm[57, 1] - lm[8, 1])),
    ),
    15: (
        lambda p, lm, iod: (np.abs(np.abs(p[:, 0]) - lm[54, 0]) < 0.1 * iod) & (p[:, 1] < lm[54, 1]),
        lambda p, lm, iod: p[:, 1] > lm[33, 1],
    ),
    17: (
        lambda p, lm, iod: (np.abs(p[:, 0]) < 0.2 * iod) & (p[:, 1] < lm[57, 1]) & (p[:, 1] > lm[8, 1]),
        lambda p, lm, iod: p[:, 1] > lm[51, 1],
    ),
    20: (
        lambda p, lm, iod: (
            (np.abs(np.abs(p[:, 0]) - lm[54, 0]) < 0.15 * iod) & (np.abs(p[:, 1] - lm[54, 1]) < 0.05 * iod)
        ),
        lambda p, lm, iod: p[:, 1] > lm[33, 1],
    ),
}


@pytest.mark.parametrize("au", sorted(AU_REGIONS))
def test_each_action_unit_creases_its_own_region_only(model, landmarks, iod, grid, au):
    factor = crease_factor(model, crease_activations(model, au_weights(model, [au])), grid)
    expected, untouched = (region(grid, landmarks, iod) for region in AU_REGIONS[au])
    assert factor[expected].min() < 0.95, f"AU{au} leaves its region unshaded"
    assert np.all(factor[untouched] == 1.0), f"AU{au} shades where it should not"


def side_weights(model, suffix):
    return np.array([float(name.endswith(suffix)) for name in model.expression_names])


def test_left_drivers_shade_the_left_side_and_the_midline_only(model, iod, grid):
    # Midline creases (nose root, nose bridge) are driven by either side at half gain.
    left = crease_factor(model, crease_activations(model, side_weights(model, "_L")), grid)
    assert np.all(left[grid[:, 0] < -0.15 * iod] == 1.0)
    assert left[grid[:, 0] > 0.15 * iod].min() < 0.8
    right = crease_factor(model, crease_activations(model, side_weights(model, "_R")), grid)
    assert np.all(right[grid[:, 0] > 0.15 * iod] == 1.0)
    assert right[grid[:, 0] < -0.15 * iod].min() < 0.8


def test_factor_stays_within_its_bounds_at_the_largest_activation(model, grid):
    factor = crease_factor(model, np.full(len(CREASES), 10.0), grid)  # clipped to MAX_ACTIVATION
    assert FACTOR_RANGE[0] >= 0.5 and FACTOR_RANGE[1] <= 1.3
    assert factor.min() >= FACTOR_RANGE[0] and factor.max() <= FACTOR_RANGE[1]
    assert factor.min() < 1 - 0.4 * DEPTH_SCALE and factor.max() > 1.03  # deep valleys and light shoulders


def test_a_fold_is_a_dark_valley_with_a_light_shoulder_on_its_bulging_side(model, iod):
    points = crease_curves(model)["nasolabial_L"]
    middle = points[len(points) // 2]
    tangent = points[len(points) // 2 + 1] - points[len(points) // 2 - 1]
    lateral = np.array([-tangent[1], tangent[0]]) / np.linalg.norm(tangent)  # left of the line: the cheek
    assert lateral[0] > 0
    offsets = np.linspace(-0.16, 0.16, 161) * iod
    factor = crease_factor(model, one_crease("nasolabial_L"), middle + offsets[:, None] * lateral)
    centre = factor[80]
    depth = DEPTH_SCALE * 0.27  # the table's 27 %, scaled; less where its depth ebbs along the line
    assert 1 - depth - 0.03 < centre < 1 - 0.75 * depth
    assert factor.argmin() == 80
    assert factor[81:].max() > 1.02  # the cheek's shoulder
    assert factor[:80].max() == 1.0  # the lip side slopes into the fold without a ridge
    assert np.all(np.diff(factor[:81]) <= 0)  # one smooth valley
    assert factor[0] == 1.0 and factor[-1] == 1.0


def test_float32_uv_as_rasterised_gives_the_float64_factor(model, grid):
    all_on = np.ones(len(CREASES))
    single = crease_factor(model, all_on, grid.astype(np.float32))
    double = crease_factor(model, all_on, grid.astype(np.float32).astype(np.float64))
    np.testing.assert_array_equal(single, double)


def test_creases_fade_out_at_their_ends(model):
    curves = crease_curves(model)
    for name in ("glabella_inner_L", "nasolabial_R", "crows_foot_middle_L", "mentolabial"):
        points = curves[name]
        factor = crease_factor(model, one_crease(name), points)
        assert factor[0] == 1.0 and factor[-1] == 1.0, name
        assert factor[len(points) // 2] < 1 - 0.1 * DEPTH_SCALE / 0.7, name


def test_darkening_grows_with_activation(model):
    middle = crease_curves(model)["glabella_inner_L"][[4]]
    factors = [crease_factor(model, one_crease("glabella_inner_L", a), middle)[0] for a in (0.25, 0.5, 1.0, 1.5)]
    assert np.all(np.diff(factors) < 0)
    np.testing.assert_allclose(1 - factors[1], (1 - factors[2]) / 2, rtol=1e-5)


def test_activations_are_gain_weighted_driver_sums_clipped(model):
    weights = model.expression_vector({"browDown_L": 0.4})
    activations = crease_activations(model, weights)
    assert activations.shape == (len(CREASES),)
    assert activations[NAMES.index("glabella_inner_L")] == pytest.approx(0.4)
    assert activations[NAMES.index("nose_root")] == pytest.approx(0.2)  # half gain from each side
    assert activations[NAMES.index("glabella_inner_R")] == 0.0
    amplified = crease_activations(model, np.full(model.n_expression, 3.0))
    assert amplified.max() == MAX_ACTIVATION and amplified.min() > 0
    assert crease_activations(model, np.full(model.n_expression, -1.0)).max() == 0.0


def test_a_model_without_the_drivers_gets_no_creases(model, grid):
    other = MorphableModel(
        mean=model.mean,
        identity_basis=model.identity_basis[:1],
        identity_variance=model.identity_variance[:1],
        expression_basis=model.expression_basis[:2],
        expression_names=("smileLeft", "frownLeft"),
        landmark_indices=model.landmark_indices,
        triangles=model.triangles,
        mirror_indices=model.mirror_indices,
    )
    activations = crease_activations(other, np.ones(2))
    np.testing.assert_array_equal(activations, np.zeros(len(CREASES)))
    assert crease_factor(other, activations, grid) is None


def test_bad_inputs_are_rejected_with_the_argument_named(model):
    with pytest.raises(ValueError, match="weights"):
        crease_activations(model, np.ones(3))
    with pytest.raises(ValueError, match="weights"):
        crease_activations(model, np.full(model.n_expression, np.nan))
    with pytest.raises(ValueError, match="activations"):
        crease_factor(model, np.ones(3), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="uv"):
        crease_factor(model, np.ones(len(CREASES)), np.zeros((4, 3)))
