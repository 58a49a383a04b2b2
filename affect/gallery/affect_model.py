"""The affect model: mean faces of VA classes and basic expressions (Sec. 4.5.1, 4.5.3).

The paper's affect synthesis model ``M_Aff`` turns an affect into an expressive face. It
is built from the VA-annotated 4D gallery: the gallery's VA labels are clustered into 550
classes (:mod:`affect.gallery.va_classes`), and each class is represented by its *mean face*; the
2,000 posed apex meshes of each basic expression give one mean face per expression
(Sec. 4.5.1). Synthesis (Sec. 4.5.2) retrieves the mean face of the class a VA point
belongs to, or of the chosen expression, and adds it to the face reconstructed from a
photo (Sec. 4.3).

Here a mean face is stored as a mean *deformation*: the mean, over the class's frames, of
each frame's mesh minus its subject's neutral mesh. This is the paper's
``delta_s = s_gen - s_template`` with the identity removed frame by frame rather than
through the template, so a class mean carries no trace of the gallery subjects' identity,
which is the reason the paper gives for averaging (Sec. 4.5.1).

Optionally (off by default, since a fit per class is slow) a sparse localized blendshape
model (Sec. 4.5.3, :mod:`affect.gallery.sparse_blendshapes`) is fitted to the deformations of the six
expressions and of chosen VA classes, to draw varied deformations around a mean face.

Building at the paper's scale never holds all deformations in memory: 600,000 frames of
9,409 vertices would take 68 GB as float32. Means are accumulated block by block; for a
gallery stored as model coefficients, where a deformation is linear in the blendshape
weights (``U_e q``), the mean deformation of a class is the basis applied to the class's
mean weights, which is exact and reads no mesh at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affect import data_paths
from affect.files import read_npz
from affect.gallery.fourdfab import Gallery, atomic_write
from affect.gallery.sparse_blendshapes import SparseComponents, fit_sparse_components
from affect.gallery.va_classes import DEFAULT_GRID_STEP, N_CLASSES, VAClasses, class_means, fit_va_classes
from affect.profiles import PROFILES, Profile
from affect.vocabulary import BASIC_EXPRESSIONS

__all__ = [
    "AffectModel",
    "AffectModelError",
    "build_affect_model",
    "default_affect_model_path",
    "ensure_default_affect_model",
]

#: Where the kit keeps the affect model: beside the stand-in gallery of the default profile,
#: which notebook 00 (``make reproduce``) builds (see :mod:`affect.data_paths`).
#: Environment variable that overrides :func:`default_affect_model_path`.
AFFECT_MODEL_ENV = "AFFECT_MODEL"

FORMAT = "affect-model"
FORMAT_VERSION = 1
_SPARSE_FIELDS = ("components", "weights", "centres", "mean", "energy")
_MODEL_FIELDS = (
    "format",
    "version",
    "face_model",
    "class_means",
    "expression_means",
    "expression_names",
    "sparse_keys",
)
# Rows of blendshape weights per block on the coefficient route (53 floats per row).
_COEFFICIENT_BLOCK = 65_536
# Gallery frames per block on the mesh route: 512 x 9,409 x 3 float32 = 58 MB per block.
_DEFORMATION_BLOCK = 512


class AffectModelError(FileNotFoundError):
    """No affect model where one was expected; the message says how to build it."""


@dataclass(frozen=True, eq=False)
class AffectModel:
    """Mean deformations per VA class and per basic expression (Sec. 4.5.1).

    Attributes
    ----------
    va_classes : VAClasses
        The K classes of the gallery's VA space and the class of every gallery frame.
    class_means : (K, N, 3) float32
        Mean deformation (mesh minus the subject's neutral mesh) of each class's frames, in
        the gallery's units (cm for the default model).
    expression_means : (E, N, 3) float32
        Mean deformation of the apex meshes of each expression in ``expression_names``.
    expression_names : tuple of str
        The basic expressions the gallery has apex meshes for (at most the six of
        :data:`affect.vocabulary.BASIC_EXPRESSIONS`, in that order).
    sparse : mapping of str to SparseComponents
        Optional blendshape models (Sec. 4.5.3) keyed ``"class:<k>"`` or
        ``"expression:<name>"``, to sample variation around a mean.
    face_model : str
        Name of the morphable model whose topology the deformations use.
    """

    va_classes: VAClasses
    class_means: np.ndarray
    expression_means: np.ndarray
    expression_names: tuple[str, ...]
    sparse: Mapping[str, SparseComponents] = field(default_factory=dict)
    face_model: str = ""

    def __post_init__(self) -> None:
        means = np.asarray(self.class_means, dtype=np.float32)
        if means.ndim != 3 or means.shape[2] != 3 or len(means) != self.va_classes.n_classes:
            raise ValueError(f"class_means: expected shape ({self.va_classes.n_classes}, N, 3), got {means.shape}")
        expressions = np.asarray(self.expression_means, dtype=np.float32).reshape(-1, *means.shape[1:])
        if len(expressions) != len(self.expression_names):
            raise ValueError(
                f"expression_means: {len(expressions)} rows for {len(self.expression_names)} expression_names"
            )
        unknown = [e for e in self.expression_names if e not in BASIC_EXPRESSIONS]
        if unknown:
            raise ValueError(f"expression_names: {unknown[0]!r} is not one of {BASIC_EXPRESSIONS}")
        for array in (means, expressions):
            array.setflags(write=False)
        object.__setattr__(self, "class_means", means)
        object.__setattr__(self, "expression_means", expressions)
        object.__setattr__(self, "expression_names", tuple(self.expression_names))
        object.__setattr__(self, "sparse", dict(self.sparse))

    @property
    def n_vertices(self) -> int:
        """Vertices N of every deformation."""
        return self.class_means.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of VA classes K."""
        return len(self.class_means)

    # ----------------------------------------------------------------------- retrieval
    def va_class(self, valence: float, arousal: float) -> int:
        """Return the VA class a point belongs to (Sec. 4.5.2); ValueError outside [-1, 1]."""
        _check_va(valence, arousal)
        return int(self.va_classes.lookup(valence, arousal))

    def delta_for_va(self, valence: float, arousal: float) -> np.ndarray:
        """Return the mean face of the class of a VA point, as a deformation (static synthesis).

        Sec. 4.5.2: "we retrieve the mean face of the class to which this VA value belongs".

        Parameters
        ----------
        valence, arousal : float in [-1, 1]

        Returns
        -------
        (N, 3) float64, model units.
        """
        return self.class_means[self.va_class(valence, arousal)].astype(np.float64)

    def delta_for_path(self, va: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Return the mean face of the class of every point of a VA path (temporal synthesis).

        Sec. 4.5.2: one mean face per point of the path the user draws.

        Parameters
        ----------
        va : (T, 2) float in [-1, 1]
            Valence and arousal of each frame.

        Returns
        -------
        (T, N, 3) float64, model units.
        """
        path = check_va_path(va)
        classes = np.asarray(self.va_classes.lookup(path[:, 0], path[:, 1]), dtype=np.int64)
        return self.class_means[classes].astype(np.float64)

    def delta_for_expression(self, name: str) -> np.ndarray:
        """Return the mean face of a basic expression, as a deformation (Sec. 4.5.1, 4.5.2).

        Parameters
        ----------
        name : str
            One of anger, disgust, fear, happiness, sadness, surprise.

        Returns
        -------
        (N, 3) float64, model units.
        """
        return self.expression_means[self._expression_index(name)].astype(np.float64)

    def sample_delta(self, target: int | str, seed: int = 0) -> np.ndarray:
        """Draw one deformation around a mean face from its sparse blendshape model (Sec. 4.5.3).

        Parameters
        ----------
        target : int or str
            A VA class index, or a basic expression name.
        seed : int
            Seed of the draw.

        Returns
        -------
        (N, 3) float64, model units.
        """
        return self.sparse_model(target).sample(1, np.random.default_rng(seed))[0]

    def sparse_model(self, target: int | str) -> SparseComponents:
        """The sparse blendshape model of a VA class index or a basic expression (Sec. 4.5.3)."""
        key = self._sparse_key(target)
        if key not in self.sparse:
            have = ", ".join(sorted(self.sparse)) or "none"
            raise ValueError(
                f"target: no sparse blendshape model for {key!r} (the model has: {have}); "
                f"build it with sparse_components > 0"
            )
        return self.sparse[key]

    def _expression_index(self, name: str) -> int:
        if name not in BASIC_EXPRESSIONS:
            raise ValueError(f"expression: {name!r} is not one of {', '.join(BASIC_EXPRESSIONS)}")
        if name not in self.expression_names:
            raise ValueError(f"expression: the gallery of this affect model had no apex meshes of {name!r}")
        return self.expression_names.index(name)

    def _sparse_key(self, target: int | str) -> str:
        if isinstance(target, str):
            self._expression_index(target)
            return f"expression:{target}"
        if isinstance(target, bool) or int(target) != target or not 0 <= target < self.n_classes:
            raise ValueError(f"target: expected a class in [0, {self.n_classes}) or an expression, got {target!r}")
        return f"class:{int(target)}"

    # ---------------------------------------------------------------------------- I/O
    def save(self, path: str | os.PathLike) -> Path:
        """Save the model to one ``.npz`` file, atomically.

        Mean deformations are stored as float16, which halves the file (the 550 class
        means of the default model take 31 MB instead of 62 MB): float16 resolves 1/1024
        of a value, under 0.02 mm for deformations up to 2 cm, far below what a rendered
        face shows. Sparse components are stored as float32.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"{path}: an affect model is saved as .npz")
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "version": np.array(FORMAT_VERSION),
            "face_model": np.array(self.face_model),
            "class_means": self.class_means.astype(np.float16),
            "expression_means": self.expression_means.astype(np.float16),
            "expression_names": np.array(self.expression_names, dtype=str),
            "sparse_keys": np.array(sorted(self.sparse), dtype=str),
        }
        arrays.update(self.va_classes.to_arrays(prefix="va_classes."))
        for i, key in enumerate(sorted(self.sparse)):
            for name in _SPARSE_FIELDS:
                value = np.asarray(getattr(self.sparse[key], name))
                arrays[f"sparse.{i}.{name}"] = value.astype(np.float32) if value.dtype.kind == "f" else value
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> AffectModel:
        """Load a model saved by :meth:`save`.

        AffectModelError if the file is missing; a one-line ValueError naming the file if it
        is empty, truncated, another ``.npz`` or a newer format.
        """
        path = Path(path)
        if not path.is_file():
            raise AffectModelError(f"{path}: no affect model; {build_hint(path)}")
        data = read_npz(path, _MODEL_FIELDS, "an affect model (written by 'affect affect-model')")
        if str(data["format"]) != FORMAT or data["version"].dtype.kind not in "iu":
            raise ValueError(f"{path}: not an affect model file")
        if int(data["version"]) > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {int(data['version'])} is newer than {FORMAT_VERSION}")
        try:
            classes = VAClasses.from_arrays(data, prefix="va_classes.")
            sparse = {}
            for i, key in enumerate(str(k) for k in data["sparse_keys"]):
                parts = {name: np.array(data[f"sparse.{i}.{name}"]) for name in _SPARSE_FIELDS}
                for name in ("components", "weights", "mean", "energy"):
                    parts[name] = parts[name].astype(np.float64)
                sparse[key] = SparseComponents(**parts)
            return cls(
                va_classes=classes,
                class_means=data["class_means"].astype(np.float32),
                expression_means=data["expression_means"].astype(np.float32),
                expression_names=tuple(str(s) for s in data["expression_names"]),
                sparse=sparse,
                face_model=str(data["face_model"]),
            )
        except KeyError as error:
            raise ValueError(f"{path}: not a complete affect model (missing {error})") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: not an affect model file ({error})") from None


