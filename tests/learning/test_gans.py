"""The GAN baselines (Sec. 6.1.2): shapes, one step of each loss, the VA conditioning, resumption."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from affect import profiles
from affect.learning.gans import losses
from affect.learning.gans.ganimation import GANimation
from affect.learning.gans.layers import PatchDiscriminator, critic_layers, tile_condition
from affect.learning.gans.stargan import StarGAN
from affect.learning.gans.training import GENERATOR_FILE, fit_gan, load_generator

MODELS = (StarGAN, GANimation)
SIZE = 16


def _batch(n=4, size=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1, torch.rand(n, 2, generator=g) * 2 - 1


def _model(cls, size=SIZE):
    torch.manual_seed(0)
    return cls(size, conv_dim=4, residual_blocks=1, max_channels=16)


def test_condition_is_tiled_over_the_image_as_two_planes():
    images, va = _batch()
    tiled = tile_condition(images, va)
    assert tiled.shape == (4, 5, SIZE, SIZE)
    assert torch.equal(tiled[:, 3:, 5, 7], va) and torch.equal(tiled[:, :3], images)


@pytest.mark.parametrize("size, layers", [(16, 3), (64, 5), (128, 6)])
def test_discriminator_depth_leaves_a_two_by_two_critic_map(size, layers):
    assert critic_layers(size) == layers
    critic, va = PatchDiscriminator(size, conv_dim=4, max_channels=16)(torch.zeros(2, 3, size, size))
    assert critic.shape == (2, 1, 2, 2) and va.shape == (2, 2)


def test_discriminator_rejects_a_side_that_is_not_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        critic_layers(48)


@pytest.mark.parametrize("cls", MODELS)
def test_generator_keeps_the_image_shape_and_range(cls):
    model = _model(cls)
    images, va = _batch()
    out, masks = model.translate(images, va)
    assert out.shape == images.shape and out.abs().max() <= 1
    if cls is GANimation:
        assert masks["attention"].shape == (4, 1, SIZE, SIZE) and masks["colour"].shape == images.shape
        assert 0 <= masks["attention"].min() and masks["attention"].max() <= 1


def test_ganimation_composition_keeps_the_input_where_attention_is_one():
    from affect.learning.gans.ganimation import compose

    images, _ = _batch()
    colour = torch.zeros_like(images)
    assert torch.equal(compose(images, colour, torch.ones(4, 1, SIZE, SIZE)), images)
    assert torch.equal(compose(images, colour, torch.zeros(4, 1, SIZE, SIZE)), colour)


@pytest.mark.parametrize("cls", MODELS)
def test_one_step_of_each_loss_is_finite_and_moves_its_network(cls):
    model = _model(cls)
    images, va = _batch()
    target = model.target_va(va, torch.Generator().manual_seed(1))
    for part, loss_of in (
        (model.discriminator, lambda: model.discriminator_loss(images, va, target, torch.rand(4, 1, 1, 1))),
        (model.generator, lambda: model.generator_loss(images, va, target)),
    ):
        before = [p.detach().clone() for p in part.parameters()]
        optimiser = torch.optim.Adam(part.parameters(), 1e-3)
        loss, terms = loss_of()
        optimiser.zero_grad()
        loss.backward()
        assert all(p.grad is None or torch.isfinite(p.grad).all() for p in part.parameters())
        optimiser.step()
        assert torch.isfinite(loss) and all(np.isfinite(v) for v in terms.values())
        assert any(not torch.equal(a, b) for a, b in zip(before, part.parameters()))
    expected = {"g_adversarial", "g_va", "g_cycle"} | ({"g_attention", "g_smoothness"} if cls is GANimation else set())
    assert set(terms) == expected


def test_gradient_penalty_is_zero_for_a_critic_of_unit_slope():
    real, _ = _batch()
    fake = torch.zeros_like(real)
    unit = real[0].numel() ** -0.5  # sum of pixels times this has gradient norm 1
    penalty = losses.gradient_penalty(lambda x: x.flatten(1).sum(1) * unit, real, fake, torch.rand(4, 1, 1, 1))
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


def test_smoothness_of_a_constant_mask_is_zero_and_of_a_step_its_length():
    mask = torch.zeros(2, 1, 8, 8)
    assert losses.smoothness_loss(mask).item() == 0
    mask[..., 4:] = 1  # one vertical edge, 8 pixels long
    assert losses.smoothness_loss(mask).item() == pytest.approx(8.0)


@pytest.mark.parametrize("cls", MODELS)
def test_the_va_condition_reaches_the_generator_output_and_the_auxiliary_head(cls):
    model = _model(cls)
    images, va = _batch()
    va = va.clone().requires_grad_(True)
    out, _ = model.translate(images, va)
    _, predicted = model.discriminator(out)
    (grad,) = torch.autograd.grad(predicted.sum(), va)
    assert grad.abs().sum() > 0  # D's VA head responds to the VA given to G
    other, _ = model.translate(images, -va.detach())
    assert (other - out.detach()).abs().max() > 1e-4


def test_stargan_targets_permute_the_batch_and_ganimation_adds_bounded_noise():
    _, va = _batch(n=8)
    g = torch.Generator().manual_seed(3)
    permuted = _model(StarGAN).target_va(va, g)
    assert sorted(permuted[:, 0].tolist()) == sorted(va[:, 0].tolist())
    noisy = _model(GANimation).target_va(va, torch.Generator().manual_seed(3))
    assert (noisy - permuted).abs().max() <= 0.1 + 1e-6 and noisy.abs().max() <= 1


# --- training ------------------------------------------------------------------------------

SMOKE = replace(profiles.gan_sizes(profiles.get("smoke"), "stargan"), iterations=6, checkpoint_every=3, n_critic=2)


class _Stop(Exception):
    pass


def _stop_at_second_interval():
    import lightning.pytorch as pl

    class Stop(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            if trainer.current_epoch == 1:
                raise _Stop

    return Stop()


def test_resumed_training_reaches_the_weights_of_an_uninterrupted_run(tmp_path, toy_faces):
    method = "ganimation"  # StarGAN's training runs through the same module
    faces = toy_faces(tmp_path, n=12, size=SMOKE.image_size)
    whole = fit_gan(method, faces, SMOKE, tmp_path / "whole", seed=3)
    with pytest.raises(_Stop):
        fit_gan(method, faces, SMOKE, tmp_path / "killed", seed=3, callbacks=[_stop_at_second_interval()])
    assert (tmp_path / "killed" / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "killed" / GENERATOR_FILE).exists()
    resumed = fit_gan(method, faces, SMOKE, tmp_path / "killed", seed=3)
    a, b = load_generator(whole)[0], load_generator(resumed)[0]
    for (name, x), (_, y) in zip(a.generator.state_dict().items(), b.generator.state_dict().items()):
        assert torch.allclose(x, y, atol=1e-6), name
    curves = (tmp_path / "killed" / "curves.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in curves[1:]] == [str(i) for i in range(6)]
    record = json.loads((tmp_path / "killed" / "gan.json").read_text())
    assert record["iterations"] == 6 and record["method"] == method
    assert sorted(p.name for p in (tmp_path / "killed" / "samples").iterdir()) == ["iter0000003.png", "iter0000006.png"]
    assert (tmp_path / "killed" / "curves.png").is_file()


def test_another_seed_gives_other_weights(tmp_path, toy_faces):
    faces = toy_faces(tmp_path, n=12, size=SMOKE.image_size)
    sizes = replace(SMOKE, iterations=3)
    first = load_generator(fit_gan("stargan", faces, sizes, tmp_path / "a", seed=1))[0]
    other = load_generator(fit_gan("stargan", faces, sizes, tmp_path / "b", seed=2))[0]
    assert any(not torch.equal(x, z) for x, z in zip(first.generator.parameters(), other.generator.parameters()))


def test_crops_of_another_size_are_refused(tmp_path, toy_faces):
    with pytest.raises(ValueError, match="32 px for a GAN of 16 px"):
        fit_gan("stargan", toy_faces(tmp_path, n=8, size=32), SMOKE, tmp_path / "run")


def test_a_file_that_is_not_a_generator_is_named(tmp_path):
    bad = tmp_path / "generator.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="generator.pt: not a generator file"):
        load_generator(bad)


def test_profiles_give_the_originals_sizes_at_paper_scale():
    stargan, ganimation = (
        profiles.gan_sizes(profiles.get("paper"), "stargan"),
        profiles.gan_sizes(profiles.get("paper"), "ganimation"),
    )
    assert (stargan.image_size, stargan.iterations, stargan.batch_size, stargan.n_critic) == (128, 200_000, 16, 5)
    assert (ganimation.image_size, ganimation.batch_size, ganimation.iterations) == (128, 25, 240_000)
    assert profiles.gan_sizes(profiles.get("default"), "stargan").image_size == 64
    with pytest.raises(ValueError, match="method"):
        profiles.gan_sizes(profiles.get("smoke"), "cyclegan")
