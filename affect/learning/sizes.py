"""Sizes of a training run (moved into affect.profiles once the layout settles)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingSizes:
    """Sizes of the learning runs of one profile (Sec. 6.2).

    Attributes
    ----------
    input_size : int
        Crop side of the per-frame networks, px (paper scale: 224, VGG-Face's input).
    sequence_input_size : int
        Crop side of the recurrent networks, px (AffWildNet: 96).
    width : float
        Channel-width multiplier of the networks (1.0: the published networks).
    sequence_length : int
        Frames per training clip of the recurrent networks (AffWildNet: 80).
    gru_hidden, gru_layers : int
        GRU sizes (AffWildNet: 128 units, 2 layers).
    batch_size : int
        Frames per batch (clips per batch: batch_size // sequence_length, at least 1).
    max_epochs, patience : int
        Epoch limit, and epochs without a better validation score before stopping.
    learning_rate : float
        Adam's step size.
    mse_weight : float
        Weight of the MSE term added to the CCC loss of VA training.
    num_workers : int
        DataLoader processes (0: load in the training process).
    """

    input_size: int
    sequence_input_size: int
    width: float
    sequence_length: int
    gru_hidden: int
    gru_layers: int
    batch_size: int
    max_epochs: int
    patience: int
    learning_rate: float
    mse_weight: float = 0.0
    num_workers: int = 0
