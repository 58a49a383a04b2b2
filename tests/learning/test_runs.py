"""Tests for affect.learning.runs: a run on a stand-in database, from files to predictions."""

import json

import pandas as pd
import pytest

from affect import profiles
from affect.learning import runs

SMOKE = profiles.get("smoke")


def test_train_and_evaluate_a_stand_in_database(smoke, tmp_path):
    run = runs.train("vggface", "affectnet", tmp_path / "run", profile=SMOKE, cache_root=tmp_path / "cache")
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    assert saved["task"] == "va" and saved["pretrained"] == "from scratch" and saved["sizes"]["input_size"] == 32
    assert set(run.prepared) == {"train", "val", "test"}
    result = runs.evaluate_run(tmp_path / "run", n_bootstrap=20)
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(predictions) == len(result.predictions) > 0
    assert predictions["id"].str.endswith(".jpg").all() and not predictions["id"].str.startswith("/").any()


def test_run_json_stores_paths_relative_to_the_run_folder_and_reads_old_absolute_ones(smoke, tmp_path):
    run = runs.train("vggface", "affectnet", tmp_path / "run", profile=SMOKE, cache_root=tmp_path / "cache")
    text = (tmp_path / "run" / "run.json").read_text()
    saved = json.loads(text)
    assert str(tmp_path) not in text and saved["run_dir"] == "."
    assert saved["prepared"]["test"].startswith("../cache/")
    moved = tmp_path / "moved"  # the run and the data it read, moved together (a project copied elsewhere)
    moved.mkdir()
    for folder in ("run", "cache"):
        (tmp_path / folder).rename(moved / folder)
    read = runs.read_run(moved / "run")
    assert read.run_dir == str(moved / "run")
    assert read.prepared["test"] == run.prepared["test"].replace(str(tmp_path), str(moved))
    old = {**saved, "run_dir": "/elsewhere/run", "prepared": run.prepared}  # written before paths were relative
    (moved / "run" / "run.json").write_text(json.dumps(old))
    assert runs.read_run(moved / "run").prepared == run.prepared


def test_expression_run_uses_the_database_classes(smoke, tmp_path):
    run = runs.train(
        "vggface", "affectnet", tmp_path / "run", profile=SMOKE, task="expression", cache_root=tmp_path / "cache"
    )
    assert run.classes and set(run.classes) <= {
        "neutral",
        "anger",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "surprise",
        "contempt",
    }


def test_a_missing_database_folder_is_one_line_naming_it(smoke, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"proxy-smoke/rafdb: database folder not found; write the stand-in "
        r"with 'affect data proxy rafdb --profile smoke'",
    ):
        runs.train("vggface", "rafdb", tmp_path / "run", profile=SMOKE)


def test_va_on_an_expression_database_is_refused(smoke, tmp_path):
    with pytest.raises(ValueError, match="rafdb has no valence-arousal labels"):
        runs.train("vggface", "rafdb", tmp_path / "run", profile=SMOKE, task="va")


def test_hold_out_keeps_subjects_apart():
    frame = pd.DataFrame({"subject": [f"s{i % 10}" for i in range(100)], "sequence": "", "path": "x"})
    train, val = runs._hold_out(frame, seed=0)
    assert not set(train["subject"]) & set(val["subject"]) and val["subject"].nunique() == 2


def test_a_fold_database_with_fewer_subjects_than_folds_gets_one_fold_per_subject(tmp_path):
    import numpy as np

    from affect.datasets import Sample, write_layout

    rng = np.random.default_rng(0)
    samples = [
        Sample(
            image=rng.integers(0, 255, (40, 40, 3), dtype=np.uint8),
            split="all",
            subject=f"{s:03d}",
            sequence=f"{s:03d}",
            valence=0.1,
            arousal=0.2,
        )
        for s in range(3)
        for _ in range(2)
    ]
    write_layout("afew_va", tmp_path / "afew_va", samples)
    splits = runs.database_splits("afew_va", tmp_path / "afew_va", fold=2)
    seen = [set(splits[part]["subject"]) for part in ("train", "val", "test")]
    assert [len(s) for s in seen] == [1, 1, 1] and len(set.union(*seen)) == 3  # 3 subjects, 3 folds
    with pytest.raises(ValueError, match="fold: afew_va has folds 0 to 2"):
        runs.database_splits("afew_va", tmp_path / "afew_va", fold=3)
