"""Losses of the GAN baselines: WGAN-GP, VA regression, cycle, attention and smoothness (Sec. 6.1.2).

Both StarGAN and GANimation train with the Wasserstein loss and a gradient penalty (WGAN-GP,
Gulrajani et al. 2017), an auxiliary term on the discriminator's condition head, and an L1
cycle term ``|x - G(G(x, c_target), c_source)|``; GANimation adds the mean and the total
variation of its attention masks. All functions return scalar tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "critic_loss",
    "generator_adversarial_loss",
    "gradient_penalty",
    "va_regression_loss",
    "cycle_loss",
    "attention_loss",
    "smoothness_loss",
]


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss ``-mean D(real) + mean D(fake)`` over patches and batch."""
    return fake_scores.mean() - real_scores.mean()


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss ``-mean D(fake)``."""
    return -fake_scores.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``mean((||grad_x D(x_hat)||_2 - 1)^2)`` at ``x_hat = alpha real + (1 - alpha) fake``.

    Parameters
    ----------
    critic : callable
        (B, 3, S, S) -> critic scores of any shape (summed per sample before differentiating,
        as ``torch.autograd.grad`` with ones does in both originals).
    real, fake : (B, 3, S, S)
    alpha : (B, 1, 1, 1) in [0, 1], one draw per sample
    """
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def va_regression_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the discriminator's VA head, (B, 2) against (B, 2)."""
    return F.mse_loss(predicted, target)


def cycle_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """L1 reconstruction ``mean |x - G(G(x, c_target), c_source)|`` (both originals)."""
    return (original - reconstructed).abs().mean()


def attention_loss(mask: torch.Tensor) -> torch.Tensor:
    """GANimation's attention term: the mean of the mask (B, 1, S, S).

    With the code's composition (1 keeps the input pixel) it stops the mask from saturating
    to 1, where the generator copies its input.
    """
    return mask.mean()


def smoothness_loss(mask: torch.Tensor) -> torch.Tensor:
    """Total variation of the mask: the sum of absolute neighbour differences per image, batch mean.

    GANimation's code sums over the whole batch; the mean over images keeps the weight
    independent of the batch size (at its batch of 25 the code's sum is 25 times this).
    """
    dx = (mask[..., :, 1:] - mask[..., :, :-1]).abs().flatten(1).sum(1)
    dy = (mask[..., 1:, :] - mask[..., :-1, :]).abs().flatten(1).sum(1)
    return (dx + dy).mean()
