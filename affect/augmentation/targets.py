"""The plan of an augmented set: one row per (neutral image, target affect) (Sec. 6.2).

The paper selects the neutral frames of a database (zero valence and arousal, Sec. 6.2.1, or
the neutral class, Sec. 6.2.2) and synthesizes new affect on every one of them. :func:`plan`
lists those jobs, with output file names derived from the source and the target, so that
names are stable across runs, processes and machines.

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

import hashlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from affect.augmentation.manifest import MANIFEST_COLUMNS, typed_columns
from affect.vocabulary import BASIC_EXPRESSIONS

#: VA targets per neutral image: Table 1's VA count over its neutral images (see above).
VA_TARGETS_PER_IMAGE = 57
#: Image formats of a plan's outputs (the suffix of ``output``).
IMAGE_FORMATS: tuple[str, ...] = ("png", "jpg")
#: Columns of a plan: the manifest's less the identity distance a build measures (plus
#: ``landmarks``, carried for the augmenter when the frame has them).
PLAN_COLUMNS: tuple[str, ...] = tuple(c for c in MANIFEST_COLUMNS if c != "identity_distance")


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
        One of :data:`affect.vocabulary.BASIC_EXPRESSIONS`, or None for a VA target.
    """

    valence: float = math.nan
    arousal: float = math.nan
    va_class: int = -1
    expression: str | None = None

    @property
    def kind(self) -> str:
        """``'expression'`` or ``'va'``."""
        return "expression" if self.expression is not None else "va"


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
        From :mod:`affect.gallery.va_classes`; an object with only ``centroids`` gives the centroids.

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


def plan(
    neutral_frame: pd.DataFrame,
    kind: str = "va",
    classes: Any = None,
    n: int | None = None,
    seed: int = 0,
    *,
    weights: str = "counts",
    image_format: str = "png",
) -> pd.DataFrame:
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
        shuffle of the six (default all six, in :data:`affect.vocabulary.BASIC_EXPRESSIONS` order).
    seed : int
        Seed of the draws; each image's draw depends only on ``seed`` and its path, so a
        plan over a subset of the images gives those images the same targets.
    weights : {'counts', 'uniform'}
        VA classes drawn in proportion to their gallery frames, or uniformly.
    image_format : {'png', 'jpg'}
        Suffix of the output names (the images' format).

    Returns
    -------
    DataFrame with :data:`PLAN_COLUMNS` (+ ``landmarks``), one row per job, images in
    input order. ``output`` is the image's path relative to the output folder,
    ``<subject>/<source name>-<hash>_<target>.<image_format>``; it identifies the job.
    """
    missing = {"path", "subject", "sequence"} - set(neutral_frame.columns)
    if missing:
        raise ValueError(f"neutral_frame: missing columns {sorted(missing)}")
    if kind not in ("va", "expression"):
        raise ValueError(f"kind: {kind!r} is not 'va' or 'expression'")
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format: {image_format!r} is not one of {', '.join(IMAGE_FORMATS)}")
    if weights not in ("counts", "uniform"):
        raise ValueError(f"weights: {weights!r} is not 'counts' or 'uniform'")
    if kind == "va":
        if classes is None:
            raise ValueError("classes: VA targets need the gallery's VA classes (affect.gallery.va_classes)")
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
    _check_unique_paths(neutral_frame)

    has_landmarks = "landmarks" in neutral_frame.columns
    rows = []
    for record in neutral_frame.itertuples(index=False):
        source = str(record.path)
        key = _short_source(source)
        rng = np.random.default_rng(derived_seed(seed, "plan", kind, key))
        base = dict(source=source, subject=_text(record.subject), sequence=_text(record.sequence))
        if has_landmarks:
            base["landmarks"] = record.landmarks
        stem = _output_stem(source, base["subject"], key)
        if kind == "va":
            chosen = np.sort(rng.choice(k, size=int(n), replace=False, p=p))
            for c in chosen:
                rows.append(
                    dict(
                        base,
                        output=f"{stem}_va{c:03d}.{image_format}",
                        valence=float(targets[c, 0]),
                        arousal=float(targets[c, 1]),
                        expression=None,
                        va_class=int(c),
                    )
                )
        else:
            order = (
                np.arange(len(BASIC_EXPRESSIONS))
                if n == len(BASIC_EXPRESSIONS)
                else np.sort(rng.permutation(len(BASIC_EXPRESSIONS))[: int(n)])
            )
            for i in order:
                expression = BASIC_EXPRESSIONS[i]
                rows.append(
                    dict(
                        base,
                        output=f"{stem}_{expression}.{image_format}",
                        valence=math.nan,
                        arousal=math.nan,
                        expression=expression,
                        va_class=-1,
                    )
                )
    columns = list(PLAN_COLUMNS) + (["landmarks"] if has_landmarks else [])
    return typed_columns(pd.DataFrame(rows, columns=columns))


def _check_unique_paths(neutral_frame: pd.DataFrame) -> None:
    """Raise ValueError naming the database (when the frame has a load report), the repeated
    image and its rows, if an image occurs twice."""
    paths = neutral_frame["path"].astype(str)
    repeated = paths[paths.duplicated(keep=False)]
    if repeated.empty:
        return
    first = repeated.iloc[0]
    rows = [int(i) for i in np.flatnonzero(paths.to_numpy() == first)]
    report = neutral_frame.attrs.get("report")
    where = f"neutral_frame ({report.database}/{report.split})" if report is not None else "neutral_frame"
    raise ValueError(
        f"{where}: image {first} occurs in rows {', '.join(map(str, rows))}; expected each source image once"
    )


def _text(value: Any) -> str:
    """A text field, '' for a missing one."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def derived_seed(seed: int, *parts: str) -> int:
    """A 63-bit seed from a base seed and names; stable across runs, processes and versions."""
    digest = hashlib.sha256("\x1f".join([str(int(seed)), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _short_source(source: str) -> str:
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
