"""A training run on one database, as the notebooks and ``affect train`` / ``affect evaluate`` do it.

:func:`train` loads a database's splits (Sec. 5's protocols), optionally adds an augmentation
build's synthesized faces to the training split (Sec. 6.2), prepares the faces at the
profile's size, trains with :func:`affect.learning.training.fit` and records everything
the run used in ``RUN_DIR/run.json``. :func:`evaluate_run` scores the run's test split and
writes its predictions (:mod:`affect.learning.evaluation`).

Splits: AffectNet trains on its 85 % part and validates on the 15 % part (Sec. 5); the other
databases hold out 15 % of their training subjects (or videos) for validation. The test split
is the released test set (RECOLA: ``dev``; AFEW: ``val``; FER2013: ``PrivateTest``, with its
``PublicTest`` for validation); AFEW-VA and BU-3DFE use fold
``fold`` of their person-independent cross-validation (Sec. 6.2.1.2, 6.2.2.2: 5 and 10 folds;
a stand-in with fewer subjects than folds gets one fold per subject, with a warning).
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affect import data_paths, datasets, profiles
from affect.files import atomic_write_text, check_writable, folder_lock, relative_path, stored_path
from affect.learning import evaluation, training
from affect.learning.networks import NETWORKS
from affect.learning.prepared import PreparedFaces, load_prepared, prepare, synthesized_subset, with_synthesized
from affect.vocabulary import EXPRESSIONS

__all__ = [
    "TEST_SPLITS",
    "VA_DATABASES",
    "VAL_FRACTION",
    "RUN_FILE",
    "TrainingRun",
    "default_task",
    "database_splits",
    "fold_count",
    "prepare_database",
    "prepared_root",
    "train",
    "evaluate_run",
    "read_run",
    "write_run",
]

#: The split each database is scored on (Sec. 5; the paper's RECOLA results are on 'dev').
TEST_SPLITS = {
    "affectnet": "test",
    "affwild": "test",
    "rafdb": "test",
    "recola": "dev",
    "afew": "val",
    "fer2013": "test",
}
#: Databases annotated with valence and arousal (AffectNet also has expressions).
VA_DATABASES = ("affectnet", "affwild", "afew_va", "recola")
#: Share of training subjects (or videos) held out to pick the best epoch; AffectNet's own 85/15.
VAL_FRACTION = 0.15
RUN_FILE = "run.json"
RUN_LOCK = ".train.lock"  # in the run folder while 'affect train' writes it; holds its pid
log = logging.getLogger("affect.learning")


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`train` did; saved as ``run.json`` in the run folder.

    Attributes
    ----------
    run_dir : str
    network, task, database, data_source, profile : str
    classes : list of str
        Expression classes in output order; empty for VA.
    sizes : dict
        The :class:`affect.profiles.TrainingSizes` the network trained at: the profile's, at the
        published width on pretrained weights (:func:`affect.learning.pretrained.network_width`).
    seed : int
    fold : int or None
    pretrained : str
        The weights file and layout, ImageNet, or 'from scratch'.
    augmented : str or None
        The augmentation build added to the training split.
    on_the_fly : bool
        Table 9's on-the-fly augmentation.
    prepared : dict of str to str
        Cache folder of each split.
    synthesized_only : bool
        The training split held the synthesized faces alone (Table 11).
    """

    run_dir: str
    network: str
    task: str
    database: str
    data_source: str
    profile: str
    classes: list[str]
    sizes: dict
    seed: int
    fold: int | None
    pretrained: str
    augmented: str | None
    on_the_fly: bool
    prepared: dict[str, str]
    synthesized_only: bool = False  # absent from run.json files written before Table 11


def default_task(database: str) -> str:
    """'va' for the valence-arousal databases (AffectNet included), else 'expression'."""
    return "va" if database in VA_DATABASES else "expression"


def prepared_root() -> Path:
    """Where prepared faces are cached: ``<data>/prepared`` (shared by every run)."""
    return data_paths.data_dir() / "prepared"


