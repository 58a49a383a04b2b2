"""Reading and writing face photos as ``(H, W, 3)`` uint8 RGB arrays.

Every module of the kit takes images in one form: a C-contiguous ``(H, W, 3)`` uint8 array,
RGB channel order, rows top to bottom as the photo is meant to be viewed (EXIF orientation
applied). This module turns files on disk into that form and writes results back.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from affect.files import atomic_write_bytes

__all__ = [
    "ImageReadError",
    "MAX_PIXELS",
    "MIN_SIDE",
    "check_pixels",
    "size_problem",
    "read_image",
    "write_image",
    "encode_image",
    "as_rgb_image",
    "at_size",
]

#: Largest image the kit decodes: Pillow's own decompression-bomb threshold (a quarter GiB of
#: 3-channel pixels, ``1024 ** 3 // 4 // 3``), 9,459 px square, far above any database photo.
MAX_PIXELS = 89_478_485

#: Smallest side, in pixels, of a photo taken as a face: a kit choice far below any labelled
#: face, so that only placeholders (a 1 x 1 pixel image) and broken files fall under it.
MIN_SIDE = 8

# Format chosen by the file's suffix; Pillow would guess the same, but naming it keeps a
# typo such as ``out.pgn`` from silently writing something else.
_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}  # BU-3DFE ships .bmp
_JPEG_QUALITY = 95  # visually lossless for face crops; Pillow's default (75) blurs skin texture

# Pillow modes that hold one 16-bit channel (e.g. a 16-bit grayscale PNG or TIFF).
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


class ImageReadError(ValueError):
    """An image file is missing, unreadable, or not an image; the message names the file."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a photo as an RGB uint8 array, upright and without alpha.

    Grayscale and palette images are expanded to three channels. Images with transparency
    (RGBA, LA, palette with a transparent colour) are composited over white, so that the
    transparent background of a cut-out face reads as a plain light background rather than
    the undefined colour hidden under alpha 0. 16-bit images are scaled to 8 bits by
    ``round(v * 255 / 65535)``. The EXIF orientation tag is applied, so the array shows the
    photo as a viewer would. Multi-frame files (GIF, TIFF) give their first frame.

    Parameters
    ----------
    path : str or path-like
        Image file in any format Pillow reads (PNG, JPEG, PPM, TIFF, BMP, GIF, ...).

    Returns
    -------
    (H, W, 3) uint8 array, RGB.

    Raises
    ------
    ImageReadError
        The file does not exist, is a folder, or cannot be decoded as an image.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if not path.is_file():
        raise ImageReadError(f"{path}: not a file")
    try:
        with _open(path) as opened:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            return _to_rgb_array(upright)
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise ImageReadError(f"{path}: cannot decode image ({error})") from None


def check_pixels(path: str | os.PathLike) -> None:
    """Refuse, from its header alone, an image file of more than :data:`MAX_PIXELS` pixels.

    For readers that decode with another library (OpenCV): a PNG of 20,000 x 20,000 pixels fits
    in 50 KB and would decode to 1.2 GB. A file Pillow cannot identify is left to that reader.

    Raises
    ------
    ImageReadError
        One line naming the file and its size.
    """
    try:
        with _open(Path(path)):
            pass
    except (UnidentifiedImageError, OSError):
        return


def size_problem(image: np.ndarray) -> str | None:
    """Why an image is too small to hold a face (a side under :data:`MIN_SIDE`), or None."""
    height, width = image.shape[:2]
    if min(height, width) >= MIN_SIDE:
        return None
    return f"{width} x {height} pixels, under {MIN_SIDE} on a side: too small to hold a face"


