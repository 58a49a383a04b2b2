"""Training of the GAN baselines on PyTorch Lightning (Sec. 6.1.2), resumable and seeded.

One critic iteration is one discriminator step (WGAN-GP); every ``n_critic``-th iteration the
generator steps too (manual optimisation). Both learning rates fall linearly to 0 over the last
``decay_iterations`` (StarGAN's schedule, stepped every iteration instead of every 1,000).
An epoch is ``checkpoint_every`` iterations: after each one Lightning writes a checkpoint
(``checkpoints/iter<N>.ckpt`` and ``last.ckpt``), and :class:`GANModule` writes a grid of
samples (``samples/iter<N>.png``) and the curves so far (``curves.csv``). A run killed at any
point resumes from ``last.ckpt``; the batches, the target conditions and the penalty's mixing
weights of iteration ``i`` depend only on the seed and ``i``, so a resumed run reaches the same
weights as an uninterrupted one. When training ends, ``curves.png`` and ``generator.pt`` (the
generator's weights and sizes, what the augmenter loads) are written, with ``gan.json`` (budget,
wall time, device).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, Dataset, Sampler

from affect.files import atomic_write, atomic_write_text
from affect.learning.checkpoints import read_torch_file
from affect.learning.prepared import PreparedFaces
from affect.profiles import GANSizes, Profile

__all__ = [
    "build_gan",
    "GANModule",
    "fit_gan",
    "load_generator",
    "SAMPLE_VA",
    "GENERATOR_FILE",
    "CHECKPOINTS",
    "trained_generator",
]

CHECKPOINTS = "checkpoints"
GENERATOR = "a generator file of this kit"
GENERATOR_FILE = "generator.pt"
#: VA targets of the sample grids: neutral, then the four quadrants' typical points.
SAMPLE_VA = ((0.0, 0.0), (0.7, 0.4), (-0.6, 0.6), (-0.6, -0.4), (0.5, -0.5))
_SAMPLE_FACES = 4


def build_gan(method: str, sizes: GANSizes):
    """The :class:`~affect.learning.gans.stargan.StarGAN` or :class:`~.ganimation.GANimation` of a profile's sizes."""
    from affect.learning.gans.ganimation import GANimation
    from affect.learning.gans.stargan import StarGAN

    classes = {"stargan": StarGAN, "ganimation": GANimation}
    if method not in classes:
        raise ValueError(f"method: expected one of {tuple(classes)}, got {method!r}")
    return classes[method](sizes.image_size, sizes.conv_dim, sizes.residual_blocks, sizes.max_channels)


class _Crops(Dataset):
    """Prepared crops as (3, S, S) float in [-1, 1] and their (2,) VA."""

    def __init__(self, faces: PreparedFaces):
        va = faces.index[["valence", "arousal"]].to_numpy(np.float32)
        keep = np.isfinite(va).all(axis=1)
        if not keep.any():
            raise ValueError(f"{faces.folder}: no crop has a valence-arousal label")
        self.faces, self.rows, self.va = faces.faces, np.flatnonzero(keep), va[keep]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        crop = torch.from_numpy(np.array(self.faces[self.rows[i]])).permute(2, 0, 1).float()
        return crop / 127.5 - 1, torch.from_numpy(self.va[i])


class _EpochDraws(Sampler[int]):
    """``n`` indices per epoch from back-to-back permutations drawn from (seed, epoch) alone.

    An epoch of a GAN run is a checkpoint interval, not a pass over the data, so the
    samplers of :mod:`torch.utils.data` (one pass, or draws with replacement from the global
    generator) do not fit; Lightning calls :meth:`set_epoch` before each epoch, so a resumed
    run draws what an uninterrupted one would.
    """

    def __init__(self, size: int, n: int, seed: int):
        self.size, self.n, self.seed, self.epoch = size, n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        draws = np.concatenate([rng.permutation(self.size) for _ in range(math.ceil(self.n / self.size))])
        return iter(draws[: self.n].tolist())


