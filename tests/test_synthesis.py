"""Static, temporal and basic-expression synthesis on a photo; VA paths; writers; CLI (Sec. 4.5.2)."""

import menpo.io as mio
import numpy as np
import pytest
from PIL import Image

import affect  # noqa: F401  (menpo shims)
import affect.synthesis as synthesis
from affect import profiles
from affect.cli import build_parser
from affect.face.landmarks import FaceNotFoundError
from affect.face.recognition import SAME_PERSON_THRESHOLD
from affect.gallery.affect_model import AffectModelError, build_affect_model
from affect.image import ImageReadError, read_image, write_image
from affect.synthesis import AffectSynthesizer, SynthesizedImage
from affect.vocabulary import BASIC_EXPRESSIONS

PHOTO = str(mio.data_path_to("takeo.ppm"))


@pytest.fixture(scope="module")
def affect_model(tmp_path_factory):
    """A 12-class affect model of the stand-in gallery (deformations from the model's blendshapes)."""
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery

    root = tmp_path_factory.mktemp("gallery")
    write_proxy_gallery(root, profiles.get("smoke"), seed=0, progress=False)
    return build_affect_model(load_gallery(root), n_classes=12, progress=False)


@pytest.fixture(scope="module")
def model_file(affect_model, tmp_path_factory):
    return affect_model.save(tmp_path_factory.mktemp("model") / "affect_model.npz")


@pytest.fixture(scope="module")
def synthesizer(affect_model):
    return AffectSynthesizer(affect_model)


@pytest.fixture(scope="module")
def photo():
    return read_image(PHOTO)


def _check_blended(result: SynthesizedImage, photo: np.ndarray) -> None:
    assert result.image.shape == photo.shape and result.image.dtype == np.uint8
    inside = np.abs(result.image.astype(int) - photo)[result.mask]
    assert result.mask.sum() > 1000
    assert inside.mean() > 2.0  # grey levels: the face changed
    assert np.array_equal(result.image[~result.mask], photo[~result.mask])
    assert result.unchanged_outside


# ------------------------------------------------------------------------------ synthesis


@pytest.mark.slow  # fits the photo once (seconds)
def test_static_changes_the_face_only_and_keeps_the_identity(synthesizer, photo):
    result = synthesizer.static(PHOTO, (0.8, 0.5))
    _check_blended(result, photo)
    assert result.target == (0.8, 0.5)
    assert result.va_class == synthesizer.affect_model.va_class(0.8, 0.5)
    assert 0.0 <= result.identity_distance < SAME_PERSON_THRESHOLD


@pytest.mark.slow  # fits the photo once (seconds)
def test_basic_expressions_change_the_face_and_keep_the_identity(synthesizer, photo):
    for expression in BASIC_EXPRESSIONS:
        result = synthesizer.basic(PHOTO, expression)
        _check_blended(result, photo)
        assert result.target == expression and result.va_class == -1
        assert result.identity_distance < SAME_PERSON_THRESHOLD, expression


@pytest.mark.slow  # fits the photo once (seconds)
def test_the_photos_own_expression_is_removed_unless_kept(synthesizer, affect_model):
    recon = synthesizer.reconstruction(PHOTO)
    assert np.abs(recon.expression_offset).max() > 0.05  # takeo smiles a little: cm
    camera, indices = recon.fit.camera, recon.model.landmark_indices
    delta = affect_model.delta_for_expression("sadness")
    neutral = recon.model.shape(recon.fit.identity)
    removed = synthesizer.basic(PHOTO, "sadness")
    np.testing.assert_allclose(removed.landmarks, camera.to_image(neutral + delta)[indices, :2], atol=1e-3)
    kept = AffectSynthesizer(affect_model, keep_expression=True, measure_identity=False)
    kept._cache = synthesizer._cache  # the same fit
    on_top = kept.basic(PHOTO, "sadness")
    np.testing.assert_allclose(on_top.landmarks, camera.to_image(recon.shape + delta)[indices, :2], atol=1e-3)


@pytest.mark.slow  # fits the photo once (seconds)
def test_different_expressions_give_different_images(synthesizer):
    happy, surprised = synthesizer.basic(PHOTO, "happiness"), synthesizer.basic(PHOTO, "surprise")
    assert np.abs(happy.image.astype(int) - surprised.image).mean() > 0.5


