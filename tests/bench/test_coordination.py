"""Tests of affect.bench.coordination: the SIMULATED coordination and the paper-scale estimate."""

from __future__ import annotations

import pytest

from affect.bench import coordination


def test_paper_scale_estimate_divides_the_core_hours_by_busy_cores_and_scheduler_limit():
    # 100 shards of 36 s: 8 cores need 0.22 tasks/s; 64 cores 1.8 tasks/s, above the 0.9 the scheduler gives
    estimate = coordination.paper_scale_estimate(
        0.036, 14_000, cores=(1, 8, 64, 400), tasks_per_s=0.9, n_shards=100, images=100_000
    )
    assert estimate["core_hours"] == 1.0 and estimate["shard_seconds"] == 36.0
    assert estimate["hours_on_cores"] == {"1": 1.0, "8": 0.125, "64": 0.031, "400": 0.031}  # 32 cores at most
    assert estimate["disk_gb"] == 1.4


def test_simulated_coordination_is_labelled_and_close_to_ideal_for_few_workers():
    pytest.importorskip("distributed")
    simulated = coordination.simulate_coordination((2,), task_seconds=0.05, tasks_per_worker=4)
    assert simulated["simulated"] is True
    point = simulated["points"]["2"]
    assert point["tasks"] == 8 and 0.2 < point["efficiency"] <= 1.0


def test_a_simulated_point_that_times_out_twice_is_reported_not_fatal(monkeypatch):
    tries = []

    def point(n, task_seconds, tasks_per_worker):
        tries.append(n)
        if n == 512 or len(tries) == 1:  # 8 stalls once, 512 every time
            raise TimeoutError
        return {"tasks": n, "wall_s": 1.0, "ideal_s": 1.0, "efficiency": 1.0, "tasks_per_s": float(n)}

    monkeypatch.setattr(coordination, "_point_in_fresh_process", point)
    result = coordination.simulate_coordination((8, 512))
    assert tries == [8, 8, 512, 512] and list(result["points"]) == ["8"] and result["timed_out"] == [512]
