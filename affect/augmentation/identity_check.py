"""The identity check of a build (Sec. 6.2): which images are measured, and the descriptors compared.

Each measured image's dlib identity-descriptor distance to its source photo goes to the manifest
(:mod:`affect.face.recognition`); at scale only a seeded sample of the images is measured
(:func:`identity_sample`), in groups of up to :data:`IDENTITY_GROUP` images of one photo.
"""

from __future__ import annotations

import numpy as np

from affect.augmentation.targets import derived_seed

#: Images of one photo measured together in the identity sample (see :func:`identity_sample`).
IDENTITY_GROUP = 6


def identity_sample(jobs: list[dict], seed: int, every: int) -> list[dict]:
    """The jobs of one photo whose identity is measured: a seeded 1 in ``every`` of all images.

    The source's own descriptor (dlib's ResNet, about 80 ms of CPU) is needed wherever one of
    its images is measured, so the sample is gathered in groups of :data:`IDENTITY_GROUP`
    images of one photo: a photo with ``n`` images is picked with probability ``n / (g *
    every)``, where ``g = min(n, IDENTITY_GROUP)``, and then ``g`` of its images are measured
    (each measured image then carries a sixth of the source's descriptor, not all of it). A
    photo with ``n >= IDENTITY_GROUP * every`` images has each measured with probability
    ``1 / every`` instead. Either way 1 image in ``every`` is measured on average, and the choice depends
    only on the seed and the output names (a photo is named by its first output, so the choice
    does not change when the database moves), not on the engine or the order.
    """
    if every == 1:
        return jobs
    n = len(jobs)
    group = min(n, IDENTITY_GROUP)
    if n >= IDENTITY_GROUP * every:
        return [job for job in jobs if derived_seed(seed, "identity", job["output"]) % every == 0]
    photo = min(job["output"] for job in jobs)
    if derived_seed(seed, "identity-photo", photo) % (group * every) >= n:
        return []
    return sorted(jobs, key=lambda job: derived_seed(seed, "identity", job["output"]))[:group]


#: How the identity distances of a kind's manifest were measured (recorded in
#: :data:`~affect.augmentation.manifest.SETTINGS_FILE`).
IDENTITY_SAMPLE = (
    "1 image in {every} on average, in groups of up to {group} images of one source photo; "
    "dlib descriptor distance between source and output, the output's landmarks located in "
    "the source's detected face box"
)


def identity_descriptor(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray | None:
    """dlib identity descriptor, None where no face is found (``landmarks`` None: detected)."""
    from affect.face.landmarks import FaceNotFoundError
    from affect.face.recognition import face_descriptor

    try:
        return face_descriptor(image, landmarks)
    except FaceNotFoundError:
        return None


def landmarks_in(image: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray | None:
    """(68, 2) landmarks located in a known face box (None: detect the face, see :func:`identity_descriptor`)."""
    from affect.face.landmarks import detect_landmarks

    return None if box is None else detect_landmarks(image, box)
