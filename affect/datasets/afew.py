"""AFEW (EmotiW): film clips labelled with one of seven basic expressions per clip.

Paper Sec. 6.2.2.2, Table 8. On disk, one folder per split and one per emotion::

    <root>/Train/{Angry,Disgust,Fear,Happy,Neutral,Sad,Surprise}/<9 digits>.avi
    <root>/Val/...same seven folders...

Some copies name the split folders ``train_afew``/``val_afew`` after unzipping; both are
accepted. Test labels are withheld by the challenge, so ``val`` is the test set. Every
frame of a clip carries the clip's label and is addressed as ``"<clip>.avi#<index>"``.
The actors are not identified: ``subject`` is ''.
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
    video_frame_count,
)
from affect.video import write_video

__all__ = ["SPLITS", "FOLDERS", "load", "write_layout"]

SPLITS = ("train", "val", "all")
FOLDERS = {
    "Angry": "anger",
    "Disgust": "disgust",
    "Fear": "fear",
    "Happy": "happiness",
    "Neutral": "neutral",
    "Sad": "sadness",
    "Surprise": "surprise",
}
_SPLIT_FOLDERS = {"train": ("Train", "train_afew", "Train_AFEW"), "val": ("Val", "val_afew", "Val_AFEW")}
LAYOUT = f"<root>/Train/<emotion>/<clip>.avi and <root>/Val/<emotion>/<clip>.avi (emotion: {', '.join(FOLDERS)})"


def _split_folder(root: Path, split: str) -> Path | None:
    return next((root / d for d in _SPLIT_FOLDERS[split] if (root / d).is_dir()), None)


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load AFEW's clip frames with the clip's basic-expression label.

    Parameters
    ----------
    root : path
        Folder holding ``Train/`` and ``Val/`` (or ``train_afew/``, ``val_afew/``).
    split : {'train', 'val', 'all'}
    strict : bool
        Raise on the first unreadable clip instead of skipping it.
    decode_check : bool
        Unused: every clip is opened to count its frames anyway.

    Returns
    -------
    DataFrame of the common schema (``path`` = ``"<clip>.avi#<index>"``) plus ``part``.
    """
    check_split("afew", split, SPLITS)
    root = check_root(root).resolve()
    parts = [s for s in _SPLIT_FOLDERS if split in ("all", s)]
    folders = {part: _split_folder(root, part) for part in parts}
    if split != "all" and folders[split] is None:
        raise DatasetFormatError(f"{root}: no {' or '.join(_SPLIT_FOLDERS[split])} folder; expected {LAYOUT}")
    collector = Collector("afew", split, strict)
    for part, folder in folders.items():
        if folder is None:
            continue
        for name, expression in FOLDERS.items():
            for clip in sorted((folder / name).glob("*.avi")):
                n_frames = video_frame_count(clip)
                if n_frames == 0:
                    collector.problem(clip, 0, "clip cannot be opened or has no frames")
                for index in range(n_frames):
                    collector.add(f"{clip}#{index}", sequence=clip.stem, frame=index, expression=expression, part=part)
    collector.require_rows(root, LAYOUT)
    return collector.frame(extra_columns=("part",))


def write_layout(root: str | os.PathLike, records: Sequence[Sample], *, fps: float = 25.0) -> Path:
    """Write samples as an AFEW copy (MJPG ``.avi`` clips in emotion folders) for :func:`load`.

    ``sequence`` is the 9-digit clip id; the frames of a clip are written in the given
    order and must share one expression.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, ("train", "val"), va=False, expressions=tuple(FOLDERS.values()))
    root, by_expression = Path(root), {v: k for k, v in FOLDERS.items()}
    for (split, clip), group in group_by_sequence(samples).items():
        if not re.fullmatch(r"\d{9}", clip):
            raise ValueError(f"records: sequence {clip!r} is not a 9-digit AFEW clip id")
        expressions = {s.expression for s in group}
        if len(expressions) != 1:
            raise ValueError(f"records: clip {clip} has several expressions {sorted(expressions)}")
        folder = root / _SPLIT_FOLDERS[split][0] / by_expression[expressions.pop()]
        write_video(folder / f"{clip}.avi", [s.pixels() for s in group], fps)
    return root
