"""Stand-in copies of the affect databases, rendered from the morphable model (Table 1).

:func:`write_proxy` draws labels whose distribution is shaped like the real database's,
turns each label into a face (:mod:`affect.gallery.affect_mapping`: VA -> action units ->
blendshapes with a per-subject idiosyncrasy, or a basic expression's prototype), renders it
with :mod:`affect.datasets.proxy_faces`, and writes it through the database's own ``write_layout``,
so :func:`affect.datasets.load` reads the stand-in like the release. Every subject (every image
where a database has no identities) has an age, drawn as the stand-in age databases' ages
(:func:`affect.datasets.proxy_ages.draw_ages`) from a generator of its own, and the face shows
it; so the age analysis of Sec. 6.5 has ages to find. Sizes are Table 1's
database sizes (FER2013: its release's, :data:`PRETRAINING_SIZES`) times ``scale`` (with a
floor so every split and class appears). Stand-in
numbers are never real-data numbers: every picture is synthetic.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from affect.datasets import NAMES, PRETRAINING_NAMES, write_layout
from affect.datasets.common import Sample
from affect.datasets.proxy_faces import render_face, sample_scene, scene_camera, scene_shape
from affect.face.morphable_model import MorphableModel, load_default
from affect.gallery.affect_mapping import (
    EXPRESSION_VA,
    expression_to_blendshapes,
    fingerprint,
    sample_idiosyncrasy,
    va_to_blendshapes,
)
from affect.profiles import Profile

__all__ = ["RECORD", "TABLE_1_SIZES", "PRETRAINING_SIZES", "ensure_proxy", "write_proxy"]

#: File in a stand-in's folder recording the scale and seed it was written with.
RECORD = "proxy.json"
#: Version of the stand-in pictures (:mod:`affect.datasets.proxy_faces`), raised whenever they
#: change (2: faces show the subject's age), so that older stand-ins are written again.
FACES_VERSION = 2

#: Database sizes of Table 1 (images, or video frames for A/V databases).
TABLE_1_SIZES = {
    "affectnet": 450000,
    "affwild": 1224094,
    "afew_va": 30050,
    "recola": 345000,
    "rafdb": 19293,
    "afew": 41406,
    "bu3dfe": 2500,
}
#: Sizes of the databases only pretrained on (:data:`affect.datasets.PRETRAINING_NAMES`): FER2013's
#: 28,709 training, 3,589 public-test and 3,589 private-test faces (Goodfellow et al. 2013).
PRETRAINING_SIZES = {"fer2013": 35887}
_SIZES = {**TABLE_1_SIZES, **PRETRAINING_SIZES}
_KNOWN = (*NAMES, *PRETRAINING_NAMES)

#: Class counts of the real databases, which shape the stand-ins' label distributions.
#: AffectNet: manually annotated training set (Mollahosseini et al. 2017, Table 4);
#: RAF-DB: basic-emotion subset, train + test (Li et al. 2017); AFEW 5.0: Train + Val clips
#: per class (Dhall et al., EmotiW 2015), approximate.
CLASS_COUNTS = {
    "affectnet": {
        "neutral": 74874,
        "happiness": 134415,
        "sadness": 25459,
        "surprise": 14090,
        "fear": 6378,
        "disgust": 3803,
        "anger": 24882,
        "contempt": 3750,
    },
    "rafdb": {
        "surprise": 1619,
        "fear": 355,
        "disgust": 877,
        "happiness": 5957,
        "sadness": 2460,
        "anger": 867,
        "neutral": 3204,
    },
    "afew": {
        "anger": 197,
        "disgust": 114,
        "fear": 127,
        "happiness": 212,
        "neutral": 216,
        "sadness": 178,
        "surprise": 120,
    },
    # FER2013: all three parts of the release, by emotion code (Goodfellow et al. 2013).
    "fer2013": {
        "anger": 4953,
        "disgust": 547,
        "fear": 5121,
        "happiness": 8989,
        "sadness": 6077,
        "surprise": 4002,
        "neutral": 6198,
    },
}

# Valence-arousal of the two classes without a Russell & Mehrabian anchor (design choice):
# neutral at the centre, contempt mildly negative and calm.
_EXTRA_VA = {"neutral": (0.0, 0.0), "contempt": (-0.45, 0.15)}
_CONDITION = {
    "affectnet": "in-the-wild",
    "affwild": "in-the-wild",
    "afew_va": "in-the-wild",
    "rafdb": "in-the-wild",
    "afew": "in-the-wild",
    "recola": "controlled",
    "bu3dfe": "controlled",
    "fer2013": "in-the-wild",
}
# RAF-DB aligned faces: 100 px; FER2013's faces are cut from a 96 px render to its 48 px.
_IMAGE_SIZE = {"affectnet": 256, "rafdb": 100, "bu3dfe": 256, "fer2013": 96}
# The splits dealt in turn to a categorical stand-in's images (FER2013: 8 : 1 : 1, as its release).
_SPLIT_CYCLE = {
    "afew": ["train", "val"],
    "fer2013": ["train"] * 8 + ["val", "test"],
}
_VIDEO_SIZE = 160
# Seeds of the label generator and of per-subject idiosyncrasies are offset from the seed
# the VA gallery stand-in uses, so the same `seed` never gives the gallery's faces.
_SEED_OFFSET = 7919
_AGE_SEED_OFFSET = 7927  # ages have their own generator: labels and scenes do not depend on them


def _expression_weights(model: MorphableModel, name: str, intensity: float, idiosyncrasy) -> np.ndarray:
    if name == "neutral":
        return np.zeros(model.n_expression)
    if name == "contempt":  # unilateral lip-corner raise and dimple (AU 12 + 14, one side)
        return model.expression_vector({"mouthSmile_L": 0.5 * intensity, "mouthDimple_L": 0.6 * intensity})
    return expression_to_blendshapes(name, intensity, model.expression_names, idiosyncrasy)


def _va_path(rng: np.random.Generator, frames: int, centre: np.ndarray) -> np.ndarray:
    """A smooth VA trace: an AR(1) walk around ``centre`` (25 fps, ~2 s memory), in the disk."""
    path = np.empty((frames, 2))
    state = centre + rng.normal(0, 0.15, 2)
    for t in range(frames):
        state = centre + 0.98 * (state - centre) + rng.normal(0, 0.03, 2)
        path[t] = state
    radius = np.maximum(np.linalg.norm(path, axis=1, keepdims=True), 1.0)
    return path / radius


def _categorical(name, n, rng, model, condition, size, splits):
    counts = CLASS_COUNTS[name]
    classes = list(counts)
    chosen = rng.choice(len(classes), n, p=np.array(list(counts.values())) / sum(counts.values()))
    chosen[: len(classes)] = np.arange(len(classes))  # every class at least once
    samples = []
    for i, k in enumerate(chosen):
        expression = classes[k]
        intensity = float(rng.uniform(0.5, 1.0))
        weights = _expression_weights(model, expression, intensity, sample_idiosyncrasy(int(rng.integers(2**31))))
        va = np.array(EXPRESSION_VA.get(expression, _EXTRA_VA.get(expression))) * intensity
        va = np.clip(va + rng.normal(0, 0.12, 2), -1, 1)
        scene = sample_scene(rng, condition, model=model, expression=weights, image_shape=(size, size))
        samples.append((scene, splits[i % len(splits)], "", "", va, expression))
    return samples


def _sequences(rng, model, condition, size, subjects, frames, clip_name, split_of):
    samples = []
    for s in range(subjects):
        identity = model.sample_identity(seed=int(rng.integers(2**31)))
        idiosyncrasy = sample_idiosyncrasy(int(rng.integers(2**31)))
        # Positive valence and moderate arousal dominate the in-the-wild VA databases.
        centre = np.clip(rng.normal([0.15, 0.1], 0.35), -0.8, 0.8)
        path = _va_path(rng, frames, centre)
        # Each recording opens at rest: annotators' joysticks sit at exactly (0, 0) until the
        # first expression, which gives the VA databases their neutral frames (Sec. 6.2.1).
        path[: max(2, frames // 5)] = 0.0
        weights = va_to_blendshapes(path, model.expression_names, idiosyncrasy)
        base = sample_scene(rng, condition, model=model, identity=identity, image_shape=(size, size), max_yaw=30)
        for t in range(frames):
            scene = _drift(base, weights[t], t)
            samples.append((scene, split_of(s), f"{s + 1:03d}", clip_name(s), path[t], None))
    return samples


def _drift(base, expression, t: int):
    """The subject's scene at frame t: same person and setting, slowly moving head."""
    return replace(
        base,
        expression=expression,
        yaw=float(np.clip(base.yaw + 8 * np.sin(t / 40), -90, 90)),
        pitch=float(np.clip(base.pitch + 4 * np.sin(t / 55 + 1), -90, 90)),
        seed=base.seed + t,
    )


