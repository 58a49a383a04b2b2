"""Profile one serial build of the scale benchmark's plan: where each image's CPU time goes.

The plan is :func:`affect.bench.scaling.bench_plan` (neutral photos of the default
AffectNet stand-in, VA and basic-expression targets, JPEG). The build runs once untimed (numba
kernels, models), then once more under cProfile with the thread's CPU clock, so that other jobs
on the machine barely change the figures; every photo is fitted again in the profiled run, as a
real build fits it. For line-level samples of the same run use py-spy::

    py-spy record -f raw -o profile.txt -- .venv/bin/python scripts/profile_augment.py

Usage::

    .venv/bin/python scripts/profile_augment.py [--photos 24] [--n-va 57] [--identity-every 50] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from affect import data_paths
from affect.augmentation.build import build
from affect.bench.scaling import bench_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24, help="neutral photos (default: %(default)s)")
    parser.add_argument("--n-va", type=int, default=None, help="VA targets per photo (default: the profile's, 57)")
    parser.add_argument("--identity-every", type=int, default=50, help="identity sample, 1 in K (default: %(default)s)")
    parser.add_argument("--top", type=int, default=30, help="functions listed (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="plan and synthesis seed (default: %(default)s)")
    args = parser.parse_args()

    jobs, augmenter = bench_plan(args.photos, args.n_va, args.seed)
    options = dict(identity_every=args.identity_every, seed=args.seed, progress=False, skip_errors=True)
    # In the data folder, where ``affect augment`` writes (see affect.bench.scaling.scale_benchmark).
    work_dir = data_paths.data_dir()
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".profile-augment-") as scratch:
        build(jobs, augmenter, Path(scratch) / "warm-up", **options)
        augmenter.synthesizer.forget_photos()
        profile = cProfile.Profile(time.thread_time)
        start = time.thread_time()
        profile.enable()
        manifest = build(jobs, augmenter, Path(scratch) / "profiled", **options)
        profile.disable()
        seconds = time.thread_time() - start
    print(
        f"{len(manifest)} images, {1000 * seconds / max(len(manifest), 1):.1f} ms of CPU time per image "
        "(this thread, with the profiler's overhead)"
    )
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(args.top)
        print(text.getvalue())


if __name__ == "__main__":
    main()
