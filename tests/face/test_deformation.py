import numpy as np
import pytest

from affect.face.deformation import affect_delta, deform


def test_deformation_carries_the_generated_expression_onto_another_face():
    rng = np.random.default_rng(0)
    template = rng.normal(size=(6, 3))
    generated = template + rng.normal(scale=0.1, size=(6, 3))
    reconstructed = template * 1.2 + 0.5  # a different identity
    delta = affect_delta(generated, template)
    np.testing.assert_allclose(delta, generated - template)
    new = deform(reconstructed, delta)
    np.testing.assert_allclose(new - reconstructed, generated - template)
    np.testing.assert_allclose(deform(template, delta), generated)


def test_neutral_affect_leaves_the_face_unchanged():
    face = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(deform(face, affect_delta(face * 0 + 1, face * 0 + 1)), face)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((4, 3)), np.zeros((5, 3)), "same number of vertices"),
        (np.zeros((4, 2)), np.zeros((4, 2)), r"\(N, 3\)"),
        (np.full((4, 3), np.nan), np.zeros((4, 3)), "NaN"),
    ],
)
def test_mismatched_meshes_are_rejected(a, b, message):
    with pytest.raises(ValueError, match=message):
        affect_delta(a, b)
    with pytest.raises(ValueError, match=message):
        deform(a, b)
