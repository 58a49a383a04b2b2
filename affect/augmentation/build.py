"""Build an augmented set: run an augmenter over a plan, resumably, on several cores (Sec. 6.2).

:func:`build` runs an :class:`Augmenter` over the jobs of a plan
(:func:`affect.augmentation.targets.plan`), writing each image atomically and recording finished
images in the manifest; a killed build resumes where it stopped. :func:`augment_database`
does it for the neutral faces of one database, :func:`augment_stand_ins` for every database of
a run.
"""

from __future__ import annotations

import copy
import csv
import fcntl
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from affect.augmentation.manifest import (
    MANIFEST,
    MANIFEST_COLUMNS,
    ManifestAppender,
    read_manifest,
    typed_columns,
    write_manifest,
)
from affect.augmentation.targets import PLAN_COLUMNS, Target, derived_seed, plan
from affect.datasets import read_frame
from affect.datasets.common import VIDEO_FRAME_SEPARATOR
from affect.face.landmarks import N_LANDMARKS
from affect.files import atomic_write_text
from affect.image import write_image

log = logging.getLogger("affect.augmentation")

# What running the jobs of one photo reports: manifest rows, failed jobs, (source, reason)
# when the photo itself was left out.
_Outcome = tuple[list[dict], int, tuple[str, str] | None]

SKIPPED = "skipped.csv"  # in each kind's folder: source photos left out, with the reason
LOCK_FILE = ".augment.lock"  # in the output folder; holds the pid of the augment writing it
SETTINGS_FILE = "augment.json"  # in each kind's folder: the settings its images were made with

@runtime_checkable
class Augmenter(Protocol):
    """What :func:`build` needs from a face synthesizer (ours, or a GAN baseline).

    ``prepare`` runs once per source photo (for ours: landmarks, 3DMM fit and texture,
    Sec. 4.1 to 4.3) and returns whatever state ``synthesize`` needs; ``synthesize`` makes
    one image per target. Instances are pickled once into every worker process.
    """

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> Any:
        """Per-photo work. ``image``: (H, W, 3) uint8 RGB; ``landmarks``: (68, 2) or None."""

    def synthesize(self, state: Any, target: Target, seed: int) -> np.ndarray:
        """One synthesized (H', W', 3) uint8 RGB image; ``seed`` for any randomness."""