def _open(path: Path) -> Image.Image:
    """Pillow's lazy open (the header only), refusing images over :data:`MAX_PIXELS` pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by the kit's limit
        try:
            opened = Image.open(path)
        except Image.DecompressionBombError:  # over twice Pillow's limit: it refuses to open
            raise ImageReadError(f"{path}: over {MAX_PIXELS} pixels; refused (a decompression bomb?)") from None
    width, height = opened.size
    if width * height > MAX_PIXELS:
        opened.close()
        raise ImageReadError(
            f"{path}: {width} x {height} pixels, over the limit of {MAX_PIXELS} pixels; refused (a decompression bomb?)"
        )
    return opened


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert an opened Pillow image of any mode to ``(H, W, 3)`` uint8 RGB."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "I":
        # Pillow's own convert("L") clips 16-bit values at 255 instead of scaling them
        # (Pillow 10-13), which turns most 16-bit photos white. Mode "I" is how Pillow
        # opens 16-bit grayscale PNGs, so its values are taken to span 0..65535.
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def as_rgb_image(image: str | os.PathLike | np.ndarray, name: str = "image") -> np.ndarray:
    """Return an image argument as a ``(H, W, 3)`` uint8 RGB array.

    Parameters
    ----------
    image : str, path-like or ndarray
        A file (read with :func:`read_image`), or an array: ``(H, W, 3)`` RGB or ``(H, W)``
        grayscale, uint8 or float in [0, 1].
    name : str
        Argument name used in error messages.

    Returns
    -------
    (H, W, 3) uint8 array, C-contiguous. A uint8 RGB array that is already contiguous is
    returned as it is, not copied.

    Raises
    ------
    ValueError
        An array of the wrong shape, dtype or range. ``ImageReadError`` for files.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name}: expected a path or a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) == 0:
        raise ValueError(f"{name}: expected shape (H, W, 3) or (H, W), got {image.shape}")
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if image.min() < 0.0 or image.max() > 1.0:
            raise ValueError(f"{name} is float but outside [0, 1] (range {image.min():.3g}..{image.max():.3g})")
        return np.rint(image * 255.0).astype(np.uint8)
    raise ValueError(f"{name}: expected uint8 or float in [0, 1], got dtype {image.dtype}")


def at_size(image: str | os.PathLike | np.ndarray, size: int, name: str = "image") -> np.ndarray:
    """``image`` as (H, W, 3) uint8 RGB with its longer side scaled to ``size`` pixels (area
    interpolation; unchanged when it already is)."""
    pixels = as_rgb_image(image, name)
    scale = size / max(pixels.shape[:2])
    if scale == 1:
        return pixels
    import cv2

    return cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB or grayscale image to PNG or JPEG, atomically.

    The image is encoded in memory (:func:`encode_image`) and written in one call to a
    temporary file in the destination folder, which then replaces
    ``path`` in one step: a reader never sees a half-written file, even when several
    processes write the same dataset. Missing parent folders are created.

    Parameters
    ----------
    path : str or path-like
        Destination; the suffix (``.png``, ``.jpg``, ``.jpeg``) picks the format.
    image : ndarray
        ``(H, W, 3)`` or ``(H, W)``, uint8 or float in [0, 1]; grayscale is stored as RGB.

    Returns
    -------
    Path of the written file.

    Raises
    ------
    ValueError
        Unsupported suffix, or an image of the wrong shape, dtype or range.
    """
    path = Path(path)
    return atomic_write_bytes(path, encode_image(image, path.suffix, name=str(path)))


def encode_image(image: np.ndarray, suffix: str, name: str = "image") -> bytes | memoryview:
    """The file bytes of an image in the format of ``suffix`` (``.png``, ``.jpg``, ...), as
    :func:`write_image` writes them (JPEG at quality 95; PNG lossless, :func:`affect.png.encode_png`).
    ``name`` heads error messages."""
    file_format = _WRITE_FORMATS.get(suffix.lower())
    if file_format is None:
        raise ValueError(f"{name}: unsupported image suffix {suffix!r}; use one of {sorted(_WRITE_FORMATS)}")
    pixels = as_rgb_image(image, name="image")
    if file_format == "PNG":
        from affect.png import encode_png

        return encode_png(pixels)
    if file_format == "JPEG":
        import cv2

        # OpenCV's libjpeg-turbo gives Pillow's bytes exactly (same quality, tables and
        # subsampling) in two thirds of the time (0.18 against 0.28 ms at 256 px).
        done, encoded = cv2.imencode(
            ".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY]
        )
        if not done:
            raise ValueError(f"{name}: OpenCV could not encode the image as JPEG")
        return encoded.data
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, format=file_format)
    return encoded.getbuffer()
