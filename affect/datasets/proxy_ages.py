"""A stand-in for the age databases of Sec. 6.5: faces that show their age, in the real formats.

The paper's age estimator trains on IMDB and Adience and is tested on WIKI; those databases
are the user's. The stand-in renders faces of the kit's morphable model with an age
(:class:`affect.datasets.proxy_faces.SceneParameters` ``age``: greying hair, wrinkles, a
child's proportions) and writes them through the real writers, so the loaders read it like
the releases:

    <root>/imdb_wiki/imdb_crop/imdb.mat + crops    60 % of the subjects (training)
    <root>/imdb_wiki/wiki_crop/wiki.mat + crops    20 % (the held-out test set, as in Sec. 6.5)
    <root>/adience/fold_<k>_data.txt + faces/      20 % (training; ages written as Adience's ranges)

Each subject has one to three photos at one age, in the wild (pose, light, background, blur,
noise, JPEG), with a neutral face or a basic expression. Ages: a quarter of the subjects are
1 to 20 years old (the young faces IMDB lacks, the reason the paper adds Adience), the rest
18 + 67 Beta(1.6, 2.4) (mostly young and middle-aged adults, as IMDB-WIKI). Stand-in ages
are the ages drawn, not the appearance of real people.
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from affect.datasets import adience, imdb_wiki
from affect.datasets.imdb_wiki import AgeSample
from affect.datasets.proxy_faces import render_face, sample_scene, scene_camera, scene_shape
from affect.face.morphable_model import MorphableModel, load_default
from affect.gallery.affect_mapping import expression_to_blendshapes, sample_idiosyncrasy
from affect.profiles import Profile
from affect.vocabulary import BASIC_EXPRESSIONS

__all__ = ["PART_SHARES", "draw_ages", "write_age_proxy", "ensure_age_proxy"]

#: Share of the stand-in's subjects in each part (IMDB, WIKI, Adience).
PART_SHARES = {"imdb": 0.6, "wiki": 0.2, "adience": 0.2}
_SEED_OFFSET = 6151  # apart from the seeds of the affect stand-ins and the gallery
_YOUNG_SHARE = 0.25


def draw_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages of ``n`` stand-in subjects, integer years (see the module docstring)."""
    young = rng.random(n) < _YOUNG_SHARE
    adults = 18 + 67 * rng.beta(1.6, 2.4, n)
    return np.rint(np.where(young, rng.uniform(1, 20, n), adults)).astype(int)


def _face(
    model: MorphableModel, rng: np.random.Generator, identity: np.ndarray, idiosyncrasy, age: int, image_size: int
):
    """A scene of one photo and the landmark box ``(x1, y1, x2, y2)`` of its face, pixels."""
    expression = None
    if rng.random() < 0.5:
        name = BASIC_EXPRESSIONS[int(rng.integers(len(BASIC_EXPRESSIONS)))]
        expression = expression_to_blendshapes(name, float(rng.uniform(0.3, 1.0)), model.expression_names, idiosyncrasy)
    scene = sample_scene(
        rng,
        "in-the-wild",
        model=model,
        identity=identity,
        expression=expression,
        image_shape=(image_size, image_size),
        max_yaw=35,
    )
    scene = replace(scene, age=float(age))
    points = scene_camera(scene, model).project(model.landmarks(scene_shape(scene, model)))
    return scene, (*points.min(axis=0), *points.max(axis=0))


#: Side of an Adience stand-in crop over its face box: the release's crops show the head around
#: the face (the age estimator's context, :data:`affect.learning.age_estimator.CONTEXT`).
_ADIENCE_CONTEXT = 1.6


