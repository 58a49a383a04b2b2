"""Mean faces of VA classes and basic expressions, retrieval, storage (Sec. 4.5.1 to 4.5.3)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import affect  # noqa: F401  (menpo shims)
import affect.gallery.affect_model as affect_model_module
from affect import profiles
from affect.gallery.affect_model import (
    AffectModel,
    AffectModelError,
    build_affect_model,
    default_affect_model_path,
)
from affect.vocabulary import BASIC_EXPRESSIONS

N_VERTICES = 6
# Four well-separated VA clusters; each one's frames deform the mesh around its own offset.
CORNERS = np.array([[-0.6, -0.6], [-0.6, 0.6], [0.6, -0.6], [0.6, 0.6]])


class TinyGallery:
    """A gallery in memory with the interface build_affect_model reads (mesh storage)."""

    def __init__(self, n_per_corner=15, expressions=BASIC_EXPRESSIONS, apex_per_expression=4, seed=0):
        rng = np.random.default_rng(seed)
        corner = np.repeat(np.arange(len(CORNERS)), n_per_corner)
        rng.shuffle(corner)
        va = CORNERS[corner] + rng.uniform(-0.05, 0.05, (len(corner), 2))
        self.frames = pd.DataFrame({"valence": va[:, 0], "arousal": va[:, 1]})
        self.corner = corner
        self.data = (corner[:, None, None] + rng.normal(0, 0.1, (len(corner), N_VERTICES, 3))).astype(np.float32)
        rows = [(e, "s1", k) for e in expressions for k in range(apex_per_expression)]
        self.apex_index = pd.DataFrame(rows, columns=["expression", "subject", "k"])
        self.apex_data = {
            e: (10 * (i + 1) + rng.normal(0, 0.1, (apex_per_expression, N_VERTICES, 3))).astype(np.float32)
            for i, e in enumerate(expressions)
        }
        self.manifest = SimpleNamespace(storage="meshes", model="")
        self.model = None
        self.root = Path("tiny")
        self.subjects = pd.DataFrame({"subject": ["s1"]})
        self.n_vertices = N_VERTICES

    @property
    def va(self):
        return self.frames[["valence", "arousal"]].to_numpy()

    def iter_deformations(self, rows=None, chunk_size=512):
        for start in range(0, len(self.data), chunk_size):
            yield self.data[start : start + chunk_size]

    def deformations(self, rows=None):
        return self.data if rows is None else self.data[np.asarray(rows)]

    def apex(self, expression):
        return self.apex_data[expression]

    def neutral(self, subject):
        return np.random.default_rng(1).normal(size=(N_VERTICES, 3))


@pytest.fixture(scope="module")
def tiny():
    gallery = TinyGallery()
    return gallery, build_affect_model(gallery, n_classes=4, progress=False)


@pytest.fixture(scope="module")
def proxy_gallery(tmp_path_factory):
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery

    root = tmp_path_factory.mktemp("gallery")
    write_proxy_gallery(root, profiles.get("smoke"), seed=0, progress=False)
    return load_gallery(root)


def test_class_means_equal_the_direct_mean_of_each_class(tiny):
    gallery, model = tiny
    labels = model.va_classes.labels
    for k in range(model.n_classes):
        direct = gallery.data[labels == k].astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(model.class_means[k], direct, rtol=1e-6, atol=1e-6)


def test_the_four_clusters_become_the_four_classes(tiny):
    gallery, model = tiny
    # One class per corner: the frames of a class all share a corner.
    for k in range(4):
        assert len(np.unique(gallery.corner[model.va_classes.labels == k])) == 1


def test_streaming_in_small_blocks_gives_the_in_memory_result(tiny, monkeypatch):
    gallery, model = tiny
    monkeypatch.setattr(affect_model_module, "_DEFORMATION_BLOCK", 7)  # 60 frames in 9 blocks
    streamed = build_affect_model(gallery, n_classes=4, progress=False)
    np.testing.assert_allclose(streamed.class_means, model.class_means, rtol=1e-6, atol=1e-6)


def test_coefficient_route_equals_streaming_the_meshes(proxy_gallery):
    by_weights = build_affect_model(proxy_gallery, n_classes=10, progress=False)
    streamed = build_affect_model(proxy_gallery, n_classes=10, progress=False, via_coefficients=False)
    assert np.abs(by_weights.class_means).max() > 0.1  # cm: the classes do deform the face
    np.testing.assert_allclose(by_weights.class_means, streamed.class_means, atol=1e-5)
    np.testing.assert_allclose(by_weights.expression_means, streamed.expression_means, atol=1e-5)
    assert by_weights.face_model == proxy_gallery.model.name


def test_va_point_retrieves_the_mean_face_of_its_class(tiny):
    gallery, model = tiny
    for corner, (v, a) in enumerate(CORNERS):
        delta = model.delta_for_va(v, a)
        direct = gallery.data[gallery.corner == corner].astype(np.float64).mean(axis=0)
        assert delta.shape == (N_VERTICES, 3)
        np.testing.assert_allclose(delta, direct, atol=1e-5)


def test_every_gallery_frame_retrieves_its_own_class(tiny):
    gallery, model = tiny
    classes = [model.va_class(v, a) for v, a in gallery.va]
    assert np.array_equal(classes, model.va_classes.labels)


def test_path_gives_one_mean_face_per_point(tiny):
    _, model = tiny
    path = np.array([[0.6, 0.6], [-0.6, -0.6], [0.6, 0.6]])
    deltas = model.delta_for_path(path)
    assert deltas.shape == (3, N_VERTICES, 3)
    np.testing.assert_array_equal(deltas[0], model.delta_for_va(0.6, 0.6))
    np.testing.assert_array_equal(deltas[0], deltas[2])
    assert not np.allclose(deltas[0], deltas[1])


@pytest.mark.parametrize("bad", [(1.2, 0.0), (0.0, -1.01), (float("nan"), 0.0)])
def test_va_outside_the_square_is_refused(tiny, bad):
    _, model = tiny
    with pytest.raises(ValueError, match="outside"):
        model.delta_for_va(*bad)
    with pytest.raises(ValueError, match="point 1"):
        model.delta_for_path([[0.0, 0.0], bad])


def test_expression_means_are_the_mean_apex_deformation(tiny):
    gallery, model = tiny
    assert model.expression_names == BASIC_EXPRESSIONS
    assert model.expression_means.shape == (6, N_VERTICES, 3)
    for name in BASIC_EXPRESSIONS:
        np.testing.assert_allclose(
            model.delta_for_expression(name), gallery.apex(name).astype(np.float64).mean(axis=0), atol=1e-5
        )


def test_unknown_expression_error_lists_the_six(tiny):
    _, model = tiny
    with pytest.raises(ValueError) as error:
        model.delta_for_expression("contempt")
    assert "contempt" in str(error.value)
    assert all(name in str(error.value) for name in BASIC_EXPRESSIONS)


def test_expression_without_apex_meshes_is_refused():
    model = build_affect_model(TinyGallery(expressions=("happiness", "surprise")), n_classes=4, progress=False)
    assert model.expression_names == ("happiness", "surprise")
    with pytest.raises(ValueError, match="no apex meshes of 'anger'"):
        model.delta_for_expression("anger")


def test_save_and_load_round_trip(tiny, tmp_path):
    _, model = tiny
    path = model.save(tmp_path / "affect_model.npz")
    loaded = AffectModel.load(path)
    # float16 storage: 11 significant bits.
    np.testing.assert_allclose(loaded.class_means, model.class_means, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(loaded.expression_means, model.expression_means, rtol=1e-3)
    assert loaded.expression_names == model.expression_names
    assert np.array_equal(loaded.va_classes.labels, model.va_classes.labels)
    assert loaded.va_class(0.6, -0.6) == model.va_class(0.6, -0.6)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_loading_a_missing_model_says_how_to_build_it(tmp_path):
    with pytest.raises(AffectModelError, match="affect gallery build") as error:
        AffectModel.load(tmp_path / "nothing.npz")
    assert isinstance(error.value, FileNotFoundError)
    assert "nothing.npz" in str(error.value)


def test_loading_another_npz_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not an affect model"):
        AffectModel.load(tmp_path / "other.npz")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short", b"text"])
def test_loading_an_empty_or_broken_model_file_is_one_line_naming_it(tmp_path, content):
    (tmp_path / "m.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"m\.npz: not an affect model") as error:
        AffectModel.load(tmp_path / "m.npz")
    assert "\n" not in str(error.value)


def test_loading_a_model_with_a_missing_part_is_one_line_naming_it(tiny, tmp_path):
    _, model = tiny
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if not k.startswith("va_classes.")}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"m\.npz: not a complete affect model"):
        AffectModel.load(path)


def test_default_path_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("AFFECT_MODEL", raising=False)
    assert default_affect_model_path().parts[-3:] == ("proxy-default", "gallery", "affect_model_seed0.npz")
    monkeypatch.setenv("AFFECT_MODEL", str(tmp_path / "m.npz"))
    assert default_affect_model_path() == tmp_path / "m.npz"


def test_sparse_models_sample_seeded_variation_and_survive_saving(tmp_path):
    gallery = TinyGallery(apex_per_expression=8)
    model = build_affect_model(gallery, n_classes=4, sparse_components=2, sparse_classes=[1], progress=False)
    assert sorted(model.sparse) == sorted([f"expression:{e}" for e in BASIC_EXPRESSIONS] + ["class:1"])
    a, b = model.sample_delta("anger", seed=3), model.sample_delta("anger", seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, model.sample_delta("anger", seed=4))
    # Samples vary around the mean of the expression (10 for anger in TinyGallery), not zero.
    assert abs(a.mean() - 10.0) < 1.0
    loaded = AffectModel.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_allclose(loaded.sample_delta(1, seed=0), model.sample_delta(1, seed=0), rtol=1e-5)
    with pytest.raises(ValueError, match="class:0"):
        model.sample_delta(0)


def test_model_without_sparse_components_refuses_to_sample(tiny):
    _, model = tiny
    with pytest.raises(ValueError, match="sparse_components"):
        model.sample_delta("happiness")


def test_mesh_gallery_cannot_use_the_coefficient_route():
    with pytest.raises(ValueError, match="via_coefficients"):
        build_affect_model(TinyGallery(), n_classes=4, via_coefficients=True, progress=False)


def test_more_classes_than_distinct_va_values_is_refused():
    with pytest.raises(ValueError, match="n_classes"):
        build_affect_model(TinyGallery(n_per_corner=2), n_classes=50, progress=False)


def test_command_builds_and_saves_the_model_beside_the_gallery(proxy_gallery, capsys):

    from affect.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["affect-model", "--gallery", str(proxy_gallery.root), "--classes", "5"])
    args.handler(args)
    saved = AffectModel.load(proxy_gallery.root / "affect_model_seed0.npz")
    assert saved.n_classes == 5 and saved.expression_names == BASIC_EXPRESSIONS
    assert "5 VA classes" in capsys.readouterr().out


def test_ensure_affect_model_completes_a_model_built_without_sparse_components(tiny, tmp_path, monkeypatch):
    import affect.gallery.proxy as proxy
    from affect import data_paths, profiles

    _, model = tiny  # no sparse components, as a first-use model is built
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    path = model.save(data_paths.affect_model_path("proxy", "smoke", 0))
    built = []
    monkeypatch.setattr(proxy, "prepare_gallery", lambda *args, **kwargs: "gallery")
    monkeypatch.setattr(
        affect_model_module, "build_affect_model", lambda gallery, **options: built.append(options) or model
    )
    assert profiles.get("smoke").sparse_components > 0
    assert affect_model_module.ensure_affect_model("proxy", profiles.get("smoke")) == path
    assert built and built[0]["sparse_components"] == profiles.get("smoke").sparse_components


def test_a_model_of_a_stand_in_drawn_with_another_affect_mapping_is_rebuilt(tiny, tmp_path, monkeypatch):
    import json

    import affect.gallery.proxy as proxy
    from affect import data_paths
    from affect.gallery.affect_mapping import fingerprint

    _, model = tiny
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    path = model.save(data_paths.affect_model_path("proxy", "smoke", 0))
    record = path.parent / "proxy.json"
    built = []
    monkeypatch.setattr(proxy, "prepare_gallery", lambda *args, **kwargs: "gallery")
    monkeypatch.setattr(
        affect_model_module, "build_affect_model", lambda gallery, **options: built.append(options) or model
    )
    monkeypatch.setattr(affect_model_module, "_has_sparse", lambda path: True)
    record.write_text(json.dumps({"mapping": fingerprint()}))
    affect_model_module.ensure_affect_model("proxy", profiles.get("smoke"))
    assert not built  # current: kept
    record.write_text(json.dumps({"mapping": "older"}))
    affect_model_module.ensure_affect_model("proxy", profiles.get("smoke"))
    assert built  # drawn with another mapping: rebuilt
