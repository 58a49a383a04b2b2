"""Tests of affect.experiments.granularity: Table 12's points, nested subsets, reused runs, deductions (Sec. 6.4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from affect.experiments import affect_tables, granularity, tables
from affect.experiments.tables import BASELINE, PROPOSED, RunResult
from affect.run import Run, start


def test_fractions_are_table_12s_n_over_the_rows_last_n():
    assert granularity.fractions("BU-3DFE").tolist() == pytest.approx([1 / 3, 2 / 3, 1])
    affectnet = granularity.fractions("AffectNet (VA)")
    assert len(affectnet) == 17
    assert affectnet[0] == pytest.approx(10_000 / 2_500_000) and affectnet[-1] == 1
    with pytest.raises(ValueError, match="Table 12 has no row"):
        granularity.paper_points("JAFFE")


def test_scaled_points_keep_one_index_per_n_and_end_at_the_whole_set():
    assert granularity.scaled_points(granularity.fractions("BU-3DFE"), 600) == [(0, 200), (1, 400), (2, 600)]
    # Aff-Wild's 10K to 60K on 2 images: 1/6 to 4/6 round to 1, 5/6 to 2; the whole set is the paper's 60K.
    assert granularity.scaled_points(granularity.fractions("Aff-Wild"), 2) == [(0, 1), (5, 2)]
    with pytest.raises(ValueError, match="empty"):
        granularity.scaled_points(granularity.fractions("Aff-Wild"), 0)


def test_chosen_points_spread_the_profiles_count_and_keep_the_smallest_and_the_whole_set():
    points = granularity.scaled_points(granularity.fractions("AffectNet (VA)"), 2_500_000)
    assert granularity.chosen_points(points, None) == points
    assert granularity.chosen_points(points, 1) == [points[0], points[-1]]
    two = granularity.chosen_points(points, 2)
    assert len(two) == 3 and two[0] == points[0] and two[-1] == points[-1] and two[1] == points[8]
    assert granularity.chosen_points(points, 0) == [points[-1]]


def test_subsets_are_nested_seeded_and_bounded():
    manifest = pd.DataFrame({"output": [f"img{i}.png" for i in range(50)]})
    subsets = [set(granularity.nested_subset(manifest, n, seed=3)["output"]) for n in (1, 5, 20, 50)]
    assert [len(s) for s in subsets] == [1, 5, 20, 50]
    assert all(small < large for small, large in zip(subsets, subsets[1:]))
    assert set(granularity.nested_subset(manifest, 20, seed=4)["output"]) != subsets[2]
    with pytest.raises(ValueError, match="holds 50"):
        granularity.nested_subset(manifest, 51, seed=0)


def test_point_folders_separate_seeds_and_folds(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    runs = tmp_path / "results" / "runs" / "granularity" / "table_05"
    assert granularity.point_dir(run, 5, 3, 0, 0) == runs / "n3" / "fold0"
    assert granularity.point_dir(run, 5, 0, 1, None) == runs / "seed1" / "n0"


# --- the runs: endpoints reused -------------------------------------------------------------------


def _fake_table(spec):
    rows = {r.role: r for r in spec.rows}
    return {
        rows[role].label: RunResult(rows[role], pd.DataFrame(), (Path(f"/table/{role}.csv"),), "from scratch")
        for role in (BASELINE, PROPOSED)
    }


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """The table runs, the augmented set and training replaced by records of what was asked."""
    trained = []
    monkeypatch.setattr(affect_tables, "run_table", lambda spec, run, **kw: _fake_table(spec))
    monkeypatch.setattr(Run, "augmented_set", lambda *a, **kw: SimpleNamespace(folder=tmp_path, real=100))
    manifest = pd.DataFrame({"output": [f"img{i}.png" for i in range(12)]})
    monkeypatch.setattr(granularity, "_synthesized", lambda run, spec, built, seed, fold: manifest)

    def train(run, spec, network, run_dir, seed, fold, extra, *rest):
        trained.append((run_dir.relative_to(run.out_dir).as_posix(), seed))
        return run_dir / "predictions.csv"

    monkeypatch.setattr(granularity, "_train", train)
    monkeypatch.setattr(granularity, "_result", lambda row, files: RunResult(row, pd.DataFrame(), tuple(files), ""))
    return trained


def test_endpoints_are_the_tables_runs_and_only_points_between_train(no_training, tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    runs = granularity.curve_runs(granularity.CURVES[0], run)  # Aff-Wild, Table 2
    by_n = runs.results[0]
    assert by_n[0].files == (Path("/table/baseline.csv"),) and by_n[12].files == (Path("/table/proposed.csv"),)
    assert no_training == [("results/runs/granularity/table_02/n2", 0)]  # 10K / 60K of 12 images
    assert sorted(by_n) == [0, 2, 12]


def test_extra_seeds_train_every_point_including_the_endpoints(no_training, tmp_path, monkeypatch):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    run = replace(run, profile=replace(run.profile, granularity_seeds=2))
    runs = granularity.curve_runs(granularity.CURVES[0], run)
    assert sorted(runs.results) == [0, 1]
    assert sorted(d for d, seed in no_training if seed == 1) == [
        f"results/runs/granularity/table_02/seed1/n{n}" for n in (0, 12, 2)
    ]
    assert len([d for d, seed in no_training if seed == 0]) == 1


# --- the improvement ------------------------------------------------------------------------------


def _va_pair(seed: int = 0) -> tuple[RunResult, RunResult]:
    rng = np.random.default_rng(seed)
    n = 40
    truth = rng.uniform(-0.8, 0.8, (n, 2))
    base = pd.DataFrame(
        {
            "id": [f"v{i // 5}/{i}.png" for i in range(n)],
            "subject": [f"s{i // 5}" for i in range(n)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
        }
    )
    rows = {r.role: r for r in affect_tables.TABLES[2].rows if r.network}
    made = {}
    for role, noise in ((BASELINE, 0.6), (PROPOSED, 0.1)):
        predictions = base.assign(
            valence_pred=truth[:, 0] + rng.normal(0, noise, n), arousal_pred=truth[:, 1] + rng.normal(0, noise, n)
        )
        made[role] = RunResult(rows[role], predictions, (Path(f"/{role}.csv"),), "from scratch")
    return made[PROPOSED], made[BASELINE]


def test_improvement_is_the_difference_of_the_mean_ccc_with_a_paired_interval():
    better, worse = _va_pair()
    gain = granularity.improvement(granularity.CURVES[0], better, worse, n_bootstrap=50)
    cells = tables.paired_claim(replace(affect_tables.TABLES[2], criteria=("ccc",)), better, worse, n_bootstrap=10)
    assert gain["improvement"] == pytest.approx(cells["improvement"].mean())
    assert gain["low"] <= gain["improvement"] <= gain["high"] and gain["low"] > 0


# --- the deductions on constructed numbers -------------------------------------------------------------

_REAL = {
    "Aff-Wild": 1_000_000,
    "RECOLA": 120_000,
    "AffectNet (VA)": 320_000,
    "AFEW-VA": 23_000,
    "RAF-DB": 12_000,
    "AffectNet (Expressions)": 290_000,
    "AFEW": 40_000,
    "BU-3DFE": 2_000,
}


def _constructed(paper_like: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points and steps of all eight curves: N = 10, 100, 1000; the final gain shrinks with the database's size."""
    records, steps = [], []
    for curve in granularity.CURVES:
        final = 0.3 * (2_000 / _REAL[curve.name]) ** 0.2  # the expression databases are the smaller ones
        final = final if paper_like else -final
        gains = {10: final * 0.1, 100: final * 0.9, 1000: final}
        for n, gain in gains.items():
            records.append(
                {
                    "database": curve.name,
                    "table": curve.table,
                    "criterion": curve.criterion,
                    "paper N": n,
                    "fraction": n / 1000,
                    "N": n,
                    "seed": 0,
                    "improvement": gain,
                    "low": gain - 0.01,
                    "high": gain + 0.01,
                    "real training images": _REAL[curve.name],
                }
            )
        for step, low_n in (("smallest to full", 10), ("last step", 100)):
            difference = gains[1000] - gains[low_n]
            steps.append(
                {
                    "database": curve.name,
                    "step": step,
                    "from N": low_n,
                    "to N": 1000,
                    "difference": difference,
                    "low": difference - 0.005,
                    "high": difference + 0.005,
                }
            )
    return pd.DataFrame(records), pd.DataFrame(steps)


