"""Training and loader throughput at a profile's sizes, for ``affect bench`` (its ``training`` key).

For each network: images per second of a training step (forward, backward, Adam step) and
images per second of the DataLoader reading the prepared-face cache (memory-mapped crops,
conversion to network input), with and without Table 9's on-the-fly augmentation. Both are
measured in the same process on the same crops, alternating, so their ratio compares two
numbers taken under one machine load. A ratio of at least :data:`TARGET_RATIO` means the
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

from affect.learning.networks import NETWORKS
from affect.learning.prepared import INDEX_COLUMNS, PreparedFaces
from affect.learning.training import AffectModule, input_size, make_loader

__all__ = ["TARGET_RATIO", "measure", "training_throughput"]

TARGET_RATIO = 3.0


def _cache(folder: Path, size: int, rows: int, videos: int) -> PreparedFaces:
    """A prepared-face cache on disk with random crops (the loader's cost does not depend on content)."""
    faces = np.lib.format.open_memmap(folder / f"faces-{size}.npy", mode="w+", dtype=np.uint8,
                                      shape=(rows, size, size, 3))
    faces[:] = np.random.default_rng(0).integers(0, 256, faces.shape, dtype=np.uint8)
    faces.flush()
    va = np.random.default_rng(1).uniform(-1, 1, (rows, 2))
    index = pd.DataFrame({"id": [f"{i}.jpg" for i in range(rows)], "subject": "",
                          "video": [f"v{i % videos}" for i in range(rows)], "frame": np.arange(rows) // videos,
                          "valence": va[:, 0], "arousal": va[:, 1], "expression": "", "path": "", "crop": ""},
                         columns=list(INDEX_COLUMNS))
    mapped = np.load(folder / f"faces-{size}.npy", mmap_mode="r")
    return PreparedFaces(folder, size, index, mapped, np.zeros((rows, 68, 2), np.float32))


def _loader_rate(loader, frames_per_item: int, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in loader:
            count += batch["image"].shape[0] * frames_per_item
            if time.perf_counter() - start >= seconds:
                break
    return count / (time.perf_counter() - start)


def _training_rate(module: AffectModule, loader, steps: int) -> tuple[float, int]:
    """(frames per second of a training step, frames per batch), on one batch of ``loader``."""
    optimizer = module.configure_optimizers()
    module.train()
    batches = iter(loader)
    first = next(batches)
    frames = first["known"].numel()
    for step in range(steps + 1):  # the first step is a warm-up (allocator, kernel choice)
        if step == 1:
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        outputs, target = module._known(first)
        module.loss(outputs, target).backward()
        optimizer.step()
    return steps * frames / (time.perf_counter() - start), frames


def measure(network: str, sizes, *, steps: int = 3, loader_seconds: float = 2.0, seed: int = 0) -> dict:
    """Throughput of one network at ``sizes`` (a :class:`affect.profiles.TrainingSizes`).

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
        module = AffectModule(network, "va", asdict(sizes))
        plain = make_loader(faces, network, "va", None, sizes, train=True, seed=seed)
        augmented = make_loader(faces, network, "va", None, sizes, train=True, augment=True, seed=seed)
        per_item = sizes.sequence_length if module.recurrent else 1
        train_rate, frames = _training_rate(module, plain, steps)
        loader_rate = _loader_rate(plain, per_item, loader_seconds)
        augmented_rate = _loader_rate(augmented, per_item, loader_seconds)
    return {"input_size": size, "batch_frames": frames, "train_images_per_s": train_rate,
            "loader_images_per_s": loader_rate, "augmented_loader_images_per_s": augmented_rate,
            "ratio": loader_rate / train_rate, "augmented_ratio": augmented_rate / train_rate}


def training_throughput(sizes, profile: str, networks=NETWORKS, **options) -> dict:
    """:func:`measure` for every network; the ``training`` entry of ``bench.json``.

    Returns
    -------
    dict with ``profile``, ``sizes``, ``threads``, ``target_ratio``, ``networks`` (network ->
    :func:`measure`) and ``meets_target`` (every plain-loader ratio >= the target).
    """
    results = {name: measure(name, sizes, **options) for name in networks}
    return {"profile": profile, "sizes": asdict(sizes), "threads": torch.get_num_threads(),
            "target_ratio": TARGET_RATIO, "networks": results,
            "meets_target": all(r["ratio"] >= TARGET_RATIO for r in results.values())}
