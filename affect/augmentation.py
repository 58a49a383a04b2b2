"""The augmented datasets: synthesized faces added to a database's training data (Sec. 6.2).

The paper selects the neutral frames of a database (zero valence and arousal, Sec. 6.2.1, or
the neutral class, Sec. 6.2.2), synthesizes new affect on every one of them, and adds the
results to the training set; Table 1 counts the images made per database, in the
valence-arousal (VA) case and the six-basic-expressions case. This module turns that into
three steps:

1. :func:`plan` lists the jobs: one row per (neutral image, target affect), with the output
   file name derived from the source and the target, so that names are stable.
2. :func:`build` runs an :class:`Augmenter` over the jobs, on several cores, writing each
   image atomically and recording finished images in ``manifest.csv``. A killed build
   resumes where it stopped.
3. :func:`augment_folds` keeps person-independent folds person-independent (Sec. 6.2.1.2,
   6.2.2.2), and :func:`synthesized_counts` / :func:`write_table_1` give Table 1's counts.

How many VA targets per image? The paper does not say which VA values it synthesized, but
Table 1 pins the number down. Reading its basic-expression count as six images per neutral
photo, the VA count is exactly 57 images per neutral photo for 9 of its 15 databases (e.g.
BU-3DFE 600 and 5,700; RAF-DB 12,828 and 121,866; RECOLA 4,890 and 46,455) and within
0.4 % of 57 for four more (Multi-PIE, Kinect Fusion ITW, Bosphorus, AFEW-VA); AffectNet
(about 84) and AFEW (about 75) are the exceptions. :data:`VA_TARGETS_PER_IMAGE` is
therefore 57, drawn without replacement from the 550 VA classes of the gallery
(Sec. 4.5.1). The classes are drawn with probability proportional to their number of
gallery frames by default: the paper reports that the synthesized images were most
numerous "in the positive valence regions" (Sec. 6.2.1.2, Fig. 12), which is where
its gallery's frames are (Fig. 3); ``weights='uniform'`` draws every class alike.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from affect.datasets import EXPRESSIONS, read_frame
from affect.image import write_image
from affect.reporting import RunContext, atomic_write_text, beside_paper, write_table

__all__ = [
    "BASIC_EXPRESSIONS",
    "VA_TARGETS_PER_IMAGE",
    "MANIFEST",
    "MANIFEST_COLUMNS",
    "PLAN_COLUMNS",
    "PAPER_NAMES",
    "Target",
    "Augmenter",
    "SynthesizerAugmenter",
    "class_targets",
    "plan",
    "build",
    "read_manifest",
    "write_manifest",
    "synthesized_frame",
    "augment_folds",
    "synthesized_counts",
    "table_1",
    "write_table_1",
    "add_subparser",
    "augment_command",
]

log = logging.getLogger("affect.augmentation")

#: The six basic expressions synthesized in Sec. 6.2.2 (the names of affect.datasets).
BASIC_EXPRESSIONS: tuple[str, ...] = tuple(e for e in EXPRESSIONS if e not in ("neutral", "contempt"))
#: VA targets per neutral image: Table 1's VA count over its neutral images (see above).
VA_TARGETS_PER_IMAGE = 57
#: File name of the manifest inside a build's output folder.
MANIFEST = "manifest.csv"
#: Columns of the manifest, in file order.
MANIFEST_COLUMNS: tuple[str, ...] = ("output", "source", "subject", "sequence", "valence", "arousal",
                                     "expression", "va_class", "identity_distance")
#: Columns of a plan (plus ``landmarks``, carried for the augmenter when the frame has them).
PLAN_COLUMNS: tuple[str, ...] = ("output", "source", "subject", "sequence", "valence", "arousal",
                                 "expression", "va_class")
#: Our database names -> the row labels of the paper's Table 1.
PAPER_NAMES: dict[str, str] = {
    "affectnet": "AffectNet", "affwild": "Aff-Wild", "afew_va": "AFEW-VA", "recola": "RECOLA",
    "rafdb": "RAF-DB", "afew": "AFEW 5.0", "bu3dfe": "BU-3DFE",
}
_COUNT_COLUMNS = (("synthesized images", "VA"), ("synthesized images", "basic expressions"))
_FLOAT_COLUMNS = ("valence", "arousal", "identity_distance")
_TEXT_COLUMNS = ("output", "source", "subject", "sequence", "expression")
# Manifest rows are flushed to the OS after every finished photo (so a killed process loses
# none) and fsynced this often (so a power cut loses at most this many seconds of work).
_FSYNC_EVERY_ROWS = 256


# --- targets and the augmenter protocol ------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """The affect one job asks for: a VA point of a gallery class, or a basic expression.

    Attributes
    ----------
    valence, arousal : float
        Target VA in [-1, 1]; NaN for an expression target.
    va_class : int
        Index of the gallery VA class (Sec. 4.5.1) the VA point lies in; -1 for an
        expression target.
    expression : str or None
        One of :data:`BASIC_EXPRESSIONS`, or None for a VA target.
    """

    valence: float = math.nan
    arousal: float = math.nan
    va_class: int = -1
    expression: str | None = None

    @property
    def kind(self) -> str:
        """``'expression'`` or ``'va'``."""
        return "expression" if self.expression is not None else "va"


@runtime_checkable
class Augmenter(Protocol):
    """What :func:`build` needs from a face synthesizer (ours, or a GAN baseline).

    ``prepare`` runs once per source photo (for ours: landmarks, 3DMM fit and texture,
    Sec. 4.1 to 4.3) and returns whatever state ``synthesize`` needs; ``synthesize`` makes
    one image per target. Instances are pickled once into every worker process.
    """

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> Any:
        """Per-photo work. ``image``: (H, W, 3) uint8 RGB; ``landmarks``: (68, 2) or None."""

    def synthesize(self, state: Any, target: Target, seed: int) -> np.ndarray:
        """One synthesized (H', W', 3) uint8 RGB image; ``seed`` for any randomness."""


class SynthesizerAugmenter:
    """Adapts a synthesizer with ``static(image, va)`` and ``basic(image, expression)``.

    Those are the calls of ``affect.synthesis.AffectSynthesizer`` (Sec. 4.5.2); the
    synthesizer keeps its own per-photo fit, so :meth:`prepare` only hands the photo and the
    database's landmarks (if any) on. A result that is not an array is taken to carry the
    image in its ``image`` attribute. :func:`build` measures identity itself, so a
    synthesizer's own identity measurement is switched off (on a shallow copy).
    """

    def __init__(self, synthesizer: Any):
        for method in ("static", "basic"):
            if not callable(getattr(synthesizer, method, None)):
                raise ValueError(f"synthesizer: {type(synthesizer).__name__} has no {method}() method")
        if getattr(synthesizer, "identity", False) is True:
            synthesizer = copy.copy(synthesizer)
            synthesizer.identity = False
        self.synthesizer = synthesizer

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the photo and its landmarks (the synthesizer caches its fit)."""
        return image, landmarks

    def synthesize(self, state: tuple, target: Target, seed: int) -> np.ndarray:
        """Call ``basic`` for an expression target, ``static`` for a VA target."""
        image, landmarks = state
        options = {} if landmarks is None else {"landmarks": landmarks}
        if target.expression is not None:
            result = self.synthesizer.basic(image, target.expression, **options)
        else:
            result = self.synthesizer.static(image, (target.valence, target.arousal), **options)
        return result if isinstance(result, np.ndarray) else result.image


