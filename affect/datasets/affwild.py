"""Aff-Wild (first Affect-in-the-wild Challenge): per-frame valence and arousal of videos.

Paper Sec. 6.2.1.2, Table 2: the challenge's train and test videos. On disk::

    <root>/videos/<split>/<id>.mp4 or <id>.avi
    <root>/annotations/<split>/valence/<id>.txt    one float per line, one line per frame
    <root>/annotations/<split>/arousal/<id>.txt    (no header)
    <root>/landmarks/<split>/<id>/<k>.pts         68 points; k = frame number from 1

Frames are addressed as ``"<video>#<index>"`` (0-based index; annotation line i+1 and
landmark file ``<i+1>.pts`` belong to frame i). Annotations may be shorter than the video:
frames past the last line are not returned. Each video shows one person, so ``subject`` is
the video id.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.datasets.common import (
    Collector,
    DatasetFormatError,
    Sample,
    check_root,
    check_samples,
    check_split,
    group_by_sequence,
    in_range,
    video_frame_count,
)
from affect.face.landmarks import read_pts, write_pts
from affect.video import write_video

__all__ = ["SPLITS", "load", "write_layout"]

SPLITS = ("train", "test", "all")
VIDEO_EXTENSIONS = (".mp4", ".avi")  # both occur in the release
LAYOUT = (
    "<root>/annotations/<split>/valence/<id>.txt and arousal/<id>.txt beside "
    "<root>/videos/<split>/<id>.mp4 (split: train or test)"
)


def _read_values(collector: Collector, path: Path) -> list[float] | None:
    """Values of a one-float-per-line file; a bad line becomes NaN and a problem.

    None (after recording a problem) when the file is not UTF-8 text.
    """
    content = collector.text(path)
    if content is None:
        return None
    values = []
    for line, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            value = float(text)
        except ValueError:
            collector.problem(path, line, f"not a number: {text.strip()!r}")
            value = math.nan
        else:
            if not in_range(value, -1, 1):
                collector.problem(path, line, f"value {value} outside [-1, 1]")
                value = math.nan
        values.append(value)
    return values


def _load_video(collector: Collector, root: Path, split: str, vid: str) -> None:
    valence_file = root / "annotations" / split / "valence" / f"{vid}.txt"
    arousal_file = root / "annotations" / split / "arousal" / f"{vid}.txt"
    if not arousal_file.is_file():
        collector.problem(valence_file, 0, f"no arousal file {arousal_file}")
        return
    video = next((p for ext in VIDEO_EXTENSIONS if (p := root / "videos" / split / f"{vid}{ext}").is_file()), None)
    if video is None:
        collector.problem(valence_file, 0, f"no video {vid}.mp4/.avi in {root / 'videos' / split}")
        return
    n_frames = video_frame_count(video)
    if n_frames == 0:
        collector.problem(video, 0, "video cannot be opened or has no frames")
        return
    valence, arousal = _read_values(collector, valence_file), _read_values(collector, arousal_file)
    if valence is None or arousal is None:
        return
    for longer, other, extra in (
        (valence_file, arousal_file, valence[len(arousal) :]),
        (arousal_file, valence_file, arousal[len(valence) :]),
    ):
        for offset in range(len(extra)):
            collector.problem(longer, min(len(valence), len(arousal)) + offset + 1, f"no matching line in {other.name}")
    n_labels = min(len(valence), len(arousal))
    collector.exclude("annotation lines past the video's last frame", n_labels - n_frames)
    marks_dir = root / "landmarks" / split / vid
    marks = set(os.listdir(marks_dir)) if marks_dir.is_dir() else set()
    for index in range(min(n_labels, n_frames)):
        if math.isnan(valence[index]) or math.isnan(arousal[index]):
            continue
        landmarks = None
        if f"{index + 1}.pts" in marks:  # frames without a face have no .pts file
            try:
                landmarks = read_pts(marks_dir / f"{index + 1}.pts")
            except ValueError as error:
                collector.problem(marks_dir / f"{index + 1}.pts", 0, str(error))
                continue
        collector.add(
            f"{video}#{index}",
            subject=vid,
            sequence=vid,
            frame=index,
            valence=valence[index],
            arousal=arousal[index],
            landmarks=landmarks,
            part=split,
        )


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load Aff-Wild's annotated video frames with valence and arousal in [-1, 1].

    Parameters
    ----------
    root : path
        Folder holding ``videos/``, ``annotations/`` and optionally ``landmarks/``.
    split : {'train', 'test', 'all'}
        'all' reads every split whose annotations are present.
    strict : bool
        Raise on the first malformed line instead of skipping it.
    decode_check : bool
        Unused: every video is opened to count its frames anyway.

    Returns
    -------
    DataFrame of the common schema (``path`` = ``"<video>#<index>"``) plus ``part``.
    """
    check_split("affwild", split, SPLITS)
    root = check_root(root).resolve()
    splits = [s for s in SPLITS[:-1] if (root / "annotations" / s).is_dir()] if split == "all" else [split]
    if split != "all" and not (root / "annotations" / split / "valence").is_dir():
        raise DatasetFormatError(f"{root}: no annotations/{split}/valence folder; expected {LAYOUT}")
    collector = Collector("affwild", split, strict)
    for part in splits:
        folder = root / "annotations" / part / "valence"
        for file in sorted(folder.glob("*.txt")):
            _load_video(collector, root, part, file.stem)
    collector.require_rows(root, LAYOUT)
    return collector.frame(extra_columns=("part",))


def write_layout(
    root: str | os.PathLike, records: Sequence[Sample], *, fps: float = 25.0, unannotated_tail: int = 0
) -> Path:
    """Write samples as an Aff-Wild copy (mp4v videos, annotation txt, .pts) for :func:`load`.

    Samples are grouped by (split, sequence); each group becomes one video whose frames
    are the samples in the given order. ``unannotated_tail`` repeats each video's last
    frame that many times without annotation, as the release has annotation files shorter
    than their videos.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, ("train", "test"), va=True, expressions=None)
    root = Path(root)
    for (split, vid), group in group_by_sequence(samples).items():
        if not vid or "/" in vid or "\\" in vid:
            raise ValueError(f"records: sequence {vid!r} is not a usable video id")
        frames = [s.pixels() for s in group]
        write_video(root / "videos" / split / f"{vid}.mp4", frames + [frames[-1]] * unannotated_tail, fps)
        for name in ("valence", "arousal"):
            folder = root / "annotations" / split / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{vid}.txt").write_text("".join(f"{float(getattr(s, name))!r}\n" for s in group))
        for index, sample in enumerate(group):
            if sample.landmarks is not None:
                folder = root / "landmarks" / split / vid
                folder.mkdir(parents=True, exist_ok=True)
                write_pts(folder / f"{index + 1}.pts", np.asarray(sample.landmarks, dtype=float))
    return root