class GANModule(pl.LightningModule):
    """A GAN baseline and its WGAN-GP schedule (manual optimisation, :func:`fit_gan`).

    Parameters
    ----------
    method : {'stargan', 'ganimation'}
    sizes : dict
        :class:`affect.profiles.GANSizes` as a dict.
    seed : int
    """

    def __init__(self, method: str, sizes: dict, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.sizes = GANSizes(**sizes)
        self.model = build_gan(method, self.sizes)
        self.automatic_optimization = False
        self.iteration = 0
        self.seconds = 0.0
        self.curves: list[dict] = []
        self.sample_batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.run_dir: Path | None = None

    def configure_optimizers(self):
        sizes = self.sizes

        def factor(step: int) -> float:  # linear decay to 0 over the last decay_iterations
            left = sizes.iterations - step
            return 1.0 if left >= sizes.decay_iterations else max(left, 0) / max(sizes.decay_iterations, 1)

        optimisers = [
            torch.optim.Adam(part.parameters(), sizes.learning_rate, betas=(0.5, 0.999))
            for part in (self.model.discriminator, self.model.generator)
        ]
        schedules = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in optimisers]
        return optimisers, schedules

    def _draws(self, batch_size: int) -> tuple[torch.Generator, torch.Tensor]:
        from affect.augmentation.targets import derived_seed

        generator = torch.Generator().manual_seed(derived_seed(self.hparams.seed, "gan-iteration", str(self.iteration)))
        return generator, torch.rand(batch_size, 1, 1, 1, generator=generator)

    def training_step(self, batch, batch_index: int) -> None:
        started = time.perf_counter()
        images, va = batch
        generator, alpha = self._draws(len(images))
        target = self.model.target_va(va.cpu(), generator).to(va)
        d_optimiser, g_optimiser = self.optimizers()
        d_schedule, g_schedule = self.lr_schedulers()
        d_loss, terms = self.model.discriminator_loss(images, va, target, alpha.to(images))
        d_optimiser.zero_grad()
        self.manual_backward(d_loss)
        d_optimiser.step()
        row = {"iteration": self.iteration, "d_loss": d_loss.item(), **terms}
        if (self.iteration + 1) % self.sizes.n_critic == 0:
            g_loss, g_terms = self.model.generator_loss(images, va, target)
            g_optimiser.zero_grad()
            self.manual_backward(g_loss)
            g_optimiser.step()
            row |= {"g_loss": g_loss.item(), **g_terms}
        d_schedule.step()
        g_schedule.step()
        self.iteration += 1
        self.curves.append(row | {"lr": d_schedule.get_last_lr()[0]})
        self.seconds += time.perf_counter() - started
        self.log("d_loss", row["d_loss"], prog_bar=True)

    def on_train_epoch_end(self) -> None:
        if self.run_dir is None or self.trainer.global_rank != 0:
            return
        write_curves(self.run_dir, self.curves)
        if self.sample_batch is not None:
            write_samples(self, self.run_dir / "samples" / f"iter{self.iteration:07d}.png")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["gan"] = {"iteration": self.iteration, "seconds": self.seconds}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.iteration = int(checkpoint["gan"]["iteration"])
        self.seconds = float(checkpoint["gan"]["seconds"])


def write_curves(run_dir: Path, rows: list[dict]) -> Path | None:
    """Add this attempt's rows to ``curves.csv``, dropping rows a resumed attempt redid."""
    if not rows:
        return None
    path = run_dir / "curves.csv"
    new = pd.DataFrame(rows)
    if path.is_file():
        old = pd.read_csv(path)
        new = pd.concat([old[old["iteration"] < new["iteration"].min()], new], ignore_index=True)
    return atomic_write_text(path, new.to_csv(index=False))


