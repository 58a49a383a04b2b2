"""StarGAN (Choi et al., CVPR 2018) on valence and arousal: the paper's first GAN baseline (Sec. 6.1.2).

Architecture and losses follow the authors' code (``yunjey/stargan``; see
docs/gan_baselines.md 1.1): the generator of :class:`~affect.learning.gans.layers.GeneratorBody`
with a 7x7 conv + tanh output, the PatchGAN discriminator with an auxiliary head, WGAN-GP with
``lambda_gp = 10``, an L1 cycle term with ``lambda_rec = 10``, Adam 1e-4 (0.5, 0.999), five
critic steps per generator step and target conditions drawn by permuting the batch's own.

Deviations from the original, all forced by the condition being two continuous numbers:

- the condition is (valence, arousal) in [-1, 1], tiled to two planes, not one-hot domains;
- the auxiliary head regresses VA with the mean squared error (GANimation's choice for its
  continuous action units) instead of classifying domains with cross-entropy; its weight
  stays StarGAN's ``lambda_cls = 1``;
- instance normalisation does not track running statistics (see ``GeneratorBody``);
- at the ``default`` and ``smoke`` profiles the networks are narrower, the crops smaller and the
  iterations far fewer than the original's (:class:`affect.profiles.GANSizes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from affect.learning.gans import losses
from affect.learning.gans.layers import GeneratorBody, PatchDiscriminator

__all__ = ["StarGANWeights", "StarGANGenerator", "StarGAN"]


@dataclass(frozen=True)
class StarGANWeights:
    """Loss weights of StarGAN's code (``main.py`` defaults)."""

    adversarial: float = 1.0
    va: float = 1.0  # lambda_cls, here on the VA regression
    cycle: float = 10.0  # lambda_rec
    gradient_penalty: float = 10.0


class StarGANGenerator(nn.Module):
    """``G(x, c)``: (B, 3, S, S) in [-1, 1] and (B, 2) VA -> (B, 3, S, S) in [-1, 1]."""

    def __init__(self, conv_dim: int = 64, residual_blocks: int = 6):
        super().__init__()
        self.body = GeneratorBody(conv_dim, residual_blocks)
        self.image = nn.Sequential(nn.Conv2d(self.body.out_channels, 3, 7, 1, 3, bias=False), nn.Tanh())

    def forward(self, images: torch.Tensor, va: torch.Tensor) -> torch.Tensor:
        return self.image(self.body(images, va))


class StarGAN(nn.Module):
    """Generator, discriminator and the losses of one training iteration.

    Parameters
    ----------
    image_size : int
        Crop side S, px (paper: 128).
    conv_dim, residual_blocks : int
        Generator and discriminator widths and bottleneck depth (originals: 64 and 6).
    max_channels : int, optional
        Cap on the discriminator's channels (None: the original doubling).
    weights : StarGANWeights, optional
    """

    name = "stargan"

    def __init__(
        self,
        image_size: int = 128,
        conv_dim: int = 64,
        residual_blocks: int = 6,
        max_channels: int | None = None,
        weights=None,
    ):
        super().__init__()
        self.weights = weights or self.default_weights()
        self.generator = self.make_generator(conv_dim, residual_blocks)
        self.discriminator = PatchDiscriminator(image_size, conv_dim, max_channels)

    @staticmethod
    def default_weights():
        return StarGANWeights()

    @staticmethod
    def make_generator(conv_dim: int, residual_blocks: int) -> nn.Module:
        return StarGANGenerator(conv_dim, residual_blocks)

    def translate(self, images: torch.Tensor, va: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The edited images and any masks (none for StarGAN)."""
        return self.generator(images, va), {}

    def target_va(self, va: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Target conditions: the batch's own VA in a random order (StarGAN's ``randperm``)."""
        return va[torch.randperm(len(va), generator=generator)]

    def discriminator_loss(
        self, real: torch.Tensor, va: torch.Tensor, target: torch.Tensor, alpha: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """``-D(real) + D(G(real, target)) + w_va MSE(D_va(real), va) + w_gp GP`` and its terms."""
        with torch.no_grad():
            fake, _ = self.translate(real, target)
        real_scores, real_va = self.discriminator(real)
        fake_scores, _ = self.discriminator(fake)
        adversarial = losses.critic_loss(real_scores, fake_scores)
        va_term = losses.va_regression_loss(real_va, va)
        penalty = losses.gradient_penalty(lambda x: self.discriminator(x)[0], real, fake, alpha)
        w = self.weights
        total = w.adversarial * adversarial + w.va * va_term + w.gradient_penalty * penalty
        return total, {"d_adversarial": adversarial.item(), "d_va": va_term.item(), "d_gp": penalty.item()}

    def generator_loss(
        self, real: torch.Tensor, va: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """``-D(fake) + w_va MSE(D_va(fake), target) + w_cyc |real - G(fake, va)|`` and its terms."""
        fake, masks = self.translate(real, target)
        fake_scores, fake_va = self.discriminator(fake)
        reconstructed, back_masks = self.translate(fake, va)
        adversarial = losses.generator_adversarial_loss(fake_scores)
        va_term = losses.va_regression_loss(fake_va, target)
        cycle = losses.cycle_loss(real, reconstructed)
        w = self.weights
        total = w.adversarial * adversarial + w.va * va_term + w.cycle * cycle
        terms = {"g_adversarial": adversarial.item(), "g_va": va_term.item(), "g_cycle": cycle.item()}
        extra, more = self.mask_terms(masks, back_masks)
        return total + extra, terms | more

    def mask_terms(self, masks: dict, back_masks: dict) -> tuple[torch.Tensor | float, dict[str, float]]:
        """Regularisers of the generator's masks (none for StarGAN)."""
        return 0.0, {}