def _root(database: str, data_source: str, profile: str) -> Path:
    """The folder of ``database``; ``profile`` names the stand-in's folder."""
    root = data_paths.database_root(database, data_source, profile)
    if not root.is_dir():
        hint = (
            f"write the stand-in with 'affect data proxy {database} --profile {profile}'"
            if data_source == "proxy"
            else "see data/README.md"
        )
        raise ValueError(f"{root}: database folder not found; {hint}")
    return root


def fold_count(database: str, frame: pd.DataFrame) -> int:
    """Folds of a cross-validated database: the protocol's, or one per subject if it has fewer."""
    return min(datasets.FOLDS[database], frame["subject"].nunique())


def database_splits(
    database: str, root: str | os.PathLike, *, seed: int = 0, fold: int | None = None
) -> dict[str, pd.DataFrame]:
    """The train, val and test frames of a database (see the module docstring)."""
    if database in datasets.FOLDS:
        everything = datasets.load(database, root, "all")
        subjects = everything["subject"].nunique()
        if subjects < 2:
            raise ValueError(
                f"{root}: {subjects} subject; person-independent folds need at least 2 "
                f"(write a larger stand-in, e.g. with --profile default)"
            )
        k = fold_count(database, everything)
        if k < datasets.FOLDS[database]:  # only small stand-ins have fewer subjects than folds
            log.warning(
                "%s: %d subjects, so %d folds instead of the protocol's %d", root, subjects, k, datasets.FOLDS[database]
            )
        pairs = datasets.person_independent_folds(everything, k, seed)
        fold = 0 if fold is None else fold
        if not 0 <= fold < len(pairs):
            raise ValueError(f"fold: {database} has folds 0 to {len(pairs) - 1}, got {fold}")
        train, test = pairs[fold]
    else:
        if fold is not None:
            raise ValueError(f"fold: {database} has a fixed test split, not folds")
        train, test = datasets.load(database, root, "train"), datasets.load(database, root, TEST_SPLITS[database])
    if database == "affectnet":
        return {"train": train, "val": datasets.load(database, root, "val", seed=seed), "test": test}
    if database == "fer2013":
        return {"train": train, "val": datasets.load(database, root, "val"), "test": test}
    train, val = _hold_out(train, seed)
    return {"train": train, "val": val, "test": test}