def class_targets(classes: Any) -> np.ndarray:
    """One VA point inside each gallery class: the class's occupied cell nearest its centroid.

    Sec. 4.5.2 synthesizes "the mean face of the class to which this VA value belongs". A
    class centroid can lie in another class's cell (Ward classes are not Voronoi cells of
    their centroids), so the target is the class's own occupied grid cell point closest to
    its centroid: ``classes.lookup`` maps it back to the class, and as a training label it
    lies within the class.

    Parameters
    ----------
    classes : VAClasses
        From :mod:`affect.va_classes`; an object with only ``centroids`` gives the centroids.

    Returns
    -------
    (K, 2) float64, valence and arousal per class.
    """
    centroids = np.asarray(classes.centroids, dtype=np.float64)
    points = getattr(classes, "cell_points", None)
    labels = getattr(classes, "cell_labels", None)
    if points is None or labels is None or len(points) == 0:
        return centroids.copy()
    points, labels = np.asarray(points, np.float64), np.asarray(labels, np.int64)
    distance = np.linalg.norm(points - centroids[labels], axis=1)
    order = np.lexsort((distance, labels))
    first_labels, first = np.unique(labels[order], return_index=True)
    targets = centroids.copy()
    targets[first_labels] = points[order[first]]
    return targets


# --- the plan --------------------------------------------------------------------------------

