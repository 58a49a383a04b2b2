"""Tests of affect.video: GIF, MP4 and frame-folder writers."""

import numpy as np
import pytest
from PIL import Image

from affect.image import read_image
from affect.video import write_sequence, write_video


def _frames(n=3, shape=(31, 20)):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, shape + (3,), dtype=np.uint8) for _ in range(n)]


def test_gif_holds_every_frame(tmp_path):
    out = write_sequence(_frames(), tmp_path / "seq.gif", fps=5)
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size == (20, 31)
        assert gif.info["duration"] == 200


def test_mp4_holds_every_frame_padded_to_even_size(tmp_path):
    import cv2

    frames = [np.full((31, 21, 3), value, np.uint8) for value in (30, 130, 230)]
    out = write_sequence(frames, tmp_path / "seq.mp4", fps=10)
    video = cv2.VideoCapture(str(out))
    read = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        read.append(frame)
    assert len(read) == 3 and read[0].shape == (32, 22, 3)
    assert [abs(float(f.mean()) - v) < 8 for f, v in zip(read, (30, 130, 230))] == [True] * 3


def test_folder_of_pngs_round_trips_exactly(tmp_path):
    frames = _frames()
    out = write_sequence(frames, tmp_path / "frames", fps=10)
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    for file, frame in zip(files, frames):
        np.testing.assert_array_equal(read_image(file), frame)


def test_sequence_writer_refuses_other_suffixes_and_empty_input(tmp_path):
    with pytest.raises(ValueError, match=".avi"):
        write_sequence(_frames(), tmp_path / "seq.avi", fps=10)
    with pytest.raises(ValueError, match="empty"):
        write_sequence([], tmp_path / "seq.gif", fps=10)


def test_avi_is_written_with_motion_jpeg_and_counts_its_frames(tmp_path):
    import cv2

    assert write_video(tmp_path / "clip.avi", _frames(4, (32, 24)), fps=25) == 4
    assert int(cv2.VideoCapture(str(tmp_path / "clip.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) == 4


def test_a_video_of_frames_of_two_sizes_is_refused_and_not_left_behind(tmp_path):
    with pytest.raises(ValueError, match="one size"):
        write_video(tmp_path / "clip.mp4", _frames(1, (32, 24)) + _frames(1, (16, 16)), fps=25)
    assert list(tmp_path.iterdir()) == []


class _SilentWriter:
    """OpenCV's VideoWriter on a full disk: opens, takes frames, writes nothing, reports nothing."""

    def __init__(self, filename, *args):
        self.filename = filename

    def isOpened(self):
        return True

    def write(self, frame):
        pass

    def release(self):
        open(self.filename, "wb").close()


@pytest.mark.parametrize("free, message", [(0, "disk full"), (2**40, "wrote 0 of 2 frames")])
def test_a_video_the_writer_could_not_write_is_an_error_and_not_left_behind(tmp_path, monkeypatch, free, message):
    import collections
    import errno
    import shutil

    import cv2

    monkeypatch.setattr(cv2, "VideoWriter", _SilentWriter)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(2**40, 2**40 - free, free))
    with pytest.raises(OSError, match=message) as caught:
        write_video(tmp_path / "clip.mp4", _frames(2, (32, 24)), fps=25)
    assert str(tmp_path) in str(caught.value)
    assert (caught.value.errno == errno.ENOSPC) == (free == 0)
    assert list(tmp_path.iterdir()) == []
