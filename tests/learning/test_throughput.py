"""Tests for affect.learning.throughput (the bench's training section) at tiny sizes."""

from affect.learning.networks import NETWORKS
from affect.learning.throughput import TARGET_RATIO, training_throughput


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


def test_bench_keeps_the_training_section_in_json_and_markdown(tiny_sizes, tmp_path):
    from affect import bench

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
    assert "## Training throughput" in md_path.read_text() and "| alexnet | 64 |" in md_path.read_text()
