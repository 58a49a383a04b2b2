"""Tests for affect.learning.training: losses, a loss that falls, resumption, determinism."""

import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from affect.learning.training import (
    check_checkpoint,
    class_weights,
    expression_loss,
    fit,
    va_loss,
    validation_score,
)


def test_va_loss_is_one_minus_mean_ccc_plus_weighted_mse():
    target = torch.tensor([[0.1, 0.5], [0.4, -0.2], [-0.3, 0.0], [0.8, 0.3]])
    assert va_loss(target.clone(), target).item() == pytest.approx(0.0, abs=1e-6)
    prediction = target * 0.5
    from affect import metrics

    ccc = [metrics.ccc(target[:, j].numpy(), prediction[:, j].numpy()) for j in range(2)]
    mse = float(((prediction - target) ** 2).mean())
    assert va_loss(prediction, target, 0.3).item() == pytest.approx(1 - np.mean(ccc) + 0.3 * mse, rel=1e-5)


def test_expression_loss_weights_classes():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    plain = expression_loss(logits, labels)
    heavy_second = expression_loss(logits, labels, torch.tensor([0.1, 0.9]))
    assert heavy_second > plain  # the misclassified sample of class 1 now dominates


def test_expression_validation_score_does_not_reward_predicting_the_majority_class():
    target = torch.tensor([0] * 8 + [1, 2])
    majority = torch.nn.functional.one_hot(torch.zeros(10, dtype=torch.long), 3).float()
    assert validation_score("expression", majority, target) == pytest.approx(1 / 3)
    assert validation_score("expression", torch.nn.functional.one_hot(target, 3).float(), target) == 1.0


def test_class_weights_favour_rare_classes_and_sum_to_one():
    weights = class_weights(np.array([0, 0, 0, 0, 1, 1, 2]), 4)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] < weights[1] < weights[2] <= weights[3]


def _curves(run_dir):
    curves = pd.read_csv(run_dir / "metrics.csv")
    return curves.dropna(subset=["train_loss_epoch"])["train_loss_epoch"].to_numpy()


def test_a_tiny_va_run_lowers_its_loss_and_keeps_checkpoints_and_curves(tmp_path, tiny_sizes, toy_faces):
    train, val = toy_faces(tmp_path, 96, seed=0), toy_faces(tmp_path, 32, seed=1)
    module = fit("vggface", "va", train, val, replace(tiny_sizes, max_epochs=4), tmp_path / "run", seed=0)
    losses = _curves(tmp_path / "run")
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert (tmp_path / "run" / "checkpoints" / "best.ckpt").is_file()
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert "val_score" in pd.read_csv(tmp_path / "run" / "metrics.csv").columns
    assert not module.training and module.hparams.pretrained == "from scratch"


def test_same_seed_gives_the_same_weights_on_cpu(tmp_path, tiny_sizes, toy_faces):
    sizes = replace(tiny_sizes, max_epochs=1)
    train, val = toy_faces(tmp_path, 48), toy_faces(tmp_path, 16, seed=1)
    runs = [fit("vggface", "va", train, val, sizes, tmp_path / f"run{i}", seed=3, augment=True) for i in range(2)]
    for (name, a), b in zip(runs[0].state_dict().items(), runs[1].state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    other = fit("vggface", "va", train, val, sizes, tmp_path / "run-other-seed", seed=4)
    assert not torch.equal(other.network.head.weight, runs[0].network.head.weight)


class _KillAfter(Callback):
    """Raise in the middle of an epoch, as a killed process would stop."""

    def __init__(self, epoch, batches):
        self.epoch, self.batches = epoch, batches

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
        if trainer.current_epoch == self.epoch and batch_index + 1 == self.batches:
            raise KeyboardInterrupt


class _StartEpoch(Callback):
    def on_train_start(self, trainer, module):
        self.epoch, self.step = trainer.current_epoch, trainer.global_step


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_sizes, toy_faces):
    sizes = replace(tiny_sizes, max_epochs=3)
    train, val = toy_faces(tmp_path, 64), toy_faces(tmp_path, 16, seed=1)
    run = tmp_path / "run"
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        fit("vggface", "va", train, val, sizes, run, callbacks=[_KillAfter(epoch=1, batches=2)])
    start = _StartEpoch()
    fit("vggface", "va", train, val, sizes, run, callbacks=[start])
    assert start.epoch == 1 and start.step == 4  # epoch 0's 4 batches were not redone
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] == 2
    curves = pd.read_csv(run / "metrics.csv").dropna(subset=["train_loss_epoch"])
    assert curves["epoch"].tolist() == [0, 1, 2]  # the killed attempt's epoch 0 is kept


