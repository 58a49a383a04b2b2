"""Training and loader throughput at a profile's sizes, for ``affect bench`` (its ``training`` key).

For each network: images per second of a training step (forward, backward, Adam step) and
images per second of the DataLoader reading the prepared-face cache (memory-mapped crops,
conversion to network input), with and without Table 9's on-the-fly augmentation. All are
measured in the same process on the same crops, in alternating rounds, so their ratio
compares numbers taken under one machine load. A ratio of at least :data:`TARGET_RATIO` means the
loader can never be what holds training back.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from affect.learning.age_estimator import NETWORK as AGE_NETWORK
from affect.learning.networks import NETWORKS
from affect.learning.prepared import AGE_COLUMNS, INDEX_COLUMNS, PreparedFaces
from affect.learning.training import AffectModule, input_size, make_loader

__all__ = ["TARGET_RATIO", "measure", "training_throughput", "training_benchmark"]

TARGET_RATIO = 3.0


def _cache(folder: Path, size: int, rows: int, videos: int) -> PreparedFaces:
    """A prepared-face cache on disk with random crops (the loader's cost does not depend on content)."""
    faces = np.lib.format.open_memmap(
        folder / f"faces-{size}.npy", mode="w+", dtype=np.uint8, shape=(rows, size, size, 3)
    )
    faces[:] = np.random.default_rng(0).integers(0, 256, faces.shape, dtype=np.uint8)
    faces.flush()
    va = np.random.default_rng(1).uniform(-1, 1, (rows, 2))
    index = pd.DataFrame(
        {
            "id": [f"{i}.jpg" for i in range(rows)],
            "subject": "",
            "video": [f"v{i % videos}" for i in range(rows)],
            "frame": np.arange(rows) // videos,
            "valence": va[:, 0],
            "arousal": va[:, 1],
            "expression": "",
            "path": "",
            "crop": "",
        },
        columns=list(INDEX_COLUMNS),
    )
    low = np.random.default_rng(2).integers(0, 90, rows)  # age ranges in years, for the age estimator
    index[list(AGE_COLUMNS)] = np.stack([low, low + 5], axis=1).astype(float)
    mapped = np.load(folder / f"faces-{size}.npy", mmap_mode="r", allow_pickle=False)
    return PreparedFaces(folder, size, index, mapped, np.zeros((rows, 68, 2), np.float32))


class _Stopwatch:
    """Frames and seconds of one activity, accumulated over interleaved rounds."""

    def __init__(self):
        self.frames, self.seconds = 0, 0.0

    def add(self, frames: int, started: float) -> None:
        self.frames += frames
        self.seconds += time.perf_counter() - started

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


def _cycle(loader):
    while True:
        yield from loader


def measure(network: str, sizes, *, rounds: int = 4, loader_batches: int = 4, seed: int = 0) -> dict:
    """Throughput of one network at ``sizes`` (a :class:`affect.profiles.TrainingSizes`).

    Each round times one training step (forward, backward, Adam) on a batch, then
    ``loader_batches`` batches of the plain loader and of the augmenting loader, so all
    three rates see the same machine load. One untimed round comes first (allocator,
    kernel choice, file cache).

    Returns
    -------
    dict with ``input_size``, ``batch_frames``, ``train_images_per_s``,
    ``loader_images_per_s``, ``augmented_loader_images_per_s``, ``ratio`` (loader over
    training) and ``augmented_ratio``.
    """
    torch.manual_seed(seed)
    size = input_size(network, sizes)
    with tempfile.TemporaryDirectory() as folder:
        faces = _cache(Path(folder), size, rows=max(4 * sizes.batch_size, 64), videos=4)
        task = "age" if network == AGE_NETWORK else "va"  # the age estimator of Sec. 6.5; the rest regress VA
        module = AffectModule(network, task, asdict(sizes)).train()
        optimizer = module.configure_optimizers()
        loaders = [
            _cycle(make_loader(faces, network, task, None, sizes, train=True, augment=augment, seed=seed))
            for augment in (False, True)
        ]
        batch = next(loaders[0])
        frames = batch["known"].numel()
        watches = [_Stopwatch() for _ in range(3)]
        for round_ in range(rounds + 1):
            started = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            module.loss(*module.labelled(batch)).backward()
            optimizer.step()
            if round_:
                watches[0].add(frames, started)
            for watch, loader in zip(watches[1:], loaders):
                started = time.perf_counter()
                count = sum(next(loader)["known"].numel() for _ in range(loader_batches))
                if round_:
                    watch.add(count, started)
    train, plain, augmented = (w.rate for w in watches)
    return {
        "input_size": size,
        "batch_frames": frames,
        "train_images_per_s": train,
        "loader_images_per_s": plain,
        "augmented_loader_images_per_s": augmented,
        "ratio": plain / train,
        "augmented_ratio": augmented / train,
    }


def training_throughput(sizes, profile: str, networks=NETWORKS, **options) -> dict:
    """:func:`measure` for every network; the ``training`` entry of ``bench.json``.

    Returns
    -------
    dict with ``profile``, ``sizes``, ``threads``, ``target_ratio``, ``networks`` (network ->
    :func:`measure`) and ``meets_target`` (every plain-loader ratio >= the target).
    """
    results = {name: measure(name, sizes, **options) for name in networks}
    return {
        "profile": profile,
        "sizes": asdict(sizes),
        "threads": torch.get_num_threads(),
        "target_ratio": TARGET_RATIO,
        "networks": results,
        "meets_target": all(r["ratio"] >= TARGET_RATIO for r in results.values()),
    }


def training_benchmark(profile: str = "default") -> dict:
    """Training (forward + backward) and loader images per second of every network (Sec. 6.2).

    At the profile's sizes, measured in one process, so each loader/training ratio compares
    two rates taken under the same load; see :func:`training_throughput`.
    """
    from affect.run import profile_named

    return training_throughput(profile_named(profile).training, profile)
