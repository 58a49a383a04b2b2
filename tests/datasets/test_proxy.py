"""Tests of affect.datasets.proxy: stand-in databases that the real loaders read back."""

from __future__ import annotations

import json

import pytest

from affect.datasets import NAMES, load
from affect.datasets.proxy import RECORD, TABLE_1_SIZES, ensure_proxy, write_proxy


@pytest.mark.parametrize("name", NAMES)
def test_each_stand_in_is_read_back_by_its_loader(name, tmp_path):
    write_proxy(name, tmp_path / name, scale=1e-6, seed=0)
    frame = load(name, tmp_path / name, "all")
    assert len(frame) >= 5
    if name in ("affwild", "afew_va", "recola"):
        assert frame["valence"].between(-1, 1).all() and frame["valence"].std() > 0
    else:
        assert frame["expression"].nunique() >= 6


@pytest.mark.slow
def test_affectnet_stand_in_keeps_the_positive_valence_skew(tmp_path):
    write_proxy("affectnet", tmp_path, scale=2e-4, seed=1)
    frame = load("affectnet", tmp_path, "all")
    assert len(frame) == round(TABLE_1_SIZES["affectnet"] * 2e-4)
    assert (frame["valence"] > 0).mean() > 0.5
    counts = frame["expression"].value_counts()
    assert counts["happiness"] > counts["fear"] + counts["disgust"]


def test_write_proxy_rejects_unknown_database_and_bad_scale(tmp_path):
    with pytest.raises(ValueError, match="name"):
        write_proxy("jaffe", tmp_path)
    with pytest.raises(ValueError, match="scale"):
        write_proxy("rafdb", tmp_path, scale=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_ensure_proxy_keeps_a_matching_copy_and_rewrites_one_of_another_size(name, tmp_path):
    first = ensure_proxy(name, tmp_path, scale=1e-6, seed=0)
    marker = first / "kept.txt"
    marker.write_text("kept")
    assert len(load(name, first, "all")) >= 5  # the record does not disturb the loader
    assert ensure_proxy(name, tmp_path, scale=1e-6, seed=0) == first and marker.exists()
    ensure_proxy(name, tmp_path, scale=2e-6, seed=0)
    assert not marker.exists()
    assert json.loads((first / RECORD).read_text())["scale"] == 2e-6
