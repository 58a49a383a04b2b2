"""Build an augmented set: run an augmenter over a plan, resumably, on several cores (Sec. 6.2).

:func:`build` runs an :class:`~affect.augmentation.augmenters.Augmenter` over the jobs of a plan
(:func:`affect.augmentation.targets.plan`), shard by shard (:mod:`~affect.augmentation.shard_tasks`)
on an engine (:mod:`~affect.augmentation.engines`), writing each image atomically and recording
finished images in the manifest; a killed build resumes where it stopped. :func:`augment_database`
does it for the neutral faces of one database, in a locked output folder that records its settings
(:mod:`~affect.augmentation.output_folder`); :func:`augment_proxies` for every database of a run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect.augmentation import shards
from affect.augmentation.augmenters import Augmenter, SynthesizerAugmenter
from affect.augmentation.engines import ENGINES, check_scheduler, run_shards
from affect.augmentation.identity_check import IDENTITY_GROUP, IDENTITY_SAMPLE
from affect.augmentation.manifest import MANIFEST_COLUMNS, SETTINGS_FILE, resolve_sources, typed_columns
from affect.augmentation.output_folder import (
    claim_folder,
    clear_build,
    output_lock,
    remove_temporaries,
    run_settings,
    stored_format,
)
from affect.augmentation.shard_tasks import ShardResult, ShardTask, shard_jobs
from affect.augmentation.shards import SHARDS, SKIPPED, read_skipped
from affect.augmentation.targets import PLAN_COLUMNS, plan
from affect.files import atomic_write_text, relative_path
from affect.profiles import Profile

log = logging.getLogger("affect.augmentation")


def build(
    plan: pd.DataFrame,
    augmenter: Augmenter,
    out_dir: str | os.PathLike,
    *,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    identity_every: int = 1,
    n_shards: int = SHARDS,
    shard_set: tuple[int, int] | None = None,
    merge_only: bool = False,
    progress: bool = True,
    skip_errors: bool = False,
    retry_skipped: bool = False,
    source_root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Synthesize every job of a plan into ``out_dir``, shard by shard, and merge ``manifest.csv``.

    Sec. 6.2: the synthesized images that are added to the training sets. The plan's photos
    are split into ``n_shards`` shards (:mod:`affect.augmentation.shards`); each shard is one
    task of the engine, writes its images atomically, appends their rows to its own manifest
    part once each image is complete, and is marked done when finished. A build killed at any
    point resumes by running again with the same arguments: finished shards are skipped,
    finished images of the others too, nothing is lost and nothing is listed twice. At the
    end the parts are merged into ``manifest.csv``: this plan's rows in plan order after any
    rows of other plans built into the same folder. Images and manifests are the same for
    every engine and number of workers.

    Parameters
    ----------
    plan : DataFrame
        From :func:`plan` (several plans can be concatenated).
    augmenter : Augmenter
        Sent once to each worker process (pickled) when the engine is not ``'serial'``.
    out_dir : path
        Output folder; images at ``out_dir / plan.output``.
    jobs : int
        Worker processes (for Dask's local cluster: single-threaded workers).
    engine : {'serial', 'pool', 'dask'}, optional
        In this process; a process pool; Dask distributed (:mod:`affect.augmentation.dask_engine`).
        Default: ``'serial'`` for one job, else ``'pool'``.
    scheduler : str, optional
        Address of a running Dask scheduler (``engine='dask'``); default a local cluster of ``jobs``.
    seed : int
        Base of the per-job seeds handed to ``synthesize``; each job's seed is derived from
        ``seed`` and its output name, so the images do not depend on engine, workers or order.
    measure_identity : bool
        Record the dlib identity-descriptor distance between source and output
        (:mod:`affect.face.recognition`); NaN when False, when no face is found, or for jobs
        outside the sample (``identity_every``).
    identity_every : int
        Measure identity on 1 job in ``identity_every`` on average (a seeded choice by photo and
        output name, in groups of up to :data:`IDENTITY_GROUP` images of a photo, see
        :func:`~affect.augmentation.identity_check.identity_sample`): at scale the check costs
        more than the synthesis.
    n_shards : int
        Shards the photos are split into (:data:`SHARDS`); fixed for an output folder.
    shard_set : (k, n), optional
        Run only the shards ``s`` with ``s % n == k`` (one element of a job array) and write no
        ``manifest.csv``; run a build without it (or ``merge_only``) when all sets are done.
    merge_only : bool
        Synthesize nothing: check that every shard of the plan is done and merge them.
    progress : bool
        Show a tqdm progress bar (advanced per finished shard).
    skip_errors : bool
        Log and skip a photo whose preparation or synthesis fails instead of stopping;
        skipped jobs are not in the manifest and their number is in
        ``manifest.attrs['failed']``. A photo that cannot be prepared (unreadable, no face
        found) is logged once and listed with the reason in :data:`SKIPPED` (``source,reason``);
        later builds leave the listed photos out (``manifest.attrs['skipped_sources']``
        counts them) unless ``retry_skipped``. A failed synthesis of one target is retried
        by the next build (its shard is not marked done).
    retry_skipped : bool
        Try the photos listed in :data:`SKIPPED` again.
    source_root : path, optional
        The database folder: sources inside it are written to the manifest relative to it
        (record it as ``source_root`` in the folder's :data:`SETTINGS_FILE`, as
        :func:`augment_database` does, so :func:`read_manifest` joins them again). The rows
        returned carry the plan's source paths.

    Returns
    -------
    The manifest rows of this plan (:data:`MANIFEST_COLUMNS`), in plan order (with
    ``shard_set``: the rows of those shards). ``attrs``: ``failed``, ``skipped_sources`` and
    ``worker_seconds`` (the shards' run times summed over workers) and ``worker_cpu_seconds``
    (their processes' CPU time: less than the run time where other jobs share the cores).
    """
    missing = set(PLAN_COLUMNS) - set(plan.columns)
    if missing:
        raise ValueError(f"plan: missing columns {sorted(missing)}")
    if plan["output"].duplicated().any():
        first = plan.loc[plan["output"].duplicated(), "output"].iloc[0]
        raise ValueError(f"plan: output {first!r} occurs twice")
    for name, value in (("jobs", jobs), ("identity_every", identity_every), ("n_shards", n_shards)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    engine = engine or ("serial" if jobs == 1 else "pool")
    if engine not in ENGINES:
        raise ValueError(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "dask" and scheduler is not None:
        check_scheduler(scheduler)
    if shard_set is not None:
        k, n = shard_set
        if not (isinstance(n, int) and isinstance(k, int) and n >= 1 and 0 <= k < n):
            raise ValueError(f"shard_set: expected (k, n) with 0 <= k < n, got {shard_set!r}")
    if not isinstance(augmenter, Augmenter):
        raise ValueError(f"augmenter: {type(augmenter).__name__} has no prepare() and synthesize()")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not shards.check_layout(out, n_shards):
        shards.migrate(out, n_shards)
        shards.write_layout(out, n_shards)

    index = shards.shard_of(plan["source"], n_shards)
    selected = np.ones(len(plan), dtype=bool) if shard_set is None else index % shard_set[1] == shard_set[0]
    # Shard tasks are made as the engine asks for them: a plan of millions of jobs is never
    # held as millions of job records at once.
    rows_of = pd.Series(np.arange(len(plan))).groupby(index).indices
    pending, done_jobs = [], 0
    for shard in np.unique(index[selected]):
        rows = plan.iloc[rows_of[shard]]
        shard_digest = shards.digest(rows["output"])
        if shards.is_done(
            shards.shard_folder(out, int(shard)), shard_digest, retry_skipped=retry_skipped and skip_errors
        ):
            done_jobs += len(rows)
        else:
            pending.append((int(shard), shard_digest))
    if merge_only and pending:
        raise ValueError(
            f"{out}: {len(pending)} of {len(np.unique(index))} shards are not finished (first: "
            f"{shards.shard_folder(out, pending[0][0])}); run their --shard sets first"
        )
    pending = _balanced(pending, rows_of, int(jobs) if engine != "serial" else 1)
    root_text = None if source_root is None else str(source_root)
    tasks = (
        ShardTask(shard, str(out), piece, shard_digest, skip_errors, retry_skipped, pieces)
        for shard, shard_digest, pieces in pending
        for piece in _pieces(
            shard_jobs(plan.iloc[rows_of[shard]], seed, measure_identity, identity_every, root_text), pieces
        )
    )

    bar = _progress_bar(int(selected.sum()), done_jobs, progress)
    failed, worker_seconds, worker_cpu_seconds = 0, 0.0, 0.0
    split = {shard: [pieces, 0, shard_digest] for shard, shard_digest, pieces in pending if pieces > 1}
    try:
        runs = run_shards(tasks, augmenter, engine=engine, jobs=int(jobs), scheduler=scheduler) if pending else ()
        for result in runs:
            failed += result.failed
            worker_seconds += result.seconds
            worker_cpu_seconds += result.cpu_seconds
            bar.update(result.jobs)
            if result.index in split:
                _piece_finished(out, result, split, skip_errors)
    finally:
        bar.close()

    if shard_set is None:
        ours = shards.merge(out, plan)
    else:
        mine = plan[selected]
        rows = [shards.finished_rows(out, shards.shard_folder(out, int(s))) for s in np.unique(index[selected])]
        empty = typed_columns(pd.DataFrame(columns=list(MANIFEST_COLUMNS)))
        rows = pd.concat(rows, ignore_index=True) if rows else empty
        position = {name: i for i, name in enumerate(mine["output"])}
        rows = rows[rows["output"].isin(position)]
        ours = rows.iloc[np.argsort(rows["output"].map(position).to_numpy(), kind="stable")].reset_index(drop=True)
    if source_root is not None:
        ours = resolve_sources(ours, source_root)
    if failed:
        log.warning("%s: %d of %d jobs failed and were skipped", out, failed, int(selected.sum()))
    skipped: dict[str, str] = {}
    if skip_errors:
        for s in np.unique(index[selected]):
            skipped.update(read_skipped(shards.shard_folder(out, int(s)) / SKIPPED))
    n_skipped = int(plan.loc[selected, "source"].drop_duplicates().isin(set(skipped)).sum())
    if n_skipped:
        log.warning(
            "%s: %d source photos left out (unreadable or no face), listed in %s", out, n_skipped, out / SKIPPED
        )
    ours.attrs["failed"] = failed
    ours.attrs["skipped_sources"] = n_skipped
    ours.attrs["worker_seconds"] = worker_seconds
    ours.attrs["worker_cpu_seconds"] = worker_cpu_seconds
    return ours


def _balanced(pending: list[tuple[int, str]], rows_of: dict, workers: int) -> list[tuple[int, str, int]]:
    """The pending shards as (shard, digest, pieces), largest first, the last ``workers`` in two pieces.

    Largest first (longest-processing-time order) leaves the small shards for the end, and
    splitting the last ones halves the time a worker can sit idle while the others finish
    their last shard (a shard of one photo is about a second of work on one core).
    """
    order = sorted(pending, key=lambda item: -len(rows_of[item[0]]))  # stable: ties keep shard order
    tail = len(order) - workers if workers > 1 else len(order)
    return [(shard, digest, 1 if i < tail or len(rows_of[shard]) < 2 else 2) for i, (shard, digest) in enumerate(order)]


def _pieces(jobs: list[dict], pieces: int) -> list[list[dict]]:
    """``jobs`` in ``pieces`` consecutive runs (photo by photo, so a photo spans at most two)."""
    cut = np.linspace(0, len(jobs), pieces + 1).round().astype(int)
    return [jobs[a:b] for a, b in zip(cut[:-1], cut[1:])]


def _piece_finished(out: Path, result: ShardResult, split: dict[int, list], skip_errors: bool) -> None:
    """Count a finished piece of a split shard; mark the shard done when its last piece ends with
    no failed job (a piece never marks its shard done itself)."""
    record = split[result.index]
    record[0] -= 1
    record[1] += result.failed
    if record[0] == 0 and record[1] == 0:
        folder = shards.shard_folder(out, result.index)
        skipped = len(read_skipped(folder / SKIPPED)) if skip_errors else 0
        shards.mark_done(folder, result.index, record[2], len(shards.finished_outputs(out, folder)), skipped)


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="synthesizing", disable=not enabled)


def augment_database(
    name: str,
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    synthesizer: Any,
    *,
    kinds: Sequence[str] = ("va", "expression"),
    split: str | None = None,
    n_va: int | None = None,
    max_neutral: int | None = None,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    identity_every: int = 1,
    image_format: str | None = None,
    n_shards: int = SHARDS,
    shard_set: tuple[int, int] | None = None,
    merge_only: bool = False,
    progress: bool = True,
    overwrite: bool = False,
    check_settings: bool = True,
    retry_skipped: bool = False,
    method: str = "proposed",
) -> dict[str, pd.DataFrame]:
    """Synthesize the paper's affects on every neutral face of a database (Sec. 6.2, Table 1).

    Loads database ``name`` from ``root``, selects its neutral faces
    (:func:`affect.datasets.neutral_frames`), plans VA targets over the synthesizer's VA classes
    and the six basic expressions, and builds each kind into ``out_dir/<kind>`` (resumable).

    Parameters
    ----------
    synthesizer : AffectSynthesizer or Augmenter
        Holds the affect model whose VA classes the VA targets are drawn from: the paper's
        synthesizer, or the augmenter of ``method``
        (:meth:`affect.run.Run.augmenter`).
    method : {'proposed', 'stargan', 'ganimation'}
        Which method ``synthesizer`` is; stored with the settings, so a folder built by one
        method is never resumed by another. The GAN baselines are conditioned on VA only
        (``kinds=('va',)``).
    kinds : subset of ``('va', 'expression')``
    split : str, optional
        Default: ``'train'`` where the database has one, else ``'all'``.
    n_va : int, optional
        VA targets per neutral face (default :data:`VA_TARGETS_PER_IMAGE`).
    max_neutral : int, optional
        Use only the first ``max_neutral`` neutral faces of a seeded shuffle (small runs).
    jobs, engine, scheduler, seed, measure_identity, identity_every, n_shards, shard_set, merge_only
        As for :func:`build`.
    image_format : {'jpg', 'png'}, optional
        JPEG (quality 95: about 0.17 ms to encode a 256 px face against 0.41 ms for lossless PNG, and
        a seventh of the disk) or PNG. Default: the format a kind's folder was built in (PNG for
        folders built before the choice was stored), JPEG for a new folder.
    overwrite : bool
        Replace the images of an earlier build made with other settings instead of refusing
        (not with ``shard_set``: other shard sets may be writing).
    check_settings : bool
        Store the settings in each kind's folder (:data:`SETTINGS_FILE`) and refuse a folder
        built with other ones (see :func:`claim_folder`).
    retry_skipped : bool
        Try again the photos an earlier build left out (see :func:`build`).

    Photos that cannot be prepared are left out and listed in each kind's :data:`SKIPPED`;
    hidden temporaries that a killed build left behind are removed first (with ``shard_set``
    only those of its shards).

    The output folder is locked while the build runs (:func:`output_lock`): a second build
    into it fails at once. Shard sets (``shard_set``) share the lock with each other, so the
    elements of a job array run side by side, but not with a whole build or a merge.

    Returns
    -------
    dict mapping each kind to its manifest (with ``shard_set``: the rows of those shards).
    """
    from affect import datasets
    from affect.augmentation.methods import check_method

    unknown = set(kinds) - {"va", "expression"}
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; expected 'va' and/or 'expression'")
    if check_method(method) != "proposed" and "expression" in kinds:
        raise ValueError(f"kinds: {method} is conditioned on valence and arousal; build kind 'va' only")
    made_by = getattr(synthesizer, "method", "proposed")
    if made_by != method:
        raise ValueError(f"synthesizer: a {made_by} augmenter given for method {method!r}")
    if shard_set is not None and (overwrite or merge_only):
        raise ValueError(
            "shard_set: cannot be combined with overwrite or merge_only (other shard sets may be "
            "running); overwrite or merge without it"
        )
    split = split or ("train" if "train" in datasets.SPLITS[name] else "all")
    out = Path(out_dir)
    with output_lock(out, shared=shard_set is not None):
        formats = {kind: image_format or stored_format(out / kind) or "jpg" for kind in kinds}
        settings = {
            kind: run_settings(name, root, split, kind, n_va, max_neutral, seed, formats[kind], method)
            for kind in kinds
        }
        replaced = [
            kind for kind in kinds if check_settings and claim_folder(out / kind, settings[kind], overwrite=overwrite)
        ]
        neutral = datasets.neutral_frames(datasets.load(name, root, split))
        if neutral.empty:
            raise ValueError(f"{root}: no neutral faces in {name}/{split}")
        for kind in replaced:
            clear_build(out / kind)
        if max_neutral is not None and len(neutral) > max_neutral:
            neutral = neutral.sample(n=max_neutral, random_state=seed).sort_index()
        augmenter = synthesizer if isinstance(synthesizer, Augmenter) else SynthesizerAugmenter(synthesizer)
        # Sources relative to the database folder where the settings record it (so a finished set
        # can be moved or shared); the loaders build every path under the resolved root.
        source_root = str(Path(root).expanduser().resolve()) if check_settings else None
        plans = {}
        for kind in kinds:
            classes = synthesizer.affect_model.va_classes if kind == "va" else None
            plans[kind] = plan(neutral, kind, classes, n_va if kind == "va" else None, seed, image_format=formats[kind])
            if shard_set is None:
                remove_temporaries(out / kind)
            else:
                index = shards.shard_of(plans[kind]["source"], n_shards)
                mine = plans[kind]["output"][index % shard_set[1] == shard_set[0]]
                remove_temporaries(out / kind, set(mine))
        manifests = {}
        for kind in kinds:
            if check_settings:
                recorded = settings[kind] | {
                    "measure_identity": bool(measure_identity),
                    "identity_every": int(identity_every),
                    "identity_sample": IDENTITY_SAMPLE.format(every=int(identity_every), group=IDENTITY_GROUP),
                    "shards": int(n_shards),
                    "source_root": relative_path(source_root, (out / kind).resolve()),
                }
                atomic_write_text(out / kind / SETTINGS_FILE, json.dumps(recorded, indent=1) + "\n")
            manifests[kind] = build(
                plans[kind],
                augmenter,
                out / kind,
                jobs=jobs,
                engine=engine,
                scheduler=scheduler,
                seed=seed,
                measure_identity=measure_identity,
                identity_every=identity_every,
                n_shards=n_shards,
                shard_set=shard_set,
                merge_only=merge_only,
                progress=progress,
                skip_errors=True,
                retry_skipped=retry_skipped,
                source_root=source_root,
            )
    return manifests


def augment_proxies(
    synthesizer: Any,
    out_root: str | os.PathLike,
    *,
    data_source: str,
    profile: Profile,
    names: Sequence[str] | None = None,
    seed: int = 0,
    measure_identity: bool = True,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Augment every database of a run, both kinds, sized by the profile (Table 1).

    Stand-ins (``data_source='proxy'``) are written first if absent
    (:func:`affect.datasets.proxy.ensure_proxy`); real databases are read from
    :func:`affect.data_paths.database_root`. Returns each database's manifest, VA and
    basic-expression rows together, ready for :func:`synthesized_counts`.
    """
    from affect import data_paths, datasets
    from affect.datasets.proxy import ensure_proxy

    manifests = {}
    for name in names or datasets.NAMES:
        root = data_paths.database_root(name, data_source, profile.name)
        if data_source == "proxy":
            ensure_proxy(name, root.parent, profile, seed)
        # A run's results folder holds the builds of every profile and seed run into it, each
        # returning only its own rows, so stored settings are not enforced here. PNG: the
        # stand-in runs' results folders were built so, and resume.
        built = augment_database(
            name,
            root,
            Path(out_root) / name,
            synthesizer,
            n_va=profile.augment_va_targets,
            max_neutral=profile.augment_neutral_per_database,
            seed=seed,
            measure_identity=measure_identity,
            image_format="png",
            progress=progress,
            check_settings=False,
        )
        manifests[name] = pd.concat(built.values(), ignore_index=True)
    return manifests
