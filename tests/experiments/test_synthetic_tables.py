"""Tests of affect.experiments.synthetic_tables: Tables 10 and 11, the synthesized faces as test and training set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from affect.experiments import synthetic_tables
from affect.experiments.synthetic_tables import METHODS, SOURCES
from affect.experiments.tables import Row, RunResult
from affect.run import start


def _photos(folder: Path, n: int = 3) -> pd.DataFrame:
    """Training rows of the datasets schema: still images with (fake) landmarks."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), np.full((64, 64, 3), 30 * i, np.uint8))
        rows.append(
            dict(
                path=str(path),
                subject=f"s{i}",
                sequence=f"v{i}",
                frame=i,
                valence=0.0,
                arousal=0.0,
                expression=None,
                landmarks=np.full((68, 2), float(i)),
            )
        )
    return pd.DataFrame(rows)


def _build(folder: Path, sources: list[str], targets: list[tuple[float, float]]) -> Path:
    """An augmentation build: one synthesized image per (source, VA target)."""
    from affect.augmentation.manifest import MANIFEST_COLUMNS, write_manifest

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (source, (valence, arousal)) in enumerate(zip(sources, targets)):
        cv2.imwrite(str(folder / f"out{k}.png"), np.zeros((64, 64, 3), np.uint8))
        rows.append(
            dict(
                output=f"out{k}.png",
                source=source,
                subject=f"from-{Path(source).stem}",
                sequence="v0",
                valence=valence,
                arousal=arousal,
                expression=None,
                va_class=k,
                identity_distance=0.3,
            )
        )
    write_manifest(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), folder / "manifest.csv")
    return folder


def test_a_synthesized_test_face_is_scored_against_the_target_it_was_synthesized_for(tmp_path, monkeypatch):
    from affect import datasets

    photos = _photos(tmp_path / "db")
    targets = [(0.6, -0.2), (-0.4, 0.7), (0.1, 0.3)]
    built = _build(tmp_path / "built", [photos.loc[2, "path"], photos.loc[0, "path"], photos.loc[2, "path"]], targets)
    monkeypatch.setattr(datasets, "load", lambda name, root, split, **kw: photos)
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path / "out")
    frame = synthetic_tables.synthesized_test_frame(SOURCES[0], built, run)
    assert frame[["valence", "arousal"]].to_numpy().tolist() == [list(t) for t in targets]
    assert [float(marks[0, 0]) for marks in frame["landmarks"]] == [2.0, 0.0, 2.0]  # the source's landmarks
    assert (frame["sequence"] == "").all()  # each face a sample of its own, not a clip of its video's faces
    assert frame["subject"].tolist() == ["from-2", "from-0", "from-2"]


def test_the_synthesized_only_training_split_holds_no_real_image(tmp_path):
    from affect.learning.prepared import with_synthesized

    photos = _photos(tmp_path / "db")
    train, val = photos.iloc[:2], photos.iloc[2:]
    built = _build(tmp_path / "built", [photos.loc[0, "path"], photos.loc[2, "path"]], [(0.5, 0.5), (-0.5, 0.1)])
    alone = with_synthesized(train, built, only=True, sources=photos)
    assert len(alone) == 2
    assert not set(alone["path"]) & set(photos["path"])
    assert all(Path(p).parent == built for p in alone["path"])
    # a face made from a validation subject's photo is still cropped with that photo's landmarks
    assert float(alone["landmarks"].iloc[1][0, 0]) == 2.0
    assert val["path"].iloc[0] not in set(train["path"])
    assert len(with_synthesized(train, built)) == len(train) + 2  # Tables 2 to 4 keep the real rows


