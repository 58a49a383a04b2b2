"""The fast PNG encoder: every image decodes to its pixels, in Pillow and in OpenCV."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from affect.png import encode_png


def _decoded_by_pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return np.asarray(image)


def _decoded_by_opencv(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def _skewed_row() -> np.ndarray:
    """One row whose bytes occur 1, 2, 4, ... 2 ** 17 times: a Huffman code of 19 levels, over deflate's 15."""
    values = np.repeat(np.arange(18, dtype=np.uint8) * 9 + 3, 2 ** np.arange(18))  # 3, 12, ...: not filter byte 2
    values = np.concatenate([values, np.full(-len(values) % 3, 3, np.uint8)])
    return values.reshape(1, -1, 3)


@pytest.mark.parametrize(
    "pixels",
    [
        np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8),
        np.zeros((16, 16, 3), np.uint8),  # one byte value and the end of the block: two codes
        np.full((1, 1, 3), 200, np.uint8),
        np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (3, 1, 3)),
        _skewed_row(),
    ],
    ids=["noise", "black", "one-pixel", "ramp", "skewed-counts"],
)
def test_encode_png_is_lossless_in_pillow_and_opencv(pixels):
    data = encode_png(pixels)
    np.testing.assert_array_equal(_decoded_by_pillow(data), pixels)
    np.testing.assert_array_equal(_decoded_by_opencv(data), pixels)


def test_encode_png_of_a_smooth_face_sized_image_is_a_quarter_of_its_pixels_or_less():
    ramp = np.linspace(0, 255, 256).astype(np.uint8)
    pixels = np.ascontiguousarray(np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], ramp[:, None] // 2), 2))
    assert len(encode_png(pixels)) < pixels.nbytes / 4
    np.testing.assert_array_equal(_decoded_by_pillow(encode_png(pixels)), pixels)
