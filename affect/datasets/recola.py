"""RECOLA (AVEC 2016 release): gold-standard valence and arousal of 18 recordings at 25 Hz.

Paper Sec. 6.2.1.2, Table 3. On disk (the AVEC 2016 folder)::

    <root>/ratings_gold_standard/valence/{train,dev}_<n>.arff
    <root>/ratings_gold_standard/arousal/{train,dev}_<n>.arff
    <root>/recordings_video/{train,dev,test}_<n>.mp4

Each ARFF data row is ``Instance_name, frameTime, GoldStandard``, one every 40 ms (7501
rows for 300 s). Frame ``k`` of the video is the row with ``frameTime = 0.04 k``; this
assumes the videos run at the label rate, 25 fps (unconfirmed). The test gold standard was
never released, so the AVEC development set (``dev``) serves as the test set. Each
recording shows one participant: ``subject`` and ``sequence`` are the recording name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

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
from affect.video import write_video

__all__ = ["SPLITS", "FRAME_STEP", "load", "write_layout"]

SPLITS = ("train", "dev", "all")
FRAME_STEP = 0.04  # seconds between gold-standard rows (AVEC 2016: 25 Hz)
_RECORDING = re.compile(r"(train|dev|test)_\d+")
LAYOUT = (
    "<root>/ratings_gold_standard/{valence,arousal}/<split>_<n>.arff beside "
    "<root>/recordings_video/<split>_<n>.mp4 (split: train or dev)"
)


def _read_arff(collector: Collector, path: Path) -> dict[int, tuple[float, int]] | None:
    """Gold-standard (value, line) by frame index; bad rows become problems.

    None (after recording a problem) when the file is not UTF-8 text.
    """
    content = collector.text(path)
    if content is None:
        return None
    values: dict[int, tuple[float, int]] = {}
    in_data = False
    for line, text in enumerate(content.splitlines(), start=1):
        text = text.strip()
        if not text or text.startswith("%"):
            continue
        if not in_data:
            in_data = text.lower().startswith("@data")
            continue
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 3:
            collector.problem(path, line, f"expected 3 fields, found {len(fields)}")
            continue
        try:
            time, value = float(fields[1]), float(fields[2])  # '?' (ARFF missing) fails here
        except ValueError:
            collector.problem(path, line, f"frameTime or GoldStandard not a number: {text!r}")
            continue
        if not in_range(value, -1, 1):
            collector.problem(path, line, f"GoldStandard {value} outside [-1, 1]")
            continue
        index = int(round(time / FRAME_STEP))
        if index in values or time < 0:
            collector.problem(path, line, f"frameTime {time} repeated or negative")
            continue
        values[index] = (value, line)
    return values


def _load_recording(collector: Collector, root: Path, name: str) -> None:
    valence_file = root / "ratings_gold_standard" / "valence" / f"{name}.arff"
    arousal_file = root / "ratings_gold_standard" / "arousal" / f"{name}.arff"
    if not valence_file.is_file():
        collector.problem(arousal_file, 0, f"no valence file {valence_file}")
        return
    video = root / "recordings_video" / f"{name}.mp4"
    n_frames = video_frame_count(video) if video.is_file() else 0
    if n_frames == 0:
        collector.problem(arousal_file, 0, f"video {video} missing or unreadable")
        return
    valence, arousal = _read_arff(collector, valence_file), _read_arff(collector, arousal_file)
    if valence is None or arousal is None:
        return
    for file, own, other, other_name in (
        (valence_file, valence, arousal, "arousal"),
        (arousal_file, arousal, valence, "valence"),
    ):
        for index in sorted(set(own) - set(other)):
            collector.problem(file, own[index][1], f"frameTime {index * FRAME_STEP:.2f} has no {other_name} row")
    indices = sorted(set(valence) & set(arousal))
    collector.exclude("labels past the video's last frame", sum(i >= n_frames for i in indices))
    for index in indices:
        if index < n_frames:
            collector.add(
                f"{video}#{index}",
                subject=name,
                sequence=name,
                frame=index,
                valence=valence[index][0],
                arousal=arousal[index][0],
                part=name.split("_")[0],
            )


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load RECOLA's video frames with gold-standard valence and arousal.

    Parameters
    ----------
    root : path
        The AVEC 2016 folder (holding ``ratings_gold_standard/`` and ``recordings_video/``).
    split : {'train', 'dev', 'all'}
        ``dev`` is the set the paper tests on (the test labels are not public).
    strict : bool
        Raise on the first malformed row instead of skipping it.
    decode_check : bool
        Unused: every video is opened to count its frames anyway.

    Returns
    -------
    DataFrame of the common schema (``path`` = ``"<video>#<index>"``) plus ``part``.
    """
    check_split("recola", split, SPLITS)
    root = check_root(root).resolve()
    folder = root / "ratings_gold_standard" / "arousal"
    if not folder.is_dir():
        raise DatasetFormatError(f"{root}: no ratings_gold_standard/arousal folder; expected {LAYOUT}")
    collector = Collector("recola", split, strict)
    for file in sorted(folder.glob("*.arff")):
        part = file.stem.split("_")[0]
        if _RECORDING.fullmatch(file.stem) and split in ("all", part):
            _load_recording(collector, root, file.stem)
    collector.require_rows(root, LAYOUT)
    return collector.frame(extra_columns=("part",))


def write_layout(root: str | os.PathLike, records: Sequence[Sample], *, fps: float = 25.0) -> Path:
    """Write samples as a RECOLA copy (gold-standard ARFF files and mp4v videos) for :func:`load`.

    ``sequence`` is the recording name, ``<split>_<n>`` (e.g. ``train_3``); frames are
    written in the given order, one ARFF row each at 40 ms steps (a stand-in may be far
    shorter than the release's 7501 rows).

    Returns
    -------
    The root (AVEC 2016) folder.
    """
    samples = check_samples(records, ("train", "dev"), va=True, expressions=None)
    root = Path(root)
    for (split, name), group in group_by_sequence(samples).items():
        if not _RECORDING.fullmatch(name) or not name.startswith(split + "_"):
            raise ValueError(f"records: sequence {name!r} is not a RECOLA recording name '{split}_<n>'")
        write_video(root / "recordings_video" / f"{name}.mp4", [s.pixels() for s in group], fps)
        for dimension in ("valence", "arousal"):
            lines = [
                "@relation GoldStandard",
                "",
                "@attribute Instance_name string",
                "@attribute frameTime numeric",
                "@attribute GoldStandard numeric",
                "",
                "@data",
            ]
            lines += [f"'{name}',{i * FRAME_STEP:.6f},{float(getattr(s, dimension))!r}" for i, s in enumerate(group)]
            folder = root / "ratings_gold_standard" / dimension
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.arff").write_text("\n".join(lines) + "\n")
    return root
