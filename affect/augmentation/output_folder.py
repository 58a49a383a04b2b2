"""An augmented set's output folder: its lock, stored settings and the leftovers of a killed build.

:func:`output_lock` keeps two builds out of one folder; :func:`run_settings` are what a kind's
folder records in its settings file (:data:`~affect.augmentation.manifest.SETTINGS_FILE`) and
:func:`claim_folder` compares before building into it; :func:`remove_temporaries` and
:func:`clear_build` remove half-written files and a build made with other settings.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from affect.augmentation import shards
from affect.augmentation.manifest import MANIFEST, SETTINGS_FILE, read_manifest
from affect.augmentation.shards import SKIPPED
from affect.files import folder_lock

log = logging.getLogger("affect.augmentation")

LOCK_FILE = ".augment.lock"  # in the output folder; holds the pid of the augment writing it


@contextmanager
def output_lock(folder: str | os.PathLike, *, shared: bool = False) -> Iterator[Path]:
    """Hold the lock of an output folder while building into it; ValueError if it is held.

    Two builds into one folder would each merge the manifest while the other writes shards,
    so the second is refused at once: ``"OUT is being written by another augment (pid N)"``.
    ``shared`` holders (shard sets of a job array, which write only their own shards) may
    hold it together, but not with an exclusive holder. The lock is an ``flock`` on
    :data:`LOCK_FILE`, released by the system when the holder exits, however it exits (a
    killed build leaves no stale lock). The file itself stays, holding the last holder's pid
    (:func:`affect.files.folder_lock`).
    """
    with folder_lock(folder, LOCK_FILE, "augment", shared=shared) as locked:
        yield locked


def run_settings(
    name: str,
    root: str | os.PathLike,
    split: str,
    kind: str,
    n_va: int | None,
    max_neutral: int | None,
    seed: int,
    image_format: str = "jpg",
    method: str = "proposed",
) -> dict:
    """What decides which images a build of one kind makes (stored in :data:`SETTINGS_FILE`).

    The file also records how they were measured and split (:data:`RECORDED_SETTINGS`), which
    does not change the images and is not compared. ``method`` is stored only for the GAN
    baselines (folders of the paper's method built before it was a setting stay valid).
    """
    from affect.augmentation.targets import VA_TARGETS_PER_IMAGE

    settings = {
        "database": name,
        "root": str(Path(root).expanduser().resolve()),
        "split": split,
        "kind": kind,
        "seed": int(seed),
        "max_neutral": max_neutral,
        "format": image_format,
    }
    if method != "proposed":
        settings["method"] = method
    if kind == "va":
        settings["n_va"] = int(n_va) if n_va is not None else VA_TARGETS_PER_IMAGE
    return settings


def stored_format(folder: Path) -> str | None:
    """The image format a kind's folder was built in; None for a new folder.

    Folders built before the format was stored hold PNG images.
    """
    stored_file = folder / SETTINGS_FILE
    if stored_file.is_file():
        try:
            return json.loads(stored_file.read_text(encoding="utf-8")).get("format", "png")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
    return "png" if (folder / MANIFEST).is_file() else None


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
    stored = {"format": "png"} | stored  # stored before the format was a setting: PNG
    stored = {key: value for key, value in stored.items() if key not in RECORDED_SETTINGS}
    settings = {key: value for key, value in settings.items() if key not in RECORDED_SETTINGS}
    if stored == settings:
        return False
    if not overwrite:
        changed = ", ".join(
            f"{key} {stored.get(key)!r} -> {settings.get(key)!r}"
            for key in sorted(set(stored) | set(settings))
            if stored.get(key) != settings.get(key)
        )
        raise ValueError(
            f"{folder}: holds images made with other settings ({changed}); "
            "choose another --out or add --overwrite to replace them"
        )
    return True


#: Settings stored for the record only: a build resumed with other values is not refused.
RECORDED_SETTINGS = ("measure_identity", "identity_every", "identity_sample", "shards", "source_root")


# atomic_path's temporaries: "." + the destination's stem + "." + mkstemp's 8 characters + suffix
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.(png|jpg|jpeg|csv)")


def remove_temporaries(folder: Path, outputs: set[str] | None = None) -> int:
    """Remove the half-written temporaries of a killed build (call with the folder locked).

    With ``outputs`` (output names relative to ``folder``) only the temporaries of those
    images: other shard sets may be writing the rest.
    """
    if not folder.is_dir():
        return 0
    stale = [path for path in folder.rglob(".*") if path.is_file() and _TEMPORARY.fullmatch(path.name)]
    if outputs is not None:
        stale = [path for path in stale if _temporary_of(folder, path) in outputs]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info("%s: removed %d half-written files of an interrupted build", folder, len(stale))
    return len(stale)


def _temporary_of(folder: Path, temporary: Path) -> str:
    """The output name (relative to ``folder``) a temporary was being written for."""
    stem = temporary.name[1:].rsplit(".", 2)[0]
    return (temporary.parent / (stem + temporary.suffix)).relative_to(folder).as_posix()


def clear_build(folder: Path) -> None:
    """Remove a build: the images its manifest and shards list, them, and the stored settings."""
    import shutil

    inside = folder.resolve()
    names: set[str] = set()
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        names |= set(read_manifest(manifest_path)["output"])
    for part in (folder / shards.SHARDS_FOLDER).glob(f"*/{shards.PART_PREFIX}*.csv"):
        names |= set(read_manifest(part)["output"])
    for name in names:
        image = (folder / name).resolve()
        if image.is_relative_to(inside):  # a hand-edited manifest cannot reach outside
            image.unlink(missing_ok=True)
    manifest_path.unlink(missing_ok=True)
    (folder / SKIPPED).unlink(missing_ok=True)
    shutil.rmtree(folder / shards.SHARDS_FOLDER, ignore_errors=True)
    (folder / SETTINGS_FILE).unlink(missing_ok=True)
    log.warning("%s: removed the images of a build with other settings", folder)
