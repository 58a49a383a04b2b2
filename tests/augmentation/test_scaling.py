"""Tests of affect.augmentation.scaling: the simulated coordination, the estimate, the report."""

from __future__ import annotations

import cv2
import pytest
from augmentation_fakes import TintAugmenter, neutral_frame

from affect import augmentation as aug
from affect.augmentation import scaling
from affect.augmentation.shard_tasks import single_thread_libraries


def test_paper_scale_estimate_divides_the_core_hours_by_busy_cores_and_scheduler_limit():
    # 100 shards of 36 s: 8 cores need 0.22 tasks/s; 64 cores 1.8 tasks/s, above the 0.9 the scheduler gives
    estimate = scaling.paper_scale_estimate(
        0.036, 14_000, cores=(1, 8, 64, 400), tasks_per_s=0.9, n_shards=100, images=100_000
    )
    assert estimate["core_hours"] == 1.0 and estimate["shard_seconds"] == 36.0
    assert estimate["hours_on_cores"] == {"1": 1.0, "8": 0.125, "64": 0.031, "400": 0.031}  # 32 cores at most
    assert estimate["disk_gb"] == 1.4


def test_simulated_coordination_is_labelled_and_close_to_ideal_for_few_workers():
    pytest.importorskip("distributed")
    simulated = scaling.simulate_coordination((2,), task_seconds=0.05, tasks_per_worker=4)
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

    monkeypatch.setattr(scaling, "_point_in_fresh_process", point)
    result = scaling.simulate_coordination((8, 512))
    assert tries == [8, 8, 512, 512] and list(result["points"]) == ["8"] and result["timed_out"] == [512]


def test_scale_report_and_plot_name_the_simulated_part(tmp_path):
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
        "paper_estimate": scaling.paper_scale_estimate(0.1, 2048, tasks_per_s=100.0),
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
    scale["paper_estimate_cpu"] = scaling.paper_scale_estimate(0.05, 2048, tasks_per_s=100.0)
    text = "\n".join(scaling.scale_markdown(scale))
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


def test_stage_costs_split_the_synthesis_and_leave_the_face_functions_as_they_were(tmp_path):
    import affect.face.reconstruction as reconstruction

    blend = reconstruction.poisson_blend
    jobs = aug.plan(neutral_frame(tmp_path, per_subject=1), "expression")
    stages = scaling.stage_costs(jobs, TintAugmenter(), photos=2, per_photo=3)
    assert reconstruction.poisson_blend is blend
    assert {"prepare_photo", "synthesize", "synthesize_rest", "encode_jpg", "write_file", "manifest_row"} <= set(stages)
    assert set(scaling.SYNTHESIS_STAGES) <= set(stages)
    assert all(value >= 0 for value in stages.values())
    # The fake calls none of render_affect's steps: its whole synthesis is the rest.
    assert sum(stages[stage] for stage in scaling.SYNTHESIS_STAGES) == 0
    assert stages["synthesize_rest"] == pytest.approx(stages["synthesize"], abs=0.02)


def test_single_thread_libraries_restores_the_callers_settings():
    before = cv2.getNumThreads()
    restore = single_thread_libraries()
    assert cv2.getNumThreads() == 1
    restore()
    assert cv2.getNumThreads() == before


def test_build_reports_the_workers_cpu_time(tmp_path):
    jobs = aug.plan(neutral_frame(tmp_path, per_subject=1), "expression")
    manifest = aug.build(jobs, TintAugmenter(), tmp_path / "out", progress=False)
    assert 0 < manifest.attrs["worker_cpu_seconds"] < 60
