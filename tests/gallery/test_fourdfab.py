import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect.face.morphable_model import load_default
from affect.gallery.fourdfab import (
    GalleryFormatError,
    GalleryManifest,
    export_meshes,
    load_gallery,
    mean_annotator_correlations,
    save_manifest,
    va_columns,
)
from affect.gallery.proxy import GallerySizes, write_proxy_gallery


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, model):
    root = tmp_path_factory.mktemp("proxy")
    write_proxy_gallery(root, GallerySizes(3, 4, 4, 1), seed=5, model=model, progress=False)
    return load_gallery(root, model)


def _write_obj(path, vertices, triangles):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles]
    path.write_text("\n".join(lines) + "\n")


def _va_table(n, annotators=3, seed=0):
    rng = np.random.default_rng(seed)
    table = {"frame": np.arange(n) * 2}
    for i in range(1, annotators + 1):
        table[f"valence_a{i}"] = rng.uniform(-1, 1, n)
        table[f"arousal_a{i}"] = rng.uniform(-1, 1, n)
    table["valence"] = np.mean([table[f"valence_a{i}"] for i in range(1, annotators + 1)], 0)
    table["arousal"] = np.mean([table[f"arousal_a{i}"] for i in range(1, annotators + 1)], 0)
    return pd.DataFrame(table)[va_columns(annotators)]


@pytest.fixture(scope="module")
def mesh_gallery_template(tmp_path_factory, model):
    """A two-subject gallery of .obj meshes in the model's topology, as a real one would be."""
    root = tmp_path_factory.mktemp("template") / "real"
    save_manifest(GalleryManifest("meshes", 60.0, 3, model.n_vertices, mesh_format="obj"), root)
    pd.DataFrame({"subject": ["A", "B"], "sex": ["F", "M"], "age": [30, 41]}).to_csv(root / "subjects.csv", index=False)
    identity = {"A": model.sample_identity(seed=1), "B": model.sample_identity(seed=2)}
    smile = model.expression_vector({"mouthSmile_L": 0.8, "mouthSmile_R": 0.8})
    frown = model.expression_vector({"browDown_L": 0.5, "browDown_R": 0.5})
    expected = []
    for subject in ("A", "B"):
        _write_obj(root / "neutral" / f"{subject}.obj", model.shape(identity[subject]), model.triangles)
        table = _va_table(2, seed=ord(subject))
        folder = root / "sequences" / subject / "s1"
        for frame, q in zip(table["frame"], (smile, frown)):
            _write_obj(folder / "meshes" / f"{frame:06d}.obj", model.shape(identity[subject], q), model.triangles)
            expected.append(model.shape(identity[subject], q) - model.shape(identity[subject]))
        folder.mkdir(parents=True, exist_ok=True)
        table.to_csv(folder / "va.csv", index=False)
    _write_obj(root / "apex" / "happiness" / "B_0000.obj", model.shape(identity["B"], smile), model.triangles)
    return root, np.array(expected), model.shape(identity["B"], smile) - model.shape(identity["B"])


@pytest.fixture()
def mesh_gallery(mesh_gallery_template, tmp_path):
    """A fresh copy of the .obj gallery that a test may break."""
    template, expected, apex = mesh_gallery_template
    return Path(shutil.copytree(template, tmp_path / "real")), expected, apex


def test_real_obj_layout_loads_frames_subjects_and_deformations(mesh_gallery):
    root, expected, apex = mesh_gallery
    gallery = load_gallery(root)
    assert list(gallery.frames.columns[:5]) == ["subject", "sequence", "frame", "valence", "arousal"]
    assert len(gallery.frames) == 4 and gallery.frames["frame"].tolist() == [0, 2, 0, 2]
    assert gallery.subjects["sex"].tolist() == ["F", "M"]
    np.testing.assert_allclose(gallery.deformations(), expected, atol=2e-5)
    np.testing.assert_allclose(gallery.apex("happiness")[0], apex, atol=2e-5)
    assert gallery.apex("anger").shape == (0, gallery.n_vertices, 3)


