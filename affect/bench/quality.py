"""How closely the synthesized faces keep the photos (Sec. 4.4, 6.1): ``bench.json``'s ``quality``.

Round-trip error, sharpness ratio, colour drift and identity distance per photo and expression,
and, with the expression judge installed, how recognisable each expression is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from affect.bench.photos import builtin_photos

__all__ = ["QUALITY_TARGETS", "quality_benchmark"]

#: Targets of the quality figures (synthesis that looks like the photo): the undeformed
#: rendering is the photo, the upper face keeps its detail, the person stays the same.
QUALITY_TARGETS = {
    "round_trip_error": 1.0,
    "sharpness_ratio": 0.95,
    "identity_distance_mean": 0.38,
    "identity_distance_max": 0.6,
    "judge_gain_non_happy": 0.20,
    "judge_top_share": 0.5,
}


def quality_benchmark(photos: Sequence[str | os.PathLike] | None = None, model=None) -> dict:
    """Quality of the synthesized faces on photos (Sec. 4.4, 6.1), for ``bench.json``'s ``quality``.

    The affects are the six basic expressions' FACS prototypes on the face model's blendshapes
    (:func:`affect.experiments.qualitative.prototype_deltas`: no gallery needed), added after
    removing the photo's own expression, as ``affect synthesize`` does. Per photo: the
    round-trip error (grey levels), the sharpness ratio of the upper face (smallest and mean
    over the expressions), the colour drift over still face pixels (largest and mean, grey
    levels) and dlib's identity distance (mean and largest); see :mod:`affect.face.quality`.
    Per expression also how it moved dlib's landmarks
    (:func:`affect.experiments.qualitative.expression_geometry`, inter-ocular units) and, when the
    expression judge is installed (``pip install .[judge]``), how recognisable it is to a
    classifier trained on real faces (:func:`affect.experiments.qualitative.recognisability`),
    summarised per expression under ``recognisability``.
    """
    from affect.experiments.qualitative import GEOMETRY, photo_quality
    from affect.face import expression_judge

    photos = list(photos) if photos is not None else builtin_photos()
    judge = expression_judge.load_if_available()
    table = photo_quality(photos, model=model, judge=judge)
    per_photo = {}
    for name, rows in table.groupby("photo", sort=False):
        per_photo[name] = {
            "round_trip_error": float(rows["round-trip error"].iloc[0]),
            "sharpness_ratio_min": float(rows["sharpness ratio"].min()),
            "sharpness_ratio_mean": float(rows["sharpness ratio"].mean()),
            "colour_drift_max": float(rows["colour drift"].max()),
            "colour_drift_mean": float(rows["colour drift"].mean()),
            "identity_distance_mean": float(rows["identity distance"].mean()),
            "identity_distance_max": float(rows["identity distance"].max()),
            "per_expression": {
                row["affect"]: {
                    "sharpness_ratio": float(row["sharpness ratio"]),
                    "colour_drift": float(row["colour drift"]),
                    "identity_distance": float(row["identity distance"]),
                    "geometry": {measure: float(row[measure]) for measure in GEOMETRY},
                    **_judged(row),
                }
                for _, row in rows.iterrows()
            },
        }
    return {
        "affects": "FACS prototypes of the six basic expressions on the face model's blendshapes, "
        "the photo's own expression removed first",
        "targets": QUALITY_TARGETS,
        "photos": per_photo,
        "identity_distance_mean": float(table["identity distance"].mean()),
        "identity_distance_max": float(table["identity distance"].max()),
        "recognisability": _recognisability_summary(table) if judge is not None else {},
    }


def _judged(row) -> dict:
    if "judge gain" not in row:
        return {}
    return {
        "judge_gain": float(row["judge gain"]),
        "judge_top": bool(row["judge top"]),
        "judged_as": str(row["judged as"]),
    }


def _recognisability_summary(table) -> dict:
    """Per expression: mean judge gain and share of edits judged as the target; overall: the mean
    gain over the five non-happy expressions and the share of all edits judged as the target."""
    from affect.experiments.qualitative import recognisability_summary

    counts = table.groupby("affect", sort=False).size()
    per_expression = {
        name: {"gain_mean": float(row.mean_gain), "top_share": float(row.judged_as_target), "n": int(counts[name])}
        for name, row in recognisability_summary(table).iterrows()
    }
    non_happy = [entry["gain_mean"] for name, entry in per_expression.items() if name != "happiness"]
    return {
        "judge": "FER2013 mini-Xception (weights of the fer package), on the input's face crop",
        "per_expression": per_expression,
        "gain_non_happy_mean": float(np.mean(non_happy)) if non_happy else float("nan"),
        "top_share": float(table["judge top"].mean()),
        "every_gain_positive": bool(all(entry["gain_mean"] > 0 for entry in per_expression.values())),
    }
