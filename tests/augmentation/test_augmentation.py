"""Tests of affect.augmentation: plans, resumable builds, manifests, fold filtering."""

from __future__ import annotations

import math
import os
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
from affect.experiments import table1
from affect.gallery.va_classes import fit_va_classes
from affect.image import read_image, write_image
from affect.vocabulary import BASIC_EXPRESSIONS

N_CLASSES = 20


# --- plan ------------------------------------------------------------------------------------


def test_expression_plan_has_the_six_basic_expressions_per_neutral_image(tmp_path):
    frame = neutral_frame(tmp_path)
    jobs = aug.plan(frame, "expression")
    assert len(jobs) == 6 * len(frame)
    for _, group in jobs.groupby("source"):
        assert sorted(group["expression"]) == sorted(BASIC_EXPRESSIONS)
    assert jobs["valence"].isna().all() and (jobs["va_class"] == -1).all()
    assert "neutral" not in set(jobs["expression"]) and "contempt" not in set(jobs["expression"])


def test_va_plan_draws_n_distinct_classes_per_image_inside_their_class(tmp_path, classes):
    jobs = aug.plan(neutral_frame(tmp_path), "va", classes, n=5, seed=3)
    assert len(jobs) == 5 * 6
    assert (jobs.groupby("source")["va_class"].nunique() == 5).all()
    assert jobs["expression"].isna().all()
    looked_up = classes.lookup(jobs["valence"].to_numpy(), jobs["arousal"].to_numpy())
    np.testing.assert_array_equal(looked_up, jobs["va_class"].to_numpy())


def test_va_plan_defaults_to_57_targets_per_image(tmp_path):
    va = np.random.default_rng(2).uniform(-1, 1, (2000, 2))
    many = fit_va_classes(va, 60, grid_step=0.05)
    jobs = aug.plan(neutral_frame(tmp_path, subjects=("s1",), per_subject=1), "va", many)
    assert len(jobs) == aug.VA_TARGETS_PER_IMAGE == 57