def _square_crop(image: np.ndarray, box) -> np.ndarray:
    """The square around the box centre, :data:`_ADIENCE_CONTEXT` times its larger side: Adience's crop."""
    import cv2

    x1, y1, x2, y2 = box
    side = _ADIENCE_CONTEXT * max(x2 - x1, y2 - y1)
    left, top = (x1 + x2 - side) / 2, (y1 + y2 - side) / 2
    size = int(round(side))
    matrix = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _photo(scene, model: MorphableModel, crop) -> np.ndarray:
    """Render a scene (when the writer asks for its pixels), cropped to ``crop`` if given."""
    image = render_face(scene, model)[0]
    return image if crop is None else _square_crop(image, crop)


def write_age_proxy(
    root: str | os.PathLike, n_faces: int, *, seed: int = 0, image_size: int = 96, model: MorphableModel | None = None
) -> Path:
    """Write the stand-in IMDB-WIKI and Adience under ``root`` (``imdb_wiki/``, ``adience/``).

    Parameters
    ----------
    root : path
    n_faces : int
        Photos in all three parts together (at least 30).
    seed : int
        Seed of subjects, ages, scenes and expressions.
    image_size : int
        Side of the IMDB-WIKI photos, px (Adience's crops are cut from them).
    model : MorphableModel, optional

    Returns
    -------
    ``root``.
    """
    if n_faces < 30:
        raise ValueError(f"n_faces: the stand-in needs at least 30 faces, got {n_faces}")
    model = load_default() if model is None else model
    rng = np.random.default_rng([seed, _SEED_OFFSET])
    photos = rng.integers(1, 4, n_faces)  # photos per subject
    subjects = int(np.searchsorted(np.cumsum(photos), n_faces)) + 1
    photos = photos[:subjects]
    photos[-1] -= photos.sum() - n_faces
    ages = draw_ages(rng, subjects)
    parts = rng.choice(list(PART_SHARES), subjects, p=list(PART_SHARES.values()))
    parts[:3] = list(PART_SHARES)  # every part has a subject
    records: dict[str, list[AgeSample]] = {part: [] for part in PART_SHARES}
    for s in range(subjects):
        identity = model.sample_identity(seed=int(rng.integers(2**31)))
        idiosyncrasy = sample_idiosyncrasy(int(rng.integers(2**31)))
        gender = ("female", "male")[int(rng.integers(2))]
        for _ in range(int(photos[s])):
            scene, box = _face(model, rng, identity, idiosyncrasy, int(ages[s]), image_size)
            crop = box if parts[s] == "adience" else None  # Adience holds the face crop itself
            if crop is not None:
                side = int(round(_ADIENCE_CONTEXT * max(box[2] - box[0], box[3] - box[1])))
                box = (0.0, 0.0, float(side), float(side))
            records[str(parts[s])].append(
                AgeSample(functools.partial(_photo, scene, model, crop), f"p{s + 1:05d}", int(ages[s]), box, gender)
            )
    root = Path(root)
    for part in ("imdb", "wiki"):
        imdb_wiki.write_layout(root / "imdb_wiki", records[part], part=part)
    adience.write_layout(root / "adience", records["adience"])
    return root


def ensure_age_proxy(data_root: str | os.PathLike, profile: Profile, seed: int = 0, *, overwrite: bool = False) -> Path:
    """The stand-in age databases under ``data_root`` (``imdb_wiki/``, ``adience/``), written if absent.

    Sizes come from ``profile`` (:func:`affect.profiles.age_estimator`). The copy is written beside its final
    folders and moved in when complete, so a killed run leaves no half database.
    """
    from affect import profiles

    sizes = profiles.age_estimator(profile)
    data_root = Path(data_root)
    targets = [data_root / "imdb_wiki", data_root / "adience"]
    if all(t.exists() for t in targets) and not overwrite:
        return data_root
    partial = data_root / ".age-proxy.partial"
    shutil.rmtree(partial, ignore_errors=True)
    write_age_proxy(partial, sizes.proxy_faces, seed=seed, image_size=sizes.image_size)
    for target in targets:
        shutil.rmtree(target, ignore_errors=True)
        (partial / target.name).rename(target)
    shutil.rmtree(partial, ignore_errors=True)
    return data_root
