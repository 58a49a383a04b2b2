"""The VA-annotated 4D face gallery (Sec. 3.1 to 3.3): on-disk layout, loader and export.

The paper's gallery is 4DFAB (Cheng et al., CVPR 2018): 180 subjects, 1,580 spontaneous
3D sequences at 60 fps (about 600,000 frames) annotated frame by frame with valence and
arousal by three experts, whose mean is the label (Sec. 3.2), plus 12,000 posed apex meshes,
2,000 per basic expression (Sec. 3.1). Every mesh is registered to the template of the
morphable model, so all share one topology (Sec. 3.3). The format 4DFAB is distributed in
is not public, so this kit defines its own layout, below. A copy of 4DFAB (or any 4D
database) brought into dense correspondence with the model can be arranged in it and read
by :func:`load_gallery`; the kit's stand-in (``affect.gallery.proxy``) is written in it.

Layout
------
::

    <root>/
      gallery.json                  manifest (see below)
      subjects.csv                  subject,sex,age          (sex: F or M; age in years)
      sequences/<subject>/<sequence>/
        va.csv                      frame,valence_a1,arousal_a1,...,valence_aK,arousal_aK,
                                    valence,arousal          (one row per frame, in order;
                                    frame: integer, increasing; values in [-1, 1];
                                    valence/arousal: the label, the annotators' mean)
        meshes.npz                  storage "meshes", mesh_format "npz": array `vertices`
                                    (F, N, 3) float, row i = row i of va.csv
        meshes/<frame:06d>.obj      storage "meshes", mesh_format "obj": one mesh per frame
        expression.npz              storage "coefficients": array `weights` (F, K_exp)
      neutral/<subject>.obj|.npz    storage "meshes": the subject's neutral mesh (npz: `vertices`)
      apex/<expression>/            expression in anger, disgust, fear, happiness, sadness, surprise
        <subject>_<k:04d>.obj|.npz  storage "meshes": posed apex meshes
        expression.npz              storage "coefficients": arrays `subject` (n,) str and
                                    `weights` (n, K_exp)
      identity.npz                  storage "coefficients": arrays `subject` (S,) str and
                                    `identity` (S, K_id)

``gallery.json`` holds ``format`` (``"affect-4d-gallery"``), ``version`` (1), ``storage``
(``"meshes"`` or ``"coefficients"``), ``fps``, ``annotators`` (K), ``n_vertices`` and, for
mesh storage, ``mesh_format`` (``"obj"`` or ``"npz"``); for coefficient storage ``model``
(the morphable model's name) and optionally ``seed``; ``complete`` is false while a writer
is still filling the folder.

Two storages, one interface
---------------------------
Meshes are all in the morphable model's topology (N vertices, model units: cm for the
default model). *Mesh storage* keeps the vertices themselves, as a registered real database
would. *Coefficient storage* keeps what reproduces every mesh exactly from the model:
identity coefficients per subject and blendshape weights per frame, so that the paper-scale
stand-in (600,000 meshes, about 68 GB as float32 vertices) takes tens of megabytes; meshes
are computed on request (:meth:`Gallery.meshes`) or written out (:func:`export_meshes`).
Either way :class:`Gallery` gives the frames and their labels, the meshes, and the
deformations of Sec. 4.3 / 4.5.1 (mesh minus the subject's neutral mesh).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from affect.face.morphable_model import MorphableModel
from affect.files import atomic_write
from affect.vocabulary import BASIC_EXPRESSIONS

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PAPER_ANNOTATOR_CORRELATIONS",
    "GalleryFormatError",
    "GalleryManifest",
    "Gallery",
    "load_gallery",
    "export_meshes",
    "mean_annotator_correlations",
    "save_manifest",
    "load_manifest",
    "va_columns",
    "atomic_write",
]

FORMAT = "affect-4d-gallery"
FORMAT_VERSION = 1

#: Sec. 3.2: "the mean inter-annotation correlation per annotator was 0.66, 0.70, 0.68 for
#: valence and 0.59, 0.62, 0.59 for arousal" (averages 0.68 and 0.60).
PAPER_ANNOTATOR_CORRELATIONS: dict[str, tuple[float, ...]] = {
    "valence": (0.66, 0.70, 0.68),
    "arousal": (0.59, 0.62, 0.59),
}

_STORAGES = ("meshes", "coefficients")
_MESH_FORMATS = ("obj", "npz")
# Rows per block of deformations: 512 frames x 9,409 vertices x 3 x 4 bytes = 58 MB.
_CHUNK = 512


class GalleryFormatError(ValueError):
    """A gallery file breaks the layout of :mod:`affect.gallery.fourdfab`; the message names the file."""


@dataclass(frozen=True)
class GalleryManifest:
    """The contents of ``gallery.json``.

    Attributes
    ----------
    storage : str
        ``"meshes"`` (vertex arrays or .obj files) or ``"coefficients"`` (model coefficients).
    fps : float
        Frame rate of the sequences (60 for 4DFAB, Sec. 3.1).
    annotators : int
        Number of annotators K with columns ``valence_a<k>``, ``arousal_a<k>`` in va.csv.
    n_vertices : int
        Vertices N of every mesh.
    mesh_format : str
        ``"obj"`` or ``"npz"`` for mesh storage; empty for coefficient storage.
    model : str
        Name of the morphable model the coefficients belong to; empty for mesh storage.
    seed : int or None
        Seed of a generated gallery; None for a recorded one.
    complete : bool
        False while a writer is still filling the folder.
    description : str
        Free text (what the gallery is, where it comes from).
    """

    storage: str
    fps: float
    annotators: int
    n_vertices: int
    mesh_format: str = ""
    model: str = ""
    seed: int | None = None
    complete: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.storage not in _STORAGES:
            raise ValueError(f"storage: expected one of {_STORAGES}, got {self.storage!r}")
        if self.storage == "meshes" and self.mesh_format not in _MESH_FORMATS:
            raise ValueError(f"mesh_format: expected one of {_MESH_FORMATS}, got {self.mesh_format!r}")
        if self.storage == "coefficients" and not self.model:
            raise ValueError("model: coefficient storage needs the name of its morphable model")
        if not self.fps > 0 or self.annotators < 1 or self.n_vertices < 3:
            raise ValueError(
                f"fps, annotators, n_vertices: expected fps > 0, annotators >= 1, n_vertices >= 3; got {self.fps}, "
                f"{self.annotators}, {self.n_vertices}"
            )


def save_manifest(manifest: GalleryManifest, root: str | os.PathLike) -> Path:
    """Write ``<root>/gallery.json`` atomically."""
    data = {"format": FORMAT, "version": FORMAT_VERSION, **manifest.__dict__}
    path = Path(root) / "gallery.json"
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=2).encode()))
    return path


def load_manifest(root: str | os.PathLike) -> GalleryManifest:
    """Read ``<root>/gallery.json``; GalleryFormatError names the file and the problem."""
    path = Path(root) / "gallery.json"
    if not path.is_file():
        raise GalleryFormatError(f"{path}: no gallery manifest (is {root} a gallery folder?)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise GalleryFormatError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GalleryFormatError(f"{path}: expected 'format' {FORMAT!r}")
    if int(data.get("version", 0)) > FORMAT_VERSION:
        raise GalleryFormatError(f"{path}: version {data['version']} is newer than {FORMAT_VERSION}")
    fields = {k: data[k] for k in GalleryManifest.__dataclass_fields__ if k in data}
    try:
        return GalleryManifest(**fields)
    except (TypeError, ValueError) as error:
        raise GalleryFormatError(f"{path}: {error}") from None


def _annotator_columns(k: int) -> list[str]:
    return [f"{dim}_a{i}" for i in range(1, k + 1) for dim in ("valence", "arousal")]


def va_columns(annotators: int) -> list[str]:
    """Column order of ``va.csv`` for ``annotators`` annotators."""
    return ["frame", *_annotator_columns(annotators), "valence", "arousal"]


@dataclass(frozen=True)
class _Sequence:
    subject: str
    sequence: str
    folder: Path
    start: int  # first row in Gallery.frames
    length: int


@dataclass(frozen=True, eq=False)
class Gallery:
    """A VA-annotated 4D face gallery read by :func:`load_gallery`.

    Attributes
    ----------
    root : Path
    manifest : GalleryManifest
    subjects : DataFrame
        Columns subject (str), sex ('F' or 'M'), age (int, years).
    frames : DataFrame
        One row per frame, RangeIndex: subject, sequence, frame, valence, arousal (the
        label), then valence_a<k>, arousal_a<k> per annotator (Sec. 3.2).
    apex_index : DataFrame
        One row per posed apex mesh (Sec. 3.1): expression, subject, k.
    model : MorphableModel or None
        The model of coefficient storage (required there), optional for mesh storage.
    """

    root: Path
    manifest: GalleryManifest
    subjects: pd.DataFrame
    frames: pd.DataFrame
    apex_index: pd.DataFrame
    model: MorphableModel | None = None
    _sequences: tuple[_Sequence, ...] = field(default=(), repr=False)
    _identity: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- rows and labels
    def _positions(self, rows) -> np.ndarray:
        n = len(self.frames)
        if rows is None:
            return np.arange(n)
        if isinstance(rows, (pd.DataFrame, pd.Series)):
            positions = np.asarray(rows.index)
        elif isinstance(rows, slice):
            return np.arange(n)[rows]
        else:
            positions = np.asarray(rows)
        if positions.ndim != 1 or (positions.size and not np.issubdtype(positions.dtype, np.integer)):
            raise ValueError("rows: expected a DataFrame of gallery frames, a slice, or 1-D integer positions")
        if positions.size and (positions.min() < 0 or positions.max() >= n):
            raise ValueError(f"rows: expected positions in [0, {n})")
        return positions.astype(np.int64)

    @property
    def va(self) -> np.ndarray:
        """(n_frames, 2) float64 labels (valence, arousal), the annotators' mean."""
        return self.frames[["valence", "arousal"]].to_numpy(np.float64)

    # ------------------------------------------------------------------------ meshes
    def neutral(self, subject: str) -> np.ndarray:
        """The neutral mesh of ``subject``, (N, 3) float64 in model units."""
        if subject not in set(self.subjects["subject"]):
            raise ValueError(f"subject: {subject!r} is not in {self.root / 'subjects.csv'}")
        if self.manifest.storage == "coefficients":
            return self.model.shape(self._identity[subject])
        return _read_mesh(self.root / "neutral", subject, self.manifest, self.n_vertices)

    @property
    def n_vertices(self) -> int:
        """Vertices N of every mesh."""
        return self.manifest.n_vertices

    def coefficients(self, rows=None) -> np.ndarray:
        """Blendshape weights of frames, (n, K_exp) float32 (coefficient storage only).

        By linearity of the model the mean deformation of a set of frames is the expression
        basis applied to their mean weights, which the VA classes of Sec. 4.5.1 can use.
        """
        self._need_coefficients("coefficients")
        positions = self._positions(rows)
        out = np.empty((len(positions), self.model.n_expression), np.float32)
        for sequence, where, local in self._by_sequence(positions):
            out[where] = _load_npz(sequence.folder / "expression.npz", "weights")[local]
        return out

    def identity(self, subject: str) -> np.ndarray:
        """Identity coefficients of ``subject``, (K_id,) float32 (coefficient storage only)."""
        self._need_coefficients("identity")
        if subject not in self._identity:
            raise ValueError(f"subject: {subject!r} has no identity in {self.root / 'identity.npz'}")
        return self._identity[subject]

    def meshes(self, rows=None) -> np.ndarray:
        """Meshes of frames, (n, N, 3) float64 in model units (keep ``rows`` small).

        Parameters
        ----------
        rows : DataFrame (a subset of ``frames``), slice, or (n,) int positions; None: all.
        """
        positions = self._positions(rows)
        out = np.empty((len(positions), self.n_vertices, 3))
        for sequence, where, local in self._by_sequence(positions):
            if self.manifest.storage == "coefficients":
                weights = _load_npz(sequence.folder / "expression.npz", "weights")[local]
                out[where] = self.model.shape(self._identity[sequence.subject], weights)
            else:
                out[where] = self._sequence_meshes(sequence, local)
        return out

    def iter_deformations(self, rows=None, chunk_size: int = _CHUNK) -> Iterator[np.ndarray]:
        """Yield the deformations of frames in order, in blocks of at most ``chunk_size``.

        The deformation of a frame is its mesh minus the neutral mesh of its subject, the
        quantity averaged into the mean face of a VA class (Sec. 4.5.1) and added to a
        reconstructed face (Sec. 4.3). Blocks can be fed to ``va_classes.class_means``.

        Yields
        ------
        (b, N, 3) float32 blocks, b <= chunk_size, in model units.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size: expected >= 1, got {chunk_size}")
        positions = self._positions(rows)
        for start in range(0, len(positions), chunk_size):
            yield self._deformations(positions[start : start + chunk_size])

    def deformations(self, rows=None) -> np.ndarray:
        """Deformations (mesh minus the subject's neutral mesh) of frames, (n, N, 3) float32.

        Computed block by block (see :meth:`iter_deformations`); the result itself must fit
        in memory (about 113 kB per frame for the default model).
        """
        positions = self._positions(rows)
        out = np.empty((len(positions), self.n_vertices, 3), np.float32)
        for start in range(0, len(positions), _CHUNK):
            block = positions[start : start + _CHUNK]
            out[start : start + len(block)] = self._deformations(block)
        return out

    def _deformations(self, positions: np.ndarray) -> np.ndarray:
        out = np.empty((len(positions), self.n_vertices, 3), np.float32)
        if self.manifest.storage == "coefficients":
            # shape(p, q) - shape(p) = U_e q: the identity cancels, so the deformation is
            # the expression basis applied to the weights, computed without the meshes.
            basis = self.model.expression_basis.reshape(self.model.n_expression, -1)
            weights = self.coefficients(positions)
            return (weights @ basis).reshape(len(positions), self.n_vertices, 3)
        for sequence, where, local in self._by_sequence(positions):
            neutral = self.neutral(sequence.subject)
            out[where] = self._sequence_meshes(sequence, local) - neutral
        return out

    def apex(self, expression: str) -> np.ndarray:
        """Deformations of the posed apex meshes of one basic expression (Sec. 3.1).

        Returns
        -------
        (n, N, 3) float32: apex mesh minus the subject's neutral mesh, in the order of
        ``apex_index`` rows of that expression.
        """
        if expression not in BASIC_EXPRESSIONS:
            raise ValueError(f"expression: expected one of {BASIC_EXPRESSIONS}, got {expression!r}")
        rows = self.apex_index[self.apex_index["expression"] == expression]
        folder = self.root / "apex" / expression
        if self.manifest.storage == "coefficients":
            self._need_coefficients("apex")
            weights = _load_npz(folder / "expression.npz", "weights")
            basis = self.model.expression_basis.reshape(self.model.n_expression, -1)
            return (weights.astype(np.float32) @ basis).reshape(len(weights), self.n_vertices, 3)
        out = np.empty((len(rows), self.n_vertices, 3), np.float32)
        neutrals: dict[str, np.ndarray] = {}
        for i, (subject, k) in enumerate(zip(rows["subject"], rows["k"])):
            if subject not in neutrals:
                neutrals[subject] = self.neutral(subject)
            mesh = _read_mesh(folder, f"{subject}_{k:04d}", self.manifest, self.n_vertices)
            out[i] = mesh - neutrals[subject]
        return out

    def apex_coefficients(self, expression: str) -> np.ndarray:
        """Blendshape weights of the apex meshes of one expression, (n, K_exp) (coefficient storage)."""
        self._need_coefficients("apex_coefficients")
        if expression not in BASIC_EXPRESSIONS:
            raise ValueError(f"expression: expected one of {BASIC_EXPRESSIONS}, got {expression!r}")
        return _load_npz(self.root / "apex" / expression / "expression.npz", "weights")

    # ------------------------------------------------------------------- annotations
    def annotator_correlations(self) -> pd.DataFrame:
        """Pearson correlation between every pair of annotators, for valence and arousal.

        Sec. 3.2. Computed over all frames of the gallery pooled together.

        Returns
        -------
        DataFrame with columns dimension ('valence' or 'arousal'), annotator_a, annotator_b
        (1-based), pearson.
        """
        rows = []
        k = self.manifest.annotators
        for dim in ("valence", "arousal"):
            values = self.frames[[f"{dim}_a{i}" for i in range(1, k + 1)]].to_numpy(np.float64)
            r = np.corrcoef(values, rowvar=False) if len(values) > 1 else np.full((k, k), np.nan)
            for i, j in itertools.combinations(range(k), 2):
                rows.append((dim, i + 1, j + 1, float(r[i, j])))
        return pd.DataFrame(rows, columns=["dimension", "annotator_a", "annotator_b", "pearson"])

    # ---------------------------------------------------------------------- internals
    def _need_coefficients(self, what: str) -> None:
        if self.manifest.storage != "coefficients":
            raise ValueError(f"{what}: {self.root} stores meshes, not model coefficients")

    def _by_sequence(self, positions: np.ndarray):
        """Yield (sequence, output positions, positions within the sequence) per sequence."""
        starts = np.array([s.start for s in self._sequences])
        owner = np.searchsorted(starts, positions, side="right") - 1
        for index in np.unique(owner):
            where = np.flatnonzero(owner == index)
            sequence = self._sequences[index]
            yield sequence, where, positions[where] - sequence.start

    def _sequence_meshes(self, sequence: _Sequence, local: np.ndarray) -> np.ndarray:
        if self.manifest.mesh_format == "npz":
            path = sequence.folder / "meshes.npz"
            vertices = _load_npz(path, "vertices")
            if vertices.shape != (sequence.length, self.n_vertices, 3):
                raise GalleryFormatError(
                    f"{path}: 'vertices' has shape {vertices.shape}, expected "
                    f"({sequence.length}, {self.n_vertices}, 3) to match va.csv"
                )
            return vertices[local]
        frame_numbers = self.frames["frame"].to_numpy()[sequence.start + local]
        return np.stack(
            [_read_obj(sequence.folder / "meshes" / f"{f:06d}.obj", self.n_vertices) for f in frame_numbers]
        )


# Small cache of the last npz arrays read: consecutive blocks of frames usually come from
# the same sequence file.
_NPZ_CACHE: dict[tuple[str, str, float], np.ndarray] = {}


def _load_npz(path: Path, key: str) -> np.ndarray:
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        raise GalleryFormatError(f"{path}: missing") from None
    cache_key = (str(path), key, stamp)
    if cache_key not in _NPZ_CACHE:
        try:
            with np.load(path, allow_pickle=False) as data:
                if key not in data.files:
                    raise GalleryFormatError(f"{path}: no array {key!r} (has {', '.join(data.files)})")
                array = data[key]
        except (OSError, ValueError) as error:
            if isinstance(error, GalleryFormatError):
                raise
            raise GalleryFormatError(f"{path}: not a readable .npz file ({error})") from None
        if len(_NPZ_CACHE) >= 4:
            _NPZ_CACHE.pop(next(iter(_NPZ_CACHE)))
        _NPZ_CACHE[cache_key] = array
    return _NPZ_CACHE[cache_key]


def _read_obj(path: Path, n_vertices: int) -> np.ndarray:
    import menpo3d.io  # imported late: heavy, and after affect's numpy shims

    if not path.is_file():
        raise GalleryFormatError(f"{path}: missing mesh file")
    try:
        points = np.asarray(menpo3d.io.import_mesh(path).points, dtype=np.float64)
    except Exception as error:  # menpo3d raises many types for a malformed file
        raise GalleryFormatError(f"{path}: cannot read mesh ({error})") from None
    if points.shape != (n_vertices, 3):
        raise GalleryFormatError(f"{path}: {points.shape[0]} vertices, expected {n_vertices}")
    return points


def _read_mesh(folder: Path, stem: str, manifest: GalleryManifest, n_vertices: int) -> np.ndarray:
    if manifest.mesh_format == "obj":
        return _read_obj(folder / f"{stem}.obj", n_vertices)
    path = folder / f"{stem}.npz"
    vertices = _load_npz(path, "vertices")
    if vertices.shape != (n_vertices, 3):
        raise GalleryFormatError(f"{path}: 'vertices' has shape {vertices.shape}, expected ({n_vertices}, 3)")
    return vertices.astype(np.float64)


def _read_subjects(root: Path) -> pd.DataFrame:
    path = root / "subjects.csv"
    if not path.is_file():
        raise GalleryFormatError(f"{path}: missing")
    try:
        table = pd.read_csv(path, dtype={"subject": str, "sex": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise GalleryFormatError(f"{path}: not a CSV file ({error})") from None
    missing = {"subject", "sex", "age"} - set(table.columns)
    if missing:
        raise GalleryFormatError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    if table["subject"].duplicated().any():
        duplicate = table["subject"][table["subject"].duplicated()].iloc[0]
        raise GalleryFormatError(f"{path}: duplicate subject {duplicate!r}")
    if not table["sex"].isin(["F", "M"]).all():
        raise GalleryFormatError(f"{path}: expected sex 'F' or 'M'")
    if not pd.api.types.is_numeric_dtype(table["age"]) or (table["age"] < 0).any():
        raise GalleryFormatError(f"{path}: expected the age as a non-negative number of years")
    return table[["subject", "sex", "age"]].reset_index(drop=True)


def _read_va(path: Path, annotators: int) -> pd.DataFrame:
    if not path.is_file():
        raise GalleryFormatError(f"{path}: missing")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise GalleryFormatError(f"{path}: not a CSV file ({error})") from None
    expected = va_columns(annotators)
    missing = [c for c in expected if c not in table.columns]
    if missing:
        raise GalleryFormatError(f"{path}: missing column(s) {', '.join(missing)}")
    values = table[expected[1:]]
    if not all(pd.api.types.is_numeric_dtype(values[c]) for c in values.columns):
        raise GalleryFormatError(f"{path}: expected numbers as valence and arousal values")
    array = values.to_numpy(np.float64)
    if not np.all(np.isfinite(array)) or np.any(np.abs(array) > 1.0):
        raise GalleryFormatError(f"{path}: expected valence and arousal values in [-1, 1]")
    frames = table["frame"]
    if not pd.api.types.is_integer_dtype(frames) or (len(frames) > 1 and not (np.diff(frames) > 0).all()):
        raise GalleryFormatError(f"{path}: expected increasing integers in 'frame'")
    return table[expected]


def _read_identity(root: Path, subjects: Sequence[str], model: MorphableModel) -> dict[str, np.ndarray]:
    path = root / "identity.npz"
    names = [str(s) for s in _load_npz(path, "subject")]
    identity = _load_npz(path, "identity")
    if identity.ndim != 2 or identity.shape[0] != len(names) or identity.shape[1] > model.n_identity:
        raise GalleryFormatError(
            f"{path}: 'identity' has shape {identity.shape} for {len(names)} subjects "
            f"and a model with {model.n_identity} identity components"
        )
    table = dict(zip(names, identity))
    missing = [s for s in subjects if s not in table]
    if missing:
        raise GalleryFormatError(f"{path}: no identity for subject {missing[0]!r}")
    return table


def load_gallery(root: str | os.PathLike, model: MorphableModel | None = None) -> Gallery:
    """Read a VA-annotated 4D gallery in the layout of this module.

    Parameters
    ----------
    root : str or Path
        The gallery folder (holding ``gallery.json``).
    model : MorphableModel, optional
        The model of a coefficient-storage gallery; None loads the default model when the
        manifest names it. Optional for mesh storage.

    Returns
    -------
    Gallery

    Raises
    ------
    GalleryFormatError (a ValueError) naming the offending file.
    """
    root = Path(root)
    if not root.is_dir():
        raise GalleryFormatError(f"{root}: no such gallery folder")
    manifest = load_manifest(root)
    if not manifest.complete:
        raise GalleryFormatError(
            f"{root / 'gallery.json'}: the gallery is incomplete (a writer stopped early); run it again"
        )
    if manifest.storage == "coefficients":
        model = _coefficient_model(root, manifest, model)
    if model is not None and model.n_vertices != manifest.n_vertices:
        raise GalleryFormatError(
            f"{root / 'gallery.json'}: n_vertices {manifest.n_vertices} does not "
            f"match model {model.name!r} ({model.n_vertices})"
        )
    subjects = _read_subjects(root)
    known = set(subjects["subject"])
    tables, sequences, start = [], [], 0
    folder = root / "sequences"
    if not folder.is_dir():
        raise GalleryFormatError(f"{folder}: missing")
    for subject_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if subject_dir.name not in known:
            raise GalleryFormatError(f"{subject_dir}: subject {subject_dir.name!r} is not in subjects.csv")
        for sequence_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            table = _read_va(sequence_dir / "va.csv", manifest.annotators)
            table.insert(0, "sequence", sequence_dir.name)
            table.insert(0, "subject", subject_dir.name)
            tables.append(table)
            sequences.append(_Sequence(subject_dir.name, sequence_dir.name, sequence_dir, start, len(table)))
            start += len(table)
    columns = ["subject", "sequence", "frame", "valence", "arousal", *_annotator_columns(manifest.annotators)]
    frames = (
        pd.concat(tables, ignore_index=True)[columns]
        if tables
        else pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    )
    identity = _read_identity(root, list(subjects["subject"]), model) if manifest.storage == "coefficients" else {}
    apex_index = _read_apex_index(root, manifest, known)
    return Gallery(root, manifest, subjects, frames, apex_index, model, tuple(sequences), identity)


def _coefficient_model(root: Path, manifest: GalleryManifest, model: MorphableModel | None) -> MorphableModel:
    if model is None:
        from affect.face.morphable_model import load_default

        model = load_default()
        if model.name != manifest.model:
            raise GalleryFormatError(
                f"{root / 'gallery.json'}: written with model {manifest.model!r}; pass that model to load_gallery"
            )
    elif model.name != manifest.model:
        raise ValueError(f"model: the gallery was written with {manifest.model!r}, got {model.name!r}")
    return model


def _read_apex_index(root: Path, manifest: GalleryManifest, subjects: set[str]) -> pd.DataFrame:
    rows: list[tuple[str, str, int]] = []
    for expression in BASIC_EXPRESSIONS:
        folder = root / "apex" / expression
        if not folder.is_dir():
            continue
        if manifest.storage == "coefficients":
            path = folder / "expression.npz"
            names = [str(s) for s in _load_npz(path, "subject")]
            if len(_load_npz(path, "weights")) != len(names):
                raise GalleryFormatError(f"{path}: 'weights' and 'subject' differ in length")
            counter: dict[str, int] = {}
            for name in names:
                counter[name] = counter.get(name, 0) + 1
                rows.append((expression, name, counter[name] - 1))
            found = names
        else:
            found = []
            for path in sorted(folder.glob(f"*.{manifest.mesh_format}")):
                subject, _, k = path.stem.rpartition("_")
                if not subject or not k.isdigit():
                    raise GalleryFormatError(f"{path}: expected apex file names <subject>_<k>.{manifest.mesh_format}")
                rows.append((expression, subject, int(k)))
                found.append(subject)
        unknown = [s for s in found if s not in subjects]
        if unknown:
            raise GalleryFormatError(f"{folder}: subject {unknown[0]!r} is not in subjects.csv")
    return pd.DataFrame(rows, columns=["expression", "subject", "k"])


def mean_annotator_correlations(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean correlation of each annotator with the others, the statistic of Sec. 3.2.

    Parameters
    ----------
    pairs : DataFrame
        The output of :meth:`Gallery.annotator_correlations`.

    Returns
    -------
    DataFrame with columns dimension, annotator, mean_correlation (compare with
    :data:`PAPER_ANNOTATOR_CORRELATIONS`).
    """
    missing = {"dimension", "annotator_a", "annotator_b", "pearson"} - set(pairs.columns)
    if missing:
        raise ValueError(f"pairs: missing column(s) {', '.join(sorted(missing))}")
    rows = []
    for dimension in ("valence", "arousal"):
        table = pairs[pairs["dimension"] == dimension]
        annotators = sorted(set(table["annotator_a"]) | set(table["annotator_b"]))
        for annotator in annotators:
            mine = table[(table["annotator_a"] == annotator) | (table["annotator_b"] == annotator)]
            rows.append((dimension, int(annotator), float(mine["pearson"].mean())))
    return pd.DataFrame(rows, columns=["dimension", "annotator", "mean_correlation"])


def _write_vertices(path: Path, vertices: np.ndarray, triangles: np.ndarray | None, fmt: str) -> None:
    if fmt == "npz":
        atomic_write(path, lambda f: np.savez_compressed(f, vertices=vertices.astype(np.float32)))
        return
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles]
    # A plain-text writer rather than menpo3d's export_mesh: this one is atomic and writes 6
    # decimals (0.01 micron in cm), a third of the size of menpo3d's full-precision output.
    atomic_write(path, lambda f: f.write(("\n".join(lines) + "\n").encode()))


