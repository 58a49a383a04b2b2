"""Tests of affect.bench.result: one stage's runs summarised."""

from affect.bench import StageTiming


def test_stage_timing_summarises_median_quartiles_and_range():
    timing = StageTiming.from_samples("fitting", "native", "all", [5.0, 1.0, 3.0, 2.0, 4.0])
    assert (timing.n, timing.median_ms, timing.q1_ms, timing.q3_ms) == (5, 3.0, 2.0, 4.0)
    assert (timing.min_ms, timing.max_ms) == (1.0, 5.0)