def plan(neutral_frame: pd.DataFrame, kind: str = "va", classes: Any = None, n: int | None = None,
         seed: int = 0, *, weights: str = "counts") -> pd.DataFrame:
    """List the synthesis jobs for a set of neutral images (Sec. 6.2.1, 6.2.2).

    Parameters
    ----------
    neutral_frame : DataFrame
        Rows with ``path``, ``subject``, ``sequence`` (and ``landmarks`` if known), e.g.
        ``affect.datasets.neutral_frames(load(...))``.
    kind : {'va', 'expression'}
        VA targets drawn over the gallery's VA classes, or the basic expressions.
    classes : VAClasses
        The gallery's VA classes (Sec. 4.5.1); required for ``kind='va'``.
    n : int, optional
        Targets per image: for ``'va'`` classes drawn without replacement (default
        :data:`VA_TARGETS_PER_IMAGE`, 57); for ``'expression'`` the first ``n`` of a seeded
        shuffle of the six (default all six, in :data:`BASIC_EXPRESSIONS` order).
    seed : int
        Seed of the draws; each image's draw depends only on ``seed`` and its path, so a
        plan over a subset of the images gives those images the same targets.
    weights : {'counts', 'uniform'}
        VA classes drawn in proportion to their gallery frames, or uniformly.

    Returns
    -------
    DataFrame with :data:`PLAN_COLUMNS` (+ ``landmarks``), one row per job, images in
    input order. ``output`` is the image's path relative to the output folder,
    ``<subject>/<source name>-<hash>_<target>.png``; it identifies the job.
    """
    missing = {"path", "subject", "sequence"} - set(neutral_frame.columns)
    if missing:
        raise ValueError(f"neutral_frame: missing columns {sorted(missing)}")
    if kind not in ("va", "expression"):
        raise ValueError(f"kind: {kind!r} is not 'va' or 'expression'")
    if weights not in ("counts", "uniform"):
        raise ValueError(f"weights: {weights!r} is not 'counts' or 'uniform'")
    if kind == "va":
        if classes is None:
            raise ValueError("classes: VA targets need the gallery's VA classes (affect.va_classes)")
        k = len(classes.centroids)
        n = VA_TARGETS_PER_IMAGE if n is None else n
        if isinstance(n, bool) or int(n) != n or not 1 <= n <= k:
            raise ValueError(f"n: expected an integer from 1 to {k} (number of VA classes), got {n!r}")
        targets = class_targets(classes)
        counts = np.asarray(getattr(classes, "counts", np.ones(k)), dtype=np.float64)
        p = counts / counts.sum() if weights == "counts" else None
    else:
        n = len(BASIC_EXPRESSIONS) if n is None else n
        if isinstance(n, bool) or int(n) != n or not 1 <= n <= len(BASIC_EXPRESSIONS):
            raise ValueError(f"n: expected an integer from 1 to {len(BASIC_EXPRESSIONS)}, got {n!r}")
    if neutral_frame["path"].duplicated().any():
        raise ValueError("neutral_frame: a path occurs twice; each source image once")

    has_landmarks = "landmarks" in neutral_frame.columns
    rows = []
    for record in neutral_frame.itertuples(index=False):
        source = str(record.path)
        key = _source_key(source)
        rng = np.random.default_rng(_derived_seed(seed, "plan", kind, key))
        base = dict(source=source, subject=_text(record.subject), sequence=_text(record.sequence))
        if has_landmarks:
            base["landmarks"] = record.landmarks
        stem = _output_stem(source, base["subject"], key)
        if kind == "va":
            chosen = np.sort(rng.choice(k, size=int(n), replace=False, p=p))
            for c in chosen:
                rows.append(dict(base, output=f"{stem}_va{c:03d}.png", valence=float(targets[c, 0]),
                                 arousal=float(targets[c, 1]), expression=None, va_class=int(c)))
        else:
            order = np.arange(len(BASIC_EXPRESSIONS)) if n == len(BASIC_EXPRESSIONS) \
                else np.sort(rng.permutation(len(BASIC_EXPRESSIONS))[: int(n)])
            for i in order:
                expression = BASIC_EXPRESSIONS[i]
                rows.append(dict(base, output=f"{stem}_{expression}.png", valence=math.nan,
                                 arousal=math.nan, expression=expression, va_class=-1))
    columns = list(PLAN_COLUMNS) + (["landmarks"] if has_landmarks else [])
    return _typed(pd.DataFrame(rows, columns=columns))


