"""Fixtures of the explorer tests: a small affect model of the stand-in gallery and its synthesizer."""

import pytest

import affect  # noqa: F401  (menpo shims)
from affect.gallery.affect_model import build_affect_model
from affect.synthesis import AffectSynthesizer


@pytest.fixture(scope="package")
def model_file(tmp_path_factory):
    """A 12-class affect model of the smoke stand-in gallery, saved (seconds to build)."""
    from affect import profiles
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery

    root = tmp_path_factory.mktemp("gallery")
    write_proxy_gallery(root, profiles.get("smoke"), seed=0, progress=False)
    model = build_affect_model(load_gallery(root), n_classes=12, progress=False)
    return model.save(tmp_path_factory.mktemp("model") / "affect_model.npz")


@pytest.fixture(scope="package")
def synthesizer(model_file):
    return AffectSynthesizer.from_file(model_file)
