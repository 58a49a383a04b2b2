"""The VA plane's geometry and drawn paths."""

import numpy as np
import pytest

from affect.explorer.plane import PlaneGeometry, path_length, resample_path


def test_pixels_and_va_points_map_both_ways():
    geometry = PlaneGeometry(size=300, margin=30)
    x, y = geometry.to_pixels(-0.5, 0.25)
    assert geometry.to_va(float(x), float(y)) == pytest.approx((-0.5, 0.25))
    assert geometry.to_pixels(0, 0) == (150, 150)


def test_a_pointer_outside_the_disk_is_pulled_onto_its_edge():
    geometry = PlaneGeometry(size=300, margin=30)
    valence, arousal = geometry.to_va(299, 1)
    assert np.hypot(valence, arousal) == pytest.approx(1.0)
    assert valence > 0 and arousal > 0


def test_a_stroke_is_resampled_evenly_along_its_length_keeping_its_ends():
    stroke = [(0.0, 0.0), (0.1, 0.0), (0.9, 0.0)]
    path = resample_path(stroke, frames=10)
    assert path.shape == (10, 2)
    assert path[0] == pytest.approx((0, 0)) and path[-1] == pytest.approx((0.9, 0))
    assert np.diff(path[:, 0]) == pytest.approx(np.full(9, 0.1))
    assert path_length(stroke) == pytest.approx(0.9)


def test_a_stroke_that_does_not_move_gives_a_still_path():
    assert resample_path([(0.2, 0.3)], frames=4) == pytest.approx(np.tile((0.2, 0.3), (4, 1)))


def test_a_path_needs_two_frames():
    with pytest.raises(ValueError, match="frames: expected at least 2"):
        resample_path([(0, 0), (1, 0)], frames=1)
