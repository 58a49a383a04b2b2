"""Figures and tables of the VA-annotated 4D gallery and its affect model (Sec. 3, 4.5).

What notebook ``00_gallery_4dfab`` shows: the 2D histogram of the gallery's VA labels
(Fig. 3), the inter-annotator correlations (Sec. 3.2), the VA classes over the VA plane
(Sec. 4.5.1), mean faces of VA classes (Fig. 5) and of the six basic expressions, and a
few sparse localized deformation components (Sec. 4.5.3). Every function returns a
matplotlib Figure or a DataFrame without any title naming the data source: the notebook
titles them through :func:`affect.reporting.save_figure`, which adds the source and profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# The notebook's data step lives with the stand-in writer; re-exported for the notebook.
from affect.datasets.proxy_faces import vertex_normals
from affect.face.camera import Camera, default_focal_length
from affect.face.morphable_model import MorphableModel
from affect.face.rendering import rasterize
from affect.gallery.affect_model import AffectModel
from affect.gallery.fourdfab import (
    PAPER_ANNOTATOR_CORRELATIONS,
    Gallery,
    mean_annotator_correlations,
)
from affect.gallery.sparse_blendshapes import SparseComponents

__all__ = [
    "EXAMPLE_VA",
    "SPARSE_COMPONENTS",
    "SPARSE_EXPRESSION",
    "va_histogram",
    "annotator_table",
    "gallery_summary",
    "va_class_map",
    "render_mesh",
    "mean_faces_figure",
    "expression_means_figure",
    "sparse_components_figure",
]

#: VA points whose class mean faces make up Fig. 5: one or two per quadrant of the VA
#: circle, near the points of the basic expressions (Russell's circumplex) plus neutral.
EXAMPLE_VA: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),  # neutral
    (0.8, 0.4),  # positive, aroused (delighted)
    (0.6, -0.4),  # positive, calm (relaxed)
    (-0.6, 0.6),  # negative, aroused (angry, afraid)
    (-0.6, -0.4),  # negative, calm (sad)
    (0.2, 0.8),  # high arousal, near neutral valence (surprised)
)

# Stand-in files written by affect.gallery.proxy; removed when the stand-in is rewritten
# for other settings (anything else in the folder is left alone).
# Grid of the class map: 1/200 steps resolve classes ~0.06 wide (550 classes) by ~12 cells.
_MAP_CELLS = 400
# Light for grey renders, in the camera frame (x right, y down, z into the scene): from the
# viewer, a little above and to the left, as in a studio portrait.
_LIGHT = np.array([-0.35, -0.45, -1.0]) / np.linalg.norm([-0.35, -0.45, -1.0])
_AMBIENT, _DIFFUSE = 0.3, 0.7
_GREY = 0.82
# Framing of renders: the landmark box widened 1.6 times and moved up by 15% of its height,
# so brows, forehead and chin show with a margin at yaws up to about 45 degrees.
_MARGIN, _FOREHEAD = 1.6, 0.15
# Sparse components: how many deformations and how many vertices enter the fit. Every
# vertex, with ~100 deformations, keeps the fit to a few seconds on one core; see
# sparse_components_figure.
#: The expression whose sparse components notebook 00 shows.
SPARSE_EXPRESSION = "happiness"
#: Components shown by sparse_components_figure: enough to see the regions of one expression.
SPARSE_COMPONENTS = 4
# Sec. 3.1 and 4.5.1: 180 subjects, 1,580 sequences, about 600,000 annotated frames,
# 12,000 posed apex meshes (2,000 per basic expression), 550 VA classes.
_PAPER_GALLERY = {
    "subjects": 180,
    "sequences": 1580,
    "annotated frames": 600_000,
    "apex meshes": 12_000,
    "VA classes": 550,
}


# ------------------------------------------------------------------------------- the data


# --------------------------------------------------------------------------- VA statistics


def va_histogram(gallery: Gallery, bins: int = 100) -> plt.Figure:
    """Plot the 2D histogram of the gallery's VA labels on a log colour scale (Fig. 3).

    Parameters
    ----------
    gallery : Gallery
    bins : int
        Bins per axis over [-1, 1].

    Returns
    -------
    Figure with one panel: valence on x, arousal on y, the unit circle of the VA space.
    """
    if bins < 2:
        raise ValueError(f"bins: expected at least 2, got {bins}")
    va = gallery.va
    if len(va) == 0:
        raise ValueError(f"gallery: {gallery.root} has no annotated frames")
    fig, ax = plt.subplots(figsize=(5.6, 4.8), layout="constrained")
    counts, edges, _ = np.histogram2d(va[:, 0], va[:, 1], bins=bins, range=[[-1, 1], [-1, 1]])
    shown = np.ma.masked_equal(counts.T, 0)
    image = ax.pcolormesh(
        edges, edges, shown, cmap="viridis", norm=matplotlib.colors.LogNorm(vmin=1, vmax=max(counts.max(), 2))
    )
    fig.colorbar(image, ax=ax, label="frames per bin (log scale)")
    _va_axes(ax)
    ax.set_title(f"{len(va):,} annotated frames", fontsize="small")
    return fig


def _va_axes(ax: plt.Axes) -> None:
    """Square [-1, 1]^2 axes with the unit circle and the valence/arousal axes drawn."""
    angle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(angle), np.sin(angle), color="0.3", lw=0.8)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.axvline(0, color="0.5", lw=0.5)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")


def annotator_table(gallery: Gallery) -> pd.DataFrame:
    """Tabulate each annotator's mean correlation with the others beside the paper's (Sec. 3.2).

    Returns
    -------
    DataFrame indexed by (dimension, annotator), with columns ``this run`` (Pearson
    correlation over the gallery's pooled frames) and ``paper`` (0.66, 0.70, 0.68 for
    valence; 0.59, 0.62, 0.59 for arousal; NaN for annotators the paper does not have).
    """
    if len(gallery.frames) < 2:
        raise ValueError(f"gallery: {gallery.root} needs at least 2 frames for correlations")
    ours = mean_annotator_correlations(gallery.annotator_correlations())
    paper = [
        PAPER_ANNOTATOR_CORRELATIONS[d][a - 1] if a <= len(PAPER_ANNOTATOR_CORRELATIONS[d]) else np.nan
        for d, a in zip(ours["dimension"], ours["annotator"])
    ]
    table = pd.DataFrame(
        {"this run": ours["mean_correlation"].to_numpy(), "paper": paper},
        index=pd.MultiIndex.from_frame(ours[["dimension", "annotator"]]),
    )
    return table


def gallery_summary(gallery: Gallery, affect_model: AffectModel) -> pd.DataFrame:
    """Tabulate the gallery's size and its VA classes beside 4DFAB's (Sec. 3.1, 4.5.1).

    Returns
    -------
    DataFrame indexed by quantity (subjects, sequences, annotated frames, apex meshes, VA
    classes, median frames per class, share of classes with positive valence), with columns
    ``this run`` and ``paper`` (NaN where the paper gives no number; it says only that "the
    majority of classes" have positive valence).
    """
    classes = affect_model.va_classes
    ours = {
        "subjects": len(gallery.subjects),
        "sequences": int(gallery.frames.groupby(["subject", "sequence"]).ngroups),
        "annotated frames": len(gallery.frames),
        "apex meshes": len(gallery.apex_index),
        "VA classes": classes.n_classes,
        "median frames per class": float(np.median(classes.counts)),
        "share of classes with valence > 0": float(np.mean(classes.centroids[:, 0] > 0)),
    }
    paper = [_PAPER_GALLERY.get(name, np.nan) for name in ours]
    return pd.DataFrame({"this run": list(ours.values()), "paper": paper}, index=pd.Index(list(ours), name="quantity"))


def va_class_map(affect_model: AffectModel, cells: int = _MAP_CELLS, seed: int = 0) -> plt.Figure:
    """Draw the VA classes over the VA plane, and the number of gallery frames per class (Sec. 4.5.1).

    Every point of a dense grid gets the class :meth:`VAClasses.lookup` retrieves for it (what
    synthesis does with a user's VA point); classes are coloured with a shuffled palette so
    that neighbours differ, and their centroids are dotted.

    Parameters
    ----------
    affect_model : AffectModel
    cells : int
        Grid points per axis over [-1, 1].
    seed : int
        Seed of the colour shuffle.

    Returns
    -------
    Figure with two panels: the class map, and the histogram of class sizes.
    """
    if cells < 2:
        raise ValueError(f"cells: expected at least 2, got {cells}")
    classes = affect_model.va_classes
    axis = np.linspace(-1, 1, cells)
    valence, arousal = np.meshgrid(axis, axis)
    # The whole square, not only the unit disc: joystick labels reach its corners (Fig. 3).
    labels = classes.lookup(valence, arousal)
    palette = matplotlib.colormaps["tab20"](np.arange(20) % 20)
    colours = palette[np.random.default_rng(seed).integers(0, 20, classes.n_classes)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), width_ratios=(1.1, 1), layout="constrained")
    left.imshow(
        labels,
        origin="lower",
        extent=(-1, 1, -1, 1),
        interpolation="nearest",
        cmap=matplotlib.colors.ListedColormap(colours),
        vmin=-0.5,
        vmax=classes.n_classes - 0.5,
    )
    left.scatter(*classes.centroids.T, s=3, c="k")
    _va_axes(left)
    left.set_title(f"{classes.n_classes} classes (dots: centroids)", fontsize="small")
    counts = classes.counts
    right.hist(counts, bins=np.geomspace(max(counts.min(), 1), counts.max() + 1, 30), color="0.4")
    right.set_xscale("log")
    right.set_xlabel("gallery frames per class")
    right.set_ylabel("classes")
    right.set_title(f"median {np.median(counts):.0f} frames per class", fontsize="small")
    return fig


# ------------------------------------------------------------------------------- renders


def render_mesh(
    shape: np.ndarray, model: MorphableModel, size: int = 256, yaw: float = 0.0, colours: np.ndarray | None = None
) -> np.ndarray:
    """Render a mesh of the model's topology, grey and Lambertian-shaded, on white.

    The face is seen through a pinhole camera (:class:`affect.face.camera.Camera`) from the front
    turned by ``yaw``, framed on its 68 landmarks with a margin, and drawn with
    :func:`affect.face.rendering.rasterize` using the normals of :func:`affect.datasets.proxy_faces.vertex_normals`.
    The frame comes from the model's mean face, so renders of deformed faces align.

    Parameters
    ----------
    shape : (N, 3) float
        Vertices in model units (cm; y up, z towards the viewer).
    model : MorphableModel
        Gives the triangles (and the framing).
    size : int
        Image height and width, pixels.
    yaw : float
        Head turn about the vertical axis, degrees (positive: the face turns to its left).
    colours : (N, 3) float in [0, 1], optional
        Albedo per vertex (e.g. a heat map); None: uniform grey.

    Returns
    -------
    (size, size, 3) uint8 RGB image.
    """
    shape = np.asarray(shape, dtype=np.float64)
    if shape.shape != (model.n_vertices, 3) or not np.isfinite(shape).all():
        raise ValueError(f"shape: expected a finite ({model.n_vertices}, 3) array, got {shape.shape}")
    if int(size) != size or size < 8:
        raise ValueError(f"size: expected an integer >= 8, got {size!r}")
    if colours is None:
        albedo = np.full((len(shape), 3), _GREY)
    else:
        albedo = np.asarray(colours, dtype=np.float64)
        if albedo.shape != shape.shape:
            raise ValueError(f"colours: expected shape {shape.shape}, got {albedo.shape}")
    camera = _frame_camera(model, int(size), float(yaw))
    rotation = camera.rotation_matrix
    normals = vertex_normals(shape, model.triangles) @ rotation.T
    # The mesh is open: faces seen from behind (at the silhouette) get |n.l| so they are not black.
    lambert = np.abs(normals @ _LIGHT)
    shaded = np.clip(albedo * (_AMBIENT + _DIFFUSE * lambert)[:, None], 0, 1)
    rendering = rasterize(camera.to_image(shape), model.triangles, shaded, (int(size), int(size)))
    image = np.ones((int(size), int(size), 3))
    image[rendering.mask] = rendering.image[rendering.mask]
    return np.round(image * 255).astype(np.uint8)


def _frame_camera(model: MorphableModel, size: int, yaw: float) -> Camera:
    """A camera that sees the model's mean face turned by ``yaw`` degrees, the face filling the image."""
    mean = np.asarray(model.mean, dtype=np.float64)
    landmarks = mean[model.landmark_indices]
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    # The 68 landmarks span brows to chin; the frame adds the forehead and some margin.
    centre = (low + high) / 2 + np.array([0.0, _FOREHEAD * (high - low)[1], 0.0])
    extent = float((high - low)[:2].max()) * _MARGIN
    # Twice the kit's default focal length: a portrait lens, with little perspective distortion.
    focal = 2.0 * default_focal_length((size, size))
    distance = focal * extent / size
    y = np.radians(yaw)
    about_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    # Model frame (y up, z to the viewer) to the camera frame (y down, z away): half turn about x.
    rotation = np.diag([1.0, -1.0, -1.0]) @ about_y
    translation = np.array([0.0, 0.0, distance]) - rotation @ centre
    return Camera.from_rotation_matrix(rotation, translation, focal, (size, size))


def _show(ax: plt.Axes, image: np.ndarray, title: str) -> None:
    ax.imshow(image)
    ax.set_title(title, fontsize="small")
    ax.set_axis_off()


def _heat(magnitude: np.ndarray, vmax: float, cmap: str = "magma_r") -> np.ndarray:
    """(N,) magnitudes to (N, 3) colours in [0, 1], 0 white-ish, ``vmax`` dark."""
    return matplotlib.colormaps[cmap](np.clip(magnitude / max(vmax, 1e-12), 0, 1))[:, :3]


def mean_faces_figure(
    affect_model: AffectModel, model: MorphableModel, va_points: Sequence[Sequence[float]] = EXAMPLE_VA, size: int = 256
) -> plt.Figure:
    """Render the mean faces of the VA classes of some VA points (Fig. 5).

    Each face is the model's mean (template) face plus the mean deformation of the class the
    VA point belongs to (Sec. 4.5.1, 4.5.2). A second row shows the size of each deformation
    as a heat map on the template, which makes small mean deformations visible.

    Parameters
    ----------
    affect_model : AffectModel
    model : MorphableModel
        The model whose topology the affect model uses (its mean is the template).
    va_points : sequence of (valence, arousal)
        Default :data:`EXAMPLE_VA`.
    size : int
        Pixels per rendered face.

    Returns
    -------
    Figure of 2 x (1 + len(va_points)) panels: the template first, then one column per point,
    titled with the VA point, its class and the class size.
    """
    points = np.asarray(va_points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"va_points: expected a non-empty (n, 2) array, got shape {points.shape}")
    _check_topology(affect_model, model)
    template = np.asarray(model.mean, dtype=np.float64)
    classes = [affect_model.va_class(v, a) for v, a in points]
    deltas = [affect_model.class_means[k].astype(np.float64) for k in classes]
    vmax = max(float(np.linalg.norm(d, axis=1).max()) for d in deltas)
    fig, axes = plt.subplots(
        2, len(points) + 1, figsize=(2.3 * (len(points) + 1), 5.0), squeeze=False, layout="constrained"
    )
    _show(axes[0, 0], render_mesh(template, model, size), "template")
    axes[1, 0].set_axis_off()
    axes[1, 0].text(
        0.5,
        0.5,
        f"row 2: |deformation|\n0 to {vmax:.2f} cm",
        ha="center",
        va="center",
        fontsize="small",
        transform=axes[1, 0].transAxes,
    )
    counts = affect_model.va_classes.counts
    for column, ((v, a), k, delta) in enumerate(zip(points, classes, deltas), 1):
        title = f"V {v:+.2f}, A {a:+.2f}\nclass {k} ({counts[k]} frames)"
        _show(axes[0, column], render_mesh(template + delta, model, size), title)
        heat = _heat(np.linalg.norm(delta, axis=1), vmax)
        _show(axes[1, column], render_mesh(template, model, size, colours=heat), "")
    return fig


def expression_means_figure(affect_model: AffectModel, model: MorphableModel, size: int = 256) -> plt.Figure:
    """Render the mean faces of the basic expressions, the template plus each mean apex deformation (Sec. 4.5.1).

    Returns
    -------
    Figure with one panel per expression of ``affect_model.expression_names`` (six for a
    complete gallery), in the order of :data:`affect.vocabulary.BASIC_EXPRESSIONS`.
    """
    _check_topology(affect_model, model)
    names = affect_model.expression_names
    if not names:
        raise ValueError("affect_model: has no basic-expression mean faces (its gallery had no apex meshes)")
    template = np.asarray(model.mean, dtype=np.float64)
    fig, axes = plt.subplots(1, len(names), figsize=(2.3 * len(names), 2.8), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names):
        _show(ax, render_mesh(template + affect_model.delta_for_expression(name), model, size), name)
    return fig


def _check_topology(affect_model: AffectModel, model: MorphableModel) -> None:
    if affect_model.n_vertices != model.n_vertices:
        raise ValueError(
            f"model: has {model.n_vertices} vertices, the affect model's deformations {affect_model.n_vertices}"
        )


def sparse_components_figure(
    sparse: SparseComponents,
    model: MorphableModel,
    expression: str,
    n_components: int = SPARSE_COMPONENTS,
    size: int = 200,
) -> plt.Figure:
    """Show the first sparse localized components of one expression's model (Sec. 4.5.3).

    ``sparse`` is the affect model's own component model of ``expression``
    (``affect_model.sparse[expression]``, fitted by :func:`affect.gallery.affect_model.build_affect_model`
    to the expression's apex deformations), so the figure shows what synthesis samples from
    and costs no fit. Each component is drawn as the magnitude of its per-vertex displacement
    (at weight 1, its largest use since max |w_k| = 1 in Eq. 5) on the template, and as the
    template deformed by it alone (without the expression's mean, so that only the
    component's local motion shows).

    Returns
    -------
    Figure of 2 x min(n_components, K) panels (heat map above, deformed template below).
    """
    if int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components: expected a positive integer, got {n_components!r}")
    if sparse.components.shape[1] != model.n_vertices:
        raise ValueError(f"model: has {model.n_vertices} vertices, the components {sparse.components.shape[1]}")
    components = sparse.components[:n_components]
    template = np.asarray(model.mean, dtype=np.float64)
    fig, axes = plt.subplots(
        2, len(components), figsize=(2.3 * len(components), 5.0), squeeze=False, layout="constrained"
    )
    for column, component in enumerate(components):
        magnitude = np.linalg.norm(component, axis=1)
        peak = float(magnitude.max())
        _show(
            axes[0, column],
            render_mesh(template, model, size, colours=_heat(magnitude, peak)),
            f"component {column + 1}\npeak {peak:.2f} cm",
        )
        _show(axes[1, column], render_mesh(template + component, model, size), "")
    fig.supxlabel(
        f"{expression}: {len(components)} of {len(sparse.components)} components, fitted to "
        f"{len(sparse.weights)} deformations; row 1: |component| (light: 0, dark: peak); "
        "row 2: template + component",
        fontsize="small",
    )
    return fig
