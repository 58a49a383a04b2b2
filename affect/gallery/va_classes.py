"""Valence-arousal classes of the 4D face gallery (Sec. 4.5.1).

The paper discretises the VA space of its 600,000 annotated gallery frames into 550 classes
by agglomerative clustering with Euclidean distance and Ward linkage, keeping the link from
every frame to its class; the mean face of a class is then the affect added to a photo.

Exact Ward on 600,000 points is out of reach of the usual tools: scipy's ``linkage`` and
scikit-learn's unconstrained ``AgglomerativeClustering`` both hold the O(n^2) distance matrix
(about 1.4 TB here). We use two facts instead:

* Ward's merge cost between clusters A and B, ``|A||B| / (|A| + |B|) * ||c_A - c_B||^2``
  (the increase of the within-class sum of squares), depends only on the clusters' sizes
  and centroids. Clustering *weighted* points, each standing for a group of samples at its
  centroid, is therefore exactly Ward on the samples under the single constraint that each
  group stays together.
* VA labels are means of three joystick annotations on [-1, 1] and carry no information
  at the scale of a few thousandths. Grouping the samples by cells of a fine grid
  (``grid_step``, 1/200 by default) only means that samples closer than one cell share a
  class: class borders are resolved to one cell (0.005), more than ten times finer than a
  class (550 classes over the occupied part of the VA square are ~0.06 wide).

How much does grouping change the classes? Ward on dense, unclustered 2-D data is itself
unstable: on 8,000 Fig. 3-like samples cut at 55 classes, jittering the VA values by
+-0.001 changes exact Ward's partition to an adjusted Rand index of 0.49 against the
unjittered one. Grouping by 1/200 cells changes it by a similar amount (ARI 0.64) while the
within-class sum of squares, the quantity Ward minimises, stays within about 1% of exact
Ward's. Without grouping (``grid_step=None``) the result is exact Ward.

The weighted Ward tree is built with the nearest-neighbour chain algorithm on centroids and
weights (O(m) memory, O(m^2) time for m cells), compiled with numba. scipy's ``linkage``
cannot be used for this step because it starts every observation at size one and accepts
no initial weights.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial

from affect.files import read_npz, write_npz

__all__ = [
    "DEFAULT_GRID_STEP",
    "DEFAULT_MAX_EXACT_POINTS",
    "N_CLASSES",
    "VAClasses",
    "class_means",
    "fit_va_classes",
    "weighted_ward_linkage",
]

#: Number of VA classes in the paper (Sec. 4.5.1).
N_CLASSES = 550
#: Cell size of the grid that groups VA samples before clustering (VA units on [-1, 1]).
DEFAULT_GRID_STEP = 1.0 / 200.0
#: Above this many occupied cells the grid step is doubled until it fits (first stage).
#: The O(m^2) chain takes about 75 s for the 81,000 cells of 600,000 Fig. 3-like samples
#: at step 1/200, and 14 s for their 26,000 cells at step 1/100 (one CPU core).
DEFAULT_MAX_EXACT_POINTS = 100_000
_FIELDS = ("centroids", "counts", "labels", "grid_step", "cell_points", "cell_index", "cell_labels")
# Rows per block when a per-sample array is reduced class by class (bounds temporary memory).
_BLOCK_ROWS = 8192


@dataclass(frozen=True, eq=False)
class VAClasses:
    """Classes of the VA space and the class of every gallery sample (Sec. 4.5.1).

    Attributes
    ----------
    centroids : (K, 2) float64
        Mean (valence, arousal) of each class's samples. Classes are numbered in
        lexicographic order of their centroids (valence, then arousal).
    counts : (K,) int64
        Number of gallery samples in each class.
    labels : (n,) int32
        Class of each gallery sample, in the order of the ``va`` rows given to the fit.
    grid_step : float
        Cell size actually used to group samples before clustering (0: identical VA
        values only).
    cell_points : (m, 2) float64
        Centroid of the samples in each occupied cell (the weighted points clustered).
    cell_index : (m, 2) int64
        Grid index ``rint(va / grid_step)`` of each occupied cell, sorted by cell; (0, 2)
        when ``grid_step`` is 0.
    cell_labels : (m,) int32
        Class of each occupied cell.
    """

    centroids: np.ndarray
    counts: np.ndarray
    labels: np.ndarray
    grid_step: float
    cell_points: np.ndarray
    cell_index: np.ndarray
    cell_labels: np.ndarray

    def __post_init__(self) -> None:
        for name in ("centroids", "counts", "labels", "cell_points", "cell_index", "cell_labels"):
            getattr(self, name).setflags(write=False)

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.centroids)

    # Built on the first lookup and kept: a synthesis looks up one point per image, and these
    # took most of the time of each lookup.
    @functools.cached_property
    def _cell_table(self) -> np.ndarray:
        """The occupied cells' codes (m,), in the order of ``cell_index`` (sorted)."""
        return _cell_codes(self.cell_index, self.grid_step)

    @functools.cached_property
    def _cell_tree(self) -> scipy.spatial.cKDTree:
        """A k-d tree of the occupied cells' centroids, for points in empty cells."""
        return scipy.spatial.cKDTree(self.cell_points)

    def lookup(self, valence: float | np.ndarray, arousal: float | np.ndarray) -> int | np.ndarray:
        """Return the class of VA points (Sec. 4.5.2, static and temporal synthesis).

        The paper retrieves "the class to which this VA value belongs". A point that falls
        in a grid cell holding gallery samples gets that cell's class, so every gallery
        sample is looked up into exactly its ``labels`` entry. A point in an empty cell (or
        any point when ``grid_step`` is 0) gets the class of the nearest occupied cell
        centroid. We do not use the nearest class centroid: Ward classes are not Voronoi
        cells of their centroids, and on a Fig. 3-like gallery of 600,000 samples that rule
        disagrees with the clustering for about 17% of the samples.

        Parameters
        ----------
        valence, arousal : float or array, broadcastable, in [-1, 1]

        Returns
        -------
        int for scalar inputs, else int64 array of the broadcast shape.
        """
        v, a = np.broadcast_arrays(np.asarray(valence, float), np.asarray(arousal, float))
        _check_in_square(v, "valence")
        _check_in_square(a, "arousal")
        points = np.stack([v.ravel(), a.ravel()], axis=1)
        found = np.full(len(points), -1, dtype=np.int64)
        if self.grid_step > 0:
            codes = _cell_codes(_cell_index(points, self.grid_step), self.grid_step)
            table = self._cell_table
            at = np.minimum(np.searchsorted(table, codes), len(table) - 1)
            hit = table[at] == codes
            found[hit] = self.cell_labels[at[hit]]
        missing = found < 0
        if missing.any():
            _, nearest = self._cell_tree.query(points[missing])
            found[missing] = self.cell_labels[nearest]
        found = found.reshape(v.shape)
        return int(found) if found.ndim == 0 else found

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The fields as arrays named ``prefix + field`` (for :meth:`save` and larger files)."""
        return {prefix + name: np.asarray(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "") -> VAClasses:
        """Rebuild classes from :meth:`to_arrays`'s arrays (KeyError if one is missing)."""
        return cls(
            centroids=arrays[prefix + "centroids"].astype(np.float64),
            counts=arrays[prefix + "counts"].astype(np.int64),
            labels=arrays[prefix + "labels"].astype(np.int32),
            grid_step=float(arrays[prefix + "grid_step"]),
            cell_points=arrays[prefix + "cell_points"].astype(np.float64),
            cell_index=arrays[prefix + "cell_index"].astype(np.int64),
            cell_labels=arrays[prefix + "cell_labels"].astype(np.int32),
        )

    def save(self, path: str | Path) -> None:
        """Save the classes to an ``.npz`` file (stored beside the gallery)."""
        write_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | Path) -> VAClasses:
        """Load classes saved by :meth:`save`."""
        return cls.from_arrays(read_npz(path, _FIELDS, "a VA classes file"))


