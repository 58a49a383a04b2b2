"""Tests of sharded builds: shard sets, merge, resumes, portable manifests, formats, identity sampling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from augmentation_fakes import (  # tests/augmentation, on sys.path by its conftest
    StopAfter,
    TintAugmenter,
    TintSynthesizerStandIn,
    _afew_va_copy,
    images_of,
    neutral_frame,
)

from affect import augmentation as aug
from affect import profiles
from affect.augmentation import shards
from affect.augmentation.manifest import SETTINGS_FILE
from affect.augmentation.output_folder import output_lock


def _plan(tmp_path, classes, subjects=("s1", "s2", "s3", "s4"), per_subject=3):
    frame = neutral_frame(tmp_path, subjects=subjects, per_subject=per_subject)
    return pd.concat([aug.plan(frame, "va", classes, n=3), aug.plan(frame, "expression")], ignore_index=True)


def _build(plan, out, augmenter=None, **options):
    return aug.build(plan, augmenter or TintAugmenter(), out, measure_identity=False, progress=False, **options)


def test_all_targets_of_a_photo_fall_in_one_shard_and_shards_spread_the_photos(tmp_path, classes):
    jobs = _plan(tmp_path, classes)
    index = shards.shard_of(jobs["source"], 8)
    assert (pd.Series(index).groupby(jobs["source"].to_numpy()).nunique() == 1).all()
    assert len(set(index)) > 1
    moved = [s.replace(str(tmp_path), "/elsewhere/root") for s in jobs["source"]]
    np.testing.assert_array_equal(shards.shard_of(moved, 8), index)  # the database root may move


def test_shard_sets_that_cover_the_plan_merge_into_the_single_build(tmp_path, classes):
    jobs = _plan(tmp_path, classes)
    single = _build(jobs, tmp_path / "single", n_shards=8)
    parts = []
    for k in range(3):
        parts.append(_build(jobs, tmp_path / "sharded", n_shards=8, shard_set=(k, 3)))
        assert not (tmp_path / "sharded" / aug.MANIFEST).exists()  # shard sets do not merge
    assert sum(len(part) for part in parts) == len(jobs)
    with pytest.raises(ValueError, match="shards are not finished"):
        _build(jobs, tmp_path / "partial", n_shards=8, merge_only=True)
    merged = _build(jobs, tmp_path / "sharded", TintAugmenter(), n_shards=8, merge_only=True)
    pd.testing.assert_frame_equal(merged, single)
    pd.testing.assert_frame_equal(aug.read_manifest(tmp_path / "sharded"), aug.read_manifest(tmp_path / "single"))
    assert images_of(tmp_path / "sharded") == images_of(tmp_path / "single")


def test_a_rerun_shard_adds_no_row_and_writes_identical_images(tmp_path, classes):
    jobs = _plan(tmp_path, classes)
    out = tmp_path / "out"
    first = _build(jobs, out, n_shards=4)
    before = images_of(out)
    again = TintAugmenter()
    _build(jobs, out, again, n_shards=4)
    assert again.synthesized == 0  # finished shards are skipped
    for done in (out / "shards").glob(f"*/{shards.DONE_FILE}"):
        done.unlink()  # as if a requeued array element ran them once more
    for part in (out / "shards").glob("*/manifest.part-*.csv"):
        rows = aug.read_manifest(part)
        aug.write_manifest(rows.iloc[:-1], part)  # and each had lost its last row
    redo = TintAugmenter()
    merged = _build(jobs, out, redo, n_shards=4)
    assert 0 < redo.synthesized < len(jobs)
    pd.testing.assert_frame_equal(merged, first)
    assert not aug.read_manifest(out)["output"].duplicated().any()
    assert images_of(out) == before


def test_a_shard_killed_mid_run_is_redone_without_duplicate_or_half_written_images(tmp_path, classes):
    root, out = _afew_va_copy(tmp_path), tmp_path / "out"
    whole = aug.augment_database(
        "afew_va",
        root,
        tmp_path / "whole",
        TintSynthesizerStandIn(classes),
        kinds=("va",),
        n_va=4,
        measure_identity=False,
        progress=False,
    )["va"]
    killed = StopAfter(3)
    killed.affect_model = TintSynthesizerStandIn(classes).affect_model
    with pytest.raises(KeyboardInterrupt):
        aug.augment_database(
            "afew_va", root, out, killed, kinds=("va",), n_va=4, measure_identity=False, progress=False
        )
    name = whole["output"][5]
    stale = out / "va" / Path(name).parent / f".{Path(name).stem}.ab12cd34{Path(name).suffix}"
    stale.write_bytes(b"half")  # what a SIGKILL inside the image write leaves
    resumed = aug.augment_database(
        "afew_va",
        root,
        out,
        TintSynthesizerStandIn(classes),
        kinds=("va",),
        n_va=4,
        measure_identity=False,
        progress=False,
    )["va"]
    pd.testing.assert_frame_equal(resumed, whole)
    assert not stale.exists()
    assert images_of(out / "va") == images_of(tmp_path / "whole" / "va")
    hidden = [p for p in (out / "va").rglob(".*") if p.suffix in (".png", ".jpg")]
    assert hidden == []


def test_moving_the_output_folder_keeps_the_manifest_valid_and_the_build_finished(tmp_path, classes):
    jobs = _plan(tmp_path, classes, subjects=("s1", "s2"), per_subject=1)
    _build(jobs, tmp_path / "out")
    moved = tmp_path / "elsewhere" / "set"
    moved.parent.mkdir()
    shutil.move(tmp_path / "out", moved)
    manifest = aug.read_manifest(moved)
    assert not any(Path(name).is_absolute() for name in manifest["output"])
    assert all(Path(path).is_file() for path in aug.synthesized_frame(manifest, moved)["path"])
    again = TintAugmenter()
    pd.testing.assert_frame_equal(_build(jobs, moved, again), manifest)
    assert again.synthesized == 0


def test_a_folder_built_before_shards_resumes_from_its_manifest(tmp_path, classes):
    jobs = _plan(tmp_path, classes, subjects=("s1", "s2"), per_subject=1)
    out = tmp_path / "out"
    whole = _build(jobs, out)
    shutil.rmtree(out / shards.SHARDS_FOLDER)  # what the builder before shards left: images and manifest.csv
    again = TintAugmenter()
    pd.testing.assert_frame_equal(_build(jobs, out, again), whole)
    assert again.synthesized == 0


def test_another_shard_count_for_a_folder_is_refused(tmp_path, classes):
    jobs = _plan(tmp_path, classes, subjects=("s1",), per_subject=1)
    _build(jobs, tmp_path / "out", n_shards=4)
    with pytest.raises(ValueError, match="split into 4 shards, not 8; pass --shards 4"):
        _build(jobs, tmp_path / "out", n_shards=8)


def test_shard_sets_share_the_output_lock_but_a_whole_build_does_not(tmp_path, classes):
    root, out = _afew_va_copy(tmp_path), tmp_path / "out"

    def run(**options):
        return aug.augment_database(
            "afew_va",
            root,
            out,
            TintSynthesizerStandIn(classes),
            kinds=("expression",),
            measure_identity=False,
            progress=False,
            n_shards=4,
            **options,
        )

    with output_lock(out, shared=True):  # another array element is running
        part = run(shard_set=(0, 2))["expression"]
        with pytest.raises(ValueError, match="being written by another augment"):
            run()
    rest = run(shard_set=(1, 2))["expression"]
    assert len(part) + len(rest) == 12
    merged = run(merge_only=True)["expression"]
    assert len(merged) == 12 and not merged["output"].duplicated().any()
    with pytest.raises(ValueError, match="cannot be combined"):
        run(shard_set=(0, 2), overwrite=True)


def test_augmented_sets_default_to_jpeg_and_store_format_and_identity_sampling(tmp_path, classes):
    root, out = _afew_va_copy(tmp_path), tmp_path / "out"
    built = aug.augment_database(
        "afew_va",
        root,
        out,
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        identity_every=50,
        progress=False,
    )["expression"]
    assert all(name.endswith(".jpg") for name in built["output"])
    assert all((out / "expression" / name).read_bytes()[:2] == b"\xff\xd8" for name in built["output"])
    settings = json.loads((out / "expression" / "augment.json").read_text())
    assert settings["format"] == "jpg" and settings["identity_every"] == 50
    with pytest.raises(ValueError, match="format 'jpg' -> 'png'"):
        aug.augment_database(
            "afew_va",
            root,
            out,
            TintSynthesizerStandIn(classes),
            kinds=("expression",),
            image_format="png",
            measure_identity=False,
            progress=False,
        )
    # identity sampling is for the record only: resuming with another rate is not refused
    again = aug.augment_database(
        "afew_va",
        root,
        out,
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        identity_every=10,
        progress=False,
    )["expression"]
    pd.testing.assert_frame_equal(again, built)


def test_identity_every_k_measures_a_seeded_sample(tmp_path, classes, monkeypatch):
    import importlib

    monkeypatch.setattr(
        importlib.import_module("affect.augmentation.shard_tasks"),
        "identity_descriptor",
        lambda image, landmarks: np.zeros(4),
    )
    jobs = _plan(tmp_path, classes, subjects=tuple(f"s{i}" for i in range(6)), per_subject=2)

    def measured(out, every):
        manifest = aug.build(jobs, TintAugmenter(), out, identity_every=every, progress=False)
        return set(manifest.loc[manifest["identity_distance"].notna(), "output"])

    assert measured(tmp_path / "all", 1) == set(jobs["output"])
    sample = measured(tmp_path / "a", 4)
    assert 0.1 * len(jobs) < len(sample) < 0.45 * len(jobs)
    assert measured(tmp_path / "b", 4) == sample  # the same outputs each time


def test_serial_and_pool_builds_give_the_same_bytes_as_jpeg(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    jobs = aug.plan(frame, "va", classes, n=2, image_format="jpg")
    one = _build(jobs, tmp_path / "one")
    pool = _build(jobs, tmp_path / "pool", engine="pool", jobs=2)
    pd.testing.assert_frame_equal(one, pool)
    assert images_of(tmp_path / "one") == images_of(tmp_path / "pool")


def test_largest_shards_go_first_and_the_last_ones_are_split_for_the_workers():
    from affect.augmentation.build import _balanced, _pieces

    rows_of = {0: [0], 1: [1, 2, 3], 2: [4, 5], 3: [6, 7], 4: [8]}
    pending = [(shard, f"d{shard}") for shard in rows_of]
    assert _balanced(pending, rows_of, 1) == [(1, "d1", 1), (2, "d2", 1), (3, "d3", 1), (0, "d0", 1), (4, "d4", 1)]
    # two workers: the last two shards would be split, but a one-job shard cannot be
    assert _balanced(pending, rows_of, 2)[-3:] == [(3, "d3", 1), (0, "d0", 1), (4, "d4", 1)]
    rows_of[4] = [8, 9]
    assert [(shard, p) for shard, _, p in _balanced(pending, rows_of, 2)] == [(1, 1), (2, 1), (3, 1), (4, 2), (0, 1)]
    jobs = [{"output": str(i)} for i in range(5)]
    assert _pieces(jobs, 2) == [jobs[:2], jobs[2:]] and _pieces(jobs, 1) == [jobs]


def test_a_shard_run_in_pieces_is_marked_done_only_when_every_piece_finished(tmp_path, classes):
    from affect.augmentation.shard_tasks import ShardTask, run_shard, shard_jobs

    jobs = _plan(tmp_path, classes, subjects=("s1",), per_subject=2)
    out = tmp_path / "out"
    shards.write_layout(out, 1)
    digest = shards.digest(jobs["output"])
    rows = shard_jobs(jobs, 0, False, 1)
    half = len(rows) // 2
    folder = shards.shard_folder(out, 0)
    run_shard(ShardTask(0, str(out), rows[:half], digest, False, False, 2), TintAugmenter())
    assert not shards.is_done(folder, digest)  # a piece leaves the marking to the build
    with pytest.raises(KeyboardInterrupt):  # the second piece is killed after one image
        run_shard(ShardTask(0, str(out), rows[half:], digest, False, False, 2), StopAfter(1))
    assert not shards.is_done(folder, digest)
    resumed = _build(jobs, out, n_shards=1, engine="pool", jobs=2)  # finishes the rest, in pieces
    assert shards.is_done(folder, digest)
    assert json.loads((folder / shards.DONE_FILE).read_text())["images"] == len(jobs)
    pd.testing.assert_frame_equal(resumed, _build(jobs, tmp_path / "whole", n_shards=1))
    assert images_of(out) == images_of(tmp_path / "whole")


def test_a_pool_build_marks_every_shard_done_so_a_rerun_has_nothing_to_do(tmp_path, classes):
    jobs = _plan(tmp_path, classes)
    out = tmp_path / "pool"
    _build(jobs, out, engine="pool", jobs=2, n_shards=8)
    used = np.unique(shards.shard_of(jobs["source"], 8))
    for shard in used:
        rows = jobs[shards.shard_of(jobs["source"], 8) == shard]
        assert shards.is_done(shards.shard_folder(out, int(shard)), shards.digest(rows["output"]))
    again = _build(jobs, out, StopAfter(0), engine="pool", jobs=2, n_shards=8)  # would stop on any job
    assert len(again) == len(jobs)


def test_shard_option_is_parsed_and_checked():
    from affect.cli import _shard_set, main

    assert _shard_set("3/16") == (3, 16)
    for bad in ("16/16", "a/2", "3", "-1/2"):
        with pytest.raises(ValueError, match="--shard: expected K/N"):
            _shard_set(bad)
    assert main(["augment", "afew_va", "--root", "x", "--out", "y", "--shard", "0/2", "--merge"]) == 1


# --- Dask ----------------------------------------------------------------------------------------


def test_dask_build_equals_serial_and_pool_builds_byte_for_byte(tmp_path, classes):
    pytest.importorskip("distributed")
    jobs = _plan(tmp_path, classes)
    serial = _build(jobs, tmp_path / "serial", n_shards=8)
    pool = _build(jobs, tmp_path / "pool", engine="pool", jobs=2, n_shards=8)
    dask = _build(jobs, tmp_path / "dask", engine="dask", jobs=2, n_shards=8)
    pd.testing.assert_frame_equal(serial, pool)
    pd.testing.assert_frame_equal(serial, dask)
    assert images_of(tmp_path / "serial") == images_of(tmp_path / "pool") == images_of(tmp_path / "dask")
    for engine in ("pool", "dask"):
        assert (tmp_path / engine / aug.MANIFEST).read_bytes() == (tmp_path / "serial" / aug.MANIFEST).read_bytes()


def test_a_dask_worker_killed_mid_run_loses_nothing_and_writes_every_image_once(tmp_path, classes):
    pytest.importorskip("distributed")
    from augmentation_fakes import KillOnce

    jobs = _plan(tmp_path, classes)
    serial = _build(jobs, tmp_path / "serial", n_shards=4)
    marker = tmp_path / "killed"
    dask = _build(jobs, tmp_path / "dask", KillOnce(marker, k=4), engine="dask", jobs=2, n_shards=4)
    assert marker.exists()  # a worker did die mid-shard (SIGKILL after 4 images)
    pd.testing.assert_frame_equal(dask, serial)
    assert not aug.read_manifest(tmp_path / "dask")["output"].duplicated().any()
    assert images_of(tmp_path / "dask") == images_of(tmp_path / "serial")
    assert not [p for p in (tmp_path / "dask").rglob(".*") if p.suffix in (".png", ".jpg")]


def test_an_adapter_from_file_pickles_as_its_path_and_loads_once_per_process(tmp_path, monkeypatch):
    import importlib
    import pickle

    module = importlib.import_module("affect.augmentation.augmenters")
    loads = []

    class Synthesizer:
        affect_model = "model"
        weights = np.zeros(1_000_000)

        def static(self, image, va, landmarks=None):
            return image

        basic = static

    def load(path, options):
        loads.append((path, options))
        return Synthesizer()

    monkeypatch.setattr(module, "synthesizer_from_file", load)
    adapter = aug.SynthesizerAugmenter.from_file(tmp_path / "model.npz", cache_size=4)
    payload = pickle.dumps(adapter)
    assert len(payload) < 1000  # the path, not the 8 MB of weights
    copy = pickle.loads(payload)
    assert isinstance(copy.synthesizer, Synthesizer) and copy.affect_model == "model"
    assert loads == [(str(tmp_path / "model.npz"), (("cache_size", 4),))] * 2


def test_manifest_sources_are_relative_to_the_database_and_resolve_after_moves(tmp_path, classes):
    root = _afew_va_copy(tmp_path)
    built = aug.augment_database(
        "afew_va",
        root,
        tmp_path / "out",
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        progress=False,
    )["expression"]
    assert all(source.startswith(str(root) + "/") for source in built["source"])  # as the loader names them
    on_disk = (tmp_path / "out" / "expression" / aug.MANIFEST).read_text()
    assert str(tmp_path) not in on_disk  # neither images nor sources name where they lie
    pd.testing.assert_frame_equal(aug.read_manifest(tmp_path / "out" / "expression"), built)

    shutil.move(tmp_path / "out", tmp_path / "shared")
    shutil.move(root, tmp_path / "AFEW-VA-moved")
    moved = aug.read_manifest(tmp_path / "shared" / "expression", source_root=tmp_path / "AFEW-VA-moved")
    assert all(Path(source).is_file() for source in moved["source"])
    frame = aug.synthesized_frame(moved, tmp_path / "shared" / "expression")
    assert all(Path(path).is_file() for path in frame["path"])
    fold = moved.iloc[:3]
    aug.write_manifest(fold, tmp_path / "shared" / "expression" / "manifest-fold0.csv")  # rows already joined
    again = aug.read_manifest(
        tmp_path / "shared" / "expression" / "manifest-fold0.csv", source_root=tmp_path / "AFEW-VA-moved"
    )
    assert list(again["source"]) == list(fold["source"])


def test_a_build_from_a_relative_root_names_no_absolute_path_and_a_copy_resolves_to_its_copy(
    tmp_path, classes, monkeypatch
):
    _afew_va_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    built = aug.augment_database(
        "afew_va",
        Path("AFEW-VA"),
        Path("out"),
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        progress=False,
    )["expression"]
    folder = tmp_path / "out" / "expression"
    aug.write_manifest(built.iloc[:3], folder / "manifest-fold0.csv")  # resolved rows, as a fold's
    for name in (aug.MANIFEST, "manifest-fold0.csv"):
        assert str(tmp_path) not in (folder / name).read_text(), name
    assert json.loads((folder / SETTINGS_FILE).read_text())["source_root"] == "../../AFEW-VA"
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copytree(tmp_path / "AFEW-VA", copy / "AFEW-VA")
    shutil.copytree(tmp_path / "out", copy / "out")
    monkeypatch.chdir(copy / "out")  # read from elsewhere: nothing depends on the working folder
    for name in (aug.MANIFEST, "manifest-fold0.csv"):
        sources = aug.read_manifest(copy / "out" / "expression" / name)["source"]
        assert len(sources) and all(Path(s).is_file() and Path(s).is_relative_to(copy) for s in sources)


@pytest.mark.slow
def test_augment_command_shard_sets_and_dask_equal_one_serial_build(tmp_path):
    from affect.cli import main
    from affect.datasets.proxy import write_proxy
    from affect.gallery.affect_model import build_affect_model
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery

    gallery = load_gallery(write_proxy_gallery(tmp_path / "gallery", profiles.get("smoke"), seed=0, progress=False))
    build_affect_model(gallery, n_classes=8, progress=False).save(tmp_path / "model.npz")
    write_proxy("bu3dfe", tmp_path / "bu3dfe", scale=0.0005, seed=0)
    common = [
        "augment",
        "bu3dfe",
        "--root",
        str(tmp_path / "bu3dfe"),
        "--affect-model",
        str(tmp_path / "model.npz"),
        "--n",
        "2",
        "--identity-every",
        "3",
        "--shards",
        "8",
        "--quiet",
    ]
    assert main(common + ["--out", str(tmp_path / "serial")]) == 0
    for k in range(2):
        assert main(common + ["--out", str(tmp_path / "sharded"), "--shard", f"{k}/2"]) == 0
    assert main(common + ["--out", str(tmp_path / "sharded"), "--merge"]) == 0
    pytest.importorskip("distributed")
    assert main(common + ["--out", str(tmp_path / "dask"), "--engine", "dask", "--jobs", "2"]) == 0
    for kind in ("va", "expression"):
        expected = (tmp_path / "serial" / kind / aug.MANIFEST).read_bytes()
        assert len(aug.read_manifest(tmp_path / "serial" / kind)) > 0
        for other in ("sharded", "dask"):
            assert (tmp_path / other / kind / aug.MANIFEST).read_bytes() == expected
            assert images_of(tmp_path / other / kind) == images_of(tmp_path / "serial" / kind)


def test_identity_sample_of_photos_with_few_images_gathers_on_few_photos(tmp_path, monkeypatch):
    import importlib

    calls = []
    monkeypatch.setattr(
        importlib.import_module("affect.augmentation.shard_tasks"),
        "identity_descriptor",
        lambda image, landmarks: calls.append(1) or np.zeros(4),
    )
    frame = neutral_frame(tmp_path, subjects=tuple(f"s{i}" for i in range(20)), per_subject=2)
    jobs = aug.plan(frame, "expression", n=3)  # 40 photos of 3 images, 1 in 10 measured
    manifest = aug.build(jobs, TintAugmenter(), tmp_path / "out", identity_every=10, progress=False)
    measured = manifest[manifest["identity_distance"].notna()]
    assert 3 <= len(measured) <= 27
    per_photo = measured.groupby("source").size()
    assert (per_photo == 3).all()  # every image of each picked photo (fewer than a group)
    assert len(calls) == len(measured) + len(per_photo)  # one source descriptor per picked photo


@pytest.mark.parametrize("n", [3, 18, 400])
def test_identity_sample_measures_one_image_in_k_on_average(n):
    from affect.augmentation.identity_check import IDENTITY_GROUP, identity_sample

    every, photos = 50, 3000
    sizes = []
    for p in range(photos):
        jobs = [{"output": f"p{p}/{i}.jpg"} for i in range(n)]
        sizes.append(len(identity_sample(jobs, seed=0, every=every)))
    sizes = np.array(sizes)
    assert abs(sizes.sum() / (photos * n) - 1 / every) < 0.25 / every
    if n < IDENTITY_GROUP * every:  # gathered in groups of up to IDENTITY_GROUP images of a photo
        assert set(sizes) == {0, min(n, IDENTITY_GROUP)}


def test_dask_build_on_a_running_scheduler_equals_the_serial_build(tmp_path, classes):
    distributed = pytest.importorskip("distributed")
    jobs = _plan(tmp_path, classes, subjects=("s1", "s2", "s3"), per_subject=2)
    serial = _build(jobs, tmp_path / "serial", n_shards=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = _build(jobs, tmp_path / "remote", engine="dask", scheduler=cluster.scheduler_address, n_shards=4)
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2  # the build left the cluster running
    pd.testing.assert_frame_equal(remote, serial)
    assert images_of(tmp_path / "remote") == images_of(tmp_path / "serial")


def _worker_environment() -> dict:
    import os

    return {key: os.environ.get(key) for key in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def test_local_dask_workers_keep_one_thread_and_glibcs_adaptive_malloc():
    pytest.importorskip("distributed")
    from distributed import Client

    from affect.augmentation.dask_engine import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        assert client.submit(_worker_environment).result() == {
            "MALLOC_TRIM_THRESHOLD_": None,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }


def _has_module(name: str) -> bool:
    import sys

    return name in sys.modules


def _profiling() -> bool:
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


def test_local_dask_workers_are_forked_with_this_process_s_modules_and_no_profiler(monkeypatch):
    pytest.importorskip("distributed")
    import sys
    import types

    from distributed import Client

    from affect.augmentation.dask_engine import local_cluster

    monkeypatch.setitem(sys.modules, "affect_fork_probe", types.ModuleType("affect_fork_probe"))  # no file to import
    with local_cluster(1) as cluster, Client(cluster) as client:
        assert client.submit(_has_module, "affect_fork_probe").result()
        assert client.submit(_profiling).result() is False
