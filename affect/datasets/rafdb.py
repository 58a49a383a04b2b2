"""RAF-DB (basic emotions): still images in seven classes, the official train/test split.

Paper Sec. 6.2.2.2, Table 6. On disk::

    <root>/EmoLabel/list_patition_label.txt     "<name> <label>" per line, no header
    <root>/Image/aligned/train_00001_aligned.jpg, test_0001_aligned.jpg, ...

(``patition`` is the release's spelling.) The split is the name's prefix. Labels are
1-based in the database's own order: 1 surprise, 2 fear, 3 disgust, 4 happiness,
5 sadness, 6 anger, 7 neutral. RAF-DB has no identity labels: ``subject`` is ''.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from affect.datasets.common import (
    Collector,
    DatasetFormatError,
    Sample,
    check_image,
    check_root,
    check_samples,
    check_split,
    read_text,
)
from affect.image import write_image

__all__ = ["SPLITS", "LABELS", "load", "write_layout"]

SPLITS = ("train", "test", "all")
LABELS = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")  # label 1..7
LABEL_FILE = Path("EmoLabel") / "list_patition_label.txt"
ALIGNED = Path("Image") / "aligned"
_DIGITS = {"train": 5, "test": 4}  # train_00001 but test_0001 in the release
LAYOUT = (
    f"lines '<name> <label>' in <root>/{LABEL_FILE.as_posix()} naming images "
    f"<root>/{ALIGNED.as_posix()}/<stem>_aligned.jpg"
)


def load(
    root: str | os.PathLike, split: str = "all", *, strict: bool = False, decode_check: bool = False
) -> pd.DataFrame:
    """Load RAF-DB's aligned images with their basic-expression labels.

    Parameters
    ----------
    root : path
        The ``basic`` folder holding ``EmoLabel/`` and ``Image/aligned/``.
    split : {'train', 'test', 'all'}
    strict : bool
        Raise on the first malformed line instead of skipping it.
    decode_check : bool
        Also decode every image (slow).

    Returns
    -------
    DataFrame of the common schema plus ``part``.
    """
    check_split("rafdb", split, SPLITS)
    root = check_root(root).resolve()
    labels = root / LABEL_FILE
    if not labels.is_file():
        raise DatasetFormatError(f"{root}: no {LABEL_FILE.as_posix()}; expected {LAYOUT}")
    collector = Collector("rafdb", split, strict)
    for line, text in enumerate(read_text(labels).splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            collector.problem(labels, line, f"expected '<name> <label>', found {text.strip()!r}")
            continue
        name, label = fields[0], int(fields[1])
        part = name.split("_")[0]
        if part not in _DIGITS:
            collector.problem(labels, line, f"name {name!r} starts with neither train nor test")
            continue
        if not 1 <= label <= len(LABELS):
            collector.problem(labels, line, f"label {label} outside 1..7")
            continue
        if split not in ("all", part):
            continue
        image = root / ALIGNED / f"{Path(name).stem}_aligned.jpg"
        if check_image(collector, image, decode_check, line, labels):
            collector.add(str(image), expression=LABELS[label - 1], part=part)
    collector.require_rows(labels, LAYOUT)
    return collector.frame(extra_columns=("part",))


def write_layout(root: str | os.PathLike, records: Sequence[Sample]) -> Path:
    """Write samples as a RAF-DB copy (label list and aligned JPEGs) for :func:`load`.

    Images are numbered per split from 1 in the given order, with the release's 5-digit
    (train) and 4-digit (test) numbering.

    Returns
    -------
    The root folder.
    """
    samples = check_samples(records, ("train", "test"), va=False, expressions=LABELS)
    root = Path(root)
    counters = {"train": 0, "test": 0}
    lines = []
    for sample in samples:
        counters[sample.split] += 1
        stem = f"{sample.split}_{counters[sample.split]:0{_DIGITS[sample.split]}d}"
        write_image(root / ALIGNED / f"{stem}_aligned.jpg", sample.pixels())
        lines.append(f"{stem}.jpg {LABELS.index(sample.expression) + 1}")
    (root / LABEL_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / LABEL_FILE).write_text("\n".join(lines) + "\n")
    return root
