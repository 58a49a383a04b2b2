"""Tests of affect.bench.parts and affect.bench.path_rate: each part's figures kept as it ends; the VA path's rate."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from affect import bench, cli
from affect.bench.parts import blank_result, one_line_error, run_parts
from affect.bench.path_rate import path_frames_per_s
from affect.synthesis import SynthesizedImage


def test_a_failed_part_keeps_the_earlier_figures_and_is_reported_in_one_line(tmp_path, squeeze):
    def explorer(result):
        return replace(result, explorer_update_ms=42.0)

    def scale(result):
        # The explorer's figure is on disk before this part starts.
        assert bench.load_bench(tmp_path / "bench.json").explorer_update_ms == 42.0
        raise ValueError("no stand-in photos\nsecond line")

    def path(result):
        return replace(
            result,
            path={
                "path_frames_per_s": 25.0,
                "frames": 4,
                "size": 512,
                "cpu_ms_per_frame": 30.0,
                "identity_frames": [0, 3],
            },
        )

    result = run_parts([("explorer", explorer), ("scale", scale), ("path", path)], tmp_path)
    assert result.failures == {"scale": "ValueError: no stand-in photos"}
    saved = bench.load_bench(tmp_path / "bench.json")
    assert saved.explorer_update_ms == 42.0 and saved.path["path_frames_per_s"] == 25.0
    assert saved.failures == result.failures
    markdown = squeeze((tmp_path / "bench.md").read_text())
    assert "## Failed parts" in markdown and "- `scale`: ValueError: no stand-in photos" in markdown
    assert "second line" not in markdown
    assert "25.0 frames per second for a VA path of 4 frames on a 512 px photo" in markdown
    assert "identity measured on frames 0, 3; target >= 20): pass" in markdown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.md"]


def test_one_line_error_names_the_type_and_the_first_line():
    assert one_line_error(RuntimeError("out of memory\ntraceback")) == "RuntimeError: out of memory"
    assert one_line_error(KeyError()) == "KeyError"
    assert np.isnan(blank_result().fit_ms) and blank_result().failures == {}


def test_bench_exits_non_zero_when_a_part_fails_and_keeps_the_others(tmp_path, capsys, monkeypatch):
    import affect.explorer.session as session
    import affect.synthesis as synthesis

    def broken(*args, **kwargs):
        raise ValueError("lenna.png: no face found")

    monkeypatch.setattr(bench, "run_benchmark", broken)
    monkeypatch.setattr(synthesis.AffectSynthesizer, "from_file", classmethod(lambda cls, *a, **k: None))
    monkeypatch.setattr(session, "median_update_ms", lambda synthesizer: 37.5)
    argv = ["bench", "--out", str(tmp_path), "--quiet", "--skip-training", "--skip-scale", "--skip-path"]
    assert cli.main(argv) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "engine: ValueError: lenna.png: no face found" in error
    payload = json.loads((tmp_path / "bench.json").read_text())
    assert payload["explorer_update_ms"] == 37.5 and payload["failures"] == {
        "engine": "ValueError: lenna.png: no face found"
    }
    assert "- `engine`: ValueError: lenna.png: no face found" in (tmp_path / "bench.md").read_text()


class _FakeSynthesizer:
    """Tints the photo by the frame's valence, as fast as it can."""

    def prepare(self, pixels):
        return pixels

    def iter_temporal(self, prepared, path):
        for v, a in np.asarray(path):
            image = np.clip(prepared.astype(int) + int(40 * v), 0, 255).astype(np.uint8)
            yield SynthesizedImage(
                image, (v, a), 0, float("nan"), True, np.zeros(image.shape[:2], bool), np.zeros((68, 2))
            )


def test_the_path_rate_writes_every_frame_and_names_the_identity_frames(tmp_path):
    photo = np.random.default_rng(0).integers(0, 256, (200, 100, 3), dtype=np.uint8)
    rate = path_frames_per_s(_FakeSynthesizer(), photo, frames=30, size=64, work_dir=tmp_path)
    assert rate["frames"] == 30 and rate["size"] == 64 and rate["path_frames_per_s"] > 0
    assert rate["identity_frames"] == [0, 25, 29]
    assert list(tmp_path.iterdir()) == []
