"""The age estimator of Sec. 6.5: WideResNet trained on IMDB and Adience, tested on WIKI.

The paper estimates the age of every test face of the affect databases, which carry no ages,
with "a Wide Residual Network trained on the union of IMDB and Adience and tested on WIKI".
Here that is :func:`train_estimator`: ``build_network('wideresnet', task='age')`` (WRN-16-8 at
64 px in the paper profile; :func:`affect.profiles.age_estimator`) trained by the one training
engine (:func:`affect.learning.training.fit`, DEX's 101 age bins with a range-aware
cross-entropy, :func:`affect.learning.training.age_loss`), 10 % of the training subjects held
out to pick the best epoch (yu4u's validation split), and scored on WIKI by the mean absolute
error of the expected age, with a bootstrap interval over test subjects.

:func:`estimate_ages` then applies it to any frame of the database schema. The estimator is
trained on crops around a face box (IMDB-WIKI's ``face_location``, Adience's crops); faces
that carry 68 landmarks are cropped around their landmark box the same way (not aligned as
the affect networks' crops are), so both see the same geometry. Every box is widened by
:data:`CONTEXT` about its centre first: yu4u's demo crops a detected face with 40 % of its size
on each side, so hair and head outline (greying, a child's proportions) are in view.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from affect import data_paths, datasets, profiles
from affect.files import atomic_write_text, relative_path
from affect.learning import evaluation, training
from affect.learning.networks import expected_age
from affect.learning.prepared import PreparedFaces, prepare

__all__ = [
    "NETWORK",
    "VAL_FRACTION",
    "AgeEstimator",
    "age_splits",
    "train_estimator",
    "read_estimator",
    "box_frame",
    "estimate_ages",
]

NETWORK = "wideresnet"
#: Share of the training subjects held out to pick the best epoch (yu4u's train.py: 10 %).
VAL_FRACTION = 0.1
_RECORD = "estimator.json"
#: Side of the estimator's crop over the face box's, before the 1.1 of the box crop
#: (:mod:`affect.learning.prepared`): 1.6 x 1.1 = 1.76, about yu4u's 1 + 2 x 0.4.
CONTEXT = 1.6


@dataclass(frozen=True)
class AgeEstimator:
    """A trained age estimator and its score on the held-out WIKI set (saved as ``estimator.json``).

    Attributes
    ----------
    run_dir : str
    data_source, profile : str
    seed : int
    train_faces, val_faces, test_faces : int
        Faces of each split (train: IMDB plus Adience, less the validation subjects).
    databases : list of str
        The training databases found ('imdb', 'adience').
    mae, mae_low, mae_high : float
        Mean absolute error on WIKI, years, with its 95 % bootstrap interval over subjects.
    input_size, width : int, float
        Crop side (px) and WRN-16-8's width multiplier.
    """

    run_dir: str
    data_source: str
    profile: str
    seed: int
    train_faces: int
    val_faces: int
    test_faces: int
    databases: list[str]
    mae: float
    mae_low: float
    mae_high: float
    input_size: int
    width: float

    def module(self) -> training.AffectModule:
        """The trained network (best validation epoch), on the CPU in eval mode."""
        return training.load_module(Path(self.run_dir) / training.CHECKPOINTS / "best.ckpt")

    def sentence(self) -> str:
        """One line for a report: the network, its data and its held-out error."""
        return (
            f"Age estimator: WRN-16-{max(1, round(8 * self.width))} at {self.input_size} px trained on "
            f"{' + '.join(d.upper() if d == 'imdb' else d.capitalize() for d in self.databases)} "
            f"({self.train_faces} faces, {self.val_faces} held out to pick the epoch); mean absolute error "
            f"on WIKI ({self.test_faces} faces): {self.mae:.1f} years [{self.mae_low:.1f}, {self.mae_high:.1f}]."
        )


def _tagged(frame: pd.DataFrame, database: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["subject"] = database + ":" + frame["subject"].astype(str)  # one namespace for both databases
    return frame


def age_splits(data_source: str, profile: profiles.Profile, seed: int = 0) -> dict[str, pd.DataFrame]:
    """IMDB (plus Adience where present) for training and validation, WIKI for the test (Sec. 6.5).

    Stand-in data is written first if absent (:func:`affect.datasets.proxy_ages.ensure_age_proxy`).
    Validation takes :data:`VAL_FRACTION` of the training subjects, drawn with ``seed``.
    """
    imdb_root = data_paths.database_root("imdb_wiki", data_source, profile.name)
    adience_root = data_paths.database_root("adience", data_source, profile.name)
    if data_source == "proxy":
        from affect.datasets.proxy_ages import ensure_age_proxy

        ensure_age_proxy(imdb_root.parent, profile, seed)
    if not imdb_root.is_dir():
        raise ValueError(f"{imdb_root}: IMDB-WIKI folder not found; see data/README.md")
    parts = [_tagged(datasets.load("imdb_wiki", imdb_root, "imdb"), "imdb")]
    if adience_root.is_dir():
        adience = _tagged(datasets.load("adience", adience_root, "all"), "adience")
        # Adience's crops already hold the head around the face: the widening gives back the whole crop.
        parts.append(adience.assign(box=[_widened(b, 1 / CONTEXT) for b in adience["box"]]))
    train = pd.concat(parts, ignore_index=True)
    test = _tagged(datasets.load("imdb_wiki", imdb_root, "wiki"), "wiki")
    subjects = np.array(sorted(train["subject"].unique()))
    held = set(np.random.default_rng(seed).choice(subjects, max(1, round(VAL_FRACTION * len(subjects))), replace=False))
    val = train["subject"].isin(held).to_numpy()
    return {"train": train[~val].reset_index(drop=True), "val": train[val].reset_index(drop=True), "test": test}


def _widened(box, factor: float = CONTEXT):
    """A ``(x1, y1, x2, y2)`` box scaled by ``factor`` about its centre (None stays None)."""
    if box is None or (isinstance(box, float) and np.isnan(box)):
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, half_w, half_h = (x1 + x2) / 2, (y1 + y2) / 2, factor * (x2 - x1) / 2, factor * (y2 - y1) / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _prepared(frame: pd.DataFrame, size: int, label: str, progress: bool = False) -> PreparedFaces:
    """The estimator's crops: each face box widened by :data:`CONTEXT`, then cropped and cached."""
    from affect.learning.runs import prepared_root

    frame = frame.assign(box=[_widened(b) for b in frame["box"]]) if "box" in frame else frame
    return prepare(frame, prepared_root(), size, label=label, progress=progress)