@pytest.mark.slow  # fits the photo once (seconds)
def test_temporal_gives_one_frame_per_path_point(synthesizer, photo):
    path = [[0.0, 0.0], [0.5, 0.5], [0.8, 0.2], [0.5, 0.5]]
    frames = synthesizer.temporal(photo, path)
    assert len(frames) == 4
    for frame, (v, a) in zip(frames, path):
        _check_blended(frame, photo)
        assert frame.va_class == synthesizer.affect_model.va_class(v, a)
    np.testing.assert_array_equal(frames[1].image, frames[3].image)  # same class, same frame


@pytest.mark.slow  # fits the photo once (seconds)
def test_temporal_reads_a_csv_path(synthesizer, tmp_path):
    (tmp_path / "path.csv").write_text("valence,arousal\n0.1,0.2\n0.7,0.4\n")
    frames = synthesizer.temporal(PHOTO, tmp_path / "path.csv")
    assert [f.target for f in frames] == [(0.1, 0.2), (0.7, 0.4)]


@pytest.mark.slow  # fits the photo once (seconds)
def test_the_fit_is_made_once_per_photo_and_reused(synthesizer, affect_model, photo, monkeypatch):
    fitted = synthesizer.reconstruction(PHOTO)  # from the module's cache
    calls = []

    def counting_reconstruct(image, **options):
        calls.append(image)
        return fitted

    monkeypatch.setattr(synthesis, "reconstruct", counting_reconstruct)
    fresh = AffectSynthesizer(affect_model, measure_identity=False)
    fresh.static(photo, (0.5, 0.5))
    fresh.basic(photo.copy(), "fear")  # equal pixels, another array: same photo
    fresh.temporal(photo, [[0.1, 0.1], [0.2, 0.3]])
    assert len(calls) == 1
    fresh.static(PHOTO, (0.5, 0.5))  # the file is another key
    fresh.static(PHOTO, (0.1, 0.5))
    assert len(calls) == 2
    shifted = photo.copy()
    shifted[0, 0] ^= 1
    fresh.static(shifted, (0.5, 0.5))
    assert len(calls) == 3
    fresh.forget_photos()  # a benchmark's fresh start: the next call fits again
    fresh.static(photo, (0.5, 0.5))
    assert len(calls) == 4


def test_a_prepared_photo_gives_the_images_of_the_photo_itself(synthesizer, photo):
    prepared = synthesizer.prepare(photo)
    assert prepared.reconstruction is synthesizer.reconstruction(photo)
    for make in (lambda image: synthesizer.static(image, (0.4, -0.3)), lambda image: synthesizer.basic(image, "fear")):
        np.testing.assert_array_equal(make(prepared).image, make(photo).image)
    frames = synthesizer.temporal(prepared, [[0.1, 0.1], [0.2, 0.3]])
    np.testing.assert_array_equal(frames[1].image, synthesizer.static(photo, (0.2, 0.3)).image)
    with pytest.raises(ValueError, match="landmarks: a prepared photo"):
        synthesizer.static(prepared, (0.4, -0.3), landmarks=np.zeros((68, 2)))


@pytest.mark.slow  # fits the photo once (seconds)
def test_given_landmarks_are_used_instead_of_detection(affect_model, synthesizer, photo, monkeypatch):
    fitted = synthesizer.reconstruction(PHOTO)
    seen = {}

    def fake_reconstruct(image, **options):
        seen.update(options)
        return fitted

    monkeypatch.setattr(synthesis, "reconstruct", fake_reconstruct)
    points = fitted.fit.landmarks
    AffectSynthesizer(affect_model, measure_identity=False).static(photo, (0.2, 0.2), landmarks=points)
    np.testing.assert_array_equal(seen["landmarks"], points)


def test_bad_targets_are_refused(synthesizer):
    with pytest.raises(ValueError, match="valence 1.5 is outside"):
        synthesizer.static(PHOTO, (1.5, 0.0))
    with pytest.raises(ValueError, match="anger, disgust, fear, happiness, sadness, surprise"):
        synthesizer.basic(PHOTO, "contempt")
    with pytest.raises(ValueError, match="point 1"):
        synthesizer.temporal(PHOTO, [[0.0, 0.0], [0.0, 2.0]])


def test_seeded_variation_needs_sparse_components(synthesizer):
    with pytest.raises(ValueError, match="sparse"):
        synthesizer.static(PHOTO, (0.5, 0.5), seed=1)


def test_a_face_model_of_other_topology_is_refused(affect_model):
    other = type("Model", (), {"n_vertices": 10, "name": "other"})()
    with pytest.raises(ValueError, match="10 vertices"):
        AffectSynthesizer(affect_model, other)


