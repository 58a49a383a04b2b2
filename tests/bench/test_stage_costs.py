"""Tests of affect.bench.stage_costs: where the CPU time of one augmented image goes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affect import augmentation as aug
from affect.bench.stage_costs import SYNTHESIS_STAGES, stage_costs
from affect.image import write_image
from affect.vocabulary import BASIC_EXPRESSIONS


class _TintAugmenter:
    """Tints the photo by its target: an augmenter that calls none of render_affect's steps."""

    def prepare(self, image, landmarks):
        return image.astype(np.int16)

    def synthesize(self, state, target, seed):
        tint = 20 * BASIC_EXPRESSIONS.index(target.expression)
        return np.clip(state + tint, 0, 255).astype(np.uint8)


def _neutral_frame(root, subjects=("s1", "s2", "s3")) -> pd.DataFrame:
    """One tiny neutral photo per subject on disk, as rows of the database frame schema."""
    rows = []
    rng = np.random.default_rng(1)
    for subject in subjects:
        path = root / "db" / subject / "00000.png"
        write_image(path, rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
        rows.append(
            dict(
                path=str(path),
                subject=subject,
                sequence=f"{subject}_clip",
                frame=0,
                valence=0.0,
                arousal=0.0,
                expression=None,
                landmarks=None,
            )
        )
    return pd.DataFrame(rows)


def test_stage_costs_split_the_synthesis_and_leave_the_face_functions_as_they_were(tmp_path):
    import affect.face.reconstruction as reconstruction

    blend = reconstruction.poisson_blend
    jobs = aug.plan(_neutral_frame(tmp_path), "expression")
    stages = stage_costs(jobs, _TintAugmenter(), photos=2, per_photo=3)
    assert reconstruction.poisson_blend is blend
    assert {"prepare_photo", "synthesize", "synthesize_rest", "encode_jpg", "write_file", "manifest_row"} <= set(stages)
    assert set(SYNTHESIS_STAGES) <= set(stages)
    assert all(value >= 0 for value in stages.values())
    # The fake calls none of render_affect's steps: its whole synthesis is the rest.
    assert sum(stages[stage] for stage in SYNTHESIS_STAGES) == 0
    assert stages["synthesize_rest"] == pytest.approx(stages["synthesize"], abs=0.02)
