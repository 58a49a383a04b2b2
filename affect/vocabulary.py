"""The kit's shared words: where data comes from, the face detectors, the expressions, the
iBUG-68 landmark regions, and the one check every validator uses.

Every module that names one of these imports it from here, so a word has one spelling and one
definition. Errors of the kit read ``name: expected ..., got ...`` (:func:`check_choice` for a
choice among names).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

__all__ = [
    "SOURCES",
    "DETECTORS",
    "EXPRESSIONS",
    "BASIC_EXPRESSIONS",
    "N_LANDMARKS",
    "JAW",
    "RIGHT_BROW",
    "LEFT_BROW",
    "BROWS",
    "NOSE_BRIDGE",
    "NOSE_BASE",
    "RIGHT_EYE",
    "LEFT_EYE",
    "EYES",
    "BOTH_EYES",
    "OUTER_LIPS",
    "INNER_LIPS",
    "MOUTH",
    "check_choice",
]

#: Where a run's data comes from: the kit's procedural stand-ins ("proxy": every table and
#: figure made from them says so) or the licensed databases the user holds ("real").
SOURCES: tuple[str, ...] = ("proxy", "real")

#: dlib's face detectors: the HOG + linear SVM detector and the CNN (MMOD) detector.
DETECTORS: tuple[str, ...] = ("hog", "cnn")

#: The expression labels of the databases (Sec. 5): the six basic ones, neutral and contempt.
EXPRESSIONS: tuple[str, ...] = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "contempt")

#: The six basic expressions of the paper (Sec. 3.1, Fig. 1), in a fixed order.
BASIC_EXPRESSIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")

#: Landmarks per face in the iBUG 68-point markup (300-W).
N_LANDMARKS = 68

# The iBUG-68 regions as 0-based slices of a (68, 2) landmark array. "Right" and "left" are
# the person's: the right eye (36-41) lies on the image's left in a frontal photo.
JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)
LEFT_BROW = slice(22, 27)
BROWS = slice(17, 27)
NOSE_BRIDGE = slice(27, 31)
NOSE_BASE = slice(31, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
EYES = (RIGHT_EYE, LEFT_EYE)
BOTH_EYES = slice(36, 48)
OUTER_LIPS = slice(48, 60)
INNER_LIPS = slice(60, 68)
MOUTH = slice(48, 68)

T = TypeVar("T")


def check_choice(name: str, value: T, choices: Collection[T]) -> T:
    """Return ``value`` if it is one of ``choices``; else raise the kit's one-line error.

    >>> check_choice("data_source", "real", SOURCES)
    'real'
    """
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    return value
