"""Tests for affect.image: reading any common photo as upright RGB uint8, atomic writes."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from affect.datasets import read_frame
from affect.image import MAX_PIXELS, ImageReadError, as_rgb_image, check_pixels, encode_image, read_image, write_image


def _gradient(height=6, width=4):
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([rows * 40, cols * 60, rows + cols], axis=2).astype(np.uint8)


def test_read_image_returns_rgb_pixels_of_an_rgb_png_unchanged(tmp_path):
    pixels = _gradient()
    Image.fromarray(pixels).save(tmp_path / "face.png")
    out = read_image(tmp_path / "face.png")
    assert out.dtype == np.uint8 and out.shape == (6, 4, 3)
    np.testing.assert_array_equal(out, pixels)


def test_read_image_expands_grayscale_to_three_equal_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray, mode="L").save(tmp_path / "gray.png")
    out = read_image(tmp_path / "gray.png")
    assert out.shape == (3, 4, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], gray)


def test_read_image_composites_rgba_over_white(tmp_path):
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 10, 10, 255)  # opaque: kept
    rgba[0, 1] = (0, 0, 0, 0)  # transparent: white
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black over white: mid grey
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "cutout.png")
    out = read_image(tmp_path / "cutout.png")
    np.testing.assert_array_equal(out[0, 0], (200, 10, 10))
    np.testing.assert_array_equal(out[0, 1], (255, 255, 255))
    assert np.all(np.abs(out[0, 2].astype(int) - 127) <= 1)


def test_read_image_makes_transparent_palette_colour_white(tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette_image.putdata([0, 1])
    palette_image.save(tmp_path / "palette.png", transparency=0)
    out = read_image(tmp_path / "palette.png")
    np.testing.assert_array_equal(out[0], [(255, 255, 255), (255, 0, 0)])


def test_read_image_scales_16_bit_grayscale_to_8_bits(tmp_path):
    deep = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    out = read_image(tmp_path / "deep.png")
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(out[0, :, 2], [0, 1, 128, 255])


def test_read_image_applies_exif_orientation(tmp_path):
    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)  # stored top-left marker
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: the viewer rotates the stored image 90 degrees clockwise
    Image.fromarray(pixels).save(tmp_path / "rotated.png", exif=exif)
    out = read_image(tmp_path / "rotated.png")
    assert out.shape == (4, 2, 3)
    # After a clockwise turn the stored top-left corner is the top-right corner.
    np.testing.assert_array_equal(out[0, 1], (255, 0, 0))
    assert out[0, 0].sum() == 0


def test_read_image_error_names_a_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="nothere.jpg: no such file"):
        read_image(tmp_path / "nothere.jpg")


def test_read_image_error_names_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("not pixels")
    with pytest.raises(ImageReadError, match="notes.png: not an image"):
        read_image(tmp_path / "notes.png")


def test_read_image_error_names_a_truncated_image(tmp_path):
    Image.fromarray(_gradient(64, 64)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.png"):
        read_image(tmp_path / "cut.png")


def decompression_bomb(path, side=20_000, rows=1_000):
    """A grayscale PNG of ``side`` x ``side`` pixels whose first ``rows`` rows fit in a few KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * ((side + 1) * rows), 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [20_000, 10_000])
def test_a_decompression_bomb_is_refused_by_every_reader_before_decoding(tmp_path, side):
    bomb = decompression_bomb(tmp_path / "bomb.png", side)
    assert bomb.stat().st_size < 50_000 and side * side > MAX_PIXELS
    for reader in (read_image, check_pixels, read_frame):
        with pytest.raises(ImageReadError, match="bomb.png: .*over .*pixels.*; refused") as error:
            reader(bomb)
        assert "\n" not in str(error.value)


def test_check_pixels_passes_an_ordinary_photo(tmp_path):
    write_image(tmp_path / "photo.png", np.zeros((40, 30, 3), np.uint8))
    check_pixels(tmp_path / "photo.png")


def test_image_read_error_is_a_value_error():
    assert issubclass(ImageReadError, ValueError)


def test_write_image_round_trips_a_png_exactly_and_leaves_no_temporary_file(tmp_path):
    pixels = _gradient()
    path = write_image(tmp_path / "out" / "face.png", pixels)
    np.testing.assert_array_equal(read_image(path), pixels)
    assert sorted(p.name for p in path.parent.iterdir()) == ["face.png"]


def test_encoded_png_is_lossless_for_noise_gradients_and_grayscale():
    import io

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (20, 31), dtype=np.uint8)
    for pixels, expected in ((noise, noise), (_gradient(), _gradient()), (gray, np.repeat(gray[:, :, None], 3, 2))):
        with Image.open(io.BytesIO(encode_image(pixels, ".png"))) as decoded:
            assert decoded.format == "PNG" and decoded.mode == "RGB"
            np.testing.assert_array_equal(np.asarray(decoded), expected)


def test_encoded_png_of_a_smooth_face_sized_image_is_compressed():
    ramp = np.linspace(0, 255, 256).astype(np.uint8)
    pixels = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], ramp[:, None] // 2), axis=2)
    assert len(encode_image(pixels, ".png")) < pixels.nbytes / 4


def test_write_image_picks_jpeg_by_suffix_and_accepts_float_input(tmp_path):
    pixels = np.full((16, 16, 3), 0.5)
    path = write_image(tmp_path / "face.JPG", pixels)
    with Image.open(path) as written:
        assert written.format == "JPEG"
    assert np.all(np.abs(read_image(path).astype(int) - 128) <= 2)


def test_write_image_jpeg_bytes_are_pillows_at_quality_95(tmp_path):
    import io

    pixels = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    expected = io.BytesIO()
    Image.fromarray(pixels).save(expected, format="JPEG", quality=95)
    assert write_image(tmp_path / "face.jpg", pixels).read_bytes() == expected.getvalue()


def test_write_image_replaces_an_existing_file(tmp_path):
    write_image(tmp_path / "face.png", np.zeros((2, 2, 3), dtype=np.uint8))
    write_image(tmp_path / "face.png", np.full((2, 2, 3), 9, dtype=np.uint8))
    assert read_image(tmp_path / "face.png").max() == 9


def test_write_image_rejects_an_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="unsupported image suffix '.pgn'"):
        write_image(tmp_path / "face.pgn", _gradient())


def test_write_image_rejects_float_pixels_outside_unit_range(tmp_path):
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        write_image(tmp_path / "face.png", np.full((2, 2, 3), 1.5))
    assert not list(tmp_path.iterdir())


def test_as_rgb_image_rejects_four_channel_arrays():
    with pytest.raises(ValueError, match="shape \\(H, W, 3\\)"):
        as_rgb_image(np.zeros((2, 2, 4), dtype=np.uint8))


def test_as_rgb_image_rejects_nan_and_integer_types_other_than_uint8():
    with pytest.raises(ValueError, match="NaN"):
        as_rgb_image(np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match="dtype int64"):
        as_rgb_image(np.zeros((2, 2, 3), dtype=np.int64))


def test_at_size_scales_the_longer_side_and_keeps_an_image_already_that_size():
    from affect.image import at_size

    image = np.zeros((40, 80, 3), np.uint8)
    assert at_size(image, 40).shape == (20, 40, 3)
    assert at_size(image, 80) is not None and at_size(image, 80).shape == (40, 80, 3)
