"""The 3D morphable model: a linear shape model with identity and expression bases.

Paper Sec. 3.4, Eq. 1: ``S(p) = s_bar + U_s p``. The paper uses the identity subspace of LSFM
(Sec. 3.4.2), which is licensed; the default model shipped with this package is the ICT-FaceKit
face model (MIT licence, see ``affect/assets/ICT-FaceKit-LICENSE.txt``), cropped to its face
area and converted by ``scripts/convert_ict_facekit.py``. Its expression blendshapes extend
Eq. 1 to ``S(p, q) = s_bar + U_s p + U_e q``.

Coordinates are right-handed: x runs from the subject's right to their left, y up, z out of
the face towards a frontal camera. The default model is in centimetres.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affect.vocabulary import N_LANDMARKS

#: Name of the converted ICT-FaceKit asset inside ``affect/assets``.
DEFAULT_ASSET = "ict_face_model.npz"

#: Version of the ``.npz`` layout written by :func:`save_model`.
FORMAT_VERSION = 1

_ARRAY_FIELDS = (
    "mean",
    "identity_basis",
    "identity_variance",
    "expression_basis",
    "expression_names",
    "landmark_indices",
    "triangles",
    "mirror_indices",
    "hole_triangles",
)


def _frozen(array: np.ndarray, dtype) -> np.ndarray:
    """Return a C-contiguous, read-only copy of ``array`` in ``dtype``."""
    out = np.array(array, dtype=dtype, order="C", copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MorphableModel:
    """A linear 3D face shape model with identity and expression components.

    Implements Eq. 1 of the paper (Sec. 3.4.1) plus an additive expression basis. The
    identity prior of Eq. 4, ``||p||^2_{Sigma_s^{-1}}``, uses ``identity_variance`` as the
    diagonal of ``Sigma_s``. For an orthonormal PCA basis (LSFM) these are the eigenvalues;
    the ICT-FaceKit components are already scaled by their standard deviation, so there the
    basis is the scaled component and every variance is 1 (unit-normal coefficients sample
    plausible faces).

    Attributes
    ----------
    mean : (N, 3) float64
        Mean (template) shape ``s_bar``, in the model's units (cm for the default model).
    identity_basis : (K_id, N, 3) float32
        Identity components ``U_s``, one displacement field per coefficient.
    identity_variance : (K_id,) float64
        Prior variance of each identity coefficient (diagonal of ``Sigma_s``).
    expression_basis : (K_exp, N, 3) float32
        Expression blendshapes as displacements from the neutral face; weights in [0, 1].
    expression_names : (K_exp,) str
        Blendshape names (ARKit naming for the default model, e.g. ``'jawOpen'``).
    landmark_indices : (68,) int64
        Vertex index of each iBUG / Multi-PIE 68-point landmark, in iBUG order (0-based).
    triangles : (T, 3) int32
        Triangle vertex indices, counter-clockwise seen from outside the face.
    mirror_indices : (N,) int64
        Vertex at the mirrored position (x -> -x) of each vertex; an involution.
    hole_triangles : (H, 3) int32
        Triangles that close the eye and mouth openings, for renderers that want to fill
        them (e.g. a dark mouth interior when the jaw opens). Empty if none.
    name : str
        Short name of the model, e.g. ``'ict-facekit'``.
    source : str
        Where the model comes from (repository, commit, licence).
    """

    mean: np.ndarray
    identity_basis: np.ndarray
    identity_variance: np.ndarray
    expression_basis: np.ndarray
    expression_names: tuple[str, ...]
    landmark_indices: np.ndarray
    triangles: np.ndarray
    mirror_indices: np.ndarray
    hole_triangles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int32))
    name: str = "model"
    source: str = ""

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean)
        if mean.ndim != 2 or mean.shape[1] != 3 or mean.shape[0] < 3:
            raise ValueError(f"mean: expected shape (N, 3) with N >= 3, got {mean.shape}")
        n = mean.shape[0]
        identity = _as_basis(self.identity_basis, n, "identity_basis")
        expression = _as_basis(self.expression_basis, n, "expression_basis")
        variance = np.asarray(self.identity_variance, dtype=np.float64)
        if variance.shape != (identity.shape[0],):
            raise ValueError(f"identity_variance: expected shape ({identity.shape[0]},), got {variance.shape}")
        if np.any(~np.isfinite(variance)) or np.any(variance <= 0):
            raise ValueError("identity_variance: expected finite, positive variances")
        names = tuple(str(s) for s in np.asarray(self.expression_names, dtype=str).ravel())
        if len(names) != expression.shape[0]:
            raise ValueError(f"expression_names: {len(names)} names for {expression.shape[0]} blendshapes")
        if len(set(names)) != len(names):
            raise ValueError("expression_names: expected unique names")
        landmarks = _as_indices(self.landmark_indices, n, "landmark_indices", ndim=1)
        triangles = _as_indices(self.triangles, n, "triangles", ndim=2)
        holes = _as_indices(self.hole_triangles, n, "hole_triangles", ndim=2)
        mirror = _as_indices(self.mirror_indices, n, "mirror_indices", ndim=1)
        if mirror.shape != (n,):
            raise ValueError(f"mirror_indices: expected shape ({n},), got {mirror.shape}")
        if not np.array_equal(mirror[mirror], np.arange(n)):
            raise ValueError("mirror_indices: expected an involution (mirror[mirror[i]] == i)")
        set_ = functools.partial(object.__setattr__, self)
        set_("mean", _frozen(mean, np.float64))
        # float32 bases: half the memory, and shape() runs about 5x faster than in float64
        # (measured with numpy 2.4 / OpenBLAS) at an error near 1e-6 of the displacement.
        set_("identity_basis", _frozen(identity, np.float32))
        set_("identity_variance", _frozen(variance, np.float64))
        set_("expression_basis", _frozen(expression, np.float32))
        set_("expression_names", names)
        set_("landmark_indices", _frozen(landmarks, np.int64))
        set_("triangles", _frozen(triangles, np.int32))
        set_("hole_triangles", _frozen(holes.reshape(-1, 3), np.int32))
        set_("mirror_indices", _frozen(mirror, np.int64))
        set_("name", str(self.name))
        set_("source", str(self.source))

    @property
    def n_vertices(self) -> int:
        """Number of mesh vertices N."""
        return self.mean.shape[0]

    @property
    def n_identity(self) -> int:
        """Number of identity components K_id."""
        return self.identity_basis.shape[0]

    @property
    def n_expression(self) -> int:
        """Number of expression blendshapes K_exp (0 for a shape-only model such as LSFM)."""
        return self.expression_basis.shape[0]

    def shape(self, identity: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """Build a face shape from identity and expression coefficients.

        Eq. 1, extended by expressions: ``s = s_bar + U_s p + U_e q``.

        Parameters
        ----------
        identity : (k,) or (B, k) array, optional
            Identity coefficients ``p`` for the first ``k <= n_identity`` components, in
            units of the basis (standard deviations for the default model). None: zeros.
        expression : (k,) or (B, k) array, optional
            Blendshape weights ``q`` for the first ``k <= n_expression`` blendshapes. None:
            zeros (neutral).

        Returns
        -------
        (N, 3) float64, or (B, N, 3) if either coefficient array is batched.
        """
        flat = self.mean.reshape(-1)
        batch = None
        offset = np.zeros_like(flat)
        for coeffs, basis, label in (
            (identity, self.identity_basis, "identity"),
            (expression, self.expression_basis, "expression"),
        ):
            if coeffs is None:
                continue
            coeffs = np.asarray(coeffs, dtype=np.float32)
            if coeffs.ndim not in (1, 2) or coeffs.shape[-1] > basis.shape[0]:
                raise ValueError(
                    f"{label}: expected shape (k,) or (B, k) with k <= {basis.shape[0]}, got {coeffs.shape}"
                )
            k = coeffs.shape[-1]
            # (k, 3N) view of the basis: one matrix-vector product per call.
            offset = offset + coeffs @ basis[:k].reshape(k, flat.size)  # float32 product
            if coeffs.ndim == 2:
                batch = coeffs.shape[0]
        out = flat + offset
        return out.reshape(-1, self.n_vertices, 3) if batch is not None else out.reshape(-1, 3)

    def landmarks(self, shape: np.ndarray) -> np.ndarray:
        """Select the 68 iBUG landmark vertices of a shape.

        These are the 3D points projected in the landmark term of Eq. 4.

        Parameters
        ----------
        shape : (N, 3) or (B, N, 3) array
            A shape of this model, e.g. from :meth:`shape`.

        Returns
        -------
        (68, 3) or (B, 68, 3) array, same units as ``shape``.
        """
        shape = np.asarray(shape)
        if shape.ndim not in (2, 3) or shape.shape[-2:] != (self.n_vertices, 3):
            raise ValueError(f"shape: expected (N, 3) or (B, N, 3) with N = {self.n_vertices}, got {shape.shape}")
        return shape[..., self.landmark_indices, :]

    def expression_index(self, name: str) -> int:
        """Return the position of the blendshape called ``name`` in the expression basis."""
        try:
            return self.expression_names.index(name)
        except ValueError:
            raise ValueError(
                f"expression name {name!r} not in model {self.name!r}; "
                f"known: {', '.join(self.expression_names) or 'none'}"
            ) from None

    def expression_vector(self, weights: dict[str, float]) -> np.ndarray:
        """Turn ``{'jawOpen': 0.5, ...}`` into a (K_exp,) weight vector for :meth:`shape`."""
        out = np.zeros(self.n_expression)
        for name, value in weights.items():
            out[self.expression_index(name)] = float(value)
        return out

    def sample_identity(self, n: int | None = None, seed: int = 0) -> np.ndarray:
        """Draw identity coefficients from the prior N(0, Sigma_s).

        Parameters
        ----------
        n : int, optional
            Number of samples; None returns one (K_id,) vector.
        seed : int
            Seed of the random generator.

        Returns
        -------
        (K_id,) or (n, K_id) float64, coefficients for :meth:`shape`.
        """
        rng = np.random.default_rng(seed)
        size = (self.n_identity,) if n is None else (int(n), self.n_identity)
        return rng.standard_normal(size) * np.sqrt(self.identity_variance)


def _as_basis(basis: np.ndarray, n: int, label: str) -> np.ndarray:
    basis = np.asarray(basis)
    if basis.ndim == 2 and basis.shape[0] == 0:
        basis = basis.reshape(0, n, 3)
    if basis.ndim != 3 or basis.shape[1:] != (n, 3):
        raise ValueError(f"{label}: expected shape (K, {n}, 3), got {basis.shape}")
    if not np.all(np.isfinite(basis)):
        raise ValueError(f"{label}: contains non-finite values")
    return basis


def _as_indices(indices: np.ndarray, n: int, label: str, ndim: int) -> np.ndarray:
    indices = np.asarray(indices)
    if ndim == 2 and indices.size == 0:
        indices = indices.reshape(0, 3)
    if indices.ndim != ndim or (ndim == 2 and indices.shape[1] != 3):
        expected = "(M,)" if ndim == 1 else "(M, 3)"
        raise ValueError(f"{label}: expected shape {expected}, got {indices.shape}")
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"{label}: expected integer indices, got {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"{label}: expected indices in [0, {n}), got [{indices.min()}, {indices.max()}]")
    return indices.astype(np.int64)


def save_model(model: MorphableModel, path: str | Path, compact: bool = False) -> Path:
    """Write a morphable model to an ``.npz`` file (no pickles).

    Parameters
    ----------
    model : MorphableModel
    path : str or Path
        Destination; ``.npz`` is appended by numpy if missing.
    compact : bool
        Store the identity and expression bases as float16 (about 0.1 mm resolution for
        displacements of a few cm), compressed. Used for the packaged default asset.

    Returns
    -------
    Path of the written file.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    basis_dtype = np.float16 if compact else np.float32
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "name": np.array(model.name),
        "source": np.array(model.source),
        "mean": model.mean,
        "identity_basis": model.identity_basis.astype(basis_dtype),
        "identity_variance": model.identity_variance,
        "expression_basis": model.expression_basis.astype(basis_dtype),
        "expression_names": np.array(model.expression_names, dtype=str).reshape(-1),
        "landmark_indices": model.landmark_indices,
        "triangles": model.triangles,
        "mirror_indices": model.mirror_indices.astype(np.int32),
        "hole_triangles": model.hole_triangles,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_model(path: str | Path) -> MorphableModel:
    """Read a morphable model written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
        An ``.npz`` file.

    Returns
    -------
    MorphableModel (float64 mean, float32 bases).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such model file")
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in _ARRAY_FIELDS if key not in data.files]
        if missing:
            raise ValueError(f"{path}: not a morphable model file, missing {', '.join(missing)}")
        version = int(data["format_version"]) if "format_version" in data.files else 0
        if version > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than {FORMAT_VERSION}")
        fields = {key: data[key] for key in _ARRAY_FIELDS}
        name = str(data["name"]) if "name" in data.files else path.stem
        source = str(data["source"]) if "source" in data.files else ""
    fields["expression_names"] = tuple(str(s) for s in fields["expression_names"])
    return MorphableModel(**fields, name=name, source=source)


@functools.lru_cache(maxsize=1)
def load_default() -> MorphableModel:
    """Load the packaged ICT-FaceKit face model (cached; arrays are read-only).

    The default stand-in for LSFM (Sec. 3.4.2): 100 identity components, 53 ARKit-named
    expression blendshapes, 68 iBUG landmark vertices, centimetres.
    """
    resource = importlib.resources.files("affect") / "assets" / DEFAULT_ASSET
    with importlib.resources.as_file(resource) as path:
        return load_model(path)


def load_lsfm(
    path: str | Path,
    landmark_indices: np.ndarray | None = None,
    scale: float = 1.0,
    name: str = "lsfm",
) -> MorphableModel:
    """Load an LSFM shape model (``.mat``) as a shape-only morphable model.

    Sec. 3.4.2: the paper's 3DMM is the identity subspace of LSFM. The file is read with
    menpo3d's importer (keys ``mean``, ``trilist``, ``components``, ``eigenvalues``,
    ``n_training_samples``). LSFM's components are orthonormal, so ``identity_variance`` holds
    the eigenvalues. LSFM has no expression basis (0 blendshapes) and its template is not
    guaranteed to be symmetric, so the mirror map is the nearest vertex to each reflected
    vertex, kept only where that pairing is mutual (others map to themselves).

    Parameters
    ----------
    path : str or Path
        The LSFM ``.mat`` file.
    landmark_indices : (68,) int array, optional
        iBUG-68 vertex indices. If None, the file must hold them under ``landmark_indices``
        or ``landmarks`` (0-based).
    scale : float
        Factor applied to the mean and components, e.g. 0.1 for a model in millimetres so
        that it matches the default model's centimetres. Eigenvalues scale by ``scale**2``.
    name : str
        Name given to the model.

    Returns
    -------
    MorphableModel
    """
    import menpo3d.io  # import after affect: affect applies menpo's numpy/scipy shims
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such LSFM file")
    if not scale > 0:
        raise ValueError(f"scale: expected a positive number, got {scale}")
    if landmark_indices is None:
        extra = loadmat(str(path), variable_names=["landmark_indices", "landmarks"])
        key = next((k for k in ("landmark_indices", "landmarks") if k in extra), None)
        if key is None:
            raise ValueError(f"{path}: no landmark indices in the file; pass landmark_indices (68 vertex ids)")
        landmark_indices = extra[key]
    landmark_indices = np.asarray(landmark_indices).ravel()
    if landmark_indices.shape != (N_LANDMARKS,):
        raise ValueError(f"landmark_indices: expected 68 indices, got {landmark_indices.shape}")
    try:
        pca = menpo3d.io.import_lsfm_model(path)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: not an LSFM model file ({error})") from error
    template = pca.mean()
    mean = np.asarray(template.points, dtype=np.float64) * scale
    n = mean.shape[0]
    components = np.asarray(pca.components, dtype=np.float64).reshape(-1, n, 3) * scale
    return MorphableModel(
        mean=mean,
        identity_basis=components,
        identity_variance=np.asarray(pca.eigenvalues, dtype=np.float64) * scale**2,
        expression_basis=np.zeros((0, n, 3)),
        expression_names=(),
        landmark_indices=landmark_indices.astype(np.int64),
        triangles=np.asarray(template.trilist, dtype=np.int32),
        mirror_indices=mirror_vertex_map(mean),
        name=name,
        source=f"LSFM shape model read from {path.name}",
    )


def mirror_vertex_map(points: np.ndarray, tolerance: float | None = None) -> np.ndarray:
    """Pair each vertex with the vertex nearest to its reflection across the plane x = 0.

    Used to fill texture of self-occluded parts from the other side of the face (Sec. 4.2,
    texture sampling). Only mutual nearest neighbours are paired, so the map is an
    involution; unpaired vertices map to themselves.

    Parameters
    ----------
    points : (N, 3) array
        A template shape, symmetric about x = 0.
    tolerance : float, optional
        Largest accepted distance between a reflected vertex and its partner; None accepts
        any mutual pair.

    Returns
    -------
    (N,) int64 index array with ``m[m] == arange(N)``.
    """
    from scipy.spatial import cKDTree  # a k-d tree keeps this O(N log N) for 50k-vertex LSFM

    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points: expected shape (N, 3), got {points.shape}")
    distance, nearest = cKDTree(points).query(points * np.array([-1.0, 1.0, 1.0]))
    n = len(points)
    identity = np.arange(n)
    ok = nearest[nearest] == identity
    if tolerance is not None:
        ok &= distance <= tolerance
        ok &= ok[nearest]
    return np.where(ok, nearest, identity).astype(np.int64)
