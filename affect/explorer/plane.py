"""The valence-arousal plane of the explorer: pixel <-> VA geometry, drawn paths, and the drawing.

The plane is the unit disk of the circumplex (valence across, arousal up), drawn on an
ipycanvas :class:`~ipycanvas.MultiCanvas`: a background layer with the disk, its labelled axes,
the VA classes (Sec. 4.5.1) as faint points and the six basic expressions at their VA positions
(:data:`affect.gallery.affect_mapping.EXPRESSION_VA`), and a foreground layer with the current
point and the drawn path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affect.gallery.affect_mapping import EXPRESSION_VA

__all__ = ["PATH_FRAMES", "PlaneGeometry", "resample_path", "draw_background", "draw_marks"]

#: Frames of a path drawn with the pointer: the stroke is resampled to this many points, equally
#: spaced along its length (3 s at the default 10 frames per second).
PATH_FRAMES = 30

#: A stroke shorter than this (VA units) is a click, not a path.
CLICK_LENGTH = 0.03

_EXPRESSION_COLOURS = {
    "anger": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happiness": "#2ca02c",
    "sadness": "#1f77b4",
    "surprise": "#ff7f0e",
}


@dataclass(frozen=True)
class PlaneGeometry:
    """Where the unit disk lies on a square canvas of ``size`` pixels, ``margin`` pixels from its edges."""

    size: int = 360
    margin: int = 34

    @property
    def radius(self) -> float:
        """Pixels per VA unit."""
        return (self.size - 2 * self.margin) / 2

    @property
    def centre(self) -> float:
        """Pixel coordinate of VA (0, 0) on both axes."""
        return self.size / 2

    def to_pixels(self, valence, arousal) -> tuple[np.ndarray, np.ndarray]:
        """Canvas (x, y) of VA points (y grows downwards, arousal upwards)."""
        valence, arousal = np.asarray(valence, float), np.asarray(arousal, float)
        return self.centre + valence * self.radius, self.centre - arousal * self.radius

    def to_va(self, x: float, y: float) -> tuple[float, float]:
        """The VA point under canvas pixel (x, y), pulled onto the unit disk when outside it."""
        valence, arousal = (x - self.centre) / self.radius, (self.centre - y) / self.radius
        norm = float(np.hypot(valence, arousal))
        if norm > 1.0:
            valence, arousal = valence / norm, arousal / norm
        return float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1))


def resample_path(points, frames: int = PATH_FRAMES) -> np.ndarray:
    """Resample a drawn stroke to ``frames`` points equally spaced along its length.

    Parameters
    ----------
    points : (N, 2) array-like of (valence, arousal), N >= 1
    frames : int, >= 2

    Returns
    -------
    (frames, 2) float64; the stroke's first and last points are kept.
    """
    stroke = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(stroke) == 0:
        raise ValueError("points: expected at least one VA point")
    if frames < 2:
        raise ValueError(f"frames: expected at least 2, got {frames}")
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))])
    if along[-1] == 0:
        return np.repeat(stroke[:1], frames, axis=0)
    targets = np.linspace(0.0, along[-1], frames)
    return np.stack([np.interp(targets, along, stroke[:, 0]), np.interp(targets, along, stroke[:, 1])], axis=1)


def path_length(points) -> float:
    """Length of a stroke in VA units."""
    stroke = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum())


#: Where an expression's label sits beside its point (dx, dy pixels, alignment): fear and anger
#: lie 0.13 apart in valence, so their labels go to either side instead of overlapping above.
_LABEL_PLACES = {"fear": (-8, -9, "right"), "anger": (8, -9, "left")}


def draw_background(canvas, geometry: PlaneGeometry, class_centroids: np.ndarray) -> None:
    """Draw the disk, the labelled axes, the VA classes and the basic expressions on ``canvas``."""
    size, centre, radius = geometry.size, geometry.centre, geometry.radius
    canvas.clear()
    canvas.fill_style = "#ffffff"
    canvas.fill_rect(0, 0, size, size)
    canvas.fill_style = "#f4f6fa"
    canvas.fill_circle(centre, centre, radius)
    canvas.stroke_style, canvas.line_width = "#9aa3b0", 1
    canvas.stroke_circle(centre, centre, radius)
    canvas.stroke_line(centre - radius, centre, centre + radius, centre)
    canvas.stroke_line(centre, centre - radius, centre, centre + radius)
    canvas.fill_style, canvas.font = "#333333", "12px sans-serif"
    canvas.text_align, canvas.text_baseline = "center", "middle"
    canvas.fill_text("valence", centre + radius - 22, centre + 12)
    canvas.fill_text("-1", centre - radius - 12, centre)
    canvas.fill_text("+1", centre + radius + 13, centre)
    canvas.fill_text("arousal", centre + 38, centre - radius - 12)
    canvas.fill_text("+1", centre, centre - radius - 12)
    canvas.fill_text("-1", centre, centre + radius + 12)
    if len(class_centroids):
        x, y = geometry.to_pixels(class_centroids[:, 0], class_centroids[:, 1])
        canvas.fill_style, canvas.global_alpha = "#7f8c9d", 0.35
        canvas.fill_circles(x, y, 1.6)
        canvas.global_alpha = 1.0
    for name, (valence, arousal) in EXPRESSION_VA.items():
        x, y = geometry.to_pixels(valence, arousal)
        canvas.fill_style = _EXPRESSION_COLOURS[name]
        canvas.fill_circle(float(x), float(y), 4.5)
        dx, dy, align = _LABEL_PLACES.get(name, (0, -11, "center"))
        canvas.text_align = align
        canvas.fill_text(name, float(x) + dx, float(y) + dy)
    canvas.text_align = "center"


def draw_marks(canvas, geometry: PlaneGeometry, point: tuple[float, float] | None, path: np.ndarray | None) -> None:
    """Redraw the foreground: the drawn path (if any) and the current point (if any)."""
    canvas.clear()
    if path is not None and len(path) > 1:
        x, y = geometry.to_pixels(path[:, 0], path[:, 1])
        canvas.stroke_style, canvas.line_width = "#e377c2", 2.5
        canvas.stroke_lines(np.stack([x, y], axis=1))
        canvas.fill_style = "#e377c2"
        canvas.fill_circles(x, y, 2.0)
    if point is not None:
        x, y = geometry.to_pixels(*point)
        canvas.fill_style, canvas.stroke_style, canvas.line_width = "#111111", "#ffffff", 2
        canvas.fill_circle(float(x), float(y), 6)
        canvas.stroke_circle(float(x), float(y), 6)
