"""Affect evaluation criteria of Sec. 6.2.1.1 and 6.2.2.1 (Eq. 6 to 11).

Dimensional affect (valence, arousal) is scored with the Concordance Correlation
Coefficient (CCC, Eq. 6), the Mean Squared Error (MSE, Eq. 7), the Pearson
correlation (P-CC, Eq. 8) and the Sign Agreement metric (SAGR, Eq. 9-10).
Categorical affect (basic expressions) is scored with total accuracy, the macro
F1 score (Eq. 11) and the mean diagonal of the row-normalised confusion matrix
(the criterion of Table 6).

Every function takes ``(y_true, y_pred)`` in that order and returns a Python
``float`` (``confusion_matrix`` returns an array). Statistics use population
(1/N) normalisation throughout. ``ccc_loss`` is the differentiable training
counterpart of ``ccc``; torch is imported only when it is called, so this module
stays importable without torch.

These are small re-implementations rather than calls into scikit-learn or
torchmetrics on purpose: the paper's SAGR tie rule (Eq. 10) and the population
CCC are not what those libraries compute, and the categorical metrics here share
one validation path with the dimensional ones. The tests check each function
against those libraries where the definitions coincide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # torch is optional at import time; see ccc_loss
    import torch

__all__ = [
    "ccc",
    "pcc",
    "sagr",
    "mse",
    "accuracy",
    "f1_macro",
    "confusion_matrix",
    "confusion_mean_diagonal",
    "score_va",
    "score_expressions",
    "ccc_loss",
]

VA_DIMENSIONS = ("valence", "arousal")
_NORMALIZE_CHOICES = (None, "true", "pred", "all")


# --------------------------------------------------------------------------- #
# Validation (public boundary)
# --------------------------------------------------------------------------- #


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: is empty")
    return array


def _check_lengths(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true and y_pred have different lengths: {y_true.shape[0]} != {y_pred.shape[0]}")


def _continuous_pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return finite float64 1-D copies of a (ground truth, prediction) pair."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        array = _as_1d(values, name)
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            raise ValueError(f"{name}: expected real numbers, got dtype {array.dtype}")
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            bad = int(np.count_nonzero(~np.isfinite(array)))
            raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
        arrays.append(array)
    _check_lengths(*arrays)
    return arrays[0], arrays[1]


def _label_pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return 1-D label arrays of equal length with no NaN labels."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        array = _as_1d(values, name)
        if np.issubdtype(array.dtype, np.floating) and np.any(np.isnan(array)):
            raise ValueError(f"{name}: contains NaN labels")
        arrays.append(array)
    _check_lengths(*arrays)
    return arrays[0], arrays[1]


def _resolve_labels(y_true: np.ndarray, y_pred: np.ndarray, labels: ArrayLike | None) -> np.ndarray:
    if labels is None:
        return np.unique(np.concatenate([y_true, y_pred]))
    resolved = np.asarray(labels)
    if resolved.ndim != 1 or resolved.size == 0:
        raise ValueError(f"labels: expected a non-empty 1-D list, got shape {resolved.shape}")
    if np.unique(resolved).size != resolved.size:
        raise ValueError("labels: contains duplicates")
    return resolved


# --------------------------------------------------------------------------- #
# Moments shared by CCC and P-CC
# --------------------------------------------------------------------------- #


def _centred(values: np.ndarray) -> np.ndarray:
    # A constant vector must have exactly zero variance. Subtracting the float
    # mean can leave residues of ~1e-17 (e.g. mean([0.1] * 3) != 0.1), whose
    # ratios in Eq. 8 would be arbitrary numbers in [-1, 1] instead of the
    # documented constant-input result.
    if np.all(values == values[0]):
        return np.zeros_like(values)
    return values - values.mean()


def _unit_scaled(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Divide the arrays by their common largest magnitude (no-op for all zeros)."""
    # CCC is unchanged by a common scaling of both inputs and P-CC by any positive
    # scaling of each; scaling to [-1, 1] keeps squares of tiny values (say 1e-200)
    # from underflowing to 0 and being mistaken for constants.
    scale = max(float(np.max(np.abs(a))) for a in arrays)
    return arrays if scale == 0.0 else tuple(a / scale for a in arrays)


