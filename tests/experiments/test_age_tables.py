"""Tests of affect.experiments.age_tables: age groups, per-group scores and the written tables (Sec. 6.5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect.experiments import affect_tables, age_tables
from affect.experiments.tables import BASELINE, PROPOSED, RunResult
from affect.run import start


def test_age_groups_are_the_papers_widened_to_cover_every_age():
    groups = age_tables.age_groups(13, "Aff-Wild")
    assert [g[0] for g in groups] == ["0-19", "20-29", "30-39", "40-49", "50-59", "60+"]
    assert groups[0][1:] == (0, 19) and groups[-1][1:] == (60, 100)
    affectnet = age_tables.age_groups(14, "AffectNet")
    assert affectnet[0] == ("0-19", 0, 19) and affectnet[-1] == ("90+", 90, 100)


def test_group_labels_floor_the_estimate():
    groups = age_tables.age_groups(13, "Aff-Wild")
    assert age_tables.group_labels(np.array([29.9, 30.0, 4.0, 99.5]), groups).tolist() == [
        "20-29",
        "30-39",
        "0-19",
        "60+",
    ]


def _va_results(n_subjects: int = 6, frames: int = 5, seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """Table 2's two rows on one synthetic test set: the proposed network predicts better."""
    rng = np.random.default_rng(seed)
    n = n_subjects * frames
    truth = rng.uniform(-0.8, 0.8, (n, 2))
    base = pd.DataFrame(
        {
            "id": [f"v{i // frames}/{i}.png" for i in range(n)],
            "subject": [f"s{i // frames}" for i in range(n)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
        }
    )
    rows = {r.role: r for r in affect_tables.TABLES[2].rows if r.network}
    results = {}
    for role, noise in ((BASELINE, 0.5), (PROPOSED, 0.1)):
        predictions = base.assign(
            valence_pred=truth[:, 0] + rng.normal(0, noise, n), arousal_pred=truth[:, 1] + rng.normal(0, noise, n)
        )
        results[rows[role].label] = RunResult(
            rows[role], predictions, (Path(f"/runs/{role}/predictions.csv"),), "from scratch"
        )
    ages = base[["id"]].assign(path=base["id"], age=[[25, 34, 47, 52, 70, 12][i // frames] + 0.4 for i in range(n)])
    return results, ages


def test_age_rows_count_every_sample_once_and_score_both_networks():
    results, ages = _va_results()
    source = age_tables.AGE_TABLES[13][0]
    synthesized = np.array([25.0, 26, 33, 70, 71, 72, 5])
    frame = age_tables.age_rows(13, source, results, ages, synthesized, n_bootstrap=20, seed=0)
    groups = frame.drop(index="total", level="age")
    assert groups["test samples"].sum() == frame.loc[("Aff-Wild", "total"), "test samples"] == 30
    assert dict(groups["synthesized samples"]) == {
        ("Aff-Wild", g): c for g, c in [("0-19", 1), ("20-29", 2), ("30-39", 1), ("40-49", 0), ("50-59", 0), ("60+", 3)]
    }
    assert frame.loc[("Aff-Wild", "total"), "synthesized samples"] == 7
    total = frame.loc[("Aff-Wild", "total")]
    assert total["Network-Augmented CCC valence"] > total["Network CCC valence"]
    assert total["Network-Augmented MSE arousal"] < total["Network MSE arousal"]
    assert total["improvement MSE arousal"] > 0  # for MSE the improvement is the decrease
    low, value, high = (total[f"Network CCC valence{s}"] for s in (" low", "", " high"))
    assert low <= value <= high
    assert frame.loc[("Aff-Wild", "40-49"), "mean estimated age"] == pytest.approx(47.4)


def test_claim_sentence_says_whether_augmentation_helped_in_every_group():
    results, ages = _va_results()
    frame = age_tables.age_rows(
        13, age_tables.AGE_TABLES[13][0], results, ages, np.array([30.0]), n_bootstrap=20, seed=0
    )
    assert "On this run it holds" in age_tables.claim_sentence(13, frame)
    flipped = frame.copy()
    flipped.loc[("Aff-Wild", "20-29"), "improvement CCC valence"] = -0.1
    assert "does not hold" in age_tables.claim_sentence(13, flipped)


def test_written_table_is_labelled_and_sits_beside_the_papers(tmp_path):
    results, ages = _va_results()
    frame = age_tables.age_rows(
        13, age_tables.AGE_TABLES[13][0], results, ages, np.array([30.0]), n_bootstrap=20, seed=0
    )
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    notes = {
        "estimator": "Age estimator: a test line.",
        "files": ["runs/x/predictions.csv"],
        "setting": "gallery: proxy",
    }
    md = age_tables.write_age_table(13, frame, run, notes)
    text = md.read_text()
    assert "PROXY data" in text.splitlines()[0] and "profile 'smoke'" in text.splitlines()[0]
    assert "Aff-Wild 30-39" in text and "0.660 - 0.470" in text  # the paper's Network-Augmented CCC
    assert "Age estimator: a test line." in text
    csv = pd.read_csv(tmp_path / "tables" / "table_13.csv", index_col=[0, 1])
    assert csv.loc[("Aff-Wild", "30-39"), "paper test samples"] == 99962
    assert csv.loc[("Aff-Wild", "total"), "test samples"] == 30
    assert csv["predictions"].iloc[0] == "runs/x/predictions.csv"


def test_only_tables_13_and_14_are_age_tables(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    with pytest.raises(ValueError, match="Tables 13 and 14"):
        age_tables.age_table(12, run)
