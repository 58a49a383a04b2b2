"""A Run checks its settings once, titles its reports, and finds its artifacts where the kit keeps them."""

import dataclasses

import pytest

from affect import data_paths, profiles
from affect.learning.pretrained import Weights, parse_weights
from affect.run import profile_named, start


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    return start("smoke", "proxy", "real", seed=3, device="cuda", out_dir=tmp_path / "out")


def test_start_holds_the_profile_and_creates_the_report_folder(run, tmp_path):
    assert run.profile == profiles.get("smoke")
    assert (run.data_source, run.gallery_source, run.seed, run.device) == ("proxy", "real", 3, "cuda")
    assert run.weights == Weights() and run.out_dir == (tmp_path / "out").resolve() and run.out_dir.is_dir()
    assert run.reuse_results is False


def test_start_parses_the_weights_once_into_one_source_per_network(tmp_path):
    face = tmp_path / "vgg_face.pth"
    face.write_bytes(b"")
    run = start("paper", weights=f"vggface={face} resnet_gru=imagenet", out_dir=tmp_path / "out")
    assert run.weights == parse_weights({"vggface": str(face), "resnet_gru": "imagenet"})
    assert run.weights.source("vggface") == str(face.resolve()) and run.weights.source("alexnet") is None


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_pretrained_weights_are_taken_at_every_profile(tmp_path, profile):
    run = start(profile, weights="vggface=imagenet", out_dir=tmp_path)
    assert run.profile == profiles.get(profile) and run.profile.training.width < 1
    assert run.weights.source("vggface") == "imagenet" and run.weights.source("alexnet") is None


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (dict(profile="huge"), "profile"),
        (dict(data_source="imagined"), "data_source"),
        (dict(gallery_source="imagined"), "gallery_source"),
        (dict(seed=1.5), "seed"),
        (dict(seed=True), "seed"),
        (dict(device=""), "device"),
        (dict(weights=3), "weights"),
        (dict(profile="paper", weights="vggface=missing.pth"), "weights"),
        (dict(profile="paper", weights="vggface=imagenet bad"), "weights"),
    ],
)
def test_each_bad_setting_is_one_error_naming_it(tmp_path, settings, named):
    with pytest.raises(ValueError, match=f"^{named}"):
        start(**{"out_dir": tmp_path, **settings})


def test_a_run_is_frozen(run):
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.seed = 4


def test_titles_name_the_data_source_and_the_profile(run, tmp_path):
    assert run.label == "PROXY data (stand-in databases made by the kit, not the paper's databases); profile 'smoke'"
    assert run.title("Table 2") == f"Table 2 [{run.label}]"
    assert start("smoke", "real", out_dir=tmp_path).title("Table 2") == "Table 2 [real data; profile 'smoke']"
    assert run.path("tables", "table_02.md") == run.out_dir / "tables" / "table_02.md"


def test_the_runs_folders_are_those_of_the_data_paths(run):
    assert run.database_root("rafdb") == data_paths.database_root("rafdb", "proxy", "smoke")
    assert run.gan_root("stargan") == data_paths.gan_root("stargan", "real", "smoke", 3)


def test_a_profile_name_becomes_its_sizes_here():
    assert profile_named("paper") is profiles.PROFILES["paper"]
    with pytest.raises(ValueError, match="profile: expected one of"):
        profile_named("huge")


def test_the_augmenter_names_the_valid_methods(run):
    with pytest.raises(ValueError, match="proposed, stargan, ganimation"):
        run.augmenter("cyclegan")


def test_an_augmented_set_exists_only_for_the_tables_databases(run):
    with pytest.raises(ValueError, match="rafdb/va: no augmented set"):
        run.augmented_set("rafdb", "va")


def test_the_affect_model_is_that_of_the_gallery_source(run, monkeypatch):
    from affect.gallery import affect_model

    asked = []
    monkeypatch.setattr(affect_model, "ensure_affect_model", lambda *args, **kw: asked.append((args, kw)) or "m")
    assert run.affect_model() == "m"
    assert asked == [(("real", run.profile, 3), {"rebuild": False, "progress": False})]


def test_a_database_stand_in_is_written_with_the_runs_profile_and_seed(run, monkeypatch):
    from affect.datasets import proxy

    asked = []
    monkeypatch.setattr(proxy, "ensure_proxy", lambda *args: asked.append(args))
    assert run.database("rafdb") == run.database_root("rafdb")
    assert asked == [("rafdb", run.database_root("rafdb").parent, run.profile, 3)]
    real = dataclasses.replace(run, data_source="real")
    assert real.database("rafdb") == data_paths.data_dir() / "rafdb" and len(asked) == 1
