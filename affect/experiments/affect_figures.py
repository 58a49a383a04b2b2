"""The figures of Tables 2 to 9 (Figs. 12 to 19), drawn from the saved predictions.

- Figs. 12, 13, 14, 16: the 2D histogram of the test set's VA annotations and the MSE per grid
  area, baseline beside the proposed network, on one colour scale;
- Fig. 15: the 2D histogram of the training set's VA annotations (AffectNet);
- Figs. 17 to 19: row-normalised confusion matrices, baseline beside the proposed network.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from affect import metrics

__all__ = ["va_mse_figure", "va_histogram_figure", "confusion_figure", "GRID"]

#: Grid areas per axis of the VA histograms (the paper's figures use a coarse grid over [-1, 1]).
GRID = 10


def _grid_index(values: np.ndarray, bins: int) -> np.ndarray:
    return np.clip(((values + 1.0) / 2.0 * bins).astype(int), 0, bins - 1)


def _cell_mse(predictions: pd.DataFrame, bins: int) -> np.ndarray:
    """(bins, bins) mean squared error of valence and arousal per grid area (NaN where empty)."""
    v, a = _grid_index(predictions["valence"].to_numpy(), bins), _grid_index(predictions["arousal"].to_numpy(), bins)
    error = (
        (predictions["valence_pred"] - predictions["valence"]) ** 2
        + (predictions["arousal_pred"] - predictions["arousal"]) ** 2
    ).to_numpy() / 2.0
    total, count = np.zeros((bins, bins)), np.zeros((bins, bins))
    np.add.at(total, (a, v), error)
    np.add.at(count, (a, v), 1)
    with np.errstate(invalid="ignore"):
        return total / count


def _va_axes(ax, title: str) -> None:
    ax.set(xlabel="valence", ylabel="arousal", title=title)
    ax.set_xticks([-1, 0, 1])
    ax.set_yticks([-1, 0, 1])


def va_histogram_figure(frame: pd.DataFrame, title: str = "annotations", bins: int = 40) -> plt.Figure:
    """The 2D histogram of a set's VA annotations, counts on a log colour scale (Fig. 15)."""
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    counts, _, _, image = ax.hist2d(
        frame["valence"], frame["arousal"], bins=bins, range=[[-1, 1], [-1, 1]], norm=LogNorm(), cmap="viridis"
    )
    fig.colorbar(image, ax=ax, label="images")
    _va_axes(ax, f"{title} ({len(frame)} images)")
    return fig


def va_mse_figure(predictions: dict[str, pd.DataFrame], bins: int = GRID) -> plt.Figure:
    """Test annotations' 2D histogram, then the MSE per grid area of each network (Figs. 12-14, 16).

    ``predictions`` maps a network's name to its predictions frame (``valence``, ``arousal``,
    ``valence_pred``, ``arousal_pred``); every MSE panel shares one colour scale.
    """
    first = next(iter(predictions.values()))
    grids = {name: _cell_mse(p, bins) for name, p in predictions.items()}
    top = max(float(np.nanmax(g)) if np.isfinite(g).any() else 0.0 for g in grids.values()) or 1.0
    fig, axes = plt.subplots(1, 1 + len(grids), figsize=(4.0 * (1 + len(grids)), 3.6), squeeze=False)
    counts = np.histogram2d(first["arousal"], first["valence"], bins=bins, range=[[-1, 1], [-1, 1]])[0]
    image = axes[0, 0].imshow(counts, origin="lower", extent=(-1, 1, -1, 1), cmap="Greys")
    fig.colorbar(image, ax=axes[0, 0], label="test images")
    _va_axes(axes[0, 0], "test annotations")
    for ax, (name, grid) in zip(axes[0, 1:], grids.items()):
        image = ax.imshow(grid, origin="lower", extent=(-1, 1, -1, 1), cmap="magma_r", vmin=0, vmax=top)
        fig.colorbar(image, ax=ax, label="MSE (mean of V and A)")
        _va_axes(ax, name)
    fig.tight_layout()
    return fig


def confusion_figure(predictions: dict[str, pd.DataFrame], classes: Sequence[str]) -> plt.Figure:
    """Row-normalised confusion matrices (true rows, predicted columns), one per network (Figs. 17-19)."""
    fig, axes = plt.subplots(1, len(predictions), figsize=(4.4 * len(predictions), 4.0), squeeze=False)
    for ax, (name, frame) in zip(axes[0], predictions.items()):
        matrix = metrics.confusion_matrix(frame["label"], frame["label_pred"], labels=list(classes), normalize="true")
        ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if value > 0.5 else "black",
            )
        ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize="small")
        ax.set_yticks(range(len(classes)), classes, fontsize="small")
        ax.set(xlabel="predicted", ylabel="true", title=name)
    fig.tight_layout()
    return fig