class SynthesizerAugmenter:
    """Adapts a synthesizer with ``static(image, va)`` and ``basic(image, expression)``.

    Those are the calls of ``affect.synthesis.AffectSynthesizer`` (Sec. 4.5.2); the
    synthesizer keeps its own per-photo fit, so :meth:`prepare` only hands the photo and the
    database's landmarks (if any) on. A result that is not an array is taken to carry the
    image in its ``image`` attribute. :func:`build` measures identity itself, so a
    synthesizer's own identity measurement is switched off (on a shallow copy).
    """

    def __init__(self, synthesizer: Any):
        for method in ("static", "basic"):
            if not callable(getattr(synthesizer, method, None)):
                raise ValueError(f"synthesizer: {type(synthesizer).__name__} has no {method}() method")
        if getattr(synthesizer, "measure_identity", False) is True:
            synthesizer = copy.copy(synthesizer)
            synthesizer.measure_identity = False
        self.synthesizer = synthesizer

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Fit the photo once, if the synthesizer can (it caches the fit); return it and its landmarks.

        Fitting here makes a photo without a face fail once, in preparation, rather than once
        per target.
        """
        reconstruction = getattr(self.synthesizer, "reconstruction", None)
        if callable(reconstruction):
            reconstruction(image, landmarks)
        return image, landmarks

    def synthesize(self, state: tuple, target: Target, seed: int) -> np.ndarray:
        """Call ``basic`` for an expression target, ``static`` for a VA target."""
        image, landmarks = state
        options = {} if landmarks is None else {"landmarks": landmarks}
        if target.expression is not None:
            result = self.synthesizer.basic(image, target.expression, **options)
        else:
            result = self.synthesizer.static(image, (target.valence, target.arousal), **options)
        return result if isinstance(result, np.ndarray) else result.image


# --- the build -------------------------------------------------------------------------------

def build(plan: pd.DataFrame, augmenter: Augmenter, out_dir: str | os.PathLike, *, jobs: int = 1,
          seed: int = 0, measure_identity: bool = True, progress: bool = True,
          skip_errors: bool = False, retry_skipped: bool = False) -> pd.DataFrame:
    """Synthesize every job of a plan into ``out_dir`` and record it in ``manifest.csv``.

    Sec. 6.2: the synthesized images that are added to the training sets. Each image is
    written atomically and its manifest row appended only once the image is complete, so a
    build killed at any point resumes by running again with the same arguments: jobs whose
    outputs the manifest lists (and whose files exist) are skipped, nothing is lost and
    nothing is listed twice. At the end the manifest is rewritten with this plan's rows in
    plan order after any rows of other plans built into the same folder.

    Parameters
    ----------
    plan : DataFrame
        From :func:`plan` (several plans can be concatenated).
    augmenter : Augmenter
        Pickled once into each worker process when ``jobs > 1``.
    out_dir : path
        Output folder; images at ``out_dir / plan.output``.
    jobs : int
        Worker processes; the jobs of one source photo go to one worker, so its
        ``prepare`` (for ours, the 3DMM fit) runs once.
    seed : int
        Base of the per-job seeds handed to ``synthesize``; each job's seed is derived from
        ``seed`` and its output name, so the images do not depend on ``jobs`` or order.
    measure_identity : bool
        Record the dlib identity-descriptor distance between source and output
        (:mod:`affect.face.recognition`); NaN when False or when no face is found.
    progress : bool
        Show a tqdm progress bar.
    skip_errors : bool
        Log and skip a photo whose preparation or synthesis fails instead of stopping;
        skipped jobs are not in the manifest and their number is in
        ``manifest.attrs['failed']``. A photo that cannot be prepared (unreadable, no face
        found) is logged once and listed with the reason in :data:`SKIPPED` (``source,reason``);
        later builds leave the listed photos out (``manifest.attrs['skipped_sources']``
        counts them) unless ``retry_skipped``. A failed synthesis of one target is retried
        by the next build.
    retry_skipped : bool
        Try the photos listed in :data:`SKIPPED` again (the list is started afresh).

    Returns
    -------
    The manifest rows of this plan (:data:`MANIFEST_COLUMNS`), in plan order.
    """
    missing = set(PLAN_COLUMNS) - set(plan.columns)
    if missing:
        raise ValueError(f"plan: missing columns {sorted(missing)}")
    if plan["output"].duplicated().any():
        first = plan.loc[plan["output"].duplicated(), "output"].iloc[0]
        raise ValueError(f"plan: output {first!r} occurs twice")
    if isinstance(jobs, bool) or int(jobs) != jobs or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    if not isinstance(augmenter, Augmenter):
        raise ValueError(f"augmenter: {type(augmenter).__name__} has no prepare() and synthesize()")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST

    done = _finished_rows(manifest_path, out)
    write_manifest(done, manifest_path)  # drops a cut-off last line before appending
    skipped_path = out / SKIPPED
    if retry_skipped:
        skipped_path.unlink(missing_ok=True)
    skipped = read_skipped(skipped_path) if skip_errors else {}
    todo = plan[~plan["output"].isin(set(done["output"])) & ~plan["source"].isin(set(skipped))]
    groups = _groups(todo, seed)

    appender = ManifestAppender(manifest_path)
    bar = _progress_bar(len(plan), len(plan) - len(todo), progress)
    failed = 0
    try:
        runs = _run_serial(groups, augmenter, out, measure_identity, skip_errors) if jobs == 1 \
            else _run_parallel(groups, augmenter, out, measure_identity, skip_errors, int(jobs))
        for rows, n_failed, skipped_source in runs:
            appender.append(rows)
            if skipped_source is not None:
                skipped[skipped_source[0]] = skipped_source[1]
                _append_skipped(skipped_path, *skipped_source)
            failed += n_failed
            bar.update(len(rows) + n_failed)
    finally:
        appender.close()
        bar.close()

    finished = _finished_rows(manifest_path, out)
    in_plan = finished["output"].isin(set(plan["output"]))
    position = {name: i for i, name in enumerate(plan["output"])}
    ours = finished[in_plan]
    ours = ours.iloc[np.argsort(ours["output"].map(position).to_numpy(), kind="stable")]
    ours = ours.reset_index(drop=True)
    write_manifest(pd.concat([finished[~in_plan], ours], ignore_index=True), manifest_path)
    if failed:
        log.warning("%s: %d of %d jobs failed and were skipped", out, failed, len(plan))
    n_skipped = int(plan["source"].drop_duplicates().isin(set(skipped)).sum())
    if n_skipped:
        log.warning("%s: %d source photos left out (unreadable or no face), listed in %s", out, n_skipped,
                    skipped_path)
    ours.attrs["failed"] = failed
    ours.attrs["skipped_sources"] = n_skipped
    return ours


def read_skipped(path: str | os.PathLike) -> dict[str, str]:
    """The photos a build left out (:data:`SKIPPED`), source to reason; {} if there is no list."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    return {row[0]: row[1] for row in rows[1:] if len(row) == 2}


