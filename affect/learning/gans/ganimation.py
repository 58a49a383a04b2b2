"""GANimation (Pumarola et al., ECCV 2018) on valence and arousal: the paper's second GAN baseline (Sec. 6.1.2).

Follows the authors' code (``albertpumarola/GANimation``; docs/gan_baselines.md 1.2): StarGAN's
generator body with two heads, a colour mask ``C`` (7x7 conv + tanh) and an attention mask
``A`` (7x7 conv + sigmoid), composed as in the code, ``I_out = A * I_in + (1 - A) * C`` (A = 1
keeps the input pixel); the same PatchGAN discriminator, whose auxiliary head regresses the
condition; WGAN-GP (``lambda_gp = 10``), the condition term, an L1 cycle term (10), the
attention term ``mean(A)`` (0.1) and its total variation, over both the forward and the cycle's
masks; Adam 1e-4 (0.5, 0.999), five critic steps per generator step; target conditions are
another sample's plus uniform noise in [-0.1, 0.1]; conv weights drawn from N(0, 0.02).

Deviations from the original:

- the condition is (valence, arousal) in [-1, 1] instead of 17 action-unit intensities in
  [0, 1]; noisy targets are clipped to [-1, 1];
- the condition term is the mean squared error with weight 160, the effective weight of the
  code's ``4000 * MSE / B`` at its batch of 25, so that it does not change with the batch;
- the total variation is averaged over the images of a batch rather than summed
  (:func:`~affect.learning.gans.losses.smoothness_loss`) with the paper's weight 1e-4
  (the code's 1e-5 summed over 25 images is 2.5e-4 per image);
- the gradient penalty is part of the critic's loss, one optimiser step per critic
  iteration, where the code takes a second step for the penalty alone;
- instance normalisation does not track running statistics (as the code), and at the
  ``default`` and ``smoke`` profiles the networks, crops and iterations are smaller
  (:class:`affect.profiles.GANSizes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from affect.learning.gans import losses
from affect.learning.gans.layers import GeneratorBody
from affect.learning.gans.stargan import StarGAN

__all__ = ["GANimationWeights", "GANimationGenerator", "GANimation"]

#: Half-width of the uniform noise added to the target conditions (``_generate_random_cond``).
TARGET_NOISE = 0.1


@dataclass(frozen=True)
class GANimationWeights:
    """Loss weights (``train_options.py``; the condition and TV weights as explained above)."""

    adversarial: float = 1.0
    va: float = 160.0  # lambda_D_cond 4000 over the code's batch of 25
    cycle: float = 10.0
    attention: float = 0.1  # lambda_mask
    smoothness: float = 1e-4  # lambda_mask_smooth (paper)
    gradient_penalty: float = 10.0


class GANimationGenerator(nn.Module):
    """``G(x, c)`` -> colour mask C (B, 3, S, S) in [-1, 1] and attention mask A (B, 1, S, S) in [0, 1]."""

    def __init__(self, conv_dim: int = 64, residual_blocks: int = 6):
        super().__init__()
        self.body = GeneratorBody(conv_dim, residual_blocks)
        self.colour = nn.Sequential(nn.Conv2d(self.body.out_channels, 3, 7, 1, 3, bias=False), nn.Tanh())
        self.attention = nn.Sequential(nn.Conv2d(self.body.out_channels, 1, 7, 1, 3, bias=False), nn.Sigmoid())
        for module in self.modules():  # networks.py of the original: conv weights ~ N(0, 0.02)
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, images: torch.Tensor, va: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(images, va)
        return self.colour(features), self.attention(features)


def compose(images: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """``A * I + (1 - A) * C``: the code's composition (A = 1 keeps the input pixel)."""
    return attention * images + (1 - attention) * colour


class GANimation(StarGAN):
    """GANimation's generator with StarGAN's training frame (same arguments as :class:`StarGAN`)."""

    name = "ganimation"

    @staticmethod
    def default_weights():
        return GANimationWeights()

    @staticmethod
    def make_generator(conv_dim: int, residual_blocks: int) -> nn.Module:
        return GANimationGenerator(conv_dim, residual_blocks)

    def translate(self, images: torch.Tensor, va: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The composed images and the masks ``{'colour', 'attention'}``."""
        colour, attention = self.generator(images, va)
        return compose(images, colour, attention), {"colour": colour, "attention": attention}

    def target_va(self, va: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Another sample's VA plus U(-0.1, 0.1) noise, clipped to [-1, 1]."""
        other = super().target_va(va, generator)
        noise = (torch.rand(va.shape, generator=generator) * 2 - 1) * TARGET_NOISE
        return (other + noise.to(va)).clamp(-1, 1)

    def mask_terms(self, masks: dict, back_masks: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """``w_A (mean A1 + mean A2) + w_TV (TV(A1) + TV(A2))`` over the forward and cycle masks."""
        forward, back = masks["attention"], back_masks["attention"]
        attention = losses.attention_loss(forward) + losses.attention_loss(back)
        smoothness = losses.smoothness_loss(forward) + losses.smoothness_loss(back)
        total = self.weights.attention * attention + self.weights.smoothness * smoothness
        return total, {"g_attention": attention.item(), "g_smoothness": smoothness.item()}
