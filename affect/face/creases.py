"""Expression wrinkles as a shading factor in the template face's UV space.

A deformed face is rendered as a warp of the photo (:func:`affect.face.reconstruction.render_affect`),
which moves the skin but cannot fold it: a lowered brow shows no furrow between the brows, a
wrinkled nose no wrinkles. Animation rigs add these with *wrinkle maps*: a few fixed crease
patterns painted in the face's texture space, each faded in by the weights of the blendshapes
that cause it (Oat 2007, "Animated wrinkle maps", SIGGRAPH course *Advanced Real-Time
Rendering in 3D Graphics and Games*, ch. 4; Jimenez et al. 2011, "Practical and realistic facial
wrinkles animation", *GPU Pro 2*). This module does the same with shading instead of normal
maps, since the photo already holds the face's lighting: each face pixel is multiplied by
:func:`crease_factor`, below 1 in the valley of a fold and a little above 1 on the skin that
bulges beside it.

The creases (:data:`CREASES`) are the appearance changes that FACS lists for each action unit
(Ekman, Friesen & Hager 2002, *Facial Action Coding System: The Manual*, ch. 2 to 4):
horizontal forehead lines for AU1 (medial) and AU2 (lateral), the vertical furrows between the
brows and the crease at the nose root for AU4, crow's feet and the infraorbital furrow for AU6,
the lower-lid bulge line for AU7, the nose wrinkles for AU9, the nasolabial fold for AU10, AU11
and AU12 (and its upper end for AU9), the marionette line for AU15, the mentolabial sulcus and
the dimpled chin for AU17, and a stretch fold beyond the lip corners for AU20.

UV space and units
------------------
A face pixel's position ``uv`` is the (x, y) of the template face (``model.mean[:, :2]``,
a frontal orthographic projection, model units: cm for the default model; x to the subject's
left, y up) at the surface point that the pixel shows, interpolated from the vertices. The
creases are drawn on the skin, so they follow every deformation, and since the factor is
evaluated per pixel they keep their physical size at any photo resolution. Every crease is
placed from the template's 68 iBUG landmarks (``model.mean[model.landmark_indices]``) and every
length is a fraction of the inter-ocular distance (IOD, outer eye corners 36 and 45, as in
:func:`affect.face.fitting.interocular_distance`; 8.9 cm on the default model, so 0.01 IOD is
0.9 mm), so the table fits any model with iBUG landmark correspondences and any unit.

Left and right
--------------
Creases of the subject's left side (+x) are written once and mirrored (x -> -x, with the iBUG
landmark permutation) for the right side; a ``_L`` crease is driven by the ``_L`` blendshapes
(ARKit naming: the subject's left) and its ``_R`` mirror by the ``_R`` ones. Creases that cross
the midline are driven by both sides at half gain.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numba
import numpy as np

from affect.face.morphable_model import MorphableModel

__all__ = [
    "Crease",
    "FaceFrame",
    "CREASES",
    "crease_activations",
    "crease_curves",
    "crease_factor",
]

#: Largest activation of a crease: expressions may be amplified beyond a blendshape weight of 1,
#: and a fold keeps deepening a little with them, but not without bound.
MAX_ACTIVATION = 1.5

#: Bounds of the shading factor, a safety cap where creases overlap (the glabella and the nose
#: root, the nasolabial fold and the mouth corner): a single crease stays inside them even at
#: :data:`MAX_ACTIVATION` (its valley at 0.52 or above, its shoulder below 1.15).
FACTOR_RANGE = (0.5, 1.3)

#: Scale of every crease's depth in :data:`CREASES`: on smooth, evenly lit skin (a young face, a
#: retouched portrait) the table's depths read as grey strokes; at this scale the creases of a
#: full expression stay visible on textured skin and soft on smooth skin.
DEPTH_SCALE = 0.5
#: Scale of every crease's width in :data:`CREASES`: in photos where the face is large (eyes 80
#: pixels wide and more) the table's widths read as lines drawn with a pen; a fold in skin is a
#: soft valley.
WIDTH_SCALE = 1.4
#: Light shoulder of a fold, as a fraction of its valley's darkening. The skin pushed up beside
#: a fold catches more light than the flat skin around it; about a third reads as relief in
#: photos, while as much light as dark turns parallel lines into painted stripes.
SHOULDER_GAIN = 0.3

#: Skew of a fold that bulges on one side: its valley's radius is ``1 - FOLD_SKEW`` times the
#: crease's on the bulging side and ``1 + FOLD_SKEW`` times on the other (the mean, hence the
#: width, is kept). A cheek that overhangs the nasolabial fold makes a sharp edge above a soft
#: slope; a symmetric valley reads as a stroke painted on the skin.
FOLD_SKEW = 0.4

#: Period of the variation of a crease's depth along its length, IOD (1.1 cm; see
#: ``Crease.irregularity``).
VARIATION_PERIOD = 0.12

#: Full width at half maximum of the compact kernel ``(1 - r^2)^3`` in units of its radius:
#: ``1 - r^2 = 0.5^(1/3)`` at ``r = 0.454``. Widths in the table are FWHM; kernels use radii.
_FWHM_PER_RADIUS = 0.908

#: Dimpled-chin texture: the period of the pits (IOD; 3.5 mm, the spacing of the pits that the
#: mentalis pulls into the chin boss) and three wave directions (degrees) and relative periods,
#: chosen incommensurate so that the sum of the waves does not read as a regular lattice.
DIMPLE_PERIOD = 0.04
_DIMPLE_WAVES = ((8.0, 1.0, 0.0), (67.0, 0.83, 1.3), (128.0, 1.19, 2.1))  # angle, period, phase

#: Side of the UV grid cells that index the creases' segments, IOD (2.7 mm): about the
#: support of a fine line, so each pixel looks at a few segments only.
_CELL = 0.03

#: iBUG 68-point landmark of the mirrored position (subject's left <-> right), 0-based.
IBUG_MIRROR = np.array(
    [
        *range(16, -1, -1),  # jaw 0..16
        *range(26, 16, -1),  # brows 17..26
        27,
        28,
        29,
        30,  # nose bridge
        35,
        34,
        33,
        32,
        31,  # nostrils
        45,
        44,
        43,
        42,
        47,
        46,  # right eye -> left eye
        39,
        38,
        37,
        36,
        41,
        40,  # left eye -> right eye
        54,
        53,
        52,
        51,
        50,
        49,
        48,  # outer upper lip
        59,
        58,
        57,
        56,
        55,  # outer lower lip
        64,
        63,
        62,
        61,
        60,  # inner upper lip
        67,
        66,
        65,
    ],  # inner lower lip
    dtype=np.intp,
)


@dataclass(frozen=True)
class FaceFrame:
    """The template's landmarks in UV space, from which crease curves are placed.

    Attributes
    ----------
    points : (68, 2) float
        iBUG landmarks of the template, (x, y) in model units (x to the subject's left, y up).
    """

    points: np.ndarray

    @functools.cached_property
    def iod(self) -> float:
        """Inter-ocular distance: outer eye corners 36 and 45, model units."""
        return float(np.linalg.norm(self.points[45] - self.points[36]))

    @functools.cached_property
    def brow_height(self) -> float:
        """Height of the left brow's peak (24) above the upper lid (44), model units."""
        return float(np.linalg.norm(self.points[24] - self.points[44]))

    def at(self, index: int, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
        """Landmark ``index`` moved by (dx, dy) IOD."""
        return self.points[index] + self.iod * np.array([dx, dy])

    def between(self, a: int, b: int, t: float, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
        """The point a fraction ``t`` from landmark ``a`` to ``b``, moved by (dx, dy) IOD."""
        return (1.0 - t) * self.points[a] + t * self.points[b] + self.iod * np.array([dx, dy])

    def mirrored(self) -> FaceFrame:
        """The frame of the mirrored face (x -> -x, landmarks relabelled left <-> right)."""
        return FaceFrame(self.points[IBUG_MIRROR] * np.array([-1.0, 1.0]))


@dataclass(frozen=True)
class Crease:
    """One expression crease: where it lies, how it looks, and which blendshapes deepen it.

    Attributes
    ----------
    name : str
        ``'<fold>_L'``, ``'<fold>_R'`` or, for a crease across the midline, ``'<fold>'``.
    action_units : tuple of int
        The FACS action units whose appearance changes include this crease (documentation;
        the drivers below are what deepen it).
    drivers : mapping of str to float
        Gain of each blendshape (``model.expression_names``) on the crease's activation.
    curve : callable
        ``FaceFrame -> (P, 2)`` points of the fold's line in UV space, in order along it (a
        dense polyline; see :func:`_spline`).
    width : float
        Full width at half depth of the valley, IOD.
    depth : float
        Darkening at the valley's centre at activation 1 (0.3: the pixel keeps 70 %).
    bulge : {-1, 0, 1}
        Side on which the skin bulges and shows a light shoulder: +1 on the left of the line
        travelled from its first point to its last (seen as in a frontal photo), -1 on the
        right, 0 on both sides (the skin between parallel lines).
    fade : (float, float)
        Length over which the crease fades in at its first point and out at its last, IOD.
    irregularity : float
        How much the depth varies along the line: it swings between 1 and ``1 - irregularity``
        times ``depth`` with a period of :data:`VARIATION_PERIOD`, each crease at its own phase.
        Fine wrinkles deepen and fade along their course, and an even depth reads as a line
        drawn with a pen; the large folds (nasolabial, mentolabial) are even, and broken up
        they would read as dashes.
    texture : {'fold', 'dimples'}
        A fold is a valley along the line; dimples are pits (:data:`DIMPLE_PERIOD`) in a band
        ``width`` wide along the line (the peau d'orange chin of AU17).
    """

    name: str
    action_units: tuple[int, ...]
    drivers: Mapping[str, float]
    curve: Callable[[FaceFrame], np.ndarray] = field(repr=False)
    width: float
    depth: float
    bulge: int = 0
    fade: tuple[float, float] = (0.04, 0.04)
    irregularity: float = 0.6
    texture: Literal["fold", "dimples"] = "fold"


# ----------------------------------------------------------------------------------------------
# Curves. Each function draws a crease of the subject's left side (+x), or one across the
# midline, from the frame's landmarks; lengths in IOD. Which fold belongs to which AU, and
# roughly where it lies, follows the FACS manual (Ekman, Friesen & Hager 2002); the facial
# lines and their regions (forehead, glabella, crow's feet, nasolabial, marionette, chin) are
# those that Lemperle et al. (2001, "A classification of facial wrinkles", Plast. Reconstr.
# Surg. 108:1735) grade. The distances in the docstrings are typical adult values.
# ----------------------------------------------------------------------------------------------


def _spline(points: np.ndarray, per_span: int = 5) -> np.ndarray:
    """Catmull-Rom curve through ``points`` (n, 2), ``per_span`` segments between each pair.

    Uniform Catmull-Rom (Catmull & Rom 1974) with the end tangents of a reflected end point,
    so that a two-point curve is its straight segment.
    """
    points = np.asarray(points, dtype=float)
    if len(points) == 2:
        return points
    padded = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    t = np.linspace(0.0, 1.0, per_span, endpoint=False)[:, None]
    spans = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        spans.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    return np.concatenate([*spans, points[-1:]])


def _cut(polyline: np.ndarray, x0: float, x1: float) -> np.ndarray:
    """The part of a polyline with increasing x that lies between ``x0`` and ``x1``."""
    x = polyline[:, 0]
    inner = polyline[(x > x0) & (x < x1)]
    ends = [np.array([x_end, np.interp(x_end, x, polyline[:, 1])]) for x_end in (x0, x1)]
    return np.concatenate([ends[0][None], inner, ends[1][None]])


#: Forehead lines: height above the brows in brow heights (upper lid to brow peak) and their
#: lateral end (fraction of the way from the brow's peak, 24, to its tail, 26). Three lines,
#: the highest shortest, about 1 cm apart between the brows and the upper third of the
#: forehead (FACS AU1+2).
_FOREHEAD_LINES = ((0.45, 0.75), (0.9, 0.55), (1.35, 0.3))
#: Arch of the forehead lines: a flattened copy of the brow's own arch.
_FOREHEAD_ARCH = 0.5
#: Where the medial (AU1) part of a forehead line hands over to the lateral (AU2) part, as a
#: fraction of the way from the inner brow end (22) to the brow's peak (24), and the length of
#: the hand-over, IOD. The two parts fade over the same stretch, so they add up to one line.
_FOREHEAD_SPLIT, _FOREHEAD_HANDOVER = 0.7, 0.12
#: Half the stretch across the midline over which the left and right medial parts hand over.
_MIDLINE_OVERLAP = 0.03


def _forehead_line(frame: FaceFrame, level: int) -> np.ndarray:
    """A whole forehead line across both brows, ``level`` 0 (lowest) to 2."""
    height, _ = _FOREHEAD_LINES[level]
    brows = frame.points[[20, 21, 22, 23, 24, 25, 26]]
    middle = brows[:, 1].mean()
    lifted = np.column_stack([brows[:, 0], middle + _FOREHEAD_ARCH * (brows[:, 1] - middle)])
    return _spline(lifted + [0.0, height * frame.brow_height], per_span=6)


def _forehead_split_x(frame: FaceFrame) -> float:
    return float(frame.between(22, 24, _FOREHEAD_SPLIT)[0])


def _forehead_medial(level: int) -> Callable[[FaceFrame], np.ndarray]:
    def curve(frame: FaceFrame) -> np.ndarray:
        x1 = _forehead_split_x(frame) + 0.5 * _FOREHEAD_HANDOVER * frame.iod
        return _cut(_forehead_line(frame, level), -_MIDLINE_OVERLAP * frame.iod, x1)

    return curve


def _forehead_lateral(level: int) -> Callable[[FaceFrame], np.ndarray]:
    def curve(frame: FaceFrame) -> np.ndarray:
        x0 = _forehead_split_x(frame) - 0.5 * _FOREHEAD_HANDOVER * frame.iod
        x1 = float(frame.between(24, 26, _FOREHEAD_LINES[level][1])[0])
        return _cut(_forehead_line(frame, level), x0, x1)

    return curve


def _glabella_inner(frame: FaceFrame) -> np.ndarray:
    """The medial vertical furrow of AU4: a little inside the inner brow end (22), from just
    below the brows' level up by about half a brow height, its top slightly lateral (the
    corrugator pulls obliquely, the furrows fan upwards)."""
    bottom = frame.between(21, 22, 0.68, dy=-0.025)
    top = frame.between(21, 22, 0.74, dy=0.16)
    return _spline([bottom, (bottom + top) / 2 + frame.iod * np.array([0.004, 0.0]), top])


def _glabella_outer(frame: FaceFrame) -> np.ndarray:
    """The second, shorter and more oblique furrow of AU4, over the inner brow end."""
    bottom = frame.between(21, 22, 0.92, dy=0.0)
    top = frame.between(21, 22, 1.05, dy=0.09)
    return _spline([bottom, (bottom + top) / 2 + frame.iod * np.array([0.006, 0.0]), top])


def _nose_root(frame: FaceFrame) -> np.ndarray:
    """The transverse crease at the nasion of AU4 (procerus), across the midline at the top
    of the nose (27), bowed slightly upwards."""
    return _spline([frame.at(27, -0.075, 0.012), frame.at(27, 0.0, 0.02), frame.at(27, 0.075, 0.012)])


def _crows_foot(angle: float, start: float, length: float) -> Callable[[FaceFrame], np.ndarray]:
    """A crow's foot of AU6: a line fanning out from beyond the outer eye corner (45) at
    ``angle`` degrees above the horizontal, from ``start`` to ``start + length`` IOD from the
    corner (the lines start 3 to 5 mm beyond the corner and run 1 to 1.5 cm), drooping a
    little towards its end as the lines curve round the cheek's top."""

    def curve(frame: FaceFrame) -> np.ndarray:
        direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
        along = np.array([start, start + 0.5 * length, start + length])[:, None] * direction
        droop = np.array([0.0, -0.006, -0.02])[:, None] * np.array([0.0, 1.0])
        return _spline(frame.points[45] + frame.iod * (along + droop))

    return curve


def _infraorbital(frame: FaceFrame) -> np.ndarray:
    """The infraorbital furrow deepened by AU6: an arc 1 to 1.2 cm under the lower lid, from
    below the inner eye corner (42) to below the outer one (45)."""
    return _spline(
        [frame.at(42, 0.03, -0.08), frame.at(47, 0.0, -0.11), frame.at(46, 0.01, -0.115), frame.at(45, 0.04, -0.08)]
    )


def _lower_lid(frame: FaceFrame) -> np.ndarray:
    """The lower-lid bulge line of AU7: 4 to 5 mm under the lower lid margin (47, 46)."""
    return _spline(
        [frame.at(42, 0.025, -0.035), frame.at(47, 0.0, -0.05), frame.at(46, 0.0, -0.05), frame.at(45, -0.02, -0.03)]
    )


def _nose_bridge(level: float) -> Callable[[FaceFrame], np.ndarray]:
    """A transverse wrinkle of AU9 across the nose's bridge, ``level`` of the way from the
    nose's top (27) to 28, its ends bent down round the bridge's sides."""

    def curve(frame: FaceFrame) -> np.ndarray:
        centre = frame.between(27, 28, level)
        offsets = np.array([[-0.085, -0.015], [-0.04, -0.002], [0.0, 0.0], [0.04, -0.002], [0.085, -0.015]])
        return _spline(centre + frame.iod * offsets, per_span=3)

    return curve


def _nose_side(high: float, low: float) -> Callable[[FaceFrame], np.ndarray]:
    """An oblique wrinkle of AU9 on the nose's side wall ("bunny line"), from beside the
    bridge (28) down and out towards the cheek, ``high`` and ``low`` IOD above 28 at its ends."""

    def curve(frame: FaceFrame) -> np.ndarray:
        return np.array([frame.at(28, 0.04, high), frame.at(28, 0.15, low)])

    return curve


def _nasolabial(frame: FaceFrame) -> np.ndarray:
    """The nasolabial fold of AU10/AU11/AU12: from above and beside the nose wing (35), down
    and out to 1.4 cm beside the mouth corner (54), at the corner's level. A smile carries the
    corner up and out by up to 1.5 cm on the default model, into the fold's lower end: the fold
    lies as far out as the neutral face allows, so that the corner meets it, not crosses it."""
    return _spline([frame.at(35, 0.065, 0.1), frame.between(35, 54, 0.45, dx=0.11), frame.at(54, 0.16, 0.0)])


def _marionette(frame: FaceFrame) -> np.ndarray:
    """The fold of AU15 from the mouth corner (54) down and a little out (marionette line)."""
    return _spline([frame.at(54, 0.015, -0.025), frame.at(54, 0.04, -0.11), frame.at(54, 0.05, -0.2)])


def _mentolabial(frame: FaceFrame) -> np.ndarray:
    """The mentolabial sulcus of AU17: across the chin a third of the way from the lower lip
    (57) to the chin (8), its ends rising towards the mouth corners."""
    centre = frame.between(57, 8, 0.3)
    offsets = np.array([[-0.13, 0.03], [-0.065, 0.005], [0.0, 0.0], [0.065, 0.005], [0.13, 0.03]])
    return _spline(centre + frame.iod * offsets)


def _chin_boss(frame: FaceFrame) -> np.ndarray:
    """The middle of the chin boss, where AU17 dimples the skin: a line across the chin."""
    centre = frame.between(57, 8, 0.62)
    return np.array([centre - [0.12 * frame.iod, 0.0], centre + [0.12 * frame.iod, 0.0]])


def _mouth_corner(frame: FaceFrame) -> np.ndarray:
    """The short stretch fold of AU20 beyond the mouth corner (54), along the pull."""
    return np.array([frame.at(54, 0.02, 0.004), frame.at(54, 0.085, -0.006)])


def _left(name: str, action_units: tuple[int, ...], drivers: dict[str, float], curve, **kwargs) -> list[Crease]:
    """A crease of the subject's left side and its mirror on the right."""
    left = Crease(f"{name}_L", action_units, drivers, curve, **kwargs)
    return [left, _mirror(left)]


def _mirror(crease: Crease) -> Crease:
    """The right-side copy of a left crease: mirrored curve and drivers, bulge on the other side
    of the (mirrored, hence reversed) line."""

    def curve(frame: FaceFrame) -> np.ndarray:
        return crease.curve(frame.mirrored()) * np.array([-1.0, 1.0])

    def swap(name: str) -> str:
        return name[:-2] + "_R" if name.endswith("_L") else name

    return replace(
        crease,
        name=swap(crease.name),
        drivers={swap(k): v for k, v in crease.drivers.items()},
        curve=curve,
        bulge=-crease.bulge,
    )


def _forehead_creases() -> list[Crease]:
    """AU1 wrinkles the middle of the forehead, AU2 its sides (FACS); each half-line is driven
    mostly by its own AU and a little by the other, since both raise the whole brow somewhat.
    Depth 17 % (the lowest line) to 13 % (the highest, shallower and shorter), 2 mm wide."""
    creases = []
    for level in range(len(_FOREHEAD_LINES)):
        common = dict(width=0.024, depth=(0.17, 0.15, 0.13)[level], bulge=0)
        creases += _left(
            f"forehead_medial_{level + 1}",
            (1,),
            {"browInnerUp_L": 1.0, "browOuterUp_L": 0.25},
            _forehead_medial(level),
            fade=(2 * _MIDLINE_OVERLAP, _FOREHEAD_HANDOVER),
            **common,
        )
        creases += _left(
            f"forehead_lateral_{level + 1}",
            (2,),
            {"browOuterUp_L": 1.0, "browInnerUp_L": 0.25},
            _forehead_lateral(level),
            fade=(_FOREHEAD_HANDOVER, 0.1),
            **common,
        )
    return creases


_BOTH_BROWS_DOWN = {"browDown_L": 0.5, "browDown_R": 0.5, "noseSneer_L": 0.25, "noseSneer_R": 0.25}
_BOTH_SNEERS = {"noseSneer_L": 0.5, "noseSneer_R": 0.5}

#: The crease table. Depths at activation 1 and widths (FWHM, IOD; x 8.9 for mm on the default
#: model) chosen so that the creases read in a 256 px photo, where a face 130 px wide has about
#: 1 px per mm: deep furrows (glabella, nasolabial fold) darken by about 30 %, fine lines by 12
#: to 20 %; fine lines are 1.5 to 2.5 mm wide, the nasolabial fold 3.7 mm and the mentolabial
#: sulcus 4 mm.
CREASES: tuple[Crease, ...] = tuple(
    _forehead_creases()
    + _left(
        "glabella_inner",
        (4,),
        {"browDown_L": 1.0},
        _glabella_inner,
        width=0.03,
        depth=0.3,
        fade=(0.03, 0.06),
        irregularity=0.3,
    )
    + _left(
        "glabella_outer",
        (4,),
        {"browDown_L": 1.0},
        _glabella_outer,
        width=0.02,
        depth=0.13,
        fade=(0.03, 0.05),
        irregularity=0.3,
    )
    + [Crease("nose_root", (4, 9), _BOTH_BROWS_DOWN, _nose_root, width=0.025, depth=0.2, bulge=0, fade=(0.05, 0.05))]
    + _left(
        "crows_foot_upper",
        (6,),
        {"cheekSquint_L": 1.0, "eyeSquint_L": 0.3},
        _crows_foot(26.0, 0.05, 0.13),
        width=0.017,
        depth=0.2,
        fade=(0.04, 0.06),
    )
    + _left(
        "crows_foot_middle",
        (6,),
        {"cheekSquint_L": 1.0, "eyeSquint_L": 0.3},
        _crows_foot(-2.0, 0.04, 0.16),
        width=0.017,
        depth=0.22,
        fade=(0.04, 0.07),
    )
    + _left(
        "crows_foot_lower",
        (6,),
        {"cheekSquint_L": 1.0, "eyeSquint_L": 0.3},
        _crows_foot(-28.0, 0.05, 0.14),
        width=0.017,
        depth=0.2,
        fade=(0.04, 0.06),
    )
    # The infraorbital furrow runs from the inner to the outer corner; the raised cheek bulges
    # below it (on the right of that direction).
    + _left(
        "infraorbital",
        (6,),
        {"cheekSquint_L": 1.0},
        _infraorbital,
        width=0.022,
        depth=0.13,
        bulge=-1,
        fade=(0.1, 0.08),
        irregularity=0.4,
    )
    # The lower lid line runs the same way; the tightened lid bulges above it (on its left).
    + _left("lower_lid", (7,), {"eyeSquint_L": 1.0}, _lower_lid, width=0.017, depth=0.12, bulge=1, fade=(0.05, 0.05))
    + [Crease("nose_bridge", (9,), _BOTH_SNEERS, _nose_bridge(0.3), width=0.018, depth=0.2, fade=(0.04, 0.04))]
    + _left(
        "nose_side_upper",
        (9,),
        {"noseSneer_L": 1.0},
        _nose_side(0.05, -0.02),
        width=0.018,
        depth=0.2,
        fade=(0.03, 0.04),
    )
    + _left(
        "nose_side_lower",
        (9,),
        {"noseSneer_L": 1.0},
        _nose_side(-0.01, -0.08),
        width=0.018,
        depth=0.18,
        fade=(0.03, 0.04),
    )
    # The nasolabial fold runs downwards; the cheek bulges over it laterally (on its left).
    # AU12 deepens it most; AU10 (mouthShrugUpper in this kit, both sides) and AU11 raise the
    # lip against the cheek; AU9 deepens its upper end and so the whole fold a little.
    + _left(
        "nasolabial",
        (9, 10, 11, 12),
        {"mouthSmile_L": 1.0, "mouthUpperUp_L": 0.6, "mouthShrugUpper": 0.5, "noseSneer_L": 0.5},
        _nasolabial,
        width=0.042,
        depth=0.27,
        bulge=1,
        fade=(0.1, 0.12),
        irregularity=0.15,
    )
    # The marionette line runs downwards from the mouth corner; the skin lateral to it bulges.
    + _left(
        "marionette",
        (15,),
        {"mouthFrown_L": 1.0},
        _marionette,
        width=0.033,
        depth=0.22,
        bulge=1,
        fade=(0.05, 0.1),
        irregularity=0.25,
    )
    # The sulcus runs across the chin towards +x; the chin boss bulges below it (on its right).
    + [
        Crease(
            "mentolabial",
            (17,),
            {"mouthShrugLower": 1.0},
            _mentolabial,
            width=0.045,
            depth=0.2,
            bulge=-1,
            fade=(0.1, 0.1),
            irregularity=0.2,
        ),
        Crease(
            "chin_dimples",
            (17,),
            {"mouthShrugLower": 1.0},
            _chin_boss,
            width=0.1,
            depth=0.07,
            fade=(0.06, 0.06),
            irregularity=0.0,
            texture="dimples",
        ),
    ]
    + _left("mouth_corner", (20,), {"mouthStretch_L": 1.0}, _mouth_corner, width=0.017, depth=0.12, fade=(0.02, 0.03))
)


# ----------------------------------------------------------------------------------------------
# Per-model geometry: the creases' segments, and a grid of UV cells listing the segments that
# can reach each cell (each crease's box, refined to the cells near its line), so that a pixel
# looks only at the few segments that can shade it.
# ----------------------------------------------------------------------------------------------

# Columns of the per-crease parameter table handed to the kernel.
(
    _LENGTH,
    _FADE_IN,
    _FADE_OUT,
    _RADIUS,
    _REACH,
    _DEPTH,
    _BULGE,
    _DIMPLES,
    _ORIGIN_X,
    _ORIGIN_Y,
    _PHASE,
    _IRREGULARITY,
) = range(12)


@dataclass(frozen=True, eq=False)
class _Geometry:
    """The crease table laid out on one model's template (built once per model)."""

    drivers: np.ndarray  # (C, K) gain of each blendshape on each crease
    curves: tuple[np.ndarray, ...]  # (P_c, 2) polyline of each crease, UV
    params: np.ndarray  # (C, 12) float64, columns _LENGTH ... _IRREGULARITY
    waves: np.ndarray  # (3, 3) dimple waves: wave vector (per UV unit) and phase
    cycles: float  # periods of the depth variation per UV unit along a crease
    grid: np.ndarray  # (5,) float64: x0, y0, cell size, columns, rows
    cell_start: np.ndarray  # (cells + 1,) int64, offsets into the cell_ arrays
    # The segments listed in each cell, copied out in cell order so that a pixel reads them in
    # one run: (items, 6) float64 start x, y, unit direction x, y, length, arc length at start.
    cell_segments: np.ndarray
    cell_creases: np.ndarray  # (items,) int64 crease of each item, grouped within a cell


@functools.lru_cache(maxsize=4)
def _geometry(model: MorphableModel) -> _Geometry:
    """Lay the crease table out on ``model``'s template; cached per model (about 10 ms)."""
    frame = FaceFrame(np.asarray(model.mean[model.landmark_indices, :2], dtype=float))
    curves = tuple(np.asarray(crease.curve(frame), dtype=float) for crease in CREASES)
    segments, owners, params = [], [], []
    for c, (crease, points) in enumerate(zip(CREASES, curves)):
        vectors = np.diff(points, axis=0)
        lengths = np.linalg.norm(vectors, axis=1)
        keep = lengths > 0
        vectors, lengths, starts = vectors[keep], lengths[keep], points[:-1][keep]
        arc = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        segments.append(np.column_stack([starts, vectors / lengths[:, None], lengths, arc]))
        owners.append(np.full(len(lengths), c))
        radius = WIDTH_SCALE * crease.width * frame.iod / _FWHM_PER_RADIUS
        # A fold's shoulder reaches two radii from its line (see _contribution); dimples one.
        reach = radius if crease.texture == "dimples" else 2.0 * radius
        params.append(
            [
                lengths.sum(),
                crease.fade[0] * frame.iod,
                crease.fade[1] * frame.iod,
                radius,
                reach,
                DEPTH_SCALE * crease.depth,
                crease.bulge,
                crease.texture == "dimples",
                *points[0],
                _phase(crease.name),
                crease.irregularity,
            ]
        )
    segments, owners, params = np.concatenate(segments), np.concatenate(owners), np.asarray(params, dtype=float)
    grid, cell_start, items = _segment_grid(segments, params[owners, _REACH], model.mean[:, :2], _CELL * frame.iod)
    return _Geometry(
        drivers=_driver_matrix(model),
        curves=curves,
        params=params,
        waves=_dimple_waves(frame.iod),
        cycles=1.0 / (VARIATION_PERIOD * frame.iod),
        grid=grid,
        cell_start=cell_start,
        cell_segments=np.ascontiguousarray(segments[items]),
        cell_creases=owners[items].astype(np.int64),
    )


def _phase(name: str) -> float:
    """Phase (cycles) of a crease's depth variation, from its name: stable when the table changes."""
    return (zlib.crc32(name.encode()) % 1000) / 1000.0


def _driver_matrix(model: MorphableModel) -> np.ndarray:
    """(C, K) gain of each of ``model``'s blendshapes on each crease."""
    index = {name: k for k, name in enumerate(model.expression_names)}
    drivers = np.zeros((len(CREASES), model.n_expression))
    for c, crease in enumerate(CREASES):
        for name, gain in crease.drivers.items():
            if name in index:  # a blendshape that another model lacks drives nothing
                drivers[c, index[name]] = gain
    return drivers


def _dimple_waves(iod: float) -> np.ndarray:
    """(3, 3) wave vectors (kx, ky, radians per UV unit) and phases of the dimpled-chin texture."""
    waves = []
    for angle, period, phase in _DIMPLE_WAVES:
        k = 2.0 * np.pi / (DIMPLE_PERIOD * period * iod)
        waves.append([k * np.cos(np.radians(angle)), k * np.sin(np.radians(angle)), phase])
    return np.asarray(waves)


def _segment_grid(segments: np.ndarray, reach: np.ndarray, template_xy: np.ndarray, cell: float):
    """Lists of the segments that may shade each UV cell, as (grid, offsets, segment indices).

    A segment is listed in every cell that its box, grown by its crease's ``reach``, overlaps.
    A pixel within reach of a crease is within reach of the segment that holds its nearest
    point on the crease, so a cell's list holds that segment whenever the pixel can be shaded.
    Items are sorted by segment within a cell, hence grouped by crease (segments are numbered
    crease by crease).
    """
    x0, y0 = template_xy.min(axis=0) - cell
    columns, rows = np.ceil((template_xy.max(axis=0) + cell - [x0, y0]) / cell).astype(int)
    ends = segments[:, :2] + segments[:, 2:4] * segments[:, 4:5]
    low = np.minimum(segments[:, :2], ends) - reach[:, None]
    high = np.maximum(segments[:, :2], ends) + reach[:, None]
    first = np.clip(np.floor((low - [x0, y0]) / cell).astype(int), 0, [columns - 1, rows - 1])
    last = np.clip(np.floor((high - [x0, y0]) / cell).astype(int), 0, [columns - 1, rows - 1])
    cells, items = [], []
    for index, ((i0, j0), (i1, j1)) in enumerate(zip(first, last)):
        block = (np.arange(j0, j1 + 1)[:, None] * columns + np.arange(i0, i1 + 1)[None, :]).ravel()
        cells.append(block)
        items.append(np.full(len(block), index))
    cells, items = np.concatenate(cells), np.concatenate(items)
    order = np.lexsort((items, cells))
    counts = np.bincount(cells, minlength=columns * rows)
    cell_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return np.array([x0, y0, cell, columns, rows], dtype=float), cell_start, items[order]


# ----------------------------------------------------------------------------------------------
# The per-pixel kernel.
# ----------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _bump(r):
    """Compact bell ``(1 - r^2)^3`` on (-1, 1), zero outside: smooth like a Gaussian, but
    exactly zero past its radius, so pixels away from every crease keep a factor of exactly 1."""
    if r <= -1.0 or r >= 1.0:
        return 0.0
    q = 1.0 - r * r
    return q * q * q


@numba.njit(cache=True, nogil=True)
def _smoothstep(x):
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


@numba.njit(cache=True, nogil=True)
def _swell(cycles):
    """A smooth periodic swell, 1 at whole ``cycles`` and 0 half-way between: the smoothstep of
    a triangle wave, which follows ``(1 + cos(2 pi x)) / 2`` to 0.02 at a fraction of the cost."""
    fraction = cycles - np.floor(cycles)
    return _smoothstep(abs(2.0 * fraction - 1.0))


@numba.njit(cache=True, nogil=True)
def _contribution(c, u, v, distance, cross, arc, strength, params, waves, shoulder_gain, skew, cycles):
    """Change of the shading factor from crease ``c`` at a pixel ``distance`` from its line.

    A fold is a valley ``-(1 - (d/r)^2)^3`` across the line (r = its radius) plus a shoulder of
    the same shape one radius out on the bulging side (on both for bulge 0): a difference of
    two compact bells, the shading of a groove with a ridge beside it. A fold with one bulging
    side is skewed (``skew``): its valley is narrower on that side, where the skin overhangs
    the fold, and wider on the other, where the skin slopes into it. Both fade in and out
    along the line with a smoothstep over the crease's fade lengths (zero at its ends), and
    their depth swells and ebbs along it (``cycles``: periods per UV unit).
    """
    taper = _smoothstep(arc / params[c, _FADE_IN]) * _smoothstep((params[c, _LENGTH] - arc) / params[c, _FADE_OUT])
    if taper == 0.0:
        return 0.0
    strength *= params[c, _DEPTH] * taper
    radius = params[c, _RADIUS]
    if params[c, _DIMPLES] != 0.0:
        x, y = u - params[c, _ORIGIN_X], v - params[c, _ORIGIN_Y]
        pattern = 0.0
        for w in range(waves.shape[0]):
            pattern += np.cos(waves[w, 0] * x + waves[w, 1] * y + waves[w, 2])
        return -strength * _bump(distance / radius) * pattern / waves.shape[0]
    if params[c, _IRREGULARITY] != 0.0:
        strength *= 1.0 - params[c, _IRREGULARITY] * _swell(cycles * arc + params[c, _PHASE])
    side = params[c, _BULGE]
    if side == 0.0:
        return strength * (shoulder_gain * _bump(distance / radius - 1.0) - _bump(distance / radius))
    if side * cross > 0.0:  # the bulging side: a steep wall, then the shoulder
        return strength * (shoulder_gain * _bump(distance / radius - 1.0) - _bump(distance / (radius * (1.0 - skew))))
    return -strength * _bump(distance / (radius * (1.0 + skew)))  # the gentle slope into the fold


@numba.njit(cache=True, nogil=True)
def _shade(
    uv,
    activation,
    params,
    waves,
    cycles,
    grid,
    cell_start,
    cell_segments,
    cell_creases,
    shoulder_gain,
    skew,
    low,
    high,
    out,
):
    """Write the shading factor of every pixel touched by an active crease into ``out``."""
    x0, y0, per_cell = grid[0], grid[1], 1.0 / grid[2]
    columns, rows = int(grid[3]), int(grid[4])
    for m in range(uv.shape[0]):
        u, v = uv[m, 0], uv[m, 1]
        i, j = (u - x0) * per_cell, (v - y0) * per_cell
        if not (i >= 0.0 and i < columns and j >= 0.0 and j < rows):  # also false for NaN
            continue
        k = int(j) * columns + int(i)
        item, stop = cell_start[k], cell_start[k + 1]
        total = 0.0
        while item < stop:
            c = cell_creases[item]
            if activation[c] <= 0.0:
                item += 1
                continue
            # Nearest point on crease c among its segments listed in this cell.
            best, cross, arc = np.inf, 0.0, 0.0
            while item < stop and cell_creases[item] == c:
                px, py = u - cell_segments[item, 0], v - cell_segments[item, 1]
                dx, dy = cell_segments[item, 2], cell_segments[item, 3]
                t = min(max(px * dx + py * dy, 0.0), cell_segments[item, 4])
                ex, ey = px - t * dx, py - t * dy
                d2 = ex * ex + ey * ey
                if d2 < best:
                    best, cross, arc = d2, dx * py - dy * px, cell_segments[item, 5] + t
                item += 1
            if best < params[c, _REACH] * params[c, _REACH]:
                total += _contribution(
                    c, u, v, np.sqrt(best), cross, arc, activation[c], params, waves, shoulder_gain, skew, cycles
                )
        if total != 0.0:
            out[m] = min(max(1.0 + total, low), high)


# ----------------------------------------------------------------------------------------------
# Public functions.
# ----------------------------------------------------------------------------------------------


def crease_activations(model: MorphableModel, weights: np.ndarray) -> np.ndarray:
    """Activation of every crease of :data:`CREASES` from a face's blendshape weights.

    The wrinkle-map blend of Oat (2007) and Jimenez et al. (2011): each crease's activation is
    the gain-weighted sum of its drivers' weights, ``a_c = clip(sum_k g_ck w_k, 0, 1.5)``.
    Drivers that ``model`` lacks contribute nothing.

    Parameters
    ----------
    model : MorphableModel
    weights : (K,) float
        Blendshape weights in ``model.expression_names`` order: in [0, 1] for a full
        expression, above 1 when amplified.

    Returns
    -------
    (C,) float64
        Activations in [0, :data:`MAX_ACTIVATION`], in :data:`CREASES` order.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (model.n_expression,):
        raise ValueError(
            f"weights: expected shape ({model.n_expression},) for model {model.name!r}, got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights: expected finite values")
    return np.clip(_geometry(model).drivers @ weights, 0.0, MAX_ACTIVATION)


def crease_factor(model: MorphableModel, activations: np.ndarray, uv: np.ndarray) -> np.ndarray | None:
    """Multiplicative shading of face pixels by the active creases (a wrinkle map).

    Oat (2007) and Jimenez et al. (2011) blend wrinkle normal maps by the activations; a photo
    already carries its lighting, so here each crease is drawn directly as shading: a dark
    valley along its line and a lighter shoulder where the skin bulges (:func:`_contribution`),
    ``depth * activation`` deep, summed over the creases and clipped to :data:`FACTOR_RANGE`.
    Multiplying a pixel by the factor keeps the photo's own lighting and colour. Pixels away
    from every active crease get exactly 1.0.

    Parameters
    ----------
    model : MorphableModel
        The model whose template defines the UV space (its geometry is built once and cached).
    activations : (C,) float
        From :func:`crease_activations`; clipped to [0, :data:`MAX_ACTIVATION`].
    uv : (M, 2) float
        Template position (x, y of ``model.mean``, model units) of each face pixel, e.g. the
        template's (x, y) rasterised as vertex attributes over the deformed face. Positions off
        the template (or NaN) are left unshaded.

    Returns
    -------
    (M,) float32 or None
        The factor of each pixel, or None when no crease is active: nothing to change.

    Notes
    -----
    Each pixel looks up its cell in a grid of UV cells that lists the crease segments within
    reach (built once per model), so only pixels near an active crease do any work. With
    every crease active, a 256 px photo whose face is 130 px wide (20k to 23k face pixels,
    float32 ``uv``) takes 0.35 to 0.45 ms, and a frontal 256 px rendering of the whole default
    template (36k pixels) 0.7 ms, on one core of a shared 2-core x86 machine (numba 0.68).
    """
    activations = np.asarray(activations, dtype=float)
    if activations.shape != (len(CREASES),):
        raise ValueError(f"activations: expected shape ({len(CREASES)},), got {activations.shape}")
    if np.isnan(activations).any():
        raise ValueError("activations: expected no NaN")
    uv = np.asarray(uv)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"uv: expected shape (M, 2), got {uv.shape}")
    activations = np.clip(activations, 0.0, MAX_ACTIVATION)
    if not activations.any():
        return None
    # float32 (a rasterised attribute image) is read as it is: a float64 copy of 50k pixels
    # would cost a tenth of the shading itself.
    uv = np.ascontiguousarray(uv, dtype=uv.dtype if uv.dtype in (np.float32, np.float64) else np.float64)
    geometry = _geometry(model)
    out = np.ones(len(uv), dtype=np.float32)
    _shade(
        uv,
        activations,
        geometry.params,
        geometry.waves,
        geometry.cycles,
        geometry.grid,
        geometry.cell_start,
        geometry.cell_segments,
        geometry.cell_creases,
        SHOULDER_GAIN,
        FOLD_SKEW,
        FACTOR_RANGE[0],
        FACTOR_RANGE[1],
        out,
    )
    return out


def crease_curves(model: MorphableModel) -> dict[str, np.ndarray]:
    """The line of every crease on ``model``'s template: name -> (P, 2) UV polyline (a copy)."""
    return {crease.name: points.copy() for crease, points in zip(CREASES, _geometry(model).curves)}