def _text(value: Any) -> str:
    """A text field, '' for a missing one."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _derived_seed(seed: int, *parts: str) -> int:
    """A 63-bit seed from a base seed and names; stable across runs, processes and versions."""
    digest = hashlib.sha256("\x1f".join([str(int(seed)), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _source_key(source: str) -> str:
    """The last three components of a source path (``clip/00012.png``, ``videos/7.mp4#40``).

    Output names hash this rather than the full path, so moving a database's root folder
    keeps them (and a build's resume) valid.
    """
    return "/".join(PurePosixPath(source.replace(os.sep, "/")).parts[-3:])


def _output_stem(source: str, subject: str, key: str) -> str:
    """``<subject>/<readable source name>-<8 hex digits>``, the name shared by a photo's jobs."""
    name = PurePosixPath(source.replace(os.sep, "/")).name
    video, sep, index = name.rpartition("#")
    readable = f"{PurePosixPath(video).stem}_f{index}" if sep and index.isdigit() else PurePosixPath(name).stem
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    # Databases without identities (AffectNet, RAF-DB) get 256 hash buckets instead of one folder.
    folder = _safe(subject) if subject else f"_{digest[:2]}"
    return f"{folder}/{_safe(readable)}-{digest}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes for plan and manifest columns (object text, float VA, int class)."""
    for column in frame.columns:
        if column in _FLOAT_COLUMNS:
            frame[column] = frame[column].astype(np.float64)
        elif column == "va_class":
            frame[column] = frame[column].astype(np.int64)
        elif column in _TEXT_COLUMNS:
            frame[column] = pd.Series(list(frame[column]), index=frame.index, dtype=object)
    return frame


# --- the manifest ----------------------------------------------------------------------------

def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a build's ``manifest.csv`` (or the folder holding it).

    A last line without its newline is a row cut off by a kill during the write: it is
    dropped (its image is synthesized again on resume). Any other malformed line raises.

    Returns
    -------
    DataFrame with :data:`MANIFEST_COLUMNS`; ``expression`` None for VA rows, ``valence``
    and ``arousal`` NaN for expression rows, ``va_class`` -1 for expression rows.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise ValueError(f"{path}: no such manifest")
    # Parsed line by line rather than with pandas.read_csv: a row cut off inside its last
    # field (identity distance "0.4" of "0.4321") parses cleanly there; only the missing
    # newline tells that it is unfinished.
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete = lines[:-1]  # the last element is '' if the file ends with a newline, else a cut line
    if lines[-1]:
        log.warning("%s: dropped an unfinished last line (interrupted write)", path)
    if not complete or next(csv.reader([complete[0]])) != list(MANIFEST_COLUMNS):
        raise ValueError(f"{path}: not a manifest (expected header {','.join(MANIFEST_COLUMNS)})")
    rows = []
    for number, line in enumerate(complete[1:], start=2):
        fields = next(csv.reader([line]), [])
        try:
            rows.append(_parse_row(fields))
        except ValueError as error:
            raise ValueError(f"{path}:{number}: bad manifest line ({error})") from None
    return _typed(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)))


def _parse_row(fields: list[str]) -> dict:
    if len(fields) != len(MANIFEST_COLUMNS):
        raise ValueError(f"{len(fields)} fields, expected {len(MANIFEST_COLUMNS)}")
    row = dict(zip(MANIFEST_COLUMNS, fields))
    for column in _FLOAT_COLUMNS:
        row[column] = float(row[column]) if row[column] else math.nan
    row["va_class"] = int(row["va_class"])
    row["expression"] = row["expression"] or None
    if not row["output"]:
        raise ValueError("empty output path")
    return row