def write_proxy(
    name: str, root: str | os.PathLike, scale: float = 1e-3, seed: int = 0, model: MorphableModel | None = None
) -> Path:
    """Write a stand-in copy of database ``name`` under ``root`` that its loader reads.

    Parameters
    ----------
    name : str
        One of :data:`affect.datasets.NAMES` or :data:`affect.datasets.PRETRAINING_NAMES`.
    root : path
        Folder to create.
    scale : float
        Fraction of Table 1's size to write (default 1/1000; at least a few samples per
        class or sequence).
    seed : int
        Seed of labels, identities, scenes and idiosyncrasies.
    model : MorphableModel, optional
        Defaults to :func:`affect.face.morphable_model.load_default`.

    Returns
    -------
    Path returned by the database's ``write_layout``.
    """
    if name not in _KNOWN:
        raise ValueError(f"name: unknown database {name!r}; known: {', '.join(_KNOWN)}")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale: expected a positive fraction, got {scale!r}")
    model = load_default() if model is None else model
    rng = np.random.default_rng([seed, _SEED_OFFSET])
    n = int(round(_SIZES[name] * scale))
    condition = _CONDITION[name]
    options = {}
    if name in CLASS_COUNTS:
        count = max(n, 2 * len(CLASS_COUNTS[name]))
        size = _IMAGE_SIZE.get(name, _VIDEO_SIZE)
        splits = _SPLIT_CYCLE.get(name, ["train", "train", "train", "test"])
        drawn = _categorical(name, count, rng, model, condition, size, splits)
        if name == "afew":  # one short clip per sample, the frames share the expression
            drawn = [
                (scene, split, "", f"{i + 1:09d}", va, expr)
                for i, (scene, split, _, _, va, expr) in enumerate(drawn)
                for _ in range(3)
            ]
        if name == "affectnet":
            options["seed"] = seed
    elif name == "bu3dfe":
        drawn = []
        for s in range(max(2, n // 25)):  # two subjects at least: the protocol is person-independent CV
            subject = f"{'FM'[s % 2]}{s + 1:04d}"
            identity = model.sample_identity(seed=int(rng.integers(2**31)))
            idiosyncrasy = sample_idiosyncrasy(int(rng.integers(2**31)))
            labels = [("neutral", 0.0)] + [(e, i / 4) for e in sorted(EXPRESSION_VA) for i in range(1, 5)]
            for expression, intensity in labels:
                weights = _expression_weights(model, expression, intensity, idiosyncrasy)
                scene = sample_scene(
                    rng,
                    condition,
                    model=model,
                    identity=identity,
                    expression=weights,
                    image_shape=(_IMAGE_SIZE[name],) * 2,
                )
                drawn.append((scene, "all", subject, "", (np.nan, np.nan), expression))
    else:
        # Frames per sequence: a few seconds at 25 fps, fewer for tiny stand-ins.
        frames = int(np.clip(n // 2, 5, {"affwild": 50, "afew_va": 30, "recola": 100}[name]))
        subjects = max(2, n // frames)
        clip = {
            "affwild": lambda s: f"{s + 1:03d}",
            "afew_va": lambda s: f"{s + 1:03d}",
            "recola": lambda s: f"{'train' if s % 2 == 0 else 'dev'}_{s // 2 + 1}",
        }[name]
        split = {
            "affwild": lambda s: "train" if s % 4 else "test",
            "afew_va": lambda s: "all",
            "recola": lambda s: "train" if s % 2 == 0 else "dev",
        }[name]
        drawn = _sequences(rng, model, condition, _VIDEO_SIZE, subjects, frames, clip, split)
    drawn = _with_ages(drawn, seed)
    records = [_sample(model, *item) for item in drawn]
    return write_layout(name, root, records, **options)


def _with_ages(drawn: list[tuple], seed: int) -> list[tuple]:
    """Give every subject (else sequence, else image) one age and put it into its scenes."""
    from affect.datasets.proxy_ages import draw_ages

    keys = [subject or sequence or f"#{i}" for i, (_, _, subject, sequence, _, _) in enumerate(drawn)]
    unique = list(dict.fromkeys(keys))
    ages = dict(zip(unique, draw_ages(np.random.default_rng([seed, _AGE_SEED_OFFSET]), len(unique))))
    return [(replace(item[0], age=float(ages[key])), *item[1:]) for key, item in zip(keys, drawn)]


def ensure_proxy(
    name: str,
    data_root: str | os.PathLike,
    profile: Profile | None = None,
    seed: int = 0,
    *,
    scale: float | None = None,
    overwrite: bool = False,
) -> Path:
    """The stand-in of database ``name`` under ``data_root/name``, written if absent.

    Sizes come from ``profile`` (:func:`affect.profiles.data_scale`) unless ``scale`` is
    given; one of the two is needed. The copy is written beside its final folder and renamed
    when complete, so a killed run never leaves half a database. An existing copy is kept
    unless ``overwrite``, or unless its record (:data:`RECORD`) is missing or says it was
    written at another size or seed or with another affect mapping
    (:func:`affect.gallery.affect_mapping.fingerprint`) or version of the pictures
    (:data:`FACES_VERSION`): then it is written again.
    """
    import shutil

    from affect import profiles

    if name not in _KNOWN:
        raise ValueError(f"name: unknown database {name!r}; known: {', '.join(_KNOWN)}")
    if scale is None and profile is None:
        raise ValueError("profile: needed when no scale is given")
    target = Path(data_root) / name
    scale = scale if scale is not None else profiles.data_scale(profile, _SIZES[name], name)
    record = {
        "database": name,
        "scale": float(scale),
        "seed": int(seed),
        "mapping": fingerprint(),
        "faces": FACES_VERSION,
    }
    if target.exists() and not overwrite and _record(target) == record:
        return target
    partial = target.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    write_proxy(name, partial, scale=scale, seed=seed)
    (partial / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _sample(model, scene, split, subject, sequence, va, expression) -> Sample:
    camera = scene_camera(scene, model)
    landmarks = camera.project(model.landmarks(scene_shape(scene, model)))
    return Sample(
        image=lambda: render_face(scene, model)[0],
        split=split,
        subject=subject,
        sequence=sequence,
        valence=float(va[0]),
        arousal=float(va[1]),
        expression=expression,
        landmarks=landmarks,
    )
