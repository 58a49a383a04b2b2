"""Identity descriptors: does a synthesized face still look like the input person?

The paper's synthesis (Sec. 4) must change the expression of a face and keep its identity.
This module measures the latter with dlib's ResNet face-recognition model: a 128-D
descriptor per face, compared by Euclidean distance. The model was trained so that two
photos of one person lie closer than :data:`SAME_PERSON_THRESHOLD`.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from affect.face.landmarks import FaceNotFoundError, landmarks_for, model_file
from affect.image import as_rgb_image

__all__ = ["SAME_PERSON_THRESHOLD", "DESCRIPTOR_SIZE", "face_descriptor", "identity_distance"]

# dlib's documented decision threshold for dlib_face_recognition_resnet_model_v1: descriptors
# closer than 0.6 are taken as the same person, which gives 99.38 % accuracy on the LFW
# benchmark (dlib's dnn_face_recognition_ex.cpp example and the model's release notes).
SAME_PERSON_THRESHOLD = 0.6

DESCRIPTOR_SIZE = 128


@functools.cache
def _recognition_model():
    import dlib

    weights = model_file("dlib_face_recognition_resnet_model_v1.dat")
    return dlib.face_recognition_model_v1(str(weights))


def face_descriptor(
    image: str | os.PathLike | np.ndarray,
    landmarks: str | os.PathLike | np.ndarray | None = None,
) -> np.ndarray:
    """Compute the 128-D identity descriptor of the main face in a photo.

    dlib aligns the face by a similarity transform taking its landmarks (all but the jaw)
    onto a mean face, crops it to 150 x 150 pixels with 25 % padding, and passes the crop
    through its ResNet.

    Parameters
    ----------
    image : str, path-like or ndarray
        The photo: a file, or ``(H, W, 3)`` / ``(H, W)`` uint8 or float in [0, 1].
    landmarks : str, path-like, ndarray or None
        ``(68, 2)`` (x, y) landmarks or a ``.pts`` file; detected when omitted.

    Returns
    -------
    (128,) float64 array (dimensionless; photos of different people typically lie 0.7 to 1
    apart).

    Raises
    ------
    FaceNotFoundError
        ``landmarks`` omitted and no face detected.
    """
    import dlib

    pixels = as_rgb_image(image)
    try:
        points = landmarks_for(pixels, landmarks)
    except FaceNotFoundError as error:
        if isinstance(image, (str, os.PathLike)):
            raise FaceNotFoundError(image, str(error)) from None
        raise
    left, top = np.floor(points.min(axis=0)).astype(int)
    right, bottom = np.ceil(points.max(axis=0)).astype(int)
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in points]
    shape = dlib.full_object_detection(dlib.rectangle(left, top, right, bottom), parts)
    descriptor = _recognition_model().compute_face_descriptor(pixels, shape)
    return np.asarray(descriptor, dtype=np.float64)


def identity_distance(
    image_a: str | os.PathLike | np.ndarray,
    image_b: str | os.PathLike | np.ndarray,
    landmarks_a: str | os.PathLike | np.ndarray | None = None,
    landmarks_b: str | os.PathLike | np.ndarray | None = None,
) -> float:
    """Euclidean distance between the identity descriptors of two faces.

    Below :data:`SAME_PERSON_THRESHOLD` (0.6) the faces are taken as the same person.

    Parameters
    ----------
    image_a, image_b : str, path-like or ndarray
        The two photos (see :func:`face_descriptor`).
    landmarks_a, landmarks_b : optional
        Their landmarks, detected when omitted.

    Returns
    -------
    float, >= 0.
    """
    a = face_descriptor(image_a, landmarks_a)
    b = face_descriptor(image_b, landmarks_b)
    return float(np.linalg.norm(a - b))
