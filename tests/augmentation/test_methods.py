"""One augmenter interface: the paper's method, StarGAN and GANimation through the same builder (Sec. 6.1.2)."""

import numpy as np
import pytest

from affect import augmentation as aug
from affect import profiles
from affect.image import read_image


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A smoke gallery, its affect model, a BU-3DFE stand-in and a GAN generator of each kind."""
    from affect.datasets.proxy import write_proxy
    from affect.gallery.affect_model import build_affect_model
    from affect.gallery.fourdfab import load_gallery
    from affect.gallery.proxy import write_proxy_gallery
    from affect.learning.gans.faces import gallery_faces
    from affect.learning.gans.training import fit_gan
    from affect.profiles import gan_sizes

    root = tmp_path_factory.mktemp("methods")
    gallery = load_gallery(write_proxy_gallery(root / "gallery", profiles.get("smoke"), seed=0, progress=False))
    build_affect_model(gallery, n_classes=8, progress=False).save(root / "model.npz")
    write_proxy("bu3dfe", root / "bu3dfe", scale=0.0005, seed=0)
    sizes = gan_sizes(profiles.get("smoke"), "stargan")
    faces = gallery_faces(gallery, sizes.gallery_frames, sizes.image_size, root / "prepared", seed=0)
    generators = {
        m: fit_gan(m, faces, gan_sizes(profiles.get("smoke"), m), root / m, seed=0) for m in ("stargan", "ganimation")
    }
    return root, generators


def _augment(root, method, generator=None):
    from affect.cli import main

    args = [
        "augment",
        "bu3dfe",
        "--root",
        str(root / "bu3dfe"),
        "--out",
        str(root / f"out-{method}"),
        "--affect-model",
        str(root / "model.npz"),
        "--n",
        "2",
        "--no-identity",
        "--kind",
        "va",
        "--method",
        method,
        "--quiet",
    ]
    assert main(args + (["--generator", str(generator)] if generator else [])) == 0
    return aug.read_manifest(root / f"out-{method}" / "va")


def test_the_three_methods_write_the_same_plan_layout_and_image_sizes(run):
    root, generators = run
    manifests = {m: _augment(root, m, generators.get(m)) for m in ("proposed", "stargan", "ganimation")}
    proposed = manifests["proposed"]
    assert len(proposed) >= 2
    for method, manifest in manifests.items():
        assert list(manifest.columns) == list(aug.MANIFEST_COLUMNS)
        same = ["output", "source", "valence", "arousal", "va_class"]
        assert manifest[same].equals(proposed[same]), method
        for row in manifest.itertuples():
            photo, output = read_image(row.source), read_image(root / f"out-{method}" / "va" / row.output)
            assert output.shape == photo.shape, method
            if method != "proposed":  # the face is edited, the corners of the photo are kept
                changed = np.abs(output.astype(int) - photo.astype(int)).max(axis=2) > 12
                assert changed.mean() > 0.005
                assert not changed[:5, :5].any() and not changed[-5:, -5:].any()


def test_a_gan_cannot_synthesize_basic_expressions(run, capsys):
    root, generators = run
    from affect.cli import main

    status = main(
        [
            "augment",
            "bu3dfe",
            "--root",
            str(root / "bu3dfe"),
            "--out",
            str(root / "bad"),
            "--method",
            "stargan",
            "--generator",
            str(generators["stargan"]),
            "--kind",
            "expression",
            "--affect-model",
            str(root / "model.npz"),
        ]
    )
    assert status != 0 and "stargan is conditioned on valence and arousal only" in capsys.readouterr().err


def test_a_folder_built_by_one_method_is_not_resumed_by_another(run):
    from affect.augmentation.build import augment_database
    from affect.learning.gans.augmenter import GANAugmenter

    root, generators = run
    _augment(root, "stargan", generators["stargan"])
    other = GANAugmenter(generators["ganimation"], root / "model.npz")
    with pytest.raises(ValueError, match="other settings"):
        augment_database(
            "bu3dfe",
            root / "bu3dfe",
            root / "out-stargan",
            other,
            kinds=("va",),
            n_va=2,
            method="ganimation",
            measure_identity=False,
            progress=False,
        )
    with pytest.raises(ValueError, match="a ganimation augmenter given for method 'stargan'"):
        augment_database(
            "bu3dfe",
            root / "bu3dfe",
            root / "out-stargan",
            other,
            kinds=("va",),
            n_va=2,
            method="stargan",
            measure_identity=False,
            progress=False,
        )


def test_the_gan_augmenter_pickles_as_its_files_and_edits_alike(run):
    import pickle

    from affect.learning.gans.augmenter import GANAugmenter

    root, generators = run
    augmenter = GANAugmenter(generators["ganimation"], root / "model.npz")
    data = pickle.dumps(augmenter)
    copy = pickle.loads(data)
    assert len(data) < 2000  # paths, not weights, travel to worker processes
    crop = np.random.default_rng(0).integers(0, 256, (augmenter.size, augmenter.size, 3), dtype=np.uint8)
    assert np.array_equal(copy.edit_crop(crop, (0.5, -0.2)), augmenter.edit_crop(crop, (0.5, -0.2)))
    assert copy.affect_model.n_classes == 8