def _moments(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, float]:
    """Population variances of y_true, y_pred and their covariance (1/N)."""
    dx, dy = _centred(y_true), _centred(y_pred)
    return float(np.mean(dx * dx)), float(np.mean(dy * dy)), float(np.mean(dx * dy))


# --------------------------------------------------------------------------- #
# Dimensional affect: Eq. 6 to 10
# --------------------------------------------------------------------------- #


def ccc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Concordance Correlation Coefficient between ground truth and prediction.

    Eq. 6 (Sec. 6.2.1.1), Lin (1989):
    ``2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)``.

    Variances and covariance are population moments (divided by N), as in
    Lin's definition and the usual numpy ``ddof=0`` implementations. Other
    common implementations differ by factors of (N - 1)/N, which matter only
    for small N (per-batch losses, unit tests):

    - torchmetrics ``ConcordanceCorrCoef`` divides variances *and* covariance
      by N - 1, which gives a slightly larger value (0.9777 against 0.9768 on
      its documented example);
    - the AVEC 2019 baseline script divides the covariance by N but the
      variances by N - 1, which gives a slightly smaller value.

    Constant inputs: if exactly one input is constant, the covariance is zero
    and CCC is 0. If both are constant and different, CCC is 0. If both are
    constant and equal, the formula is 0/0; since then ``y_pred == y_true``
    exactly (MSE 0), CCC is defined as 1, consistent with ``ccc(x, x) == 1``.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of float
        Ground-truth and predicted values of one affect dimension.

    Returns
    -------
    float
        CCC in [-1, 1]; 1 is perfect concordance.

    Raises
    ------
    ValueError
        If an input is not 1-D, is empty, contains NaN/inf, or the lengths differ.
    """
    x, y = _unit_scaled(*_continuous_pair(y_true, y_pred))
    var_x, var_y, cov_xy = _moments(x, y)
    denominator = var_x + var_y + (x.mean() - y.mean()) ** 2
    if denominator == 0.0:
        return 1.0  # both constant and equal: perfect agreement (see docstring)
    # Rounding can push |value| a few ulps past 1.
    return float(np.clip(2.0 * cov_xy / denominator, -1.0, 1.0))


def pcc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Pearson correlation coefficient (P-CC) between ground truth and prediction.

    Eq. 8 (Sec. 6.2.1.1): ``s_xy / (s_x s_y)`` with s_x, s_y the standard
    deviations (the paper's text calls them variances). The N vs N - 1 choice
    cancels in the ratio.

    Constant inputs: if either input is constant the ratio is 0/0; P-CC is then
    defined as 0 (no linear association can be measured). This holds even when
    both inputs are the same constant: P-CC is invariant to shifts, so
    ``pcc(c, c)`` must equal ``pcc(c, c + 1)``. ``scipy.stats.pearsonr``
    returns NaN with a warning in these cases.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of float
        Ground-truth and predicted values of one affect dimension.

    Returns
    -------
    float
        P-CC in [-1, 1].

    Raises
    ------
    ValueError
        If an input is not 1-D, is empty, contains NaN/inf, or the lengths differ.
    """
    x, y = _continuous_pair(y_true, y_pred)
    (x,), (y,) = _unit_scaled(x), _unit_scaled(y)
    var_x, var_y, cov_xy = _moments(x, y)
    if var_x == 0.0 or var_y == 0.0:
        return 0.0  # undefined for a constant input (see docstring)
    return float(np.clip(cov_xy / np.sqrt(var_x * var_y), -1.0, 1.0))


