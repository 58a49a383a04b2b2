"""The inside of a mouth that opens further than in the photo: teeth, tongue, a shaded cavity.

The default face model (ICT-FaceKit's face area) has a hole at the mouth and no inner-mouth
geometry, and the photo has nothing to show where a closed mouth opens (Sec. 4.4 renders the
photo's texture only). :func:`paint_inner_mouth` paints the newly opened part of the mouth hole
procedurally, in the image plane, from the 3D face:

* the **upper teeth** hang from the skull: their lower edge is the identity's neutral inner
  upper lip lowered by :data:`UPPER_TOOTH_SHOW` (the incisor shown below a relaxed lip), so
  an upper lip that rises (disgust) shows more of them and one that stays shows an edge;
* the **lower teeth** move with the jaw: their upper edge starts at the upper teeth's edge
  (teeth closed) and follows the chin's displacement scaled by :data:`JAW_TO_CHIN` (the
  incisors are nearer the jaw's hinge than the chin), :data:`LOWER_TOOTH_HEIGHT` tall;
* the **tongue** lies behind the lower teeth, its top a little above their edge; where the
  lower lip hides the lower teeth (a mouth opened a little, as in fear or surprise) its top
  shows in the lower third of the lip opening, lighter on top and darker to the sides;
* the **cavity** between them is the oral lining's dark red (:data:`_CAVITY` times the skin
  colour), darker towards the corners and the back (the middle of the opening), not black;
* the upper lip shades the top of the upper teeth, and the lower teeth are a little darker.

An opened mouth therefore always shows teeth, a shaded cavity and, once the lips part by more
than a few pixels, the tongue, never one flat colour (tests/face/test_inner_mouth.py).

Tooth boundaries sit at the crown widths of the permanent incisors, canines and premolars
(:data:`TOOTH_EDGES_CM`) along the model's x axis. Colours follow the photo's lighting: the
teeth take the brightness of the skin round the mouth, and a grey photo gets grey colours.
Where the photo's own mouth is open, its own pixels (its own teeth) are kept; the painted
interior fades in only where the mouth-hole triangles grow well beyond their size in the photo
(the weights smoothed across the hole, so that no line of lip crosses the painted mouth).
"""

from __future__ import annotations

import numpy as np

__all__ = ["anisotropy", "paint_inner_mouth", "reveal_weight"]

#: Upper incisor shown below the relaxed upper lip, cm: 2 to 3 mm in adults at rest, plus the
#: 2 mm by which the default model's upper lip drops as the jaw opens (it has no teeth of its own).
UPPER_TOOTH_SHOW = 0.45
#: Visible height of the lower incisors' crowns, cm.
LOWER_TOOTH_HEIGHT = 0.9
#: Fraction of the chin's displacement that the lower incisors follow.
JAW_TO_CHIN = 0.75
#: Boundaries between teeth along the model's x axis, cm from the midline: central incisors
#: 0.85 cm wide, lateral incisors 0.65, canines 0.75, premolars 0.7 (typical crown widths).
TOOTH_EDGES_CM = np.array([0.0, 0.85, 1.5, 2.25, 2.95, 3.65])
#: Hole triangles whose area grows by this factor or more show the painted interior fully;
#: up to REVEAL_START they keep the photo's own (warped) mouth.
REVEAL_START, REVEAL_FULL = 1.3, 2.0

_TEETH = np.array([0.93, 0.90, 0.82])
_TONGUE = np.array([0.72, 0.36, 0.36])
_CAVITY = np.array([0.26, 0.14, 0.14])  # times the skin colour: the dark-red oral lining
_UPPER_INNER_LIP = [60, 61, 62, 63, 64]  # iBUG 68, 0-based, corner to corner
_LOWER_INNER_LIP = [60, 67, 66, 65, 64]
_CHIN = 8


#: Anisotropy (ratio of the larger to the smaller stretch) of a mouth-hole triangle's change from
#: the photo at which the painted interior starts to replace the photo's mouth, and at which it has
#: replaced it: a smile's teeth warped into a funnel or a tall oval are no longer teeth.
DISTORTION_START, DISTORTION_FULL = 1.6, 2.6


