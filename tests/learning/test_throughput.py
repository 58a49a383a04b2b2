"""Tests for affect.learning.throughput (the bench's training section) at tiny sizes."""

from affect.learning.throughput import TARGET_RATIO, training_throughput


def test_throughput_reports_rates_and_ratios_per_network(tiny_sizes):
    report = training_throughput(tiny_sizes, "smoke", networks=("vggface", "vggface_gru"), steps=1,
                                 loader_seconds=0.2)
    assert report["target_ratio"] == TARGET_RATIO and report["sizes"]["input_size"] == 32
    for name, entry in report["networks"].items():
        assert entry["train_images_per_s"] > 0 and entry["loader_images_per_s"] > 0
        assert entry["ratio"] == entry["loader_images_per_s"] / entry["train_images_per_s"]
    assert report["networks"]["vggface_gru"]["batch_frames"] == 16  # 4 clips of 4 frames