def default_affect_model_path() -> Path:
    """Return where the affect model is looked for: ``$AFFECT_MODEL``, else the default
    stand-in gallery's model (seed 0) under the data folder; read at call time."""
    override = os.environ.get(AFFECT_MODEL_ENV)
    return Path(override) if override else data_paths.affect_model_path("proxy", "default")


def ensure_affect_model(
    data_source: str, profile: Profile, seed: int = 0, *, rebuild: bool = False, progress: bool = True
) -> Path:
    """The affect model of a run, built from its gallery if it is not there yet (Sec. 4.5.1).

    With ``data_source='proxy'`` a missing gallery is first written as the procedural stand-in
    at the profile's size; with ``'real'`` the gallery must exist (see data/README.md).
    ``rebuild`` builds the model again even if it exists (notebook 00 does, unless it reuses
    results).
    """
    from affect.gallery.proxy import is_stale, prepare_gallery

    path = data_paths.affect_model_path(data_source, profile.name, seed)
    # (a first-use model, built without sparse components, is completed here; a stand-in
    # gallery drawn with an older affect mapping is written again, and its models with it)
    stale = data_source == "proxy" and is_stale(path.parent)
    if path.exists() and not (rebuild or stale) and not (profile.sparse_components and not _has_sparse(path)):
        return path
    gallery = prepare_gallery(None, profile, seed, data_source)
    model = build_affect_model(
        gallery,
        n_classes=profile.n_va_classes,
        sparse_components=profile.sparse_components,
        seed=seed,
        progress=progress,
    )
    return model.save(path)


