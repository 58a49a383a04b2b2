import filecmp

import numpy as np
import pytest

from affect import profiles
from affect.face.morphable_model import load_default
from affect.gallery.fourdfab import PAPER_ANNOTATOR_CORRELATIONS, load_gallery, mean_annotator_correlations
from affect.gallery.proxy import (
    _LAGS_S,
    GallerySizes,
    _rng,
    gallery_sizes,
    simulate_sequence,
    simulate_subjects,
    simulate_va_path,
    write_proxy_gallery,
)
from affect.vocabulary import BASIC_EXPRESSIONS

TINY = GallerySizes(subjects=4, sequences=6, mean_frames=30, apex_per_expression=3)


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, model):
    root = tmp_path_factory.mktemp("tiny")
    write_proxy_gallery(root, TINY, seed=11, model=model, progress=False)
    return root


@pytest.fixture(scope="module")
def medium(tmp_path_factory, model):
    # 120 sequences of ~150 frames (18,000 frames): a few seconds to write, enough frames for
    # the annotator statistics and the VA histogram to settle.
    root = tmp_path_factory.mktemp("medium")
    write_proxy_gallery(root, GallerySizes(30, 120, 150, 0), seed=0, model=model, progress=False)
    return load_gallery(root, model)


def test_profile_sizes_follow_the_paper_at_paper_scale():
    assert gallery_sizes(profiles.get("paper")) == GallerySizes(180, 1580, 380, 2000)
    assert gallery_sizes(TINY) is TINY
    with pytest.raises(ValueError, match="profile"):
        gallery_sizes("huge")


def test_written_layout_loads_back_with_every_part(tiny, model):
    gallery = load_gallery(tiny, model)
    assert gallery.manifest.storage == "coefficients" and gallery.manifest.fps == 60
    assert len(gallery.subjects) == 4
    assert gallery.frames.groupby(["subject", "sequence"]).ngroups == 6
    assert 0.5 * 6 * 30 <= len(gallery.frames) <= 1.5 * 6 * 30
    assert gallery.apex_index.groupby("expression").size().to_dict() == {e: 3 for e in BASIC_EXPRESSIONS}
    np.testing.assert_allclose(
        gallery.frames["valence"], gallery.frames[["valence_a1", "valence_a2", "valence_a3"]].mean(axis=1), atol=2e-4
    )
    assert gallery.deformations(gallery.frames.index[:3]).shape == (3, model.n_vertices, 3)


def test_stored_weights_are_exactly_the_simulated_weights(tiny, model):
    gallery = load_gallery(tiny, model)
    first = gallery._sequences[0]
    # Regenerate the sequence the writer drew for this folder (stream (seed, 6, index)).
    for index in range(TINY.sequences):
        table, weights = simulate_sequence(
            first.length, model.expression_names, _idiosyncrasy(first.subject), np.array(_LAGS_S), _rng(11, 6, index)
        )
        if np.array_equal(table["valence"].to_numpy(), gallery.frames["valence"].to_numpy()[: first.length]):
            break
    else:
        pytest.fail("no sequence stream reproduces the stored labels")
    stored = gallery.coefficients(np.arange(first.length))
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(stored, weights)


def _idiosyncrasy(subject):
    from affect.gallery.affect_mapping import sample_idiosyncrasy
    from affect.gallery.proxy import _subseed

    return sample_idiosyncrasy(_subseed(11, 2, int(subject[1:]) - 1))


def test_same_seed_writes_identical_files_and_another_seed_does_not(tiny, tmp_path, model):
    again = write_proxy_gallery(tmp_path / "again", TINY, seed=11, model=model, progress=False)
    other = write_proxy_gallery(tmp_path / "other", TINY, seed=12, model=model, progress=False)
    same = load_gallery(again, model).frames
    assert load_gallery(tiny, model).frames.equals(same)
    assert not load_gallery(other, model).frames["valence"].equals(same["valence"])
    assert filecmp.cmp(tiny / "subjects.csv", again / "subjects.csv", shallow=False)