@torch.no_grad()
def translate_batch(model, images: torch.Tensor, va: torch.Tensor) -> torch.Tensor:
    """Generator outputs in eval mode (instance norm has no running statistics: same as training)."""
    was = model.training
    model.eval()
    try:
        return model.translate(images, va)[0]
    finally:
        model.train(was)


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def write_samples(module: GANModule, path: Path) -> Path:
    """A grid of samples: one row per fixed training crop; its input, then :data:`SAMPLE_VA` targets."""
    from affect.image import write_image

    images, _ = module.sample_batch
    images = images.to(module.device)
    columns = [_to_uint8(images)]
    for va in SAMPLE_VA:
        target = torch.tensor([va] * len(images), dtype=torch.float32, device=module.device)
        columns.append(_to_uint8(translate_batch(module.model, images, target)))
    grid = np.concatenate([np.concatenate(list(column), axis=0) for column in columns], axis=1)
    return write_image(path, grid)


def plot_curves(run_dir: Path, title: str) -> Path | None:
    """``curves.png``: the critic's and the generator's losses and their terms over the iterations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = run_dir / "curves.csv"
    if not path.is_file():
        return None
    curves = pd.read_csv(path)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, prefix in zip(axes, ("d_", "g_")):
        for column in (c for c in curves.columns if c.startswith(prefix)):
            values = curves[["iteration", column]].dropna()
            ax.plot(values["iteration"], values[column], label=column, lw=1)
        ax.set_xlabel("critic iteration")
        ax.set_title("discriminator" if prefix == "d_" else "generator")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = run_dir / "curves.png"
    atomic_write(out, lambda stream: fig.savefig(stream, format="png", dpi=100))
    plt.close(fig)
    return out


def fit_gan(
    method: str,
    faces: PreparedFaces,
    sizes: GANSizes,
    run_dir: str | os.PathLike,
    *,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
    source: str = "",
    callbacks=(),
) -> Path:
    """Train a GAN baseline on VA-labelled face crops; resume if ``run_dir`` holds ``last.ckpt``.

    Parameters
    ----------
    method : {'stargan', 'ganimation'}
    faces : PreparedFaces
        Crops of ``sizes.image_size`` px with valence and arousal (:func:`~.faces.gallery_faces`).
    sizes : GANSizes
        From the profile (:func:`affect.profiles.gan_sizes`).
    run_dir : path
        Receives the checkpoints, samples, curves and ``generator.pt``.
    seed : int
    device : str
        'auto', 'cpu', 'gpu' / 'cuda'.
    source : str
        What the crops are (recorded in ``gan.json``).
    callbacks : sequence of lightning Callback
        Extra callbacks.

    Returns
    -------
    Path of ``generator.pt`` (written once training has run all ``sizes.iterations``; a
    run that already holds it returns at once).
    """
    from affect.learning.training import _accelerator, _quiet

    run_dir = Path(run_dir)
    out = run_dir / GENERATOR_FILE
    if out.is_file():
        return out
    if faces.size != sizes.image_size:
        raise ValueError(f"{faces.folder}: crops of {faces.size} px for a GAN of {sizes.image_size} px")
    if sizes.iterations % sizes.checkpoint_every:
        raise ValueError(
            f"sizes: expected iterations ({sizes.iterations}) to be a multiple of "
            f"checkpoint_every ({sizes.checkpoint_every})"
        )
    pl.seed_everything(seed, workers=True, verbose=False)
    module = GANModule(method, asdict(sizes), seed)
    module.run_dir = run_dir
    data = _Crops(faces)
    module.sample_batch = next(iter(DataLoader(data, batch_size=min(_SAMPLE_FACES, len(data)))))
    loader = DataLoader(
        data,
        batch_size=sizes.batch_size,
        sampler=_EpochDraws(len(data), sizes.checkpoint_every * sizes.batch_size, seed),
    )
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / CHECKPOINTS,
        filename="interval{epoch:04d}",
        auto_insert_metric_name=False,
        save_top_k=-1,
        save_last=True,
        every_n_epochs=1,
        enable_version_counter=False,
    )
    last = run_dir / CHECKPOINTS / "last.ckpt"
    with _quiet(progress):
        # The generator's schedule steps every iteration, its optimiser every n_critic-th.
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`.*")
        trainer = pl.Trainer(
            default_root_dir=run_dir,
            max_epochs=sizes.iterations // sizes.checkpoint_every,
            accelerator=_accelerator(device),
            devices=1,
            logger=False,
            callbacks=[checkpoints, *callbacks],
            enable_progress_bar=progress,
            enable_model_summary=progress,
            deterministic=True,
        )
        if last.is_file():
            read_torch_file(last, "a GAN checkpoint of this kit")  # a cut or foreign file: one line, nothing run
        trainer.fit(module, loader, ckpt_path=last if last.is_file() else None, weights_only=True)
    if module.iteration < sizes.iterations:
        raise RuntimeError(f"{run_dir}: training stopped at iteration {module.iteration} of {sizes.iterations}")
    write_curves(run_dir, module.curves)
    plot_curves(
        run_dir,
        f"{method}: {sizes.iterations} critic iterations, {sizes.image_size} px, batch {sizes.batch_size}, {source}",
    )
    device_name = str(module.device) if module.device.type == "cpu" else torch.cuda.get_device_name(module.device)
    record = {
        "method": method,
        "sizes": asdict(sizes),
        "seed": seed,
        "iterations": module.iteration,
        "seconds": round(module.seconds, 1),
        "device": device_name,
        "threads": torch.get_num_threads(),
        "crops": len(data),
        "source": source,
    }
    atomic_write_text(run_dir / "gan.json", json.dumps(record, indent=1) + "\n")
    state = {"record": record, "generator": module.model.generator.state_dict()}
    atomic_write(out, lambda stream: torch.save(state, stream))
    return out


def load_generator(path: str | os.PathLike):
    """The trained model (eval mode, CPU) and its record from a ``generator.pt``; ValueError naming a bad file."""
    path = Path(path)
    state = read_torch_file(path, GENERATOR)
    try:
        record = state["record"]
        model = build_gan(record["method"], GANSizes(**record["sizes"]))
        model.generator.load_state_dict(state["generator"])
    except (KeyError, RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: not {GENERATOR} ({str(error).splitlines()[0]})") from None
    return model.eval(), record


def trained_generator(
    method: str,
    *,
    profile: Profile,
    gallery_source: str = "proxy",
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
) -> Path:
    """The ``generator.pt`` of a run's GAN baseline, trained first on its gallery if absent (Sec. 6.1.2).

    The gallery is that of the run (:func:`affect.gallery.proxy.prepare_gallery`: the stand-in
    at the profile's size, or 4DFAB); its frames are rendered and cropped once
    (:func:`~affect.learning.gans.faces.gallery_faces`); the run folder is
    :func:`affect.data_paths.gan_root`.
    """
    from affect import data_paths, profiles
    from affect.gallery.proxy import prepare_gallery
    from affect.learning.gans.faces import gallery_faces
    from affect.learning.runs import prepared_root

    sizes = profiles.gan_sizes(profile, method)
    run_dir = data_paths.gan_root(method, gallery_source, profile.name, seed)
    if (run_dir / GENERATOR_FILE).is_file():
        return run_dir / GENERATOR_FILE
    gallery = prepare_gallery(None, profile, seed, gallery_source)
    faces = gallery_faces(
        gallery, sizes.gallery_frames, sizes.image_size, prepared_root(), seed=seed, progress=progress
    )
    source = f"{len(faces)} frames of the {'stand-in' if gallery_source == 'proxy' else '4DFAB'} gallery"
    return fit_gan(method, faces, sizes, run_dir, seed=seed, device=device, progress=progress, source=source)
