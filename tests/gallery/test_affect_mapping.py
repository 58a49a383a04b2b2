import numpy as np
import pytest

from affect.gallery.affect_mapping import (
    ACTION_UNITS,
    AU_AMPLITUDE,
    AU_BLENDSHAPES,
    BASIC_EXPRESSIONS,
    EXPRESSION_AUS,
    EXPRESSION_VA,
    WEIGHT_LIMIT,
    Idiosyncrasy,
    au_landmark_motion,
    au_to_blendshapes,
    expression_to_blendshapes,
    sample_idiosyncrasy,
    va_to_aus,
    va_to_blendshapes,
)

# The blendshape names of the default ICT-FaceKit model (53 ARKit names), spelled out so the
# tests need not load the model.
NAMES = (
    "browDown_L",
    "browDown_R",
    "browInnerUp_L",
    "browInnerUp_R",
    "browOuterUp_L",
    "browOuterUp_R",
    "cheekPuff_L",
    "cheekPuff_R",
    "cheekSquint_L",
    "cheekSquint_R",
    "eyeBlink_L",
    "eyeBlink_R",
    "eyeLookDown_L",
    "eyeLookDown_R",
    "eyeLookIn_L",
    "eyeLookIn_R",
    "eyeLookOut_L",
    "eyeLookOut_R",
    "eyeLookUp_L",
    "eyeLookUp_R",
    "eyeSquint_L",
    "eyeSquint_R",
    "eyeWide_L",
    "eyeWide_R",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimple_L",
    "mouthDimple_R",
    "mouthFrown_L",
    "mouthFrown_R",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDown_L",
    "mouthLowerDown_R",
    "mouthPress_L",
    "mouthPress_R",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmile_L",
    "mouthSmile_R",
    "mouthStretch_L",
    "mouthStretch_R",
    "mouthUpperUp_L",
    "mouthUpperUp_R",
    "noseSneer_L",
    "noseSneer_R",
)


def weight(weights, name):
    return weights[..., NAMES.index(name)]


def test_every_blendshape_in_the_au_table_exists_in_the_default_model_names():
    used = {name for shapes in AU_BLENDSHAPES.values() for name in shapes}
    assert used <= set(NAMES)


def test_every_prototype_au_has_a_blendshape_mapping():
    for aus in EXPRESSION_AUS.values():
        assert set(aus) <= set(ACTION_UNITS)
    assert set(EXPRESSION_AUS) == set(EXPRESSION_VA) == set(BASIC_EXPRESSIONS)


def test_happiness_va_activates_au6_and_au12_and_smile_and_cheek_squint():
    aus = va_to_aus(*EXPRESSION_VA["happiness"])
    assert aus[12] > 0.8 and aus[6] > 0.6
    assert 4 not in aus and 15 not in aus
    w = va_to_blendshapes(np.array([EXPRESSION_VA["happiness"]]), NAMES)[0]
    assert weight(w, "mouthSmile_L") > 0.8 and weight(w, "mouthSmile_R") > 0.8
    assert weight(w, "cheekSquint_L") > 0.6
    assert weight(w, "browDown_L") == 0 and weight(w, "mouthFrown_L") == 0


def test_anger_va_lowers_the_brows_and_does_not_smile():
    w = va_to_blendshapes(np.array([EXPRESSION_VA["anger"]]), NAMES)[0]
    assert weight(w, "browDown_L") > 0.7 and weight(w, "browDown_R") > 0.7
    assert weight(w, "mouthSmile_L") == 0


def test_sadness_raises_the_inner_brows_and_pulls_the_lip_corners_down():
    w = va_to_blendshapes(np.array([EXPRESSION_VA["sadness"]]), NAMES)[0]
    assert weight(w, "browInnerUp_L") > 0.6 and weight(w, "mouthFrown_L") > 0.6


def test_surprise_opens_the_jaw_more_than_happiness():
    w = va_to_blendshapes(np.array([EXPRESSION_VA["surprise"], EXPRESSION_VA["happiness"]]), NAMES)
    assert weight(w[0], "jawOpen") > weight(w[1], "jawOpen") + 0.2


def test_neutral_va_gives_a_neutral_face():
    assert va_to_aus(0.0, 0.0) == {}
    assert not va_to_blendshapes(np.zeros((1, 2)), NAMES).any()


def test_weights_stay_within_the_weight_limit_over_the_whole_va_square():
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41)), -1).reshape(-1, 2)
    w = va_to_blendshapes(grid, NAMES, sample_idiosyncrasy(seed=3, spread=0.5))
    assert w.shape == (len(grid), len(NAMES))
    assert w.min() >= 0 and w.max() <= WEIGHT_LIMIT


def test_mapping_is_continuous_in_va_including_the_centre_and_the_angle_wrap():
    # Points 1e-4 apart, around a circle through every sector and through the centre.
    angles = np.linspace(0, 2 * np.pi, 20001)
    circle = 0.8 * np.stack([np.cos(angles), np.sin(angles)], 1)
    line = np.stack([np.linspace(-0.7, 0.7, 14001), np.linspace(0.5, -0.5, 14001)], 1)
    for path in (circle, line):
        w = va_to_blendshapes(path, NAMES)
        assert np.abs(np.diff(w, axis=0)).max() < 0.01


def test_intensity_grows_with_radius_towards_a_prototype():
    v, a = EXPRESSION_VA["happiness"]
    scales = np.linspace(0.1, 1.0, 10)
    smile = weight(va_to_blendshapes(np.stack([scales * v, scales * a], 1), NAMES), "mouthSmile_L")
    assert np.all(np.diff(smile) >= 0) and smile[0] < 0.2 < 0.8 < smile[-1]