def test_the_synthesized_subset_keeps_the_same_images_of_every_method_and_is_seeded(tmp_path):
    from affect.learning.prepared import synthesized_subset

    names = [f"_{k % 7}/{k:04d}_va{k}" for k in range(40)]
    ours = pd.DataFrame({"path": [str(tmp_path / "proposed" / f"{n}.jpg") for n in names], "valence": range(40)})
    stargan = pd.DataFrame({"path": [str(tmp_path / "stargan" / f"{n}.png") for n in reversed(names)]})
    kept = synthesized_subset(ours, 12, seed=0)
    assert len(kept) == 12 and kept["valence"].is_monotonic_increasing  # plan order kept
    stems = lambda frame: sorted(Path(p).stem for p in frame["path"])  # noqa: E731
    assert stems(kept) == stems(synthesized_subset(stargan, 12, seed=0))
    assert stems(kept) != stems(synthesized_subset(ours, 12, seed=1))
    assert synthesized_subset(ours, None, seed=0) is ours and synthesized_subset(ours, 40, seed=0) is ours


def test_training_on_synthesized_faces_alone_needs_a_build():
    from affect import profiles
    from affect.learning import runs

    with pytest.raises(ValueError, match="synthesized_only: needs an augmentation build"):
        runs.prepare_database("affwild", "vggface_gru", profile=profiles.get("smoke"), synthesized_only=True)


def _frame(number: int, cells: dict[tuple[str, str], dict[str, tuple[float, float, float]]]) -> pd.DataFrame:
    records = {}
    for (database, method), values in cells.items():
        record = {"network": next(s.network for s in SOURCES if s.name == database)}
        for cell, (value, low, high) in values.items():
            record[cell], record[f"{cell} low"], record[f"{cell} high"] = value, low, high
        records[database, method] = record
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["database", "method"])
    return frame


def test_table_10_compares_the_intervals_of_different_test_sets():
    ccc = {"Ours": (0.5, 0.45, 0.55), "StarGAN": (0.2, 0.1, 0.3), "Ganimation": (0.45, 0.35, 0.5)}
    mse = {"Ours": (0.1, 0.08, 0.12), "StarGAN": (0.3, 0.2, 0.4), "Ganimation": (0.15, 0.11, 0.2)}
    cells = {("Aff-Wild", m): {"CCC valence": ccc[m], "MSE valence": mse[m]} for m in ccc}
    claims = synthetic_tables.interval_claims(_frame(10, cells))
    stargan, ganimation = (claims.xs(("Aff-Wild", m), level=("database", "versus")) for m in ("StarGAN", "Ganimation"))
    assert stargan["clear"].all()  # disjoint intervals, in the right direction for MSE too
    assert ganimation["holds"].all()
    assert not ganimation["clear"].any()  # better, but the intervals overlap
    sentence = synthetic_tables.claim_sentences(10, claims)[1]
    assert sentence.startswith("Aff-Wild: on this run it holds on the point estimates only")
    assert "vs StarGAN: better in 2 of 2 cells, 2 clear; vs Ganimation: better in 2 of 2 cells, 0 clear" in sentence

    worse = {**cells, ("Aff-Wild", "Ours"): {"CCC valence": (0.1, 0.0, 0.2), "MSE valence": (0.1, 0.08, 0.12)}}
    sentence = synthetic_tables.claim_sentences(10, synthetic_tables.interval_claims(_frame(10, worse)))[1]
    assert "it does not hold" in sentence