def _append_skipped(path: Path, source: str, reason: str) -> None:
    new = not path.exists()
    with open(path, "a", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        if new:
            writer.writerow(("source", "reason"))
        writer.writerow((source, reason))


def _source_problem(source: str) -> str | None:
    """Why a source photo cannot be read in full (a truncated file), or None.

    OpenCV decodes what it can of a truncated JPEG without an error, so such a photo would
    be reported as having no face; Pillow names the damage.
    """
    from affect.image import ImageReadError, read_image

    if VIDEO_FRAME_SEPARATOR in source and source.rpartition(VIDEO_FRAME_SEPARATOR)[2].isdigit():
        return None
    try:
        read_image(source)
    except ImageReadError as error:
        return str(error)
    return None


def _finished_rows(manifest_path: Path, out: Path) -> pd.DataFrame:
    """Manifest rows whose image exists, one per output (the last listing wins)."""
    if not manifest_path.exists():
        return typed_columns(pd.DataFrame(columns=list(MANIFEST_COLUMNS)))
    rows = read_manifest(manifest_path)
    rows = rows.drop_duplicates("output", keep="last")
    # A boolean array, not a list: an empty list would select no columns instead of no rows.
    exists = np.array([(out / name).is_file() for name in rows["output"]], dtype=bool)
    return rows[exists].reset_index(drop=True)


def _groups(todo: pd.DataFrame, seed: int) -> list[list[dict]]:
    """The pending jobs grouped by source photo (first-seen order), each with its seed."""
    groups: dict[str, list[dict]] = {}
    for job in todo.to_dict("records"):
        job["seed"] = derived_seed(seed, "job", job["output"])
        groups.setdefault(job["source"], []).append(job)
    return list(groups.values())


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="synthesizing", disable=not enabled)


def _run_serial(groups, augmenter, out, measure_identity, skip_errors) -> Iterator[_Outcome]:
    """Run the groups in this process, reporting every finished image at once."""
    for group in groups:
        yield from _run_group(augmenter, group, out, measure_identity, skip_errors)