def test_deformations_accept_a_frames_subset_and_follow_its_order(mesh_gallery):
    root, expected, _ = mesh_gallery
    gallery = load_gallery(root)
    subset = gallery.frames[gallery.frames["subject"] == "B"].iloc[::-1]
    np.testing.assert_allclose(gallery.deformations(subset), expected[[3, 2]], atol=2e-5)
    blocks = list(gallery.iter_deformations([0, 1, 2], chunk_size=2))
    assert [len(b) for b in blocks] == [2, 1]


def test_missing_mesh_file_is_named_in_the_error(mesh_gallery):
    root, _, _ = mesh_gallery
    (root / "sequences" / "A" / "s1" / "meshes" / "000002.obj").unlink()
    gallery = load_gallery(root)
    with pytest.raises(GalleryFormatError, match="000002.obj"):
        gallery.deformations()


def test_va_out_of_range_is_rejected_naming_the_file(mesh_gallery):
    root, _, _ = mesh_gallery
    path = root / "sequences" / "B" / "s1" / "va.csv"
    table = pd.read_csv(path)
    table.loc[0, "arousal_a2"] = 3.0
    table.to_csv(path, index=False)
    with pytest.raises(GalleryFormatError, match=r"B[/\\]s1[/\\]va.csv.*\[-1, 1\]"):
        load_gallery(root)


def test_missing_annotator_column_is_rejected_naming_file_and_column(mesh_gallery):
    root, _, _ = mesh_gallery
    path = root / "sequences" / "A" / "s1" / "va.csv"
    pd.read_csv(path).drop(columns="valence_a3").to_csv(path, index=False)
    with pytest.raises(GalleryFormatError, match=r"va.csv: missing column\(s\) valence_a3"):
        load_gallery(root)


def test_sequence_of_unknown_subject_is_rejected(mesh_gallery):
    root, _, _ = mesh_gallery
    (root / "sequences" / "Z" / "s1").mkdir(parents=True)
    with pytest.raises(GalleryFormatError, match="'Z' is not in subjects.csv"):
        load_gallery(root)


def test_missing_manifest_and_bad_manifest_are_named(tmp_path):
    with pytest.raises(GalleryFormatError, match="gallery.json"):
        load_gallery(tmp_path)
    (tmp_path / "gallery.json").write_text(
        json.dumps({"format": "affect-4d-gallery", "storage": "voxels", "fps": 60, "annotators": 3, "n_vertices": 10})
    )
    with pytest.raises(GalleryFormatError, match="gallery.json: storage"):
        load_gallery(tmp_path)


def test_incomplete_gallery_is_refused(tmp_path, model):
    save_manifest(
        GalleryManifest("coefficients", 60.0, 3, model.n_vertices, model=model.name, complete=False), tmp_path
    )
    with pytest.raises(GalleryFormatError, match="incomplete"):
        load_gallery(tmp_path)


def test_npz_mesh_with_wrong_frame_count_is_named(tmp_path, model):
    root = tmp_path / "g"
    save_manifest(GalleryManifest("meshes", 60.0, 1, model.n_vertices, mesh_format="npz"), root)
    pd.DataFrame({"subject": ["A"], "sex": ["M"], "age": [20]}).to_csv(root / "subjects.csv", index=False)
    folder = root / "sequences" / "A" / "q"
    folder.mkdir(parents=True)
    _va_table(3, annotators=1).to_csv(folder / "va.csv", index=False)
    np.savez(folder / "meshes.npz", vertices=np.zeros((2, model.n_vertices, 3), np.float32))
    (root / "neutral").mkdir()
    np.savez(root / "neutral" / "A.npz", vertices=model.mean)
    gallery = load_gallery(root)
    with pytest.raises(GalleryFormatError, match=r"meshes.npz: 'vertices' has shape \(2, 9409, 3\)"):
        gallery.deformations()


