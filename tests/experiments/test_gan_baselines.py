"""The GAN rows of Tables 2 to 5 and the budget notes (Sec. 6.1.2)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect import profiles
from affect.experiments import affect_tables, gan_baselines, tables
from affect.experiments.affect_tables import TABLES
from affect.experiments.tables import RunResult


def _predictions(noise: float, seed: int = 0, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(-1, 1, (n, 2))
    guess = np.clip(truth + rng.normal(0, noise, truth.shape), -1, 1)
    return pd.DataFrame(
        {
            "id": [f"i{k}" for k in range(n)],
            "subject": [f"s{k % 12}" for k in range(n)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
            "valence_pred": guess[:, 0],
            "arousal_pred": guess[:, 1],
        }
    )


def _results(spec, proposed_noise: float, gan_noise: float) -> dict:
    proposed = next(r for r in spec.rows if r.role == tables.PROPOSED)
    rows = [(proposed, proposed_noise, 0)] + [
        (row, gan_noise, k + 1) for k, row in enumerate(affect_tables.gan_rows(spec))
    ]
    return {
        row.label: RunResult(
            row, _predictions(noise, seed), (Path("/r") / row.slug / "predictions.csv",), "from scratch"
        )
        for row, noise, seed in rows
    }


@pytest.mark.parametrize("number", [2, 3, 4, 5])
def test_gan_rows_train_the_proposed_network_and_are_the_papers_rows(number):
    from affect import paper

    spec = TABLES[number]
    proposed = next(r for r in spec.rows if r.role == tables.PROPOSED)
    rows = affect_tables.gan_rows(spec)
    assert [r.role for r in rows] == ["stargan", "ganimation"]
    assert {r.network for r in rows} == {proposed.network}
    assert {r.label for r in rows} <= set(paper.table(number).index)
    assert affect_tables.gan_rows(TABLES[6]) == ()


def test_gan_rows_get_cells_and_the_claim_against_both_gans_is_stated():
    spec = TABLES[4]
    results = _results(spec, 0.1, 0.6)
    frame = affect_tables.table_frame(spec, results, n_bootstrap=100)
    assert frame.loc["VGG-FACE trained using StarGAN", "status"] == "re-run"
    assert (
        frame.loc["VGG-FACE trained using Ganimation", "CCC valence"]
        < frame.loc["VGG-FACE trained using the proposed approach", "CCC valence"]
    )
    claims = affect_tables._claims(spec, results, seed=0)
    sentence = affect_tables.gan_claim_sentence(spec, claims)
    assert "beats both GAN-augmented networks" in sentence and "it holds" in sentence
    reverse = affect_tables._claims(spec, _results(spec, 0.6, 0.1), seed=0)
    assert "does not hold" in affect_tables.gan_claim_sentence(spec, reverse)
    assert affect_tables.gan_claim_sentence(spec, pd.DataFrame()) == ""
    assert affect_tables.gan_claim_sentence(TABLES[6], claims) == ""  # Table 6 has no GAN rows
    unclear = claims.assign(clear=False)
    assert "holds on the point estimates only" in affect_tables.gan_claim_sentence(spec, unclear)


def test_the_budget_sentence_compares_with_the_original():
    sizes = profiles.gan_sizes(profiles.get("default"), "stargan")
    record = {
        "sizes": sizes.__dict__,
        "iterations": 400,
        "seconds": 321.0,
        "device": "cpu",
        "threads": 2,
        "source": "1500 frames of the stand-in gallery",
    }
    sentence = gan_baselines.budget_sentence("stargan", record)
    assert "400 critic iterations (0.2 % of the original's 200,000) at 64 px (original: 128)" in sentence
    assert "321 s on cpu" in sentence and "far from converged" in sentence and "Tesla M40" in sentence


def test_comparison_summary_averages_per_method():
    table = pd.DataFrame(
        {
            "method": ["proposed", "stargan", "proposed", "stargan"],
            "identity distance": [0.2, 0.7, 0.4, 0.5],
            "sharpness kept": [1.0, 0.2, 0.8, 0.4],
        }
    )
    summary = gan_baselines.comparison_summary(table)
    assert summary.loc["proposed", "mean identity distance"] == pytest.approx(0.3)
    assert summary.loc["stargan", "same person (< 0.6)"] == 0.5
    assert summary.loc["stargan", "mean sharpness kept"] == pytest.approx(0.3)


def test_fig11_identity_is_measured_on_the_face_where_the_photo_has_it():
    """Another face in the output, which the detector prefers, must not be the one compared (Fig. 11)."""
    from affect.experiments import qualitative
    from affect.face.landmarks import landmarks_for
    from affect.face.recognition import identity_distance
    from affect.image import read_image

    photos = {p.name: p for p in map(Path, qualitative.builtin_photos(4))}
    face, other = read_image(photos["lenna.png"]), read_image(photos["takeo.ppm"])
    height, width = face.shape[:2]
    photo = np.full((height, width + other.shape[1], 3), 128, np.uint8)
    photo[:, :width] = face
    output = photo.copy()
    output[: other.shape[0], width:] = other  # takeo's face beside lenna's, the detector's first choice
    landmarks = landmarks_for(photo)
    box = gan_baselines._face_box(photo, landmarks)
    assert identity_distance(photo, output, landmarks) > 0.6
    assert gan_baselines._identity(photo, output, landmarks, box) < 1e-6