def test_interrupted_write_resumes_to_the_same_gallery(tiny, tmp_path, model):
    root = write_proxy_gallery(tmp_path / "g", TINY, seed=11, model=model, progress=False)
    victim = next((root / "sequences").glob("*/*"))
    (victim / "va.csv").unlink()
    (victim / "expression.npz").unlink()
    write_proxy_gallery(root, TINY, seed=11, model=model, progress=False)
    reference = tiny / victim.relative_to(root)
    assert filecmp.cmp(victim / "va.csv", reference / "va.csv", shallow=False)
    np.testing.assert_array_equal(
        np.load(victim / "expression.npz")["weights"], np.load(reference / "expression.npz")["weights"]
    )


def test_resuming_with_other_settings_is_refused(tmp_path, model):
    root = write_proxy_gallery(tmp_path / "g", TINY, seed=1, model=model, progress=False)
    with pytest.raises(ValueError, match="proxy.json"):
        write_proxy_gallery(root, TINY, seed=2, model=model, progress=False)


def test_subjects_are_one_third_female_with_ages_5_to_75():
    subjects = simulate_subjects(180, seed=0)
    assert (subjects["sex"] == "F").sum() == 60 and (subjects["sex"] == "M").sum() == 120
    assert subjects["age"].min() == 5 and subjects["age"].max() == 75
    assert subjects["subject"].is_unique


def test_va_path_is_smooth_and_stays_in_the_unit_disc():
    path = simulate_va_path(2000, np.random.default_rng(3))
    assert np.hypot(path[:, 0], path[:, 1]).max() <= 1.0 + 1e-12
    # At 60 fps affect changes little from frame to frame; the fastest change is an onset
    # (>= 0.3 s = 18 frames, smoothstep slope <= 1.5 / 18 per unit of VA distance).
    steps = np.abs(np.diff(path, axis=0))
    assert steps.max() < 0.15 and np.median(steps) < 0.005
    assert np.ptp(path[:, 0]) > 0.2  # and it does change over the clip


def test_annotator_correlations_land_in_the_papers_bands(medium):
    # Sec. 3.2: per-annotator mean correlation 0.66 / 0.70 / 0.68 (valence) and
    # 0.59 / 0.62 / 0.59 (arousal). Tolerance: 0.07 per annotator and 0.05 on the average.
    # At this size (18,000 frames) a value moves by up to 0.06 from seed to seed (seeds 0-5);
    # at paper scale (600,000 frames) by about 0.01, within 0.015 of the paper's values.
    means = mean_annotator_correlations(medium.annotator_correlations())
    for dimension, paper in PAPER_ANNOTATOR_CORRELATIONS.items():
        ours = means[means["dimension"] == dimension]["mean_correlation"].to_numpy()
        np.testing.assert_allclose(ours, paper, atol=0.07)
        assert abs(ours.mean() - np.mean(paper)) < 0.05


def test_va_histogram_leans_to_positive_valence(medium):
    valence = medium.frames["valence"].to_numpy()
    assert valence.mean() > 0.03
    assert (valence > 0).mean() > 0.55
    assert (valence < -0.3).mean() > 0.05  # negative affect is present, just rarer


def test_face_follows_affect_smiles_with_positive_valence(medium, model):
    weights = medium.coefficients()
    smile = weights[:, model.expression_index("mouthSmile_L")]
    valence = medium.frames["valence"].to_numpy()
    assert np.corrcoef(smile, valence)[0, 1] > 0.4
    brow = weights[:, model.expression_index("browDown_L")]
    assert np.corrcoef(brow, valence)[0, 1] < -0.2


def test_apex_meshes_show_their_expression(tiny, model):
    gallery = load_gallery(tiny, model)
    happy = gallery.apex_coefficients("happiness")
    angry = gallery.apex_coefficients("anger")
    # Prototype at 0.8-1.0 intensity times a subject gain in [0.5, 1.5]: always clearly on.
    smile = happy[:, model.expression_index("mouthSmile_L")]
    brow = angry[:, model.expression_index("browDown_L")]
    assert smile.min() > 0.3 and brow.min() > 0.3
    assert angry[:, model.expression_index("mouthSmile_L")].max() == 0
    assert gallery.apex("anger").shape == (3, model.n_vertices, 3)


def test_cli_subparser_builds_a_gallery(tmp_path):
    from affect.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["gallery", "build", "--profile", "smoke", "--root", str(tmp_path / "g"), "--seed", "3"])
    args.handler(args)
    gallery = load_gallery(tmp_path / "g")
    assert gallery.manifest.seed == 3 and len(gallery.subjects) == 6
