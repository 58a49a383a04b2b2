"""Per-vertex texture sampled from the photo at the projected mesh (Sec. 4.2 and 4.3).

"Texture sampling is simply extracting image pixel value for each projected 3D vertex in
image plane" (Sec. 4.3). Vertices the camera does not see (hidden by the nose, turned away,
or outside the photo) would pick up the colour of whatever hides them, so their colour is
taken from their left-right mirror vertex when that one is seen, and otherwise spread in from
visible neighbours along mesh edges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.sparse

from affect.face.rendering import visible_vertices

__all__ = ["VertexTexture", "sample_texture", "fill_from_neighbours", "save_texture", "load_texture"]

_REMAP_COLUMNS = 1024


@dataclass(frozen=True)
class VertexTexture:
    """Colours of the mesh vertices sampled from a photo.

    Attributes
    ----------
    colors : (N, 3) float32
        RGB in ``[0, 1]`` (grey images are repeated over the three channels). Colours of
        vertices that are not visible are filled in (from mirrors or neighbours).
    visible : (N,) bool
        Vertices whose colour was read from the photo.
    """

    colors: np.ndarray
    visible: np.ndarray


def _as_float_rgb(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W, 3) float32 in [0, 1]; raise ValueError if it is not an image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    image = image[:, :, :3]
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if np.issubdtype(image.dtype, np.floating):
        if image.size and (np.nanmin(image) < -1e-3 or np.nanmax(image) > 1.0 + 1e-3):
            raise ValueError("image: expected float images in [0, 1] (divide 8-bit values by 255)")
        return np.clip(image, 0.0, 1.0).astype(np.float32)
    raise ValueError(f"image: expected uint8, uint16 or float in [0, 1], got {image.dtype}")


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample (H, W, 3) float32 ``image`` at pixel coordinates ``x``, ``y`` (bilinear)."""
    # cv2.remap wants 2D maps of fewer than 32767 rows and columns; LSFM has 53k vertices,
    # so the points are laid out in rows of _REMAP_COLUMNS.
    n_points = len(x)
    n_rows = max(1, -(-n_points // _REMAP_COLUMNS))
    maps = np.zeros((2, n_rows * _REMAP_COLUMNS), dtype=np.float32)
    maps[0, :n_points] = x
    maps[1, :n_points] = y
    maps = maps.reshape(2, n_rows, _REMAP_COLUMNS)
    samples = cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return samples.reshape(-1, 3)[:n_points]


# Adjacency matrices of the meshes seen (at most a few), by the triangles' content.
_ADJACENCY: dict[tuple, scipy.sparse.csr_matrix] = {}


def _vertex_adjacency(triangles: np.ndarray, n_vertices: int) -> scipy.sparse.csr_matrix:
    """Symmetric 0/1 vertex adjacency along triangle edges (shared: read it, do not change it).

    Built once per mesh, keyed by the triangles' content (0.3 ms to hash against 3 ms to
    build): every photo fitted with one face model fills its texture over the same mesh, twice.
    """
    triangles = np.ascontiguousarray(triangles)
    key = (hashlib.sha1(triangles).hexdigest(), triangles.shape, str(triangles.dtype), int(n_vertices))
    if key not in _ADJACENCY:
        if len(_ADJACENCY) >= 4:
            _ADJACENCY.pop(next(iter(_ADJACENCY)))
        _ADJACENCY[key] = _build_adjacency(triangles, n_vertices)
    return _ADJACENCY[key]


def _build_adjacency(triangles: np.ndarray, n_vertices: int) -> scipy.sparse.csr_matrix:
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    adjacency = scipy.sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_vertices, n_vertices)
    ).tocsr()
    adjacency.data[:] = 1.0  # duplicate edges (shared by two triangles) count once
    return adjacency


