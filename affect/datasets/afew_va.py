"""AFEW-VA: 600 film clips with per-frame valence, arousal and 68 landmarks.

Paper Sec. 6.2.1.2, Table 5: 5-fold person-independent cross-validation (see
:func:`affect.datasets.folds`). On disk, one folder per clip::

    <root>/001/00000.png, 00001.png, ...
    <root>/001/001.json   {"video_id": "001", "frames": {"00000": {"valence": v,
                           "arousal": a, "landmarks": [[x, y], ... 68]}, ...}}

Ratings are on the database's [-10, 10] scale and are divided by 10. The clip list has no
identity field that public readers rely on: a top-level ``actor`` key is used as
``subject`` when present (some copies are described as having one; unconfirmed),
otherwise each clip counts as its own subject, so folds are then only clip-independent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.datasets.common import (
    Collector,
    Sample,
    check_image,
    check_root,
    check_samples,
    check_split,
    group_by_sequence,
    in_range,
)
from affect.image import write_image
from affect.vocabulary import N_LANDMARKS

__all__ = ["SPLITS", "SCALE", "load", "write_layout"]

SPLITS = ("all",)  # no official split; the paper uses person-independent folds
SCALE = 10.0  # ratings are integers in [-10, 10] (AFEW-VA paper)
FRAME_EXTENSIONS = (".png", ".jpg")  # PNG in the release; some re-distributed copies use JPEG
LAYOUT = "numbered clip folders <root>/<clip>/ holding <clip>.json and the frames 00000.png, ..."


def _line_of(text: str, key: str) -> int:
    """1-based line where a frame key first appears in the JSON text (0 if not found)."""
    at = text.find(f'"{key}"')
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def _load_clip(collector: Collector, folder: Path, decode: bool) -> None:
    file = folder / f"{folder.name}.json"
    if not file.is_file():
        collector.problem(folder, 0, f"clip folder has no {file.name}")
        return
    text = collector.text(file)
    if text is None:
        return
    try:
        data = json.loads(text)
        frames = data["frames"]
        if not isinstance(frames, dict):
            raise TypeError("'frames' is not an object")
    except json.JSONDecodeError as error:
        collector.problem(file, error.lineno, f"invalid JSON: {error.msg}")
        return
    except (KeyError, TypeError) as error:
        collector.problem(file, 0, f"no 'frames' object ({error})")
        return
    if str(data.get("video_id", folder.name)) != folder.name:
        collector.problem(file, _line_of(text, "video_id"), f"video_id {data['video_id']!r} != folder {folder.name!r}")
        return
    subject = str(data["actor"]) if data.get("actor") not in (None, "") else folder.name
    for key in sorted(frames):
        row = _parse_frame(collector, file, text, key, frames[key])
        if row is None:
            continue
        image = next(
            (p for ext in FRAME_EXTENSIONS if (p := folder / f"{key}{ext}").exists()),
            folder / f"{key}{FRAME_EXTENSIONS[0]}",
        )
        if check_image(collector, image, decode, _line_of(text, key), file):
            collector.add(str(image), subject=subject, sequence=folder.name, **row)


def _parse_frame(collector: Collector, file: Path, text: str, key: str, value) -> dict | None:
    """One frame entry as row fields, or None after recording why it is unusable."""
    line = _line_of(text, key)
    if not key.isdigit() or not isinstance(value, dict):
        collector.problem(file, line, f"frame {key!r}: not a numbered frame entry")
        return None
    try:
        valence, arousal = float(value["valence"]), float(value["arousal"])
    except (KeyError, TypeError, ValueError):
        collector.problem(file, line, f"frame {key}: valence or arousal missing or not a number")
        return None
    if not (in_range(valence, -SCALE, SCALE) and in_range(arousal, -SCALE, SCALE)):
        collector.problem(file, line, f"frame {key}: valence/arousal ({valence}, {arousal}) outside [-10, 10]")
        return None
    landmarks = value.get("landmarks")
    if landmarks is not None:
        try:
            landmarks = np.asarray(landmarks, dtype=np.float64).reshape(N_LANDMARKS, 2)
        except (TypeError, ValueError):
            collector.problem(file, line, f"frame {key}: landmarks are not 68 [x, y] pairs")
            return None
    return dict(frame=int(key), valence=valence / SCALE, arousal=arousal / SCALE, landmarks=landmarks)


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load AFEW-VA's frames with valence and arousal scaled from [-10, 10] to [-1, 1].

    Parameters
    ----------
    root : path
        Folder holding the numbered clip folders.
    split : {'all'}
        AFEW-VA has no official split; use :func:`affect.datasets.folds`.
    strict : bool
        Raise on the first malformed frame entry instead of skipping it.
    decode_check : bool
        Also decode every frame image (slow).

    Returns
    -------
    DataFrame of the common schema, one row per annotated frame.
    """
    check_split("afew_va", split, SPLITS)
    root = check_root(root).resolve()
    collector = Collector("afew_va", split, strict)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        _load_clip(collector, folder, decode_check)
    collector.require_rows(root, LAYOUT)
    return collector.frame()


def write_layout(root: str | os.PathLike, records: Sequence[Sample]) -> Path:
    """Write samples as an AFEW-VA copy (PNG frames plus one JSON per clip) for :func:`load`.

    ``sequence`` is the 3-digit clip id; frames are numbered in the given order. Valence and
    arousal are written as the database stores them, integers on [-10, 10]: values are
    rounded to the nearest 0.1, the database's resolution. ``subject`` is written as the
    clip's ``actor``.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, None, va=True, expressions=None)
    root = Path(root)
    for (_, clip), group in group_by_sequence(samples).items():
        if not re.fullmatch(r"\d{3}", clip):
            raise ValueError(f"records: sequence {clip!r} is not a 3-digit AFEW-VA clip id")
        if len({s.subject for s in group}) != 1:
            raise ValueError(f"records: clip {clip} has more than one subject")
        frames = {}
        for index, sample in enumerate(group):
            key = f"{index:05d}"
            write_image(root / clip / f"{key}.png", sample.pixels())
            entry = {"valence": int(round(sample.valence * SCALE)), "arousal": int(round(sample.arousal * SCALE))}
            if sample.landmarks is not None:
                entry["landmarks"] = np.asarray(sample.landmarks, dtype=float).tolist()
            frames[key] = entry
        data = {"video_id": clip, "frames": frames}
        if group[0].subject:
            data["actor"] = group[0].subject
        (root / clip / f"{clip}.json").write_text(json.dumps(data, indent=1))
    return root
