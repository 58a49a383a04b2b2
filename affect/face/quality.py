"""How closely a synthesized face keeps the photo (Sec. 4.4, 6.1): sharpness, round trip, drift.

The paper's case against GAN-based synthesis is that its renderings keep the photo's detail
and identity (Sec. 6.1). Three measures of that, each a plain function of images and masks:

* :func:`sharpness_ratio`: variance of the Laplacian of the grey output over that of the
  input, on the upper face (:func:`upper_face`: forehead to nose, where expressions move
  little); 1 keeps the photo's detail, below 1 is blur.
* :func:`round_trip_error`: the mean absolute difference inside the face when the face is
  rendered back without deformation (grey levels, 0 to 255).
* :func:`colour_drift`: the mean absolute change over face pixels the deformation does not
  move (:attr:`affect.face.reconstruction.RenderedFace.still`): colour brought in by the blend.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["upper_face", "sharpness_ratio", "round_trip_error", "colour_drift"]

NOSE_TIP = 30  # iBUG 68, 0-based


def upper_face(mask: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Face pixels above the nose tip (iBUG landmark 31), (H, W) bool."""
    region = np.asarray(mask, dtype=bool).copy()
    region[max(0, int(np.ceil(landmarks[NOSE_TIP, 1]))) :] = False
    return region


def _laplacian_variance(image: np.ndarray, region: np.ndarray) -> float:
    grey = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    laplacian = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)
    return float(laplacian[region].var())


def sharpness_ratio(photo: np.ndarray, output: np.ndarray, region: np.ndarray) -> float:
    """Variance of the Laplacian of ``output`` over that of ``photo`` on ``region``.

    Parameters
    ----------
    photo, output : (H, W, 3) uint8 RGB or (H, W) grey
    region : (H, W) bool
        Pixels compared, e.g. :func:`upper_face`.

    Returns
    -------
    float
        1 for equal detail, below 1 for a blurred output; NaN for an empty region or a flat photo.
    """
    region = np.asarray(region, dtype=bool)
    if photo.shape[:2] != output.shape[:2] or region.shape != photo.shape[:2]:
        raise ValueError(f"photo {photo.shape}, output {output.shape} and region {region.shape} differ in size")
    if not region.any():
        return float("nan")
    reference = _laplacian_variance(photo, region)
    return _laplacian_variance(output, region) / reference if reference > 0 else float("nan")


def _mean_abs(photo: np.ndarray, output: np.ndarray, region: np.ndarray) -> float:
    region = np.asarray(region, dtype=bool)
    if not region.any():
        return float("nan")
    return float(np.abs(output[region].astype(np.float64) - photo[region]).mean())


def round_trip_error(photo: np.ndarray, rendered: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference (grey levels) inside ``mask`` of an undeformed rendering."""
    return _mean_abs(photo, rendered, mask)


def colour_drift(photo: np.ndarray, output: np.ndarray, still: np.ndarray) -> float:
    """Mean absolute change (grey levels) of ``output`` over the face pixels ``still`` that
    the deformation leaves in place; NaN when none are."""
    return _mean_abs(photo, output, still)