def _run_parallel(groups, augmenter, out, measure_identity, skip_errors, jobs) -> Iterator[_Outcome]:
    """Run the groups in ``jobs`` processes, reporting each group when it is done.

    At most ``2 * jobs`` groups are in flight, so a plan of millions of jobs does not
    hold millions of futures. On an error the queued groups are cancelled and the rows
    of the groups that finished are still reported before the error propagates.
    """
    pending = iter(groups)
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(augmenter,)) as pool:
        running: set[Future] = set()
        try:
            while True:
                while len(running) < 2 * jobs:
                    group = next(pending, None)
                    if group is None:
                        break
                    running.add(pool.submit(_worker_group, group, out, measure_identity, skip_errors))
                if not running:
                    return
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        except BaseException:
            for future in running:
                future.cancel()
            raise


_WORKER_AUGMENTER: Augmenter | None = None


def _init_worker(augmenter: Augmenter) -> None:
    global _WORKER_AUGMENTER
    _WORKER_AUGMENTER = augmenter


def _worker_group(group, out, measure_identity, skip_errors) -> _Outcome:
    rows, failed, skipped = [], 0, None
    for part, n_failed, skipped_source in _run_group(_WORKER_AUGMENTER, group, out, measure_identity, skip_errors):
        rows += part
        failed += n_failed
        skipped = skipped_source or skipped
    return rows, failed, skipped


def _run_group(augmenter: Augmenter, group: list[dict], out: Path, measure_identity: bool,
               skip_errors: bool) -> Iterator[_Outcome]:
    """Synthesize the jobs of one photo.

    Yields ``([row], 0, None)`` per image, ``([], 1, None)`` per failed target and
    ``([], n, (source, reason))`` once when the photo itself cannot be prepared.
    """
    first = group[0]
    source_descriptor: np.ndarray | None = None
    try:
        image = read_frame(first["source"])
        landmarks = _landmarks(first.get("landmarks"))
        state = augmenter.prepare(image, landmarks)
        if measure_identity:
            source_descriptor = _descriptor(image, landmarks)
    except Exception as error:  # noqa: BLE001 - any failure of a third-party augmenter
        if not skip_errors:
            raise
        reason = _source_problem(first["source"]) or str(error)
        log.warning("%s: skipped (%s)", first["source"], reason)
        yield [], len(group), (first["source"], reason)
        return
    for job in group:
        target = Target(job["valence"], job["arousal"], int(job["va_class"]), job["expression"])
        try:
            synthesized = augmenter.synthesize(state, target, job["seed"])
            write_image(out / job["output"], synthesized)
        except Exception as error:  # noqa: BLE001
            if not skip_errors:
                raise
            log.warning("%s -> %s: skipped (%s)", job["source"], job["output"], error)
            yield [], 1, None
            continue
        distance = math.nan
        if source_descriptor is not None:
            output_descriptor = _descriptor(synthesized, None)
            if output_descriptor is not None:
                distance = float(np.linalg.norm(source_descriptor - output_descriptor))
        yield [{column: job[column] for column in MANIFEST_COLUMNS[:-1]} | {"identity_distance": distance}], 0, None


def _landmarks(value: Any) -> np.ndarray | None:
    """(68, 2) landmarks of a frame row, None where the row has none."""
    if isinstance(value, np.ndarray) and value.shape == (N_LANDMARKS, 2):
        return value
    return None


