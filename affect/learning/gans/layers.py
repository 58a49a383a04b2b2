"""Building blocks shared by the two GAN baselines (Sec. 6.1.2): condition tiling, the generator body, PatchGAN.

StarGAN (Choi et al., CVPR 2018) and GANimation (Pumarola et al., ECCV 2018) share one generator
body and one discriminator; they differ in the generator's output head and the losses
(:mod:`~affect.learning.gans.stargan`, :mod:`~affect.learning.gans.ganimation`). Here both are
conditioned on a 2-D valence-arousal vector (Sec. 6.1.2) instead of domain labels or action units.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["tile_condition", "ResidualBlock", "GeneratorBody", "PatchDiscriminator", "critic_layers"]

#: Number of condition channels: valence and arousal.
VA_CHANNELS = 2


def tile_condition(images: torch.Tensor, va: torch.Tensor) -> torch.Tensor:
    """Concatenate the condition, tiled over the image, to the image channels.

    Parameters
    ----------
    images : (B, 3, S, S) float in [-1, 1]
    va : (B, 2) float, valence and arousal in [-1, 1]

    Returns
    -------
    (B, 5, S, S)
    """
    if va.ndim != 2 or va.shape[0] != images.shape[0]:
        raise ValueError(f"va: expected shape ({images.shape[0]}, C), got {tuple(va.shape)}")
    planes = va[:, :, None, None].expand(-1, -1, images.shape[2], images.shape[3])
    return torch.cat([images, planes.to(images.dtype)], dim=1)


class ResidualBlock(nn.Module):
    """``x + [conv3x3 - IN - ReLU - conv3x3 - IN](x)``, no biases (both originals)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv_in_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True)]


class GeneratorBody(nn.Module):
    """The generator of both originals up to its output head.

    Conv 7x7 (3 + 2 -> ``conv_dim``), two stride-2 4x4 convs (channels doubled each time),
    ``residual_blocks`` residual blocks, two stride-2 4x4 transposed convs back to ``conv_dim``;
    every conv without bias and followed by instance normalisation and ReLU.

    Instance normalisation never tracks running statistics (GANimation's choice; StarGAN's
    code tracks them and normalises test images with them): the augmenter edits one crop at a
    time, and statistics gathered by a short CPU run would be poor estimates.

    Parameters
    ----------
    conv_dim : int
        Channels of the first layer (originals: 64).
    residual_blocks : int
        Residual blocks in the bottleneck (originals: 6).
    condition_channels : int
        Channels of the tiled condition (2: valence and arousal).
    """

    def __init__(self, conv_dim: int = 64, residual_blocks: int = 6, condition_channels: int = VA_CHANNELS):
        super().__init__()
        layers = _conv_in_relu(nn.Conv2d(3 + condition_channels, conv_dim, 7, 1, 3, bias=False), conv_dim)
        channels = conv_dim
        for _ in range(2):
            layers += _conv_in_relu(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False), channels * 2)
            channels *= 2
        layers += [ResidualBlock(channels) for _ in range(residual_blocks)]
        for _ in range(2):
            layers += _conv_in_relu(nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False), channels // 2)
            channels //= 2
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, images: torch.Tensor, va: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) images and (B, 2) VA -> (B, conv_dim, S, S) features; S a multiple of 4."""
        if images.shape[-1] % 4 or images.shape[-2] % 4:
            raise ValueError(f"images: expected sides that are multiples of 4, got {tuple(images.shape[-2:])}")
        return self.layers(tile_condition(images, va))


def critic_layers(image_size: int) -> int:
    """Stride-2 layers that leave a 2 x 2 critic map: 6 at 128 px (StarGAN's ``repeat_num``), 5 at 64 px."""
    layers = int(round(math.log2(image_size))) - 1
    if image_size < 8 or 2 ** (layers + 1) != image_size:
        raise ValueError(f"image_size: expected a power of two of at least 8 px, got {image_size}")
    return layers


class PatchDiscriminator(nn.Module):
    """PatchGAN critic with an auxiliary valence-arousal regressor (both originals' discriminator).

    ``critic_layers(image_size)`` stride-2 4x4 convs (3 -> ``conv_dim`` -> ... channels doubled,
    each with bias and LeakyReLU 0.01, no normalisation), then two heads on the last map:

    - ``critic``: 3x3 conv -> 1 channel, the real/fake score of each patch, (B, 1, 2, 2);
    - ``va``: conv with a kernel covering the whole 2 x 2 map -> 2 values, valence and arousal.
      StarGAN's head classifies domains; here it regresses VA, as GANimation's regresses action
      units (the paper conditions both GANs on VA, Sec. 6.1.2).

    Parameters
    ----------
    image_size : int
        Side S of the square input, a power of two.
    conv_dim : int
        Channels of the first layer (originals: 64).
    max_channels : int, optional
        Cap on the channels of the deeper layers (None: the originals, doubling up to 2048 at 128 px).
    """

    def __init__(
        self,
        image_size: int = 128,
        conv_dim: int = 64,
        max_channels: int | None = None,
        condition_channels: int = VA_CHANNELS,
    ):
        super().__init__()
        n = critic_layers(image_size)
        layers: list[nn.Module] = []
        channels_in, channels = 3, conv_dim
        for _ in range(n):
            layers += [nn.Conv2d(channels_in, channels, 4, 2, 1), nn.LeakyReLU(0.01)]
            channels_in, channels = channels, channels * 2 if max_channels is None else min(channels * 2, max_channels)
        self.layers = nn.Sequential(*layers)
        side = image_size // 2**n
        self.critic = nn.Conv2d(channels_in, 1, 3, 1, 1, bias=False)
        self.va = nn.Conv2d(channels_in, condition_channels, side, bias=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) -> critic map (B, 1, 2, 2) and VA (B, 2)."""
        features = self.layers(images)
        return self.critic(features), self.va(features).flatten(1)