def _hold_out(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off VAL_FRACTION of the subjects (else videos, else rows) for validation."""
    for column in ("subject", "sequence", "path"):
        units = frame[column].astype(str)
        if (units != "").all() and units.nunique() > 1:
            break
    names = np.array(sorted(units.unique()))
    count = max(1, int(round(VAL_FRACTION * len(names))))
    held = set(np.random.default_rng(seed).choice(names, count, replace=False))
    mask = units.isin(held).to_numpy()
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def _classes(task: str, frames: dict[str, pd.DataFrame]) -> list[str]:
    if task == "va":
        return []
    seen = set().union(*(set(f["expression"].dropna()) for f in frames.values()))
    return [name for name in EXPRESSIONS if name in seen]


def prepare_database(
    database: str,
    network: str,
    *,
    profile: profiles.Profile,
    data_source: str = "proxy",
    seed: int = 0,
    fold: int | None = None,
    augmented: str | os.PathLike | None = None,
    cache_root: str | os.PathLike | None = None,
    progress: bool = False,
    synthesized_only: bool = False,
) -> tuple[dict[str, PreparedFaces], dict[str, pd.DataFrame]]:
    """Prepared faces of a database's train (plus synthesized), val and test splits.

    This is ``affect prepare``: the crops are made once at the profile's input size of
    ``network`` and reused by every later run. With ``synthesized_only`` the training split is
    the synthesized faces of ``augmented`` and no real image
    (:func:`affect.learning.prepared.with_synthesized`), at most the profile's
    ``synthetic_train_max`` of them (:func:`affect.learning.prepared.synthesized_subset`); val and
    test stay real.

    Returns
    -------
    (prepared faces by split, the split frames)
    """
    if synthesized_only and augmented is None:
        raise ValueError("synthesized_only: needs an augmentation build (augmented) to train on")
    frames = database_splits(database, _root(database, data_source, profile.name), seed=seed, fold=fold)
    if augmented is not None:
        # Alone, every synthesized face is a training sample, also those made from the photos of the
        # subjects held out for validation (as in Tables 2 to 4); their sources' landmarks crop them.
        sources = pd.concat([frames["train"], frames["val"]], ignore_index=True) if synthesized_only else None
        frames["train"] = with_synthesized(frames["train"], augmented, only=synthesized_only, sources=sources)
        if synthesized_only:
            frames["train"] = synthesized_subset(frames["train"], profile.synthetic_train_max, seed)
    size = training.input_size(network, profile.training)
    cache = Path(cache_root) if cache_root is not None else prepared_root()
    tag = f"{data_source}-{database}" + ("" if fold is None else f"-fold{fold}")
    faces = {}
    for split, frame in frames.items():
        suffix = "" if augmented is None or split != "train" else "-synthesized" if synthesized_only else "-augmented"
        faces[split] = prepare(frame, cache, size, label=f"{tag}-{split}{suffix}", progress=progress)
    return faces, frames


def train(
    network: str,
    database: str,
    run_dir: str | os.PathLike,
    *,
    profile: profiles.Profile,
    data_source: str = "proxy",
    task: str | None = None,
    seed: int = 0,
    device: str = "auto",
    weights: str | os.PathLike | None = None,
    augmented: str | os.PathLike | None = None,
    fold: int | None = None,
    augment: bool = False,
    weighted_loss: bool = False,
    landmarks: bool = False,
    cache_root: str | os.PathLike | None = None,
    progress: bool = False,
    initial: str | os.PathLike | None = None,
    synthesized_only: bool = False,
    devices: int | None = None,
    strategy: str = "auto",
    num_nodes: int = 1,
) -> TrainingRun:
    """Train ``network`` on ``database`` at the profile's sizes; resume if the run was killed.

    Under DDP (``devices``, ``strategy``, ``num_nodes``: :func:`affect.learning.training.fit`)
    every process runs this function; the first alone holds the run folder's lock and writes
    ``run.json``, the others train beside it (under SLURM, prepare the faces first with
    ``affect prepare``, so that the processes do not all prepare them at once).

    Parameters
    ----------
    network : str
        One of :data:`affect.learning.networks.NETWORKS`.
    database : str
        One of :data:`affect.datasets.NAMES` or :data:`affect.datasets.PRETRAINING_NAMES`.
    run_dir : path
        Receives ``run.json``, ``checkpoints/``, ``metrics.csv``.
    profile : Profile
        The run's sizes (:mod:`affect.profiles`).
    data_source : str
        Where the database lives (:mod:`affect.data_paths`).
    task : {'va', 'expression'}, optional
        Default :func:`default_task`.
    seed : int
    device : str
    weights : path or 'imagenet', optional
        This network's pretrained weights (:func:`affect.learning.pretrained.load_pretrained`;
        a run's :meth:`affect.learning.pretrained.Weights.source`), loaded into the network
        built at the published width; without them the network starts from scratch at the
        profile's width.
    augmented : path, optional
        An augmentation build (folder with ``manifest.csv``) added to the training split.
    fold : int, optional
        Cross-validation fold of AFEW-VA and BU-3DFE (default 0).
    augment : bool
        Table 9's on-the-fly augmentation.
    weighted_loss, landmarks : bool
        See :func:`affect.learning.training.fit`.
    cache_root : path, optional
        Prepared-face cache; default :func:`prepared_root`.
    progress : bool
    initial : path, optional
        A checkpoint of this kit to start from (fine-tuning, :func:`affect.learning.training.fit`).
    synthesized_only : bool
        Train on the synthesized faces of ``augmented`` alone (Table 11, Sec. 6.3); the real
        validation split still picks the best epoch. See :func:`prepare_database`.
    devices, strategy, num_nodes
        Training processes: see :func:`affect.learning.training.fit`.

    Returns
    -------
    TrainingRun
    """
    if network not in NETWORKS:
        raise ValueError(f"network: unknown {network!r}; known: {', '.join(NETWORKS)}")
    training.check_device(device)
    training.check_processes(devices, strategy, num_nodes)
    check_writable(run_dir, folder=True)
    task = task or default_task(database)
    if task == "va" and database not in VA_DATABASES:
        raise ValueError(f"task: {database} has no valence-arousal labels; use --task expression")
    first = training.is_first_process()
    # A second train here fails at once; the other processes of a DDP run share the first's lock.
    with folder_lock(run_dir, RUN_LOCK, "affect train") if first else nullcontext():
        sizes = profile.training
        faces, frames = prepare_database(
            database,
            network,
            profile=profile,
            data_source=data_source,
            seed=seed,
            fold=fold,
            augmented=augmented,
            cache_root=cache_root,
            progress=progress,
            synthesized_only=synthesized_only,
        )
        classes = _classes(task, frames)
        module = training.fit(
            network,
            task,
            faces["train"],
            faces["val"],
            sizes,
            run_dir,
            classes=classes or None,
            seed=seed,
            device=device,
            weights=weights,
            augment=augment,
            weighted_loss=weighted_loss,
            landmarks=landmarks,
            progress=progress,
            initial=initial,
            devices=devices,
            strategy=strategy,
            num_nodes=num_nodes,
        )
        run = TrainingRun(
            str(run_dir),
            network,
            task,
            database,
            data_source,
            profile.name,
            classes,
            dict(module.hparams.sizes),
            seed,
            fold,
            module.hparams.pretrained,
            None if augmented is None else str(augmented),
            augment,
            {split: str(f.folder) for split, f in faces.items()},
            synthesized_only,
        )
        if first:
            write_run(run, run_dir)
    return run


def write_run(run: TrainingRun, run_dir: str | os.PathLike) -> Path:
    """Save ``run`` as ``run_dir/run.json``, its paths relative to ``run_dir`` (the folder can move)."""
    record = asdict(run)
    record["run_dir"] = relative_path(run.run_dir, run_dir)
    if run.augmented is not None:
        record["augmented"] = relative_path(run.augmented, run_dir)
    record["prepared"] = {split: relative_path(folder, run_dir) for split, folder in run.prepared.items()}
    return atomic_write_text(Path(run_dir) / RUN_FILE, json.dumps(record, indent=1))


def read_run(run_dir: str | os.PathLike) -> TrainingRun:
    """The :class:`TrainingRun` saved in a run folder, its paths resolved against the folder it is
    read from (absolute paths, as older files store them, are kept)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ValueError(f"{path}: not found; is {run_dir} a folder written by 'affect train'?")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        record["run_dir"] = str(Path(run_dir))
        if record.get("augmented") is not None:
            record["augmented"] = str(stored_path(record["augmented"], run_dir))
        record["prepared"] = {split: str(stored_path(folder, run_dir)) for split, folder in record["prepared"].items()}
        return TrainingRun(**record)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # not JSON, or other fields
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path}: not a run record of 'affect train' ({detail})") from None


def evaluate_run(run_dir: str | os.PathLike, *, device: str = "cpu", n_bootstrap: int = 1000) -> evaluation.Evaluation:
    """Score a run's best checkpoint on its test split; writes predictions.csv and scores.csv."""
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap: expected at least 1 resample, got {n_bootstrap}")
    training.check_device(device)
    run = read_run(run_dir)
    best = Path(run_dir) / training.CHECKPOINTS / "best.ckpt"
    if not best.is_file():
        raise ValueError(f"{best}: no checkpoint; train first")
    training.check_checkpoint(best, run.network, run.task, run.classes or None)
    module = training.load_module(best)
    return evaluation.evaluate(
        module,
        load_prepared(run.prepared["test"]),
        run_dir,
        fold=run.fold,
        n_bootstrap=n_bootstrap,
        seed=run.seed,
        device=device,
    )