def reveal_weight(area_photo: np.ndarray, area_now: np.ndarray, anisotropy: np.ndarray | None = None) -> np.ndarray:
    """How much of the painted interior each mouth-hole triangle shows, in [0, 1].

    0 where the triangle is no larger than ``REVEAL_START`` times its area in the photo (the
    photo's own mouth, its teeth included, is kept), 1 from ``REVEAL_FULL`` times; a triangle
    that was closed in the photo (under a square pixel) counts from its current size. With
    ``anisotropy`` (T,), the ratio of the larger to the smaller stretch of each triangle's change
    from the photo, a triangle distorted beyond :data:`DISTORTION_START` also shows the painted
    interior (fully from :data:`DISTORTION_FULL`): the photo's teeth keep their shape or give way.
    """
    grown = area_now / np.maximum(area_photo, 1.0)
    weight = np.clip((grown - REVEAL_START) / (REVEAL_FULL - REVEAL_START), 0.0, 1.0)
    if anisotropy is None:
        return weight
    distorted = np.clip((anisotropy - DISTORTION_START) / (DISTORTION_FULL - DISTORTION_START), 0.0, 1.0)
    return np.maximum(weight, np.where(area_photo >= 1.0, distorted, 0.0))


def anisotropy(corners_photo: np.ndarray, corners_now: np.ndarray) -> np.ndarray:
    """Ratio (T,) of the larger to the smaller singular value of the 2D affine map taking each
    triangle's corners in the photo (T, 3, 2) to its corners now; 1 for a degenerate triangle."""
    before = np.stack([corners_photo[:, 1] - corners_photo[:, 0], corners_photo[:, 2] - corners_photo[:, 0]], axis=2)
    after = np.stack([corners_now[:, 1] - corners_now[:, 0], corners_now[:, 2] - corners_now[:, 0]], axis=2)
    ok = np.abs(np.linalg.det(before)) > 1e-6
    ratio = np.ones(len(before))
    if ok.any():
        values = np.linalg.svd(after[ok] @ np.linalg.inv(before[ok]), compute_uv=False)
        ratio[ok] = values[:, 0] / np.maximum(values[:, 1], 1e-6)
    return ratio


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def paint_inner_mouth(
    xy: np.ndarray,
    neutral: np.ndarray,
    shape: np.ndarray,
    landmark_indices: np.ndarray,
    project,
    skin: np.ndarray,
    grey: bool,
) -> np.ndarray:
    """Colours (M, 3) in [0, 1] of the inner mouth at image points ``xy`` (M, 2) of the hole.

    Parameters
    ----------
    xy : (M, 2) float
        Pixel centres (x, y) inside the deformed face's mouth hole.
    neutral : (N, 3) float
        The identity's neutral face, model frame, cm (the skull the upper teeth hang from).
    shape : (N, 3) float
        The deformed face, model frame, cm.
    landmark_indices : (68,) int
        Model vertices of the iBUG 68 landmarks.
    project : callable
        Model frame (K, 3) -> image (K, 3): x, y pixels and depth (the fit's camera).
    skin : (3,) float
        Mean colour of the photo's face round the mouth, [0, 1] (sets the lighting).
    grey : bool
        The photo is grey: paint in grey.
    """
    upper = landmark_indices[_UPPER_INNER_LIP]
    down = np.array([0.0, -1.0, 0.0])  # model frame: +y is up
    jaw = JAW_TO_CHIN * (shape[landmark_indices[_CHIN]] - neutral[landmark_indices[_CHIN]])
    upper_edge = neutral[upper] + UPPER_TOOTH_SHOW * down
    lower_edge = upper_edge + jaw
    lower_bottom = lower_edge + LOWER_TOOTH_HEIGHT * down
    # A mouth frame in the image: s along the inner-lip corners, v across (down, pixels).
    corners = project(shape[landmark_indices[[60, 64]]])[:, :2]
    axis = corners[1] - corners[0]
    width = max(float(np.linalg.norm(axis)), 1e-6)
    axis = axis / width
    normal = np.array([-axis[1], axis[0]])  # image y grows down: this points down the face

    def frame(points):
        relative = points - corners[0]
        return relative @ axis / width, relative @ normal

    s, v = frame(xy)
    curves = {}
    lips = {
        "lip top": shape[landmark_indices[_UPPER_INNER_LIP]],
        "lip bottom": shape[landmark_indices[_LOWER_INNER_LIP]],
    }
    for name, points in (("upper", upper_edge), ("lower", lower_edge), ("bottom", lower_bottom), *lips.items()):
        cs, cv = frame(project(points)[:, :2])
        order = np.argsort(cs)
        curves[name] = np.interp(s, cs[order], cv[order])
    # The model's x at each pixel, along the upper teeth's edge (for the tooth boundaries).
    es, _ = frame(project(upper_edge)[:, :2])
    order = np.argsort(es)
    x_model = np.abs(np.interp(s, es[order], upper_edge[order, 0]))

    luminance = float(skin @ [0.299, 0.587, 0.114])
    brightness = float(np.clip(luminance / 0.55, 0.3, 1.3))
    # The photo's colour cast (white balance), partly: white teeth under pink light are pinkish.
    cast = 0.6 + 0.4 * np.clip(skin / max(luminance, 1e-3), 0.5, 1.6)
    side = np.clip(np.abs(2.0 * s - 1.0), 0.0, 1.0)  # 0 at the middle, 1 at the corners
    depth_shade = 1.0 - 0.75 * side**2  # the mouth darkens towards its corners
    pixel = 1.0  # a pixel-wide antialiased edge
    # Each tooth is rounded: a little darker towards its boundaries; the upper lip shades the
    # top of the upper teeth, and the lower teeth lie in the upper teeth's shadow.
    position = np.interp(x_model, TOOTH_EDGES_CM, np.arange(len(TOOTH_EDGES_CM), dtype=float))
    across = position - np.floor(position)
    rounded = 0.8 + 0.2 * np.sin(np.pi * across) ** 0.5
    shown = np.maximum(curves["upper"] - curves["lip top"], pixel)
    lip_shadow = 0.8 + 0.2 * _smoothstep((v - curves["lip top"]) / (0.6 * shown + pixel) + 0.5)
    teeth = np.clip(_TEETH * cast * 0.85 * brightness, 0.0, 1.0)[None] * (rounded * depth_shade)[:, None]
    # The cavity is dark but not black: the oral lining in the light that reaches it, darkest at
    # the back (the middle of the opening) and at the corners.
    opening = np.maximum(curves["lip bottom"] - curves["lip top"], pixel)
    middle = 1.0 - np.abs(2.0 * (v - curves["lip top"]) / opening - 1.0)
    cavity = (_CAVITY * skin)[None] * ((0.55 + 0.45 * depth_shade) * (1.0 - 0.4 * np.clip(middle, 0.0, 1.0)))[:, None]
    # The tongue rests behind the lower teeth; where the lower lip hides them, its top shows in
    # the lower third of the opening. It is rounded: lighter on top, darker to the sides.
    gap = np.maximum(curves["lower"] - curves["upper"], 0.0)
    tongue_top = np.minimum(
        curves["lower"] - 0.3 * gap, curves["upper"] + 0.65 * np.maximum(curves["lip bottom"] - curves["upper"], 0.0)
    )
    tongue_shade = 0.8 + 0.2 * _smoothstep((v - tongue_top) / (0.3 * opening + pixel))
    tongue = (_TONGUE * cast * 0.6 * brightness)[None] * (depth_shade * tongue_shade)[:, None]

    in_tongue = _smoothstep((v - tongue_top) / pixel + 0.5) * (side < 0.75)
    colour = cavity + in_tongue[:, None] * (tongue - cavity)
    in_lower = _smoothstep((v - curves["lower"]) / pixel + 0.5) * _smoothstep((curves["bottom"] - v) / pixel + 0.5)
    colour = colour + in_lower[:, None] * (0.8 * teeth - colour)
    in_upper = _smoothstep((curves["upper"] - v) / pixel + 0.5)
    colour = colour + in_upper[:, None] * (teeth * lip_shadow[:, None] - colour)
    if grey:
        colour = np.repeat((colour @ [0.299, 0.587, 0.114])[:, None], 3, axis=1)
    return np.clip(colour, 0.0, 1.0)
