"""The augmented sets follow the paper's share of synthesized images within the profile's cap."""

import pytest

from affect.augmentation.augmented_sets import PAPER_RATIO, AugmentedSet, plan_counts


def test_va_sets_use_57_targets_per_face_and_more_when_neutral_faces_are_few():
    assert plan_counts(1000, 500, "va", 0.39, None, 550) == (7, 56)  # 390 images: 7 faces
    assert plan_counts(100, 2, "va", 5.0, None, 550) == (2, 250)  # 500 images from 2 faces
    assert plan_counts(100, 2, "va", 5.0, 60, 550) == (2, 30)  # the profile's cap
    assert plan_counts(100, 1, "va", 50.0, None, 20) == (1, 20)  # no more than the classes


def test_expression_sets_take_the_six_expressions_of_enough_neutral_faces():
    assert plan_counts(600, 1000, "expression", 1.05, None, 550) == (105, 0)
    assert plan_counts(600, 3, "expression", 1.05, None, 550) == (3, 0)


def test_no_neutral_face_is_an_error():
    with pytest.raises(ValueError, match="no neutral face"):
        plan_counts(10, 0, "va", 1.0, None, 20)


def test_every_table_database_has_the_papers_share_and_the_note_states_both():
    assert len(PAPER_RATIO) == 8
    built = AugmentedSet(folder=None, database="rafdb", kind="expression", real=200, synthesized=210, target_ratio=1.05)
    assert built.ratio == pytest.approx(1.05) and "ratio 1.05; the paper's: 1.05" in built.note()


def test_a_cached_set_is_stale_when_its_plan_changes_or_its_stand_in_is_rewritten(tmp_path):
    import json
    import os

    from affect.augmentation.augmented_sets import _stale
    from affect.augmentation.manifest import SETTINGS_FILE
    from affect.datasets.proxy import RECORD

    folder, root = tmp_path / "set", tmp_path / "rafdb"
    folder.mkdir(), root.mkdir()
    assert not _stale(folder, root, 3, 0)  # nothing built yet
    (folder / SETTINGS_FILE).write_text(json.dumps({"max_neutral": 3}))
    (root / RECORD).write_text("{}")
    os.utime(root / RECORD, (1, 1))
    assert not _stale(folder, root, 3, 0)
    assert _stale(folder, root, 4, 0)
    os.utime(root / RECORD)  # the stand-in was written after the set
    os.utime(folder / SETTINGS_FILE, (1, 1))
    assert _stale(folder, root, 3, 0)
