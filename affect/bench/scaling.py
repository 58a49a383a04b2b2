"""How fast augmented sets are built: measured engines on one machine, simulated coordination beyond.

:func:`measure_engines` builds one fixed plan (:func:`bench_plan`) on the AffectNet stand-in
with every engine and number of workers and reports images per second end to end (worker
start-up, model load and the merge included). :func:`scale_benchmark` adds where the time of
one image goes (:mod:`affect.bench.stage_costs`), the SIMULATED coordination at 8 to 512
workers and the paper-scale estimate (:mod:`affect.bench.coordination`); :func:`scale_markdown`
and :func:`plot_scale` report them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.augmentation.shards import SHARDS, shard_of
from affect.bench.coordination import SIMULATED_WORKERS, paper_scale_estimate, simulate_coordination
from affect.bench.stage_costs import PNG_ENCODE_TARGET_RATIO, SYNTHESIS_STAGES, stage_costs
from affect.bench.tables import markdown_table

__all__ = [
    "ENGINE_RUNS",
    "bench_plan",
    "measure_engines",
    "scale_benchmark",
    "scale_markdown",
    "plot_scale",
]

#: (engine, workers) measured by :func:`measure_engines`, keyed ``<engine>_<workers>``.
ENGINE_RUNS: tuple[tuple[str, int], ...] = (("serial", 1), ("pool", 1), ("pool", 2), ("dask", 1), ("dask", 2))


def bench_plan(
    photos: int = 24, n_va: int | None = None, seed: int = 0, image_format: str = "jpg", profile: str = "default"
) -> tuple[pd.DataFrame, object]:
    """The fixed plan of the scale benchmark and its synthesizer.

    ``photos`` neutral faces of the AffectNet stand-in of ``profile`` (a seeded sample), each
    with ``n_va`` VA targets (None: the profile's, as ``affect augment`` plans them: 57, Table 1)
    and the six basic expressions; the default affect model.
    """
    from affect import data_paths, datasets
    from affect.augmentation.augmenters import SynthesizerAugmenter
    from affect.augmentation.targets import plan
    from affect.datasets.proxy import ensure_proxy
    from affect.run import profile_named

    sizes = profile_named(profile)
    root = data_paths.database_root("affectnet", "proxy", profile)
    ensure_proxy("affectnet", root.parent, sizes, seed)
    neutral = datasets.neutral_frames(datasets.load("affectnet", root, "train"))
    neutral = neutral.sample(n=min(photos, len(neutral)), random_state=seed).sort_index()
    synthesizer = SynthesizerAugmenter.from_file(None)
    n_va = sizes.augment_va_targets if n_va is None else n_va
    jobs = pd.concat(
        [
            plan(neutral, "va", synthesizer.affect_model.va_classes, n_va, seed, image_format=image_format),
            plan(neutral, "expression", seed=seed, image_format=image_format),
        ],
        ignore_index=True,
    )
    return jobs, synthesizer


def measure_engines(
    jobs: pd.DataFrame,
    synthesizer,
    *,
    runs: Sequence[tuple[str, int]] = ENGINE_RUNS,
    identity_every: int = 50,
    seed: int = 0,
    work_dir: str | os.PathLike | None = None,
    repeats: int = 1,
) -> dict:
    """Build ``jobs`` ``repeats`` times per (engine, workers), each into a fresh folder; images
    per second end to end, of the median run.

    The repeats go round all the runs in turn, so that a slow spell of a shared machine falls on
    every engine alike; each (engine, workers) reports its median run (the lower middle one for
    an even count) and the rates of all its runs (``rates``).

    The synthesizer is warmed up first in this process on the whole plan (numba kernels, models,
    per-target caches), untimed; the pool's and the local Dask cluster's workers are both forked
    from this process and inherit that (:func:`affect.augmentation.dask_engine.local_cluster`).
    Both report the CPU time of their shard tasks only. The photos' fits are
    forgotten before every run, so each run fits every photo once, as a real build does.

    Returns
    -------
    dict: ``runs`` (``<engine>_<workers>``: images, seconds, images_per_s, worker_seconds),
    ``images_per_s`` (the same key: the rate), ``speedup`` (2 workers over 1, per engine),
    ``image_cost_s`` (core-seconds per image, from the serial run's wall time), ``image_cpu_s``
    (the serial run's CPU time per image: the cost on a core no other job shares),
    ``bytes_per_image``. Each run records the 1-minute load average before and after it.
    """
    from affect.augmentation.augmenters import SynthesizerAugmenter
    from affect.augmentation.build import build

    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats: expected a positive whole number of runs, got {repeats!r}")
    augmenter = synthesizer if isinstance(synthesizer, SynthesizerAugmenter) else SynthesizerAugmenter(synthesizer)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".scale-bench-") as scratch:
        # The whole plan once: the synthesizer fills per-target caches on first use, which would
        # otherwise fall on whichever engine runs first (forked pool workers inherit them).
        build(
            jobs,
            augmenter,
            Path(scratch) / "warm-up",
            identity_every=identity_every,
            seed=seed,
            progress=False,
            skip_errors=True,
        )
        every: dict[str, list[dict]] = {}
        for (engine, workers), repeat in ((run, repeat) for repeat in range(repeats) for run in runs):
            out = Path(scratch) / f"{engine}_{workers}_{repeat}"
            # Each run fits its photos, as a real build does: no fits kept from the warm-up or an
            # earlier run (forked pool workers would inherit them).
            forget = getattr(getattr(augmenter, "synthesizer", None), "forget_photos", None)
            if callable(forget):
                forget()
            load = os.getloadavg()[0]
            start = time.perf_counter()
            manifest = build(
                jobs,
                augmenter,
                out,
                engine=engine,
                jobs=workers,
                seed=seed,
                identity_every=identity_every,
                progress=False,
                skip_errors=True,
            )
            seconds = time.perf_counter() - start
            sizes = [(out / name).stat().st_size for name in manifest["output"]]
            busy = float(manifest.attrs["worker_seconds"]) / workers
            cpu = float(manifest.attrs.get("worker_cpu_seconds", 0.0))
            every.setdefault(f"{engine}_{workers}", []).append(
                {
                    "images": len(manifest),
                    "seconds": round(seconds, 3),
                    "images_per_s": round(len(manifest) / seconds, 2),
                    "worker_seconds": round(float(manifest.attrs["worker_seconds"]), 3),
                    # CPU time of the workers' processes per image: what one image costs a free core
                    "worker_cpu_ms_per_image": round(1000 * cpu / max(len(manifest), 1), 2),
                    # start-up (processes, model load), scheduling and the merge: wall time no worker was busy
                    "overhead_s": round(max(seconds - busy, 0.0), 3),
                    "bytes_per_image": int(np.mean(sizes)) if sizes else 0,
                    "load_before": round(load, 2),
                    "load_after": round(os.getloadavg()[0], 2),
                }
            )
            shutil.rmtree(out)  # the images are not kept: a repeat would need the disk twice over
    results = {key: _median_run(entries) for key, entries in every.items()}
    rates = {key: entry["images_per_s"] for key, entry in results.items()}
    speedup = {
        engine: round(rates[f"{engine}_2"] / rates[f"{engine}_1"], 2)
        for engine in ("pool", "dask")
        if f"{engine}_1" in rates and f"{engine}_2" in rates
    }
    serial = results.get("serial_1") or next(iter(results.values()))
    n_shards = len(np.unique(shard_of(jobs["source"], SHARDS)))
    return {
        "runs": results,
        "shards": n_shards,
        "shard_seconds": round(serial["worker_seconds"] / n_shards, 3),
        "images_per_s": rates,
        "speedup": speedup,
        "image_cost_s": round(serial["seconds"] / max(serial["images"], 1), 4),
        "image_cpu_s": round(serial.get("worker_cpu_ms_per_image", 0.0) / 1000, 4),
        "bytes_per_image": serial["bytes_per_image"],
        "photos": int(jobs["source"].nunique()),
        "jobs": len(jobs),
        "repeats": repeats,
        "identity_every": identity_every,
        "format": Path(jobs["output"].iloc[0]).suffix[1:],
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _median_run(entries: list[dict]) -> dict:
    """The run of median rate (the lower middle one for an even count), with every run's rate."""
    chosen = sorted(entries, key=lambda entry: entry["images_per_s"])[(len(entries) - 1) // 2]
    return chosen | {"rates": [entry["images_per_s"] for entry in entries]}


def scale_benchmark(
    photos: int = 24,
    n_va: int | None = None,
    *,
    identity_every: int = 50,
    workers: Sequence[int] = SIMULATED_WORKERS,
    seed: int = 0,
    work_dir: str | os.PathLike | None = None,
    repeats: int = 3,
) -> dict:
    """The ``scale`` part of ``make bench``: measured engines, the simulated curve, the paper-scale estimate.

    The plan is what ``affect augment affectnet`` builds from ``photos`` neutral faces of the
    default stand-in: each photo's VA targets (the profile's 57 unless ``n_va`` is given) and
    six basic expressions: 1,512 JPEG images for 24 photos. The images are written to a scratch
    folder in ``work_dir`` (default: the data folder, where ``affect augment`` writes its sets;
    creating a file in the system's temporary folder can cost far more: ten times as much in
    ``/tmp`` as in ``data/`` on the machine of the README's figures). Each engine runs
    ``repeats`` times, in turn with the others, and reports its median run
    (:func:`measure_engines`).

    ``images_per_s`` is keyed ``<engine>_<workers>``; ``predicted_images_per_s`` (SIMULATED)
    is W times the measured one-core rate (``1 / image_cost_s``) times the simulated
    coordination efficiency at W workers.
    """
    jobs, augmenter = bench_plan(photos, n_va, seed)
    if work_dir is None:
        from affect import data_paths

        work_dir = data_paths.data_dir()
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    measured = measure_engines(
        jobs, augmenter, identity_every=identity_every, seed=seed, work_dir=work_dir, repeats=repeats
    )
    measured["stages_ms"] = stage_costs(jobs, augmenter, work_dir=work_dir)
    # Sleep for the measured time of one shard of this plan (one photo's targets): real shards
    # of AffectNet (256 of them, 115 photos each) last far longer, so coordination costs less.
    simulated = simulate_coordination(workers, task_seconds=measured["shard_seconds"])
    rate = 1 / measured["image_cost_s"]
    simulated["predicted_images_per_s"] = {
        n: round(int(n) * rate * point["efficiency"], 1) for n, point in simulated["points"].items()
    }
    measured["simulated"] = simulated
    capacity = max((point["tasks_per_s"] for point in simulated["points"].values()), default=None)
    measured["paper_estimate"] = paper_scale_estimate(
        measured["image_cost_s"], measured["bytes_per_image"], tasks_per_s=capacity
    )
    if measured.get("image_cpu_s"):  # the same on cores no other job shares
        measured["paper_estimate_cpu"] = paper_scale_estimate(
            measured["image_cpu_s"], measured["bytes_per_image"], tasks_per_s=capacity
        )
    return measured


def scale_markdown(scale: dict) -> list[str]:
    """The ``scale`` part of ``bench.md``."""
    if not scale:
        return []
    cpu = f" ({1000 * scale['image_cpu_s']:.1f} ms of CPU time)" if scale.get("image_cpu_s") else ""
    return [
        "",
        "## Augmentation throughput",
        "",
        f"One plan of {scale['jobs']} images from {scale['photos']} neutral photos of the default AffectNet "
        f"stand-in, {scale['format'].upper()}, identity measured on 1 image in {scale['identity_every']}; "
        f"end to end (worker start-up, model load, merge included) on {scale['cpu_count']} cores; each "
        f"engine ran {scale.get('repeats', 1)} times, in turn with the others, and the table shows its median "
        f"run; load average {scale['load_average'][0]} at the end (a shared machine). The pool's and Dask's "
        "workers are forked from the warmed-up benchmark process; worker CPU is their shard tasks' CPU time.",
        "",
        *_runs_table(scale["runs"]),
        "",
        "Speedup from 1 to 2 workers: "
        + ", ".join(f"{k} {v:.2f} x" for k, v in scale["speedup"].items())
        + f". One image costs {1000 * scale['image_cost_s']:.1f} ms of one core (serial run's wall time)"
        f"{cpu}, {scale['bytes_per_image'] / 1024:.0f} KiB on disk.",
        *_stages_markdown(scale.get("stages_ms")),
        *_simulated_markdown(scale.get("simulated")),
        *_estimate_markdown(scale.get("paper_estimate"), scale.get("paper_estimate_cpu")),
    ]


def _runs_table(runs: dict) -> list[str]:
    """One row per ``<engine>_<workers>``: its median run and the rate of each run."""
    nan = float("nan")
    columns = [
        "engine_workers",
        "images",
        "seconds",
        "images/s",
        "images/s of each run",
        "worker seconds",
        "worker CPU ms/image",
        "start-up and coordination s",
        "load before, after",
    ]
    rows = [
        [
            key,
            f"{run['images']}",
            f"{run['seconds']:.1f}",
            f"{run['images_per_s']:.1f}",
            ", ".join(f"{rate:.1f}" for rate in run.get("rates", [run["images_per_s"]])),
            f"{run['worker_seconds']:.1f}",
            f"{run.get('worker_cpu_ms_per_image', nan):.1f}",
            f"{run.get('overhead_s', nan):.1f}",
            f"{run.get('load_before', nan):.1f}, {run.get('load_after', nan):.1f}",
        ]
        for key, run in runs.items()
    ]
    return markdown_table(columns, rows, "lrrrlrrrl")


def _stages_markdown(stages: dict | None) -> list[str]:
    """Median ms of CPU time of each step, per photo and per image (:func:`stage_costs`)."""
    if not stages:
        return []
    per_photo = {k: v for k, v in stages.items() if k.endswith("_photo")}
    per_image = {k: v for k, v in stages.items() if not k.endswith("_photo")}
    return [
        "",
        "Where the time goes (ms of CPU time, one process, libraries on one thread; medians). Per photo:",
        "",
        *markdown_table(list(per_photo), [[f"{value:.1f}" for value in per_photo.values()]], "r" * len(per_photo)),
        "",
        f"Per image (`synthesize` is the sum of {', '.join(f'`{k}`' for k in SYNTHESIS_STAGES)} and "
        "`synthesize_rest`):",
        "",
        *markdown_table(list(per_image), [[f"{value:.2f}" for value in per_image.values()]], "r" * len(per_image)),
        *_png_markdown(per_image),
    ]


def _png_markdown(per_image: dict) -> list[str]:
    """PNG's encoding cost against JPEG's, beside :data:`PNG_ENCODE_TARGET_RATIO`."""
    png, jpg = per_image.get("encode_png"), per_image.get("encode_jpg")
    if not png or not jpg:
        return []
    ratio = png / jpg
    verdict = "pass" if ratio <= PNG_ENCODE_TARGET_RATIO else "FAIL"
    return [
        "",
        f"PNG (lossless; rows filtered 'up', Huffman coding only) takes {png:.2f} ms to encode, {ratio:.1f} x "
        f"JPEG's {jpg:.2f} ms (target <= {PNG_ENCODE_TARGET_RATIO:g} x): {verdict}.",
    ]


def _simulated_markdown(simulated: dict | None) -> list[str]:
    """The SIMULATED coordination curve: wall time, efficiency and predicted rate per worker count."""
    if not simulated:
        return []
    rows = [
        [
            f"{n}",
            f"{point['wall_s']:.2f}",
            f"{point['ideal_s']:.2f}",
            f"{point['efficiency']:.2f}",
            f"{simulated['predicted_images_per_s'][n]:.0f}",
        ]
        for n, point in simulated["points"].items()
    ]
    rows += [[f"{n}", "timed out twice", "", "", ""] for n in simulated.get("timed_out", [])]
    columns = ["workers", "wall s", "ideal s", "efficiency", "predicted images/s (simulated)"]
    return [
        "",
        f"SIMULATED coordination (shard tasks that sleep {simulated['task_seconds']} s, "
        f"{simulated['tasks_per_worker']} per worker, on in-process Dask workers; no compute):",
        "",
        *markdown_table(columns, rows, "rrrrr"),
    ]


def _estimate_markdown(estimate: dict | None, estimate_cpu: dict | None) -> list[str]:
    """The paper's AffectNet set in core-hours, hours on N cores and disk; the same from CPU time."""
    lines = []
    if estimate:
        hours = ", ".join(f"{h:g} h on {n} cores" for n, h in estimate["hours_on_cores"].items())
        lines += [
            "",
            f"The paper's AffectNet set ({estimate['images']:,} images): {estimate['core_hours']:g} "
            f"core-hours: {hours} (in {estimate['n_shards']} shards of {estimate['shard_seconds']:g} s, "
            f"handed out no faster than the simulated scheduler's best rate, {estimate['tasks_per_s']:g} "
            f"tasks/s); {estimate['disk_gb']:g} GB of disk as JPEG.",
        ]
    if estimate_cpu:
        hours = ", ".join(f"{h:g} h on {n} cores" for n, h in estimate_cpu["hours_on_cores"].items())
        lines += [
            "",
            f"From the CPU time per image instead (cores no other job shares): "
            f"{estimate_cpu['core_hours']:g} core-hours: {hours}.",
        ]
    return lines


def plot_scale(scale: dict, path: str | os.PathLike) -> Path:
    """Measured (1, 2 workers) and SIMULATED predicted throughput against workers, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from affect.files import atomic_path

    figure, axes = plt.subplots(figsize=(6, 4))
    for engine, marker in (("pool", "o"), ("dask", "s")):
        points = [(int(k.split("_")[1]), v) for k, v in scale["images_per_s"].items() if k.startswith(engine)]
        if points:
            axes.plot(*zip(*sorted(points)), marker=marker, label=f"{engine}, measured")
    simulated = scale.get("simulated", {}).get("predicted_images_per_s", {})
    if simulated:
        axes.plot(
            [int(n) for n in simulated],
            list(simulated.values()),
            "k--",
            marker="x",
            label="SIMULATED: W x one-core rate x coordination efficiency",
        )
    axes.set(
        xscale="log",
        yscale="log",
        xlabel="workers",
        ylabel="images / s",
        title="Augmentation throughput (simulated beyond 2 workers)",
    )
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    atomic_path(path, lambda temporary: figure.savefig(temporary, dpi=120, format="png"))
    plt.close(figure)
    return path
