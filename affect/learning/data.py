"""Torch datasets over prepared faces: single frames, and clips cut inside each video.

Per-frame networks see one crop per sample. Recurrent networks see clips of ``T`` consecutive
frames of one video (docs/networks.md 7.3): windows never straddle two videos, the last window of
a video is padded and its padding masked, so at test time every frame of every video is
scored exactly once. Labels a frame lacks (NaN valence-arousal, an expression outside the
task's classes) are masked rather than dropped, which keeps the time axis intact.

A training sample is drawn as ``(item, epoch)`` (:class:`EpochShuffle`), and its random
transform is drawn from (seed, epoch, item) alone (:func:`sample_seed`): the same augmentation
whichever loader process draws it, and whether the run started at epoch 0 or resumed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from affect.learning.prepared import PreparedFaces

__all__ = ["targets", "windows", "sample_seed", "FrameDataset", "ClipDataset", "EpochShuffle"]

#: A sample as a dataset is asked for it: an item, or ``(item, epoch)`` from :class:`EpochShuffle`.
Draw = int | tuple[int, int]


def targets(index: pd.DataFrame, task: str, classes: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of every row and whether each is known.

    Returns
    -------
    values : (N, 2) float32 valence-arousal, (N, 2) float32 age range in years (task
        ``'age'``: ``age_low, age_high``), or (N,) int64 class indices (-1 when unknown)
    known : (N,) bool
    """
    if task == "age":
        if "age_low" not in index:
            raise ValueError("task 'age': the prepared faces have no age_low / age_high columns")
        values = index[["age_low", "age_high"]].to_numpy(dtype=np.float32)
        return values, np.isfinite(values).all(axis=1)
    if task == "va":
        values = index[["valence", "arousal"]].to_numpy(dtype=np.float32)
        return values, np.isfinite(values).all(axis=1)
    lookup = {name: i for i, name in enumerate(classes or ())}
    labels = np.array([lookup.get(e, -1) for e in index["expression"]], dtype=np.int64)
    return labels, labels >= 0


def windows(index: pd.DataFrame, length: int) -> list[np.ndarray]:
    """Cut each video into consecutive, non-overlapping windows of ``length`` frames.

    A row without a video is a one-frame video of its own. The last window of a video is
    padded with -1, so the windows cover every row exactly once.

    Returns
    -------
    list of (length,) int64 arrays of row numbers, -1 for padding.
    """
    keys = np.where(index["video"].astype(str) != "", "v:" + index["video"].astype(str), "i:" + index["id"].astype(str))
    order = pd.DataFrame({"key": keys, "frame": index["frame"].to_numpy(), "row": np.arange(len(index))})
    result = []
    for _, group in order.sort_values(["key", "frame"], kind="stable").groupby("key", sort=False):
        rows = group["row"].to_numpy()
        for start in range(0, len(rows), length):
            window = np.full(length, -1, dtype=np.int64)
            chunk = rows[start : start + length]
            window[: len(chunk)] = chunk
            result.append(window)
    return result


def sample_seed(seed: int, epoch: int, item: int) -> int:
    """The torch seed of one sample's random transform: a function of (seed, epoch, item) alone."""
    return int(np.random.SeedSequence([seed, epoch, item]).generate_state(1)[0])


def _transformed(
    transform: Callable[[torch.Tensor], torch.Tensor], pixels: torch.Tensor, draw: Draw, seed: int
) -> torch.Tensor:
    """``transform(pixels)``; for an ``(item, epoch)`` draw, with torch's CPU generator seeded by
    :func:`sample_seed` and restored afterwards (dropout's draws are left as they were)."""
    if not isinstance(draw, tuple):
        return transform(pixels)
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(sample_seed(seed, draw[1], draw[0]))
        return transform(pixels)


def _pixels(faces: PreparedFaces, rows: np.ndarray) -> torch.Tensor:
    """uint8 (len(rows), 3, S, S) from the memory-mapped (N, S, S, 3) crops."""
    return torch.from_numpy(np.ascontiguousarray(faces.faces[rows])).permute(0, 3, 1, 2)