KILLED_RUN = """
import os, signal, sys
import signal
import subprocess
import sys
from dataclasses import replace
from lightning.pytorch.callbacks import Callback
sys.path.insert(0, sys.argv[2])
from conftest import TINY_SIZES, toy_faces
from affect.learning.training import fit

class Kill(Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, index):
        if trainer.current_epoch == 1 and index == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would: no clean-up runs

folder = sys.argv[1]
train, val = toy_faces(folder, 64), toy_faces(folder, 16, seed=1)
fit("vggface", "va", train, val, replace(TINY_SIZES, max_epochs=2), folder + "/run", seed=5, augment=True,
    callbacks=[Kill()])
"""


def test_a_run_killed_by_sigkill_and_resumed_writes_the_predictions_of_an_uninterrupted_run(
    tmp_path, tiny_sizes, toy_faces
):
    from pathlib import Path

    from affect.learning.evaluation import evaluate

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path), str(Path(__file__).parent)], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    sizes = replace(tiny_sizes, max_epochs=2)
    train, val, test = toy_faces(tmp_path, 64), toy_faces(tmp_path, 16, seed=1), toy_faces(tmp_path, 24, seed=2)
    runs = {"run": tmp_path / "run", "whole": tmp_path / "whole"}
    for run in runs.values():
        module = fit("vggface", "va", train, val, sizes, run, seed=5, augment=True)
        evaluate(module, test, run, n_bootstrap=2)
    assert (runs["run"] / "predictions.csv").read_bytes() == (runs["whole"] / "predictions.csv").read_bytes()
    last = [torch.load(r / "checkpoints" / "last.ckpt", weights_only=True) for r in runs.values()]
    assert last[0]["epoch"] == last[1]["epoch"] == 1
    for name, weight in last[0]["state_dict"].items():
        assert torch.equal(weight, last[1]["state_dict"][name]), name


def test_an_epoch_draws_the_same_random_numbers_whatever_ran_before_it():
    import random

    from affect.learning.random_states import RandomStates, capture, restore

    seeds = RandomStates(seed=5)

    class Trainer:
        current_epoch = 3

    def draws():
        return random.random(), np.random.random(), torch.rand(1).item()

    seeds.on_train_batch_start(Trainer(), None, None, 0)
    first = draws()
    torch.rand(7), np.random.random(3)  # another history before the epoch
    seeds.on_train_batch_start(Trainer(), None, None, 0)
    assert draws() == first
    saved = seeds.state_dict()
    after = draws()
    torch.rand(5)
    seeds.load_state_dict(torch.load(_saved(saved), weights_only=True))
    assert draws() == after
    restore(capture())


def _saved(state):
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_a_checkpoint_of_another_network_or_task_is_refused(tmp_path, tiny_sizes, toy_faces):
    sizes = replace(tiny_sizes, max_epochs=1)
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    fit("vggface", "va", train, val, sizes, tmp_path / "run")
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    with pytest.raises(ValueError, match=r"last\.ckpt: checkpoint of vggface/va, not vggface_bu3dfe/va"):
        fit("vggface_bu3dfe", "va", train, val, sizes, tmp_path / "run")
    with pytest.raises(ValueError, match="checkpoint of vggface/va, not vggface/expression"):
        check_checkpoint(last, "vggface", "expression", ["neutral", "happiness"])


