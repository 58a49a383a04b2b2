"""Evaluation that keeps its predictions: one CSV row per scored sample, metrics with intervals.

Every number of Tables 2 to 14 can be recomputed from the ``predictions.csv`` written here:

- VA: ``id, subject[, video, frame][, fold], valence, arousal, valence_pred, arousal_pred``;
- expressions: ``id, subject[, video, frame][, fold], label, label_pred`` (class names);
- age (Sec. 6.5): ``id, subject[, fold], age, age_pred`` (years; ``age`` is the middle of the
  labelled range, ``age_pred`` DEX's expected age).

``scores.csv`` holds each criterion of Sec. 6.2.1.1 / 6.2.2.1 (:mod:`affect.metrics`) with a
95 % bootstrap interval over test subjects (or videos, or samples where a database has
neither), so the difference between two networks can be read against its noise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from affect import metrics
from affect.files import atomic_write_text
from affect.learning.prepared import PreparedFaces
from affect.learning.training import AffectModule, make_loader

__all__ = ["Evaluation", "predict", "score", "bootstrap", "bootstrap_unit", "evaluate", "PREDICTIONS", "SCORES"]

PREDICTIONS = "predictions.csv"
SCORES = "scores.csv"


@dataclass(frozen=True)
class Evaluation:
    """Predictions and scores of one network on one test set.

    Attributes
    ----------
    predictions : DataFrame
        One row per scored sample (see the module docstring).
    scores : DataFrame
        Indexed by criterion; columns ``value, low, high`` (the 95 % interval), ``unit``
        (what the bootstrap resampled) and ``n_units``.
    """

    predictions: pd.DataFrame
    scores: pd.DataFrame


@torch.no_grad()
def predict(module: AffectModule, faces: PreparedFaces, *, device: str = "cpu") -> pd.DataFrame:
    """Score every prepared face with a labelled target; recurrent networks see whole videos.

    Parameters
    ----------
    module : AffectModule
    faces : PreparedFaces
    device : str
        Torch device of the forward passes.

    Returns
    -------
    DataFrame of the module docstring's columns, in the order of ``faces.index``.
    """
    hp = module.hparams
    loader = make_loader(faces, hp.network, hp.task, hp.classes, module.sizes, train=False, landmarks=hp.landmarks)
    module = module.to(device).eval()
    rows, outputs = [], []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out = module(batch)
        rows.append(batch["row"].reshape(-1).cpu())
        outputs.append(out.reshape(-1, out.shape[-1]).float().cpu())
    row, output = torch.cat(rows).numpy(), torch.cat(outputs).numpy()
    real = row >= 0  # clip padding
    order = np.argsort(row[real], kind="stable")
    return _prediction_frame(faces.index, output[real][order], hp.task, hp.classes)


def _prediction_frame(
    index: pd.DataFrame, output: np.ndarray, task: str, classes: Sequence[str] | None
) -> pd.DataFrame:
    columns = ["id", "subject"] + (["video", "frame"] if (index["video"] != "").any() else [])
    frame = index[columns].copy()
    if task == "age":
        from affect.learning.networks import expected_age

        frame["age"] = (index["age_low"] + index["age_high"]) / 2
        frame["age_pred"] = expected_age(torch.from_numpy(output)).numpy()
        known = np.isfinite(frame["age"].to_numpy())
    elif task == "va":
        frame["valence"], frame["arousal"] = index["valence"], index["arousal"]
        frame["valence_pred"], frame["arousal_pred"] = output[:, 0], output[:, 1]
        known = np.isfinite(frame[["valence", "arousal"]].to_numpy()).all(axis=1)
    else:
        frame["label"] = index["expression"]
        frame["label_pred"] = np.asarray(classes, dtype=object)[output.argmax(axis=1)]
        known = frame["label"].isin(classes).to_numpy()
    return frame[known].reset_index(drop=True)


def score(predictions: pd.DataFrame, classes: Sequence[str] | None = None) -> dict[str, float]:
    """Every criterion of the task, from a predictions frame.

    VA: :func:`affect.metrics.score_va` (CCC, P-CC, SAGR, MSE per dimension and mean);
    expressions: :func:`affect.metrics.score_expressions` over ``classes``; age: the mean
    absolute error in years (``mae``, scikit-learn's).
    """
    if "age_pred" in predictions:
        from sklearn.metrics import mean_absolute_error

        return {"mae": float(mean_absolute_error(predictions["age"], predictions["age_pred"]))}
    if "valence_pred" in predictions:
        return metrics.score_va(
            predictions[["valence", "arousal"]].to_numpy(), predictions[["valence_pred", "arousal_pred"]].to_numpy()
        )
    return metrics.score_expressions(
        predictions["label"].to_numpy(), predictions["label_pred"].to_numpy(), labels=classes
    )


def bootstrap_unit(predictions: pd.DataFrame) -> str:
    """What to resample: 'subject' when there are several, else 'video', else 'id' (samples)."""
    for unit in ("subject", "video"):
        if (
            unit in predictions
            and predictions[unit].replace("", np.nan).nunique() > 1
            and (predictions[unit] != "").all()
        ):
            return unit
    return "id"


def bootstrap(
    predictions: pd.DataFrame,
    criterion: Callable[[pd.DataFrame], dict[str, float]],
    *,
    unit: str | None = None,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Percentile bootstrap intervals of every criterion, resampling whole units.

    Units (test subjects, or videos) are drawn with replacement and all their rows are
    scored together, so frames of one person do not count as independent evidence.

    Parameters
    ----------
    predictions : DataFrame
    criterion : callable
        Predictions frame -> {name: value}, e.g. :func:`score`.
    unit : str, optional
        Column of the resampled units; default :func:`bootstrap_unit`.
    n : int
        Resamples.
    seed : int
    level : float
        Coverage of the interval.

    Returns
    -------
    DataFrame indexed by criterion with ``value, low, high, unit, n_units``.
    """
    unit = unit or bootstrap_unit(predictions)
    groups = [rows for _, rows in predictions.groupby(unit, sort=True).indices.items()]
    rng = np.random.default_rng(seed)
    values = criterion(predictions)
    draws = {name: np.empty(n) for name in values}
    for i in range(n):
        picked = rng.integers(0, len(groups), len(groups))
        sample = predictions.iloc[np.concatenate([groups[g] for g in picked])]
        for name, value in criterion(sample).items():
            draws[name][i] = value
    tail = 100 * (1 - level) / 2
    table = pd.DataFrame(
        {
            "value": values,
            "low": {k: float(np.percentile(v, tail)) for k, v in draws.items()},
            "high": {k: float(np.percentile(v, 100 - tail)) for k, v in draws.items()},
        }
    )
    table["unit"], table["n_units"] = unit, len(groups)
    table.index.name = "criterion"
    return table


def evaluate(
    module: AffectModule,
    faces: PreparedFaces,
    out_dir: str | os.PathLike,
    *,
    fold: int | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    device: str = "cpu",
) -> Evaluation:
    """Score a test set and write ``predictions.csv`` and ``scores.csv`` into ``out_dir``.

    Parameters
    ----------
    module : AffectModule
        A trained network (:func:`affect.learning.training.fit`).
    faces : PreparedFaces
        The test split.
    out_dir : path
    fold : int, optional
        Cross-validation fold, written as a ``fold`` column (Tables 5 and 9).
    n_bootstrap, seed : int
        Bootstrap resamples and their seed.
    device : str

    Returns
    -------
    Evaluation
    """
    predictions = predict(module, faces, device=device)
    if predictions.empty:
        raise ValueError(f"{faces.folder}: no test sample has a label for task {module.hparams.task!r}")
    if fold is not None:
        predictions.insert(2, "fold", fold)
    classes = module.hparams.classes
    scores = bootstrap(predictions, lambda p: score(p, classes), n=n_bootstrap, seed=seed)
    out = Path(out_dir)
    atomic_write_text(out / PREDICTIONS, predictions.to_csv(index=False))
    atomic_write_text(out / SCORES, scores.to_csv())
    return Evaluation(predictions, scores)