def _va_results(noise: dict[str, float], n_subjects: int = 8, frames: int = 6, seed: int = 0) -> dict:
    """Aff-Wild's three networks of Table 11 on one test set, each with its own prediction noise."""
    rng = np.random.default_rng(seed)
    n = n_subjects * frames
    truth = rng.uniform(-0.8, 0.8, (n, 2))
    base = pd.DataFrame(
        {
            "id": [f"{i}.png" for i in range(n)],
            "subject": [f"s{i // frames}" for i in range(n)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
        }
    )
    results = {}
    for method, sigma in noise.items():
        predicted = truth + rng.normal(0, sigma, truth.shape)
        results["affwild", method] = RunResult(
            Row(METHODS[method], "vggface_gru", method),
            base.assign(valence_pred=predicted[:, 0], arousal_pred=predicted[:, 1]),
            (Path(f"/runs/table_11/affwild_{method}/predictions.csv"),),
            "from scratch",
        )
    return results


def test_table_11_pairs_the_networks_on_the_shared_test_set():
    results = _va_results({"stargan": 0.6, "ganimation": 0.6, "proposed": 0.05})
    claims = synthetic_tables.paired_claims(results, n_bootstrap=200)
    assert set(claims.index.get_level_values("versus")) == {"StarGAN", "Ganimation"}
    assert claims["clear"].all()
    assert synthetic_tables.claim_sentences(11, claims)[1].startswith("Aff-Wild: on this run it holds (")
    reversed_ = synthetic_tables.paired_claims(
        _va_results({"stargan": 0.05, "ganimation": 0.05, "proposed": 0.6}), n_bootstrap=200
    )
    assert not reversed_["holds"].any()
    assert "it does not hold" in synthetic_tables.claim_sentences(11, reversed_)[1]


def test_written_table_is_labelled_and_sits_beside_the_papers(tmp_path):
    results = _va_results({"stargan": 0.5, "ganimation": 0.4, "proposed": 0.1})
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    frame = synthetic_tables.score_runs(10, results, n_bootstrap=50)
    assert frame.loc[("Aff-Wild", "Ours"), "CCC valence"] > frame.loc[("Aff-Wild", "StarGAN"), "CCC valence"]
    assert (frame["CCC valence low"] <= frame["CCC valence"]).all()
    assert frame["bootstrap unit"].eq("subject").all() and frame["n units"].eq(8).all()
    claims = synthetic_tables.interval_claims(frame)
    synthetic_tables.write_synthetic_table(10, frame, run, {"setting": "gallery: proxy", "lines": ["a note"]}, claims)
    text = (tmp_path / "tables" / "table_10.md").read_text()
    assert "PROXY data" in text.splitlines()[0] and "profile 'smoke'" in text.splitlines()[0]
    assert "0.43 - 0.33" in text  # the paper's Aff-Wild 'Ours' CCC
    assert "a note" in text and "Paper's claim (Table 10" in text
    csv = pd.read_csv(tmp_path / "tables" / "table_10.csv", index_col=[0, 1])
    assert csv.loc[("Aff-Wild", "StarGAN"), "paper MSE arousal"] == pytest.approx(0.19)
    assert csv.loc[("Aff-Wild", "Ours"), "predictions"].endswith("affwild_proposed/predictions.csv")


def test_reuse_results_names_the_prediction_file_it_lacks(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path, reuse_results=True)
    baseline = RunResult(
        Row("AffWildNet [29,30]", "vggface_gru", "baseline"),
        pd.DataFrame(),
        (tmp_path / "predictions.csv",),
        "from scratch",
    )
    with pytest.raises(FileNotFoundError, match=r"table_10/affwild_stargan/predictions\.csv: not saved"):
        synthetic_tables.synthetic_test_run(SOURCES[0], "stargan", baseline, run)
    with pytest.raises(FileNotFoundError, match=r"table_11/recola_proposed/predictions\.csv: not saved"):
        synthetic_tables.synthetic_train_run(SOURCES[1], "proposed", run)
    with pytest.raises(FileNotFoundError, match=r"table_02/affwildnet_29_30/predictions\.csv: not saved"):
        synthetic_tables.synthetic_runs(10, run)


def test_only_tables_10_and_11_are_synthetic_tables(tmp_path):
    with pytest.raises(ValueError, match="Tables 10 and 11"):
        synthetic_tables.synthetic_table(12, start("smoke", "proxy", seed=0, out_dir=tmp_path))


def test_ccc_figure_draws_a_bar_per_method_and_database_with_the_papers_values():
    import matplotlib.pyplot as plt

    frame = synthetic_tables.score_runs(
        10, _va_results({"stargan": 0.5, "ganimation": 0.4, "proposed": 0.1}), n_bootstrap=20
    )
    fig = synthetic_tables.ccc_figure(10, frame)
    bars = [patch for patch in fig.axes[0].patches]
    assert len(bars) == 3  # one database, three methods
    assert bars[2].get_height() == pytest.approx(frame.loc[("Aff-Wild", "Ours"), "CCC valence"])
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "D"]
    assert [float(line.get_ydata()[0]) for line in markers] == pytest.approx([0.33, 0.35, 0.43])
    plt.close(fig)
