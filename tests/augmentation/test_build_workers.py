"""Tests of the build's workers: their library threads and the CPU time they report."""

from __future__ import annotations

import cv2
from augmentation_fakes import TintAugmenter, neutral_frame  # tests/augmentation, on sys.path by its conftest

from affect import augmentation as aug
from affect.augmentation.shard_tasks import single_thread_libraries


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
