import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from affect import data_paths, profiles
from affect.experiments import gallery_figures
from affect.face.morphable_model import load_default
from affect.gallery import proxy
from affect.gallery.affect_model import build_affect_model
from affect.gallery.proxy import GallerySizes, write_proxy_gallery
from affect.gallery.sparse_blendshapes import fit_sparse_components


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, model):
    root = tmp_path_factory.mktemp("gallery")
    return proxy.prepare_gallery(root, GallerySizes(3, 6, 20, 4), seed=1, model=model)


@pytest.fixture(scope="module")
def affect_model(gallery):
    return build_affect_model(gallery, 5, progress=False)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _panels(fig):
    """Axes that show something (an image or a plot), not colour bars or blank cells."""
    return [ax for ax in fig.axes if ax.axison or ax.images]


def test_gallery_root_rejects_a_missing_real_folder_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    with pytest.raises(ValueError, match=str(tmp_path / "4dfab")):
        proxy.gallery_root("real", "default")


def test_gallery_root_gives_each_profile_its_own_stand_in_and_rejects_other_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    assert proxy.gallery_root("proxy", "smoke") == tmp_path / "proxy-smoke" / "gallery"
    (tmp_path / "4dfab").mkdir()
    assert proxy.gallery_root("real", "smoke") == tmp_path / "4dfab"
    assert data_paths.affect_model_path("proxy", "default").parent == tmp_path / "proxy-default" / "gallery"
    with pytest.raises(ValueError, match="data_source"):
        proxy.gallery_root("synthetic", "smoke")


def test_prepare_gallery_writes_a_missing_stand_in_and_rewrites_one_with_other_settings(tmp_path, model):
    root = tmp_path / "g"
    write_proxy_gallery(root, GallerySizes(2, 2, 4, 0), seed=0, model=model, progress=False)
    (root / "notes.txt").write_text("kept")
    first = proxy.prepare_gallery(root, profiles.get("smoke"), seed=3, model=model)
    assert len(first.subjects) == 6  # the smoke profile's subjects, not the 2 written before
    assert first.manifest.seed == 3
    assert (root / "notes.txt").read_text() == "kept"


def test_prepare_gallery_never_deletes_a_gallery_it_did_not_write(tmp_path, model):
    root = tmp_path / "g"
    write_proxy_gallery(root, GallerySizes(2, 2, 4, 0), seed=0, model=model, progress=False)
    (root / "proxy.json").unlink()
    with pytest.raises(ValueError, match="did not start"):
        proxy.prepare_gallery(root, profiles.get("smoke"), seed=0, model=model)
    assert (root / "sequences").is_dir()


def test_prepare_gallery_reports_a_missing_real_folder(tmp_path):
    with pytest.raises(ValueError, match="no gallery folder"):
        proxy.prepare_gallery(tmp_path / "absent", data_source="real")


def test_va_histogram_draws_one_va_panel_on_the_unit_square(gallery):
    fig = gallery_figures.va_histogram(gallery)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "valence"]
    assert len(panels) == 1
    ax = panels[0]
    assert ax.get_ylabel() == "arousal"
    assert ax.get_xlim() == (-1, 1) and ax.get_ylim() == (-1, 1)
    assert isinstance(ax.collections[0].norm, matplotlib.colors.LogNorm)
    # Every frame falls in some bin: the histogram counts all of them.
    assert ax.collections[0].get_array().sum() == len(gallery.frames)


def test_annotator_table_puts_this_run_beside_the_paper(gallery):
    table = gallery_figures.annotator_table(gallery)
    assert list(table.columns) == ["this run", "paper"]
    assert table.loc[("valence", 2), "paper"] == pytest.approx(0.70)
    assert table.loc[("arousal", 3), "paper"] == pytest.approx(0.59)
    assert len(table) == 6
    assert table["this run"].between(-1, 1).all()