def _has_sparse(path: Path) -> bool:
    """Whether the model file at ``path`` holds sparse blendshape models (False if unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return len(data["sparse_keys"]) > 0
    except (OSError, ValueError, KeyError):
        return False


#: Profile of the stand-in gallery behind the default affect model.
DEFAULT_PROFILE: Profile = PROFILES["default"]


def ensure_default_affect_model(progress: bool = True, profile: Profile | None = None) -> Path:
    """The default affect model (:func:`default_affect_model_path`), built on first use.

    A fresh clone has no affect model. With ``$AFFECT_MODEL`` unset and none at the default
    path, the stand-in gallery of the default profile is written and its affect model built
    there (Sec. 4.5.1; about 20 s on two shared cores), with a message on stderr. The
    sparse blendshape models (Sec. 4.5.3, minutes more) are left out; notebook 00
    (:func:`ensure_affect_model`) adds them when it runs. With ``$AFFECT_MODEL`` set, that
    path is returned as it is (a missing file is reported when it is loaded).
    """
    import sys

    from affect.gallery.proxy import is_stale, prepare_gallery

    path = default_affect_model_path()
    if os.environ.get(AFFECT_MODEL_ENV) or (path.exists() and not is_stale(path.parent)):
        return path
    profile = profile or DEFAULT_PROFILE
    print(
        f"affect: no affect model yet; building the default one at {path} from the stand-in gallery "
        "(first use only, about half a minute)",
        file=sys.stderr,
        flush=True,
    )
    gallery = prepare_gallery(None, profile, 0, "proxy")
    model = build_affect_model(gallery, n_classes=profile.n_va_classes, sparse_components=0, seed=0, progress=progress)
    return model.save(path)


def build_hint(path: Path) -> str:
    """One sentence telling how to build the affect model at ``path``."""
    return (
        f"write a gallery with 'affect gallery build --root {path.parent}', then "
        f"'affect affect-model --gallery {path.parent} -o {path}'"
    )


def check_va_path(va: np.ndarray | Sequence[Sequence[float]], name: str = "va") -> np.ndarray:
    """Return a VA path as a (T, 2) float64 array; ValueError naming the first bad point."""
    path = np.asarray(va, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"{name}: expected a non-empty (T, 2) array of valence, arousal; got shape {path.shape}")
    bad = ~(np.abs(path) <= 1.0).all(axis=1)  # also catches NaN
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: point {t} ({path[t, 0]:g}, {path[t, 1]:g}) is outside [-1, 1]")
    return path


def _check_va(valence: float, arousal: float) -> None:
    for label, value in (("valence", valence), ("arousal", arousal)):
        if not (abs(float(value)) <= 1.0):
            raise ValueError(f"{label}: {float(value):g} is outside [-1, 1]")


# ------------------------------------------------------------------------------- building


def build_affect_model(
    gallery: Gallery,
    n_classes: int = N_CLASSES,
    *,
    grid_step: float | None = DEFAULT_GRID_STEP,
    sparse_components: int = 0,
    sparse_classes: Iterable[int] = (),
    max_sparse_samples: int = 400,
    via_coefficients: bool | None = None,
    seed: int = 0,
    progress: bool = True,
) -> AffectModel:
    """Build the affect model from a VA-annotated 4D gallery (Sec. 4.5.1, 4.5.3).

    Clusters the gallery's VA labels into ``n_classes`` Ward classes, then averages the
    frames' deformations per class and the apex deformations per basic expression.

    Parameters
    ----------
    gallery : Gallery
        From :func:`affect.gallery.fourdfab.load_gallery`.
    n_classes : int
        Number of VA classes K (550 in the paper).
    grid_step : float or None
        VA grid that groups frames before clustering (see :func:`affect.gallery.va_classes.fit_va_classes`).
    sparse_components : int
        Components of a sparse blendshape model (Sec. 4.5.3) fitted to each basic
        expression's apex deformations and to each class in ``sparse_classes``; 0: none.
    sparse_classes : iterable of int
        VA classes that get a sparse blendshape model when ``sparse_components > 0``.
    max_sparse_samples : int
        At most this many deformations (drawn with ``seed``) per sparse fit.
    via_coefficients : bool or None
        Average blendshape weights and apply the basis (exact by linearity, reads no
        meshes) instead of streaming deformations. None: when the gallery stores
        coefficients.
    seed : int
        Seed of the subsampling for sparse fits (the means are deterministic).
    progress : bool
        Show progress bars.

    Returns
    -------
    AffectModel
    """
    if len(gallery.frames) == 0:
        raise ValueError(f"gallery: {gallery.root} has no annotated frames")
    if int(sparse_components) != sparse_components or sparse_components < 0:
        raise ValueError(f"sparse_components: expected a non-negative integer, got {sparse_components!r}")
    if int(max_sparse_samples) != max_sparse_samples or max_sparse_samples < 1:
        raise ValueError(f"max_sparse_samples: expected a positive integer, got {max_sparse_samples!r}")
    coefficients = gallery.manifest.storage == "coefficients"
    if via_coefficients is None:
        via_coefficients = coefficients
    elif via_coefficients and not coefficients:
        raise ValueError(f"via_coefficients: {gallery.root} stores meshes, not model coefficients")
    classes = fit_va_classes(gallery.va, n_classes, grid_step=grid_step)
    sparse_classes = sorted({int(k) for k in sparse_classes})
    if sparse_classes and not (0 <= sparse_classes[0] and sparse_classes[-1] < n_classes):
        raise ValueError(f"sparse_classes: expected classes in [0, {n_classes})")

    if via_coefficients:
        means = _class_means_via_coefficients(gallery, classes.labels, n_classes, progress)
    else:
        means = _class_means_streamed(gallery, classes.labels, n_classes, progress)
    names = tuple(e for e in BASIC_EXPRESSIONS if (gallery.apex_index["expression"] == e).any())
    expression_means = (
        np.stack([_expression_mean(gallery, e, via_coefficients) for e in names])
        if names
        else np.zeros((0, gallery.n_vertices, 3), np.float32)
    )

    sparse: dict[str, SparseComponents] = {}
    if sparse_components:
        rng = np.random.default_rng(seed)
        rest, triangles = _rest_mesh(gallery)
        jobs = [(f"expression:{e}", None, e) for e in names]
        jobs += [(f"class:{k}", np.flatnonzero(classes.labels == k), None) for k in sparse_classes]
        for key, rows, expression in _progress(jobs, progress, "sparse blendshape models"):
            if expression is not None:
                data = gallery.apex(expression)
                data = data[_subsample(len(data), max_sparse_samples, rng)]
            else:
                data = gallery.deformations(rows[_subsample(len(rows), max_sparse_samples, rng)])
            k = min(int(sparse_components), gallery.n_vertices)
            sparse[key] = fit_sparse_components(data, k, vertices=rest, triangles=triangles, center=True)
    model_name = gallery.model.name if gallery.model is not None else gallery.manifest.model
    return AffectModel(
        classes, means.astype(np.float32), expression_means.astype(np.float32), names, sparse, face_model=model_name
    )


def _class_means_via_coefficients(gallery: Gallery, labels: np.ndarray, k: int, progress: bool) -> np.ndarray:
    """Class means of ``U_e q``: the basis applied to each class's mean weights (exact, linear)."""
    n = len(labels)
    starts = range(0, n, _COEFFICIENT_BLOCK)
    blocks = (
        gallery.coefficients(np.arange(s, min(s + _COEFFICIENT_BLOCK, n)))
        for s in _progress(starts, progress, "class means (coefficients)")
    )
    weights = class_means(labels, blocks, k)
    used = weights.shape[1]  # a gallery may store weights of the first K_exp' <= K_exp blendshapes
    basis = gallery.model.expression_basis[:used].reshape(used, -1).astype(np.float64)
    return (weights @ basis).reshape(k, gallery.n_vertices, 3)


