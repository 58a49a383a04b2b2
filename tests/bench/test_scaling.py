"""Tests of affect.bench.scaling: each engine's median run, the report and the plot."""

from __future__ import annotations

import pytest

from affect.bench import scaling
from affect.bench.coordination import paper_scale_estimate


def test_scale_report_and_plot_name_the_simulated_part(tmp_path, squeeze):
    scale = {
        "jobs": 10,
        "photos": 2,
        "format": "jpg",
        "identity_every": 50,
        "cpu_count": 2,
        "load_average": [1.0],
        "runs": {
            "serial_1": {"images": 10, "seconds": 1.0, "images_per_s": 10.0, "worker_seconds": 1.0},
            "pool_1": {"images": 10, "seconds": 1.0, "images_per_s": 10.0, "worker_seconds": 1.0},
            "pool_2": {"images": 10, "seconds": 0.5, "images_per_s": 20.0, "worker_seconds": 1.0},
        },
        "images_per_s": {"serial_1": 10.0, "pool_1": 10.0, "pool_2": 20.0},
        "speedup": {"pool": 2.0},
        "image_cost_s": 0.1,
        "bytes_per_image": 2048,
        "simulated": {
            "task_seconds": 0.25,
            "tasks_per_worker": 4,
            "points": {"8": {"wall_s": 1.1, "ideal_s": 1.0, "efficiency": 0.9}},
            "predicted_images_per_s": {"8": 72.0},
        },
        "paper_estimate": paper_scale_estimate(0.1, 2048, tasks_per_s=100.0),
    }
    scale["runs"]["pool_2"] |= {
        "worker_cpu_ms_per_image": 42.5,
        "load_before": 2.5,
        "load_after": 3.25,
        "rates": [18.0, 20.0, 23.5],
    }
    scale["repeats"] = 3
    scale["image_cpu_s"] = 0.05
    scale["stages_ms"] = {"prepare_photo": 40.0, "synthesize": 9.0, "blend": 3.0, "synthesize_rest": 6.0}
    scale["paper_estimate_cpu"] = paper_scale_estimate(0.05, 2048, tasks_per_s=100.0)
    text = squeeze("\n".join(scaling.scale_markdown(scale)))
    assert "pool_2 | 10 | 0.5 | 20.0 | 18.0, 20.0, 23.5 | 1.0 | 42.5 |" in text and "2.5, 3.2 |" in text
    assert "serial_1 | 10 | 1.0 | 10.0 | 10.0 | 1.0 |" in text and "ran 3 times" in text
    assert "SIMULATED" in text and "2,476,235" in text and "(50.0 ms of CPU time)" in text
    assert "| prepare_photo |" in text and "| synthesize | blend | synthesize_rest |" in text
    assert "From the CPU time per image instead" in text
    assert scaling.plot_scale(scale, tmp_path / "scale.png").stat().st_size > 1000


def test_each_engine_reports_its_median_run_with_every_rate():
    runs = [{"images_per_s": rate, "seconds": 100 / rate} for rate in (150.0, 120.0, 170.0, 140.0)]
    median = scaling._median_run(runs[:3])
    assert median == {"images_per_s": 150.0, "seconds": 100 / 150, "rates": [150.0, 120.0, 170.0]}
    assert scaling._median_run(runs)["images_per_s"] == 140.0  # the lower middle of an even count
    with pytest.raises(ValueError, match="repeats"):
        scaling.measure_engines(None, None, repeats=0)


def test_the_report_sets_png_encoding_against_jpeg_and_its_target(squeeze):
    fast = squeeze("\n".join(scaling._stages_markdown({"encode_jpg": 0.5, "encode_png": 1.2})))
    slow = squeeze("\n".join(scaling._stages_markdown({"encode_jpg": 0.2, "encode_png": 1.7})))
    assert "1.20 ms to encode, 2.4 x JPEG's 0.50 ms (target <= 3 x): pass" in fast
    assert "8.5 x JPEG's 0.20 ms (target <= 3 x): FAIL" in slow
