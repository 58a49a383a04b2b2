"""Expression blendshape models: sparse localized deformation components (Sec. 4.5.3).

The paper describes the deformations of a set of gallery meshes from their subjects'
neutral meshes with the localized blendshape model of Neumann et al., "Sparse Localized
Deformation Components" (SIGGRAPH Asia 2013), Eq. 5 of the paper::

    argmin_{W, C}  ||D - W C||_F^2 + Omega(C)   s.t.  max(|W_k|) = 1 for every k

Notation here follows Neumann et al.: D holds the m deformations (m, N, 3), W the weights
(m, K) and C the components (K, N, 3); the paper's Eq. 5 calls the weights C and the
components B. The paper chooses the bidirectional constraint max(|W_k|) = 1, which lets
weights be negative so that a component can deform both ways (e.g. a muscle bulge).
Omega is the l1/l2 group norm over vertices, sum_k sum_v Lambda_kv ||C_kv||_2, whose
per-vertex strength Lambda_kv grows from 0 to ``sparsity`` between distances ``d_min`` and
``d_max`` from the component's centre (the vertex it moves most), which makes each
component local.

Optimisation alternates, as in Neumann et al.: weights by block-coordinate least squares
followed by the max-|w| normalisation, then components by ADMM whose proximal step is the
group soft-threshold of each vertex's 3-vector. Like the authors' reference code, the
data are scaled to unit standard deviation first, so ``sparsity`` does not depend on units,
and the data term is halved (0.5 ||D - W C||^2), which only rescales ``sparsity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph

from affect.files import read_npz, write_npz

__all__ = ["SparseComponents", "fit_sparse_components"]

# ADMM penalty and inner iterations: the values of the authors' reference implementation
# (github.com/tneumann/splocs, sploc.py), which converge well on unit-variance data.
_ADMM_RHO = 10.0
_ADMM_ITERATIONS = 10
# Components whose squared norm falls below this are treated as switched off.
_TINY = 1e-8
_FIELDS = ("components", "weights", "centres", "mean", "energy")


@dataclass(frozen=True, eq=False)
class SparseComponents:
    """A sparse localized blendshape model of deformations (Sec. 4.5.3, Eq. 5).

    Attributes
    ----------
    components : (K, N, 3) float64
        Deformation components, in the units of the fitted deformations.
    weights : (m, K) float64
        Weight of each component in each training deformation; max |weights[:, k]| = 1.
    centres : (K,) int64
        Vertex each component moves most (the centre of its support).
    mean : (N, 3) float64
        Deformation the components vary around (zeros unless fitted with ``center=True``).
    energy : (n_iterations,) float64
        Objective after each outer iteration (unit-variance data), for convergence checks.
    """

    components: np.ndarray
    weights: np.ndarray
    centres: np.ndarray
    mean: np.ndarray
    energy: np.ndarray

    def __post_init__(self) -> None:
        for name in _FIELDS:
            getattr(self, name).setflags(write=False)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return len(self.components)

    def reconstruct(self, weights: np.ndarray) -> np.ndarray:
        """Return deformations ``mean + weights @ components``.

        Parameters
        ----------
        weights : (..., K) float

        Returns
        -------
        (..., N, 3) float64
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim == 0 or weights.shape[-1] != self.n_components:
            raise ValueError(f"weights: expected {self.n_components} entries on the last axis, got {weights.shape}")
        return self.mean + np.tensordot(weights, self.components, axes=(-1, 0))

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw new deformations around ``mean`` from the empirical weight distribution.

        Each component's weight is drawn independently from that component's weights on
        the training deformations, so samples recombine the observed local movements
        (e.g. variety around a VA class's mean face, Sec. 4.5.1).

        Parameters
        ----------
        n : int
            Number of deformations.
        rng : numpy Generator or seed

        Returns
        -------
        (n, N, 3) float64
        """
        if int(n) != n or n < 0:
            raise ValueError(f"n: expected a non-negative integer, got {n!r}")
        rng = np.random.default_rng(rng)
        rows = rng.integers(0, len(self.weights), size=(int(n), self.n_components))
        drawn = np.take_along_axis(self.weights, rows, axis=0)
        return self.reconstruct(drawn)

    def save(self, path: str | Path) -> None:
        """Save the model to an ``.npz`` file."""
        write_npz(path, {name: getattr(self, name) for name in _FIELDS})

    @classmethod
    def load(cls, path: str | Path) -> SparseComponents:
        """Load a model saved by :meth:`save`."""
        data = read_npz(path, _FIELDS, "a sparse components file")
        return cls(**{name: data[name] for name in _FIELDS})


def fit_sparse_components(
    deformations: np.ndarray,
    n_components: int,
    *,
    vertices: np.ndarray,
    triangles: np.ndarray | None = None,
    sparsity: float = 2.0,
    d_min: float = 0.1,
    d_max: float = 0.7,
    n_iterations: int = 20,
    center: bool = False,
) -> SparseComponents:
    """Fit sparse localized deformation components (Sec. 4.5.3, Eq. 5; Neumann et al. 2013).

    Components are initialised greedily (Neumann et al., Sec. 4): the vertex with most
    residual motion, the rank-1 fit of its trajectory, and the residual projected onto
    those weights inside the vertex's support. The fit is deterministic.

    Parameters
    ----------
    deformations : (m, N, 3) float
        Each mesh minus its subject's neutral mesh, in dense correspondence.
    n_components : int
        Number of components K.
    vertices : (N, 3) float
        A rest mesh (e.g. the template), used only for distances in the locality term.
    triangles : (T, 3) int, optional
        Faces of the rest mesh; if given, distances run along mesh edges (a geodesic
        approximation that keeps upper and lower lip apart), else they are Euclidean.
    sparsity : float
        lambda: strength of the l1/l2 term on unit-variance data (2 in the reference code).
    d_min, d_max : float
        Support radii as fractions of the rest mesh's largest bounding-box side: no
        penalty within d_min of a component's centre, full ``sparsity`` beyond d_max
        (0.1 and 0.7 in the reference code, which normalises meshes to a unit box).
    n_iterations : int
        Outer alternations between weights and components.
    center : bool
        Subtract the mean deformation first and model variation around it.

    Returns
    -------
    SparseComponents
    """
    data = np.asarray(deformations, dtype=np.float64)
    if data.ndim != 3 or data.shape[2] != 3 or len(data) == 0:
        raise ValueError(f"deformations: expected an (m, N, 3) array, got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("deformations: contains NaN or infinite values")
    m, n_vertices, _ = data.shape
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.shape != (n_vertices, 3):
        raise ValueError(f"vertices: expected shape ({n_vertices}, 3), got {vertices.shape}")
    if int(n_components) != n_components or not 1 <= n_components <= n_vertices:
        raise ValueError(f"n_components: expected an integer in [1, {n_vertices}], got {n_components!r}")
    if not 0 <= d_min < d_max:
        raise ValueError(f"d_min, d_max: expected 0 <= d_min < d_max, got {d_min}, {d_max}")
    if sparsity < 0:
        raise ValueError(f"sparsity: expected a non-negative value, got {sparsity}")
    if int(n_iterations) != n_iterations or n_iterations < 1:
        raise ValueError(f"n_iterations: expected a positive integer, got {n_iterations!r}")
    distance = _distance_function(vertices, triangles)

    mean = data.mean(axis=0) if center else np.zeros((n_vertices, 3))
    X = data - mean
    spread = X.std()
    scale = 1.0 / spread if spread > 0 else 1.0
    X = (X * scale).reshape(m, -1)

    def support(centres: np.ndarray) -> np.ndarray:
        # 0 within d_min of the centre, 1 beyond d_max, linear in between (Neumann et al.).
        return (np.clip(distance(centres), d_min, d_max) - d_min) / (d_max - d_min)

    W, C = _greedy_init(X.reshape(m, n_vertices, 3), int(n_components), support)
    energy = np.empty(int(n_iterations))
    for it in range(int(n_iterations)):
        W = _update_weights(X, W, C.reshape(len(C), -1))
        centres = np.argmax((C**2).sum(axis=2), axis=1)
        strength = sparsity * support(centres)  # Lambda, (K, N)
        C = _update_components(X, W, C, strength)
        residual = X - W @ C.reshape(len(C), -1)
        energy[it] = 0.5 * (residual**2).sum() + (strength * np.linalg.norm(C, axis=2)).sum()
    return SparseComponents(
        components=C / scale,
        weights=W,
        centres=np.argmax((C**2).sum(axis=2), axis=1).astype(np.int64),
        mean=mean,
        energy=energy,
    )


# --------------------------------------------------------------------------- internals


def _distance_function(vertices: np.ndarray, triangles: np.ndarray | None):
    """Return f(centres (K,)) -> (K, N) distances from the centres, in mesh-size units."""
    extent = float(np.ptp(vertices, axis=0).max()) or 1.0
    if triangles is None:
        return lambda centres: np.linalg.norm(vertices[None, :, :] - vertices[centres][:, None, :], axis=2) / extent
    triangles = np.asarray(triangles)
    if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.min() < 0 or triangles.max() >= len(vertices):
        raise ValueError("triangles: expected a (T, 3) array of vertex indices")
    start = triangles.ravel()
    end = np.roll(triangles, -1, axis=1).ravel()
    lengths = np.linalg.norm(vertices[start] - vertices[end], axis=1) / extent
    graph = scipy.sparse.coo_matrix((lengths, (start, end)), shape=(len(vertices),) * 2).tocsr()
    return lambda centres: scipy.sparse.csgraph.dijkstra(graph, directed=False, indices=centres)


def _normalise_weights(w: np.ndarray) -> np.ndarray:
    """Scale weights so max |w| = 1, largest-magnitude entry positive (bidirectional V)."""
    peak = w[np.argmax(np.abs(w))]
    return w / peak if abs(peak) > 0 else w


def _greedy_init(R: np.ndarray, K: int, support) -> tuple[np.ndarray, np.ndarray]:
    """Greedy initial weights (m, K) and components (K, N, 3) from the data R (m, N, 3)."""
    R = R.copy()
    m, n_vertices, _ = R.shape
    W = np.zeros((m, K))
    C = np.zeros((K, n_vertices, 3))
    for k in range(K):
        centre = int(np.argmax((R**2).sum(axis=(0, 2))))
        # Rank-1 fit of the centre's (m, 3) trajectory gives the component's activations.
        u, s, _ = np.linalg.svd(R[:, centre, :], full_matrices=False)
        w = _normalise_weights(u[:, 0] * s[0])
        inside = 1.0 - support(np.array([centre]))[0]
        C[k] = np.tensordot(w, R, axes=(0, 0)) * inside[:, None] / max(w @ w, _TINY)
        W[:, k] = w
        R -= w[:, None, None] * C[k][None]
    return W, C


def _update_weights(X: np.ndarray, W: np.ndarray, Cf: np.ndarray) -> np.ndarray:
    """Block-coordinate least squares for each component's weights, then max-|w| = 1."""
    W = W.copy()
    residual = X - W @ Cf
    for k in range(len(Cf)):  # K is small; each step is vectorised over frames and vertices
        norm2 = Cf[k] @ Cf[k]
        if norm2 <= _TINY:
            residual += np.outer(W[:, k], Cf[k])
            W[:, k] = 0.0
            continue
        residual += np.outer(W[:, k], Cf[k])
        W[:, k] = _normalise_weights(residual @ Cf[k] / norm2)
        residual -= np.outer(W[:, k], Cf[k])
    return W


def _update_components(X: np.ndarray, W: np.ndarray, C: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """ADMM for min_C 0.5 ||X - W C||^2 + sum_kv strength_kv ||C_kv||_2 (Boyd et al. 2011)."""
    K = len(C)
    # The K x K system (W'W + rho I) is solved once as an explicit inverse: it is small and
    # well conditioned (eigenvalues >= rho), and a matrix product per ADMM step is far
    # cheaper than scipy's cho_solve on a C-ordered (K, 3N) right-hand side (scipy 1.17).
    gram = W.T @ W + _ADMM_RHO * np.eye(K)
    solve = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram), np.eye(K))
    WtX = W.T @ X
    Z = C.copy()
    U = np.zeros_like(C)
    for _ in range(_ADMM_ITERATIONS):
        C = (solve @ (WtX + _ADMM_RHO * (Z - U).reshape(K, -1))).reshape(Z.shape)
        Z = _group_shrink(C + U, strength / _ADMM_RHO)
        U += C - Z
    # Keep the sparse iterate, as the reference code does (Boyd et al. suggest it for
    # sparsity-inducing norms).
    return Z


def _group_shrink(V: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Proximal step of the l1/l2 norm: shrink each vertex 3-vector's length by threshold."""
    length = np.linalg.norm(V, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(length > threshold, 1.0 - threshold / length, 0.0)
    return V * keep[..., None]