def sagr(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Sign Agreement metric: the fraction of samples whose signs agree.

    Eq. 9 and 10 (Sec. 6.2.1.1). Following Eq. 10 exactly, a pair agrees when
    both values are >= 0 or both are <= 0, so a zero agrees with any value.
    This differs from ``mean(sign(x) == sign(y))`` (e.g. EmoNet's metric), in
    which a zero agrees only with another zero: for ``y_true = [0, 0]`` and
    ``y_pred = [0.3, -0.2]`` this function gives 1.0 and that rule gives 0.0.
    Ground-truth zeros are common (neutral frames), so the rules can differ
    noticeably on real annotations.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of float
        Ground-truth and predicted values of one affect dimension.

    Returns
    -------
    float
        SAGR in [0, 1]; 1 is full sign agreement.

    Raises
    ------
    ValueError
        If an input is not 1-D, is empty, contains NaN/inf, or the lengths differ.
    """
    x, y = _continuous_pair(y_true, y_pred)
    agree = ((x >= 0) & (y >= 0)) | ((x <= 0) & (y <= 0))
    return float(np.mean(agree))


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean squared error between ground truth and prediction.

    Eq. 7 (Sec. 6.2.1.1): ``(1/N) sum (x_i - y_i)^2``.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of float
        Ground-truth and predicted values, in the same units (VA in [-1, 1]).

    Returns
    -------
    float
        MSE >= 0, in squared input units.

    Raises
    ------
    ValueError
        If an input is not 1-D, is empty, contains NaN/inf, or the lengths differ.
    """
    x, y = _continuous_pair(y_true, y_pred)
    return float(np.mean((x - y) ** 2))


# --------------------------------------------------------------------------- #
# Categorical affect: Sec. 6.2.2.1, Eq. 11
# --------------------------------------------------------------------------- #


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Total accuracy: correct predictions divided by the number of samples.

    Sec. 6.2.2.1 ("total accuracy"; Tables 7 to 9).

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of labels (int or str)
        Ground-truth and predicted classes.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Raises
    ------
    ValueError
        If an input is not 1-D, is empty, has NaN labels, or the lengths differ.
    """
    t, p = _label_pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: ArrayLike | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Confusion matrix, rows = true class, columns = predicted class.

    Sec. 6.2.2.1 and Figs. 17 to 19. Same conventions as
    ``sklearn.metrics.confusion_matrix``: samples whose true or predicted label
    is not in ``labels`` are left out, and a row or column with no samples is
    all zeros after normalisation.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of labels (int or str)
        Ground-truth and predicted classes.
    labels : (K,) array-like, optional
        Classes in row/column order; default: the sorted union of both inputs.
    normalize : {None, 'true', 'pred', 'all'}
        None: counts; 'true': each row sums to 1 (per-class recall on the
        diagonal); 'pred': each column sums to 1; 'all': the matrix sums to 1.

    Returns
    -------
    (K, K) ndarray
        int64 counts, or float64 fractions when ``normalize`` is given.

    Raises
    ------
    ValueError
        On invalid inputs, duplicate/empty ``labels``, an unknown ``normalize``,
        or when no sample has both labels in ``labels``.
    """
    t, p = _label_pair(y_true, y_pred)
    if normalize not in _NORMALIZE_CHOICES:
        raise ValueError(f"normalize: expected one of {_NORMALIZE_CHOICES}, got {normalize!r}")
    classes = _resolve_labels(t, p, labels)
    return _confusion(t, p, classes, normalize)


def _confusion(t: np.ndarray, p: np.ndarray, classes: np.ndarray, normalize: str | None) -> np.ndarray:
    index = {label: i for i, label in enumerate(classes.tolist())}
    rows = np.array([index.get(label, -1) for label in t.tolist()], dtype=np.int64)
    cols = np.array([index.get(label, -1) for label in p.tolist()], dtype=np.int64)
    kept = (rows >= 0) & (cols >= 0)
    if not np.any(kept):
        raise ValueError("labels: no sample has both its true and predicted label in labels")
    k = classes.size
    counts = np.bincount(rows[kept] * k + cols[kept], minlength=k * k).reshape(k, k)
    if normalize is None:
        return counts
    totals = {
        "true": counts.sum(axis=1, keepdims=True),
        "pred": counts.sum(axis=0, keepdims=True),
        "all": counts.sum(keepdims=True),
    }[normalize]
    # Empty rows/columns become 0 rather than NaN, as in scikit-learn.
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def f1_macro(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None) -> float:
    """Macro F1: the unweighted mean of the per-class F1 scores.

    Eq. 11 (Sec. 6.2.2.1): ``F1 = 2 precision recall / (precision + recall)``
    per class, averaged with equal weight over classes (Tables 7 and 14).
    Per class this equals ``2 TP / (2 TP + FP + FN)``. A class with no true and
    no predicted samples (possible only through ``labels``) scores 0, as in
    scikit-learn's default ``zero_division``.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of labels (int or str)
        Ground-truth and predicted classes.
    labels : (K,) array-like, optional
        Classes to average over; default: the sorted union of both inputs.

    Returns
    -------
    float
        Macro F1 in [0, 1].

    Raises
    ------
    ValueError
        On invalid inputs or ``labels`` (see ``confusion_matrix``).
    """
    return float(np.mean(_per_class_f1(_label_counts(y_true, y_pred, labels)[2])))


def _label_counts(
    y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated labels and their (K, K) confusion counts, rows true and columns predicted."""
    t, p = _label_pair(y_true, y_pred)
    return t, p, _confusion(t, p, _resolve_labels(t, p, labels), None)


def _per_class_f1(counts: np.ndarray) -> np.ndarray:
    tp = np.diag(counts).astype(np.float64)
    # FP + FN = column sum + row sum - 2 TP, so 2TP + FP + FN = row + column.
    denominator = counts.sum(axis=0) + counts.sum(axis=1)
    return np.divide(2.0 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def confusion_mean_diagonal(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None) -> float:
    """Mean of the diagonal of the row-normalised confusion matrix.

    Sec. 6.2.2.1 ("the average of the diagonal values of the confusion matrix";
    Table 6, Fig. 20b for RAF-DB). The diagonal of the row-normalised matrix
    is the per-class recall, so this is the balanced accuracy. Classes with no
    ground-truth samples have no defined row and are left out of the mean, as
    in ``sklearn.metrics.balanced_accuracy_score``.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of labels (int or str)
        Ground-truth and predicted classes.
    labels : (K,) array-like, optional
        Classes of the matrix; default: the sorted union of both inputs.

    Returns
    -------
    float
        Mean per-class recall in [0, 1].

    Raises
    ------
    ValueError
        On invalid inputs or ``labels`` (see ``confusion_matrix``).
    """
    return _mean_recall(_label_counts(y_true, y_pred, labels)[2])


def _mean_recall(counts: np.ndarray) -> float:
    row_totals = counts.sum(axis=1)
    present = row_totals > 0
    return float(np.mean(np.diag(counts)[present] / row_totals[present]))


# --------------------------------------------------------------------------- #
# Conveniences for the tables
# --------------------------------------------------------------------------- #


def _va_columns(values: Any, name: str) -> np.ndarray:
    """Read VA as an (N, 2) array, or a tuple (valence, arousal) of 1-D arrays."""
    if isinstance(values, tuple):
        if len(values) != 2:
            raise ValueError(f"{name}: expected a (valence, arousal) tuple, got {len(values)} items")
        columns = [_as_1d(v, f"{name}[{i}]") for i, v in enumerate(values)]
        if columns[0].shape != columns[1].shape:
            raise ValueError(
                f"{name}: valence and arousal have different lengths: {columns[0].shape[0]} != {columns[1].shape[0]}"
            )
        return np.stack(columns, axis=1)
    array = np.asarray(values)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(
            f"{name}: expected shape (N, 2) with columns (valence, arousal), got "
            f"{array.shape}; pass a tuple (valence, arousal) for separate arrays"
        )
    return array


def score_va(y_true: Any, y_pred: Any) -> dict[str, float]:
    """All dimensional criteria of Sec. 6.2.1.1 for valence and arousal.

    Tables 2 to 5 and 10 to 13 report these per dimension; Sec. 6.4 uses the
    mean of valence and arousal CCC as the single performance measure
    (``ccc_mean``).

    Parameters
    ----------
    y_true, y_pred : (N, 2) array-like, or tuple (valence, arousal) of (N,) arrays
        Ground-truth and predicted VA, columns (valence, arousal), in [-1, 1].

    Returns
    -------
    dict of str to float
        Keys ``{metric}_{dim}`` and ``{metric}_mean`` for metric in
        (ccc, pcc, sagr, mse) and dim in (valence, arousal); the mean is over
        the two dimensions.

    Raises
    ------
    ValueError
        On a wrong shape, empty input, NaN/inf, or different lengths.
    """
    truth, prediction = _va_columns(y_true, "y_true"), _va_columns(y_pred, "y_pred")
    if truth.shape[0] != prediction.shape[0]:
        raise ValueError(f"y_true and y_pred have different lengths: {truth.shape[0]} != {prediction.shape[0]}")
    scores: dict[str, float] = {}
    for metric in (ccc, pcc, sagr, mse):
        per_dim = [metric(truth[:, j], prediction[:, j]) for j in range(2)]
        for dim, value in zip(VA_DIMENSIONS, per_dim):
            scores[f"{metric.__name__}_{dim}"] = value
        scores[f"{metric.__name__}_mean"] = float(np.mean(per_dim))
    return scores


def score_expressions(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None) -> dict[str, float]:
    """All categorical criteria of Sec. 6.2.2.1 for basic-expression labels.

    The paper defines three criteria: total accuracy (Tables 8, 9, 14),
    macro F1 (Tables 7, 14) and the mean diagonal of the row-normalised
    confusion matrix (Table 6). It defines no weighted combination of them.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like of labels (int or str)
        Ground-truth and predicted classes.
    labels : (K,) array-like, optional
        Classes used by F1 and the confusion matrix; default: the sorted union
        of both inputs. Accuracy always counts every sample.

    Returns
    -------
    dict of str to float
        ``accuracy``, ``f1_macro``, ``confusion_mean_diagonal``.

    Raises
    ------
    ValueError
        On invalid inputs or ``labels`` (see ``confusion_matrix``).
    """
    t, p, counts = _label_counts(y_true, y_pred, labels)
    return {
        "accuracy": float(np.mean(t == p)),
        "f1_macro": float(np.mean(_per_class_f1(counts))),
        "confusion_mean_diagonal": _mean_recall(counts),
    }


# --------------------------------------------------------------------------- #
# Training loss
# --------------------------------------------------------------------------- #


def ccc_loss(y_true: ArrayLike | torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Differentiable ``1 - CCC``, averaged over output dimensions.

    Eq. 6 as a loss, with population (1/N) moments as in ``ccc``, computed
    over the sample axis (the last-but-one axis of an (N, D) batch). The
    both-constant-and-equal case is CCC = 1 (loss 0), as in ``ccc``; the
    gradient stays finite there. NaNs are not checked here, because checking
    would force a device synchronisation on every training step.

    Parameters
    ----------
    y_true : (N,) or (N, D) tensor or array-like
        Targets; converted to ``y_pred``'s dtype and device.
    y_pred : (N,) or (N, D) torch.Tensor
        Predictions, e.g. D = 2 for (valence, arousal).

    Returns
    -------
    torch.Tensor
        Scalar: the mean over D of ``1 - CCC`` of each column, in [0, 2].

    Raises
    ------
    ValueError
        If ``y_pred`` is not a floating tensor, the shapes differ, the batch
        is not 1-D/2-D, or it holds no samples.
    """
    import torch  # deferred so that importing affect.metrics does not load torch

    if not isinstance(y_pred, torch.Tensor) or not torch.is_floating_point(y_pred):
        raise ValueError("y_pred: expected a floating-point torch.Tensor")
    target = torch.as_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    if target.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred have different shapes: {tuple(target.shape)} != {tuple(y_pred.shape)}")
    if y_pred.ndim not in (1, 2):
        raise ValueError(f"y_pred: expected shape (N,) or (N, D), got {tuple(y_pred.shape)}")
    if y_pred.shape[0] == 0:
        raise ValueError("y_pred: is empty")

    mean_true, mean_pred = target.mean(dim=0), y_pred.mean(dim=0)
    d_true, d_pred = target - mean_true, y_pred - mean_pred
    var_true = (d_true * d_true).mean(dim=0)
    var_pred = (d_pred * d_pred).mean(dim=0)
    covariance = (d_true * d_pred).mean(dim=0)
    denominator = var_true + var_pred + (mean_true - mean_pred) ** 2
    # Divide by a safe denominator so the unused branch of `where` has no
    # NaN gradient either.
    positive = denominator > 0
    safe = torch.where(positive, denominator, torch.ones_like(denominator))
    concordance = torch.where(positive, 2.0 * covariance / safe, torch.ones_like(denominator))
    return (1.0 - concordance).mean()
