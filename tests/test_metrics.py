"""Tests for affect.metrics: Eq. 6 to 11 against hand-computed cases and reference libraries."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import pearsonr
from sklearn import metrics as skm

from affect import metrics

# torchmetrics' documented ConcordanceCorrCoef example; it reports 0.9777 with N - 1 moments.
TM_TARGET = [3.0, -0.5, 2.0, 7.0]
TM_PREDS = [2.5, 0.0, 2.0, 8.0]

FAST = settings(max_examples=100, deadline=None)
_value = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False, width=64)


@st.composite
def _pairs(draw, min_size=2, max_size=20):
    n = draw(st.integers(min_size, max_size))
    x = draw(arrays(np.float64, n, elements=_value))
    y = draw(arrays(np.float64, n, elements=_value))
    return x, y


def _randn_pair(seed, n=50):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 0.6 * x + rng.normal(scale=0.5, size=n) + 0.3


# --------------------------------------------------------------------------- CCC


def test_ccc_matches_hand_computed_population_value_on_torchmetrics_example():
    # mean_x = 2.875, mean_y = 3.125; population var_x = 7.296875, var_y = 8.796875,
    # cov = 7.890625 -> 2 * 7.890625 / (7.296875 + 8.796875 + 0.0625) = 15.78125 / 16.15625
    assert metrics.ccc(TM_TARGET, TM_PREDS) == pytest.approx(15.78125 / 16.15625, abs=1e-12)
    assert round(metrics.ccc(TM_TARGET, TM_PREDS), 4) == 0.9768  # torchmetrics (N - 1): 0.9777


def test_ccc_differs_from_torchmetrics_only_by_the_n_minus_1_correction():
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.regression")
    x, y = _randn_pair(seed=0, n=7)
    n = x.size
    reference = float(tm.concordance_corrcoef(torch.tensor(y), torch.tensor(x)))
    # With N - 1 moments, CCC = 2c / (a + b + d^2 (N - 1)/N) in population moments a, b, c:
    # the same as population CCC after shrinking the mean gap d by sqrt((N - 1)/N).
    gap = x.mean() - y.mean()
    shifted = y + gap * (1.0 - np.sqrt((n - 1) / n))
    assert metrics.ccc(x, shifted) == pytest.approx(reference, abs=1e-10)
    assert metrics.ccc(x, y) < reference  # population CCC is the smaller on this sample


def test_ccc_equals_torchmetrics_when_the_means_coincide():
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.regression")
    x, y = _randn_pair(seed=1, n=9)
    y = y - y.mean() + x.mean()  # the N vs N - 1 factor cancels when the mean gap is zero
    reference = float(tm.concordance_corrcoef(torch.tensor(y), torch.tensor(x)))
    assert metrics.ccc(x, y) == pytest.approx(reference, abs=1e-10)


def test_ccc_of_perfectly_anticorrelated_centred_values_is_minus_one():
    assert metrics.ccc([-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]) == pytest.approx(-1.0)


def test_ccc_is_zero_when_one_input_is_constant():
    assert metrics.ccc([0.2, 0.2, 0.2], [0.1, 0.5, -0.3]) == 0.0
    assert metrics.ccc([0.1, 0.5, -0.3], [0.2, 0.2, 0.2]) == 0.0


def test_ccc_is_zero_for_two_different_constants():
    assert metrics.ccc([0.1, 0.1], [0.4, 0.4]) == 0.0


def test_ccc_is_one_for_two_equal_constants():
    assert metrics.ccc([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 1.0
    assert metrics.ccc([0.7], [0.7]) == 1.0


# --------------------------------------------------------------------------- P-CC


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pcc_matches_scipy_pearsonr(seed):
    x, y = _randn_pair(seed)
    assert metrics.pcc(x, y) == pytest.approx(pearsonr(x, y).statistic, abs=1e-12)


def test_pcc_of_a_constant_input_is_zero_not_nan():
    assert metrics.pcc([0.3, 0.3, 0.3], [0.1, 0.5, -0.2]) == 0.0
    assert metrics.pcc([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 0.0


def test_pcc_treats_float_constants_with_mean_rounding_as_exactly_constant():
    # mean([0.1] * 3) != 0.1 in floating point; the residue must not produce +-1.
    assert metrics.pcc([0.1, 0.1, 0.1], [0.3, -0.2, 0.9]) == 0.0


# --------------------------------------------------------------------------- SAGR, MSE


def test_sagr_counts_sign_agreement_fraction():
    assert metrics.sagr([0.5, -0.2, 0.3, -0.4], [0.1, -0.9, -0.3, 0.2]) == 0.5


def test_sagr_lets_a_zero_agree_with_either_sign_per_eq_10():
    assert metrics.sagr([0.0, 0.0], [0.3, -0.2]) == 1.0
    assert metrics.sagr([0.4, -0.4], [0.0, 0.0]) == 1.0
    # The common sign(x) == sign(y) rule scores the first case 0.
    assert np.mean(np.sign([0.0, 0.0]) == np.sign([0.3, -0.2])) == 0.0


def test_mse_matches_sklearn():
    x, y = _randn_pair(seed=3)
    assert metrics.mse(x, y) == pytest.approx(skm.mean_squared_error(x, y), abs=1e-12)
    assert metrics.mse([0.0, 1.0], [1.0, -1.0]) == 2.5


def test_metrics_return_python_floats():
    for fn in (metrics.ccc, metrics.pcc, metrics.sagr, metrics.mse, metrics.accuracy):
        assert type(fn([0.1, 0.2, -0.3], [0.2, 0.1, -0.1])) is float


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("fn", [metrics.ccc, metrics.pcc, metrics.sagr, metrics.mse])
def test_continuous_metrics_reject_different_lengths(fn):
    with pytest.raises(ValueError, match="different lengths: 3 != 2"):
        fn([0.1, 0.2, 0.3], [0.1, 0.2])


@pytest.mark.parametrize("fn", [metrics.ccc, metrics.pcc, metrics.sagr, metrics.mse])
def test_continuous_metrics_reject_empty_input(fn):
    with pytest.raises(ValueError, match="y_true: is empty"):
        fn([], [])


@pytest.mark.parametrize("fn", [metrics.ccc, metrics.pcc, metrics.sagr, metrics.mse])
def test_continuous_metrics_reject_nan_naming_the_argument(fn):
    with pytest.raises(ValueError, match=r"y_pred: contains 1 NaN"):
        fn([0.1, 0.2, 0.3], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match=r"y_true: contains 1 NaN or infinite"):
        fn([0.1, np.inf, 0.3], [0.1, 0.2, 0.3])


def test_continuous_metrics_reject_2d_and_non_numeric_input():
    with pytest.raises(ValueError, match=r"y_true: expected a 1-D array, got shape \(2, 2\)"):
        metrics.ccc([[0.1, 0.2], [0.3, 0.4]], [0.1, 0.2])
    with pytest.raises(ValueError, match="y_pred: expected real numbers"):
        metrics.ccc([0.1, 0.2], ["a", "b"])


@pytest.mark.parametrize("fn", [metrics.accuracy, metrics.f1_macro, metrics.confusion_mean_diagonal])
def test_categorical_metrics_reject_bad_input(fn):
    with pytest.raises(ValueError, match="different lengths"):
        fn([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="y_pred: is empty"):
        fn([0], [])
    with pytest.raises(ValueError, match="y_true: contains NaN labels"):
        fn([0.0, np.nan], [0.0, 1.0])


# --------------------------------------------------------------------------- categorical


def _labels(seed, n=60, k=7):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, size=n)
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k, size=n))
    return y_true, y_pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_and_f1_macro_match_sklearn(seed):
    y_true, y_pred = _labels(seed)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert metrics.f1_macro(y_true, y_pred) == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"), abs=1e-12)


def test_f1_macro_scores_a_listed_class_with_no_samples_as_zero_like_sklearn():
    y_true, y_pred = ["joy", "anger", "joy"], ["joy", "anger", "anger"]
    labels = ["anger", "joy", "fear"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the empty class
        expected = skm.f1_score(y_true, y_pred, labels=labels, average="macro")
    # anger: 2/3, joy: 2/3, fear: 0
    assert metrics.f1_macro(y_true, y_pred, labels=labels) == pytest.approx(4 / 9)
    assert metrics.f1_macro(y_true, y_pred, labels=labels) == pytest.approx(expected)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_matches_sklearn(normalize):
    y_true, y_pred = _labels(seed=4)
    labels = [6, 0, 3, 2, 5]  # a subset in a custom order: other samples are left out
    expected = skm.confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
    result = metrics.confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
    np.testing.assert_allclose(result, expected, atol=1e-12)


def test_confusion_matrix_has_true_classes_as_rows():
    result = metrics.confusion_matrix([0, 0, 1], [1, 1, 1])
    np.testing.assert_array_equal(result, [[0, 2], [0, 1]])


def test_confusion_matrix_rejects_bad_normalize_and_labels():
    with pytest.raises(ValueError, match="normalize"):
        metrics.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="labels: contains duplicates"):
        metrics.confusion_matrix([0, 1], [0, 1], labels=[0, 0, 1])
    with pytest.raises(ValueError, match="labels: no sample"):
        metrics.confusion_matrix([0, 1], [0, 1], labels=[5])


@pytest.mark.parametrize("seed", [0, 5])
def test_confusion_mean_diagonal_equals_balanced_accuracy(seed):
    y_true, y_pred = _labels(seed)
    expected = np.mean(np.diag(skm.confusion_matrix(y_true, y_pred, normalize="true")))
    assert metrics.confusion_mean_diagonal(y_true, y_pred) == pytest.approx(expected)
    assert metrics.confusion_mean_diagonal(y_true, y_pred) == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))


def test_confusion_mean_diagonal_skips_classes_without_true_samples():
    # class 0: 1/2 right, class 1: 1/1 right; class 2 is only predicted.
    assert metrics.confusion_mean_diagonal([0, 0, 1], [0, 2, 1]) == pytest.approx(0.75)
    assert metrics.confusion_mean_diagonal([0, 0, 1], [0, 2, 1], labels=[0, 1, 2, 3]) == 0.75


# --------------------------------------------------------------------------- conveniences


def test_score_va_reports_each_metric_per_dimension_and_their_mean():
    rng = np.random.default_rng(7)
    truth = rng.uniform(-1, 1, size=(40, 2))
    prediction = np.clip(truth + rng.normal(scale=0.3, size=(40, 2)), -1, 1)
    scores = metrics.score_va(truth, prediction)
    assert set(scores) == {f"{m}_{d}" for m in ("ccc", "pcc", "sagr", "mse") for d in ("valence", "arousal", "mean")}
    assert scores["ccc_arousal"] == metrics.ccc(truth[:, 1], prediction[:, 1])
    assert scores["sagr_valence"] == metrics.sagr(truth[:, 0], prediction[:, 0])
    assert scores["ccc_mean"] == pytest.approx((scores["ccc_valence"] + scores["ccc_arousal"]) / 2)
    assert scores["ccc_valence"] != scores["ccc_arousal"]


def test_score_va_accepts_valence_arousal_tuples():
    rng = np.random.default_rng(8)
    truth, prediction = rng.uniform(-1, 1, size=(2, 10, 2))
    from_columns = metrics.score_va(truth, prediction)
    from_tuples = metrics.score_va((truth[:, 0], truth[:, 1]), (prediction[:, 0], prediction[:, 1]))
    assert from_tuples == from_columns


def test_score_va_rejects_wrong_shapes_and_lengths():
    with pytest.raises(ValueError, match=r"y_true: expected shape \(N, 2\).*got \(2, 5\)"):
        metrics.score_va(np.zeros((2, 5)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="different lengths: 5 != 4"):
        metrics.score_va(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="y_pred: valence and arousal have different lengths"):
        metrics.score_va(np.zeros((3, 2)), (np.zeros(3), np.zeros(2)))
    with pytest.raises(ValueError, match="y_pred: contains 1 NaN"):
        metrics.score_va(np.zeros((3, 2)), np.array([[0, 0], [0, np.nan], [0, 0]]))


def test_score_expressions_reports_the_three_criteria_of_sec_6_2_2_1():
    y_true, y_pred = _labels(seed=9)
    scores = metrics.score_expressions(y_true, y_pred)
    assert scores == {
        "accuracy": pytest.approx(skm.accuracy_score(y_true, y_pred)),
        "f1_macro": pytest.approx(skm.f1_score(y_true, y_pred, average="macro")),
        "confusion_mean_diagonal": pytest.approx(skm.balanced_accuracy_score(y_true, y_pred)),
    }


# --------------------------------------------------------------------------- properties


@FAST
@given(_pairs())
def test_ccc_magnitude_never_exceeds_pcc_magnitude(pair):
    x, y = pair
    assume(not (np.all(x == x[0]) and np.array_equal(x, y)))  # CCC 1, P-CC 0 by definition
    assert abs(metrics.ccc(x, y)) <= abs(metrics.pcc(x, y)) + 1e-12


@FAST
@given(arrays(np.float64, st.integers(1, 20), elements=_value))
def test_ccc_of_a_series_with_itself_is_one(x):
    assert metrics.ccc(x, x) == pytest.approx(1.0, abs=1e-12)


@FAST
@given(_pairs())
def test_ccc_pcc_sagr_mse_are_symmetric(pair):
    x, y = pair
    for fn in (metrics.ccc, metrics.pcc, metrics.sagr, metrics.mse):
        assert fn(x, y) == pytest.approx(fn(y, x), abs=1e-12)


@FAST
@given(arrays(np.float64, st.integers(2, 20), elements=_value), st.floats(0.05, 2.0))
def test_a_constant_shift_lowers_ccc_but_not_pcc(x, shift):
    assume(np.ptp(x) > 1e-3)
    assert metrics.ccc(x, x + shift) < 1.0 - 1e-9
    assert metrics.pcc(x, x + shift) == pytest.approx(1.0, abs=1e-9)


@FAST
@given(_pairs(min_size=1))
def test_sagr_lies_in_unit_interval_and_ccc_pcc_in_minus_one_one(pair):
    x, y = pair
    assert 0.0 <= metrics.sagr(x, y) <= 1.0
    assert -1.0 <= metrics.ccc(x, y) <= 1.0
    assert -1.0 <= metrics.pcc(x, y) <= 1.0


# --------------------------------------------------------------------------- ccc_loss


def test_importing_metrics_does_not_import_torch():
    code = "import sys, affect.metrics; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_ccc_loss_equals_one_minus_ccc_for_a_vector():
    torch = pytest.importorskip("torch")
    x, y = _randn_pair(seed=10, n=16)
    loss = metrics.ccc_loss(torch.tensor(x), torch.tensor(y))
    assert float(loss) == pytest.approx(1.0 - metrics.ccc(x, y), abs=1e-12)


def test_ccc_loss_averages_one_minus_ccc_over_columns():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    truth = rng.uniform(-1, 1, size=(12, 2))
    prediction = 0.5 * truth + rng.normal(scale=0.4, size=(12, 2))
    expected = np.mean([1.0 - metrics.ccc(truth[:, j], prediction[:, j]) for j in range(2)])
    loss = metrics.ccc_loss(truth, torch.tensor(prediction))  # y_true may be a numpy array
    assert float(loss) == pytest.approx(expected, abs=1e-12)


def test_ccc_loss_has_gradients_that_match_finite_differences():
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(12)
    truth = torch.rand(8, 2, generator=generator, dtype=torch.float64)
    prediction = torch.rand(8, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: metrics.ccc_loss(truth, p), (prediction,))
    metrics.ccc_loss(truth, prediction).backward()
    assert prediction.grad is not None and torch.count_nonzero(prediction.grad) > 0


def test_ccc_loss_is_zero_with_finite_gradient_for_equal_constants():
    torch = pytest.importorskip("torch")
    prediction = torch.full((4,), 0.3, dtype=torch.float64, requires_grad=True)
    loss = metrics.ccc_loss(torch.full((4,), 0.3, dtype=torch.float64), prediction)
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert torch.all(torch.isfinite(prediction.grad))


def test_ccc_loss_rejects_mismatched_shapes_and_non_tensors():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"different shapes: \(4,\) != \(4, 1\)"):
        metrics.ccc_loss(torch.zeros(4), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="y_pred: expected a floating-point torch.Tensor"):
        metrics.ccc_loss(torch.zeros(4), [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"expected shape \(N,\) or \(N, D\)"):
        metrics.ccc_loss(torch.zeros(2, 2, 2), torch.zeros(2, 2, 2))
