"""Tests of affect.augmentation.scaling: the simulated coordination, the estimate, the report."""

from __future__ import annotations

import pytest

from affect.augmentation import scaling


def test_paper_scale_estimate_divides_the_core_hours_by_busy_cores_and_scheduler_limit():
    # 100 shards of 36 s: 8 cores need 0.22 tasks/s; 64 cores 1.8 tasks/s, above the 0.9 the scheduler gives
    estimate = scaling.paper_scale_estimate(0.036, 14_000, cores=(1, 8, 64, 400), tasks_per_s=0.9, n_shards=100,
                                            images=100_000)
    assert estimate["core_hours"] == 1.0 and estimate["shard_seconds"] == 36.0
    assert estimate["hours_on_cores"] == {"1": 1.0, "8": 0.125, "64": 0.031, "400": 0.031}  # 32 cores at most
    assert estimate["disk_gb"] == 1.4


def test_simulated_coordination_is_labelled_and_close_to_ideal_for_few_workers():
    pytest.importorskip("distributed")
    simulated = scaling.simulate_coordination((2,), task_seconds=0.05, tasks_per_worker=4)
    assert simulated["simulated"] is True
    point = simulated["points"]["2"]
    assert point["tasks"] == 8 and 0.2 < point["efficiency"] <= 1.0


def test_scale_report_and_plot_name_the_simulated_part(tmp_path):
    scale = {"jobs": 10, "photos": 2, "format": "jpg", "identity_every": 50, "cpu_count": 2, "load_average": [1.0],
             "runs": {"serial_1": {"images": 10, "seconds": 1.0, "images_per_s": 10.0, "worker_seconds": 1.0},
                      "pool_1": {"images": 10, "seconds": 1.0, "images_per_s": 10.0, "worker_seconds": 1.0},
                      "pool_2": {"images": 10, "seconds": 0.5, "images_per_s": 20.0, "worker_seconds": 1.0}},
             "images_per_s": {"serial_1": 10.0, "pool_1": 10.0, "pool_2": 20.0}, "speedup": {"pool": 2.0},
             "image_cost_s": 0.1, "bytes_per_image": 2048,
             "simulated": {"task_seconds": 0.25, "tasks_per_worker": 4,
                           "points": {"8": {"wall_s": 1.1, "ideal_s": 1.0, "efficiency": 0.9}},
                           "predicted_images_per_s": {"8": 72.0}},
             "paper_estimate": scaling.paper_scale_estimate(0.1, 2048, tasks_per_s=100.0)}
    text = "\n".join(scaling.scale_markdown(scale))
    assert "pool_2 | 10 | 0.5 | 20.0" in text and "SIMULATED" in text and "2,476,235" in text
    assert scaling.plot_scale(scale, tmp_path / "scale.png").stat().st_size > 1000
