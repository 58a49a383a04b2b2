"""Shading that follows the deformed shape: an expression ratio image on the photo (Sec. 4.4).

The photo warp of :func:`affect.face.reconstruction.render_affect` moves the photo's pixels with
the deformed mesh but keeps their brightness, so a bulge or a hollow that the deformation makes
(the brows' bulge under AU4, the cheek's under AU6) does not show. Here the photo's lighting is
estimated from the fitted face, and every face pixel is multiplied by the ratio of the shading of
the deformed surface to that of the fitted one: the expression ratio image of Liu, Shan & Zhang
(2001, "Expressive expression mapping with ratio images", SIGGRAPH), with the shading of a
Lambertian surface under distant light written in second-order spherical harmonics (Ramamoorthi
& Hanrahan 2001; Basri & Jacobs 2003): nine coefficients capture 98 % or more of its energy.

The albedo is taken as constant over the face (it cancels in the ratio); the lighting is fitted
by least squares to the grey levels of the vertices seen in the photo, with a second pass that
drops the vertices the first fit explains worst (brows, lips, shadows cast by the nose: not the
albedo of skin under this light). With no deformation the normals are the same and every ratio
is exactly 1.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["vertex_normals", "sh_basis", "fit_lighting", "shading_ratio", "apply_ratio"]

#: Ratios are kept within these bounds: a normal that turns towards or away from the light by a
#: lot (a jaw's underside) would otherwise brighten or blacken a pixel beyond anything a face shows.
#: Brightening is bounded more tightly: a photo's lit side is often near white already.
RATIO_LIMITS = (0.8, 1.1)
#: Shading below this fraction of the face's mean shading counts as this fraction: the ratio of
#: two small numbers (surfaces facing away from the light) is noise.
SHADOW_FLOOR = 0.15
#: Ridge weights of the lighting fit's first- and second-order terms, relative to the number of
#: vertices. A face's normals span one hemisphere, where the second-order harmonics are nearly
#: collinear with the first-order ones: unshrunk, they fit the albedo's pattern (dark brows, red
#: lips) as light, with coefficients larger than the first order's, and the ratio image then
#: brightens whole cheeks. Shrunk, the lighting is mostly ambient plus one direction.
RIDGE = (1e-3, 0.05)
#: Share of vertices, worst fitted first, left out of the second pass of the fit.
OUTLIER_SHARE = 0.2


@numba.njit(cache=True, nogil=True)
def _accumulate_normals(vertices, triangles, normals):
    # Scalar arithmetic throughout: slicing a vertex row allocates an array per triangle, which
    # made this loop ten times slower.
    for t in range(triangles.shape[0]):
        a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        ux, uy, uz = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
        vx, vy, vz = vertices[c, 0] - vertices[a, 0], vertices[c, 1] - vertices[a, 1], vertices[c, 2] - vertices[a, 2]
        # The cross product's length is twice the area: larger triangles weigh more.
        n0, n1, n2 = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        for k in range(3):
            v = triangles[t, k]
            normals[v, 0] += n0
            normals[v, 1] += n1
            normals[v, 2] += n2


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unit normals (N, 3) of a mesh's vertices: the area-weighted mean of their triangles' normals.

    Parameters
    ----------
    vertices : (N, 3) float
    triangles : (T, 3) int, wound consistently (the normals point to the side the winding gives).
    """
    normals = np.zeros((len(vertices), 3))
    _accumulate_normals(np.ascontiguousarray(vertices, dtype=np.float64), np.ascontiguousarray(triangles), normals)
    length = np.sqrt(np.einsum("ij,ij->i", normals, normals))[:, None]
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """The nine second-order spherical-harmonic functions of unit normals, (N, 9).

    Unnormalised (1, x, y, z, xy, xz, yz, x^2 - y^2, 3z^2 - 1): the lighting coefficients of
    :func:`fit_lighting` absorb the harmonics' constants and the Lambertian kernel's.
    """
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    return np.stack([np.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y, 3 * z * z - 1], axis=1)


def fit_lighting(normals: np.ndarray, intensity: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Second-order spherical-harmonic lighting (9,) that best explains a face's grey levels.

    Parameters
    ----------
    normals : (N, 3) float
        Unit normals of the fitted face, in the frame the shading is evaluated in.
    intensity : (N,) float
        Grey level of each vertex in the photo, [0, 1].
    seen : (N,) bool, optional
        Vertices whose grey level is the photo's (the others are left out).

    Returns
    -------
    (9,) float64
        Coefficients ``l`` with shading ``sh_basis(n) @ l`` (the constant albedo included).
    """
    use = np.ones(len(normals), bool) if seen is None else np.asarray(seen, bool)
    if use.sum() < 9:
        return np.r_[max(float(np.mean(intensity)), 1e-3), np.zeros(8)]
    basis, target = sh_basis(normals[use]), np.asarray(intensity, np.float64)[use]
    lighting = _ridge(basis, target)
    residual = np.abs(basis @ lighting - target)
    keep = residual <= np.quantile(residual, 1.0 - OUTLIER_SHARE)
    return _ridge(basis[keep], target[keep]) if keep.sum() >= 9 else lighting


def _ridge(basis: np.ndarray, target: np.ndarray) -> np.ndarray:
    penalty = len(basis) * np.diag([0.0] + [RIDGE[0]] * 3 + [RIDGE[1]] * 5)  # the ambient term is not shrunk
    return np.linalg.solve(basis.T @ basis + penalty, basis.T @ target)


def shading_ratio(lighting: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Ratio (N,) of the shading of the deformed surface to the fitted one's, per vertex.

    Parameters
    ----------
    lighting : (9,) float
        From :func:`fit_lighting`.
    before, after : (N, 3) float
        Unit normals of the fitted and of the deformed face.

    Returns
    -------
    (N,) float64 in :data:`RATIO_LIMITS`; exactly 1 where the normal did not change.
    """
    shading_before, shading_after = sh_basis(before) @ lighting, sh_basis(after) @ lighting
    floor = SHADOW_FLOOR * max(float(np.mean(np.abs(shading_before))), 1e-6)
    ratio = np.maximum(shading_after, floor) / np.maximum(shading_before, floor)
    ratio = np.clip(ratio, *RATIO_LIMITS)
    ratio[np.all(before == after, axis=1)] = 1.0
    return ratio


#: Exponents of a darkening ratio per colour channel (R, G, B): shadows on skin are warmer than the
#: lit skin, since light scattered under the skin comes back reddened (Jimenez et al. 2009,
#: "Screen-space perceptual rendering of human skin", ACM TAP); an even darkening of the three
#: channels reads as grey paint.
SHADOW_TINT = (0.8, 1.0, 1.15)


def apply_ratio(colors: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Colours (M, 3) uint8 multiplied by per-pixel ratios (M,), with the highlights rolled off.

    A ratio below 1 darkens the colour, the red channel less and the blue more
    (:data:`SHADOW_TINT`); one above 1 brightens it as ``x r / (1 + (r - 1) x)`` on ``x`` in
    [0, 1]: ``x r`` in the shadows and midtones, and no clipping to white where the photo is
    already bright (a lit cheek that rises would otherwise burn out).
    """
    x = colors.astype(np.float32) / 255.0
    r = ratio.astype(np.float32)[:, None]
    shade = np.minimum(r, 1.0) ** np.asarray(SHADOW_TINT, np.float32)
    out = np.where(r > 1.0, x * r / (1.0 + (r - 1.0) * x), x * shade)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