def fill_from_neighbours(colors: np.ndarray, known: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Give each unknown vertex (``known`` False) the mean colour of its known edge neighbours,
    ring by ring; (N, 3) colours in, a filled copy out."""
    colors = colors.copy()
    known = known.copy()
    adjacency = _vertex_adjacency(triangles, len(colors))
    while not known.all():
        weights = known.astype(np.float32)
        counts = adjacency @ weights
        frontier = ~known & (counts > 0)
        if not frontier.any():
            # Parts of the mesh with no known vertex at all (isolated vertices, or a piece
            # entirely out of view): the mean known colour is the least surprising guess.
            colors[~known] = colors[known].mean(axis=0)
            break
        sums = adjacency[frontier] @ (colors * weights[:, None])
        colors[frontier] = sums / counts[frontier, None]
        known |= frontier
    return colors


def sample_texture(
    image: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    mirror_indices: np.ndarray | None = None,
    tolerance: float | None = None,
) -> VertexTexture:
    """Sample a photo's colours at the projected mesh vertices, filling hidden ones.

    Sec. 4.3: the reconstructed face ``s_orig`` takes its texture from the input image at the
    projected vertex positions. Visibility comes from the z-buffer
    (:func:`affect.face.rendering.visible_vertices`); a hidden vertex takes the colour of its
    mirror vertex if that one is visible (faces are nearly symmetric in albedo), otherwise
    the mean of its already coloured neighbours along mesh edges, repeated until every vertex
    has a colour.

    Parameters
    ----------
    image : (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8, uint16 or float in [0, 1]
        The photo (RGB order is kept as given; alpha is ignored).
    vertices : (N, 3) float
        Mesh in the image frame: ``x``, ``y`` in pixels, depth growing away from the camera.
    triangles : (T, 3) int
        Vertex indices of each triangle.
    mirror_indices : (N,) int, optional
        Index of each vertex's left-right mirror vertex.
    tolerance : float, optional
        Depth slack of the visibility test; see :func:`affect.face.rendering.visible_vertices`.

    Returns
    -------
    VertexTexture
        ``colors`` (N, 3) float32 in [0, 1] and ``visible`` (N,) bool.

    Raises
    ------
    ValueError
        On malformed inputs, or when no vertex is visible in the image.
    """
    pixels = _as_float_rgb(image)
    height, width = pixels.shape[:2]
    visible = visible_vertices(vertices, triangles, (height, width), tolerance=tolerance)
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles)
    if mirror_indices is not None:
        mirror_indices = np.asarray(mirror_indices)
        if (
            mirror_indices.shape != (len(vertices),)
            or not np.issubdtype(mirror_indices.dtype, np.integer)
            or mirror_indices.min(initial=0) < 0
            or mirror_indices.max(initial=0) >= len(vertices)
        ):
            raise ValueError(
                f"mirror_indices: expected {len(vertices)} integer vertex indices, got "
                f"{mirror_indices.dtype} {mirror_indices.shape}"
            )
    if not visible.any():
        raise ValueError("no vertex of the mesh is visible in the image")

    colors = np.zeros((len(vertices), 3), dtype=np.float32)
    colors[visible] = _bilinear(pixels, vertices[visible, 0], vertices[visible, 1])
    known = visible.copy()
    if mirror_indices is not None:
        from_mirror = ~visible & visible[mirror_indices]
        colors[from_mirror] = colors[mirror_indices[from_mirror]]
        known |= from_mirror
    colors = fill_from_neighbours(colors, known, triangles)
    return VertexTexture(colors=colors.astype(np.float32), visible=visible)


def save_texture(path: str | Path, texture: VertexTexture) -> None:
    """Save a :class:`VertexTexture` to an ``.npz`` file."""
    np.savez_compressed(Path(path), colors=texture.colors, visible=texture.visible)


def load_texture(path: str | Path) -> VertexTexture:
    """Load a :class:`VertexTexture` saved by :func:`save_texture`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such texture file")
    with np.load(path, allow_pickle=False) as data:
        if not {"colors", "visible"} <= set(data.files):
            raise ValueError(f"{path}: not a texture file (needs 'colors' and 'visible')")
        return VertexTexture(colors=data["colors"].astype(np.float32), visible=data["visible"].astype(bool))