def fit_va_classes(
    va: np.ndarray,
    n_classes: int = N_CLASSES,
    *,
    grid_step: float | None = DEFAULT_GRID_STEP,
    max_exact_points: int | None = DEFAULT_MAX_EXACT_POINTS,
) -> VAClasses:
    """Cluster gallery VA values into classes with Ward linkage (Sec. 4.5.1).

    Samples are grouped by grid cells (``grid_step``), each occupied cell becomes one point
    at its samples' centroid weighted by their number, and exact Ward agglomeration of the
    weighted points is cut at ``n_classes``. This equals Ward on all samples constrained to
    keep each cell together (see the module docstring). First stage: if more than
    ``max_exact_points`` cells are occupied, the step is doubled until they are not. The
    algorithm is deterministic (no seed): ties between equal merge costs are broken by
    index.

    Parameters
    ----------
    va : (n, 2) float
        Valence and arousal of each gallery sample, in [-1, 1].
    n_classes : int
        Number of classes K (550 in the paper).
    grid_step : float or None
        Cell size in VA units; None groups only identical VA values (exact Ward on the data).
    max_exact_points : int or None
        Largest number of cells clustered exactly; None for no limit.

    Returns
    -------
    VAClasses
    """
    va = np.asarray(va, dtype=np.float64)
    if va.ndim != 2 or va.shape[1] != 2 or len(va) == 0:
        raise ValueError(f"va: expected a non-empty (n, 2) array, got shape {va.shape}")
    _check_in_square(va[:, 0], "va[:, 0] (valence)")
    _check_in_square(va[:, 1], "va[:, 1] (arousal)")
    if int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes: expected a positive integer, got {n_classes!r}")
    if grid_step is not None and not (0 < grid_step <= 2):
        raise ValueError(f"grid_step: expected a value in (0, 2] or None, got {grid_step!r}")
    if max_exact_points is not None and max_exact_points < n_classes:
        raise ValueError(f"max_exact_points: {max_exact_points} is below n_classes={n_classes}")

    step = grid_step
    points, weights, cell_of_sample, cell_index = _group_by_cell(va, step)
    while max_exact_points is not None and len(points) > max_exact_points:
        step = 2.0 * (step if step is not None else DEFAULT_GRID_STEP)
        points, weights, cell_of_sample, cell_index = _group_by_cell(va, step)
    if len(points) < n_classes:
        raise ValueError(
            f"n_classes: {n_classes} classes requested but va holds only {len(points)} "
            f"distinct cells at grid_step={step}"
        )

    merges = _ward_merges(points, weights)
    cell_labels = _cut(merges, len(points), int(n_classes))
    labels = cell_labels[cell_of_sample]
    counts = np.bincount(labels, minlength=n_classes)
    centroids = np.stack(
        [np.bincount(labels, weights=va[:, j], minlength=n_classes) / counts for j in (0, 1)],
        axis=1,
    )
    # Number classes by centroid so that the result does not depend on internal indices.
    order = np.lexsort((centroids[:, 1], centroids[:, 0]))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return VAClasses(
        centroids=centroids[order],
        counts=counts[order].astype(np.int64),
        labels=rank[labels].astype(np.int32),
        grid_step=float(step) if step is not None else 0.0,
        cell_points=points,
        cell_index=cell_index,
        cell_labels=rank[cell_labels].astype(np.int32),
    )


