"""Data folders depend on the data source and, for stand-ins, on the profile."""

import pytest

from affect import data_paths


def test_stand_ins_of_each_profile_live_apart(monkeypatch, tmp_path):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    smoke, default = (data_paths.database_root("rafdb", "proxy", p) for p in ("smoke", "default"))
    assert smoke != default and smoke.parent.name == "proxy-smoke"
    assert data_paths.database_root("rafdb", "real", "smoke") == tmp_path / "rafdb"
    assert data_paths.gallery_root("real", "paper") == tmp_path / "4dfab"
    assert data_paths.affect_model_path("proxy", "smoke").parent == data_paths.gallery_root("proxy", "smoke")


def test_unknown_data_source_is_rejected():
    with pytest.raises(ValueError, match="data_source"):
        data_paths.gallery_root("imagined", "smoke")


def test_default_data_folder_is_the_repositorys(monkeypatch):
    monkeypatch.delenv("AFFECT_DATA", raising=False)
    assert (data_paths.data_dir() / "README.md").exists()
