"""eos (patrikhuber/eos), the optional reference fitter timed beside ours on the same landmarks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from affect.bench.environment import version

__all__ = ["EOS_SHARE_ENV", "EOS_FILES", "eos_fitter"]

#: Environment variable naming eos' ``share/`` folder (used when --eos-share is not given).
EOS_SHARE_ENV = "AFFECT_EOS_SHARE"
#: eos' model files: the Surrey Face Model (3448 vertices) with 6 expression blendshapes,
#: its iBUG landmark mapping and the contour and edge data that its contour fitting needs.
EOS_FILES = {
    "model": "sfm_shape_3448.bin",
    "blendshapes": "expression_blendshapes_3448.bin",
    "mapping": "ibug_to_sfm.txt",
    "edge_topology": "sfm_3448_edge_topology.json",
    "model_contour": "sfm_model_contours.json",
}


def _eos_share(eos_share: str | os.PathLike | None) -> Path | None:
    """The eos model folder: the argument, else the environment variable, else None."""
    chosen = eos_share if eos_share is not None else os.environ.get(EOS_SHARE_ENV) or None
    return None if chosen is None else Path(chosen)


def eos_fitter(eos_share: str | os.PathLike | None) -> tuple[Callable | None, str]:
    """A function ``(landmarks, image_shape) -> None`` that runs eos' fit, or None and why not."""
    try:
        import eos
    except ImportError:
        return None, "eos skipped: the optional package eos-py is not installed (pip install eos-py)"
    share = _eos_share(eos_share)
    if share is None:
        return None, (
            f"eos skipped: no eos model folder given (--eos-share DIR or {EOS_SHARE_ENV}; "
            "the files are in share/ of eos' GitHub repository, patrikhuber/eos)"
        )
    if not share.is_dir():
        return None, f"eos skipped: the eos model folder {share} does not exist"
    missing = [name for name in EOS_FILES.values() if not (share / name).is_file()]
    if missing:
        return None, f"eos skipped: {share} lacks {', '.join(missing)}"
    files = {key: str(share / name) for key, name in EOS_FILES.items()}
    neutral = eos.morphablemodel.load_model(files["model"])
    blendshapes = eos.morphablemodel.load_blendshapes(files["blendshapes"])
    model = eos.morphablemodel.MorphableModel(
        neutral.get_shape_model(),
        blendshapes,
        color_model=eos.morphablemodel.PcaModel(),
        vertex_definitions=None,
        texture_coordinates=neutral.get_texture_coordinates(),
    )
    mapper = eos.core.LandmarkMapper(files["mapping"])
    edge_topology = eos.morphablemodel.load_edge_topology(files["edge_topology"])
    contour_landmarks = eos.fitting.ContourLandmarks.load(files["mapping"])
    model_contour = eos.fitting.ModelContour.load(files["model_contour"])

    def fit(landmarks: np.ndarray, image_shape: tuple[int, int]) -> None:
        # eos names iBUG points "1".."68"; building them is part of calling eos, so it is timed.
        points = [eos.core.Landmark(str(i + 1), [float(x), float(y)]) for i, (x, y) in enumerate(landmarks)]
        eos.fitting.fit_shape_and_pose(
            model, points, mapper, image_shape[1], image_shape[0], edge_topology, contour_landmarks, model_contour
        )

    installed = version("eos-py") or "unknown"
    return fit, (
        f"eos-py {installed} fit_shape_and_pose (SFM 3448 + 6 expression blendshapes, "
        "contour fitting, default iterations)"
    )