def weighted_ward_linkage(points: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Return the Ward linkage matrix of weighted points, in scipy's format.

    A point of weight w stands for w coincident observations: the result equals
    ``scipy.cluster.hierarchy.linkage(expanded, method="ward")`` on the expanded data once
    the zero-height merges among duplicates are dropped, and is identical to it for unit
    weights (up to tie order). Built with the nearest-neighbour chain algorithm on
    centroids and weights, O(m) memory.

    Parameters
    ----------
    points : (m, d) float
    weights : (m,) positive float, or None for ones

    Returns
    -------
    (m - 1, 4) float64
        Rows ``[i, j, height, size]`` as in scipy: clusters i and j merge at Ward distance
        ``height = sqrt(2 * |A||B| / (|A| + |B|)) * ||c_A - c_B||`` into a cluster of total
        weight ``size`` numbered ``m + row``.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 2 or not np.isfinite(points).all():
        raise ValueError(f"points: expected a finite (m, d) array with m >= 2, got {points.shape}")
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, np.float64)
    if weights.shape != (len(points),) or not (weights > 0).all():
        raise ValueError(f"weights: expected {len(points)} positive values")
    first, second, cost = _ward_merges(points, weights)
    order = np.argsort(cost, kind="stable")
    # Relabel slot-indexed merges into scipy's running cluster numbers (union-find on slots).
    m = len(points)
    cluster_of_root = np.arange(m)
    parent = np.arange(m)
    size = weights.copy()
    out = np.empty((m - 1, 4))
    for row, i in enumerate(order):
        ra, rb = _find(parent, first[i]), _find(parent, second[i])
        a, b = sorted((cluster_of_root[ra], cluster_of_root[rb]))
        parent[rb] = ra
        size[ra] += size[rb]
        cluster_of_root[ra] = m + row
        out[row] = (a, b, np.sqrt(2.0 * max(cost[i], 0.0)), size[ra])
    return out


