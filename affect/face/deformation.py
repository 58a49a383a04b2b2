"""Adding affect to a reconstructed face as a 3D deformation (Sec. 4.3).

The affect model generates an expressive face ``s_gen`` in the template's identity; its
difference from the template ``s_template`` (the morphable model's mean face) is the affect
deformation ``delta_s = s_gen - s_template``, which is added to the face reconstructed from
the photo: ``s_new = s_orig + delta_s``. All three meshes share the template's topology.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["affect_delta", "deform", "expression_weights"]


def _check_shape(name: str, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (N, 3), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return points


def _check_same_vertices(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a}, {name_b}: expected the same number of vertices, got {len(a)} and {len(b)}")


def affect_delta(s_gen: np.ndarray, s_template: np.ndarray) -> np.ndarray:
    """Deformation that takes the template face to the generated expressive face.

    Sec. 4.3: ``delta_s = s_gen - s_template``.

    Parameters
    ----------
    s_gen : (N, 3) float
        Expressive face generated for the requested affect (model units, e.g. cm).
    s_template : (N, 3) float
        The morphable model's template (mean) face, same vertices and units.

    Returns
    -------
    (N, 3) float64
        Per-vertex displacement.
    """
    s_gen = _check_shape("s_gen", s_gen)
    s_template = _check_shape("s_template", s_template)
    _check_same_vertices("s_gen", s_gen, "s_template", s_template)
    return s_gen - s_template


def deform(s_orig: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Impose an affect deformation on a reconstructed face.

    Sec. 4.3: ``s_new = s_orig + delta_s``, with ``delta_s`` from :func:`affect_delta`.
    Both are in the model's frame (before the camera), so the expression follows the
    subject's head pose once the camera of the fit projects ``s_new``.

    Parameters
    ----------
    s_orig : (N, 3) float
        Face reconstructed from the photo (model units).
    delta : (N, 3) float
        Affect deformation, same vertices and units.

    Returns
    -------
    (N, 3) float64
        The face with the affect, ``s_new``.
    """
    s_orig = _check_shape("s_orig", s_orig)
    delta = _check_shape("delta", delta)
    _check_same_vertices("s_orig", s_orig, "delta", delta)
    return s_orig + delta


@functools.lru_cache(maxsize=4)
def _expression_solver(model) -> np.ndarray:
    """The (K_exp, N * 3) least-squares solver of a model's expression basis (its pseudo-inverse)."""
    basis = np.asarray(model.expression_basis, dtype=np.float64).reshape(len(model.expression_basis), -1)
    return np.linalg.pinv(basis.T) if len(basis) else np.zeros((0, basis.shape[1]))


def expression_weights(model, delta: np.ndarray) -> np.ndarray:
    """Blendshape weights (K_exp,) whose expression is closest to a deformation, least squares.

    Exact for the kit's affect models, whose deformations are means of blendshape combinations
    (:mod:`affect.gallery.affect_model`); for a real 4D gallery, the nearest such face. Used to
    drive what the blendshapes stand for but do not move: the creases of
    :mod:`affect.face.creases`.

    Parameters
    ----------
    model : MorphableModel
    delta : (N, 3) float, model units

    Returns
    -------
    (K_exp,) float64, in ``model.expression_names`` order.
    """
    return _expression_solver(model) @ np.asarray(delta, dtype=np.float64).reshape(-1)