def test_high_arousal_opens_eyes_and_jaw_and_low_arousal_lowers_the_lids():
    high, low = va_to_blendshapes(np.array([[0.0, 0.8], [0.0, -0.8]]), NAMES)
    assert weight(high, "eyeWide_L") > 0.3 and weight(high, "jawOpen") > 0.1
    assert weight(low, "eyeWide_L") == 0 and weight(low, "jawOpen") == 0
    assert weight(low, "eyeBlink_L") > weight(high, "eyeBlink_L")


def test_au_to_blendshapes_sums_contributions_and_clips():
    w = au_to_blendshapes({25: 1.0, 26: 1.0}, NAMES)
    assert weight(w, "jawOpen") == pytest.approx(0.6)
    assert weight(au_to_blendshapes({26: 1.0, 27: 1.0}, NAMES), "jawOpen") == pytest.approx(1.5)
    assert weight(au_to_blendshapes({26: 1.0, 27: 1.0, 25: 1.0}, NAMES), "jawOpen") == WEIGHT_LIMIT


def test_calibrated_action_units_scale_their_shapes_by_their_amplitude():
    assert weight(au_to_blendshapes({4: 1.0}, NAMES), "browDown_L") == pytest.approx(AU_AMPLITUDE[4])
    assert weight(au_to_blendshapes({2: 1.0}, NAMES), "browOuterUp_L") == pytest.approx(AU_AMPLITUDE[2])
    assert weight(au_to_blendshapes({9: 1.0}, NAMES), "noseSneer_L") == pytest.approx(1.0)  # factor 1


def test_intensities_above_one_are_accepted_only_when_allowed():
    w = au_to_blendshapes({12: 2.0}, NAMES, max_intensity=2.0)
    assert weight(w, "mouthSmile_L") == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"intensity of AU12 in \[0, 1\]"):
        au_to_blendshapes({12: 2.0}, NAMES)


def test_landmark_motion_of_the_calibrated_brow_lowerer_is_larger_than_the_raw_shape():
    from affect.face.morphable_model import load_default

    model = load_default()
    moved, landmark = au_landmark_motion(model, 4)
    assert 17 <= landmark <= 26  # a brow point
    assert moved == pytest.approx(AU_AMPLITUDE[4] * au_landmark_motion(model, 4, 1.0 / AU_AMPLITUDE[4])[0])


def test_au_to_blendshapes_ignores_shapes_missing_from_the_model():
    w = au_to_blendshapes({12: 1.0, 10: 1.0}, ("mouthSmile_L", "somethingElse"))
    assert w.tolist() == [AU_AMPLITUDE.get(12, 1.0), 0.0]


def test_au_to_blendshapes_rejects_unknown_au_and_bad_intensity():
    with pytest.raises(ValueError, match="unknown action unit 99"):
        au_to_blendshapes({99: 0.5}, NAMES)
    with pytest.raises(ValueError, match="AU12"):
        au_to_blendshapes({12: 1.5}, NAMES)


def test_va_outside_the_unit_square_is_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match="va"):
        va_to_blendshapes(np.array([[1.2, 0.0]]), NAMES)
    with pytest.raises(ValueError, match="shape"):
        va_to_blendshapes(np.zeros((3, 3)), NAMES)


def test_expression_to_blendshapes_scales_the_prototype_with_intensity():
    full = expression_to_blendshapes("anger", 1.0, NAMES)
    half = expression_to_blendshapes("anger", 0.5, NAMES)
    assert weight(full, "browDown_L") == pytest.approx(AU_AMPLITUDE[4])
    np.testing.assert_allclose(half, full / 2)
    with pytest.raises(ValueError, match="name"):
        expression_to_blendshapes("joy", 1.0, NAMES)


def test_idiosyncrasy_is_seeded_bounded_and_changes_the_face():
    a, b = sample_idiosyncrasy(seed=1), sample_idiosyncrasy(seed=1)
    c = sample_idiosyncrasy(seed=2)
    np.testing.assert_array_equal(a.au_gain, b.au_gain)
    assert not np.array_equal(a.au_gain, c.au_gain)
    assert a.au_gain.min() >= 0.5 and a.au_gain.max() <= 1.5
    va = np.array([EXPRESSION_VA["surprise"]]) * 0.6
    assert not np.allclose(va_to_blendshapes(va, NAMES, a), va_to_blendshapes(va, NAMES, c))


def test_idiosyncrasy_asymmetry_favours_one_side():
    idio = Idiosyncrasy(np.ones(len(ACTION_UNITS)), asymmetry=0.2)
    w = va_to_blendshapes(np.array([[0.4, 0.2]]), NAMES, idio)[0]
    assert weight(w, "mouthSmile_L") > weight(w, "mouthSmile_R") > 0


def test_idiosyncrasy_rejects_wrong_gain_shape():
    with pytest.raises(ValueError, match="au_gain"):
        Idiosyncrasy(np.ones(3))


def test_va_to_blendshapes_is_vectorised_like_single_calls():
    va = np.array([[0.1, 0.9], [-0.5, -0.5], [0.9, -0.1]])
    batch = va_to_blendshapes(va, NAMES)
    for row, point in zip(batch, va):
        np.testing.assert_array_equal(row, va_to_blendshapes(point[None], NAMES)[0])
