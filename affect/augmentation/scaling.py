"""How fast augmented sets are built: measured engines on one machine, simulated coordination beyond.

:func:`measure_engines` builds one fixed plan on the AffectNet stand-in with every engine and
number of workers and reports images per second end to end (worker start-up, model load and
the merge included). :func:`simulate_coordination` runs shard tasks that only sleep on a Dask
cluster of many in-process workers, to see what the scheduler, the in-flight window and the
result handling cost at 8 to 512 workers; it measures coordination only, not compute, and its
figures are labelled simulated. :func:`paper_scale_estimate` turns the measured per-image cost
into the time and disk the paper's AffectNet set (2,476,235 images, Table 1) would take.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affect.augmentation.manifest import MANIFEST_COLUMNS
from affect.augmentation.shards import SHARDS, shard_of
from affect.face.reconstruction import RENDER_STAGES

log = logging.getLogger(__name__)

#: Synthesized AffectNet images in the paper (Table 1: VA and basic expressions together).
PAPER_AFFECTNET_IMAGES = 2_476_235
#: (engine, workers) measured by :func:`measure_engines`, keyed ``<engine>_<workers>``.
ENGINE_RUNS: tuple[tuple[str, int], ...] = (("serial", 1), ("pool", 1), ("pool", 2), ("dask", 1), ("dask", 2))
#: Workers of the simulated coordination curve.
SIMULATED_WORKERS: tuple[int, ...] = (8, 32, 128, 512)


def bench_plan(
    photos: int = 24, n_va: int | None = None, seed: int = 0, image_format: str = "jpg", profile: str = "default"
) -> tuple[pd.DataFrame, object]:
    """The fixed plan of the scale benchmark and its synthesizer.

    ``photos`` neutral faces of the AffectNet stand-in of ``profile`` (a seeded sample), each
    with ``n_va`` VA targets (None: the profile's, as ``affect augment`` plans them: 57, Table 1)
    and the six basic expressions; the default affect model.
    """
    from affect import data_paths, datasets, profiles
    from affect.augmentation.augmenters import SynthesizerAugmenter
    from affect.augmentation.targets import plan
    from affect.datasets.standin import ensure_proxy

    root = data_paths.database_root("affectnet", "proxy", profile)
    ensure_proxy("affectnet", root.parent, profile, seed)
    neutral = datasets.neutral_frames(datasets.load("affectnet", root, "train"))
    neutral = neutral.sample(n=min(photos, len(neutral)), random_state=seed).sort_index()
    synthesizer = SynthesizerAugmenter.from_file(None)
    n_va = profiles.get(profile).augment_va_targets if n_va is None else n_va
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
    per-target caches), untimed; forked pool workers inherit that, while Dask's spawned workers
    warm up inside their timed run (part of what a Dask run costs). The photos' fits are
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


#: The stages of ``render_affect`` (:data:`affect.face.reconstruction.RENDER_STAGES`, Sec. 4.3 and
#: 4.4) that :func:`stage_costs` times one by one, through the synthesizer's stage timer.
SYNTHESIS_STAGES: tuple[str, ...] = RENDER_STAGES


def stage_costs(
    jobs: pd.DataFrame, augmenter, *, photos: int = 4, per_photo: int = 6, work_dir: str | os.PathLike | None = None
) -> dict:
    """Where the time of one image goes: ms of CPU time of this thread, on a few photos.

    Per photo (``_photo``): reading it, ``prepare`` (landmarks and 3DMM fit, texture) and the
    source's identity descriptor. Per image: ``synthesize`` and, inside it, the calls of
    :data:`SYNTHESIS_STAGES` (``synthesize_rest``: the rest of it, i.e. the projection, the affect
    model's deformation, the per-photo cache lookup and copies); JPEG (quality 95) and PNG
    encoding as :func:`affect.image.write_image` encodes, the atomic file write (in a scratch
    folder of ``work_dir``: default, the system's), the manifest row, and the output's identity
    descriptor. The
    identity check is timed as a build runs it: the source's face detected once, each output's
    landmarks located in the source's face box (:func:`affect.augmentation.shard_tasks.run_shard`).
    CPU time rather than wall time, so that other jobs on the machine barely change it; the
    libraries run one thread each, as in a build's workers. Medians; the first photo is a warm-up.
    """
    import contextlib

    from affect.augmentation.identity_check import identity_descriptor, landmarks_in
    from affect.augmentation.shard_tasks import single_thread_libraries
    from affect.augmentation.shards import PartAppender
    from affect.augmentation.targets import Target
    from affect.datasets import read_frame
    from affect.face.landmarks import face_box
    from affect.files import atomic_write_bytes
    from affect.image import encode_image

    times: dict[str, list[float]] = {
        key: []
        for key in (
            "read_photo",
            "prepare_photo",
            "identity_source_photo",
            "synthesize",
            *SYNTHESIS_STAGES,
            "synthesize_rest",
            "encode_jpg",
            "encode_png",
            "write_file",
            "manifest_row",
            "identity_output",
        )
    }
    inside = {stage: 0.0 for stage in SYNTHESIS_STAGES}  # CPU seconds of the current image's synthesis

    def timed(key, function, *args):
        start = time.thread_time()
        value = function(*args)
        times[key].append(1000 * (time.thread_time() - start))
        return value

    @contextlib.contextmanager
    def counted(stage):  # the synthesizer's stage timer
        start = time.thread_time()
        try:
            yield
        finally:
            inside[stage] += time.thread_time() - start

    def source_identity(image):
        box = face_box(image)
        identity_descriptor(image, landmarks_in(image, box))
        return box

    restore = single_thread_libraries()
    # Augmenters that do not render through the synthesizer (a GAN's) have no stages to time.
    synthesizer = getattr(augmenter, "synthesizer", None)
    if synthesizer is not None:
        synthesizer.stage_timer = counted
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".scale-bench-") as scratch:
        part = PartAppender(Path(scratch))
        try:
            done = 0
            for source, group in jobs.groupby("source", sort=False):
                if done > photos:
                    break
                image = timed("read_photo", read_frame, source)
                try:
                    state = timed("prepare_photo", augmenter.prepare, image, None)
                except Exception:  # noqa: BLE001 - a stand-in photo without a detectable face
                    continue
                box = timed("identity_source_photo", source_identity, image)
                for job in group.head(per_photo).to_dict("records"):
                    target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
                    inside.update(dict.fromkeys(inside, 0.0))
                    output = timed("synthesize", augmenter.synthesize, state, target, 0)
                    for stage, seconds in inside.items():
                        times[stage].append(1000 * seconds)
                    times["synthesize_rest"].append(times["synthesize"][-1] - 1000 * sum(inside.values()))
                    jpeg = timed("encode_jpg", encode_image, output, ".jpg")
                    timed("encode_png", encode_image, output, ".png")
                    timed("write_file", atomic_write_bytes, Path(scratch) / "face.jpg", jpeg)
                    row = {column: job.get(column, "") for column in MANIFEST_COLUMNS} | {"identity_distance": 0.5}
                    timed("manifest_row", part.append, [row])
                    timed(
                        "identity_output",
                        lambda face, box=box: identity_descriptor(face, landmarks_in(face, box)),
                        output,
                    )
                if done == 0:  # warm-up photo
                    for values in times.values():
                        values.clear()
                done += 1
        finally:
            part.close()
            restore()
            if synthesizer is not None:
                synthesizer.stage_timer = None
    return {key: round(float(np.median(values)), 2) for key, values in times.items() if values}


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def simulate_coordination(
    workers: Sequence[int] = SIMULATED_WORKERS, *, task_seconds: float = 0.25, tasks_per_worker: int = 4
) -> dict:
    """SIMULATED: shard tasks that sleep, on a Dask cluster of ``W`` in-process worker threads.

    Each point submits ``tasks_per_worker * W`` tasks of ``task_seconds`` through the same
    window the builder keeps (``2 * W`` in flight, topped up as results come back) and
    compares the wall time with the ideal ``tasks_per_worker * task_seconds``. Sleeping tasks
    do no compute and the workers share one process (a fresh one per point) and two cores, so
    this measures what the scheduler and the driver loop cost per task, nothing else. Real shards last minutes, so
    the efficiency here (sub-second tasks) is a lower bound.

    Returns
    -------
    dict: ``simulated`` True, ``task_seconds``, ``points`` (per W: tasks, wall_s, ideal_s, efficiency),
    ``timed_out`` (the W whose tasks stopped coming back twice: left out of ``points``).
    """
    points, timed_out = {}, []
    for n in workers:
        for attempt in range(2):  # a point that stalls gets one more try
            try:
                points[str(n)] = _point_in_fresh_process(n, task_seconds, tasks_per_worker)
                break
            except TimeoutError:
                log.warning("simulated coordination at %d workers timed out (try %d of 2)", n, attempt + 1)
        else:
            timed_out.append(n)
    return {
        "simulated": True,
        "task_seconds": task_seconds,
        "tasks_per_worker": tasks_per_worker,
        "points": points,
        "timed_out": timed_out,
    }


def _point_in_fresh_process(n: int, task_seconds: float, tasks_per_worker: int) -> dict:
    """:func:`_simulated_point` in a spawned process: nothing that ran before in this one (the
    engines' Dask clusters, torch's threads) can stall its scheduler. Once, after the rest of
    ``make bench`` in one process, every point from 32 workers on stopped getting its tasks back."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        return process.submit(_simulated_point, n, task_seconds, tasks_per_worker).result()


def _simulated_point(n: int, task_seconds: float, tasks_per_worker: int) -> dict:
    """One point of :func:`simulate_coordination`; TimeoutError when the tasks stop coming back."""
    from distributed import Client, LocalCluster, as_completed

    processes = min(n, 16)  # in-process workers, each with n / 16 threads: one event loop per 32 tasks
    with (
        LocalCluster(
            n_workers=processes,
            threads_per_worker=math.ceil(n / processes),
            processes=False,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(processes)
        total = tasks_per_worker * n
        start = time.perf_counter()
        submitted = min(2 * n, total)
        # A bounded wait: a scheduler that stops answering fails this point instead of hanging the bench.
        running = as_completed(
            [client.submit(_sleep, task_seconds, pure=False) for _ in range(submitted)],
            timeout=max(60.0, 10 * tasks_per_worker * task_seconds),
        )
        for future in running:
            future.result()
            future.release()
            if submitted < total:
                running.add(client.submit(_sleep, task_seconds, pure=False))
                submitted += 1
        wall = time.perf_counter() - start
    ideal = tasks_per_worker * task_seconds
    return {
        "tasks": total,
        "wall_s": round(wall, 3),
        "ideal_s": ideal,
        "efficiency": round(min(ideal / wall, 1.0), 3),
        "tasks_per_s": round(total / wall, 1),
    }


def paper_scale_estimate(
    image_cost_s: float,
    bytes_per_image: float,
    cores: Sequence[int] = (2, 32, 256, 1024),
    tasks_per_s: float | None = None,
    n_shards: int = 1024,
    images: int = PAPER_AFFECTNET_IMAGES,
) -> dict:
    """Hours and disk for the paper's AffectNet set from the measured per-image cost.

    The set is split into ``n_shards`` shards of ``images / n_shards * image_cost_s`` seconds
    each. On N cores at most ``n_shards`` work at once, and the scheduler must hand out
    ``N / shard seconds`` tasks per second; where that exceeds ``tasks_per_s`` (the rate the
    simulated coordination reached), the workers wait in that proportion.
    """
    core_hours = images * image_cost_s / 3600
    shard_seconds = images / n_shards * image_cost_s
    hours = {}
    for n in cores:
        busy = min(n, n_shards)
        share = 1.0 if not tasks_per_s else min(1.0, tasks_per_s / (busy / shard_seconds))
        hours[str(n)] = round(core_hours / busy / share, 3)
    return {
        "images": images,
        "core_hours": round(core_hours, 1),
        "n_shards": n_shards,
        "tasks_per_s": tasks_per_s,
        "shard_seconds": round(shard_seconds, 1),
        "hours_on_cores": hours,
        "disk_gb": round(images * bytes_per_image / 1e9, 1),
    }


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
    lines = [
        "",
        "## Augmentation throughput",
        "",
        f"One plan of {scale['jobs']} images from {scale['photos']} neutral photos of the default AffectNet "
        f"stand-in, {scale['format'].upper()}, identity measured on 1 image in {scale['identity_every']}; "
        f"end to end (worker start-up, model load, merge included) on {scale['cpu_count']} cores; each "
        f"engine ran {scale.get('repeats', 1)} times, in turn with the others, and the table shows its median "
        f"run; load average {scale['load_average'][0]} at the end (a shared machine). Dask's worker seconds "
        "include each spawned worker's first photo (numba cache and dlib models load, about 3 s).",
        "",
        "| engine_workers | images | seconds | images/s | images/s of each run | worker seconds | "
        "worker CPU ms/image | start-up and coordination s | load before, after |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    nan = float("nan")
    for key, run in scale["runs"].items():
        each = ", ".join(f"{rate:.1f}" for rate in run.get("rates", [run["images_per_s"]]))
        lines.append(
            f"| {key} | {run['images']} | {run['seconds']:.1f} | {run['images_per_s']:.1f} | {each} | "
            f"{run['worker_seconds']:.1f} | {run.get('worker_cpu_ms_per_image', nan):.1f} | "
            f"{run.get('overhead_s', nan):.1f} | {run.get('load_before', nan):.1f}, "
            f"{run.get('load_after', nan):.1f} |"
        )
    cpu = f" ({1000 * scale['image_cpu_s']:.1f} ms of CPU time)" if scale.get("image_cpu_s") else ""
    lines += [
        "",
        "Speedup from 1 to 2 workers: "
        + ", ".join(f"{k} {v:.2f} x" for k, v in scale["speedup"].items())
        + f". One image costs {1000 * scale['image_cost_s']:.1f} ms of one core (serial run's wall time)"
        f"{cpu}, {scale['bytes_per_image'] / 1024:.0f} KiB on disk.",
    ]
    stages = scale.get("stages_ms")
    if stages:
        per_photo = {k: v for k, v in stages.items() if k.endswith("_photo")}
        per_image = {k: v for k, v in stages.items() if not k.endswith("_photo")}
        lines += [
            "",
            "Where the time goes (ms of CPU time, one process, libraries on one thread; medians). Per photo:",
            "",
            "| " + " | ".join(per_photo) + " |",
            "|" + "---:|" * len(per_photo),
            "| " + " | ".join(f"{value:.1f}" for value in per_photo.values()) + " |",
            "",
            f"Per image (`synthesize` is the sum of {', '.join(f'`{k}`' for k in SYNTHESIS_STAGES)} and "
            "`synthesize_rest`):",
            "",
            "| " + " | ".join(per_image) + " |",
            "|" + "---:|" * len(per_image),
            "| " + " | ".join(f"{value:.2f}" for value in per_image.values()) + " |",
        ]
    simulated = scale.get("simulated")
    if simulated:
        lines += [
            "",
            f"SIMULATED coordination (shard tasks that sleep {simulated['task_seconds']} s, "
            f"{simulated['tasks_per_worker']} per worker, on in-process Dask workers; no compute):",
            "",
            "| workers | wall s | ideal s | efficiency | predicted images/s (simulated) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n, point in simulated["points"].items():
            lines.append(
                f"| {n} | {point['wall_s']:.2f} | {point['ideal_s']:.2f} | {point['efficiency']:.2f} | "
                f"{simulated['predicted_images_per_s'][n]:.0f} |"
            )
        for n in simulated.get("timed_out", []):
            lines.append(f"| {n} | timed out twice | | | |")
    estimate = scale.get("paper_estimate")
    if estimate:
        hours = ", ".join(f"{h:g} h on {n} cores" for n, h in estimate["hours_on_cores"].items())
        lines += [
            "",
            f"The paper's AffectNet set ({estimate['images']:,} images): {estimate['core_hours']:g} "
            f"core-hours: {hours} (in {estimate['n_shards']} shards of {estimate['shard_seconds']:g} s, "
            f"handed out no faster than the simulated scheduler's best rate, {estimate['tasks_per_s']:g} "
            f"tasks/s); {estimate['disk_gb']:g} GB of disk as JPEG.",
        ]
    estimate = scale.get("paper_estimate_cpu")
    if estimate:
        hours = ", ".join(f"{h:g} h on {n} cores" for n, h in estimate["hours_on_cores"].items())
        lines += [
            "",
            f"From the CPU time per image instead (cores no other job shares): "
            f"{estimate['core_hours']:g} core-hours: {hours}.",
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