def _descriptor(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray | None:
    """dlib identity descriptor, None where no face is found."""
    from affect.face.landmarks import FaceNotFoundError
    from affect.face.recognition import face_descriptor

    try:
        return face_descriptor(image, landmarks)
    except FaceNotFoundError:
        return None


def augment_database(name: str, root: str | os.PathLike, out_dir: str | os.PathLike, synthesizer: Any, *,
                     kinds: Sequence[str] = ("va", "expression"), split: str | None = None,
                     n_va: int | None = None, max_neutral: int | None = None, jobs: int = 1,
                     seed: int = 0, measure_identity: bool = True, progress: bool = True,
                     overwrite: bool = False, check_settings: bool = True,
                     retry_skipped: bool = False) -> dict[str, pd.DataFrame]:
    """Synthesize the paper's affects on every neutral face of a database (Sec. 6.2, Table 1).

    Loads database ``name`` from ``root``, selects its neutral faces
    (:func:`affect.datasets.neutral_frames`), plans VA targets over the synthesizer's VA classes
    and the six basic expressions, and builds each kind into ``out_dir/<kind>`` (resumable).

    Parameters
    ----------
    synthesizer : AffectSynthesizer
        Holds the affect model whose VA classes the VA targets are drawn from.
    kinds : subset of ``('va', 'expression')``
    split : str, optional
        Default: ``'train'`` where the database has one, else ``'all'``.
    n_va : int, optional
        VA targets per neutral face (default :data:`VA_TARGETS_PER_IMAGE`).
    max_neutral : int, optional
        Use only the first ``max_neutral`` neutral faces of a seeded shuffle (small runs).
    overwrite : bool
        Replace the images of an earlier build made with other settings instead of refusing.
    check_settings : bool
        Store the settings in each kind's folder (:data:`SETTINGS_FILE`) and refuse a folder
        built with other ones (see :func:`claim_folder`).
    retry_skipped : bool
        Try again the photos an earlier build left out (see :func:`build`).

    Photos that cannot be prepared are left out and listed in each kind's :data:`SKIPPED`;
    hidden temporaries that a killed build left behind are removed first.

    The output folder is locked while the build runs (:func:`output_lock`): a second build
    into it fails at once.

    Returns
    -------
    dict mapping each kind to its manifest.
    """
    from affect import datasets

    unknown = set(kinds) - {"va", "expression"}
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; expected 'va' and/or 'expression'")
    split = split or ("train" if "train" in datasets.SPLITS[name] else "all")
    out = Path(out_dir)
    with output_lock(out):
        settings = {kind: run_settings(name, root, split, kind, n_va, max_neutral, seed) for kind in kinds}
        replaced = [kind for kind in kinds
                    if check_settings and claim_folder(out / kind, settings[kind], overwrite=overwrite)]
        neutral = datasets.neutral_frames(datasets.load(name, root, split))
        if neutral.empty:
            raise ValueError(f"{root}: no neutral faces in {name}/{split}")
        for kind in replaced:
            clear_build(out / kind)
        for kind in kinds:
            remove_temporaries(out / kind)
        if max_neutral is not None and len(neutral) > max_neutral:
            neutral = neutral.sample(n=max_neutral, random_state=seed).sort_index()
        augmenter = synthesizer if isinstance(synthesizer, Augmenter) else SynthesizerAugmenter(synthesizer)
        manifests = {}
        for kind in kinds:
            classes = synthesizer.affect_model.va_classes if kind == "va" else None
            jobs_plan = plan(neutral, kind, classes, n_va if kind == "va" else None, seed)
            if check_settings:
                atomic_write_text(out / kind / SETTINGS_FILE, json.dumps(settings[kind], indent=1) + "\n")
            manifests[kind] = build(jobs_plan, augmenter, out / kind, jobs=jobs, seed=seed,
                                    measure_identity=measure_identity, progress=progress, skip_errors=True,
                                    retry_skipped=retry_skipped)
    return manifests


@contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of an output folder while building into it; ValueError if it is held.

    Two builds into one folder would each append to the manifest while the other rewrites
    it, so the second is refused at once: ``"OUT is being written by another augment (pid
    N)"``. The lock is an ``flock`` on :data:`LOCK_FILE`, released by the system when the
    holder exits, however it exits (a killed build leaves no stale lock). The file itself
    stays, holding the last holder's pid.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ValueError(f"{folder} is being written by another augment (pid {holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()


def run_settings(name: str, root: str | os.PathLike, split: str, kind: str, n_va: int | None,
                 max_neutral: int | None, seed: int) -> dict:
    """What decides which images a build of one kind makes (stored in :data:`SETTINGS_FILE`)."""
    from affect.augmentation.targets import VA_TARGETS_PER_IMAGE

    settings = {"database": name, "root": str(Path(root).expanduser().resolve()), "split": split,
                "kind": kind, "seed": int(seed), "max_neutral": max_neutral}
    if kind == "va":
        settings["n_va"] = int(n_va) if n_va is not None else VA_TARGETS_PER_IMAGE
    return settings


