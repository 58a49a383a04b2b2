"""Shards of an augmented set: the unit of work of every engine (one machine, Dask, SLURM arrays).

A build's photos are split into :data:`SHARDS` shards by a hash of each photo's name, so all
targets of one photo fall in one shard and its 3DMM fit runs once. Each shard has a folder
``shards/NNNN/`` in the output folder holding

- ``manifest.part-<host>-<pid>-<random>.csv``: append-only manifest rows of the images one run
  of the shard finished (flushed per image; a run killed mid-write leaves at most a cut-off
  last line, which is dropped on reading);
- ``skipped.csv``: the shard's photos that could not be prepared, with the reason;
- ``DONE.json``: written by atomic rename when every job of the shard is finished, with the
  digest of the shard's planned outputs (a shard is done for the plan it was run with).

Images themselves are written atomically at their ``output`` path in the output folder. A
shard run twice (a retried task, a requeued job array element) skips the images its parts
list and writes identical bytes for the others (per-job seeds), so repeats are harmless; the
merge (:func:`merge`) joins the parts into ``manifest.csv`` with one row per image. Every
path in a manifest is relative to the output folder, so a finished set can be moved.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.augmentation.manifest import (
    MANIFEST,
    MANIFEST_COLUMNS,
    ManifestAppender,
    manifest_frame,
    read_manifest,
    read_manifest_rows,
    write_manifest,
)
from affect.augmentation.targets import _short_source
from affect.files import atomic_write_text

#: Default number of shards: about 115 photos (10k images) per shard for AffectNet's 29,400
#: neutral photos, minutes of work per task, far above a scheduler's per-task overhead.
SHARDS = 256
SHARDS_FOLDER = "shards"
LAYOUT_FILE = "layout.json"  # in SHARDS_FOLDER: the number of shards the folder is split into
DONE_FILE = "DONE.json"
PART_PREFIX = "manifest.part-"
SKIPPED = "skipped.csv"


def shard_of(sources: Iterable[str], n_shards: int) -> np.ndarray:
    """Shard index of each source photo: CRC-32 of its last three path components, mod ``n_shards``.

    The short name (as for the output names) keeps the shards when a database's root moves.
    """
    sources = pd.Series(list(sources), dtype=object).astype(str)
    unique = sources.unique()  # a photo's many targets share one source: hash each once
    index = {s: zlib.crc32(_short_source(s).encode("utf-8")) % n_shards for s in unique}
    return sources.map(index).to_numpy(dtype=np.int64)


def shard_folder(out: Path, index: int) -> Path:
    return Path(out) / SHARDS_FOLDER / f"{index:04d}"


def digest(outputs: Iterable[str]) -> str:
    """sha256 of a shard's planned output names (sorted), the plan a DONE marker vouches for."""
    return hashlib.sha256("\n".join(sorted(outputs)).encode("utf-8")).hexdigest()


def check_layout(out: Path, n_shards: int) -> bool:
    """Whether ``out`` is already split into shards; ValueError if into another number of them."""
    path = Path(out) / SHARDS_FOLDER / LAYOUT_FILE
    if not path.is_file():
        return False
    stored = json.loads(path.read_text(encoding="utf-8")).get("n_shards")
    if stored != n_shards:
        raise ValueError(f"{out}: split into {stored} shards, not {n_shards}; pass --shards {stored}")
    return True


def write_layout(out: Path, n_shards: int) -> None:
    atomic_write_text(Path(out) / SHARDS_FOLDER / LAYOUT_FILE, json.dumps({"n_shards": n_shards}) + "\n")


def migrate(out: Path, n_shards: int) -> None:
    """Split the manifest and skipped list of a folder built before shards into shard parts.

    Rows of the old ``manifest.csv`` whose image exists go to ``manifest.part-migrated.csv`` of
    their shard, the old skipped list to the shards' ``skipped.csv``, so the build resumes.
    """
    out = Path(out)
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        # Sources as the builder before shards wrote them: relative ones to the working folder.
        rows = read_manifest(manifest_path, source_root=os.curdir).drop_duplicates("output", keep="last")
        rows["source"] = [s if os.path.isabs(s) else os.path.abspath(s) for s in rows["source"]]
        rows = rows[np.array([(out / name).is_file() for name in rows["output"]], dtype=bool)]
        for index, part in rows.groupby(shard_of(rows["source"], n_shards)):
            folder = shard_folder(out, int(index))
            folder.mkdir(parents=True, exist_ok=True)
            write_manifest(part, folder / f"{PART_PREFIX}migrated.csv")
    skipped = read_skipped(out / SKIPPED)
    by_shard: dict[int, dict[str, str]] = {}
    for source, reason in skipped.items():
        by_shard.setdefault(int(shard_of([source], n_shards)[0]), {})[source] = reason
    for index, entries in by_shard.items():
        write_skipped(shard_folder(out, index) / SKIPPED, entries)


