"""Image sequences as files: GIF and video writers shared by synthesis and the stand-ins.

One writer per container, each atomic (:mod:`affect.files`) and streaming: frames are
encoded as they arrive, so memory does not grow with the length of a sequence.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from affect.files import atomic_path
from affect.image import as_rgb_image

#: FourCC per video suffix: MPEG-4 Part 2 for .mp4 (bundled with opencv-python), Motion JPEG for .avi.
FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
#: Free bytes under which an incomplete video is put down to a full disk (one 4K frame, raw).
_LOW_SPACE = 32 * 2**20


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, fourcc: str | None = None) -> int:
    """Write RGB frames as a video, atomically; returns the number of frames written.

    Parameters
    ----------
    path : str or Path
        ``.mp4`` or ``.avi`` (the FourCC follows from it unless ``fourcc`` is given).
    frames : iterable of (H, W, 3) uint8, all of one size
    fps : float, frames per second, > 0
    """
    # OpenCV's VideoWriter rather than imageio: imageio's MP4 writer needs imageio-ffmpeg,
    # which the kit does not depend on, while opencv-python bundles FFmpeg with 'mp4v'.
    import cv2

    path = Path(path)
    fourcc = fourcc or FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{path}: a video is written as {' or '.join(FOURCC)}")
    if not fps > 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    count = 0

    def write(temporary: str) -> None:
        nonlocal count
        writer, size = None, None
        try:
            for frame in frames:
                image = as_rgb_image(frame, "frames")
                if writer is None:
                    size = image.shape[:2]
                    # MPEG-4 needs even frame sizes; OpenCV silently crops odd ones, so pad by edge pixels.
                    height, width = size[0] + size[0] % 2, size[1] + size[1] % 2
                    writer = cv2.VideoWriter(temporary, cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
                    if not writer.isOpened():
                        raise ValueError(f"{path}: OpenCV cannot write {fourcc} video on this system")
                elif image.shape[:2] != size:
                    raise ValueError(f"{path}: expected frames of one size")
                pad = ((0, size[0] % 2), (0, size[1] % 2), (0, 0))
                writer.write(cv2.cvtColor(np.pad(image, pad, mode="edge"), cv2.COLOR_RGB2BGR))
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if count == 0:
            raise ValueError(f"{path}: the sequence is empty")
        _check_written(temporary, count, path)

    atomic_path(path, write)
    return count


def _check_written(temporary: str, count: int, path: Path) -> None:
    """Raise where OpenCV's writer left fewer than ``count`` frames in ``temporary``.

    OpenCV's VideoWriter reports no write error: on a full disk it leaves a truncated file (no
    MP4 index) and returns. The container's frame count, read back from its header, tells; the
    error is a full disk (errno 28, which :func:`affect.files.atomic_path` names) when the
    folder has no space left, an unreadable video otherwise.
    """
    import cv2

    capture = cv2.VideoCapture(temporary)
    try:
        written = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()
    if written >= count:
        return
    if shutil.disk_usage(os.path.dirname(temporary) or ".").free < _LOW_SPACE:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    raise OSError(f"{path}: OpenCV wrote {written} of {count} frames (an unreadable video)")


def write_gif(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write RGB frames as a looping GIF, atomically; returns the number of frames."""
    from PIL import Image

    if not fps > 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    # Each frame is reduced to its own 256-colour palette as it arrives, so a long sequence holds
    # one byte per pixel, not three. Pillow's fast octree does it in 2 ms at 512 px, against 210 ms
    # for the median cut that converting an RGB frame to a palette uses.
    pictures = [
        Image.fromarray(as_rgb_image(frame, "frames")).quantize(256, method=Image.Quantize.FASTOCTREE)
        for frame in frames
    ]
    if not pictures:
        raise ValueError(f"{path}: the sequence is empty")
    if len({p.size for p in pictures}) > 1:
        raise ValueError(f"{path}: expected frames of one size")
    duration = max(20, int(round(1000.0 / fps)))  # ms; browsers slow down GIF frames under 20 ms
    atomic_path(
        path,
        lambda p: pictures[0].save(
            p, format="GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0
        ),
    )
    return len(pictures)


def write_sequence(frames: Iterable[np.ndarray], out: str | os.PathLike, fps: float) -> Path:
    """Write an image sequence as a GIF, an MP4, or a folder of PNGs (Fig. 10).

    Parameters
    ----------
    frames : iterable of (H, W, 3) uint8, all of one size
    out : str or Path
        ``*.gif`` (looping animation), ``*.mp4`` (MPEG-4 Part 2, 'mp4v'), or a folder that
        receives ``frame_0000.png``, ``frame_0001.png``, ...
    fps : float
        Frames per second of a GIF or MP4.

    Returns
    -------
    Path of the file or folder.
    """
    from affect.image import write_image

    out = Path(out)
    suffix = out.suffix.lower()
    if not fps > 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    if suffix == ".gif":
        write_gif(out, frames, fps)
    elif suffix == ".mp4":
        write_video(out, frames, fps)
    elif suffix:
        raise ValueError(f"{out}: a sequence is written as .gif, .mp4 or a folder (no suffix)")
    else:
        if out.exists() and not out.is_dir():
            raise ValueError(f"{out}: exists and is not a folder")
        count = 0
        for count, image in enumerate(frames, start=1):
            write_image(out / f"frame_{count - 1:04d}.png", image)
        if count == 0:
            raise ValueError(f"{out}: the sequence is empty")
    return out