class FrameDataset(Dataset):
    """One prepared crop per sample: ``{'image': (3, S, S), 'target', 'known', 'row'}``.

    Parameters
    ----------
    faces : PreparedFaces
    task : {'va', 'expression'}
    classes : sequence of str, optional
        Class order of the expression task.
    transform : callable
        uint8 (3, S, S) tensor -> float network input (:mod:`affect.learning.transforms`).
    seed : int
        The run's seed, from which the random transforms of ``(row, epoch)`` draws are drawn.
    """

    def __init__(
        self,
        faces: PreparedFaces,
        task: str,
        classes: Sequence[str] | None,
        transform: Callable[[torch.Tensor], torch.Tensor],
        seed: int = 0,
    ):
        self.faces, self.transform, self.seed = faces, transform, seed
        self.values, self.known = targets(faces.index, task, classes)

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, draw: Draw) -> dict[str, torch.Tensor]:
        row = draw[0] if isinstance(draw, tuple) else draw
        image = _transformed(self.transform, _pixels(self.faces, np.array([row]))[0], draw, self.seed)
        return {
            "image": image,
            "target": torch.as_tensor(np.nan_to_num(self.values[row])),
            "known": torch.as_tensor(self.known[row]),
            "row": torch.as_tensor(row),
        }


class ClipDataset(Dataset):
    """Windows of consecutive frames: ``{'image': (T, 3, S, S), 'target', 'known', 'row'[, 'landmarks']}``.

    One draw of the random transform covers the whole clip. Padding frames repeat the last
    real frame and are marked unknown (``row`` -1).

    Parameters
    ----------
    faces : PreparedFaces
    task, classes, transform, seed
        As in :class:`FrameDataset`.
    length : int
        T, frames per window (AffWildNet: 80).
    landmarks : bool
        Also return ``(T, 68, 2)`` landmarks in [-1, 1] (0 where unknown).
    """

    def __init__(
        self,
        faces: PreparedFaces,
        task: str,
        classes: Sequence[str] | None,
        transform: Callable[[torch.Tensor], torch.Tensor],
        length: int,
        landmarks: bool = False,
        seed: int = 0,
    ):
        self.faces, self.transform, self.landmarks, self.seed = faces, transform, landmarks, seed
        self.values, self.known = targets(faces.index, task, classes)
        self.windows = windows(faces.index, length)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, draw: Draw) -> dict[str, torch.Tensor]:
        window = self.windows[draw[0] if isinstance(draw, tuple) else draw]
        real = window >= 0
        rows = np.where(real, window, window[real][-1])
        sample = {
            "image": _transformed(self.transform, _pixels(self.faces, rows), draw, self.seed),
            "target": torch.as_tensor(np.nan_to_num(self.values[rows])),
            "known": torch.as_tensor(self.known[rows] & real),
            "row": torch.as_tensor(window),
        }
        if self.landmarks:
            sample["landmarks"] = torch.as_tensor(np.nan_to_num(self.faces.landmarks[rows]))
        return sample


class EpochShuffle(Sampler[tuple[int, int]]):
    """A new permutation each epoch, drawn from (seed, epoch) alone, split over the training processes.

    Lightning calls :meth:`set_epoch` before every epoch, so a run resumed from a checkpoint
    sees the same order as one that was never interrupted. Each index comes with the epoch,
    ``(index, epoch)``, from which the datasets draw the sample's random transform. Under DDP (``N`` processes, read
    from :mod:`torch.distributed` when iterating, so spawned processes find their own rank),
    process ``r`` takes every ``N``-th index from position ``r``, the first ``size // N`` of
    them: with a per-process batch of ``B / N``, batch ``k`` of the ``N`` processes together
    holds positions ``k * B`` to ``(k + 1) * B - 1`` of the permutation, the one process's
    batch ``k`` of size ``B``.
    """

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size // _processes()[1]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        rank, processes = _processes()
        return iter((index, self.epoch) for index in order[rank::processes][: self.size // processes].tolist())


def _processes() -> tuple[int, int]:
    """(rank, number) of the training processes: (0, 1) outside DDP."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