def read_skipped(path: str | os.PathLike) -> dict[str, str]:
    """The photos a build left out (:data:`SKIPPED`), source to reason; {} if there is no list."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    return {row[0]: row[1] for row in rows[1:] if len(row) == 2}


def write_skipped(path: Path, entries: Mapping[str, str]) -> None:
    """Write a skipped-sources list (``source,reason``) atomically."""
    lines = ["source,reason\n"]
    for source, reason in entries.items():
        buffer = _csv_line((source, reason))
        lines.append(buffer)
    atomic_write_text(path, "".join(lines))


def append_skipped(path: Path, source: str, reason: str) -> None:
    new = not path.exists()
    with open(path, "a", encoding="utf-8", newline="") as stream:
        stream.write(("source,reason\n" if new else "") + _csv_line((source, reason)))


def _csv_line(values: Sequence[str]) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


class PartAppender:
    """A new append-only manifest part in a shard's folder, created on the first row."""

    def __init__(self, folder: Path):
        self.path = folder / f"{PART_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.csv"
        self.appender: ManifestAppender | None = None

    def append(self, rows: Sequence[Mapping]) -> None:
        if not rows:
            return
        if self.appender is None:
            self.path.write_text(",".join(MANIFEST_COLUMNS) + "\n", encoding="utf-8")
            self.appender = ManifestAppender(self.path)
        self.appender.append(rows)

    def close(self) -> None:
        if self.appender is not None:
            self.appender.close()


def _part_records(folder: Path) -> list[dict]:
    parts = sorted(folder.glob(f"{PART_PREFIX}*.csv"))
    return [row for path in parts if path.stat().st_size for row in read_manifest_rows(path)]


def _finished_records(out: Path, folder: Path, seen: set[str]) -> list[dict]:
    """The rows of a shard's parts whose image exists and whose output is not in ``seen`` (updated)."""
    finished = []
    for row in _part_records(folder):
        if row["output"] not in seen and (out / row["output"]).is_file():
            seen.add(row["output"])
            finished.append(row)
    return finished


def finished_rows(out: Path, folder: Path) -> pd.DataFrame:
    """A shard's rows whose image exists, one per output (the first listing wins)."""
    return manifest_frame(_finished_records(Path(out), Path(folder), set()))


def finished_outputs(out: Path, folder: Path) -> set[str]:
    """The outputs of :func:`finished_rows`, without building a frame (a shard run's first step)."""
    seen: set[str] = set()
    _finished_records(Path(out), Path(folder), seen)
    return seen


def all_finished_rows(out: str | os.PathLike) -> pd.DataFrame:
    """Every shard's finished rows (image on disk), one per output: what a merge would list.

    The parts' rows are gathered first and made into one frame (a frame per shard costs
    milliseconds each, which a short build's merge would spend mostly on pandas).
    """
    out = Path(out)
    folders = sorted(p for p in (out / SHARDS_FOLDER).glob("[0-9]*") if p.is_dir())
    seen: set[str] = set()
    return manifest_frame([row for folder in folders for row in _finished_records(out, folder, seen)])


def is_done(folder: Path, shard_digest: str, *, retry_skipped: bool = False) -> bool:
    """Whether a shard finished every job of the plan whose digest is ``shard_digest``.

    With ``retry_skipped`` a shard that left photos out is not done (they are tried again).
    """
    path = Path(folder) / DONE_FILE
    if not path.is_file():
        return False
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    if done.get("plan") != shard_digest:
        return False
    return not (retry_skipped and done.get("skipped_sources", 0))


def mark_done(folder: Path, index: int, shard_digest: str, images: int, skipped_sources: int) -> None:
    record = {"shard": index, "plan": shard_digest, "images": images, "skipped_sources": skipped_sources}
    atomic_write_text(Path(folder) / DONE_FILE, json.dumps(record) + "\n")


def merge(out: str | os.PathLike, plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """Join every shard's parts into ``manifest.csv`` (and their skipped lists into ``skipped.csv``).

    One row per image whose file exists (the first listing of an image wins; repeats of a
    retried shard are dropped). Rows of ``plan`` come in plan order after the rows of other
    plans built into the same folder (sorted by output). Written atomically.

    Returns
    -------
    The manifest rows of ``plan`` (all rows when ``plan`` is None), in that order.
    """
    out = Path(out)
    folders = sorted(p for p in (out / SHARDS_FOLDER).glob("[0-9]*") if p.is_dir())
    rows = all_finished_rows(out)
    if plan is None:
        ours = rows.sort_values("output", kind="stable").reset_index(drop=True)
        others = ours.iloc[:0]
    else:
        position = {name: i for i, name in enumerate(plan["output"])}
        in_plan = rows["output"].isin(position)
        ours = rows[in_plan]
        ours = ours.iloc[np.argsort(ours["output"].map(position).to_numpy(), kind="stable")].reset_index(drop=True)
        others = rows[~in_plan].sort_values("output", kind="stable")
    write_manifest(pd.concat([others, ours], ignore_index=True), out / MANIFEST)
    skipped: dict[str, str] = {}
    for folder in folders:
        skipped.update(read_skipped(folder / SKIPPED))
    if skipped:
        write_skipped(out / SKIPPED, skipped)
    else:
        (out / SKIPPED).unlink(missing_ok=True)
    return ours