def class_means(
    labels: np.ndarray,
    values: np.ndarray | Iterable[np.ndarray],
    n_classes: int,
) -> np.ndarray:
    """Return the mean of a per-sample quantity in each class (e.g. mean face, Sec. 4.5.1).

    Sums are accumulated block by block in float64, so the values may be a memory-mapped
    array or a generator of row blocks (e.g. deformations read from disk) that never sits
    in memory whole.

    Parameters
    ----------
    labels : (n,) int
        Class of each sample, in [0, n_classes).
    values : (n, ...) array, or iterable of (b_i, ...) arrays with sum(b_i) = n
        Per-sample values in the order of ``labels``.
    n_classes : int

    Returns
    -------
    (n_classes, ...) float64
        Class means; NaN for classes without samples.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels: expected a 1-D integer array")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels: expected values in [0, {n_classes})")
    n = len(labels)
    if isinstance(values, np.ndarray):
        if len(values) != n:
            raise ValueError(f"values: {len(values)} rows for {n} labels")
        blocks: Iterable[np.ndarray] = (values[i : i + _BLOCK_ROWS] for i in range(0, n, _BLOCK_ROWS))
    else:
        blocks = values
    sums = None
    trailing: tuple[int, ...] = ()
    start = 0
    for block in blocks:
        block = np.asarray(block)
        b = len(block)
        if start + b > n:
            raise ValueError(f"values: more rows than the {n} labels")
        if sums is None:
            trailing = block.shape[1:]
            sums = np.zeros((n_classes, int(np.prod(trailing))))
        elif block.shape[1:] != trailing:
            raise ValueError(f"values: block of shape {block.shape}, expected (b, *{trailing})")
        # A sparse one-hot (K, b) times the block sums each class's rows in one BLAS-like
        # pass, without np.add.at's per-element overhead.
        onehot = scipy.sparse.csr_matrix((np.ones(b), (labels[start : start + b], np.arange(b))), shape=(n_classes, b))
        sums += onehot @ block.reshape(b, -1).astype(np.float64, copy=False)
        start += b
    if sums is None or start != n:
        raise ValueError(f"values: {start} rows for {n} labels")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    return means.reshape((n_classes,) + trailing)


# --------------------------------------------------------------------------- internals


def _check_in_square(values: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first value of ``values`` outside [-1, 1]."""
    bad = ~(np.abs(values) <= 1.0)  # also catches NaN
    if bad.any():
        raise ValueError(f"{name}: value {values[bad].flat[0]!r} is outside [-1, 1]")