def _manifest_line(row: Mapping) -> str:
    """One CSV line (with newline) of a manifest row; NaN and None as empty fields."""
    values = []
    for column in MANIFEST_COLUMNS:
        value = row[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values.append("")
        elif column in _FLOAT_COLUMNS:
            values.append(repr(float(value)))
        else:
            values.append(str(value))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def write_manifest(manifest: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a manifest atomically (temporary file, then replace); returns the path."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise ValueError(f"manifest: missing columns {sorted(missing)}")
    header = ",".join(MANIFEST_COLUMNS) + "\n"
    body = "".join(_manifest_line(row) for row in manifest[list(MANIFEST_COLUMNS)].to_dict("records"))
    atomic_write_text(path, header + body)
    return path


class _ManifestAppender:
    """Appends finished rows: flushed per batch, fsynced every :data:`_FSYNC_EVERY_ROWS`."""

    def __init__(self, path: Path):
        self.stream = open(path, "a", encoding="utf-8", newline="")
        self.unsynced = 0

    def append(self, rows: Sequence[Mapping]) -> None:
        if not rows:
            return
        self.stream.write("".join(_manifest_line(row) for row in rows))
        self.stream.flush()
        self.unsynced += len(rows)
        if self.unsynced >= _FSYNC_EVERY_ROWS:
            os.fsync(self.stream.fileno())
            self.unsynced = 0

    def close(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()


# --- the build -------------------------------------------------------------------------------

def build(plan: pd.DataFrame, augmenter: Augmenter, out_dir: str | os.PathLike, *, jobs: int = 1,
          seed: int = 0, identity: bool = True, progress: bool = True,
          skip_errors: bool = False) -> pd.DataFrame:
    """Synthesize every job of a plan into ``out_dir`` and record it in ``manifest.csv``.

    Sec. 6.2: the synthesized images that are added to the training sets. Each image is
    written atomically and its manifest row appended only once the image is complete, so a
    build killed at any point resumes by running again with the same arguments: jobs whose
    outputs the manifest lists (and whose files exist) are skipped, nothing is lost and
    nothing is listed twice. At the end the manifest is rewritten with this plan's rows in
    plan order after any rows of other plans built into the same folder.

    Parameters
    ----------
    plan : DataFrame
        From :func:`plan` (several plans can be concatenated).
    augmenter : Augmenter
        Pickled once into each worker process when ``jobs > 1``.
    out_dir : path
        Output folder; images at ``out_dir / plan.output``.
    jobs : int
        Worker processes; the jobs of one source photo go to one worker, so its
        ``prepare`` (for ours, the 3DMM fit) runs once.
    seed : int
        Base of the per-job seeds handed to ``synthesize``; each job's seed is derived from
        ``seed`` and its output name, so the images do not depend on ``jobs`` or order.
    identity : bool
        Record the dlib identity-descriptor distance between source and output
        (:mod:`affect.identity`); NaN when False or when no face is found.
    progress : bool
        Show a tqdm progress bar.
    skip_errors : bool
        Log and skip a photo whose preparation or synthesis fails (e.g. no face found)
        instead of stopping; skipped jobs are not in the manifest and are retried by the
        next build. Their number is in ``manifest.attrs['failed']``.

    Returns
    -------
    The manifest rows of this plan (:data:`MANIFEST_COLUMNS`), in plan order.
    """
    missing = set(PLAN_COLUMNS) - set(plan.columns)
    if missing:
        raise ValueError(f"plan: missing columns {sorted(missing)}")
    if plan["output"].duplicated().any():
        first = plan.loc[plan["output"].duplicated(), "output"].iloc[0]
        raise ValueError(f"plan: output {first!r} occurs twice")
    if isinstance(jobs, bool) or int(jobs) != jobs or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    if not isinstance(augmenter, Augmenter):
        raise ValueError(f"augmenter: {type(augmenter).__name__} has no prepare() and synthesize()")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST

    done = _finished_rows(manifest_path, out)
    write_manifest(done, manifest_path)  # drops a cut-off last line before appending
    todo = plan[~plan["output"].isin(set(done["output"]))]
    groups = _groups(todo, seed)

    appender = _ManifestAppender(manifest_path)
    bar = _progress_bar(len(plan), len(plan) - len(todo), progress)
    failed = 0
    try:
        runs = _run_serial(groups, augmenter, out, identity, skip_errors) if jobs == 1 \
            else _run_parallel(groups, augmenter, out, identity, skip_errors, int(jobs))
        for rows, n_failed in runs:
            appender.append(rows)
            failed += n_failed
            bar.update(len(rows) + n_failed)
    finally:
        appender.close()
        bar.close()

    finished = _finished_rows(manifest_path, out)
    in_plan = finished["output"].isin(set(plan["output"]))
    position = {name: i for i, name in enumerate(plan["output"])}
    ours = finished[in_plan]
    ours = ours.iloc[np.argsort(ours["output"].map(position).to_numpy(), kind="stable")]
    ours = ours.reset_index(drop=True)
    write_manifest(pd.concat([finished[~in_plan], ours], ignore_index=True), manifest_path)
    if failed:
        log.warning("%s: %d of %d jobs failed and were skipped", out, failed, len(plan))
    ours.attrs["failed"] = failed
    return ours


def _finished_rows(manifest_path: Path, out: Path) -> pd.DataFrame:
    """Manifest rows whose image exists, one per output (the last listing wins)."""
    if not manifest_path.exists():
        return _typed(pd.DataFrame(columns=list(MANIFEST_COLUMNS)))
    rows = read_manifest(manifest_path)
    rows = rows.drop_duplicates("output", keep="last")
    exists = [(out / name).is_file() for name in rows["output"]]
    return rows[exists].reset_index(drop=True)


def _groups(todo: pd.DataFrame, seed: int) -> list[list[dict]]:
    """The pending jobs grouped by source photo (first-seen order), each with its seed."""
    groups: dict[str, list[dict]] = {}
    for job in todo.to_dict("records"):
        job["seed"] = _derived_seed(seed, "job", job["output"])
        groups.setdefault(job["source"], []).append(job)
    return list(groups.values())


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="synthesizing", disable=not enabled)


def _run_serial(groups, augmenter, out, identity, skip_errors) -> Iterator[tuple[list[dict], int]]:
    """Run the groups in this process, reporting every finished image at once."""
    for group in groups:
        yield from _run_group(augmenter, group, out, identity, skip_errors)


def _run_parallel(groups, augmenter, out, identity, skip_errors, jobs) -> Iterator[tuple[list[dict], int]]:
    """Run the groups in ``jobs`` processes, reporting each group when it is done.

    At most ``2 * jobs`` groups are in flight, so a plan of millions of jobs does not
    hold millions of futures. On an error the queued groups are cancelled and the rows
    of the groups that finished are still reported before the error propagates.
    """
    pending = iter(groups)
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(augmenter,)) as pool:
        running: set[Future] = set()
        try:
            while True:
                while len(running) < 2 * jobs:
                    group = next(pending, None)
                    if group is None:
                        break
                    running.add(pool.submit(_worker_group, group, out, identity, skip_errors))
                if not running:
                    return
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        except BaseException:
            for future in running:
                future.cancel()
            raise


_WORKER_AUGMENTER: Augmenter | None = None


def _init_worker(augmenter: Augmenter) -> None:
    global _WORKER_AUGMENTER
    _WORKER_AUGMENTER = augmenter


def _worker_group(group, out, identity, skip_errors) -> tuple[list[dict], int]:
    rows, failed = [], 0
    for part, n_failed in _run_group(_WORKER_AUGMENTER, group, out, identity, skip_errors):
        rows += part
        failed += n_failed
    return rows, failed


def _run_group(augmenter: Augmenter, group: list[dict], out: Path, identity: bool,
               skip_errors: bool) -> Iterator[tuple[list[dict], int]]:
    """Synthesize the jobs of one photo; yields ([row], 0) per image, ([], k) on a skip."""
    first = group[0]
    source_descriptor: np.ndarray | None = None
    try:
        image = read_frame(first["source"])
        landmarks = _landmarks(first.get("landmarks"))
        state = augmenter.prepare(image, landmarks)
        if identity:
            source_descriptor = _descriptor(image, landmarks)
    except Exception as error:  # noqa: BLE001 - any failure of a third-party augmenter
        if not skip_errors:
            raise
        log.warning("%s: skipped (%s)", first["source"], error)
        yield [], len(group)
        return
    for i, job in enumerate(group):
        target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
        try:
            synthesized = augmenter.synthesize(state, target, job["seed"])
            write_image(out / job["output"], synthesized)
        except Exception as error:  # noqa: BLE001
            if not skip_errors:
                raise
            log.warning("%s -> %s: skipped (%s)", job["source"], job["output"], error)
            yield [], 1
            continue
        distance = math.nan
        if source_descriptor is not None:
            output_descriptor = _descriptor(synthesized, None)
            if output_descriptor is not None:
                distance = float(np.linalg.norm(source_descriptor - output_descriptor))
        yield [{column: job[column] for column in MANIFEST_COLUMNS[:-1]} | {"identity_distance": distance}], 0


def _landmarks(value: Any) -> np.ndarray | None:
    """(68, 2) landmarks of a frame row, None where the row has none."""
    if isinstance(value, np.ndarray) and value.shape == (68, 2):
        return value
    return None


def _descriptor(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray | None:
    """dlib identity descriptor, None where no face is found."""
    from affect.identity import face_descriptor
    from affect.landmarks import FaceNotFoundError

    try:
        return face_descriptor(image, landmarks)
    except FaceNotFoundError:
        return None


# --- using the manifest ----------------------------------------------------------------------

def synthesized_frame(manifest: pd.DataFrame, out_dir: str | os.PathLike) -> pd.DataFrame:
    """The synthesized images as rows of the database frame schema, ready to concatenate.

    Labels are the targets: (valence, arousal) for VA rows, the expression for the others.
    ``frame`` is -1 and ``landmarks`` None (the landmarks moved with the new expression);
    the extra column ``source`` keeps the neutral photo each image came from.
    """
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise ValueError(f"manifest: missing columns {sorted(missing)}")
    out = Path(out_dir)
    return pd.DataFrame({
        "path": [str(out / name) for name in manifest["output"]],
        "subject": manifest["subject"].to_numpy(dtype=object),
        "sequence": manifest["sequence"].to_numpy(dtype=object),
        "frame": np.full(len(manifest), -1, dtype=np.int64),
        "valence": manifest["valence"].to_numpy(dtype=np.float64),
        "arousal": manifest["arousal"].to_numpy(dtype=np.float64),
        "expression": pd.Series(list(manifest["expression"]), dtype=object),
        "landmarks": pd.Series([None] * len(manifest), dtype=object),
        "source": manifest["source"].to_numpy(dtype=object),
    })


def augment_folds(folds: Iterable[tuple[pd.DataFrame, pd.DataFrame]],
                  manifest: pd.DataFrame) -> list[pd.DataFrame]:
    """The synthesized rows each fold may train on (Sec. 6.2.1.2, 6.2.2.2).

    The paper augments "the training set with the synthesized images of people appearing
    only in that set (preserving the person independence)". A row is kept for a fold when
    its source photo is in the fold's training part and its subject is not in the test
    part (the second test also guards folds whose subjects were not kept apart).

    Parameters
    ----------
    folds : sequence of (train, test) DataFrames
        E.g. ``affect.datasets.folds(...)``; both need ``path`` and ``subject``.
    manifest : DataFrame
        From :func:`build` or :func:`read_manifest`.

    Returns
    -------
    list of manifest subsets, one per fold, in fold order.
    """
    if "source" not in manifest.columns or "subject" not in manifest.columns:
        raise ValueError("manifest: needs the columns 'source' and 'subject'")
    kept = []
    for i, (train, test) in enumerate(folds):
        for side, part in (("train", train), ("test", test)):
            if not {"path", "subject"} <= set(part.columns):
                raise ValueError(f"folds[{i}] {side}: needs the columns 'path' and 'subject'")
        from_train = manifest["source"].isin(set(train["path"].astype(str)))
        of_test_subject = manifest["subject"].isin(set(test["subject"].astype(str)) - {""})
        kept.append(manifest[from_train & ~of_test_subject].reset_index(drop=True))
    return kept


def synthesized_counts(manifests: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Count synthesized images per database, VA and basic-expression cases (Table 1).

    Parameters
    ----------
    manifests : dict of database name -> manifest
        Our database names (``'afew_va'``) or any other label.

    Returns
    -------
    DataFrame indexed by database, columns ``('synthesized images', 'VA')``,
    ``('synthesized images', 'basic expressions')`` (Table 1's) and
    ``('neutral images', '')``: distinct source photos.
    """
    rows = {}
    for name, manifest in manifests.items():
        if not {"source", "expression"} <= set(manifest.columns):
            raise ValueError(f"manifests[{name!r}]: needs the columns 'source' and 'expression'")
        basic = manifest["expression"].notna() & (manifest["expression"] != "")
        rows[name] = [int((~basic).sum()), int(basic.sum()), int(manifest["source"].nunique())]
    columns = pd.MultiIndex.from_tuples(list(_COUNT_COLUMNS) + [("neutral images", "")],
                                        names=["column", "subcolumn"])
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "database"
    return frame.astype(np.int64)


def table_1(counts: pd.DataFrame) -> pd.DataFrame:
    """Our synthesized-image counts beside the paper's Table 1 counts.

    Rows are the paper's database names (:data:`PAPER_NAMES` maps ours); only the paper's
    two count columns are shown beside ours.
    """
    from affect import paper

    ours = counts.rename(index=lambda name: PAPER_NAMES.get(name, name))
    theirs = paper.table(1)[list(_COUNT_COLUMNS)]
    return beside_paper(ours, theirs)


def write_table_1(counts: pd.DataFrame, ctx: RunContext) -> Path:
    """Write Table 1 of this run beside the paper's (``tables/table_01.md`` and ``.csv``)."""
    ours = counts.rename(index=lambda name: PAPER_NAMES.get(name, name))
    notes = ("Counts depend on how many neutral images a database holds; the comparable "
             "quantity is the count per neutral image: the paper's Table 1 implies 6 basic "
             f"expressions and {VA_TARGETS_PER_IMAGE} VA targets per neutral image for most "
             "databases.")
    return write_table(1, ours, ctx, title="Databases and number of synthesized images", notes=notes,
                       paper_columns=list(_COUNT_COLUMNS))


# --- command line ----------------------------------------------------------------------------

def augment_database(name: str, root: str | os.PathLike, out_dir: str | os.PathLike, synthesizer: Any, *,
                     kinds: Sequence[str] = ("va", "expression"), split: str | None = None,
                     n_va: int | None = None, max_neutral: int | None = None, jobs: int = 1,
                     seed: int = 0, identity: bool = True, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Synthesize the paper's affects on every neutral face of a database (Sec. 6.2, Table 1).

    Loads database ``name`` from ``root``, selects its neutral faces
    (:func:`affect.datasets.neutral_frames`), plans VA targets over the synthesizer's VA classes
    and the six basic expressions, and builds each kind into ``out_dir/<kind>`` (resumable).

    Parameters
    ----------
    synthesizer : AffectSynthesizer
        Holds the affect model whose VA classes the VA targets are drawn from.
    kinds : subset of ``('va', 'expression')``
    split : str, optional
        Default: ``'train'`` where the database has one, else ``'all'``.
    n_va : int, optional
        VA targets per neutral face (default :data:`VA_TARGETS_PER_IMAGE`).
    max_neutral : int, optional
        Use only the first ``max_neutral`` neutral faces of a seeded shuffle (small runs).

    Returns
    -------
    dict mapping each kind to its manifest.
    """
    from affect import datasets

    unknown = set(kinds) - {"va", "expression"}
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; expected 'va' and/or 'expression'")
    split = split or ("train" if "train" in datasets.SPLITS[name] else "all")
    neutral = datasets.neutral_frames(datasets.load(name, root, split))
    if neutral.empty:
        raise ValueError(f"{root}: no neutral faces in {name}/{split}")
    if max_neutral is not None and len(neutral) > max_neutral:
        neutral = neutral.sample(n=max_neutral, random_state=seed).sort_index()
    augmenter = synthesizer if isinstance(synthesizer, Augmenter) else SynthesizerAugmenter(synthesizer)
    manifests = {}
    for kind in kinds:
        classes = synthesizer.affect_model.va_classes if kind == "va" else None
        jobs_plan = plan(neutral, kind, classes, n_va if kind == "va" else None, seed)
        manifests[kind] = build(jobs_plan, augmenter, Path(out_dir) / kind, jobs=jobs, seed=seed,
                                identity=identity, progress=progress, skip_errors=True)
    return manifests


def augment_stand_ins(synthesizer: Any, out_root: str | os.PathLike, *, data_source: str, profile: str,
                     names: Sequence[str] | None = None, seed: int = 0, identity: bool = True,
                     progress: bool = True) -> dict[str, pd.DataFrame]:
    """Augment every database of a run, both kinds, sized by the profile (Table 1).

    Stand-ins (``data_source='proxy'``) are written first if absent
    (:func:`affect.datasets.proxy.ensure_proxy`); real databases are read from
    :func:`affect.data_paths.database_root`. Returns each database's manifest, VA and
    basic-expression rows together, ready for :func:`synthesized_counts`.
    """
    from affect import data_paths, datasets, profiles
    from affect.datasets.proxy import ensure_proxy

    sizes = profiles.get(profile)
    manifests = {}
    for name in names or datasets.NAMES:
        root = data_paths.database_root(name, data_source, profile)
        if data_source == "proxy":
            ensure_proxy(name, root.parent, profile, seed)
        built = augment_database(name, root, Path(out_root) / name, synthesizer, n_va=sizes.augment_va_targets,
                                 max_neutral=sizes.augment_neutral_per_database, seed=seed,
                                 identity=identity, progress=progress)
        manifests[name] = pd.concat(built.values(), ignore_index=True)
    return manifests


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``affect augment`` to an argparse subparsers object; returns its parser."""
    from affect.datasets import NAMES

    parser = subparsers.add_parser(
        "augment", help="synthesize affect on a database's neutral faces (Sec. 6.2, Table 1)",
        description="Select the neutral faces of a database, synthesize VA targets over the "
                    "gallery's VA classes and the six basic expressions on each, and write the "
                    "images with a manifest.csv to OUT/va and OUT/expression. Run the same "
                    "command again to resume an interrupted build.")
    parser.add_argument("name", choices=NAMES, help="database")
    parser.add_argument("--root", required=True, help="the database's folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--kind", choices=("va", "expression"), action="append",
                        help="only this kind of target (repeatable; default: both, as in Table 1)")
    parser.add_argument("--affect-model", default=None,
                        help="affect model (.npz) from 'affect affect-model' (default: $AFFECT_MODEL "
                             "or data/proxy-default/gallery/affect_model.npz)")
    parser.add_argument("--n", type=int, default=None,
                        help=f"VA targets per neutral image (default: {VA_TARGETS_PER_IMAGE})")
    parser.add_argument("--split", default=None,
                        help="database split to augment (default: train if it has one, else all)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--no-identity", action="store_true",
                        help="do not measure the identity distance of each output")
    parser.set_defaults(handler=augment_command)
    return parser


def augment_command(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """Run ``affect augment``: load, select neutral faces, plan, build; prints a summary."""
    from affect.synthesis import AffectSynthesizer

    synthesizer = AffectSynthesizer.from_file(args.affect_model, identity=False)
    manifests = augment_database(args.name, args.root, args.out, synthesizer, kinds=args.kind or ("va", "expression"),
                                 split=args.split, n_va=args.n, jobs=args.jobs, seed=args.seed,
                                 identity=not args.no_identity)
    for kind, manifest in manifests.items():
        print(f"{Path(args.out) / kind}: {len(manifest)} images ({manifest.attrs.get('failed', 0)} failed, "
              "retried on the next run)")
    return manifests