def test_a_photo_without_a_face_is_named_in_the_error(synthesizer, tmp_path):
    blank = write_image(tmp_path / "wall.png", np.full((120, 120, 3), 200, np.uint8))
    with pytest.raises(FaceNotFoundError, match="wall.png"):
        synthesizer.static(blank, (0.5, 0.5))


def test_intensity_scales_the_movement_and_zero_is_the_neutral_face(synthesizer, photo):
    neutral = synthesizer.basic(photo, "surprise", intensity=0.0)
    full = synthesizer.basic(photo, "surprise")
    strong = synthesizer.basic(photo, "surprise", intensity=1.5)
    brow = slice(17, 27)
    rise = [neutral.landmarks[brow, 1].mean() - r.landmarks[brow, 1].mean() for r in (full, strong)]
    assert 0 < rise[0] < rise[1]  # image y points down: the brows rise further with intensity
    assert rise[1] == pytest.approx(1.5 * rise[0], rel=0.1)
    with pytest.raises(ValueError, match=r"intensity: expected a number in \[0, 2\]"):
        synthesizer.static(photo, (0.5, 0.5), intensity=-0.1)


def test_action_units_move_the_face_as_facs_says(synthesizer, photo):
    neutral = synthesizer.action_units(photo, {})
    lowered = synthesizer.action_units(photo, {4: 1.0})
    assert lowered.target == "AU4=1"
    brows, inner = slice(17, 27), [21, 22]
    assert lowered.landmarks[brows, 1].mean() > neutral.landmarks[brows, 1].mean()  # the brows come down
    gap = np.diff(lowered.landmarks[inner, 0])[0], np.diff(neutral.landmarks[inner, 0])[0]
    assert gap[0] < gap[1]  # and together
    smile = synthesizer.action_units(photo, {12: 1.0})
    assert smile.landmarks[[48, 54], 1].mean() < neutral.landmarks[[48, 54], 1].mean()  # the corners rise
    with pytest.raises(ValueError, match="unknown action unit 3"):
        synthesizer.action_units(photo, {3: 1.0})


def test_an_undeformed_rendering_is_unchanged_by_shading_and_creases(synthesizer, photo):
    neutral = synthesizer.action_units(photo, {})
    assert neutral.unchanged_outside
    shaded = synthesizer.action_units(photo, {4: 1.0, 9: 1.0})
    assert shaded.unchanged_outside and not np.array_equal(shaded.image, neutral.image)


# ------------------------------------------------------------------------------------ CLI