def _group_by_cell(va: np.ndarray, step: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group samples by grid cell.

    Returns cell centroids (m, 2), cell sizes (m,), the cell of each sample (n,) and the
    grid index of each cell (m, 2), cells sorted by :func:`_cell_codes`.
    """
    if step is None:
        _, cell, sizes = np.unique(va, axis=0, return_inverse=True, return_counts=True)
        index = np.empty((0, 2), np.int64)
    else:
        sample_index = _cell_index(va, step)
        _, first, cell, sizes = np.unique(
            _cell_codes(sample_index, step),
            return_index=True,
            return_inverse=True,
            return_counts=True,
        )
        index = sample_index[first]
    cell = cell.ravel()
    centroids = np.stack([np.bincount(cell, weights=va[:, j]) / sizes for j in (0, 1)], axis=1)
    return centroids, sizes.astype(np.float64), cell, index


def _cell_index(va: np.ndarray, step: float) -> np.ndarray:
    """Grid index (n, 2) of VA points: the nearest multiple of ``step`` per axis."""
    return np.rint(va / step).astype(np.int64)


def _cell_codes(index: np.ndarray, step: float) -> np.ndarray:
    """One int64 per cell, ordered like the cells (valence index, then arousal index)."""
    half = int(np.ceil(1.0 / step)) + 1
    return (index[:, 0] + half) * (2 * half + 1) + (index[:, 1] + half)


def _ward_merges(points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Ward merges (slot a, slot b, cost) in chain order; see :func:`_nn_chain`."""
    m = len(points)
    if m == 1:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return _nn_chain(np.ascontiguousarray(points, np.float64), weights.astype(np.float64))


@numba.njit(cache=True)
def _nn_chain(points, weights):  # pragma: no cover - compiled
    """Ward agglomeration by the nearest-neighbour chain (Murtagh 1983) on centroids.

    Returns, for each of the m - 1 merges, one original point index from each merged
    cluster and the merge cost |A||B|/(|A|+|B|) ||c_A - c_B||^2, in the (unsorted) order
    the chain finds them. Ward's criterion is reducible, so sorting by cost gives the
    sequential agglomeration. Active clusters are kept compact at the front of the arrays
    (swap removal) so each nearest-neighbour scan touches only live clusters.
    """
    m, d = points.shape
    cent = points.copy()
    w = weights.copy()
    slot = np.arange(m)  # slot (original index representing the cluster) at each position
    pos = np.arange(m)  # position of each slot, -1 once merged away
    chain = np.empty(m, np.int64)
    first = np.empty(m - 1, np.int64)
    second = np.empty(m - 1, np.int64)
    cost = np.empty(m - 1)
    n = m
    length = 0
    k = 0
    while n > 1:
        if length == 0:
            chain[0] = slot[0]
            length = 1
        a = chain[length - 1]
        pa = pos[a]
        prev = chain[length - 2] if length >= 2 else -1
        best = np.inf
        pb = -1
        for p in range(n):
            if p == pa:
                continue
            sq = 0.0
            for j in range(d):
                diff = cent[p, j] - cent[pa, j]
                sq += diff * diff
            c = sq * (w[pa] * w[p] / (w[pa] + w[p]))
            # Prefer the previous chain element on ties, which guarantees termination.
            if c < best or (c == best and slot[p] == prev):
                best = c
                pb = p
        b = slot[pb]
        if b != prev:
            chain[length] = b
            length += 1
            continue
        length -= 2
        first[k] = a
        second[k] = b
        cost[k] = best
        k += 1
        wa, wb = w[pa], w[pb]
        for j in range(d):
            cent[pa, j] = (wa * cent[pa, j] + wb * cent[pb, j]) / (wa + wb)
        w[pa] = wa + wb
        last = n - 1  # move the last live cluster into b's position
        for j in range(d):
            cent[pb, j] = cent[last, j]
        w[pb] = w[last]
        slot[pb] = slot[last]
        pos[slot[pb]] = pb
        pos[b] = -1
        n -= 1
    return first, second, cost


def _cut(merges: tuple[np.ndarray, np.ndarray, np.ndarray], m: int, k: int) -> np.ndarray:
    """Cluster of each of m points after the m - k cheapest merges (k clusters)."""
    first, second, cost = merges
    keep = np.argsort(cost, kind="stable")[: m - k]
    graph = scipy.sparse.coo_matrix((np.ones(len(keep)), (first[keep], second[keep])), shape=(m, m))
    _, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    return labels


def _find(parent: np.ndarray, i: int) -> int:
    """Root of i in a union-find forest, with path halving."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return int(i)