def test_recurrent_network_trains_on_clips_inside_videos(tmp_path, tiny_sizes, toy_faces):
    train = toy_faces(tmp_path, 64, videos=4)
    val = toy_faces(tmp_path, 24, videos=2, seed=1)
    module = fit("vggface_gru", "va", train, val, replace(tiny_sizes, max_epochs=1), tmp_path / "run", landmarks=True)
    assert module.recurrent and module.network.uses_landmarks
    # Fine-tuning keeps the landmark input of the checkpoint it starts from (Table 3's AffWildNet).
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    tuned = fit("vggface_gru", "va", train, val, replace(tiny_sizes, max_epochs=1), tmp_path / "tuned", initial=best)
    assert tuned.network.uses_landmarks and tuned.hparams.landmarks


def test_expression_task_with_class_weights(tmp_path, tiny_sizes, toy_faces):
    classes = ["neutral", "happiness", "sadness"]
    train, val = toy_faces(tmp_path, 48), toy_faces(tmp_path, 16, seed=1)
    module = fit(
        "vggface",
        "expression",
        train,
        val,
        replace(tiny_sizes, max_epochs=1),
        tmp_path / "run",
        classes=classes,
        weighted_loss=True,
    )
    assert module.class_weights.shape == (3,) and module.network.outputs == 3


def test_fine_tuning_starts_from_another_runs_weights_and_refuses_another_network(tmp_path, tiny_sizes, toy_faces):
    sizes = replace(tiny_sizes, max_epochs=1)
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    source = fit("vggface", "va", train, val, sizes, tmp_path / "source", seed=0)
    best = tmp_path / "source" / "checkpoints" / "best.ckpt"
    seen = []

    class FirstWeights(Callback):
        def on_train_start(self, trainer, module):
            seen.append(module.network.head.weight.detach().clone())

    tuned = fit(
        "vggface", "va", train, val, sizes, tmp_path / "tuned", seed=1, initial=best, callbacks=[FirstWeights()]
    )
    assert torch.equal(seen[0], source.network.head.weight)
    assert tuned.hparams.pretrained == "fine-tuned from source"
    with pytest.raises(ValueError, match="checkpoint of vggface/va, not alexnet/va"):
        fit(
            "alexnet",
            "va",
            toy_faces(tmp_path, 32, size=64),
            toy_faces(tmp_path, 16, size=64, seed=1),
            replace(sizes, input_size=64),
            tmp_path / "other",
            initial=best,
        )


