"""One training engine for every table (Sec. 6.2 to 6.5), on PyTorch Lightning.

:func:`fit` trains one network of :mod:`affect.learning.networks` on prepared faces:

- valence-arousal: loss ``1 - (CCC_valence + CCC_arousal) / 2`` over the batch (Eq. 6 as a
  loss, :func:`affect.metrics.ccc_loss`), plus ``mse_weight`` times the MSE (Eq. 7), which
  pins scale and offset while batch CCC is noisy (docs/networks.md 7.2);
- expressions: cross-entropy over the database's classes, with optional class weights;
- age (Sec. 6.5): cross-entropy over DEX's 101 one-year bins (:func:`age_loss`), scored by
  the mean absolute error of the expected age.

Recurrent networks train on windows of consecutive frames cut inside each video
(:class:`affect.learning.data.ClipDataset`). Lightning supplies checkpoints (``best.ckpt`` by
the validation score, ``last.ckpt`` after every epoch), early stopping on the validation
score, resumption from ``last.ckpt`` after a kill (the same run: every random draw comes from
the seed and the epoch, :mod:`affect.learning.random_states`), CSV curves (``metrics.csv``), the device
(``'auto'``: a GPU when there is one) and DDP over several processes (GPUs, or CPU processes
with the gloo backend; :data:`STRATEGIES`). With one seed, two runs on the CPU give the same
weights and numbers.

Under DDP the profile's batch is the global batch: each of ``N`` processes loads ``1/N`` of it
(:class:`affect.learning.data.EpochShuffle`), the loss is computed over the outputs gathered
from every process (Eq. 6's batch CCC is not a mean over samples), and validation runs whole
in every process, so the epoch that is kept is picked by the one-process score. What still
differs from one process: dropout masks drawn in each process, and on the CPU batch-norm
statistics over each process's share (torch's SyncBatchNorm, used on GPUs, needs a GPU).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from affect import metrics
from affect.files import atomic_write_text
from affect.learning import transforms
from affect.learning.checkpoints import read_torch_file
from affect.learning.data import ClipDataset, EpochShuffle, FrameDataset
from affect.learning.networks import (
    AGES,
    RECURRENT,
    build_network,
    expected_age,
    freeze_convolutions,
    minimum_input_size,
)
from affect.learning.prepared import PreparedFaces
from affect.learning.pretrained import load_pretrained, network_width
from affect.learning.random_states import RandomStates
from affect.profiles import TrainingSizes
from affect.vocabulary import check_choice

__all__ = [
    "AffectModule",
    "va_loss",
    "expression_loss",
    "age_loss",
    "class_weights",
    "fit",
    "make_loader",
    "input_size",
    "check_checkpoint",
    "check_device",
    "check_processes",
    "is_first_process",
    "CHECKPOINTS",
    "STRATEGIES",
]

CHECKPOINTS = "checkpoints"
#: Lightning strategies of :func:`fit`: 'auto' (one process, or DDP over every visible GPU),
#: 'ddp' (processes started by Lightning re-running the command, or by SLURM's srun / torchrun)
#: and 'ddp_spawn' (processes spawned from a running Python, e.g. a notebook).
STRATEGIES = ("auto", "ddp", "ddp_spawn")
log = logging.getLogger("affect.learning")


def va_loss(prediction: torch.Tensor, target: torch.Tensor, mse_weight: float = 0.0) -> torch.Tensor:
    """``1 - (CCC_v + CCC_a) / 2`` over a batch, plus ``mse_weight`` times the MSE.

    Sec. 6.2.1.1, Eq. 6 and 7; the CCC uses population moments over all N samples of the
    batch (for clips, all B * T frames), as :func:`affect.metrics.ccc_loss`.

    Parameters
    ----------
    prediction, target : (N, 2) float tensors, valence and arousal in [-1, 1]
    mse_weight : float

    Returns
    -------
    () tensor, >= 0.
    """
    loss = metrics.ccc_loss(target, prediction)
    if mse_weight:
        loss = loss + mse_weight * F.mse_loss(prediction, target)
    return loss


def expression_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy over the classes (Sec. 6.2.2), optionally class-weighted (docs/networks.md 7.4).

    Parameters
    ----------
    logits : (N, K) float
    labels : (N,) int64 in [0, K)
    weights : (K,) float, optional
    """
    return F.cross_entropy(logits, labels, weight=weights)


