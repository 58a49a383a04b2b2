"""The eyeball that a raised upper lid uncovers: sclera, the iris' continuation, the lid's shadow.

When an expression raises the upper lid (FACS AU5: surprise, fear), the synthesized eye opening
grows past the photo's. The eyeball does not move with the lids, so inside the photo's opening
the renderer keeps the photo's pixels; the strip that the lid uncovered shows lid skin and
lashes in the photo and is painted here as the eye that the lid hid:

* :func:`eye_appearance` reads, once per photo and eye, what the photo shows of the eye: the
  iris disc (centre and radius, part of it hidden by the lids) and the colours of the iris, its
  limbal ring, the sclera and the sclera in the upper lid's shadow;
* :func:`paint_revealed_eye` colours the uncovered pixels: the iris where its disc reaches
  under the old lid (so it continues as a circle), with the dark limbal ring at its edge, and
  sclera elsewhere, both darkened just under the new lid margin by the shadow that the lid and
  its lashes cast on the eyeball.

The iris is located from the eye's six iBUG 68 landmarks (:mod:`affect.face.landmarks`) and the
photo inside the opening they outline: by the limbus, the edge between the iris and the sclera
(Daugman's operator on the arcs that the lids leave visible), and by the pupil, which is what a
light iris shows best (see :func:`_iris_disc`). Its radius is tied to the opening's width: the
visible iris (white-to-white) is 11.7 +/- 0.4 mm across [1]_ and the palpebral fissure, corner
to corner, 28 to 31 mm long in adults [2]_, so the radius is about 0.2 of the width, and the
limbus may move it between 0.16 and 0.24. The upper lid normally rests 1 to 2 mm below the
iris' upper edge and the lower lid at its lower edge [3]_: the disc's top is rarely seen and its
centre lies a little above the opening's middle, which is where the search expects it.

The painted sclera is the photo's lit sclera, shaded as a globe lit from the front (darker
towards the corners and under the lid); a faint grain of the photo's own noise amplitude (a hash
of the pixel's position, so the same pixel gets the same colour on every call) and the iris'
radial striations keep it from looking flat. Copying the photo's visible sclera into the strip
was the other choice; it was left out because the visible sclera next to the old lid carries
that lid's shadow and lashes, which a copy would draw a second time a few pixels higher.

References
----------
.. [1] Rüfer F, Schröder A, Erb C. White-to-white corneal diameter: normal values in healthy
   humans obtained with the Orbscan II topography system. Cornea 24(3):259-261, 2005.
.. [2] Farkas LG. Anthropometry of the Head and Face, 2nd ed. Raven Press, 1994 (the orbits:
   en-ex, the eye fissure's length).
.. [3] Snell RS, Lemp MA. Clinical Anatomy of the Eye, 2nd ed. Blackwell, 1998 (the eyelids).
.. [4] Peshek D, Semmaknejad N, Hoffman D, Foley P. Preliminary evidence that the limbal ring
   influences facial attractiveness. Evolutionary Psychology 9(2):137-146, 2011.
.. [5] Daugman J. How iris recognition works. IEEE Trans. Circuits Syst. Video Technol.
   14(1):21-30, 2004.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numba
import numpy as np

__all__ = ["EyeAppearance", "eye_appearance", "paint_revealed_eye"]

#: Iris radius as a fraction of the opening's width, corner to corner: an 11.7 mm iris [1]_ in
#: a 28 to 31 mm fissure [2]_.
IRIS_TO_WIDTH = 0.2
#: The range the limbus may move that fraction within (irises of 10.9 to 12.5 mm, two standard
#: deviations either side [1]_, in fissures of 26 to 33 mm).
IRIS_TO_WIDTH_RANGE = (0.16, 0.24)
#: Openings lower than this (pixels) count as closed: the photo shows no eyeball to measure.
MIN_OPENING_PX = 2.0
#: The limbus must be this much darker inside than outside (grey levels, on average over its
#: visible arcs) for the iris to count as located; below it (sunglasses, a blurred or
#: overexposed eye) the iris is put where the lids usually leave it, at the opening's centre.
MIN_LIMBUS_CONTRAST = 10.0
#: Weight of the pupil's contrast against the limbus' in the iris' evidence (both grey levels).
PUPIL_WEIGHT = 0.6
#: Spread of the iris' centre across the eye about where the lids usually leave it, in radii.
CENTRE_SPREAD = 0.35
#: Width of the limbal ring, the darker rim of the iris [4]_, as a fraction of the iris radius.
LIMBAL_RING = 0.18
#: The limbal ring's colour relative to the iris'; and the shaded sclera's relative to the lit
#: sclera's where the photo shows none under its lid.
LIMBUS_RATIO, SHADOW_RATIO = 0.6, 0.6
#: The measured shadow's brightness is kept within this range of the lit sclera's: a lid's shadow
#: always shows, and under the lid of a nearly closed eye the "sclera" read is lashes.
SHADOW_RANGE = (0.4, 0.7)
#: Depth of the lid's cast shadow below its margin, in iris radii (about 1.5 mm: the margin's
#: thickness and its lashes).
LID_SHADOW = 0.25
#: The eyeball's radius in iris radii: a 24 mm globe (axial length and transverse diameter of
#: healthy adults, Bekerman et al., J. Ophthalmol. 2014:503645) and a 5.85 mm iris [1]_.
EYEBALL_TO_IRIS = 2.05
#: Share of the light on the sclera that does not depend on its slope (ambient, and bounced by
#: the skin round the eye).
SCLERA_AMBIENT = 0.6
#: Amplitude of the iris' radial striations, relative to its colour.
IRIS_STRIATION = 0.06

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as the kit's grey conversions
_UPPER, _LOWER = [0, 1, 2, 3], [0, 5, 4, 3]  # of the six eye landmarks: corner, lid, lid, corner
_MAX_COLUMNS = 48  # larger eyes are read in blocks, 32 to 72 across (keeps it under 1 ms)
_BROWN = np.array([1.3, 0.93, 0.68])  # a mid-brown iris' chromaticity, luma 1: the default iris
_IMMERKAER = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_ARC = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)  # the angles at which circles are read
_COS, _SIN = np.cos(_ARC), np.sin(_ARC)
_STRIATION_WAVES = np.array([[11.0, 0.5, 0.3], [23.0, 0.3, 1.9], [37.0, 0.2, 4.1]])  # turns, weight, phase


@dataclass(frozen=True, eq=False)
class EyeAppearance:
    """What a photo shows of one eye, as :func:`paint_revealed_eye` needs it.

    Attributes
    ----------
    iris_centre : (2,) float
        Centre of the iris disc, (x, y) pixels; it may lie under a lid.
    iris_radius : float
        Radius of the iris disc, pixels.
    iris_colour, limbus_colour : (3,) float in [0, 255]
        The iris between the pupil and its rim, and its dark limbal ring at the disc's edge [4]_.
    sclera_colour, sclera_shadow : (3,) float in [0, 255]
        The lit sclera next to the iris, and the sclera just under the upper lid, in its shadow.
    grain : float
        Standard deviation (grey levels) of the faint noise painted over the colours: the
        photo's own noise at its sclera, so that the painted strip is as grainy as the photo.
    measured : bool
        The iris was located in the photo. False when the opening is (nearly) closed or outside
        the image (the colours are then defaults in the photo's light) or shows no limbus (the
        colours are still the photo's); the disc then sits where the lids usually leave it.

    There is no pupil: a strip uncovered by the lid lies above the old lid margin, and the pupil
    (under half the iris' radius) below it.
    """

    iris_centre: np.ndarray
    iris_radius: float
    iris_colour: np.ndarray
    sclera_colour: np.ndarray
    sclera_shadow: np.ndarray
    limbus_colour: np.ndarray
    grain: float = 1.0
    measured: bool = True

    def __post_init__(self):
        for name in ("iris_centre", "iris_colour", "sclera_colour", "sclera_shadow", "limbus_colour"):
            value = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            value.flags.writeable = False  # frozen all the way down
            object.__setattr__(self, name, value)
        object.__setattr__(self, "iris_radius", float(self.iris_radius))
        object.__setattr__(self, "grain", float(self.grain))
        object.__setattr__(self, "measured", bool(self.measured))


# --------------------------------------------------------------------------------------
# The eye's frame and the pixels round it
# --------------------------------------------------------------------------------------


class _EyeFrame:
    """Coordinates along the eye (s, from the first corner towards the second) and across it
    (t, towards the lower lid), in pixels, and the lid margins as functions of s."""

    def __init__(self, points: np.ndarray):
        self.origin = points[0]
        axis = points[3] - points[0]
        self.width = float(np.hypot(*axis))
        self.axis = axis / self.width if self.width > 1e-6 else np.array([1.0, 0.0])
        self.normal = np.array([-self.axis[1], self.axis[0]])  # image y grows down: this points down
        s, t = self.to_frame(points)
        if t[[1, 2]].mean() > t[[4, 5]].mean():  # an upside-down face: t still grows towards the lower lid
            self.normal, t = -self.normal, -t
        self._upper = _sorted_polyline(s[_UPPER], t[_UPPER])
        self._lower = _sorted_polyline(s[_LOWER], t[_LOWER])

    def to_frame(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        relative = xy - self.origin
        return relative @ self.axis, relative @ self.normal

    def to_image(self, s, t) -> np.ndarray:
        return self.origin + s * self.axis + t * self.normal

    def upper_lid(self, s):
        return np.interp(s, *self._upper)

    def lower_lid(self, s):
        return np.interp(s, *self._lower)

    def height(self) -> float:
        """The opening's largest height (pixels), at the lid landmarks."""
        s = np.r_[self._upper[0], self._lower[0]]
        return float(np.max(self.lower_lid(s) - self.upper_lid(s)))


def _sorted_polyline(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(s, kind="stable")
    return s[order], t[order]


class _Patch:
    """The photo round one eye, float RGB and grey, in blocks of ``step`` x ``step`` pixels (their
    means) so that the eye spans about :data:`_MAX_COLUMNS` of them (at most 1.5 times as many)."""

    def __init__(self, image: np.ndarray, points: np.ndarray, width: float):
        self.step = step = max(1, int(round(width / _MAX_COLUMNS)))
        reach = 0.35 * width + 2.0 * step  # the largest iris disc and the band round it that is read
        low = np.maximum(np.floor(points.min(axis=0) - reach).astype(int), 0)
        high = np.minimum(np.ceil(points.max(axis=0) + reach).astype(int) + 1, image.shape[1::-1])
        size = np.maximum(high - low, 0) // step
        crop = image[low[1] : low[1] + size[1] * step, low[0] : low[0] + size[0] * step]
        if step > 1 and crop.size:  # OpenCV's area resampling by a whole factor: the blocks' means
            crop = cv2.resize(crop, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)
        crop = crop.astype(np.float64)
        self.origin, self.rgb, self.grey = low, crop, crop @ _LUMA

    def to_patch(self, xy: np.ndarray) -> np.ndarray:
        return (xy - self.origin - 0.5 * (self.step - 1)) / self.step

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        return xy * self.step + self.origin + 0.5 * (self.step - 1)

    def lid_maps(self, frame: _EyeFrame) -> tuple[np.ndarray, ...]:
        """Every pixel's position in the eye's frame (s, t), and the upper and lower lid margins'
        t at its s; flattened, row-major."""
        ys, xs = np.indices(self.grey.shape)
        s, t = frame.to_frame(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64))
        return s, t, frame.upper_lid(s), frame.lower_lid(s)


class _Opening:
    """The patch's pixels inside the eye opening: position in the eye's frame (s, t) and in the
    patch (x, y), colour, grey and depth (0 at the upper lid, 1 at the lower)."""

    def __init__(self, patch: _Patch, frame: _EyeFrame, maps: tuple[np.ndarray, ...], inside: np.ndarray):
        s, t, upper, lower = (values[inside] for values in maps)
        self.s, self.t = s, t
        self.y, self.x = np.divmod(inside, patch.grey.shape[1])
        self.rgb = patch.rgb[self.y, self.x]
        self.grey = self.rgb @ _LUMA
        self.depth = (t - upper) / np.maximum(lower - upper, 1e-6)


def _opening(patch: _Patch, frame: _EyeFrame, maps: tuple[np.ndarray, ...]) -> _Opening | None:
    """The opening's pixels, or None when it holds too few to measure (a closed eye)."""
    s, t, upper, lower = maps
    # The landmarks lie on the lid margins, whose pixels hold lashes and lid: half a pixel in.
    margin = np.minimum(0.5, 0.15 * (lower - upper))
    inside = np.flatnonzero((s > 0) & (s < frame.width) & (t > upper + margin) & (t < lower - margin))
    return _Opening(patch, frame, maps, inside) if len(inside) >= 6 else None


# --------------------------------------------------------------------------------------
# The iris
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _bilinear(plane, x, y):  # pragma: no cover - compiled
    """Bilinear interpolation of a 2D array at (x, y), clamped at its border."""
    height, width = plane.shape
    x = min(max(x, 0.0), width - 1.0)
    y = min(max(y, 0.0), height - 1.0)
    x0 = min(int(x), max(width - 2, 0))
    y0 = min(int(y), max(height - 2, 0))
    x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
    fx, fy = x - x0, y - y0
    top = plane[y0, x0] + fx * (plane[y0, x1] - plane[y0, x0])
    bottom = plane[y1, x0] + fx * (plane[y1, x1] - plane[y1, x0])
    return top + fy * (bottom - top)


@numba.njit(cache=True, nogil=True)
def _lower_quartile(values, count):  # pragma: no cover - compiled
    """The lower quartile of ``values[:count]``, which it sorts in place (an insertion sort: there
    are a few dozen at most)."""
    for i in range(1, count):
        value, j = values[i], i - 1
        while j >= 0 and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = value
    return values[count // 4]


@numba.njit(cache=True, nogil=True)
def _iris_evidence(
    grey, shown, xs, ys, radii, cosines, sines, pupil_weight, min_limbus, scores, contrasts
):  # pragma: no cover - compiled
    """Evidence for candidate iris circles (xs, ys, radii; patch pixels) into ``scores``, and the
    limbus' mean contrast (grey levels) into ``contrasts``; :func:`_iris_disc` says how."""
    n = len(cosines)
    ring = np.empty(n)
    for c in range(len(xs)):
        x, y, r = xs[c], ys[c], radii[c]
        delta = max(0.75, 0.15 * r)
        left, right, n_left, n_right, ring_count = 0.0, 0.0, 0, 0, 0
        for a in range(n):
            cos, sin = cosines[a], sines[a]
            px, py = x + r * cos, y + r * sin
            ox, oy = px + delta * cos, py + delta * sin
            # Where the point just outside lies on a lid the limbus is hidden there.
            if _bilinear(shown, px, py) > 0.5 and _bilinear(shown, ox, oy) > 0.5:
                step = _bilinear(grey, ox, oy) - _bilinear(grey, px - delta * cos, py - delta * sin)
                if cos < 0.0:
                    left += step
                    n_left += 1
                else:
                    right += step
                    n_right += 1
            qx, qy = x + 0.65 * r * cos, y + 0.65 * r * sin
            if _bilinear(shown, qx, qy) > 0.5:
                ring[ring_count] = _bilinear(grey, qx, qy)
                ring_count += 1
        total = n_left + n_right
        contrasts[c] = (left + right) / max(total, 1)
        if n_left >= 2 and n_right >= 2:
            weaker = min(left / n_left, right / n_right)
        elif n_left >= 2:
            weaker = 0.5 * left / n_left
        elif n_right >= 2:
            weaker = 0.5 * right / n_right
        else:
            weaker = 0.0
        # A few visible points prove little: the limbus counts fully from a quarter circle seen.
        score = weaker * min(1.0, total / (0.25 * n))
        if ring_count >= 3 and _bilinear(shown, x, y) > 0.5:
            near = 0.2 * r
            darkest = min(
                _bilinear(grey, x, y),
                _bilinear(grey, x + near, y),
                _bilinear(grey, x - near, y),
                _bilinear(grey, x, y + near),
                _bilinear(grey, x, y - near),
            )
            # The pupil sharpens a limbus that is there; alone (a circle half on the iris, its
            # centre on the iris and its ring on the sclera) it proves nothing.
            pupil = max(_lower_quartile(ring, ring_count) - darkest, 0.0)
            score += pupil_weight * pupil * min(max(score / min_limbus, 0.0), 1.0)
        scores[c] = score


def _limbus_mask(patch: _Patch, frame: _EyeFrame, maps: tuple[np.ndarray, ...]) -> np.ndarray:
    """Where in the patch the limbus may show (1.0, else 0.0): inside the opening, a pixel below
    the upper lid's landmarks (the lashes) and half a pixel above the lower lid's, away from the
    canthi."""
    s, t, upper, lower = maps
    inside = (s > 0.05 * frame.width) & (s < 0.95 * frame.width) & (t > upper + 1.0) & (t < lower - 0.5)
    return inside.reshape(patch.grey.shape).astype(np.float64)


def _expected_centre(frame: _EyeFrame, s, radius):
    """Where the lids usually leave the iris' centre across the eye (t, pixels): the upper lid
    rests 1 to 2 mm below the iris' upper edge and the lower lid at its lower edge [3]_, so the
    centre lies 0.74 of a radius (1.5 mm of a 5.85 mm radius less) below the first and a radius
    above the second; the mean of the two, a little above the opening's middle."""
    return 0.5 * (frame.upper_lid(s) + 0.74 * radius + frame.lower_lid(s) - radius)


def _best(grey: np.ndarray, shown: np.ndarray, frame: _EyeFrame, s, t, radius) -> tuple[float, float, float, float]:
    """The best of candidate discs given in the eye's frame: (s, t, radius, limbus contrast)."""
    s, t, radius = (np.ascontiguousarray(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(s, t, radius))
    centre = frame.to_image(s[:, None], t[:, None])
    scores, contrasts = np.empty(len(s)), np.empty(len(s))
    _iris_evidence(
        grey,
        shown,
        np.ascontiguousarray(centre[:, 0]),
        np.ascontiguousarray(centre[:, 1]),
        radius,
        _COS,
        _SIN,
        PUPIL_WEIGHT,
        MIN_LIMBUS_CONTRAST,
        scores,
        contrasts,
    )
    # Across the eye the limbus' lateral arcs say little: the centre is drawn towards where the
    # lids usually leave it.
    offset = (t - _expected_centre(frame, s, radius)) / (CENTRE_SPREAD * radius)
    scores = np.where(scores > 0, scores * np.exp(-0.5 * offset * offset), scores)
    k = int(np.argmax(scores))
    return float(s[k]), float(t[k]), float(radius[k]), float(contrasts[k])


def _iris_disc(patch: _Patch, frame: _EyeFrame, maps: tuple[np.ndarray, ...]) -> tuple[float, float, float, bool]:
    """The iris disc in the eye's frame: centre (s, t) and radius, patch pixels, and whether the
    photo showed it (False: a disc of :data:`IRIS_TO_WIDTH` where the lids usually leave it).

    Each candidate circle is scored by the limbus' contrast plus the pupil's. The limbus term is
    Daugman's integro-differential operator [5]_ (Eq. 1) with the contour integral restricted to
    the arcs that the lids leave visible: how much brighter the photo is just outside the circle
    than just inside it (where the point just outside lies on a lid, the limbus is hidden and the
    point left out). The circle's two halves, towards either corner, are averaged apart and
    the weaker counts: a single strong edge is a canthus' shadow or a lid's crease, an iris
    shows its limbus on both sides (or, next to a corner, on one, which then counts half). A
    light iris has a weak limbus but a dark pupil: the pupil term (weight :data:`PUPIL_WEIGHT`)
    is how much darker the darkest of five points within 0.2 radius of the centre is (a
    reflection often lies on the pupil) than the lower quartile of the visible points of the
    circle at 0.65 radius (the iris, unless most of that circle lies on the sclera). It counts
    in full where the limbus term reaches :data:`MIN_LIMBUS_CONTRAST` and in part below: a dark
    centre in a bright ring is also a circle straddling the iris' edge, which has no limbus.
    Across the eye the score is weighted by a Gaussian of :data:`CENTRE_SPREAD` radii about
    :func:`_expected_centre`.

    The search: centres a pixel apart along the eye and an eighth of a radius apart across it,
    with radii of 0.17, 0.2 and 0.23 of the width; then the best refined to a quarter of a pixel
    and 0.01 of the width.
    """
    width = frame.width
    default = IRIS_TO_WIDTH * width
    grey, shown = patch.grey, _limbus_mask(patch, frame, maps)
    # An iris whose centre lies nearer a corner than a fifth of the width looks further aside
    # than photos show.
    along = np.arange(0.2 * width, 0.8 * width + 1e-9, 1.0)
    s, offset, r = np.meshgrid(along, np.linspace(-0.5, 0.5, 9), [0.85, 1.0, 1.15], indexing="ij")
    r = r * default
    s_best, t_best, r_best, _ = _best(grey, shown, frame, s, _expected_centre(frame, s, r) + offset * r, r)
    steps = np.arange(-3, 4) * 0.25
    r = np.clip(r_best + np.arange(-2, 3) * 0.01 * width, *(np.array(IRIS_TO_WIDTH_RANGE) * width))
    s_best, t_best, r_best, contrast = _best(grey, shown, frame, *np.meshgrid(s_best + steps, t_best + steps, r))
    if contrast < MIN_LIMBUS_CONTRAST:
        middle = 0.5 * width
        return middle, float(_expected_centre(frame, middle, default)), default, False
    return s_best, t_best, r_best, True


# --------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------


def _luma(colour: np.ndarray) -> float:
    return float(colour @ _LUMA)


def _quantiles(values: np.ndarray, *fractions: float) -> np.ndarray:
    """The values at the given fractions of their sorted order (the lower of the two nearest)."""
    ranks = [int(fraction * (len(values) - 1)) for fraction in fractions]
    return np.partition(values, ranks)[ranks]


def _measured_colours(
    image: np.ndarray, patch: _Patch, opening: _Opening, centre: tuple[float, float], radius: float
) -> dict:
    """Iris, limbus, sclera and shadow colours and the grain, from the opening's pixels; the iris
    disc is given in the eye's frame, patch pixels."""
    distance = np.hypot(opening.s - centre[0], opening.t - centre[1])
    grey = opening.grey
    # The iris between the pupil and the limbus; the brightest of those pixels are reflections
    # (or sclera where the disc is a little off), the darkest the pupil and lashes.
    ring = (distance > 0.4 * radius) & (distance < 0.9 * radius)
    if np.count_nonzero(ring) >= 3:
        low, high = _quantiles(grey[ring], 0.15, 0.75)
        iris = np.median(opening.rgb[ring & (grey >= low) & (grey <= high)], axis=0)
    else:  # a sliver of an eye: its darker pixels
        iris = np.median(opening.rgb[grey <= _quantiles(grey, 0.3)[0]], axis=0)
    outside = distance > 1.1 * radius
    if np.count_nonzero(outside) >= 3:
        lit = outside & (grey >= _quantiles(grey[outside], 2 / 3)[0])
    else:  # the iris fills the opening: its brightest tenth is the best guess
        lit = grey >= _quantiles(grey, 0.9)[0]
    sclera = _brighter_than(np.median(opening.rgb[lit], axis=0), iris)
    where = np.rint(patch.to_image(np.stack([opening.x[lit], opening.y[lit]], axis=1))).astype(np.intp)
    return {
        "iris_colour": iris,
        "limbus_colour": LIMBUS_RATIO * iris,
        "sclera_colour": sclera,
        "sclera_shadow": _shadow_colour(opening, outside, sclera),
        "grain": _grain(image, where),
    }


def _brighter_than(sclera: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """The sclera, brightened where needed to lie at least 20 grey levels above the iris: a
    darker "sclera" is lid, lashes or a dark lens read through a nearly closed opening."""
    floor = min(_luma(iris) + 20.0, 250.0)
    luma = _luma(sclera)
    if luma >= floor:
        return sclera
    return np.clip(sclera * floor / luma, 0.0, 255.0) if luma > 1.0 else np.full(3, floor)


def _shadow_colour(opening: _Opening, outside: np.ndarray, sclera: np.ndarray) -> np.ndarray:
    """The sclera just under the upper lid: the median colour of the top quarter of the opening
    outside the iris (lashes included, and the light that the lid's skin bounces there), scaled
    to a brightness within :data:`SHADOW_RANGE` of the lit sclera's."""
    under_lid = outside & (opening.depth < 0.25)
    if np.count_nonzero(under_lid) < 4:
        return SHADOW_RATIO * sclera
    colour = np.median(opening.rgb[under_lid], axis=0)
    target = np.clip(_luma(colour) / max(_luma(sclera), 1.0), *SHADOW_RANGE) * _luma(sclera)
    return np.clip(colour * target / max(_luma(colour), 1.0), 0.0, 255.0)


def _grain(image: np.ndarray, where: np.ndarray) -> float:
    """The photo's noise (grey levels, a standard deviation) at pixels ``where`` (K, 2), x and y.

    Immerkaer's estimator (Fast noise variance estimation, Comput. Vis. Image Underst.
    64(2):300-302, 1996): the difference of two Laplacians cancels smooth shading and leaves the
    noise, times 6; the median of its magnitude (times 1.4826) stands in for the mean so that
    the pixels next to an edge (the iris, the lids) do not count.
    """
    if len(where) < 3:
        return 1.0
    rows = np.clip(where[:, 1, None] + [-1, 0, 1], 0, image.shape[0] - 1)
    cols = np.clip(where[:, 0, None] + [-1, 0, 1], 0, image.shape[1] - 1)
    neighbourhoods = image[rows[:, :, None], cols[:, None, :]].astype(np.float64) @ _LUMA  # (K, 3, 3)
    response = np.einsum("kij,ij->k", neighbourhoods, _IMMERKAER)
    return float(np.clip(1.4826 * np.median(np.abs(response)) / 6.0, 0.5, 4.0))


def _defaults(image: np.ndarray, points: np.ndarray) -> EyeAppearance:
    """An appearance for an eye that shows no eyeball: the iris at the landmarks' centre, a brown
    iris and a sclera a little brighter than the skin round the eye, in the photo's light."""
    width = float(np.hypot(*(points[3] - points[0])))
    centre = points.mean(axis=0)
    half = np.maximum([0.6 * width, 0.4 * width], 2.0)
    low = np.maximum(np.floor(centre - half).astype(int), 0)
    high = np.minimum(np.ceil(centre + half).astype(int) + 1, image.shape[1::-1])
    skin = image[low[1] : high[1], low[0] : high[0]].reshape(-1, 3).astype(np.float64)
    if len(skin) == 0:
        light, cast, grey_photo = 170.0, np.ones(3), False
    else:
        grey = skin @ _LUMA
        # The sclera is at least as bright as the lit skin round the eye, well above its median.
        light = float(np.clip(max(np.percentile(grey, 90), 1.3 * np.median(grey)), 60.0, 235.0))
        median = np.median(skin, axis=0)
        cast = np.clip(median / max(_luma(median), 1.0), 0.8, 1.25)  # the light's colour, tempered
        grey_photo = bool(np.ptp(skin, axis=1).max() <= 2.0)
    tint = 0.75 + 0.25 * cast
    sclera = np.clip(light * tint, 0.0, 255.0)
    iris = np.clip(0.35 * light * (_BROWN / _luma(_BROWN)) * tint, 0.0, 255.0)
    if grey_photo:
        sclera, iris = np.full(3, _luma(sclera)), np.full(3, _luma(iris))
    return EyeAppearance(
        iris_centre=centre,
        iris_radius=max(IRIS_TO_WIDTH * width, 0.5),
        iris_colour=iris,
        sclera_colour=sclera,
        sclera_shadow=SHADOW_RATIO * sclera,
        limbus_colour=LIMBUS_RATIO * iris,
        grain=1.0,
        measured=False,
    )


# --------------------------------------------------------------------------------------
# Reading an eye
# --------------------------------------------------------------------------------------


def _validated(image: np.ndarray, eye_landmarks: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        described = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image: expected an (H, W, 3) uint8 RGB array, got {described}")
    if min(image.shape[:2]) == 0:
        raise ValueError(f"image is empty, shape {image.shape}")
    points = np.asarray(eye_landmarks, dtype=np.float64)
    if points.shape != (6, 2):
        raise ValueError(f"eye_landmarks: expected (6, 2) (x, y) pixels, got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("eye_landmarks contain NaN or infinite values")
    return points


def eye_appearance(image: np.ndarray, eye_landmarks: np.ndarray) -> EyeAppearance:
    """Locate one eye's iris and read its colours from a photo; done once per photo and eye.

    The iris disc is the circle, of 0.16 to 0.24 of the opening's width in radius [1]_ [2]_,
    that best explains the limbus and the pupil seen between the lids (:func:`_iris_disc`). The
    iris colour is the median of the ring between its pupil and its rim, leaving out the ring's
    brightest quarter (reflections) and darkest sixth (pupil, lashes); the sclera's is that of
    the brightest third of the opening outside the disc, brightened where needed to lie 20 grey
    levels above the iris; the shaded sclera's that of the opening's top quarter outside the
    disc, within :data:`SHADOW_RANGE` of the sclera's brightness; the limbus' is
    :data:`LIMBUS_RATIO` times the iris'. Eyes over 72 pixels wide are read in blocks of
    pixels, 32 to 72 across. On a grey photo all colours are grey.

    Parameters
    ----------
    image : (H, W, 3) uint8
        The photo, RGB.
    eye_landmarks : (6, 2) float
        The eye's iBUG 68 landmarks in their order, (x, y) pixels: a corner, the two upper-lid
        points, the other corner, the two lower-lid points (points 36 to 41 for the subject's
        right eye, 42 to 47 for the left, 0-based).

    Returns
    -------
    EyeAppearance
        ``measured`` is False where the iris could not be located: an opening under
        :data:`MIN_OPENING_PX` high or outside the image (then the colours too are defaults,
        scaled to the skin round the eye), or one that shows no limbus of
        :data:`MIN_LIMBUS_CONTRAST` (sunglasses, blur). The disc then has a radius of
        :data:`IRIS_TO_WIDTH` of the width and sits where the lids usually leave it. A valid
        image and landmarks never raise.

    Raises
    ------
    ValueError
        ``image`` is not an (H, W, 3) uint8 array, or ``eye_landmarks`` not six finite points.
    """
    points = _validated(image, eye_landmarks)
    width = float(np.hypot(*(points[3] - points[0])))
    patch = _Patch(image, points, width)
    frame = _EyeFrame(patch.to_patch(points))
    if width < 3.0 or frame.height() < MIN_OPENING_PX / patch.step or patch.grey.size == 0:
        return _defaults(image, points)
    maps = patch.lid_maps(frame)
    opening = _opening(patch, frame, maps)
    if opening is None:
        return _defaults(image, points)
    centre_s, centre_t, radius, located = _iris_disc(patch, frame, maps)
    colours = _measured_colours(image, patch, opening, (centre_s, centre_t), radius)
    return EyeAppearance(
        iris_centre=patch.to_image(frame.to_image(centre_s, centre_t)),
        iris_radius=radius * patch.step,
        measured=located,
        **colours,
    )


# --------------------------------------------------------------------------------------
# Painting
# --------------------------------------------------------------------------------------


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _position_noise(xy: np.ndarray) -> np.ndarray:
    """Noise of each pixel, uniform in [-0.5, 0.5) and fixed by its position: a spatial hash of
    the pixel's integer position (the primes of Teschner et al., Optimized spatial hashing for
    collision detection of deformable objects, VMV 2003) mixed by Knuth's multiplicative hash."""
    ij = np.rint(xy).astype(np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = (ij[:, 0] * np.uint64(73856093)) ^ (ij[:, 1] * np.uint64(19349663))
        hashed = ((hashed & np.uint64(0xFFFFFFFF)) * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    return (hashed >> np.uint64(8)).astype(np.float64) / float(1 << 24) - 0.5  # the hash's upper 24 bits


def _striations(angle: np.ndarray) -> np.ndarray:
    """The iris' radial texture: a fixed sum of waves round the disc, within [-1, 1]."""
    turns, weight, phase = _STRIATION_WAVES.T
    return np.cos(angle[:, None] * turns + phase) @ weight


def _eyeball_shading(distance: np.ndarray) -> np.ndarray:
    """The sclera's brightness on a globe (:data:`EYEBALL_TO_IRIS`) lit from the front, at
    ``distance`` iris radii from the iris' centre, relative to where the lit sclera is read (just
    outside the iris) and at most 1: its slope darkens it towards the corners and the lids."""

    def lit(d):
        facing = np.sqrt(np.clip(1.0 - (d / EYEBALL_TO_IRIS) ** 2, 0.0, 1.0))
        return SCLERA_AMBIENT + (1.0 - SCLERA_AMBIENT) * facing

    return np.minimum(lit(distance) / lit(1.3), 1.0)


def _validated_pixels(xy: np.ndarray, upper_lid_distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(xy, dtype=np.float64)
    depth = np.asarray(upper_lid_distance, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy: expected (M, 2) pixel centres, got shape {xy.shape}")
    if depth.shape != (len(xy),):
        raise ValueError(f"upper_lid_distance: expected shape ({len(xy)},), one per pixel, got {depth.shape}")
    if not (np.all(np.isfinite(xy)) and np.all(np.isfinite(depth))):
        raise ValueError("xy, upper_lid_distance: expected finite values")
    return xy, depth


def paint_revealed_eye(appearance: EyeAppearance, xy: np.ndarray, upper_lid_distance: np.ndarray) -> np.ndarray:
    """Colours of the eyeball's pixels that a raised upper lid uncovers.

    Inside the iris disc: the iris colour, darkening to the limbal ring's [4]_ over the disc's
    outer :data:`LIMBAL_RING` of the radius, with faint radial striations
    (:data:`IRIS_STRIATION`); the disc's edge is anti-aliased over ``max(1, 0.06 radius)``
    pixels. Elsewhere the sclera, shaded as a globe (:func:`_eyeball_shading`). Within
    :data:`LID_SHADOW` iris radii of the lid margin (at least a pixel) both darken smoothly: the
    sclera to ``sclera_shadow``, the iris by as much (the lid's and the lashes' cast shadow). A
    faint noise of the photo's grain (``appearance.grain``), a hash of each pixel's position,
    keeps the strip from looking flat: the same pixel always gets the same colour.

    Parameters
    ----------
    appearance : EyeAppearance
        The eye, from :func:`eye_appearance`.
    xy : (M, 2) float
        Pixel centres (x, y) inside the new opening and outside the photo's.
    upper_lid_distance : (M,) float
        Each pixel's distance below the new upper lid margin, pixels (0 at the margin; negative
        values count as 0).

    Returns
    -------
    (M, 3) uint8
        RGB colours.

    Raises
    ------
    ValueError
        ``xy`` is not (M, 2), ``upper_lid_distance`` not (M,), or either is not finite.
    """
    xy, depth = _validated_pixels(xy, upper_lid_distance)
    radius = max(appearance.iris_radius, 0.5)
    offset = xy - appearance.iris_centre
    distance = np.hypot(offset[:, 0], offset[:, 1])
    in_iris = _smoothstep((radius - distance) / max(1.0, 0.06 * radius) + 0.5)
    limbus = _smoothstep((distance - (1.0 - LIMBAL_RING) * radius) / (LIMBAL_RING * radius))
    iris = appearance.iris_colour + limbus[:, None] * (appearance.limbus_colour - appearance.iris_colour)
    iris = iris * (1.0 + IRIS_STRIATION * _striations(np.arctan2(offset[:, 1], offset[:, 0])))[:, None]
    globe = _eyeball_shading(distance / radius)[:, None]
    # The lid's shadow: the sclera takes the colour read under the photo's lid, the iris darkens
    # by as much.
    shade = 1.0 - _smoothstep(np.maximum(depth, 0.0) / max(LID_SHADOW * radius, 1.0))
    sclera = globe * (appearance.sclera_colour + shade[:, None] * (appearance.sclera_shadow - appearance.sclera_colour))
    ratio = _luma(appearance.sclera_shadow) / max(_luma(appearance.sclera_colour), 1.0)
    iris = iris * (1.0 - shade * (1.0 - min(ratio, 1.0)))[:, None]
    colour = sclera + in_iris[:, None] * (iris - sclera)
    # Uniform noise of standard deviation `grain` (a uniform's is 1 / sqrt(12) of its width).
    colour = colour + (np.sqrt(12.0) * appearance.grain * _position_noise(xy))[:, None]
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8)