def test_a_small_training_set_takes_at_least_min_steps(tmp_path, tiny_sizes, toy_faces):
    train, val = toy_faces(tmp_path, 32, seed=0), toy_faces(tmp_path, 16, seed=1)
    sizes = replace(tiny_sizes, max_epochs=1, patience=1, min_steps=3 * (32 // tiny_sizes.batch_size))
    fit("vggface", "va", train, val, sizes, tmp_path / "run", seed=0)
    assert len(_curves(tmp_path / "run")) == 3  # three epochs, not max_epochs' one


def test_from_scratch_vgg_networks_have_batch_norm_and_pretrained_ones_do_not(tmp_path, tiny_sizes, toy_faces):
    from affect.learning.networks import build_network

    plain = build_network("vggface", "va", input_size=32, width=0.0625)
    normed = build_network("vggface", "va", input_size=32, width=0.0625, batch_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    norms = [m for m in normed.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 13 and all(torch.all(m.weight == 1) and torch.all(m.running_var == 1) for m in norms)
    train, val = toy_faces(tmp_path, 32, seed=0), toy_faces(tmp_path, 16, seed=1)
    module = fit("vggface", "va", train, val, replace(tiny_sizes, max_epochs=1), tmp_path / "run", seed=0)
    assert module.hparams.batch_norm


def test_age_loss_targets_every_year_of_a_range_equally():
    from affect.learning.training import age_loss

    logits = torch.full((1, 101), -20.0)
    logits[0, 25:33] = 0.0  # all the mass on 25 to 32, evenly
    assert age_loss(logits, torch.tensor([[25.0, 32.0]])) < age_loss(logits, torch.tensor([[28.0, 28.0]]))
    one_year = torch.full((1, 101), -20.0)
    one_year[0, 40] = 20.0
    assert age_loss(one_year, torch.tensor([[40.0, 40.0]])) < 1e-6  # a one-year range is DEX's one-hot target


def test_a_tiny_age_run_learns_age_from_the_pixels(tmp_path, tiny_sizes, toy_faces):
    from affect.learning.evaluation import evaluate

    def aged(seed: int, n: int):
        faces = toy_faces(tmp_path, n, seed=seed)
        age = np.round(50 + 45 * faces.index["valence"].to_numpy())  # brightness shows the age
        index = faces.index.assign(age_low=age, age_high=age)
        return replace(faces, index=index)

    train, val, test = aged(0, 192), aged(1, 32), aged(2, 64)
    module = fit(
        "wideresnet", "age", train, val, replace(tiny_sizes, max_epochs=6, width=0.125), tmp_path / "run", seed=0
    )
    scores = evaluate(module, test, tmp_path / "run", n_bootstrap=20).scores
    spread = float(np.abs(test.index["age_low"] - test.index["age_low"].mean()).mean())
    assert scores.loc["mae", "value"] < 0.6 * spread  # better than guessing the mean age
    assert list(pd.read_csv(tmp_path / "run" / "predictions.csv").columns) == ["id", "subject", "age", "age_pred"]


@pytest.mark.parametrize("pretrained", [True, False])
def test_table_9_freezes_its_convolutions_only_on_pretrained_weights(tmp_path, tiny_sizes, toy_faces, pretrained):
    from affect.learning.networks import build_network

    sizes = replace(tiny_sizes, max_epochs=1)
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    weights = None
    if pretrained:  # a VGG-16 state dict in torchvision's keys, at the published width
        donor = build_network("vggface", "expression", n_classes=3, input_size=32, width=1.0)
        weights = tmp_path / "vgg16_tiny.pth"
        torch.save({f"features.{k}": v for k, v in donor.backbone.features.state_dict().items()}, weights)
    seen = []

    class FirstWeights(Callback):
        def on_train_start(self, trainer, module):
            seen.append(module.network.backbone.features[0].weight.detach().clone())

    module = fit(
        "vggface_bu3dfe",
        "expression",
        train,
        val,
        sizes,
        tmp_path / "run",
        classes=["neutral", "happiness", "sadness"],
        weights=weights,
        callbacks=[FirstWeights()],
    )
    first_conv = module.network.backbone.features[0].weight
    assert torch.equal(first_conv, seen[0]) == pretrained  # frozen on pretrained weights, trained from scratch
    assert module.hparams.pretrained == ("vgg16_tiny.pth (torchvision vgg16 layout)" if pretrained else "from scratch")


def test_imagenet_weights_build_the_published_width_and_scratch_keeps_the_profiles(
    tmp_path, tiny_sizes, toy_faces, imagenet_vgg16
):
    sizes = replace(tiny_sizes, max_epochs=1)
    train, val = toy_faces(tmp_path, 16), toy_faces(tmp_path, 8, seed=1)
    seen = []

    class FirstWeights(Callback):
        def on_train_start(self, trainer, module):
            seen.append(module.network.backbone.features[0].weight.detach().clone())

    pretrained = fit(
        "vggface", "va", train, val, sizes, tmp_path / "imagenet", weights="imagenet", callbacks=[FirstWeights()]
    )
    assert pretrained.hparams.pretrained == "ImageNet (torchvision vgg16 IMAGENET1K_V1)"
    assert pretrained.network.backbone.features[0].out_channels == 64 and pretrained.hparams.sizes["width"] == 1.0
    assert torch.equal(seen[0], imagenet_vgg16["features.0.weight"])  # the checkpoint's, before training
    scratch = fit("vggface", "va", train, val, sizes, tmp_path / "scratch")
    assert scratch.network.backbone.features[0].out_channels == 4 and scratch.hparams.sizes["width"] == sizes.width
    best = tmp_path / "imagenet" / "checkpoints" / "best.ckpt"
    tuned = fit("vggface", "va", train, val, sizes, tmp_path / "tuned", initial=best)  # at its checkpoint's width
    assert tuned.network.backbone.features[0].out_channels == 64 and tuned.hparams.sizes["width"] == 1.0