def train_estimator(
    run_dir: str | os.PathLike,
    *,
    profile: profiles.Profile,
    data_source: str = "proxy",
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
    n_bootstrap: int = 1000,
) -> AgeEstimator:
    """Train the age estimator, score it on WIKI and save both in ``run_dir``; reuse a finished run.

    A run whose ``estimator.json`` exists is read back; a killed run resumes from its last
    checkpoint (:func:`affect.learning.training.fit`).

    Returns
    -------
    AgeEstimator
    """
    run_dir = Path(run_dir)
    if (run_dir / _RECORD).is_file():
        return read_estimator(run_dir)
    sizes = profiles.age_estimator(profile)
    frames = age_splits(data_source, profile, seed)
    faces = {
        split: _prepared(frame, sizes.input_size, f"{data_source}-age-{split}", progress)
        for split, frame in frames.items()
    }
    module = training.fit(
        NETWORK,
        "age",
        faces["train"],
        faces["val"],
        sizes.training(),
        run_dir,
        seed=seed,
        device=device,
        progress=progress,
    )
    scored = evaluation.evaluate(
        module, faces["test"], run_dir, n_bootstrap=n_bootstrap, seed=seed, device="cpu" if device == "auto" else device
    ).scores.loc["mae"]
    databases = sorted({s.split(":")[0] for s in frames["train"]["subject"]}, key=["imdb", "adience"].index)
    estimator = AgeEstimator(
        str(run_dir),
        data_source,
        profile.name,
        seed,
        len(faces["train"]),
        len(faces["val"]),
        len(faces["test"]),
        databases,
        float(scored["value"]),
        float(scored["low"]),
        float(scored["high"]),
        sizes.input_size,
        sizes.width,
    )
    record = {**asdict(estimator), "run_dir": relative_path(run_dir, run_dir)}  # read back from where it lies
    atomic_write_text(run_dir / _RECORD, json.dumps(record, indent=1))
    return estimator


def read_estimator(run_dir: str | os.PathLike) -> AgeEstimator:
    """The :class:`AgeEstimator` saved in ``run_dir``; ValueError naming the file if absent."""
    path = Path(run_dir) / _RECORD
    if not path.is_file():
        raise ValueError(f"{path}: not found; train the age estimator first")
    # The folder it is read from, not the one it was trained in: a report folder may have moved.
    return AgeEstimator(**{**json.loads(path.read_text()), "run_dir": str(Path(run_dir))})


def box_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose faces are cropped around a box, as the estimator was trained.

    Rows with 68 landmarks get their landmark box ``(x1, y1, x2, y2)`` as ``box`` and lose
    the landmarks (so :func:`affect.learning.prepared.prepare` crops the box, unaligned); rows
    without keep their ``box`` (or are detected).
    """
    frame = frame.copy()
    boxes = list(frame["box"]) if "box" in frame else [None] * len(frame)
    for i, marks in enumerate(frame["landmarks"]):
        if marks is not None and np.all(np.isfinite(np.asarray(marks, dtype=float))):
            points = np.asarray(marks, dtype=float)
            boxes[i] = (*points.min(axis=0), *points.max(axis=0))
    frame["box"] = boxes
    frame["landmarks"] = None
    return frame


@torch.no_grad()
def estimate_ages(
    module: training.AffectModule, frame: pd.DataFrame, *, label: str, device: str = "cpu", progress: bool = False
) -> np.ndarray:
    """DEX's expected age of every row of ``frame`` (Sec. 6.5), years.

    Parameters
    ----------
    module : AffectModule
        The estimator (:meth:`AgeEstimator.module`).
    frame : DataFrame
        Rows of the :data:`affect.datasets.COLUMNS` schema (images or video frames).
    label : str
        Name prefix of the crops' cache folder, e.g. ``'proxy-affwild-test-age'``.
    device : str

    Returns
    -------
    (len(frame),) float, years in [0, 100], in the frame's order.
    """
    faces = _prepared(box_frame(frame), module.sizes.input_size, label, progress)
    loader = training.make_loader(faces, NETWORK, "va", None, module.sizes, train=False)  # images only
    module = module.to(device).eval()
    ages, rows = [], []
    for batch in loader:
        ages.append(expected_age(module.network(batch["image"].to(device)).float()).cpu())
        rows.append(batch["row"])
    order = np.argsort(torch.cat(rows).numpy(), kind="stable")
    return torch.cat(ages).numpy()[order]