def test_plan_is_deterministic_for_a_seed_and_changes_with_it(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    a = aug.plan(frame, "va", classes, n=4, seed=0)
    b = aug.plan(frame, "va", classes, n=4, seed=0)
    c = aug.plan(frame, "va", classes, n=4, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["va_class"]) != list(c["va_class"])


def test_plan_gives_an_image_the_same_targets_within_a_subset(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    whole = aug.plan(frame, "va", classes, n=4, seed=0)
    part = aug.plan(frame.iloc[[3]], "va", classes, n=4, seed=0)
    expected = whole[whole["source"] == frame["path"][3]].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)


def test_output_names_are_unique_and_name_source_and_target(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    jobs = pd.concat([aug.plan(frame, "va", classes, n=3), aug.plan(frame, "expression")])
    assert not jobs["output"].duplicated().any()
    row = jobs[jobs["expression"] == "fear"].iloc[0]
    assert row["output"].startswith(f"{row['subject']}/00000-") and row["output"].endswith("_fear.png")


def test_same_file_name_in_two_folders_gets_two_output_names(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    frame["subject"] = ""  # a database without identities, files 00000.png in two folders
    jobs = aug.plan(frame, "expression", n=1)
    assert jobs["output"].nunique() == 2


def test_plan_weighted_by_counts_favours_large_classes(tmp_path, classes):
    frame = neutral_frame(tmp_path, subjects=tuple(f"s{i}" for i in range(40)), per_subject=1)
    drawn = aug.plan(frame, "va", classes, n=1, seed=0)["va_class"]
    big, small = np.argmax(classes.counts), np.argmin(classes.counts)
    assert classes.counts[big] > 3 * classes.counts[small]
    assert (drawn == big).sum() > (drawn == small).sum()


def test_plan_rejects_bad_arguments(tmp_path, classes):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    with pytest.raises(ValueError, match="classes"):
        aug.plan(frame, "va")
    with pytest.raises(ValueError, match="n:"):
        aug.plan(frame, "va", classes, n=N_CLASSES + 1)
    with pytest.raises(ValueError, match="kind"):
        aug.plan(frame, "arousal")
    with pytest.raises(ValueError, match="missing columns"):
        aug.plan(frame.drop(columns="subject"), "expression")


# --- build -----------------------------------------------------------------------------------


def test_build_writes_every_image_and_its_manifest_row(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    jobs = aug.plan(frame, "va", classes, n=2)
    augmenter = TintAugmenter()
    manifest = aug.build(jobs, augmenter, tmp_path / "out", measure_identity=False, progress=False)
    assert list(manifest["output"]) == list(jobs["output"])
    assert augmenter.prepared == len(frame)  # one preparation (3DMM fit) per photo
    for row in manifest.itertuples():
        image = read_image(tmp_path / "out" / row.output)
        assert image.shape == (12, 10, 3)
    on_disk = aug.read_manifest(tmp_path / "out")
    pd.testing.assert_frame_equal(on_disk, manifest)
    assert list(on_disk.columns) == list(aug.MANIFEST_COLUMNS)
    assert on_disk["identity_distance"].isna().all()
    np.testing.assert_allclose(on_disk["valence"], jobs["valence"])


def test_build_tints_by_the_target(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    jobs = aug.plan(frame, "expression")
    aug.build(jobs, TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False)
    anger = read_image(tmp_path / "out" / jobs["output"][0]).astype(int)
    surprise = read_image(tmp_path / "out" / jobs["output"][5]).astype(int)
    assert surprise[..., 0].mean() > anger[..., 0].mean() + 50


def test_build_resumed_after_a_kill_equals_an_uninterrupted_build(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    jobs = pd.concat([aug.plan(frame, "va", classes, n=3), aug.plan(frame, "expression")], ignore_index=True)
    whole = aug.build(jobs, TintAugmenter(), tmp_path / "whole", measure_identity=False, progress=False)

    with pytest.raises(KeyboardInterrupt):
        aug.build(jobs, StopAfter(10), tmp_path / "resumed", measure_identity=False, progress=False)
    assert len(shards.all_finished_rows(tmp_path / "resumed")) == 10  # nothing finished is lost
    second = TintAugmenter()
    resumed = aug.build(jobs, second, tmp_path / "resumed", measure_identity=False, progress=False)

    assert second.synthesized == len(jobs) - 10  # finished jobs were skipped
    pd.testing.assert_frame_equal(resumed, whole)
    pd.testing.assert_frame_equal(aug.read_manifest(tmp_path / "resumed"), whole)
    assert images_of(tmp_path / "resumed") == images_of(tmp_path / "whole")


def test_truncated_last_line_of_a_shard_part_is_dropped_and_redone(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    jobs = aug.plan(frame, "expression")
    out = tmp_path / "out"
    whole = aug.build(jobs, TintAugmenter(), out, measure_identity=False, progress=False)
    text = (out / aug.MANIFEST).read_text()
    (part,) = (out / "shards").glob("*/manifest.part-*.csv")
    (part.parent / shards.DONE_FILE).unlink()  # killed while writing its last row: not marked done
    part.write_text(part.read_text()[:-7])  # cut inside the last row

    assert len(aug.read_manifest(part)) == len(jobs) - 1
    redo = TintAugmenter()
    again = aug.build(jobs, redo, out, measure_identity=False, progress=False)
    assert redo.synthesized == 1
    pd.testing.assert_frame_equal(again, whole)
    assert (out / aug.MANIFEST).read_text() == text


def test_malformed_middle_manifest_line_raises_naming_file_and_line(tmp_path):
    header = ",".join(aug.MANIFEST_COLUMNS)
    path = tmp_path / aug.MANIFEST
    path.write_text(f"{header}\na.png,src.png,s,q,0.1,0.2,,3,\nbroken\nb.png,src.png,s,q,,,fear,-1,\n")
    with pytest.raises(ValueError, match=r"manifest.csv:3"):
        aug.read_manifest(path)


def test_manifest_with_a_byte_order_mark_reads_the_same(tmp_path):
    header = ",".join(aug.MANIFEST_COLUMNS)
    path = tmp_path / aug.MANIFEST
    path.write_text(f"\ufeff{header}\nb.png,src.png,s,q,,,fear,-1,\n", encoding="utf-8")
    assert list(aug.read_manifest(path)["expression"]) == ["fear"]
    path.write_bytes(f"{header}\nb\xe9.png,src.png,s,q,,,fear,-1,\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"manifest\.csv: not UTF-8 text$"):
        aug.read_manifest(path)


def test_rows_of_another_plan_in_the_same_folder_are_kept(tmp_path, classes):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    out = tmp_path / "out"
    aug.build(aug.plan(frame, "va", classes, n=2), TintAugmenter(), out, measure_identity=False, progress=False)
    aug.build(aug.plan(frame, "expression"), TintAugmenter(), out, measure_identity=False, progress=False)
    counts = table1.synthesized_counts({"x": aug.read_manifest(out)})
    assert counts.loc["x", ("synthesized images", "VA")] == 2
    assert counts.loc["x", ("synthesized images", "basic expressions")] == 6


def test_identity_distance_is_nan_when_no_face_is_found(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    manifest = aug.build(aug.plan(frame, "expression", n=1), TintAugmenter(), tmp_path / "out", progress=False)
    assert len(manifest) == 1 and math.isnan(manifest["identity_distance"][0])


def test_skip_errors_leaves_failed_photos_out_of_the_manifest(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    Path(frame["path"][1]).write_bytes(b"not an image")
    jobs = aug.plan(frame, "expression")
    manifest = aug.build(
        jobs, TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False, skip_errors=True
    )
    assert set(manifest["source"]) == {frame["path"][0]}
    assert manifest.attrs["failed"] == 6
    with pytest.raises(ValueError, match="not decodable"):
        aug.build(jobs, TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False)


def test_plan_names_the_image_that_occurs_twice(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=2)
    with pytest.raises(ValueError, match=r"neutral_frame: image .*00001\.png occurs in rows 1, 2; expected"):
        aug.plan(pd.concat([frame, frame.iloc[[1]]], ignore_index=True), "expression")


def test_build_rejects_a_plan_with_duplicate_outputs(tmp_path):
    jobs = aug.plan(neutral_frame(tmp_path, subjects=("s1",), per_subject=1), "expression")
    with pytest.raises(ValueError, match="occurs twice"):
        aug.build(pd.concat([jobs, jobs]), TintAugmenter(), tmp_path / "out", progress=False)


def test_two_workers_give_the_same_images_and_manifest_as_one(tmp_path, classes):
    frame = neutral_frame(tmp_path)
    jobs = aug.plan(frame, "va", classes, n=2)
    one = aug.build(jobs, TintAugmenter(), tmp_path / "one", jobs=1, measure_identity=False, progress=False)
    two = aug.build(jobs, TintAugmenter(), tmp_path / "two", jobs=2, measure_identity=False, progress=False)
    pd.testing.assert_frame_equal(one, two)
    assert images_of(tmp_path / "one") == images_of(tmp_path / "two")


def test_per_job_seeds_follow_the_build_seed(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    jobs = aug.plan(frame, "expression", n=1)
    aug.build(jobs, TintAugmenter(), tmp_path / "a", seed=0, measure_identity=False, progress=False)
    aug.build(jobs, TintAugmenter(), tmp_path / "b", seed=1, measure_identity=False, progress=False)
    assert images_of(tmp_path / "a") != images_of(tmp_path / "b")


# --- folds and counts -----------------------------------------------------------------------


def test_fold_filter_keeps_synthesized_images_of_test_subjects_out_of_training(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2", "s3", "s4"), per_subject=2)
    manifest = aug.build(
        aug.plan(frame, "expression", n=2), TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False
    )
    from affect.datasets import person_independent_folds

    folds = person_independent_folds(frame, k=2, seed=0)
    kept = aug.augment_folds(folds, manifest)
    assert len(kept) == 2
    for (train, test), rows in zip(folds, kept):
        assert not set(rows["subject"]) & set(test["subject"])
        assert set(rows["source"]) == set(train["path"])
        assert len(rows) == 2 * len(train)


def test_fold_filter_drops_a_test_subject_even_if_its_photo_is_in_training(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    manifest = aug.build(
        aug.plan(frame, "expression", n=1), TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False
    )
    leaky = [(frame, frame[frame["subject"] == "s2"])]
    (rows,) = aug.augment_folds(leaky, manifest)
    assert list(rows["subject"]) == ["s1"]


def test_synthesized_frame_has_the_database_columns(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    manifest = aug.build(
        aug.plan(frame, "expression", n=1), TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False
    )
    synthesized = aug.synthesized_frame(manifest, tmp_path / "out")
    from affect.datasets import COLUMNS

    assert list(synthesized.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert Path(synthesized["path"][0]).is_file()
    assert synthesized["expression"][0] == manifest["expression"][0]


@pytest.mark.slow
def test_augment_command_synthesizes_both_kinds_on_a_stand_in_database(tmp_path, monkeypatch):
    from affect.cli import main
    from affect.datasets.proxy import write_proxy
    from affect.gallery.affect_model import build_affect_model
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery

    gallery = load_gallery(write_proxy_gallery(tmp_path / "gallery", profiles.get("smoke"), seed=0, progress=False))
    build_affect_model(gallery, n_classes=8, progress=False).save(tmp_path / "model.npz")
    write_proxy("bu3dfe", tmp_path / "bu3dfe", scale=0.0005, seed=0)
    status = main(
        [
            "augment",
            "bu3dfe",
            "--root",
            str(tmp_path / "bu3dfe"),
            "--out",
            str(tmp_path / "out"),
            "--affect-model",
            str(tmp_path / "model.npz"),
            "--n",
            "2",
            "--no-identity",
        ]
    )
    assert status == 0
    va, expression = aug.read_manifest(tmp_path / "out" / "va"), aug.read_manifest(tmp_path / "out" / "expression")
    photos = expression["source"].nunique()
    assert photos >= 1 and len(va) == 2 * photos and len(expression) == 6 * photos  # 2 VA targets, 6 expressions
    assert set(expression["expression"]) == set(BASIC_EXPRESSIONS)


def test_afew_va_copy_augmented_per_fold_keeps_folds_person_independent(tmp_path, classes):
    from affect import datasets
    from affect.datasets import Sample

    rng = np.random.default_rng(4)
    landmarks = rng.uniform(2, 14, (68, 2))
    records = [
        Sample(
            image=rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
            subject=f"actor{c}",
            sequence=f"00{c}",
            valence=va,
            arousal=va,
            landmarks=landmarks,
        )
        for c in range(1, 5)
        for va in (0.0, 0.0, 0.5)
    ]
    root = datasets.write_layout("afew_va", tmp_path / "AFEW-VA", records)
    neutral = datasets.neutral_frames(datasets.load("afew_va", root))
    assert len(neutral) == 8
    augmenter = TintAugmenter()
    manifest = aug.build(
        aug.plan(neutral, "va", classes, n=2), augmenter, tmp_path / "out", measure_identity=False, progress=False
    )
    assert len(manifest) == 16
    assert all(np.allclose(seen, landmarks, atol=0.01) for seen in augmenter.landmarks)
    folds = datasets.folds("afew_va", root, k=2, seed=0)
    for (train, test), rows in zip(folds, aug.augment_folds(folds, manifest)):
        assert len(rows) == 2 * len(set(train["path"]) & set(neutral["path"]))
        assert set(rows["subject"]).isdisjoint(test["subject"])


def test_synthesizer_adapter_calls_static_for_va_and_basic_for_expressions():
    class Result:
        def __init__(self, image):
            self.image = image

    class Synthesizer:
        measure_identity = True
        seen_landmarks = []

        def static(self, image, va, landmarks=None):
            self.seen_landmarks.append(landmarks)
            return Result(np.full_like(image, int(100 * va[0])))

        def basic(self, image, expression, landmarks=None):
            return np.full_like(image, len(expression))

    synthesizer = Synthesizer()
    adapter = aug.SynthesizerAugmenter(synthesizer)
    assert isinstance(adapter, aug.Augmenter)
    assert synthesizer.measure_identity is True and adapter.synthesizer.measure_identity is False  # build measures it
    state = adapter.prepare(np.zeros((4, 4, 3), np.uint8), None)
    assert adapter.synthesize(state, aug.Target(0.5, 0.1, 3), seed=0)[0, 0, 0] == 50
    assert adapter.synthesize(state, aug.Target(expression="fear"), seed=0)[0, 0, 0] == 4
    marks = np.ones((68, 2))
    adapter.synthesize(adapter.prepare(np.zeros((4, 4, 3), np.uint8), marks), aug.Target(0.2, 0.1, 3), seed=0)
    assert synthesizer.seen_landmarks[-1] is marks
    with pytest.raises(ValueError, match="has no static"):
        aug.SynthesizerAugmenter(object())


# --- one build per output folder, with its settings ------------------------------------------


def test_a_second_augment_into_a_locked_folder_fails_at_once_naming_the_holder(tmp_path, classes):
    import os

    from affect.augmentation.output_folder import output_lock

    out = tmp_path / "out"
    with output_lock(out):
        with pytest.raises(ValueError, match=rf"{out} is being written by another augment \(pid {os.getpid()}\)"):
            aug.augment_database(
                "afew_va",
                _afew_va_copy(tmp_path),
                out,
                TintSynthesizerStandIn(classes),
                kinds=("expression",),
                measure_identity=False,
                progress=False,
            )
    assert not (out / "expression").exists()  # nothing was written
    built = aug.augment_database(
        "afew_va",
        _afew_va_copy(tmp_path),
        out,
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        progress=False,
    )
    assert len(built["expression"]) == 12  # the lock is released when its holder is done


def test_rerunning_with_other_settings_is_refused_unless_overwrite(tmp_path, classes):
    root, out = _afew_va_copy(tmp_path), tmp_path / "out"

    def run(**options):
        return aug.augment_database(
            "afew_va", root, out, TintSynthesizerStandIn(classes), measure_identity=False, progress=False, **options
        )

    first = run(kinds=("va",), n_va=2, seed=0)
    assert len(first["va"]) == 4
    assert len(run(kinds=("va",), n_va=2, seed=0)["va"]) == 4  # same settings: resumes, nothing new
    for options, change in (({"seed": 1, "n_va": 2}, "seed 0 -> 1"), ({"seed": 0, "n_va": 3}, "n_va 2 -> 3")):
        with pytest.raises(ValueError, match=rf"holds images made with other settings \({change}\).*--overwrite"):
            run(kinds=("va",), **options)
    assert len(aug.read_manifest(out / "va")) == 4  # refused before touching anything
    old_images = set(images_of(out / "va"))

    replaced = run(kinds=("va",), n_va=3, seed=1, overwrite=True)
    assert len(replaced["va"]) == 6 and len(aug.read_manifest(out / "va")) == 6
    assert set(images_of(out / "va")) == set(replaced["va"]["output"])
    assert old_images - set(images_of(out / "va"))  # the old run's images are gone
    assert len(run(kinds=("expression",), seed=1)["expression"]) == 12  # another kind: its own folder


# --- photos that cannot be used, interrupted writes, file modes ---------------------------------


def _build_with(augmenter, jobs, out, **options):
    return aug.build(jobs, augmenter, out, measure_identity=False, progress=False, skip_errors=True, **options)


class PathAwareNoFace(TintAugmenter):
    """Prepares every photo but the ``bad`` one, which has 'no face'."""

    def __init__(self, bad_pixels):
        super().__init__()
        self.bad_pixels = bad_pixels

    def prepare(self, image, landmarks):
        self.prepared += 1
        if np.array_equal(image, self.bad_pixels):
            raise ValueError("no face found")
        return image.astype(np.int16)


def test_a_photo_without_a_face_is_warned_once_listed_and_not_retried(tmp_path, caplog):
    import logging

    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    bad = frame["path"][1]
    jobs = aug.plan(frame, "expression")
    out = tmp_path / "out"
    augmenter = PathAwareNoFace(read_image(bad))
    with caplog.at_level(logging.WARNING, logger="affect.augmentation"):
        manifest = _build_with(augmenter, jobs, out)
    assert len(manifest) == 6 and manifest.attrs["skipped_sources"] == 1
    assert sum(bad in record.getMessage() for record in caplog.records) == 1  # not one per target
    assert aug.read_skipped(out / aug.SKIPPED) == {bad: "no face found"}

    again = PathAwareNoFace(read_image(bad))
    manifest = _build_with(again, jobs, out)
    assert again.prepared == 0 and manifest.attrs["skipped_sources"] == 1  # not retried
    retried = PathAwareNoFace(read_image(bad))
    _build_with(retried, jobs, out, retry_skipped=True)
    assert retried.prepared == 1 and list(aug.read_skipped(out / aug.SKIPPED)) == [bad]


def test_a_truncated_photo_is_reported_as_damaged_not_as_faceless(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    photo = tmp_path / "cut.jpg"
    write_image(photo, np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    photo.write_bytes(photo.read_bytes()[:600])
    frame.loc[0, "path"] = str(photo)

    class Faceless(TintAugmenter):
        def prepare(self, image, landmarks):
            raise ValueError("no face found")

    _build_with(Faceless(), aug.plan(frame, "expression"), tmp_path / "out")
    reason = aug.read_skipped(tmp_path / "out" / aug.SKIPPED)[str(photo)]
    assert "cut.jpg" in reason and ("cannot decode" in reason or "not decodable" in reason)


def test_a_truncated_jpeg_is_skipped_as_damaged_even_where_a_face_would_be_found(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    photo = tmp_path / "cut.jpg"
    write_image(photo, np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    photo.write_bytes(photo.read_bytes()[:600])
    frame.loc[0, "path"] = str(photo)
    augmenter = TintAugmenter()  # prepares any picture, as a detector may find a face in what is left
    manifest = _build_with(augmenter, aug.plan(frame, "expression"), tmp_path / "out")
    assert set(manifest["source"]) == {frame["path"][1]} and manifest.attrs["skipped_sources"] == 1
    reason = aug.read_skipped(tmp_path / "out" / aug.SKIPPED)[str(photo)]
    assert reason.startswith(f"{photo}: cannot decode image") and "truncated" in reason


def test_a_one_pixel_image_is_skipped_with_a_reason_once_not_on_every_run(tmp_path):
    frame = neutral_frame(tmp_path, subjects=("s1", "s2"), per_subject=1)
    dot = frame["path"][1]
    write_image(dot, np.zeros((1, 1, 3), np.uint8))
    jobs = aug.plan(frame, "expression")
    first = TintAugmenter()
    manifest = _build_with(first, jobs, tmp_path / "out")
    assert len(manifest) == 6 and manifest.attrs["skipped_sources"] == 1
    assert aug.read_skipped(tmp_path / "out" / aug.SKIPPED) == {
        dot: f"{dot}: 1 x 1 pixels, under 8 on a side: too small to hold a face"
    }
    again = TintAugmenter()
    manifest = _build_with(again, jobs, tmp_path / "out")
    assert manifest.attrs["skipped_sources"] == 1 and manifest.attrs["failed"] == 0
    assert again.prepared == 0  # neither photo is prepared again
    with pytest.raises(ValueError, match="too small to hold a face"):
        aug.build(jobs, TintAugmenter(), tmp_path / "strict", measure_identity=False, progress=False)


def test_a_full_disk_stops_the_build_naming_the_folder_even_when_skipping_errors(tmp_path, monkeypatch):
    import errno

    import affect.files

    def full_for_images(file, *args, **kwargs):  # images are written through a descriptor
        if not isinstance(file, int):
            return open(file, *args, **kwargs)
        os.close(file)
        raise OSError(errno.ENOSPC, "No space left on device")

    jobs = aug.plan(neutral_frame(tmp_path, subjects=("s1",), per_subject=1), "expression")
    monkeypatch.setattr(affect.files, "open", full_for_images, raising=False)
    with pytest.raises(OSError, match="disk full") as caught:
        _build_with(TintAugmenter(), jobs, tmp_path / "out")
    assert caught.value.filename == str(tmp_path / "out" / "s1")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.suffix in (".png", ".jpg")]  # nothing half-written


def test_the_adapter_fits_each_photo_once_in_prepare():
    calls = []

    class Synthesizer:
        def reconstruction(self, image, landmarks=None):
            calls.append("fit")
            raise ValueError("image: no face found")

        def static(self, image, va, landmarks=None):
            raise AssertionError("not reached")

        basic = static

    adapter = aug.SynthesizerAugmenter(Synthesizer())
    with pytest.raises(ValueError, match="no face found"):
        adapter.prepare(np.zeros((4, 4, 3), np.uint8), None)
    assert calls == ["fit"]


def test_augment_removes_half_written_files_of_a_killed_build(tmp_path, classes):
    out = tmp_path / "out"
    stale = out / "expression" / "actor1" / ".00000_fear.k2j4_x9a.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    kept = out / "expression" / ".notes"
    kept.write_text("mine")
    aug.augment_database(
        "afew_va",
        _afew_va_copy(tmp_path),
        out,
        TintSynthesizerStandIn(classes),
        kinds=("expression",),
        measure_identity=False,
        progress=False,
    )
    assert not stale.exists() and kept.exists()


def test_synthesized_images_honour_the_umask(tmp_path):
    import os
    import stat

    frame = neutral_frame(tmp_path, subjects=("s1",), per_subject=1)
    previous = os.umask(0o022)
    try:
        aug.build(
            aug.plan(frame, "expression"), TintAugmenter(), tmp_path / "out", measure_identity=False, progress=False
        )
    finally:
        os.umask(previous)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert modes == {0o644}


def _all_files(out):
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(shards.PART_PREFIX)
    }


def test_a_disk_filling_mid_augment_leaves_nothing_half_written_and_a_rerun_finishes_the_same_bytes(
    tmp_path, classes, monkeypatch
):
    import errno

    import affect.files

    root = _afew_va_copy(tmp_path)

    def augment(out):
        return aug.augment_database(
            "afew_va",
            root,
            out,
            TintSynthesizerStandIn(classes),
            kinds=("expression",),
            measure_identity=False,
            progress=False,
        )

    written = []

    def full_after_three_images(file, *args, **kwargs):  # images are written through a descriptor
        if isinstance(file, int):
            if len(written) == 3:
                os.close(file)
                raise OSError(errno.ENOSPC, "No space left on device")
            written.append(file)
        return open(file, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(affect.files, "open", full_after_three_images, raising=False)
        with pytest.raises(OSError, match="disk full"):
            augment(tmp_path / "full")
    folder = tmp_path / "full" / "expression"
    images = [p for p in folder.rglob("*") if p.suffix in (".png", ".jpg")]
    assert len(images) == 3 and not [p for p in images if p.name.startswith(".")]  # whole images only
    finished = shards.all_finished_rows(folder)
    assert sorted(finished["output"]) == sorted(p.relative_to(folder).as_posix() for p in images)
    augment(tmp_path / "full")  # space freed: the same command again
    augment(tmp_path / "whole")
    # Every file the same bytes, but the shards' part logs: named per attempt (host, pid, random).
    full, whole = _all_files(tmp_path / "full"), _all_files(tmp_path / "whole")
    assert full == whole and len(full) > 10
    for name in ("full", "whole"):
        assert not [p for p in (tmp_path / name).rglob("*") if p.name.startswith(".") and p.suffix != ".lock"]
    pd.testing.assert_frame_equal(
        shards.all_finished_rows(tmp_path / "full" / "expression").sort_values("output", ignore_index=True),
        shards.all_finished_rows(tmp_path / "whole" / "expression").sort_values("output", ignore_index=True),
    )
