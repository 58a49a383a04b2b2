"""Helpers behind the qualitative figures of Sec. 6.1."""

import numpy as np
import pandas as pd
import pytest

from affect.experiments import qualitative


def test_va_path_starts_and_ends_at_the_corners_and_is_evenly_spaced():
    path = qualitative.va_path(25)
    assert path.shape == (25, 2)
    assert np.allclose(path[0], qualitative.PATH_CORNERS[0]) and np.allclose(path[-1], qualitative.PATH_CORNERS[-1])
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    corners = np.array(qualitative.PATH_CORNERS)
    arc = np.linalg.norm(np.diff(corners, axis=0), axis=1).sum()
    assert np.allclose(np.median(steps), arc / 24) and steps.max() <= arc / 24 + 1e-9  # corners only shorten a step
    with pytest.raises(ValueError, match="n_frames"):
        qualitative.va_path(1)


def test_example_targets_lie_in_the_va_square():
    assert np.all(np.abs(np.array(qualitative.EXAMPLE_VA)) <= 1)


def test_identity_summary_aggregates_per_photo():
    rows = pd.DataFrame({"photo": ["a", "a", "b"], "target": ["x", "y", "x"],
                         "identity distance": [0.2, 0.4, 0.7], "same person (< 0.6)": [True, True, False],
                         "unchanged outside the face": [True, True, True]})
    summary = qualitative.identity_summary(rows)
    assert summary.loc["a", "images"] == 2 and summary.loc["a", "mean_identity_distance"] == pytest.approx(0.3)
    assert summary.loc["b", "same_person"] == 0.0


def test_face_crop_is_square_and_inside_the_image():
    image = np.zeros((100, 80, 3), np.uint8)
    rows, cols = qualitative.face_crop(image, np.array([[30.0, 40.0], [50.0, 60.0]]))
    assert 0 <= rows.start < rows.stop <= 100 and 0 <= cols.start < cols.stop <= 80
    assert rows.stop - rows.start == cols.stop - cols.start


def test_builtin_photos_rejects_more_than_exist():
    assert len(qualitative.builtin_photos(2)) == 2
    with pytest.raises(ValueError):
        qualitative.builtin_photos(9)
