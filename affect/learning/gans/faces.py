"""Training faces of the GAN baselines: gallery frames rendered into face crops with their VA labels (Sec. 6.1.2).

The paper trains StarGAN and GANimation on the same VA-annotated 4D gallery as its own method.
A gallery frame is a mesh; :func:`render_gallery_frames` draws a seeded sample of frames with
the stand-in renderer (:func:`affect.datasets.proxy_faces.render_face`): one skin, hair and
light per subject, a near-frontal head, a plain background. :func:`gallery_faces` crops them
through the prepared-face cache (:func:`affect.learning.prepared.prepare`), so a second run
with the same gallery, sample and size reads the crops from disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from affect.files import atomic_write_text
from affect.learning.prepared import PreparedFaces, prepare

__all__ = ["render_gallery_frames", "gallery_faces", "RENDER_FACTOR"]

#: Rendered photo side over crop side: the crop (1.3 times the landmark box) is resampled down.
RENDER_FACTOR = 2
_CHUNK = 256  # meshes computed at once


def _sample_rows(gallery, n_frames: int, seed: int) -> np.ndarray:
    """Positions of ``n_frames`` gallery frames, a seeded sample without replacement, in order."""
    total = len(gallery.frames)
    if total == 0:
        raise ValueError(f"{gallery.root}: the gallery has no frames")
    chosen = np.random.default_rng([seed, 7]).choice(total, size=min(n_frames, total), replace=False)
    return np.sort(chosen)


def render_gallery_frames(
    gallery, n_frames: int, out_dir: str | os.PathLike, *, image_size: int, seed: int = 0, progress: bool = False
) -> pd.DataFrame:
    """Render a seeded sample of gallery frames as photos with landmarks and VA labels.

    Parameters
    ----------
    gallery : affect.gallery.fourdfab.Gallery
    n_frames : int
        Frames drawn (all of them if the gallery holds fewer).
    out_dir : path
        Receives ``<position>.png`` per frame and ``frames.json`` when complete; a folder
        holding ``frames.json`` is read, not rendered again.
    image_size : int
        Side of the rendered photos, px.
    seed : int
        Seed of the frame sample and of the scenes.

    Returns
    -------
    DataFrame in the database schema (``path, subject, sequence, frame, valence, arousal,
    expression, landmarks``), one row per frame.
    """
    from tqdm.auto import tqdm

    from affect.augmentation.targets import derived_seed
    from affect.datasets.proxy_faces import render_face, sample_scene
    from affect.face.morphable_model import load_default
    from affect.image import write_image

    out = Path(out_dir)
    done = out / "frames.json"
    if done.is_file():
        return _read_frames(done)
    model = gallery.model or load_default()
    rows = _sample_rows(gallery, n_frames, seed)
    frames = gallery.frames.iloc[rows]
    scenes: dict[str, object] = {}
    records = []
    bar = tqdm(total=len(rows), desc="rendering gallery frames", unit="frame", disable=not progress)
    for start in range(0, len(rows), _CHUNK):
        part = frames.iloc[start : start + _CHUNK]
        for (position, frame), mesh in zip(part.iterrows(), gallery.meshes(part)):
            subject = str(frame["subject"])
            if subject not in scenes:
                scenes[subject] = sample_scene(
                    derived_seed(seed, "gan-scene", subject),
                    "controlled",
                    model=model,
                    image_shape=(image_size, image_size),
                )
            scene = dataclasses.replace(scenes[subject], seed=derived_seed(seed, "gan-frame", str(position)) % 2**31)
            image, landmarks = render_face(scene, model, shape=mesh)
            path = out / f"{int(position):08d}.png"
            write_image(path, image)
            records.append(
                {
                    "path": str(path),
                    "subject": subject,
                    "sequence": str(frame["sequence"]),
                    "frame": int(frame["frame"]),
                    "valence": float(frame["valence"]),
                    "arousal": float(frame["arousal"]),
                    "expression": None,
                    "landmarks": landmarks.round(3).tolist(),
                }
            )
            bar.update()
    bar.close()
    atomic_write_text(done, json.dumps(records))
    return _read_frames(done)


def _read_frames(path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(json.loads(path.read_text()))
    frame["landmarks"] = [np.asarray(m, dtype=np.float64) for m in frame["landmarks"]]
    return frame


def gallery_faces(
    gallery, n_frames: int, image_size: int, cache_root: str | os.PathLike, *, seed: int = 0, progress: bool = False
) -> PreparedFaces:
    """Aligned face crops of a seeded sample of gallery frames, with their VA labels.

    The rendered photos go to ``<cache_root>/gallery-renders-<key>`` (the key hashes the
    gallery folder, its frame count, ``n_frames``, the render size and ``seed``); their crops
    to the prepared-face cache under ``cache_root``.

    Returns
    -------
    PreparedFaces of (N, image_size, image_size, 3) crops; ``index`` holds valence and arousal.
    """
    render = RENDER_FACTOR * image_size
    key = hashlib.sha256(
        json.dumps([str(Path(gallery.root).resolve()), len(gallery.frames), int(n_frames), render, int(seed)]).encode()
    ).hexdigest()[:16]
    frame = render_gallery_frames(
        gallery, n_frames, Path(cache_root) / f"gallery-renders-{key}", image_size=render, seed=seed, progress=progress
    )
    return prepare(frame, cache_root, image_size, label="gallery", progress=progress)
