"""Fake augmenters and tiny databases for the augmentation tests (importable by worker processes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd

from affect.image import write_image
from affect.vocabulary import BASIC_EXPRESSIONS


class TintAugmenter:
    """Tints the photo by its target and adds seeded noise; counts its calls."""

    def __init__(self):
        self.prepared = 0
        self.synthesized = 0
        self.landmarks = []

    def prepare(self, image, landmarks):
        self.prepared += 1
        self.landmarks.append(landmarks)
        return image.astype(np.int16)

    def synthesize(self, state, target, seed):
        self.synthesized += 1
        if target.expression is not None:
            tint = np.array([BASIC_EXPRESSIONS.index(target.expression) * 20, 0, 0])
        else:
            tint = np.array([0, 60 * target.valence, 60 * target.arousal])
        noise = np.random.default_rng(seed).integers(-3, 4, size=state.shape)
        return np.clip(state + tint.astype(np.int16) + noise, 0, 255).astype(np.uint8)


class StopAfter(TintAugmenter):
    """Stops the build after ``k`` images, as a kill would."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def synthesize(self, state, target, seed):
        if self.synthesized >= self.k:
            raise KeyboardInterrupt("simulated kill")
        return super().synthesize(state, target, seed)


def neutral_frame(root: Path, subjects=("s1", "s2", "s3"), per_subject=2) -> pd.DataFrame:
    """Tiny neutral photos on disk, as rows of the database frame schema."""
    rows = []
    rng = np.random.default_rng(1)
    for subject in subjects:
        for i in range(per_subject):
            path = root / "db" / subject / f"{i:05d}.png"
            write_image(path, rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
            rows.append(
                dict(
                    path=str(path),
                    subject=subject,
                    sequence=f"{subject}_clip",
                    frame=i,
                    valence=0.0,
                    arousal=0.0,
                    expression=None,
                    landmarks=None,
                )
            )
    return pd.DataFrame(rows)


def images_of(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.suffix in (".png", ".jpg")}


class TintSynthesizerStandIn(TintAugmenter):
    """TintAugmenter with the affect model attribute augment_database reads VA classes from."""

    def __init__(self, classes):
        super().__init__()
        self.affect_model = type("Model", (), {"va_classes": classes})()


def _afew_va_copy(tmp_path) -> Path:
    from affect import datasets
    from affect.datasets import Sample

    rng = np.random.default_rng(5)
    records = [
        Sample(
            image=rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
            subject=f"actor{c}",
            sequence=f"00{c}",
            valence=0.0,
            arousal=0.0,
        )
        for c in (1, 2)
    ]
    return datasets.write_layout("afew_va", tmp_path / "AFEW-VA", records)


class KillOnce(TintAugmenter):
    """Kills its own process (SIGKILL, as the OOM killer would) at its ``k``-th image, once per ``marker``."""

    def __init__(self, marker, k):
        super().__init__()
        self.marker = str(marker)
        self.k = k

    def synthesize(self, state, target, seed):
        if self.synthesized >= self.k and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().synthesize(state, target, seed)