def _run(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.handler(args)


@pytest.mark.slow  # fits the photo once (seconds)
def test_cli_writes_the_image_and_prints_the_identity_distance(synthesizer, model_file, tmp_path, capsys, monkeypatch):
    fitted = synthesizer.reconstruction(PHOTO)
    monkeypatch.setattr(synthesis, "reconstruct", lambda image, **options: fitted)
    _run(
        [
            "synthesize",
            PHOTO,
            "--va",
            "0.6",
            "0.3",
            "--affect-model",
            str(model_file),
            "-o",
            str(tmp_path / "happy.png"),
        ]
    )
    assert read_image(tmp_path / "happy.png").shape == read_image(PHOTO).shape
    assert "identity distance 0." in capsys.readouterr().out
    _run(
        [
            "synthesize",
            PHOTO,
            "--expression",
            "sadness",
            "--affect-model",
            str(model_file),
            "-o",
            str(tmp_path / "sad.png"),
        ]
    )
    _run(
        [
            "synthesize",
            PHOTO,
            "--expression",
            "sadness",
            "--keep-expression",
            "--affect-model",
            str(model_file),
            "-o",
            str(tmp_path / "sad_on_top.png"),
        ]
    )
    assert not np.array_equal(read_image(tmp_path / "sad.png"), read_image(tmp_path / "sad_on_top.png"))
    (tmp_path / "path.csv").write_text("0.0,0.0\n0.5,0.5\n")
    _run(
        [
            "synthesize",
            PHOTO,
            "--path",
            str(tmp_path / "path.csv"),
            "--affect-model",
            str(model_file),
            "-o",
            str(tmp_path / "seq.gif"),
        ]
    )
    out = capsys.readouterr().out
    assert "frame 1: valence +0.50, arousal +0.50" in out
    with Image.open(tmp_path / "seq.gif") as gif:
        assert gif.n_frames == 2


@pytest.mark.parametrize(
    "argv, error, message",
    [
        (["--va", "1.5", "0"], ValueError, "valence 1.5 is outside"),
        (["--expression", "contempt"], ValueError, "anger, disgust, fear, happiness, sadness, surprise"),
        (["--va", "0.5", "0.5", "-o", "out.gif"], ValueError, "name it .png"),
        (["--expression", "anger", "--intensity", "2.5"], ValueError, r"--intensity: expected a number in \[0, 2\]"),
        (["--au", "99=1"], ValueError, "AU99 is not supported; supported: 1, 2, 4"),
        (["--au", "4=high"], ValueError, "'4=high' is not AU=INTENSITY"),
        (["--au", "4=3"], ValueError, r"intensity of AU4 in \[0, 2\]"),
        (["--au", "4=1", "--intensity", "1.5"], ValueError, "give each action unit its own intensity"),
    ],
)
def test_cli_refuses_bad_arguments_before_any_work(tmp_path, argv, error, message):
    argv = ["synthesize", str(tmp_path / "missing.jpg"), *argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out.png")]
    with pytest.raises(error, match=message):
        _run(argv)


def test_cli_missing_affect_model_hints_at_building_one(tmp_path):
    with pytest.raises(AffectModelError, match="affect gallery build"):
        _run(
            [
                "synthesize",
                PHOTO,
                "--va",
                "0.5",
                "0.5",
                "--affect-model",
                str(tmp_path / "none.npz"),
                "-o",
                str(tmp_path / "out.png"),
            ]
        )


def test_cli_unreadable_image_is_named(model_file, tmp_path):
    (tmp_path / "photo.jpg").write_text("not an image")
    with pytest.raises(ImageReadError, match="photo.jpg"):
        _run(
            [
                "synthesize",
                str(tmp_path / "photo.jpg"),
                "--va",
                "0.5",
                "0.5",
                "--affect-model",
                str(model_file),
                "-o",
                str(tmp_path / "out.png"),
            ]
        )


def test_cli_checks_the_photo_before_loading_the_affect_model(tmp_path):
    with pytest.raises(ImageReadError, match="missing.jpg"):
        _run(
            [
                "synthesize",
                str(tmp_path / "missing.jpg"),
                "--va",
                "0.5",
                "0.5",
                "--affect-model",
                str(tmp_path / "none.npz"),
                "-o",
                str(tmp_path / "out.png"),
            ]
        )


def test_pickled_synthesizer_keeps_the_models_and_drops_the_fits(affect_model):
    import pickle

    original = AffectSynthesizer(affect_model, measure_identity=False)
    original._cache[("key",)] = "a fit"
    copy = pickle.loads(pickle.dumps(original))
    assert len(copy._cache) == 0 and len(original._cache) == 1
    np.testing.assert_array_equal(copy.affect_model.class_means, affect_model.class_means)
    assert copy.face_model.n_vertices == affect_model.n_vertices and copy.measure_identity is False


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """Takeo twice, the right copy smaller: (path, the left face's columns, the right one's)."""
    import cv2

    takeo = read_image(PHOTO)
    canvas = np.full((225, 270, 3), 90, np.uint8)
    canvas[:, :150] = takeo
    canvas[40:190, 165:265] = cv2.resize(takeo, (100, 150), interpolation=cv2.INTER_AREA)
    return write_image(tmp_path_factory.mktemp("faces") / "two.png", canvas), slice(0, 150), slice(160, 270)


@pytest.mark.slow  # fits two faces (seconds)
@pytest.mark.parametrize(
    "face, edited, message",
    [
        (None, "left", "2 faces found (numbered from the left); editing the largest, face 1"),
        ("all", "both", "editing all: face 1 at"),
        ("2", "right", "editing face 2 at"),
    ],
)
def test_cli_face_chooses_which_faces_are_edited_and_says_so(
    two_faces, model_file, tmp_path, capsys, face, edited, message
):
    path, left, right = two_faces
    out = tmp_path / "out.png"
    _run(
        ["synthesize", str(path), "--expression", "surprise", "--affect-model", str(model_file), "-o", str(out)]
        + (["--face", face] if face else [])
    )
    assert message in capsys.readouterr().out
    before, after = read_image(path), read_image(out)
    changed = {
        side: not np.array_equal(before[:, cols], after[:, cols]) for side, cols in (("left", left), ("right", right))
    }
    assert changed == {"left": edited in ("left", "both"), "right": edited in ("right", "both")}


def test_cli_face_refuses_a_number_past_the_faces_found_and_with_given_landmarks(two_faces, model_file, tmp_path):
    path, _, _ = two_faces
    argv = [
        "synthesize",
        str(path),
        "--expression",
        "surprise",
        "--affect-model",
        str(model_file),
        "-o",
        str(tmp_path / "out.png"),
    ]
    with pytest.raises(ValueError, match="has 2 faces"):
        _run(argv + ["--face", "3"])
    with pytest.raises(ValueError, match="largest, all or a face number"):
        _run(argv + ["--face", "biggest"])
    with pytest.raises(ValueError, match="--landmarks gives the points of one face"):
        _run(argv + ["--face", "all", "--landmarks", str(tmp_path / "x.pts")])


@pytest.mark.slow  # writes a smoke-size gallery and builds its model (seconds)
def test_the_default_affect_model_is_built_on_first_use(tmp_path, monkeypatch, capsys):
    import affect.gallery.affect_model as affect_model

    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    monkeypatch.delenv("AFFECT_MODEL", raising=False)
    monkeypatch.setattr(affect_model, "DEFAULT_PROFILE", profiles.get("smoke"))  # the default profile takes minutes
    assert not affect_model.default_affect_model_path().exists()
    first = AffectSynthesizer.from_file(measure_identity=False)
    assert "building the default one" in capsys.readouterr().err
    assert affect_model.default_affect_model_path().is_file()
    assert first.affect_model.n_vertices == first.face_model.n_vertices
    AffectSynthesizer.from_file(measure_identity=False)
    assert "building" not in capsys.readouterr().err  # built once


def test_identity_frames_are_the_first_the_last_and_every_nth():
    assert synthesis.identity_frames(50, 25) == (0, 25, 49)
    assert synthesis.identity_frames(51, 25) == (0, 25, 50)
    assert synthesis.identity_frames(4, 1) == (0, 1, 2, 3)
    assert synthesis.identity_frames(1, 25) == (0,) and synthesis.identity_frames(0) == ()
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="identity_every: expected a whole number >= 1"):
            synthesis.identity_frames(10, bad)


@pytest.mark.slow  # fits the photo once (seconds)
def test_a_path_measures_identity_on_the_sampled_frames_and_keeps_every_frame(synthesizer, photo):
    prepared = synthesizer.prepare(photo)
    path = [[0.0, 0.0], [0.5, 0.5], [0.8, 0.2], [-0.4, 0.3], [0.5, -0.5]]
    every = synthesizer.temporal(prepared, path, identity_every=1)
    sampled = synthesizer.temporal(prepared, path, identity_every=3)
    assert [i for i, f in enumerate(sampled) if np.isfinite(f.identity_distance)] == [0, 3, 4]
    assert all(np.isfinite(f.identity_distance) for f in every)
    for full, thin in zip(every, sampled):
        np.testing.assert_array_equal(full.image, thin.image)
        assert (full.target, full.va_class) == (thin.target, thin.va_class)


@pytest.mark.slow  # fits the photo once (seconds)
def test_cli_path_names_the_identity_frames_and_writes_the_frames_unchanged(
    synthesizer, model_file, tmp_path, capsys, monkeypatch
):
    fitted = synthesizer.reconstruction(PHOTO)
    monkeypatch.setattr(synthesis, "reconstruct", lambda image, **options: fitted)
    path = [[0.0, 0.0], [0.5, 0.5], [0.8, 0.2], [-0.4, 0.3]]
    (tmp_path / "path.csv").write_text("".join(f"{v},{a}\n" for v, a in path))
    argv = ["synthesize", PHOTO, "--path", str(tmp_path / "path.csv"), "--affect-model", str(model_file)]
    _run([*argv, "--identity-every", "2", "-o", str(tmp_path / "frames")])
    out = capsys.readouterr().out
    assert "identity measured on frames 0, 2, 3 (" in out
    assert "frame 1: valence +0.50, arousal +0.50 (VA class" in out and "identity not measured (sampled)" in out
    assert "frame 2: valence +0.80, arousal +0.20" in out and out.count("identity distance") == 3
    expected = AffectSynthesizer.from_file(model_file, measure_identity=False).temporal(PHOTO, path)
    for index, frame in enumerate(expected):
        np.testing.assert_array_equal(read_image(tmp_path / "frames" / f"frame_{index:04d}.png"), frame.image)
    with pytest.raises(ValueError, match="--identity-every: expected a whole number >= 1, got 0"):
        _run([*argv, "--identity-every", "0", "-o", str(tmp_path / "x.gif")])
