"""Tables 2 to 9 are computed from saved predictions: cells, intervals, claims, video pooling."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from affect import metrics, paper  # noqa: E402
from affect.experiments import affect_figures, affect_tables, tables  # noqa: E402
from affect.experiments.affect_tables import TABLES  # noqa: E402
from affect.experiments.tables import RunResult
from affect.run import start


def _va_predictions(noise: float, seed: int = 0, n: int = 120, folds: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(-1, 1, (n, 2))
    guess = np.clip(truth + rng.normal(0, noise, truth.shape), -1, 1)
    frame = pd.DataFrame(
        {
            "id": [f"i{k}" for k in range(n)],
            "subject": [f"s{k % 12}" for k in range(n)],
            "valence": truth[:, 0],
            "arousal": truth[:, 1],
            "valence_pred": guess[:, 0],
            "arousal_pred": guess[:, 1],
        }
    )
    if folds:
        frame.insert(2, "fold", np.arange(n) % folds)
    return frame


def _result(spec, role, predictions):
    row = next(r for r in spec.rows if r.role == role)
    return RunResult(row, predictions, (Path("/r") / row.slug / "predictions.csv",), "from scratch")


def test_every_table_names_rows_of_the_paper_and_one_baseline_and_one_proposed_row():
    for number, spec in TABLES.items():
        labels = set(paper.table(number).index)
        assert sum(r.role == tables.PROPOSED for r in spec.rows) == 1
        assert sum(r.role == tables.BASELINE for r in spec.rows) == 1
        assert {r.label for r in spec.rows if r.network is None} <= labels, number


def test_table_cells_are_recomputed_from_the_predictions_with_intervals():
    spec = TABLES[4]
    good, bad = _va_predictions(0.1), _va_predictions(0.6, seed=1)
    results = {
        "the VGG-FACE baseline": _result(spec, "baseline", bad),
        "VGG-FACE trained using the proposed approach": _result(spec, "proposed", good),
    }
    frame = affect_tables.table_frame(spec, results, n_bootstrap=200, reports_dir=Path("/"))
    proposed = frame.loc["VGG-FACE trained using the proposed approach"]
    assert proposed["CCC valence"] == pytest.approx(metrics.ccc(good["valence"], good["valence_pred"]))
    assert proposed["CCC valence low"] <= proposed["CCC valence"] <= proposed["CCC valence high"]
    assert proposed["predictions"] == "r/vgg_face_trained_using_the_proposed_approach/predictions.csv"
    assert frame.loc["AlexNet [42]", "status"] == tables.NOT_RERUN
    assert frame.loc["VGG-FACE trained using StarGAN", "status"] == tables.NOT_RUN_YET
    assert list(frame.index[:5]) == list(paper.table(4).index)


def test_cross_validated_cells_are_the_mean_over_folds():
    spec = TABLES[5]
    predictions = _va_predictions(0.3, folds=3)
    result = _result(spec, "proposed", predictions)
    results = {result.row.label: result}
    frame = affect_tables.table_frame(spec, results, n_bootstrap=50)
    by_fold = [metrics.pcc(p["valence"], p["valence_pred"]) for _, p in predictions.groupby("fold")]
    assert frame.loc["VGG-FACE-GRU trained using the proposed approach", "PCC valence"] == pytest.approx(
        np.mean(by_fold)
    )


def test_paired_claim_holds_for_a_clearly_better_network_and_not_the_other_way():
    spec = TABLES[2]
    good, bad = _result(spec, "proposed", _va_predictions(0.1)), _result(spec, "baseline", _va_predictions(0.7))
    claim = tables.paired_claim(spec, good, bad, n_bootstrap=200)
    assert claim["holds"].all() and claim["clear"].all()
    assert set(claim.index) == {"CCC valence", "CCC arousal", "MSE valence", "MSE arousal"}
    reverse = tables.paired_claim(spec, bad, good, n_bootstrap=200)
    assert not reverse["holds"].any()
    sentence = affect_tables.claim_sentence(spec, reverse, "the baseline")
    assert "does not hold" in sentence and "MSE arousal" in sentence
    assert "it holds (every interval" in affect_tables.claim_sentence(spec, claim, "the baseline")
    unclear = claim.assign(clear=[True, False, True, True])
    assert "holds on the point estimates only (1 of 4" in affect_tables.claim_sentence(spec, unclear, "b")


def test_the_table_file_shows_intervals_beside_the_paper_and_the_csv_is_machine_readable(tmp_path):
    spec = TABLES[7]
    rng = np.random.default_rng(0)
    labels = rng.choice(["neutral", "happiness", "sadness"], 90)
    predicted = np.where(rng.random(90) < 0.7, labels, "neutral")
    predictions = pd.DataFrame(
        {"id": range(90), "subject": [f"s{k % 9}" for k in range(90)], "label": labels, "label_pred": predicted}
    )
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    result = _result(spec, "baseline", predictions)
    frame = affect_tables.table_frame(spec, {result.row.label: result}, n_bootstrap=50)
    md = affect_tables.write_affect_table(spec, frame, run, setting="gallery: proxy", notes=["a note"])
    text = md.read_text()
    assert text.splitlines()[0].startswith("### Table 7:") and "PROXY data" in text.splitlines()[0]
    assert "accuracy: paper" in text and "a note" in text and "[" in text
    table = pd.read_csv(tmp_path / "tables" / "table_07.csv", index_col=0)
    assert table.loc["the VGG-FACE baseline", "accuracy"] == pytest.approx(np.mean(labels == predicted))
    assert table.loc["AlexNet [42]", "paper accuracy"] == 0.58


def test_figures_draw_one_panel_per_network():
    spec = TABLES[4]
    fig = affect_figures.va_mse_figure({"a": _va_predictions(0.2), "b": _va_predictions(0.4)})
    assert len([ax for ax in fig.axes if ax.images]) == 3
    frames = pd.DataFrame({"label": ["fear", "anger"], "label_pred": ["fear", "fear"]})
    fig = affect_figures.confusion_figure({"x": frames}, ["anger", "fear"])
    assert fig.axes[0].images[0].get_array()[0, 1] == 1.0  # anger row: all predicted fear
    assert affect_figures.va_histogram_figure(_va_predictions(0.1)).axes
    assert spec.kind == "va" and TABLES[9].kind == "expression"


def test_a_smoke_table_stores_no_absolute_path_of_its_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path / "reports")
    affect_tables.table_report(affect_tables.TABLES[6], run)
    written = [p for p in (tmp_path / "reports").rglob("*") if p.suffix in (".csv", ".json", ".md") and p.is_file()]
    assert any(p.name == "run.json" for p in written) and any(p.name == "predictions.csv" for p in written)
    assert [p for p in written if str(tmp_path) in p.read_text()] == []


def test_the_setting_names_each_networks_weights(tmp_path):
    spec = TABLES[3]
    rows = {r.role: r for r in spec.rows}
    results = {
        "a": RunResult(rows["baseline"], pd.DataFrame(), (), "ImageNet (torchvision resnet50 IMAGENET1K_V1)"),
        "b": RunResult(rows["proposed"], pd.DataFrame(), (), "ImageNet (torchvision resnet50 IMAGENET1K_V1)"),
        "c": RunResult(rows["fine-tuned"], pd.DataFrame(), (), "fine-tuned from affwildnet_29_30"),
    }
    setting = tables.run_setting(start("smoke", out_dir=tmp_path), results)
    assert setting.endswith(
        "weights: ResNet-GRU: ImageNet (torchvision resnet50 IMAGENET1K_V1); "
        "VGG-FACE-GRU: fine-tuned from affwildnet_29_30"
    )
    assert tables.weights_setting({}) == "weights: from scratch"


def test_table_9_says_whether_its_convolutions_were_frozen():
    spec = TABLES[9]
    baseline = next(r for r in spec.rows if r.role == tables.BASELINE)
    scratch = {"b": RunResult(baseline, pd.DataFrame(), (), "from scratch")}
    assert "so its convolutions trained too" in affect_tables.frozen_note(scratch)
    pretrained = {"b": RunResult(baseline, pd.DataFrame(), (), "vgg_face_kit.pth (VGG-Face)")}
    assert affect_tables.frozen_note(pretrained).startswith("Convolutions frozen on the pretrained weights")
    other = next(r for r in TABLES[4].rows if r.role == tables.BASELINE)
    assert affect_tables.frozen_note({"b": RunResult(other, pd.DataFrame(), (), "from scratch")}) == ""


def test_affwildnet_rows_take_landmarks_and_the_note_says_where_from():
    table2 = [*TABLES[2].rows, *affect_tables.gan_rows(TABLES[2])]
    assert all(r.landmarks for r in table2 if r.network == "vggface_gru")
    assert next(r for r in TABLES[3].rows if r.fine_tune).landmarks
    assert not any(r.landmarks for number in (4, 5, 6, 7, 8, 9) for r in TABLES[number].rows)
    results = {r.label: RunResult(r, pd.DataFrame(), (), "from scratch") for r in TABLES[2].rows if r.network}
    note = affect_tables.landmarks_note(results)
    assert note.startswith("AffWildNet [29,30], VGG-FACE-GRU trained using the proposed approach: the network takes")
    assert "68 landmarks" in note and "neutral source's landmarks" in note and "68-point predictor" in note
    others = {r.label: RunResult(r, pd.DataFrame(), (), "from scratch") for r in TABLES[4].rows if r.network}
    assert affect_tables.landmarks_note(others) == ""


def test_table_8_runs_vgg_face_fer_pretrained_on_fer2013_then_on_afew():
    from affect.datasets import PRETRAINING_NAMES

    row = next(r for r in TABLES[8].rows if r.label == "VGG-FACE-FER [28]")
    assert (row.network, row.role, row.pretrain) == ("vggface", affect_tables.PRETRAINED, "fer2013")
    assert row.label in paper.table(8).index
    assert {r.pretrain for spec in TABLES.values() for r in spec.rows if r.pretrain} <= set(PRETRAINING_NAMES)


def test_a_real_run_without_fer2013_leaves_the_row_out_and_the_note_says_so(tmp_path, monkeypatch):
    from dataclasses import replace

    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    run = start("smoke", "real", seed=0, out_dir=tmp_path / "reports")
    spec = TABLES[8]
    missing = affect_tables.missing_pretraining(spec, run)
    assert missing == {"VGG-FACE-FER [28]": tmp_path / "data" / "fer2013"}
    only_fer = replace(spec, rows=tuple(r for r in spec.rows if r.pretrain))
    assert affect_tables.run_table(only_fer, run, gans=False) == {}  # nothing trained, no error
    note = affect_tables.pretraining_note(spec, run, {})
    assert note.startswith("VGG-FACE-FER [28]: not run,") and affect_tables.PRETRAINING_SECTION in note
    left_out = affect_tables.left_out_rows(spec, run)
    assert left_out == {"VGG-FACE-FER [28]": "not run: data/fer2013 missing"}
    frame = affect_tables.table_frame(spec, {}, n_bootstrap=10, left_out=left_out)
    assert frame.loc["VGG-FACE-FER [28]", "status"] == "not run: data/fer2013 missing"
    assert frame.loc["VGG-FACE-external [65]", "status"] == tables.NOT_RERUN  # rows the kit never runs keep theirs
    (tmp_path / "data" / "fer2013").mkdir(parents=True)
    assert affect_tables.missing_pretraining(spec, run) == {} and affect_tables.left_out_rows(spec, run) == {}
    assert affect_tables.missing_pretraining(spec, start("smoke", "proxy", out_dir=tmp_path / "p")) == {}


def test_the_vgg_face_fer_row_pretrains_on_fer2013_then_fine_tunes_on_afew(tmp_path, monkeypatch):
    from dataclasses import replace

    from affect.learning import runs

    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path / "reports")
    spec = TABLES[8]
    only_fer = replace(spec, rows=tuple(r for r in spec.rows if r.pretrain))
    results = affect_tables.run_table(only_fer, run, gans=False)
    result = results["VGG-FACE-FER [28]"]
    runs_dir = tmp_path / "reports" / "results" / "runs"
    assert result.files == (runs_dir / "table_08" / "vgg_face_fer_28" / "predictions.csv",)
    pretraining = runs.read_run(runs_dir / "pretraining" / "vggface_fer2013")
    assert (pretraining.database, pretraining.task, pretraining.network) == ("fer2013", "expression", "vggface")
    fine_tuned = runs.read_run(result.files[0].parent)
    assert fine_tuned.database == "afew" and fine_tuned.pretrained == "fine-tuned from vggface_fer2013"
    assert fine_tuned.classes == pretraining.classes
    frame = affect_tables.table_frame(spec, results, n_bootstrap=10)
    assert frame.loc["VGG-FACE-FER [28]", "status"] == "re-run"
    assert frame.loc["VGG-FACE-FER [28]", "bootstrap unit"] == "video"
    note = affect_tables.pretraining_note(spec, run, results)
    assert "accuracy" in note and "stand-in" in note
    # Saved predictions are reused: a second call trains nothing and reads the same rows.
    again = affect_tables.run_table(only_fer, replace(run, reuse_results=True), gans=False)
    pd.testing.assert_frame_equal(again["VGG-FACE-FER [28]"].predictions, result.predictions)


def test_a_smoke_table_4_on_imagenet_weights_says_so_and_builds_vgg_face_at_the_published_width(
    tmp_path, monkeypatch, imagenet_vgg16
):
    from dataclasses import replace

    from affect.learning import runs

    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    run = start("smoke", "proxy", seed=0, weights="vggface=imagenet", out_dir=tmp_path / "reports")
    spec = TABLES[4]
    trained = replace(spec, rows=tuple(r for r in spec.rows if r.role in ("alexnet", tables.BASELINE)))
    results = affect_tables.run_table(trained, run, gans=False)
    frame = affect_tables.table_frame(spec, results, n_bootstrap=10)
    md = affect_tables.write_affect_table(spec, frame, run, setting=tables.run_setting(run, results), notes=[])
    title = md.read_text().splitlines()[0]
    assert "weights: AlexNet: from scratch; VGG-FACE: ImageNet (torchvision vgg16 IMAGENET1K_V1)" in title
    assert "width x0.0625 (VGG-FACE: x1, pretrained)" in title
    widths = {r.row.network: runs.read_run(r.files[0].parent).sizes["width"] for r in results.values()}
    assert widths == {"alexnet": 0.0625, "vggface": 1.0}