def export_meshes(
    gallery: Gallery,
    out_dir: str | os.PathLike,
    subjects: Sequence[str] | None = None,
    fmt: str = "obj",
    apex: bool = True,
) -> Path:
    """Write (part of) a gallery as a mesh-storage gallery in the same layout.

    Produces the meshes of a coefficient-storage gallery on disk (or converts between .obj
    and .npz); ``load_gallery(out_dir)`` reads the result with the same interface.

    Parameters
    ----------
    gallery : Gallery
    out_dir : str or Path
        Destination folder; created if needed.
    subjects : sequence of str, optional
        Subjects to export; None: all. Sizes: about 0.5 MB per .obj mesh, 113 kB per frame
        in .npz (float32, before compression) for the default model.
    fmt : str
        ``"obj"`` (one file per frame, readable by menpo3d and most 3D tools) or ``"npz"``
        (one vertex array per sequence).
    apex : bool
        Also export the posed apex meshes of the chosen subjects.

    Returns
    -------
    Path of ``out_dir``.
    """
    if fmt not in _MESH_FORMATS:
        raise ValueError(f"fmt: expected one of {_MESH_FORMATS}, got {fmt!r}")
    known = list(gallery.subjects["subject"])
    chosen = known if subjects is None else [str(s) for s in subjects]
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ValueError(f"subjects: {unknown[0]!r} is not in the gallery")
    triangles = gallery.model.triangles if gallery.model is not None else None
    if fmt == "obj" and triangles is None:
        raise ValueError("fmt: 'obj' export needs the gallery's model (for its triangles); use 'npz'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = gallery.manifest
    manifest = GalleryManifest(
        "meshes",
        m.fps,
        m.annotators,
        m.n_vertices,
        mesh_format=fmt,
        seed=m.seed,
        complete=False,
        description=f"meshes exported from {gallery.root.name}",
    )
    save_manifest(manifest, out)  # marked incomplete until every file is written
    table = gallery.subjects[gallery.subjects["subject"].isin(chosen)]
    atomic_write(out / "subjects.csv", lambda f: f.write(table.to_csv(index=False).encode()))
    columns = va_columns(m.annotators)
    for subject in chosen:
        _write_vertices(out / "neutral" / f"{subject}.{fmt}", gallery.neutral(subject), triangles, fmt)
        for sequence in (s for s in gallery._sequences if s.subject == subject):
            target = out / "sequences" / subject / sequence.sequence
            rows = np.arange(sequence.start, sequence.start + sequence.length)
            meshes = gallery.meshes(rows)
            if fmt == "npz":
                _write_vertices(target / "meshes.npz", meshes, None, fmt)
            else:
                for number, mesh in zip(gallery.frames["frame"].to_numpy()[rows], meshes):
                    _write_vertices(target / "meshes" / f"{number:06d}.obj", mesh, triangles, fmt)
            va = gallery.frames.iloc[rows][columns]
            atomic_write(target / "va.csv", lambda f, va=va: f.write(va.to_csv(index=False).encode()))
    if apex:
        for expression in BASIC_EXPRESSIONS:
            rows = gallery.apex_index[gallery.apex_index["expression"] == expression]
            if rows.empty:
                continue
            deformations = gallery.apex(expression)
            for deformation, subject, k in zip(deformations, rows["subject"], rows["k"]):
                if subject in chosen:
                    mesh = gallery.neutral(subject) + deformation
                    _write_vertices(out / "apex" / expression / f"{subject}_{k:04d}.{fmt}", mesh, triangles, fmt)
    save_manifest(replace(manifest, complete=True), out)
    return out
