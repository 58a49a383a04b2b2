"""The eyeball that a raised upper lid uncovers: sclera, the iris' continuation, the lid's shadow.

When an expression raises the upper lid (FACS AU5: surprise, fear), the synthesized eye opening
grows past the photo's. The eyeball does not move with the lids, so inside the photo's opening
the renderer keeps the photo's pixels; the strip that the lid uncovered shows lid skin and
lashes in the photo and is painted here as the eye that the lid hid:

* :func:`eye_appearance` reads, once per photo and eye, what the photo shows of the eye: the
  iris disc (centre and radius, most of it hidden by the lids) and the colours of the iris, its
  limbal ring, the sclera and the sclera's shadow under the upper lid;
* :func:`paint_revealed_eye` colours the uncovered pixels: the iris where its disc reaches
  under the old lid (so it continues as a circle), with the dark limbal ring at its edge, and
  sclera elsewhere, both darkened just under the new lid margin by the shadow that the lid and
  its lashes cast on the eyeball.

The iris is found from the eye's six iBUG 68 landmarks (:mod:`affect.face.landmarks`) and the
photo's darkness inside the opening they outline. Its radius is tied to the opening's width:
the visible iris (white-to-white) is 11.7 +/- 0.4 mm across [1]_ and the palpebral fissure,
corner to corner, 28 to 31 mm long in adults [2]_, so the radius is about 0.2 of the width;
the photo's dark band may move it between 0.16 and 0.24. The upper lid normally rests 1 to
2 mm below the iris' upper edge and the lower lid near its lower edge [3]_, which is why the
disc's top is rarely seen and its centre lies at or above the opening's middle.

The painted colours are flat apart from a faint grain of the photo's own amplitude (a hash of
the pixel position, so the same pixel gets the same colour on every call) and the iris'
radial striations. Copying the photo's visible sclera into the strip was the other choice; it
was left out because the visible sclera near the old lid carries that lid's shadow and lashes,
which a copy would draw a second time a few pixels higher.

References
----------
.. [1] Rüfer F, Schröder A, Erb C. White-to-white corneal diameter: normal values in healthy
   humans obtained with the Orbscan II topography system. Cornea 24(3):259-261, 2005.
.. [2] Farkas LG. Anthropometry of the Head and Face, 2nd ed. Raven Press, 1994 (orbits:
   en-ex, the eye fissure length).
.. [3] Snell RS, Lemp MA. Clinical Anatomy of the Eye, 2nd ed. Blackwell, 1998 (the eyelids).
.. [4] Peshek D, Semmaknejad N, Hoffman D, Foley P. Preliminary evidence that the limbal ring
   influences facial attractiveness. Evolutionary Psychology 9(2):137-146, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EyeAppearance", "eye_appearance", "paint_revealed_eye", "IRIS_TO_WIDTH", "IRIS_TO_WIDTH_RANGE"]

#: Iris radius as a fraction of the opening's width, corner to corner: an 11.7 mm iris [1]_ in
#: a 28 to 31 mm fissure [2]_.
IRIS_TO_WIDTH = 0.2
#: The range the photo's dark band may move that fraction within (irises of 10.7 to 12.7 mm,
#: two standard deviations either side [1]_, in fissures of 26 to 33 mm).
IRIS_TO_WIDTH_RANGE = (0.16, 0.24)
#: Width of the limbal ring, the darker rim of the iris [4]_, as a fraction of the iris radius.
LIMBAL_RING = 0.18
#: The limbal ring's colour and the sclera's shadow under the lid, relative to the iris and the
#: sclera, when the photo shows no better estimate.
LIMBUS_RATIO, SHADOW_RATIO = 0.6, 0.6
#: Depth of the lid's cast shadow below the margin, as a fraction of the iris radius (about
#: 1.5 mm: the lid margin's thickness and its lashes).
LID_SHADOW = 0.25
#: Openings lower than this (pixels) count as closed: the photo shows no eyeball to measure.
MIN_OPENING_PX = 2.0

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as the kit's grey conversions
_UPPER, _LOWER = [0, 1, 2, 3], [0, 5, 4, 3]  # the six eye landmarks: corner, upper lid, corner, lower lid
_MAX_COLUMNS = 48  # the opening is read on a grid at most this many samples wide (keeps it under 1 ms)
_BROWN = np.array([1.3, 0.93, 0.68])  # a mid-brown iris' chromaticity, luma 1: the default iris
_IMMERKAER = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


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
        The iris away from the pupil, and its dark limbal ring at the disc's edge [4]_.
    sclera_colour, sclera_shadow : (3,) float in [0, 255]
        The lit sclera, and the sclera just under the upper lid, in the lid's shadow.
    grain : float
        Standard deviation (grey levels) of the faint noise painted over the colours: that of the
        photo's own sclera, so that the painted strip is as grainy as the photo round it.
    measured : bool
        The iris and the colours were read from the photo; False when the eye is (nearly) closed
        or outside the image, and they are defaults scaled to the photo's light.

    There is no pupil: an uncovered strip lies between the lid's old and new margins, well above
    the pupil (about 0.3 of the iris radius, so at least half a radius from the disc's top).
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


# --------------------------------------------------------------------------------------
# The eye's frame and the pixels of its opening
# --------------------------------------------------------------------------------------


class _EyeFrame:
    """Coordinates along the eye (s, from the first corner towards the second) and across it
    (t, towards the lower lid), in pixels, and the lids as functions of s."""

    def __init__(self, points: np.ndarray):
        self.origin = points[0]
        axis = points[3] - points[0]
        self.width = float(np.hypot(*axis))
        self.axis = axis / self.width if self.width > 1e-6 else np.array([1.0, 0.0])
        self.normal = np.array([-self.axis[1], self.axis[0]])  # image y grows down: this points down
        s, t = self.to_frame(points)
        if t[[1, 2]].mean() > t[[4, 5]].mean():  # an upside-down face: keep t growing towards the lower lid
            self.normal, t = -self.normal, -t
        self._upper = _sorted_polyline(s[_UPPER], t[_UPPER])
        self._lower = _sorted_polyline(s[_LOWER], t[_LOWER])

    def to_frame(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        relative = xy - self.origin
        return relative @ self.axis, relative @ self.normal

    def to_image(self, s: float, t: float) -> np.ndarray:
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
    """The photo round one eye as float RGB and grey, in blocks of ``step`` x ``step`` pixels (the
    block means) so that the eye spans at most :data:`_MAX_COLUMNS` of them."""

    def __init__(self, image: np.ndarray, points: np.ndarray, width: float):
        self.step = step = max(1, int(np.ceil(width / _MAX_COLUMNS)))
        reach = 0.35 * width + 2.0 * step  # the iris disc and the band round it that the fit reads
        low = np.maximum(np.floor(points.min(axis=0) - reach).astype(int), 0)
        size = (np.minimum(np.ceil(points.max(axis=0) + reach).astype(int) + 1, image.shape[1::-1]) - low) // step
        self.origin = low
        size = np.maximum(size, 0)
        crop = image[low[1]:low[1] + size[1] * step, low[0]:low[0] + size[0] * step].astype(np.float64)
        if step > 1:
            crop = crop.reshape(size[1], step, size[0], step, 3).mean(axis=(1, 3))
        self.rgb = crop
        self.grey = crop @ _LUMA

    def to_patch(self, xy: np.ndarray) -> np.ndarray:
        return (xy - self.origin - 0.5 * (self.step - 1)) / self.step

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        return xy * self.step + self.origin + 0.5 * (self.step - 1)

    def grey_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of the grey at (x, y), patch pixels, clamped at the border."""
        height, width = self.grey.shape
        x = np.clip(x, 0.0, width - 1.0)
        y = np.clip(y, 0.0, height - 1.0)
        x0 = np.minimum(x.astype(np.intp), width - 2) if width > 1 else np.zeros(x.shape, np.intp)
        y0 = np.minimum(y.astype(np.intp), height - 2) if height > 1 else np.zeros(y.shape, np.intp)
        fx, fy = x - x0, y - y0
        x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
        g = self.grey
        top = g[y0, x0] + fx * (g[y0, x1] - g[y0, x0])
        bottom = g[y1, x0] + fx * (g[y1, x1] - g[y1, x0])
        return top + fy * (bottom - top)


