"""Tests of affect.learning.age_estimator: its splits (Sec. 6.5) and the crops it is given."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from affect import profiles
from affect.learning import age_estimator


def test_faces_with_landmarks_are_cropped_around_their_landmark_box():
    marks = np.array([[10.0, 20.0], [30.0, 60.0]] * 34)
    frame = pd.DataFrame({"path": ["a.png", "b.png"], "landmarks": [marks, None], "box": [None, (1, 2, 3, 4)]})
    boxed = age_estimator.box_frame(frame)
    assert boxed["box"].tolist() == [(10.0, 20.0, 30.0, 60.0), (1, 2, 3, 4)]
    assert boxed["landmarks"].isna().all() and frame["landmarks"].iloc[0] is marks  # the input is not changed


def test_widening_keeps_the_centre_and_scales_the_sides():
    assert age_estimator._widened((10, 20, 30, 60), 1.5) == (5.0, 10.0, 35.0, 70.0)
    assert age_estimator._widened(None) is None
    assert age_estimator._widened(age_estimator._widened((0, 0, 8, 8)), 1 / age_estimator.CONTEXT) == pytest.approx(
        (0, 0, 8, 8)
    )


def test_splits_train_on_imdb_and_adience_hold_out_people_and_test_on_wiki(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    monkeypatch.setitem(
        profiles.AGE_ESTIMATOR, "smoke", replace(profiles.AGE_ESTIMATOR["smoke"], proxy_faces=40, image_size=32)
    )
    splits = age_estimator.age_splits("proxy", profiles.get("smoke"), seed=0)
    assert (tmp_path / "proxy-smoke" / "imdb_wiki" / "wiki_crop" / "wiki.mat").is_file()
    assert sum(len(f) for f in splits.values()) == 40
    people = {name: set(frame["subject"]) for name, frame in splits.items()}
    assert not people["train"] & people["val"] and not people["train"] & people["test"]
    assert {s.split(":")[0] for s in people["train"] | people["val"]} <= {"imdb", "adience"}
    assert {s.split(":")[0] for s in people["test"]} == {"wiki"}
    assert splits["train"][["age_low", "age_high"]].notna().all().all()
