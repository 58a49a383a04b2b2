"""Input transforms: crops to network inputs, and Table 9's on-the-fly augmentation.

Prepared faces are stored as uint8 crops (:mod:`affect.learning.prepared`); these transforms
turn a ``(3, S, S)`` crop, or a ``(T, 3, S, S)`` clip, into floats in [-1, 1], AffWildNet's
``(x - 128) / 128`` scaling (docs/networks.md 1.1). A clip goes through one draw of the random
parameters, so its frames stay consistent in time.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

__all__ = ["AUGMENTATION", "to_network_input", "augmentation"]

#: Sec. 6.2.2.2, 'VGG-FACE-augmentation' of Table 9: "small rotations, left and right
#: flipping, first resize and then random crop to original dimensions, random brightness
#: and saturation". The paper gives no magnitudes; these are kit choices.
AUGMENTATION = {"rotation_degrees": 10.0, "resize_factor": 1.15, "brightness": 0.25, "saturation": 0.25}


def to_network_input() -> v2.Transform:
    """uint8 ``(..., 3, S, S)`` -> float32 in [-1, 1]."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)])


def augmentation(size: int) -> v2.Transform:
    """Table 9's on-the-fly augmentation of ``size`` px crops, then :func:`to_network_input`.

    Parameters
    ----------
    size : int
        Side of the crops, px; the output has the same size.

    Returns
    -------
    v2.Transform on uint8 ``(3, S, S)`` or ``(T, 3, S, S)`` tensors.
    """
    return v2.Compose(
        [
            v2.RandomRotation(AUGMENTATION["rotation_degrees"]),
            v2.RandomHorizontalFlip(),
            v2.Resize(int(round(size * AUGMENTATION["resize_factor"])), antialias=True),
            v2.RandomCrop(size),
            v2.ColorJitter(brightness=AUGMENTATION["brightness"], saturation=AUGMENTATION["saturation"]),
            to_network_input(),
        ]
    )
