"""Tests of affect.bench.report: ``bench.md`` and the ``bench.json`` round trip."""

from __future__ import annotations

import json

import pytest

from affect.bench import BenchResult, StageTiming, bench_markdown, load_bench, save_bench


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


def test_markdown_marks_targets_met_and_missed(squeeze):
    lines = squeeze(bench_markdown(_result(fit_ms=10.0, affect_ms=50.0))).splitlines()
    fitting_row = next(line for line in lines if line.startswith("| 3DMM fitting"))
    affect_row = next(line for line in lines if line.startswith("| one new affect"))
    assert fitting_row == "| 3DMM fitting to 68 landmarks | native | 10.0 | 9.0-11.0 | 8.0-12.0 | 3 | | <= 35 | pass |"
    assert affect_row.endswith("| <= 20 | FAIL |")
    assert "| a.png | native | 10.0 | |" in lines and "| a.png | 256 | | 50.0 |" in lines
    assert "eos skipped: not installed." in lines


def test_markdown_gives_the_eos_speed_ratio_when_eos_ran():
    result = _result(fit_ms=20.0, eos_ms=80.0)
    assert result.eos_ratio == pytest.approx(4.0)
    text = bench_markdown(result)
    assert "Ratios against a reference run in the same process" in text
    assert "4.00 x as fast" in text


def test_save_and_load_round_trip(tmp_path):
    result = _result(eos_ms=30.0)
    json_path, md_path = save_bench(result, tmp_path / "out")
    assert json.loads(json_path.read_text())["eos_ratio"] == pytest.approx(3.0)
    assert load_bench(json_path) == result
    assert md_path.read_text().startswith("# Engine benchmark")


def test_load_bench_names_the_file_it_cannot_read(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"rows": []}')
    with pytest.raises(ValueError, match="other.json"):
        load_bench(path)


def test_the_explorer_update_time_is_reported_against_its_target_and_round_trips(tmp_path):
    from dataclasses import replace

    result = replace(_result(), explorer_update_ms=42.0)
    markdown = bench_markdown(result)
    assert "## VA explorer" in markdown and "42.0 ms median" in markdown and "<= 100): pass" in markdown
    assert "## VA explorer" not in bench_markdown(_result())
    json_path, _ = save_bench(result, tmp_path)
    assert load_bench(json_path).explorer_update_ms == 42.0