class _Opening:
    """The patch's pixels inside the eye opening: position in the eye's frame (s, t) and in the
    patch (x, y), colour, grey and depth (0 at the upper lid, 1 at the lower)."""

    def __init__(self, frame: _EyeFrame, s, t, x, y, rgb):
        self.s, self.t, self.x, self.y, self.rgb = s, t, x, y, rgb
        self.grey = rgb @ _LUMA
        upper = frame.upper_lid(s)
        self.depth = (t - upper) / np.maximum(frame.lower_lid(s) - upper, 1e-6)


def _opening(patch: _Patch, frame: _EyeFrame) -> _Opening | None:
    """The opening's pixels, or None when it holds too few to measure (a closed eye)."""
    if frame.height() < MIN_OPENING_PX / patch.step or patch.grey.size == 0:
        return None
    ys, xs = np.indices(patch.grey.shape)
    s, t = frame.to_frame(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64))
    upper, lower = frame.upper_lid(s), frame.lower_lid(s)
    # The landmarks lie on the lid margins, whose pixels hold lashes and lid: half a pixel in.
    margin = np.minimum(0.5, 0.15 * (lower - upper))
    inside = (s > 0) & (s < frame.width) & (t > upper + margin) & (t < lower - margin)
    if np.count_nonzero(inside) < 6:
        return None
    x, y = xs.ravel()[inside], ys.ravel()[inside]
    return _Opening(frame, s[inside], t[inside], x, y, patch.rgb[y, x])


