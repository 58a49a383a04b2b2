"""Tests of affect.bench.throughput (the bench's training section) at the smoke profile's sizes."""

import json

from affect import bench, cli
from affect.bench import throughput
from affect.bench.throughput import TARGET_RATIO, training_throughput
from affect.learning.networks import NETWORKS


def test_throughput_reports_rates_and_ratios_per_network(tiny_sizes):
    report = training_throughput(tiny_sizes, "smoke", networks=("vggface", "vggface_gru"), rounds=1, loader_batches=1)
    assert report["target_ratio"] == TARGET_RATIO and report["sizes"]["input_size"] == 32
    for entry in report["networks"].values():
        assert entry["train_images_per_s"] > 0 and entry["loader_images_per_s"] > 0
        assert entry["ratio"] == entry["loader_images_per_s"] / entry["train_images_per_s"]
    assert report["networks"]["vggface_gru"]["batch_frames"] == 16  # 4 clips of 4 frames


def test_every_network_is_measured_by_default_the_age_estimator_on_ages(tiny_sizes):
    report = training_throughput(tiny_sizes, "smoke", rounds=1, loader_batches=1)  # what make bench runs
    assert tuple(report["networks"]) == NETWORKS and "wideresnet" in NETWORKS
    assert all(entry["train_images_per_s"] > 0 for entry in report["networks"].values())


def test_bench_keeps_the_training_section_in_json_and_markdown(tiny_sizes, tmp_path, squeeze):
    report = training_throughput(tiny_sizes, "smoke", networks=("alexnet",), rounds=1, loader_batches=1)
    result = bench.BenchResult(
        timings=(),
        fit_ms=1.0,
        one_affect_256_ms=1.0,
        one_affect_256_opencv_ms=1.0,
        eos_fit_ms=None,
        eos_note="eos skipped",
        repeats=1,
        photos=(),
        training=report,
    )
    json_path, md_path = bench.save_bench(result, tmp_path)
    assert bench.load_bench(json_path).training["networks"]["alexnet"]["input_size"] == 64
    markdown = squeeze(md_path.read_text())
    assert "## Training throughput" in markdown and "| alexnet | 64 |" in markdown


def test_bench_adds_the_training_section(tmp_path, capsys, monkeypatch, tiny_sizes):
    empty = bench.BenchResult(
        timings=(),
        fit_ms=1.0,
        one_affect_256_ms=1.0,
        one_affect_256_opencv_ms=1.0,
        eos_fit_ms=None,
        eos_note="eos skipped",
        repeats=1,
        photos=(),
    )
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **k: empty)
    monkeypatch.setattr(
        throughput,
        "training_benchmark",
        lambda: training_throughput(tiny_sizes, "smoke", networks=("vggface",), rounds=1, loader_batches=1),
    )
    status = cli.main(["bench", "--out", str(tmp_path), "--quiet", "--skip-scale", "--skip-explorer", "--skip-path"])
    assert status == 0 and "vggface: training" in capsys.readouterr().out
    assert "vggface" in json.loads((tmp_path / "bench.json").read_text())["training"]["networks"]