def test_deductions_hold_on_numbers_shaped_like_the_papers():
    sentences = granularity.deductions(*_constructed(paper_like=True))
    assert len(sentences) == 5
    assert "On this run it holds (" in sentences[0] and "-1.00" in sentences[0]
    assert "On this run it holds (" in sentences[1]
    assert "not testable at this scale" in sentences[2] and "1,000" in sentences[2]
    assert "On this run it holds (" in sentences[3]
    assert "On this run it holds (" in sentences[4]


def test_deductions_do_not_hold_when_augmentation_hurts():
    sentences = granularity.deductions(*_constructed(paper_like=False))
    assert "does not hold" in sentences[0]
    assert "does not hold" in sentences[1]
    assert "does not hold" in sentences[4]


def test_deductions_hold_on_point_estimates_when_intervals_cross_zero():
    points, steps = _constructed(paper_like=True)
    steps = steps.assign(low=steps["difference"] - 1.0)
    assert "holds on the point estimates only" in granularity.deductions(points, steps)[1]


def test_deductions_without_the_needed_runs_are_not_testable():
    points, steps = _constructed(paper_like=True)
    only_va = points[points["criterion"] == "mean CCC"]
    sentences = granularity.deductions(only_va[only_va["database"] != "AffectNet (VA)"], steps.iloc[:0])
    assert "not testable on this run" in sentences[1]
    assert "not testable on this run" in sentences[3]
    assert "not testable on this run" in sentences[4]


def test_plateau_is_tested_when_the_run_goes_beyond_one_and_a_half_million():
    points, steps = _constructed(paper_like=True)
    big = {10: 1_000_000, 100: 2_000_000, 1000: 2_500_000}
    points["N"] = points["N"].map(big)
    steps[["from N", "to N"]] = steps[["from N", "to N"]].replace(big)
    assert "On this run it does not hold" in granularity.deductions(points, steps)[2]  # last step clearly > 0
    flat = steps.assign(low=-0.01)
    assert "On this run it holds" in granularity.deductions(points, flat)[2]
