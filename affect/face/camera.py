"""Perspective pinhole camera of the 3DMM fit (paper Sec. 4.2, the projection W(p, c) of Eq. 4).

Coordinate conventions
----------------------
Model frame
    The frame of the morphable model's vertices, in centimetres (ICT-FaceKit: +x towards the
    face's left, +y up, +z out of the face towards a frontal viewer). The camera does not
    assume any of this; it only maps points from this frame.
Camera frame
    ``X_cam = R @ X_model + t``, in centimetres, with OpenCV's axes: +x right, +y down,
    +z forward (along the optical axis, away from the camera). A point is in front of the
    camera when its camera-frame z is positive. A frontal face of the model above is seen
    through ``R = diag(1, -1, -1)`` (a half turn about x).
Image frame
    Pixels, ``x`` to the right (column) and ``y`` down (row), with pixel centres at integer
    coordinates (OpenCV and dlib landmarks). The principal point is fixed at the image centre,
    ``((width - 1) / 2, (height - 1) / 2)``, and pixels are square, so a point projects to
    ``x = f * X / Z + cx`` and ``y = f * Y / Z + cy``.
Depth
    :meth:`Camera.to_image` returns the camera-frame ``Z`` (cm) as the third coordinate: it
    increases away from the camera, so a z-buffer keeps the smallest value.

Rotation is stored as a unit quaternion ``(w, x, y, z)`` (scalar first, ``w >= 0``). The 7
free camera parameters of the fit (n_c = 7) are the increments taken by :meth:`Camera.update`:
a rotation vector (3, radians) applied on the left in the camera frame, i.e. in the tangent
space of the quaternion at the current rotation; a translation increment (3, cm); and an
increment of the log focal length (1), which keeps the focal length positive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

N_CAMERA_PARAMETERS = 7
"""Free camera parameters per fit: rotation (3), translation (3), log focal length (1)."""


@dataclass(frozen=True, eq=False)
class Camera:
    """A perspective pinhole camera with its principal point at the image centre.

    Parameters
    ----------
    rotation : (4,) float
        Unit quaternion ``(w, x, y, z)`` of the model-to-camera rotation; normalised (and given
        ``w >= 0``) on construction.
    translation : (3,) float, cm
        Camera-frame position of the model origin.
    focal_length : float, pixels
    image_shape : (height, width) int, pixels
    """

    rotation: np.ndarray
    translation: np.ndarray
    focal_length: float
    image_shape: tuple[int, int]

    def __post_init__(self) -> None:
        quaternion = np.asarray(self.rotation, dtype=float).reshape(-1)
        if quaternion.shape != (4,) or not np.all(np.isfinite(quaternion)):
            raise ValueError(f"rotation: expected a finite (4,) quaternion, got {self.rotation!r}")
        norm = np.linalg.norm(quaternion)
        if norm < 1e-12:
            raise ValueError("rotation: quaternion has zero norm")
        quaternion = quaternion / norm
        if quaternion[0] < 0:  # q and -q are the same rotation; keep one of them
            quaternion = -quaternion
        translation = np.asarray(self.translation, dtype=float).reshape(-1)
        if translation.shape != (3,) or not np.all(np.isfinite(translation)):
            raise ValueError(f"translation: expected a finite (3,) vector, got {self.translation!r}")
        focal_length = float(self.focal_length)
        if not np.isfinite(focal_length) or focal_length <= 0:
            raise ValueError(f"focal_length: expected a positive number, got {self.focal_length!r}")
        image_shape = _check_image_shape(self.image_shape)
        object.__setattr__(self, "rotation", quaternion)
        object.__setattr__(self, "translation", translation)
        object.__setattr__(self, "focal_length", focal_length)
        object.__setattr__(self, "image_shape", image_shape)

    @classmethod
    def from_rotation_matrix(
        cls,
        matrix: np.ndarray,
        translation: np.ndarray,
        focal_length: float,
        image_shape: tuple[int, int],
    ) -> Camera:
        """Build a camera from a (3, 3) model-to-camera rotation matrix.

        Raises ValueError if ``matrix`` is not a rotation (orthonormal, determinant +1, to 1e-6).
        """
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (3, 3):
            raise ValueError(f"matrix: expected shape (3, 3), got {matrix.shape}")
        if not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-6) or np.linalg.det(matrix) < 0:
            raise ValueError("matrix: not a rotation matrix (orthonormal with determinant +1)")
        return cls(quaternion_from_matrix(matrix), translation, focal_length, image_shape)

    @property
    def rotation_matrix(self) -> np.ndarray:
        """(3, 3) model-to-camera rotation matrix R."""
        return matrix_from_quaternion(self.rotation)

    @property
    def principal_point(self) -> np.ndarray:
        """(2,) image centre ``(cx, cy)`` in pixels (pixel centres at integers)."""
        height, width = self.image_shape
        return np.array([(width - 1) / 2.0, (height - 1) / 2.0])

    def transform(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) model-frame points (cm) to the camera frame (cm): ``R @ X + t``."""
        points = _check_points(points)
        return points @ self.rotation_matrix.T + self.translation

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project (N, 3) model-frame points (cm) to (N, 2) pixel coordinates ``(x, y)``.

        Points behind the camera (Z <= 0) project through the pinhole all the same; callers
        that care check the depth from :meth:`to_image`.
        """
        return self.to_image(points)[:, :2]

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) model-frame points (cm) to (N, 3) ``(x px, y px, depth cm)``.

        The depth is the camera-frame Z, growing away from the camera (for z-buffering).
        """
        camera_points = self.transform(points)
        depth = camera_points[:, 2]
        image_points = np.empty_like(camera_points)
        # Column by column: numpy broadcasts (N, 2) / (N, 1) several times slower.
        for axis, centre in enumerate(self.principal_point):
            image_points[:, axis] = self.focal_length * camera_points[:, axis] / depth + centre
        image_points[:, 2] = depth
        return image_points

    def update(self, delta: np.ndarray) -> Camera:
        """Apply a (7,) increment of the free camera parameters (see the module docstring).

        ``delta = (rotation vector (3, rad), translation (3, cm), log focal length (1))``;
        the new rotation is ``exp([omega]_x) @ R``.
        """
        delta = np.asarray(delta, dtype=float).reshape(-1)
        if delta.shape != (N_CAMERA_PARAMETERS,):
            raise ValueError(f"delta: expected shape (7,), got {delta.shape}")
        rotation = quaternion_multiply(quaternion_from_rotation_vector(delta[:3]), self.rotation)
        return Camera(
            rotation,
            self.translation + delta[3:6],
            self.focal_length * float(np.exp(delta[6])),
            self.image_shape,
        )

    def to_arrays(self, prefix: str = "camera_") -> dict[str, np.ndarray]:
        """The camera as named arrays, for saving inside a fit's .npz file."""
        return {
            f"{prefix}rotation": self.rotation.copy(),
            f"{prefix}translation": self.translation.copy(),
            f"{prefix}focal_length": np.array(self.focal_length),
            f"{prefix}image_shape": np.array(self.image_shape, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "camera_") -> Camera:
        """Inverse of :meth:`to_arrays`; raises ValueError naming a missing key."""
        keys = ("rotation", "translation", "focal_length", "image_shape")
        missing = [prefix + key for key in keys if prefix + key not in arrays]
        if missing:
            raise ValueError(f"camera arrays: missing {', '.join(missing)}")
        height, width = (int(v) for v in np.asarray(arrays[f"{prefix}image_shape"]))
        return cls(
            np.asarray(arrays[f"{prefix}rotation"]),
            np.asarray(arrays[f"{prefix}translation"]),
            float(arrays[f"{prefix}focal_length"]),
            (height, width),
        )


def default_focal_length(image_shape: tuple[int, int]) -> float:
    """A focal length (pixels) for a photo of unknown intrinsics: ``1.5 * max(height, width)``.

    That is a horizontal field of view of about 37 degrees for a landscape frame, between a
    phone's wide lens and a portrait lens. Landmarks alone hardly constrain the focal length
    (the perspective of a face at arm's length is weak), so the fit keeps it near this value.
    """
    height, width = _check_image_shape(image_shape)
    return 1.5 * float(max(height, width))


def rotation_error_degrees(first: np.ndarray, second: np.ndarray) -> float:
    """Angle (degrees) of the rotation taking ``first`` to ``second``; each a (3, 3) matrix."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.shape != (3, 3) or second.shape != (3, 3):
        raise ValueError("rotation_error_degrees: expected two (3, 3) rotation matrices")
    cosine = (np.trace(first.T @ second) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


# Quaternion helpers. scipy.spatial.transform.Rotation does all of this too, but building a
# Rotation object costs ~10 us, which adds up inside the fitting loop; these are a few lines.


def matrix_from_quaternion(quaternion: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix of a unit quaternion ``(w, x, y, z)``."""
    w, x, y, z = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def quaternion_from_matrix(matrix: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(w, x, y, z)``, ``w >= 0``, of a (3, 3) rotation matrix."""
    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_matrix(matrix).as_quat()  # scipy orders the scalar last
    quaternion = np.array([w, x, y, z])
    return -quaternion if w < 0 else quaternion


def quaternion_from_rotation_vector(rotation_vector: np.ndarray) -> np.ndarray:
    """Unit quaternion of a rotation vector (axis times angle in radians)."""
    angle = float(np.linalg.norm(rotation_vector))
    if angle < 1e-12:
        return np.array([1.0, *(0.5 * np.asarray(rotation_vector))])
    axis = np.asarray(rotation_vector) / angle
    return np.array([np.cos(angle / 2), *(np.sin(angle / 2) * axis)])


def quaternion_multiply(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Hamilton product ``first * second`` (apply ``second``, then ``first``)."""
    w1, x1, y1, z1 = first
    w2, x2, y2, z2 = second
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def _check_image_shape(image_shape: tuple[int, int]) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape: expected (height, width), got {image_shape!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"image_shape: expected positive sizes, got {image_shape!r}")
    return height, width


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points: expected shape (N, 3), got {points.shape}")
    return points
