"""The steps the results tables share: cells with intervals, verdicts and the table file."""

import pandas as pd
import pytest

from affect import reporting
from affect.experiments import tables
from affect.run import start


def test_video_level_accuracy_takes_the_most_frequent_frame_label():
    frames = pd.DataFrame(
        {
            "id": list("abcdef"),
            "subject": ["p"] * 6,
            "video": ["v1"] * 3 + ["v2"] * 3,
            "label": ["fear"] * 3 + ["anger"] * 3,
            "label_pred": ["fear", "anger", "fear", "anger", "fear", "sadness"],
        }
    )
    videos = tables.video_predictions(frames, ["anger", "fear", "sadness"])
    assert videos.set_index("video")["label_pred"].to_dict() == {"v1": "fear", "v2": "anger"}  # tie: first class


def test_interval_columns_name_each_cell_and_its_bounds_after_the_prefix():
    scored = pd.DataFrame(
        {"value": [0.5, 0.8], "low": [0.4, 0.7], "high": [0.6, 0.9]},
        index=pd.Index([("CCC", "valence"), ("accuracy", "")], tupleize_cols=False),
    )
    assert tables.interval_columns(scored) == {
        "CCC valence": 0.5,
        "CCC valence low": 0.4,
        "CCC valence high": 0.6,
        "accuracy": 0.8,
        "accuracy low": 0.7,
        "accuracy high": 0.9,
    }
    gain = pd.DataFrame({"improvement": [0.1], "low": [0.0], "high": [0.2]}, index=["performance"])
    assert list(tables.interval_columns(gain, prefix="improvement", value="improvement")) == [
        "improvement performance",
        "improvement performance low",
        "improvement performance high",
    ]


@pytest.mark.parametrize(
    ("better", "clear", "said"),
    [(True, True, "holds"), (True, False, "holds on the point estimates only"), (False, False, "does not hold")],
)
def test_verdict_says_holds_only_when_every_interval_agrees(better, clear, said):
    assert tables.verdict(better, clear) == said


def test_interval_cells_and_counts_leave_missing_values_blank():
    frame = pd.DataFrame({"CCC": [0.5, float("nan")], "CCC low": [0.4, 0.0], "CCC high": [0.6, 0.0]})
    assert tables.interval_cells(frame, "CCC") == ["0.500 [0.400, 0.600]", ""]
    assert tables.interval_cells(frame, "MSE") == ["", ""]
    assert [tables.count_cell(v) for v in (1234.0, float("nan"))] == ["1,234", ""]


def test_write_table_puts_heading_table_caption_stand_in_notice_and_notes_in_order(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    shown = pd.DataFrame({"accuracy: this run": ["0.500 [0.400, 0.600]"]}, index=["net"])
    md = tables.write_table(
        run, 7, title="T", setting="S", shown=shown, csv=shown, caption="C.", notes=["first", "", "second"]
    )
    lines = md.read_text().splitlines()
    assert md == tmp_path / "tables" / "table_07.md" and (tmp_path / "tables" / "table_07.csv").is_file()
    assert lines[0] == f"### Table 7: {run.title('T')} [S]"
    assert lines[-6:] == ["C.", reporting.PROXY_NOTICE, "", "first", "", "second"]


def test_a_saved_run_of_other_settings_is_moved_aside_and_not_reused(tmp_path, capsys):
    from types import SimpleNamespace

    from affect.learning import runs
    from affect.learning.pretrained import parse_weights

    def saved(folder, data_source="proxy", pretrained="from scratch"):
        folder.mkdir(parents=True)
        record = runs.TrainingRun(
            str(folder),
            "vggface",
            "va",
            "affectnet",
            data_source,
            "smoke",
            [],
            {},
            0,
            None,
            pretrained,
            None,
            False,
            {},
        )
        runs.write_run(record, folder)
        (folder / "predictions.csv").write_text("id\n")
        return folder

    run = SimpleNamespace(
        data_source="proxy", profile=SimpleNamespace(name="smoke"), seed=0, weights=parse_weights(None)
    )
    same = saved(tmp_path / "same")
    tables.move_aside_if_stale(same, run, "vggface")
    assert (same / "predictions.csv").is_file()  # the same settings: reused

    real = saved(tmp_path / "real", data_source="real")
    tables.move_aside_if_stale(real, run, "vggface")
    assert not real.exists() and (tmp_path / "real.previous" / "predictions.csv").is_file()
    assert (
        "saved with data source 'real', now 'proxy': moved to real.previous, training again" in capsys.readouterr().out
    )

    imagenet = SimpleNamespace(**{**vars(run), "weights": parse_weights("vggface=imagenet")})
    scratch = saved(tmp_path / "scratch")
    tables.move_aside_if_stale(scratch, imagenet, "vggface")
    assert not scratch.exists()
    assert "weights 'from scratch', now 'ImageNet (torchvision vgg16 IMAGENET1K_V1)'" in capsys.readouterr().out
    pretrained = saved(tmp_path / "pretrained", pretrained="ImageNet (torchvision vgg16 IMAGENET1K_V1)")
    tables.move_aside_if_stale(pretrained, imagenet, "vggface")
    tables.move_aside_if_stale(pretrained, run, None)  # a row fine-tuned from another: weights not compared
    assert pretrained.exists()