def claim_folder(folder: Path, settings: Mapping, *, overwrite: bool) -> bool:
    """Whether a kind's folder holds a build made with other settings; ValueError unless ``overwrite``.

    A folder's stored settings (:data:`SETTINGS_FILE`) must equal ``settings``, else the
    new images would be merged with the old ones in one manifest. With ``overwrite`` the
    answer is True and the caller empties the folder (:func:`clear_build`). A folder without
    stored settings (built before they were stored) is accepted as it is.
    """
    stored_file = folder / SETTINGS_FILE
    if not stored_file.is_file():
        return False
    try:
        stored = json.loads(stored_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        stored = {"unreadable": str(stored_file)}
    if stored == dict(settings):
        return False
    if not overwrite:
        changed = ", ".join(f"{key} {stored.get(key)!r} -> {settings.get(key)!r}"
                            for key in sorted(set(stored) | set(settings)) if stored.get(key) != settings.get(key))
        raise ValueError(f"{folder}: holds images made with other settings ({changed}); "
                         "choose another --out or add --overwrite to replace them")
    return True


# atomic_path's temporaries: "." + the destination's stem + "." + mkstemp's 8 characters + suffix
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.(png|jpg|jpeg|csv)")


def remove_temporaries(folder: Path) -> int:
    """Remove the half-written temporaries of a killed build (call with the folder locked)."""
    if not folder.is_dir():
        return 0
    stale = [path for path in folder.rglob(".*") if path.is_file() and _TEMPORARY.fullmatch(path.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info("%s: removed %d half-written files of an interrupted build", folder, len(stale))
    return len(stale)


def clear_build(folder: Path) -> None:
    """Remove a build: the images its manifest lists, the manifest and the stored settings."""
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        inside = folder.resolve()
        for name in read_manifest(manifest_path)["output"]:
            image = (folder / name).resolve()
            if image.is_relative_to(inside):  # a hand-edited manifest cannot reach outside
                image.unlink(missing_ok=True)
        manifest_path.unlink()
    (folder / SETTINGS_FILE).unlink(missing_ok=True)
    log.warning("%s: removed the images of a build with other settings", folder)


def augment_stand_ins(synthesizer: Any, out_root: str | os.PathLike, *, data_source: str, profile: str,
                     names: Sequence[str] | None = None, seed: int = 0, measure_identity: bool = True,
                     progress: bool = True) -> dict[str, pd.DataFrame]:
    """Augment every database of a run, both kinds, sized by the profile (Table 1).

    Stand-ins (``data_source='proxy'``) are written first if absent
    (:func:`affect.datasets.standin.ensure_proxy`); real databases are read from
    :func:`affect.data_paths.database_root`. Returns each database's manifest, VA and
    basic-expression rows together, ready for :func:`synthesized_counts`.
    """
    from affect import data_paths, datasets, profiles
    from affect.datasets.standin import ensure_proxy

    sizes = profiles.get(profile)
    manifests = {}
    for name in names or datasets.NAMES:
        root = data_paths.database_root(name, data_source, profile)
        if data_source == "proxy":
            ensure_proxy(name, root.parent, profile, seed)
        # A run's results folder holds the builds of every profile and seed run into it, each
        # returning only its own rows, so stored settings are not enforced here.
        built = augment_database(name, root, Path(out_root) / name, synthesizer, n_va=sizes.augment_va_targets,
                                 max_neutral=sizes.augment_neutral_per_database, seed=seed,
                                 measure_identity=measure_identity, progress=progress, check_settings=False)
        manifests[name] = pd.concat(built.values(), ignore_index=True)
    return manifests
