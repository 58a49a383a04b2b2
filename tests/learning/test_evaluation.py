"""Tests for affect.learning.evaluation: predictions files, scores, bootstrap intervals."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from affect import metrics
from affect.learning.evaluation import bootstrap, bootstrap_unit, evaluate, score
from affect.learning.training import fit


def test_bootstrap_resamples_whole_subjects_and_is_seeded():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, (60, 2))
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(60)],
            "subject": [f"s{i % 6}" for i in range(60)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
            "valence_pred": truth[:, 0] + rng.normal(0, 0.3, 60),
            "arousal_pred": truth[:, 1] + rng.normal(0, 0.3, 60),
        }
    )
    table = bootstrap(frame, score, n=200, seed=1)
    assert table.loc["ccc_valence", "value"] == pytest.approx(metrics.ccc(frame.valence, frame.valence_pred))
    assert (table["low"] <= table["value"] + 1e-12).all() and (table["value"] <= table["high"] + 1e-12).all()
    assert table["unit"].iloc[0] == "subject" and table["n_units"].iloc[0] == 6
    pd.testing.assert_frame_equal(table, bootstrap(frame, score, n=200, seed=1))


def test_bootstrap_unit_falls_back_to_videos_then_samples():
    frame = pd.DataFrame({"id": ["a", "b", "c"], "subject": ["", "", ""], "video": ["1", "1", "2"]})
    assert bootstrap_unit(frame) == "video"
    assert bootstrap_unit(frame.drop(columns="video")) == "id"


def test_evaluate_writes_va_predictions_and_scores(tmp_path, tiny_sizes, toy_faces):
    train, test = toy_faces(tmp_path, 96), toy_faces(tmp_path, 32, seed=2)
    module = fit("vggface", "va", train, test, replace(tiny_sizes, max_epochs=2), tmp_path / "run")
    result = evaluate(module, test, tmp_path / "run", n_bootstrap=50)
    saved = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(saved.columns) == ["id", "subject", "valence", "arousal", "valence_pred", "arousal_pred"]
    assert len(saved) == 32 and saved["valence_pred"].abs().max() <= 1
    recomputed = metrics.score_va(saved[["valence", "arousal"]], saved[["valence_pred", "arousal_pred"]])
    scores = pd.read_csv(tmp_path / "run" / "scores.csv", index_col="criterion")
    assert scores.loc["ccc_mean", "value"] == pytest.approx(recomputed["ccc_mean"])
    assert result.scores.loc["mse_valence", "unit"] == "subject"


def test_recurrent_evaluation_scores_every_frame_of_every_video_once(tmp_path, tiny_sizes, toy_faces):
    train, test = toy_faces(tmp_path, 48, videos=4), toy_faces(tmp_path, 30, videos=4, seed=2)
    module = fit("vggface_gru", "va", train, test, replace(tiny_sizes, max_epochs=1), tmp_path / "run")
    result = evaluate(module, test, tmp_path / "run", fold=3, n_bootstrap=20)
    assert sorted(result.predictions["id"]) == sorted(test.index["id"])  # 30 frames, windows of 4
    assert list(result.predictions.columns[:5]) == ["id", "subject", "fold", "video", "frame"]


def test_expression_predictions_hold_class_names(tmp_path, tiny_sizes, toy_faces):
    classes = ["neutral", "happiness", "sadness"]
    train, test = toy_faces(tmp_path, 48), toy_faces(tmp_path, 24, seed=2)
    module = fit(
        "vggface", "expression", train, test, replace(tiny_sizes, max_epochs=1), tmp_path / "run", classes=classes
    )
    result = evaluate(module, test, tmp_path / "run", n_bootstrap=20)
    assert set(result.predictions["label_pred"]) <= set(classes)
    assert {"accuracy", "f1_macro", "confusion_mean_diagonal"} <= set(result.scores.index)