# --------------------------------------------------------------------------------------
# The iris
# --------------------------------------------------------------------------------------

#: The limbus must be this much darker inside than outside (grey levels, on average over its
#: visible arcs) for the iris to count as located; below it (sunglasses, a blurred or
#: overexposed eye) the iris is put at the opening's centre.
MIN_LIMBUS_CONTRAST = 10.0
_ARC = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)  # the limbus' sample angles
_COS, _SIN = np.cos(_ARC), np.sin(_ARC)


def _limbus_contrast(patch: _Patch, frame: _EyeFrame, x: np.ndarray, y: np.ndarray,
                     radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daugman's integro-differential operator on the visible arcs of candidate circles.

    How much brighter the photo is just outside each circle than just inside it, averaged over
    the circle's points that lie in the opening (J. Daugman, How iris recognition works, IEEE
    Trans. Circuits Syst. Video Technol. 14(1):21-30, 2004, Eq. 1, with the contour integral
    restricted to the arcs that the lids leave visible). The two halves of the circle, towards
    either corner, are averaged apart and the weaker one counts: a single strong edge is a
    canthus' shadow or a lid's crease, an iris shows its limbus on both sides (or, by a corner,
    on one, which then counts half). Returns the score and the mean contrast (grey levels), (C,)
    each for (C,) candidates (x, y, radius in patch pixels).
    """
    px = x[:, None] + radius[:, None] * _COS
    py = y[:, None] + radius[:, None] * _SIN
    s, t = frame.to_frame(np.stack([px, py], axis=-1))
    upper, lower = frame.upper_lid(s), frame.lower_lid(s)
    # One pixel below the upper lid's landmarks for the lashes; the canthi hold no limbus.
    visible = (s > 0.05 * frame.width) & (s < 0.95 * frame.width) & (t > upper + 1.0) & (t < lower - 0.5)
    delta = np.maximum(0.75, 0.15 * radius)[:, None]
    contrast = np.where(visible, patch.grey_at(px + delta * _COS, py + delta * _SIN)
                        - patch.grey_at(px - delta * _COS, py - delta * _SIN), 0.0)
    sides = []
    for half in (_COS < 0, _COS >= 0):
        seen = np.count_nonzero(visible[:, half], axis=1)
        sides.append((contrast[:, half].sum(axis=1) / np.maximum(seen, 1), seen))
    (left, seen_left), (right, seen_right) = sides
    both = (seen_left >= 2) & (seen_right >= 2)
    weaker = np.where(both, np.minimum(left, right), 0.5 * np.where(seen_left >= 2, left, right))
    mean = (contrast.sum(axis=1)) / np.maximum(seen_left + seen_right, 1)
    # A few visible points prove little: the score grows with the seen part up to a quarter circle.
    return weaker * np.minimum(1.0, (seen_left + seen_right) / (0.25 * len(_ARC))), mean


def _best(patch, frame, s, t, radius, prior=None) -> tuple[float, float, float, float]:
    """The best of candidate discs given in the eye's frame: (s, t, radius, contrast)."""
    s, t, radius = (np.asarray(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(s, t, radius))
    centre = frame.to_image(s[:, None], t[:, None])
    score, contrast = _limbus_contrast(patch, frame, centre[:, 0], centre[:, 1], radius)
    if prior is not None:
        score = score * np.ravel(prior)
    k = int(np.argmax(score))
    return float(s[k]), float(t[k]), float(radius[k]), float(contrast[k])


def _iris_disc(patch: _Patch, frame: _EyeFrame) -> tuple[float, float, float, bool]:
    """The iris disc in the eye's frame: centre (s, t) and radius, patch pixels, and whether the
    photo showed it (False: a default disc at the opening's centre).

    A coarse-to-fine search of :func:`_limbus_contrast`: the position along the eye with the disc
    centred between the lids, then the position across it with the radius, then both refined.
    """
    width = frame.width
    default = IRIS_TO_WIDTH * width

    def middle(s):
        return 0.5 * (frame.upper_lid(s) + frame.lower_lid(s))

    # Along: a disc centred between the lids, three sizes, anywhere in the middle 60% of the eye
    # (an iris whose centre lies nearer a corner is looking further aside than photos show).
    along = np.arange(0.2 * width, 0.8 * width + 1e-9, 1.0)
    s, r = np.meshgrid(along, [0.85 * default, default, 1.15 * default])
    s_best, _, _, _ = _best(patch, frame, s, middle(s), r)
    # Across, with the radius: the disc may sit up to 0.6 of a radius off the middle. Between two
    # positions that fit equally well (an iris hidden by both lids) the one nearer the middle wins.
    mid = float(middle(s_best))
    t, r = np.meshgrid(mid + np.linspace(-0.6, 0.6, 13) * default,
                       np.linspace(*IRIS_TO_WIDTH_RANGE, 9) * width)
    prior = 1.0 - 0.1 * ((t - mid) / default) ** 2
    _, t_best, r_best, _ = _best(patch, frame, s_best, t, r, prior)
    # Refine along and across, by a quarter of a pixel.
    s, t = np.meshgrid(s_best + np.arange(-4, 5) * 0.25, t_best + np.arange(-4, 5) * 0.25)
    s_best, t_best, _, contrast = _best(patch, frame, s, t, r_best)
    if contrast < MIN_LIMBUS_CONTRAST:
        return 0.5 * width, mid, default, False
    return s_best, t_best, r_best, True


# --------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------


def _median_colour(rgb: np.ndarray) -> np.ndarray:
    return np.median(rgb, axis=0)


def _luma(colour: np.ndarray) -> float:
    return float(colour @ _LUMA)


def _measured(image: np.ndarray, patch: _Patch, opening: _Opening, centre_st: tuple[float, float],
              radius: float) -> dict:
    """Iris, limbus, sclera and shadow colours and the grain, from the opening's pixels."""
    distance = np.hypot(opening.s - centre_st[0], opening.t - centre_st[1])
    grey = opening.grey
    # The iris between the pupil and the limbus; its brightest pixels are reflections (or sclera
    # where the disc is a little off) and its darkest the pupil and lashes.
    ring = (distance > 0.4 * radius) & (distance < 0.9 * radius)
    iris = _middle_colour(opening.rgb[ring], grey[ring], 0.15, 0.75)
    if iris is None:
        disc = (distance < radius) & (grey < np.median(grey))
        iris = _median_colour(opening.rgb[disc]) if disc.any() else None
    if iris is None:
        iris = _median_colour(opening.rgb[grey <= np.percentile(grey, 30)])
    outside = distance > 1.1 * radius
    bright = outside & (grey >= np.quantile(grey[outside], 2 / 3)) if np.count_nonzero(outside) >= 3 else None
    if bright is None:  # the iris fills the opening: its brightest tenth is the best guess
        bright = grey >= np.quantile(grey, 0.9)
    sclera = _brighter_than(_median_colour(opening.rgb[bright]), iris)
    return {"iris_colour": iris, "sclera_colour": sclera, "limbus_colour": LIMBUS_RATIO * iris,
            "sclera_shadow": _shadow_ratio(opening, outside, sclera) * sclera,
            "grain": _grain(image, *np.rint(patch.to_image(np.stack([opening.x[bright], opening.y[bright]], axis=1))
                                       ).astype(np.intp).T)}


def _middle_colour(rgb: np.ndarray, grey: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """Median colour of the pixels whose grey lies between the ``low`` and ``high`` quantiles."""
    if len(grey) < 3:
        return None
    lo, hi = np.quantile(grey, [low, high])
    keep = (grey >= lo) & (grey <= hi)
    return _median_colour(rgb[keep])


def _brighter_than(sclera: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """The sclera, brightened where needed to lie at least 20 grey levels above the iris: a
    darker "sclera" is lid, lashes or a lens read through a nearly closed opening."""
    floor = min(_luma(iris) + 20.0, 250.0)
    luma = max(_luma(sclera), 1.0)
    if luma >= floor:
        return sclera
    return np.clip(sclera * floor / luma if _luma(sclera) > 1.0 else np.full(3, floor), 0.0, 255.0)


def _shadow_ratio(opening: _Opening, outside: np.ndarray, sclera: np.ndarray) -> float:
    """Brightness of the sclera just under the upper lid relative to the lit sclera; the brighter
    quarter of those pixels is taken, the rest being lashes and the lid margin."""
    under_lid = outside & (opening.depth < 0.3)
    if np.count_nonzero(under_lid) < 4:
        return SHADOW_RATIO
    ratio = np.quantile(opening.grey[under_lid], 0.75) / max(_luma(sclera), 1.0)
    return float(np.clip(ratio, 0.45, 0.85))


def _grain(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """The photo's noise (grey levels) at the sclera's pixels (x, y).

    Immerkaer's estimator (Fast noise variance estimation, CVIU 64(2):300-302, 1996): the
    difference of two Laplacians cancels smooth shading and leaves the noise, of standard
    deviation 6 sigma; its median absolute value stands in for the mean so that the pixels
    next to an edge (the iris, the lids) do not count.
    """
    if len(x) < 3:
        return 1.0
    rows = np.clip(y[:, None] + [-1, 0, 1], 0, image.shape[0] - 1)
    cols = np.clip(x[:, None] + [-1, 0, 1], 0, image.shape[1] - 1)
    patches = image[rows[:, :, None], cols[:, None, :]].astype(np.float64) @ _LUMA  # (K, 3, 3)
    response = np.einsum("kij,ij->k", patches, _IMMERKAER)
    return float(np.clip(1.4826 * np.median(np.abs(response)) / 6.0, 0.5, 4.0))


def _defaults(image: np.ndarray, frame: _EyeFrame, points: np.ndarray) -> EyeAppearance:
    """An appearance for an eye that shows no eyeball: the iris at the opening's centre, a brown
    iris and a sclera a little brighter than the skin round the eye, in the photo's light."""
    centre = points.mean(axis=0)
    half = np.maximum([0.6 * frame.width, 0.4 * frame.width], 2.0)
    low = np.maximum(np.floor(centre - half).astype(int), 0)
    high = np.minimum(np.ceil(centre + half).astype(int) + 1, [image.shape[1], image.shape[0]])
    patch = image[low[1]:high[1], low[0]:high[0]].reshape(-1, 3).astype(np.float64)
    if len(patch) == 0:
        light, cast, grey_photo = 170.0, np.ones(3), False
    else:
        grey = patch @ _LUMA
        # The sclera is at least as bright as the lit skin round the eye, well above its median.
        light = float(np.clip(max(np.percentile(grey, 90), 1.3 * np.median(grey)), 60.0, 235.0))
        median = _median_colour(patch)
        cast = np.clip(median / max(_luma(median), 1.0), 0.8, 1.25)  # the light's colour, tempered
        grey_photo = bool(np.ptp(patch, axis=1).max() <= 2.0)
    tint = 0.75 + 0.25 * cast
    sclera = np.clip(light * tint, 0.0, 255.0)
    iris = np.clip(0.35 * light * (_BROWN / _luma(_BROWN)) * tint, 0.0, 255.0)
    if grey_photo:
        sclera, iris = np.full(3, _luma(sclera)), np.full(3, _luma(iris))
    return EyeAppearance(iris_centre=centre, iris_radius=max(IRIS_TO_WIDTH * frame.width, 0.5),
                         iris_colour=iris, sclera_colour=sclera, sclera_shadow=SHADOW_RATIO * sclera,
                         limbus_colour=LIMBUS_RATIO * iris, grain=1.0, measured=False)


def _validated(image: np.ndarray, eye_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an (H, W, 3) uint8 RGB array, got "
                         f"{getattr(image, 'shape', type(image).__name__)} {getattr(image, 'dtype', '')}".rstrip())
    if min(image.shape[:2]) == 0:
        raise ValueError(f"image is empty, shape {image.shape}")
    points = np.asarray(eye_landmarks, dtype=np.float64)
    if points.shape != (6, 2):
        raise ValueError(f"eye_landmarks must be (6, 2) (x, y) pixels, got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("eye_landmarks contain NaN or infinite values")
    return image, points


def eye_appearance(image: np.ndarray, eye_landmarks: np.ndarray) -> EyeAppearance:
    """Estimate one eye's iris disc and colours from a photo (see the module's notes).

    The iris' position along the eye is the peak of the opening's darkness (the photo's bright
    level minus its grey), averaged down each column of the opening's middle rows and filtered
    by a window one iris wide; its radius is half the width of that dark band (where the sclera
    shows on both sides), within :data:`IRIS_TO_WIDTH_RANGE` of the opening's width [1]_ [2]_.
    Its position across the eye comes from the disc's lower (or upper) edge where sclera shows
    beyond it, and is otherwise the opening's middle, which a disc hidden by both lids straddles.
    The iris colour is the median of the ring between the pupil and the limbus (reflections,
    pupil and lashes left out), the sclera's that of the brightest third of the opening outside
    the disc, and the sclera's shadow is measured just under the upper lid.

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
        ``measured`` is False when the opening is under :data:`MIN_OPENING_PX` high or outside
        the image: the iris then sits at the landmarks' centre, 0.2 of the width in radius, with
        default colours in the photo's light. The function does not fail on a valid image.

    Raises
    ------
    ValueError
        ``image`` is not an (H, W, 3) uint8 array, or ``eye_landmarks`` not six finite points.
    """
    image, points = _validated(image, eye_landmarks)
    width = float(np.hypot(*(points[3] - points[0])))
    patch = _Patch(image, points, width)
    frame = _EyeFrame(patch.to_patch(points))
    opening = _opening(patch, frame)
    if opening is None or width < 3.0:
        return _defaults(image, _EyeFrame(points), points)
    centre_s, centre_t, radius, located = _iris_disc(patch, frame)
    colours = _measured(image, patch, opening, (centre_s, centre_t), radius)
    return EyeAppearance(iris_centre=patch.to_image(frame.to_image(centre_s, centre_t)),
                         iris_radius=radius * patch.step, measured=located, **colours)


# --------------------------------------------------------------------------------------
# Painting
# --------------------------------------------------------------------------------------

#: Amplitude of the iris' radial striations, relative to its colour.
IRIS_STRIATION = 0.06
_STRIATION_WAVES = np.array([[11.0, 0.5, 0.3], [23.0, 0.3, 1.9], [37.0, 0.2, 4.1]])  # turns, weight, phase


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _position_noise(xy: np.ndarray) -> np.ndarray:
    """Deterministic noise of each pixel, uniform in [-0.5, 0.5): a spatial hash of the pixel's
    integer position (the primes of Teschner et al., VMV 2003), mixed by Knuth's multiplicative
    hash."""
    ij = np.rint(xy).astype(np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = (ij[:, 0] * np.uint64(73856093)) ^ (ij[:, 1] * np.uint64(19349663))
        hashed = ((hashed & np.uint64(0xFFFFFFFF)) * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    return (hashed >> np.uint64(8)).astype(np.float64) / float(1 << 24) - 0.5


def _striations(angle: np.ndarray) -> np.ndarray:
    """The iris' radial texture, a fixed sum of waves round the disc, in about [-1, 1]."""
    turns, weight, phase = _STRIATION_WAVES.T
    return np.cos(angle[:, None] * turns + phase) @ weight


def paint_revealed_eye(appearance: EyeAppearance, xy: np.ndarray, upper_lid_distance: np.ndarray) -> np.ndarray:
    """Colours of eyeball pixels that a raised upper lid uncovers.

    Inside the iris disc: the iris colour, darkening towards the limbal ring [4]_ over the
    disc's outer :data:`LIMBAL_RING` of the radius, with faint radial striations; the disc's
    edge is anti-aliased over ``max(1, 0.06 radius)`` pixels. Elsewhere: the sclera. Within
    :data:`LID_SHADOW` iris radii of the lid margin both darken smoothly, down to
    ``sclera_shadow / sclera_colour`` at the margin (the lid's and the lashes' cast shadow).
    A faint noise of the photo's grain (``appearance.grain``), a hash of each pixel's position,
    keeps the strip from looking flat; the same pixel always gets the same colour.

    Parameters
    ----------
    appearance : EyeAppearance
        The eye, from :func:`eye_appearance`.
    xy : (M, 2) float
        Pixel centres (x, y) inside the new opening and outside the photo's.
    upper_lid_distance : (M,) float
        Each pixel's distance below the new upper-lid margin, pixels (0 at the margin; negative
        values count as 0).

    Returns
    -------
    (M, 3) uint8
        RGB colours.
    """
    xy = np.asarray(xy, dtype=np.float64)
    depth = np.asarray(upper_lid_distance, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must be (M, 2) pixel centres, got shape {xy.shape}")
    if depth.shape != (len(xy),):
        raise ValueError(f"upper_lid_distance must be ({len(xy)},), one per pixel, got shape {depth.shape}")
    if not (np.all(np.isfinite(xy)) and np.all(np.isfinite(depth))):
        raise ValueError("xy and upper_lid_distance must be finite")
    radius = max(appearance.iris_radius, 0.5)
    offset = xy - appearance.iris_centre
    distance = np.hypot(offset[:, 0], offset[:, 1])
    softness = max(1.0, 0.06 * radius)
    in_iris = _smoothstep((radius - distance) / softness + 0.5)
    limbus = _smoothstep((distance - (1.0 - LIMBAL_RING) * radius) / (LIMBAL_RING * radius))
    iris = appearance.iris_colour + limbus[:, None] * (appearance.limbus_colour - appearance.iris_colour)
    iris = iris * (1.0 + IRIS_STRIATION * _striations(np.arctan2(offset[:, 1], offset[:, 0])))[:, None]
    colour = appearance.sclera_colour + in_iris[:, None] * (iris - appearance.sclera_colour)
    # The lid's shadow falls on iris and sclera alike: one ratio per channel, from the sclera.
    shadow = appearance.sclera_shadow / np.maximum(appearance.sclera_colour, 1.0)
    lit = _smoothstep(np.maximum(depth, 0.0) / max(LID_SHADOW * radius, 1.0))
    colour = colour * (shadow + lit[:, None] * (1.0 - shadow))
    # Uniform noise of standard deviation `grain` (a uniform's is 1 / sqrt(12) of its width).
    colour = colour + (np.sqrt(12.0) * appearance.grain * _position_noise(xy))[:, None]
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8)