def test_va_class_map_has_a_map_and_a_counts_histogram(affect_model):
    fig = gallery_figures.va_class_map(affect_model, cells=40)
    assert len(_panels(fig)) == 2
    labels = np.asarray(fig.axes[0].images[0].get_array())
    assert labels.shape == (40, 40)
    # Every class owns some of the plane, and only classes of the model appear.
    assert set(np.unique(labels)) == set(range(affect_model.n_classes))


def test_render_mesh_returns_a_square_rgb_image_with_the_face_on_white(model):
    image = gallery_figures.render_mesh(model.mean, model, size=64)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 255).all()
    assert (image[32, 32] < 255).any()  # the face covers the centre


def test_render_mesh_shows_a_deformed_mesh_differently(model, affect_model):
    template = np.asarray(model.mean, dtype=np.float64)
    delta = affect_model.delta_for_expression("surprise")
    plain = gallery_figures.render_mesh(template, model, size=96).astype(int)
    deformed = gallery_figures.render_mesh(template + delta, model, size=96).astype(int)
    assert np.abs(plain - deformed).max() > 50


def test_render_mesh_turns_the_face_with_yaw(model):
    front = gallery_figures.render_mesh(model.mean, model, size=64)
    turned = gallery_figures.render_mesh(model.mean, model, size=64, yaw=40)
    assert not np.array_equal(front, turned)


def test_render_mesh_rejects_a_mesh_of_another_topology(model):
    with pytest.raises(ValueError, match="shape"):
        gallery_figures.render_mesh(np.zeros((10, 3)), model)


def test_mean_faces_figure_has_the_template_and_two_rows_per_va_point(affect_model, model):
    points = [(0.5, 0.5), (-0.5, -0.5)]
    fig = gallery_figures.mean_faces_figure(affect_model, model, points, size=48)
    assert len([ax for ax in fig.axes if ax.images]) == 1 + 2 * len(points)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("V +0.50, A +0.50" in t and "class" in t for t in titles)


def test_expression_means_figure_has_one_panel_per_basic_expression(affect_model, model):
    fig = gallery_figures.expression_means_figure(affect_model, model, size=48)
    assert [ax.get_title() for ax in fig.axes] == list(affect_model.expression_names)
    assert len(affect_model.expression_names) == 6


@pytest.fixture(scope="module")
def sparse(gallery, model):
    return fit_sparse_components(
        gallery.apex("happiness")[:6], 3, vertices=np.asarray(model.mean), triangles=model.triangles, center=True
    )


def test_sparse_components_figure_has_two_panels_per_component_shown(sparse, model):
    fig = gallery_figures.sparse_components_figure(sparse, model, "happiness", n_components=2, size=48)
    assert len([ax for ax in fig.axes if ax.images]) == 4
    assert fig.axes[0].get_title().startswith("component 1")


def test_sparse_components_figure_rejects_a_model_of_another_topology(sparse):
    from types import SimpleNamespace

    with pytest.raises(ValueError, match="vertices"):
        gallery_figures.sparse_components_figure(sparse, SimpleNamespace(n_vertices=3), "happiness")


def test_gallery_summary_counts_the_gallery_beside_4dfab(gallery, affect_model):
    table = gallery_figures.gallery_summary(gallery, affect_model)
    assert list(table.columns) == ["this run", "paper"]
    assert table.loc["subjects", "this run"] == 3
    assert table.loc["sequences", "this run"] == 6
    assert table.loc["annotated frames", "this run"] == len(gallery.frames)
    assert table.loc["apex meshes", "this run"] == 6 * 4
    assert table.loc["VA classes", "this run"] == 5
    assert table.loc["VA classes", "paper"] == 550
    assert np.isnan(table.loc["share of classes with valence > 0", "paper"])


def test_prepare_gallery_keeps_the_stand_in_when_the_profile_is_unknown(tmp_path, model):
    root = tmp_path / "g"
    write_proxy_gallery(root, GallerySizes(2, 2, 4, 0), seed=0, model=model, progress=False)
    with pytest.raises(ValueError, match="profile"):
        proxy.prepare_gallery(root, "huge", seed=0, model=model)
    assert (root / "proxy.json").is_file() and (root / "sequences").is_dir()
