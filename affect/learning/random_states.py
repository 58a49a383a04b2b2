"""The random states of a training run: drawn per epoch from the seed, and kept in checkpoints.

:class:`RandomStates` is the Lightning callback of :func:`affect.learning.training.fit` that makes
a resumed run the same run as one never interrupted:

- at the first batch of every epoch it seeds python's ``random``, numpy and torch (CPU and every
  GPU; dropout draws from these) from (seed, epoch) alone (:func:`epoch_seed`), so an epoch's
  draws do not depend on the epochs that this process ran before it;
- it saves these states in every checkpoint (tensors and plain data, which
  :func:`affect.learning.checkpoints.read_torch_file` reads back) and restores them on resume,
  which covers a checkpoint taken inside an epoch.

Shuffling (:class:`affect.learning.data.EpochShuffle`) and each sample's random transform
(:func:`affect.learning.data.sample_seed`) are drawn from (seed, epoch) without these states.
"""

from __future__ import annotations

import random
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

__all__ = ["RandomStates", "epoch_seed", "capture", "restore"]


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` of a run seeded ``seed`` (32 bits, numpy's limit)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def capture() -> dict[str, Any]:
    """Python's, numpy's and torch's (CPU, every visible GPU) random states, as tensors and plain data."""
    version, words, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    states = {
        "python": {"version": version, "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore(states: dict[str, Any]) -> None:
    """Set the random states that :func:`capture` returned."""
    python = states["python"]
    random.setstate((python["version"], tuple(python["words"].tolist()), python["gauss"]))
    saved = states["numpy"]
    keys = saved["keys"].numpy().astype(np.uint32)
    np.random.set_state((saved["kind"], keys, saved["position"], saved["has_gauss"], saved["cached"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


class RandomStates(Callback):
    """Seed every epoch from (seed, epoch); save the random states in checkpoints, restore them on resume.

    Parameters
    ----------
    seed : int
        The run's seed.
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, index: int) -> None:
        # The first batch rather than on_train_epoch_start, which Lightning 2 skips in an epoch
        # that it restarts (its fit loop's restarted_mid_epoch and restarted_on_epoch_end).
        if index == 0:
            seed = epoch_seed(self.seed, trainer.current_epoch)
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)  # the CPU and every GPU

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "states": capture()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        restore(state_dict["states"])
