"""Where the time of one augmented image goes: :func:`stage_costs`, ms of CPU time per step.

The steps of a build (reading and preparing a photo, the synthesis and, inside it, the stages
of ``render_affect`` through the synthesizer's stage timer, encoding, writing, the manifest
row, the identity check) timed one by one on a few photos of a plan.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affect.augmentation.manifest import MANIFEST_COLUMNS
from affect.face.reconstruction import RENDER_STAGES

__all__ = ["SYNTHESIS_STAGES", "PNG_ENCODE_TARGET_RATIO", "stage_costs"]

#: The stages of ``render_affect`` (:data:`affect.face.reconstruction.RENDER_STAGES`, Sec. 4.3 and
#: 4.4) that :func:`stage_costs` times one by one, through the synthesizer's stage timer.
SYNTHESIS_STAGES: tuple[str, ...] = RENDER_STAGES
#: Target of ``encode_png`` over ``encode_jpg``: lossless PNG at most this many times JPEG's cost.
PNG_ENCODE_TARGET_RATIO = 3.0


def stage_costs(
    jobs: pd.DataFrame, augmenter, *, photos: int = 4, per_photo: int = 6, work_dir: str | os.PathLike | None = None
) -> dict:
    """Where the time of one image goes: ms of CPU time of this thread, on a few photos.

    Per photo (``_photo``): reading it, ``prepare`` (landmarks and 3DMM fit, texture) and the
    source's identity descriptor. Per image: ``synthesize`` and, inside it, the calls of
    :data:`SYNTHESIS_STAGES` (``synthesize_rest``: the rest of it, i.e. the projection, the affect
    model's deformation, the per-photo cache lookup and copies); JPEG (quality 95) and PNG
    encoding as :func:`affect.image.write_image` encodes, the atomic file write (in a scratch
    folder of ``work_dir``: default, the system's), the manifest row, and the output's identity
    descriptor. The
    identity check is timed as a build runs it: the source's face detected once, each output's
    landmarks located in the source's face box (:func:`affect.augmentation.shard_tasks.run_shard`).
    CPU time rather than wall time, so that other jobs on the machine barely change it; the
    libraries run one thread each, as in a build's workers. Medians; the first photo is a warm-up.
    """
    import contextlib

    from affect.augmentation.identity_check import identity_descriptor, landmarks_in
    from affect.augmentation.shard_tasks import single_thread_libraries
    from affect.augmentation.shards import PartAppender
    from affect.augmentation.targets import Target
    from affect.datasets import read_frame
    from affect.face.landmarks import face_box
    from affect.files import atomic_write_bytes
    from affect.image import encode_image

    times: dict[str, list[float]] = {
        key: []
        for key in (
            "read_photo",
            "prepare_photo",
            "identity_source_photo",
            "synthesize",
            *SYNTHESIS_STAGES,
            "synthesize_rest",
            "encode_jpg",
            "encode_png",
            "write_file",
            "manifest_row",
            "identity_output",
        )
    }
    inside = {stage: 0.0 for stage in SYNTHESIS_STAGES}  # CPU seconds of the current image's synthesis

    def timed(key, function, *args):
        start = time.thread_time()
        value = function(*args)
        times[key].append(1000 * (time.thread_time() - start))
        return value

    @contextlib.contextmanager
    def counted(stage):  # the synthesizer's stage timer
        start = time.thread_time()
        try:
            yield
        finally:
            inside[stage] += time.thread_time() - start

    def source_identity(image):
        box = face_box(image)
        identity_descriptor(image, landmarks_in(image, box))
        return box

    restore = single_thread_libraries()
    # Augmenters that do not render through the synthesizer (a GAN's) have no stages to time.
    synthesizer = getattr(augmenter, "synthesizer", None)
    if synthesizer is not None:
        synthesizer.stage_timer = counted
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".scale-bench-") as scratch:
        part = PartAppender(Path(scratch))
        try:
            done = 0
            for source, group in jobs.groupby("source", sort=False):
                if done > photos:
                    break
                image = timed("read_photo", read_frame, source)
                try:
                    state = timed("prepare_photo", augmenter.prepare, image, None)
                except Exception:  # noqa: BLE001 - a stand-in photo without a detectable face
                    continue
                box = timed("identity_source_photo", source_identity, image)
                for job in group.head(per_photo).to_dict("records"):
                    target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
                    inside.update(dict.fromkeys(inside, 0.0))
                    output = timed("synthesize", augmenter.synthesize, state, target, 0)
                    for stage, seconds in inside.items():
                        times[stage].append(1000 * seconds)
                    times["synthesize_rest"].append(times["synthesize"][-1] - 1000 * sum(inside.values()))
                    jpeg = timed("encode_jpg", encode_image, output, ".jpg")
                    timed("encode_png", encode_image, output, ".png")
                    timed("write_file", atomic_write_bytes, Path(scratch) / "face.jpg", jpeg)
                    row = {column: job.get(column, "") for column in MANIFEST_COLUMNS} | {"identity_distance": 0.5}
                    timed("manifest_row", part.append, [row])
                    timed(
                        "identity_output",
                        lambda face, box=box: identity_descriptor(face, landmarks_in(face, box)),
                        output,
                    )
                if done == 0:  # warm-up photo
                    for values in times.values():
                        values.clear()
                done += 1
        finally:
            part.close()
            restore()
            if synthesizer is not None:
                synthesizer.stage_timer = None
    return {key: round(float(np.median(values)), 2) for key, values in times.items() if values}