def test_coefficient_gallery_meshes_equal_the_model_applied_to_stored_coefficients(proxy, model):
    rows = proxy.frames.iloc[[0, 5, len(proxy.frames) - 1]]
    meshes = proxy.meshes(rows)
    for mesh, (_, row) in zip(meshes, rows.iterrows()):
        sequence = proxy.root / "sequences" / row["subject"] / row["sequence"]
        with np.load(sequence / "expression.npz") as data:
            weights = data["weights"][row["frame"]]
        with np.load(proxy.root / "identity.npz") as data:
            identity = data["identity"][list(data["subject"]).index(row["subject"])]
        # Equal up to float32 summation order in BLAS (batched vs single product): 1e-6 cm.
        np.testing.assert_allclose(mesh, model.shape(identity, weights), rtol=0, atol=1e-6)


def test_coefficient_deformations_are_mesh_minus_neutral(proxy):
    rows = proxy.frames.index[:7]
    meshes = proxy.meshes(rows)
    neutral = np.stack([proxy.neutral(s) for s in proxy.frames.loc[rows, "subject"]])
    np.testing.assert_allclose(proxy.deformations(rows), meshes - neutral, atol=1e-5)
    assert np.abs(proxy.deformations(rows)).max() > 0.01  # the faces do move


def test_export_to_obj_loads_back_with_the_same_deformations_and_labels(proxy, tmp_path):
    subject = proxy.subjects["subject"].iloc[0]
    out = export_meshes(proxy, tmp_path / "exported", subjects=[subject], fmt="obj")
    exported = load_gallery(out)
    mine = proxy.frames[proxy.frames["subject"] == subject]
    assert exported.manifest.storage == "meshes" and len(exported.frames) == len(mine)
    np.testing.assert_allclose(exported.frames[["valence", "arousal"]], mine[["valence", "arousal"]])
    np.testing.assert_allclose(exported.deformations(), proxy.deformations(mine), atol=2e-5)
    n_apex = (proxy.apex_index["subject"] == subject).sum()
    assert (exported.apex_index["subject"] == subject).sum() == n_apex


def test_export_rejects_unknown_subject_and_format(proxy, tmp_path):
    with pytest.raises(ValueError, match="subjects"):
        export_meshes(proxy, tmp_path, subjects=["nobody"])
    with pytest.raises(ValueError, match="fmt"):
        export_meshes(proxy, tmp_path, fmt="ply")


def test_annotator_correlations_match_numpy_on_a_known_table(mesh_gallery):
    root, _, _ = mesh_gallery
    gallery = load_gallery(root)
    pairs = gallery.annotator_correlations()
    assert len(pairs) == 6  # 3 pairs x 2 dimensions
    r = np.corrcoef(gallery.frames["valence_a1"], gallery.frames["valence_a3"])[0, 1]
    row = pairs[(pairs.dimension == "valence") & (pairs.annotator_a == 1) & (pairs.annotator_b == 3)]
    assert row["pearson"].item() == pytest.approx(r)
    means = mean_annotator_correlations(pairs)
    expected = pairs[(pairs.dimension == "arousal") & ((pairs.annotator_a == 2) | (pairs.annotator_b == 2))]
    got = means[(means.dimension == "arousal") & (means.annotator == 2)]["mean_correlation"].item()
    assert got == pytest.approx(expected["pearson"].mean())


def test_rows_out_of_range_are_rejected(proxy):
    with pytest.raises(ValueError, match="rows"):
        proxy.deformations([len(proxy.frames)])


def test_coefficient_gallery_with_another_model_name_is_refused(proxy, model):
    from dataclasses import replace

    other = replace(model, name="lsfm")
    with pytest.raises(ValueError, match="model"):
        load_gallery(proxy.root, other)