def age_loss(logits: torch.Tensor, ranges: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the age logits against a uniform distribution over each face's age range.

    Sec. 6.5 trains on IMDB (one age in years) and Adience (age ranges such as 25 to 32). DEX
    (docs/networks.md 5) treats the 101 ages as classes and predicts their expected value; a range
    becomes a uniform target over its years, so both databases train one head without
    inventing a single age for an Adience face (a kit decision; a one-year range is DEX's
    one-hot target).

    Parameters
    ----------
    logits : (N, 101) float
    ranges : (N, 2) float, ``(low, high)`` years, inclusive

    Returns
    -------
    () tensor, >= 0.
    """
    ages = torch.arange(AGES, device=logits.device, dtype=ranges.dtype)
    low, high = ranges.round().clamp(0, AGES - 1).unbind(dim=1)
    inside = (ages >= low[:, None]) & (ages <= high[:, None])
    target = inside.to(logits.dtype) / inside.sum(dim=1, keepdim=True).clamp(min=1).to(logits.dtype)
    return F.cross_entropy(logits, target)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Weights ``max_k n_k / n_c``, normalised to sum to 1 (AffectNet's weighted loss, docs/networks.md 3).

    A class absent from ``labels`` gets the largest weight.
    """
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    weights = counts.max() / np.maximum(counts, 1.0)
    return weights / weights.sum()


def input_size(network: str, sizes: TrainingSizes) -> int:
    """Crop side of a network: AffWildNet's own size for the recurrent ones (96 px in the paper),
    and never below what the network accepts (AlexNet: 63 px, so 64 in the smoke profile)."""
    size = sizes.sequence_input_size if network in RECURRENT else sizes.input_size
    return max(size, 2 ** math.ceil(math.log2(minimum_input_size(network))))


class AffectModule(pl.LightningModule):
    """A network of :func:`affect.learning.networks.build_network` with its loss and metric.

    The hyperparameters (network, task, classes, sizes) are saved in every checkpoint, so a
    checkpoint names what it holds (:func:`check_checkpoint`).

    Parameters
    ----------
    network, task : str
    classes : sequence of str, optional
        Expression classes in output order; None for ``'va'``.
    sizes : dict
        :class:`affect.profiles.TrainingSizes` as a dict.
    loss_weights : sequence of float, optional
        Class weights of the cross-entropy.
    landmarks : bool
        VGG-FACE-GRU's landmark input.
    pretrained : str
        Where the starting weights came from (recorded in checkpoints; :func:`fit` loads them).
    batch_norm : bool
        VGG networks with batch normalisation, as :func:`fit` builds them to train from scratch.
    """

    def __init__(
        self,
        network: str,
        task: str,
        sizes: dict,
        classes: Sequence[str] | None = None,
        loss_weights: Sequence[float] | None = None,
        landmarks: bool = False,
        pretrained: str = "from scratch",
        batch_norm: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.sizes = TrainingSizes(**sizes)
        self.network = build_network(
            network,
            task,
            input_size=input_size(network, self.sizes),
            width=self.sizes.width,
            n_classes=len(classes) if classes else None,
            hidden_size=self.sizes.gru_hidden,
            num_layers=self.sizes.gru_layers,
            landmarks=landmarks,
            batch_norm=batch_norm,
        )
        self.recurrent = network in RECURRENT
        self.register_buffer(
            "class_weights", None if loss_weights is None else torch.tensor(loss_weights, dtype=torch.float32)
        )
        self._validation: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Outputs of a batch: (B, K) for frames, (B, T, K) for clips."""
        if self.recurrent and self.hparams.landmarks:
            return self.network(batch["image"], batch["landmarks"])
        return self.network(batch["image"])

    def labelled(self, batch: dict[str, torch.Tensor], gather: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs, targets) of the frames with a label, flattened over clips: (N, K), (N, ...).

        With ``gather`` under DDP, those of the global batch: every process's, gathered with
        their gradients, so that each process computes the one-process loss and DDP's mean of
        the processes' gradients is its gradient.
        """
        outputs, target, known = self(batch), batch["target"], batch["known"]
        if gather and self.trainer.world_size > 1:
            outputs = self.all_gather(outputs, sync_grads=True).flatten(0, 1)
            target, known = (self.all_gather(t).flatten(0, 1) for t in (target, known))
        width = outputs.shape[-1]
        outputs, known = outputs.reshape(-1, width), known.reshape(-1)
        target = target.reshape(-1, 2) if self.hparams.task in ("va", "age") else target.reshape(-1)
        return outputs[known], target[known]

    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The task's loss (:func:`va_loss` or :func:`expression_loss`)."""
        if self.hparams.task == "va":
            return va_loss(outputs, target, self.sizes.mse_weight)
        if self.hparams.task == "age":
            return age_loss(outputs, target)
        return expression_loss(outputs, target, self.class_weights)

    def training_step(self, batch: dict[str, torch.Tensor], batch_index: int) -> torch.Tensor | None:
        outputs, target = self.labelled(batch, gather=True)
        if len(target) == 0:
            return None  # a batch of unlabelled frames only: Lightning skips the step
        loss = self.loss(outputs, target)
        self.log("train_loss", loss, on_step=True, on_epoch=True, batch_size=len(target))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_index: int) -> None:
        outputs, target = self.labelled(batch)
        self._validation.append((outputs.detach().cpu(), target.detach().cpu()))

    def on_validation_epoch_end(self) -> None:
        if not self._validation:
            return
        outputs = torch.cat([o for o, _ in self._validation])
        target = torch.cat([t for _, t in self._validation])
        self._validation.clear()
        if len(target) == 0:
            return
        # Under DDP every process scores the whole validation set, so the processes agree.
        self.log("val_loss", self.loss(outputs, target), sync_dist=True)
        self.log("val_score", validation_score(self.hparams.task, outputs, target), prog_bar=True, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # Adam at 1e-3 is Kollias's released AffWildNet setting (docs/networks.md 1.2); the profile sets it.
        learning = [p for p in self.parameters() if p.requires_grad]  # BU-3DFE's frozen convolutions stay out
        return torch.optim.Adam(learning, lr=self.sizes.learning_rate)


def validation_score(task: str, outputs: torch.Tensor, target: torch.Tensor) -> float:
    """Early-stopping criterion: mean CCC of valence and arousal (Sec. 6.4's single measure),
    for expressions the mean per-class recall (Table 6's criterion), under which a network
    that predicts only the majority class scores 1/K however imbalanced the validation set,
    and for ages minus the mean absolute error in years of the expected age (Sec. 6.5; negated
    so that higher is better, like the others)."""
    if task == "age":
        return -float((expected_age(outputs.float()) - target.mean(dim=1)).abs().mean())
    if task == "va":
        return metrics.score_va(target.numpy(), outputs.float().numpy())["ccc_mean"]
    return metrics.confusion_mean_diagonal(target.numpy(), outputs.argmax(dim=1).numpy())


def make_loader(
    faces: PreparedFaces,
    network: str,
    task: str,
    classes: Sequence[str] | None,
    sizes: TrainingSizes,
    *,
    train: bool,
    augment: bool = False,
    seed: int = 0,
    landmarks: bool = False,
) -> DataLoader:
    """A DataLoader over prepared faces: frames, or clips for the recurrent networks.

    A batch holds ``sizes.batch_size`` images, or ``sizes.clips_per_batch`` clips of
    ``sizes.sequence_length`` frames. Training loaders shuffle with :class:`EpochShuffle`;
    ``augment`` adds Table 9's on-the-fly augmentation, each sample's draw seeded by (seed,
    epoch, sample). The loader's own generator (its worker seeds) is seeded by ``seed``, so
    starting a loader leaves torch's global random state alone.
    """
    transform = transforms.augmentation(faces.size) if augment else transforms.to_network_input()
    if network in RECURRENT:
        if augment and landmarks:
            raise ValueError("augment: on-the-fly augmentation would move the faces but not their landmarks")
        dataset = ClipDataset(faces, task, classes, transform, sizes.sequence_length, landmarks, seed)
        batch = sizes.clips_per_batch
    else:
        dataset, batch = FrameDataset(faces, task, classes, transform, seed), sizes.batch_size
    sampler = EpochShuffle(len(dataset), seed) if train else None
    return DataLoader(
        dataset,
        batch_size=batch,
        sampler=sampler,
        num_workers=sizes.num_workers,
        drop_last=train and len(dataset) > batch,
        persistent_workers=sizes.num_workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


CHECKPOINT = "a checkpoint of this kit"


def _saved_hparams(path: str | os.PathLike) -> dict:
    return read_torch_file(path, CHECKPOINT).get("hyper_parameters", {})


def check_checkpoint(path: str | os.PathLike, network: str, task: str, classes: Sequence[str] | None) -> None:
    """Raise a one-line ValueError if a checkpoint holds another network, task or class list."""
    saved = _saved_hparams(path)
    theirs = (saved.get("network"), saved.get("task"), list(saved.get("classes") or []))
    ours = (network, task, list(classes or []))
    if theirs != ours:
        raise ValueError(
            f"{path}: checkpoint of {theirs[0]}/{theirs[1]}"
            f"{' ' + ','.join(theirs[2]) if theirs[2] else ''}, not {network}/{task}"
            f"{' ' + ','.join(ours[2]) if ours[2] else ''}; use another run folder"
        )


def fit(
    network: str,
    task: str,
    train: PreparedFaces,
    val: PreparedFaces,
    sizes: TrainingSizes,
    run_dir: str | os.PathLike,
    *,
    classes: Sequence[str] | None = None,
    seed: int = 0,
    device: str = "auto",
    weights: str | os.PathLike | None = None,
    augment: bool = False,
    weighted_loss: bool = False,
    landmarks: bool = False,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
    initial: str | os.PathLike | None = None,
    devices: int | None = None,
    strategy: str = "auto",
    num_nodes: int = 1,
) -> AffectModule:
    """Train a network on prepared faces; resume if ``run_dir`` holds a last checkpoint.

    Sec. 6.2: each table trains a network on a training split (with or without the
    synthesized faces) and scores it on a test split; this is that training.

    Parameters
    ----------
    network : str
        One of :data:`affect.learning.networks.NETWORKS`.
    task : {'va', 'expression'}
    train, val : PreparedFaces
        Training faces, and faces whose score picks the best epoch and stops training.
    sizes : TrainingSizes
        From the run's profile (:attr:`affect.profiles.Profile.training`).
    run_dir : path
        Receives ``checkpoints/{best,last}.ckpt`` and ``metrics.csv``.
    classes : sequence of str, optional
        Expression classes in output order (required for ``'expression'``).
    seed : int
    device : str
        'auto', 'cpu', 'gpu' / 'cuda' (Lightning accelerator names).
    weights : path or 'imagenet', optional
        Pretrained weights (:func:`affect.learning.pretrained.load_pretrained`); the network
        is then built at the published width, whatever ``sizes.width``
        (:func:`affect.learning.pretrained.network_width`); without them the network starts
        from scratch at ``sizes.width``. Table 9's network (``vggface_bu3dfe``) freezes its
        convolutions only on pretrained weights; from scratch they train too
        (docs/networks.md 8.2).
    augment : bool
        Table 9's on-the-fly augmentation of the training faces.
    weighted_loss : bool
        Class-weighted cross-entropy (:func:`class_weights`).
    landmarks : bool
        Feed the prepared landmarks to VGG-FACE-GRU (with ``initial``: as its checkpoint did).
    progress : bool
        Progress bars and Lightning's summary.
    callbacks : sequence of Callback
        Extra Lightning callbacks.
    initial : path, optional
        A checkpoint of this kit (same network, task and classes) whose weights, at its width,
        the training starts from: fine-tuning a network trained on another database (Table 3's fine-tuned
        AffWildNet).
    devices : int, optional
        Training processes per node (GPUs, or CPU processes); None: Lightning's choice (every
        visible GPU, else one process).
    strategy : str
        One of :data:`STRATEGIES`.
    num_nodes : int
        Machines of a multi-node run (SLURM: the job's nodes).

    Returns
    -------
    AffectModule with the best validation score's weights, in eval mode, on the CPU.
    """
    run_dir = Path(run_dir)
    check_device(device)
    check_processes(devices, strategy, num_nodes)
    pl.seed_everything(seed, workers=True, verbose=False)
    weights_of_classes = None
    if task == "expression" and weighted_loss:
        labels = FrameDataset(train, task, classes, transforms.to_network_input()).values
        weights_of_classes = class_weights(labels, len(classes)).tolist()
    # From scratch, VGG networks get batch normalisation (build_network); pretrained ones are
    # built at the published width; a fine-tuned run keeps the layout of the checkpoint it
    # starts from, its width and landmark input included.
    saved = None if initial is None else _saved_hparams(initial)
    batch_norm = weights is None if saved is None else saved.get("batch_norm", False)
    landmarks = landmarks if saved is None else saved.get("landmarks", False)
    if saved is None:
        width = network_width(sizes.width, weights is not None)
    else:
        width = saved.get("sizes", {}).get("width", sizes.width)
    built = asdict(replace(sizes, width=width))
    module = AffectModule(network, task, built, classes, weights_of_classes, landmarks, batch_norm=batch_norm)
    if weights is not None:
        module.hparams["pretrained"] = load_pretrained(module.network, weights, progress=progress).source
        if network == "vggface_bu3dfe":
            freeze_convolutions(module.network)  # Sec. 6.2.2.2: only the FC layers learn
    if initial is not None:
        check_checkpoint(initial, network, task, classes)
        _load_weights(module, read_torch_file(initial, CHECKPOINT), initial)
        module.hparams["pretrained"] = f"fine-tuned from {Path(initial).parent.parent.name}"
    last = run_dir / CHECKPOINTS / "last.ckpt"
    if last.is_file():
        check_checkpoint(last, network, task, classes)
    with _quiet(progress):
        callbacks = [RandomStates(seed), *callbacks]
        trainer = _trainer(run_dir, sizes, device, progress, callbacks, devices, strategy, num_nodes)
        processes = trainer.world_size
        loaders = [
            make_loader(
                faces,
                network,
                task,
                classes,
                _per_process(sizes, processes) if is_train else sizes,
                train=is_train,
                augment=augment and is_train,
                seed=seed,
                landmarks=landmarks,
            )
            for faces, is_train in ((train, True), (val, False))
        ]
        steps = max(1, len(loaders[0]) // processes)  # global batches per epoch
        trainer.fit_loop.max_epochs = max(sizes.max_epochs, math.ceil(sizes.min_steps / steps))
        try:
            trainer.fit(module, *loaders, ckpt_path=last if last.is_file() else None, weights_only=True)
        finally:
            if is_first_process():
                merge_curves(run_dir)
    return load_module(run_dir / CHECKPOINTS / "best.ckpt")


def _per_process(sizes: TrainingSizes, processes: int) -> TrainingSizes:
    """The sizes of one of ``processes`` DDP processes: its share of the global batch."""
    if processes == 1:
        return sizes
    for field in ("batch_size", "clips_per_batch"):
        if getattr(sizes, field) % processes:
            raise ValueError(
                f"devices: expected a number of processes that divides the profile's {field} "
                f"({getattr(sizes, field)}), got {processes} processes"
            )
    return replace(sizes, batch_size=sizes.batch_size // processes, clips_per_batch=sizes.clips_per_batch // processes)


def is_first_process() -> bool:
    """False in the processes that a distributed launch adds to the first (rank > 0).

    Reads the variables that Lightning's ``ddp`` children, SLURM's ``srun`` and torchrun set
    (``RANK``, ``LOCAL_RANK``, ``SLURM_PROCID``, ``NODE_RANK``), so it can be asked before the
    trainer starts: only the first process prepares faces, writes the run record and scores.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK"))


def merge_curves(run_dir: str | os.PathLike) -> Path | None:
    """Join the curves of every attempt of a run into ``run_dir/metrics.csv``.

    Each attempt (the first, and every resumption) logs to ``logs/<n>/metrics.csv``; rows of
    an attempt from steps that a later attempt redid (after its checkpoint) are dropped.
    """
    run_dir = Path(run_dir)
    attempts = sorted((run_dir / "logs").glob("*/metrics.csv"), key=lambda p: int(p.parent.name))
    frames = [pd.read_csv(p) for p in attempts if p.stat().st_size > 0]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    kept = [earlier[earlier["step"] < later["step"].min()] for earlier, later in zip(frames, frames[1:])]
    curves = pd.concat(kept + frames[-1:], ignore_index=True)
    return atomic_write_text(run_dir / "metrics.csv", curves.to_csv(index=False))


def load_module(path: str | os.PathLike) -> AffectModule:
    """An :class:`AffectModule` from a checkpoint, in eval mode on the CPU; ValueError naming a bad file."""
    saved = read_torch_file(path, CHECKPOINT)
    try:
        module = AffectModule(**saved["hyper_parameters"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: not {CHECKPOINT} (hyperparameters: {error})") from None
    _load_weights(module, saved, path)
    return module.eval()


def _load_weights(module: AffectModule, saved: dict, path: str | os.PathLike) -> None:
    state = saved.get("state_dict")
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not {CHECKPOINT} (no state_dict)")
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not fit the network ({str(error).splitlines()[0]})") from None


def _trainer(
    run_dir: Path,
    sizes: TrainingSizes,
    device: str,
    progress: bool,
    callbacks: Sequence[Callback],
    devices: int | None,
    strategy: str,
    num_nodes: int,
) -> pl.Trainer:
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / CHECKPOINTS,
        filename="best",
        monitor="val_score",
        mode="max",
        save_top_k=1,
        save_last=True,
        enable_version_counter=False,
    )
    stop = EarlyStopping(monitor="val_score", mode="max", patience=sizes.patience)
    attempt = len(list((run_dir / "logs").glob("*/")))  # a resumed run logs beside the killed one
    return pl.Trainer(
        default_root_dir=run_dir,
        max_epochs=sizes.max_epochs,
        min_steps=sizes.min_steps,
        accelerator=_accelerator(device),
        devices="auto" if devices is None else devices,
        strategy=strategy,
        num_nodes=num_nodes,
        sync_batchnorm=_accelerator(device) != "cpu" and torch.cuda.is_available(),
        use_distributed_sampler=False,  # EpochShuffle splits the training batches itself
        deterministic=True,
        logger=CSVLogger(run_dir, name="logs", version=str(attempt)),
        callbacks=[checkpoints, stop, *callbacks],
        enable_progress_bar=progress,
        enable_model_summary=progress,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
    )


def check_device(device: str) -> None:
    """Raise a one-line ValueError if ``device`` asks for a GPU that this machine does not have."""
    kind = device.split(":")[0]
    if kind not in ("auto", "cpu", "gpu", "cuda", "mps"):
        raise ValueError(f"device: expected auto, cpu, gpu, cuda or mps, got {device!r}")
    if kind in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device: expected auto or cpu on this machine (no CUDA GPU is visible to torch), got {device}"
        )


def check_processes(devices: int | None, strategy: str, num_nodes: int) -> None:
    """Raise a one-line ValueError for a process count or strategy that :func:`fit` cannot use."""
    check_choice("strategy", strategy, STRATEGIES)
    if devices is not None and (isinstance(devices, bool) or not isinstance(devices, int) or devices < 1):
        raise ValueError(f"devices: expected a whole number of processes of at least 1, got {devices!r}")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes: expected a whole number of machines of at least 1, got {num_nodes!r}")
    if strategy == "auto" and ((devices or 1) > 1 or num_nodes > 1):
        raise ValueError(
            f"strategy: expected ddp or ddp_spawn for {devices} processes per node on {num_nodes} node(s), got 'auto'"
        )


def _accelerator(device: str) -> str:
    return {"cuda": "gpu"}.get(device.split(":")[0], device)


class _quiet:
    """Silence Lightning's start-up lines and known-harmless warnings unless ``progress``."""

    def __init__(self, progress: bool):
        self.progress = progress

    def __enter__(self):
        self.loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
        self.levels = [lg.level for lg in self.loggers]
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        if not self.progress:
            for lg in self.loggers:
                lg.setLevel(logging.WARNING)
            # On a 2-core CPU one loader process is the right choice; Lightning suggests more.
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            # Expected when a run resumes into its own folder.
            warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # inside Lightning 2.6 with torch 2.9+
            warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*")  # Lightning 2.6, torch 2.14
            # Under DDP every process logs the loss of the whole gathered batch: nothing to average.
            warnings.filterwarnings("ignore", message=".*sync_dist=True.*")
        return self

    def __exit__(self, *exc):
        for lg, level in zip(self.loggers, self.levels):
            lg.setLevel(level)
        self.warnings.__exit__(*exc)
        return False