def _class_means_streamed(gallery: Gallery, labels: np.ndarray, k: int, progress: bool) -> np.ndarray:
    """Class means of deformations read block by block (never all in memory)."""
    blocks = gallery.iter_deformations(chunk_size=_DEFORMATION_BLOCK)
    total = -(-len(labels) // _DEFORMATION_BLOCK)
    return class_means(labels, _progress(blocks, progress, "class means", total), k)


def _expression_mean(gallery: Gallery, expression: str, via_coefficients: bool) -> np.ndarray:
    """Mean apex deformation of one basic expression (Sec. 4.5.1)."""
    if via_coefficients:
        weights = gallery.apex_coefficients(expression).astype(np.float64).mean(axis=0)
        basis = gallery.model.expression_basis[: len(weights)].reshape(len(weights), -1).astype(np.float64)
        return (weights @ basis).reshape(gallery.n_vertices, 3)
    return gallery.apex(expression).astype(np.float64).mean(axis=0)


def _rest_mesh(gallery: Gallery) -> tuple[np.ndarray, np.ndarray | None]:
    """A rest mesh for the locality term of sparse fits: the model's mean, else a neutral mesh."""
    if gallery.model is not None:
        return np.asarray(gallery.model.mean, np.float64), np.asarray(gallery.model.triangles)
    return gallery.neutral(str(gallery.subjects["subject"].iloc[0])), None


def _subsample(n: int, at_most: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= at_most else np.sort(rng.choice(n, at_most, replace=False))


def _progress(items, enabled: bool, description: str, total: int | None = None):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=description, total=total, leave=False)
