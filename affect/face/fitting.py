"""3DMM fitting to 68 facial landmarks (paper Sec. 4.2, Eq. 4).

The paper fits LSFM with the "in-the-wild" 3DMM fitter of Booth et al. (its ref. [8]),
minimising Eq. 4 over shape ``p``, texture ``lambda`` and camera ``c``::

    ||F(W(p, c)) - T(lambda)||^2 + c_l ||W_l(p, c) - s_l||^2
        + c_s ||p||^2_{Sigma_s^-1} + c_t ||lambda||^2_{Sigma_t^-1}

The first (dense, feature-based pixel) term and the texture prior need a texture model
``T(lambda)`` learnt from in-the-wild images. The default face model of this kit (ICT-FaceKit)
has no texture model, so :func:`fit_landmarks` minimises the terms that remain well defined:

- the sparse landmark term ``c_l ||W_l(p, c) - s_l||^2`` over the 68 iBUG landmarks, with
  ``W_l`` the perspective projection of :class:`affect.face.camera.Camera`;
- the identity prior ``c_s ||p||^2_{Sigma_s^-1}`` (``Sigma_s`` = the model's identity variances);
- an expression prior ``c_e ||e||^2`` on the blendshape weights ``e``, kept in [0, 1]. The
  paper's LSFM is identity-only because its input photos are neutral; the blendshapes let a
  slightly non-neutral photo be explained without bending the identity;
- a prior on the log focal length around :func:`affect.face.camera.default_focal_length`, since
  landmarks alone barely constrain it.

The texture that rendering needs is then sampled from the photo at the projected vertices
(paper Sec. 4.3), which needs no texture model.

Where a dense term belongs: ``fit_landmarks(..., extra_terms=[...])`` adds any object with
the :class:`ResidualTerm` interface (residuals and their Jacobian in the fit's parameter order)
to the same Gauss-Newton system. :class:`ProjectedVertexTerm` is the landmark term written that
way; a feature-based term for a model that has a texture basis would project sampled vertices
with the same Jacobian and chain it with the feature image's gradient.

The jaw-line landmarks are fixed model vertices. For a turned head, 2D annotations that follow
the visible contour do not match them; the paper's landmarks are 3D-aware (points on occluded
parts are placed where the 3D point projects), for which the fixed correspondence is right.

The problem is solved by Levenberg-Marquardt (Gauss-Newton with adaptive damping) with
analytic Jacobians on the landmark vertices only; the expression weights are kept within
their bounds by a projected step with an active set (Bertsekas' projected Newton).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

from affect.face.camera import N_CAMERA_PARAMETERS, Camera, default_focal_length
from affect.files import read_npz, write_npz
from affect.vocabulary import N_LANDMARKS

LEFT_OUTER_EYE_CORNER, RIGHT_OUTER_EYE_CORNER = 36, 45  # iBUG 68 (0-based) outer eye corners

# Landmark residuals are measured in pixels of the face rescaled so that its landmarks'
# bounding-box diagonal is this many pixels; the weights below then mean the same thing at
# any image resolution.
REFERENCE_FACE_SIZE = 100.0

# Arrays of a saved fit (Fit.save) besides the camera's.
_FIT_FIELDS = (
    "identity",
    "expression",
    "image_shape",
    "landmarks",
    "model_name",
    "landmark_error_px",
    "landmark_error_iod",
    "n_iterations",
)

# Default weights, relative to the landmark term (c_l = 1). The paper's c_l = 1e5, c_s = 3e6
# (ratio 30) balance a landmark term in pixels of the image as rescaled by its fitter against
# a feature-based dense term and LSFM's eigenvalues (mm^2); neither scale exists here, so the
# numbers do not carry over. Here the landmark residuals are normalised pixels (above) and the
# identity coefficients have unit prior variance, so the MAP weight of the identity prior is
# the landmark noise variance: a detector's error of ~2 % of the eye-corner distance is about
# 1 normalised pixel, hence 1. On 12 random faces of the ICT model (random pose, 3 blendshapes
# at up to 0.3, that noise), identity 1 / expression 100 gave the smallest 3D error
# (0.38 cm mean per vertex; 0.3 to 10 and 2 to 500 tried) and summed blendshape weights close
# to the truth; lower expression weights let the blendshapes absorb noise.
IDENTITY_WEIGHT = 1.0
EXPRESSION_WEIGHT = 100.0
# Log focal length: a 10 % change costs about 9, as much as a 0.25 normalised-pixel error in
# each of the 136 landmark coordinates; landmarks hardly tell focal length from distance.
FOCAL_LENGTH_WEIGHT = 1e3


class ResidualTerm(Protocol):
    """A least-squares term of the fit: residuals and their Jacobian at the current estimate.

    The parameter order of the Jacobian's columns is: identity (K_id), expression (K_exp),
    then the camera's 7 free parameters of :meth:`affect.face.camera.Camera.update`.
    """

    def residuals(self, identity: np.ndarray, expression: np.ndarray, camera: Camera) -> np.ndarray:
        """(M,) residuals; the term's cost is their sum of squares."""
        ...

    def linearise(self, identity: np.ndarray, expression: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        """(M,) residuals and their (M, K_id + K_exp + 7) Jacobian."""
        ...


class ProjectedVertexTerm:
    """Squared pixel distance between projected model vertices and 2D targets (Eq. 4, c_l term).

    Parameters
    ----------
    model : MorphableModel
    vertex_indices : (M,) int
        Model vertices to project (the 68 landmark vertices for the landmark term).
    targets : (M, 2) float, pixels ``(x, y)``
    scale : float
        Residuals are ``scale * (projected - target)``, so the term's weight is ``scale**2``.
        :func:`fit_landmarks` uses ``REFERENCE_FACE_SIZE / face size`` (normalised pixels).
    """

    def __init__(self, model, vertex_indices: np.ndarray, targets: np.ndarray, scale: float = 1.0):
        vertex_indices = np.asarray(vertex_indices, dtype=np.int64).reshape(-1)
        targets = np.asarray(targets, dtype=float)
        if targets.shape != (len(vertex_indices), 2):
            raise ValueError(f"targets: expected shape ({len(vertex_indices)}, 2), got {targets.shape}")
        mean, basis = _vertex_rows(model, vertex_indices)
        self._mean = mean  # (M, 3)
        self._basis = basis  # (M, 3, K_id + K_exp): identity then expression columns
        self._flat_basis = basis.reshape(-1, basis.shape[2])
        self._targets = targets
        self._scale = float(scale)

    def _vertices(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        coefficients = np.concatenate([identity, expression])
        return self._mean + (self._flat_basis @ coefficients).reshape(self._mean.shape)

    def project(self, identity: np.ndarray, expression: np.ndarray, camera: Camera) -> np.ndarray:
        """(M, 2) pixel positions of the term's vertices for the given coefficients and camera."""
        return camera.project(self._vertices(identity, expression))

    def residuals(self, identity: np.ndarray, expression: np.ndarray, camera: Camera) -> np.ndarray:
        projected = self.project(identity, expression, camera)
        return (self._scale * (projected - self._targets)).reshape(-1)

    def linearise(self, identity: np.ndarray, expression: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        rotation = camera.rotation_matrix
        rotated = self._vertices(identity, expression) @ rotation.T  # R X, (M, 3)
        camera_points = rotated + camera.translation
        inverse_depth = 1.0 / camera_points[:, 2]
        normalised = camera_points[:, :2] * inverse_depth[:, None]  # (X/Z, Y/Z)
        pixels = camera.focal_length * normalised + camera.principal_point
        residuals = (self._scale * (pixels - self._targets)).reshape(-1)

        # d(pixel)/d(camera point) = f / Z * [[1, 0, -X/Z], [0, 1, -Y/Z]], (M, 2, 3)
        n = len(camera_points)
        factor = camera.focal_length * inverse_depth
        projection = np.zeros((n, 2, 3))
        projection[:, 0, 0] = factor
        projection[:, 1, 1] = factor
        projection[:, :, 2] = -factor[:, None] * normalised
        # Shape columns: d(pixel)/d(coefficients) = projection @ R @ basis rows. Three
        # broadcast products are cheaper than a batch of M tiny (2, 3) @ (3, K) matmuls.
        chained = projection @ rotation  # (M, 2, 3)
        basis = self._basis
        shape_jacobian = (
            chained[:, :, 0:1] * basis[:, None, 0]
            + chained[:, :, 1:2] * basis[:, None, 1]
            + chained[:, :, 2:3] * basis[:, None, 2]
        )  # (M, 2, K)
        # Rotation update exp([w]_x) R X: d(camera point)/dw = -[R X]_x, so the columns are
        # projection @ -[R X]_x, i.e. the cross product (R X) x (row of projection).
        rotation_jacobian = np.cross(rotated[:, None, :], projection)  # (M, 2, 3)
        focal_jacobian = (camera.focal_length * normalised)[:, :, None]  # d/d log f, (M, 2, 1)
        jacobian = np.concatenate([shape_jacobian, rotation_jacobian, projection, focal_jacobian], axis=2)
        return residuals, self._scale * jacobian.reshape(2 * n, -1)


@dataclass(frozen=True, eq=False)
class Fit:
    """A 3DMM fitted to one photo (paper Sec. 4.2): shape coefficients, camera and quality.

    Parameters
    ----------
    identity : (K_id,) float
        Identity coefficients ``p``, in units of the model's identity basis (standard
        deviations for ICT-FaceKit, whose components are pre-scaled).
    expression : (K_exp,) float in [0, 1]
        Blendshape weights explaining any residual expression of the photo.
    camera : Camera
    image_shape : (height, width) int
    landmarks : (68, 2) float, pixels ``(x, y)``
        The landmarks fitted to (iBUG 68 order).
    model_name : str
    landmark_error_px : float
        Mean Euclidean distance (pixels) between projected model landmarks and ``landmarks``.
    landmark_error_iod : float
        The same, divided by the outer-eye-corner distance of ``landmarks`` (iBUG 36 to 45).
    n_iterations : int
        Levenberg-Marquardt iterations taken.
    """

    identity: np.ndarray
    expression: np.ndarray
    camera: Camera
    image_shape: tuple[int, int]
    landmarks: np.ndarray
    model_name: str
    landmark_error_px: float
    landmark_error_iod: float
    n_iterations: int

    def __post_init__(self) -> None:
        landmarks = np.asarray(self.landmarks, dtype=float)
        if landmarks.shape != (N_LANDMARKS, 2):
            raise ValueError(f"landmarks: expected shape (68, 2), got {landmarks.shape}")
        if not isinstance(self.camera, Camera):
            raise ValueError(f"camera: expected a Camera, got {type(self.camera).__name__}")
        set_ = object.__setattr__
        set_(self, "identity", np.asarray(self.identity, dtype=float).reshape(-1))
        set_(self, "expression", np.asarray(self.expression, dtype=float).reshape(-1))
        set_(self, "landmarks", landmarks)
        set_(self, "image_shape", tuple(int(v) for v in self.image_shape))

    def shape(self, model) -> np.ndarray:
        """The fitted 3D face s_orig (paper Sec. 4.3), (N, 3) float, cm, model frame."""
        self._check_model(model)
        return np.asarray(model.shape(self.identity, self.expression), dtype=float)

    def landmarks_2d(self, model) -> np.ndarray:
        """The fitted model's 68 landmarks projected into the photo, (68, 2) pixels ``(x, y)``."""
        self._check_model(model)
        term = ProjectedVertexTerm(model, model.landmark_indices, self.landmarks)
        return term.project(self.identity, self.expression, self.camera)

    def save(self, path: str | Path) -> Path:
        """Write the fit to exactly ``path``, an ``.npz`` file (no pickles), atomically."""
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise ValueError(f"{path}: a fit is saved as .npz; name it FIT.npz")
        return write_npz(
            path,
            dict(
                identity=self.identity,
                expression=self.expression,
                image_shape=np.array(self.image_shape, dtype=np.int64),
                landmarks=self.landmarks,
                model_name=np.array(self.model_name),
                landmark_error_px=np.array(self.landmark_error_px),
                landmark_error_iod=np.array(self.landmark_error_iod),
                n_iterations=np.array(self.n_iterations),
                **self.camera.to_arrays(),
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> Fit:
        """Read a fit written by :meth:`save`; one-line ValueError naming the file if it is not one."""
        path = Path(path)
        arrays = read_npz(path, _FIT_FIELDS, "a fit file (written by 'affect fit')")
        try:
            return cls(
                identity=arrays["identity"].astype(float),
                expression=arrays["expression"].astype(float),
                camera=Camera.from_arrays(arrays),
                image_shape=tuple(int(v) for v in arrays["image_shape"]),
                landmarks=arrays["landmarks"].astype(float),
                model_name=str(arrays["model_name"]),
                landmark_error_px=float(arrays["landmark_error_px"]),
                landmark_error_iod=float(arrays["landmark_error_iod"]),
                n_iterations=int(arrays["n_iterations"]),
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a fit file ({error})") from None

    def _check_model(self, model) -> None:
        n_identity, n_expression = _n_components(model)
        if (n_identity, n_expression) != (len(self.identity), len(self.expression)):
            raise ValueError(
                f"model: has {n_identity} identity and {n_expression} expression components, "
                f"the fit {len(self.identity)} and {len(self.expression)}"
            )


def fit_landmarks(
    model,
    landmarks: np.ndarray,
    image_shape: tuple[int, int],
    *,
    n_iterations: int = 30,
    identity_weight: float = IDENTITY_WEIGHT,
    expression_weight: float = EXPRESSION_WEIGHT,
    focal_length_weight: float = FOCAL_LENGTH_WEIGHT,
    fit_expression: bool = True,
    initial_camera: Camera | None = None,
    extra_terms: Sequence[ResidualTerm] = (),
    tolerance: float = 1e-5,
    model_name: str | None = None,
) -> Fit:
    """Fit identity, expression and camera to 68 iBUG landmarks (paper Sec. 4.2, Eq. 4).

    Minimises ``||r_l||^2 + identity_weight ||p||^2_{Sigma_s^-1} + expression_weight ||e||^2
    + focal_length_weight (log f - log f_0)^2 + sum of extra terms``, where ``r_l`` are the
    landmark errors in pixels of the face rescaled to a bounding-box diagonal of
    ``REFERENCE_FACE_SIZE`` pixels, by Levenberg-Marquardt with ``0 <= e <= 1``. The pose starts
    from a PnP alignment of the model's mean landmarks (OpenCV SQPnP).

    Parameters
    ----------
    model : MorphableModel
        Needs ``mean`` (N, 3), ``identity_basis`` (K_id, N, 3), ``identity_variance`` (K_id,),
        ``expression_basis`` (K_exp, N, 3), ``landmark_indices`` (68,) and ``shape``.
    landmarks : (68, 2) float, pixels ``(x, y)``, iBUG 68 order.
    image_shape : (height, width) int, pixels
    n_iterations : int
        Most Levenberg-Marquardt iterations; stops earlier when the cost stalls.
    identity_weight, expression_weight, focal_length_weight : float
        Prior weights relative to the landmark term (see the module's constants).
    fit_expression : bool
        If False, the expression weights stay at 0 (a neutral face).
    initial_camera : Camera, optional
        Starting pose instead of the PnP alignment.
    extra_terms : sequence of ResidualTerm
        Further least-squares terms (e.g. a dense feature term, if the model has a texture).
    tolerance : float
        Stop when an accepted step lowers the cost by less than this fraction.
    model_name : str, optional
        Recorded in the fit; defaults to ``model.name`` or the model's class name.

    Returns
    -------
    Fit
    """
    landmarks = np.asarray(landmarks, dtype=float)
    if landmarks.shape != (N_LANDMARKS, 2) or not np.all(np.isfinite(landmarks)):
        raise ValueError(f"landmarks: expected finite (68, 2) pixel coordinates, got shape {landmarks.shape}")
    if len(np.asarray(model.landmark_indices)) != N_LANDMARKS:
        raise ValueError("model: landmark_indices must hold the 68 iBUG landmark vertices")
    if n_iterations < 0:
        raise ValueError(f"n_iterations: expected >= 0, got {n_iterations}")
    for name, weight in (
        ("identity_weight", identity_weight),
        ("expression_weight", expression_weight),
        ("focal_length_weight", focal_length_weight),
    ):
        if not weight >= 0:
            raise ValueError(f"{name}: expected a non-negative number, got {weight}")
    focal_length_prior = default_focal_length(image_shape)  # also validates image_shape
    image_shape = (int(image_shape[0]), int(image_shape[1]))
    n_identity, n_expression = _n_components(model)

    face_size = float(np.linalg.norm(landmarks.max(axis=0) - landmarks.min(axis=0)))
    if face_size <= 0:
        raise ValueError("landmarks: all 68 points coincide")
    landmark_term = ProjectedVertexTerm(model, model.landmark_indices, landmarks, scale=REFERENCE_FACE_SIZE / face_size)
    terms: list[ResidualTerm] = [landmark_term, *extra_terms]
    if initial_camera is None:
        camera = _initial_camera(model, landmarks, image_shape, focal_length_prior)
    elif initial_camera.image_shape != image_shape:
        raise ValueError(f"initial_camera: image_shape {initial_camera.image_shape} differs from {image_shape}")
    else:
        camera = initial_camera

    # Diagonal quadratic priors, one weight per parameter (identity, expression, camera);
    # of the camera's parameters only the log focal length has one, centred on log f_0.
    prior_weight = np.concatenate(
        [
            identity_weight / np.asarray(model.identity_variance, dtype=float),
            np.full(n_expression, float(expression_weight)),
            np.zeros(N_CAMERA_PARAMETERS - 1),
            [float(focal_length_weight)],
        ]
    )
    identity = np.zeros(n_identity)
    expression = np.zeros(n_expression)
    solver = _Solver(terms, prior_weight, focal_length_prior, n_identity, fit_expression)
    # The normal equations are ~160 x 160: OpenBLAS (0.3.30) spends more on waking and
    # syncing threads than on the arithmetic (a solve took 20x longer with 2 threads than
    # with 1 on a busy 2-core machine).
    with _blas_threads().limit(limits=1, user_api="blas"):
        identity, expression, camera, iterations = solver.run(identity, expression, camera, n_iterations, tolerance)

    projected = landmark_term.project(identity, expression, camera)
    error_px = float(np.linalg.norm(projected - landmarks, axis=1).mean())
    return Fit(
        identity=identity,
        expression=expression,
        camera=camera,
        image_shape=image_shape,
        landmarks=landmarks.copy(),
        model_name=model_name or str(getattr(model, "name", type(model).__name__)),
        landmark_error_px=error_px,
        landmark_error_iod=error_px / interocular_distance(landmarks),
        n_iterations=iterations,
    )


def interocular_distance(landmarks: np.ndarray) -> float:
    """Distance (pixels) between the outer eye corners, iBUG 68 points 36 and 45 (0-based)."""
    landmarks = np.asarray(landmarks, dtype=float)
    if landmarks.shape != (N_LANDMARKS, 2):
        raise ValueError(f"landmarks: expected shape (68, 2), got {landmarks.shape}")
    corners = landmarks[[LEFT_OUTER_EYE_CORNER, RIGHT_OUTER_EYE_CORNER]]
    return float(np.linalg.norm(corners[0] - corners[1]))


class _Solver:
    """Levenberg-Marquardt over (identity, expression, camera update) with 0 <= e <= 1."""

    def __init__(self, terms, prior_weight, focal_length_prior, n_identity, fit_expression):
        self.terms = terms
        self.prior_weight = prior_weight
        self.log_focal_prior = np.log(focal_length_prior)
        self.n_identity = n_identity
        self.n_shape = len(prior_weight) - N_CAMERA_PARAMETERS
        self.fit_expression = fit_expression

    def _prior_offset(self, identity, expression, camera) -> np.ndarray:
        # Parameter values measured from each prior's centre; camera entries other than the
        # focal length carry no prior (their weight is 0).
        offset = np.zeros(len(self.prior_weight))
        offset[: self.n_identity] = identity
        offset[self.n_identity : self.n_shape] = expression
        offset[-1] = np.log(camera.focal_length) - self.log_focal_prior
        return offset

    def cost(self, identity, expression, camera) -> float:
        total = sum(float(np.sum(term.residuals(identity, expression, camera) ** 2)) for term in self.terms)
        offset = self._prior_offset(identity, expression, camera)
        return total + float(np.sum(self.prior_weight * offset**2))

    def normal_equations(self, identity, expression, camera):
        """Gauss-Newton Hessian J^T J + priors and gradient J^T r + priors at the estimate."""
        linearised = [term.linearise(identity, expression, camera) for term in self.terms]
        residuals = np.concatenate([r for r, _ in linearised])
        jacobian = np.concatenate([j for _, j in linearised], axis=0)
        hessian = jacobian.T @ jacobian
        hessian[np.diag_indices_from(hessian)] += self.prior_weight
        gradient = jacobian.T @ residuals
        gradient += self.prior_weight * self._prior_offset(identity, expression, camera)
        return hessian, gradient

    def free_parameters(self, expression, gradient) -> np.ndarray:
        """Indices of the parameters to update: all but blendshape weights held at a bound."""
        free = np.ones(len(self.prior_weight), dtype=bool)
        expression_slice = slice(self.n_identity, self.n_shape)
        if not self.fit_expression:
            free[expression_slice] = False
        else:  # projected Newton: a weight on a bound that the gradient pushes outwards stays
            outwards = gradient[expression_slice]
            held = ((expression <= 0) & (outwards > 0)) | ((expression >= 1) & (outwards < 0))
            free[expression_slice] = ~held
        return np.flatnonzero(free)

    def apply(self, identity, expression, camera, step):
        """Add a full (K_id + K_exp + 7,) step, clamping the blendshape weights to [0, 1]."""
        new_expression = np.clip(expression + step[self.n_identity : self.n_shape], 0.0, 1.0)
        new_camera = camera.update(step[self.n_shape :])
        return identity + step[: self.n_identity], new_expression, new_camera

    def run(self, identity, expression, camera, n_iterations, tolerance):
        """Iterate damped Gauss-Newton steps; returns the estimate and the iterations taken."""
        cost = self.cost(identity, expression, camera)
        damping = 1e-3  # Marquardt's scaling: a multiple of the Hessian's diagonal
        iteration = 0
        for iteration in range(1, n_iterations + 1):  # noqa: B007 (returned as the count taken)
            hessian, gradient = self.normal_equations(identity, expression, camera)
            free = self.free_parameters(expression, gradient)
            reduced_hessian = hessian[np.ix_(free, free)]
            diagonal = np.diag(np.diag(reduced_hessian) + 1e-9)
            for _ in range(8):  # raise the damping until a step lowers the cost
                try:  # the damped system is symmetric positive definite: Cholesky
                    factor = scipy.linalg.cho_factor(reduced_hessian + damping * diagonal, check_finite=False)
                except np.linalg.LinAlgError:
                    damping *= 10.0
                    continue
                step = np.zeros(len(self.prior_weight))
                step[free] = -scipy.linalg.cho_solve(factor, gradient[free], check_finite=False)
                candidate = self.apply(identity, expression, camera, step)
                new_cost = self.cost(*candidate)
                if new_cost < cost:
                    break
                damping *= 10.0
            else:
                break  # no step lowers the cost: converged (or stuck)
            decrease = (cost - new_cost) / max(cost, 1e-300)
            (identity, expression, camera), cost = candidate, new_cost
            damping = max(damping / 10.0, 1e-7)
            if decrease < tolerance:
                break
        return identity, expression, camera, iteration


@functools.cache
def _blas_threads() -> ThreadpoolController:
    # Scanning the loaded libraries costs ~0.1 ms of CPU, once; each limit() then ~4 us.
    return ThreadpoolController()


def _initial_camera(model, landmarks, image_shape, focal_length) -> Camera:
    """Pose of the mean face from its 68 landmarks by PnP, at the prior focal length."""
    mean_landmarks = np.asarray(model.mean, dtype=float)[np.asarray(model.landmark_indices)]
    camera_matrix = np.array(
        [
            [focal_length, 0.0, (image_shape[1] - 1) / 2.0],
            [0.0, focal_length, (image_shape[0] - 1) / 2.0],
            [0.0, 0.0, 1.0],
        ]
    )
    # SQPnP (OpenCV >= 4.5.3) finds the global optimum of the PnP cost without an initial
    # guess, where the default iterative solver can land on a mirrored pose.
    ok, rotation_vector, translation = cv2.solvePnP(
        np.ascontiguousarray(mean_landmarks),
        np.ascontiguousarray(landmarks),
        camera_matrix,
        None,
        flags=cv2.SOLVEPNP_SQPNP,
    )
    if not ok:
        raise ValueError("landmarks: could not align the model's mean landmarks (PnP failed)")
    rotation = cv2.Rodrigues(rotation_vector)[0]
    return Camera.from_rotation_matrix(rotation, translation.reshape(3), focal_length, image_shape)


def _n_components(model) -> tuple[int, int]:
    return len(np.asarray(model.identity_variance)), int(np.shape(model.expression_basis)[0])


def _vertex_rows(model, vertex_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (M, 3) and combined identity-then-expression basis rows (M, 3, K) of some vertices."""
    mean = np.asarray(model.mean, dtype=float)[vertex_indices]
    identity = np.asarray(model.identity_basis)[:, vertex_indices, :]  # (K_id, M, 3)
    expression = np.asarray(model.expression_basis)[:, vertex_indices, :]  # (K_exp, M, 3)
    basis = np.concatenate([identity, expression], axis=0).astype(float)
    return mean, np.ascontiguousarray(basis.transpose(1, 2, 0))
