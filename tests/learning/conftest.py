"""Tiny prepared-face sets whose labels can be read off the pixels, for fast training tests."""

import numpy as np
import pandas as pd
import pytest

from affect.learning.prepared import INDEX_COLUMNS, PreparedFaces
from affect.profiles import TrainingSizes

TINY_SIZES = TrainingSizes(
    input_size=32,
    sequence_input_size=32,
    width=0.0625,
    sequence_length=4,
    gru_hidden=8,
    gru_layers=2,
    batch_size=16,
    clips_per_batch=4,
    max_epochs=3,
    patience=10,
    learning_rate=3e-3,
    mse_weight=0.5,
)


def toy_faces(folder, n=96, size=32, videos=0, seed=0, classes=("neutral", "happiness", "sadness")):
    """Crops whose brightness is valence and whose red-green balance is arousal.

    ``videos`` > 0 spreads the rows over that many videos of consecutive frames, with two
    subjects per video group.
    """
    rng = np.random.default_rng(seed)
    va = rng.uniform(-0.9, 0.9, (n, 2))
    faces = np.empty((n, size, size, 3), dtype=np.uint8)
    base = 127 + 100 * va[:, 0]
    faces[..., 0] = np.clip(base + 25 * va[:, 1], 0, 255)[:, None, None]
    faces[..., 1] = np.clip(base - 25 * va[:, 1], 0, 255)[:, None, None]
    faces[..., 2] = base[:, None, None]
    faces = np.clip(faces.astype(int) + rng.integers(-8, 9, faces.shape), 0, 255).astype(np.uint8)
    expression = [classes[int(v > 0.3) + int(v > -0.3)] for v in va[:, 0]]
    if videos:
        video = [f"v{i % videos}" for i in range(n)]
        frame = [i // videos for i in range(n)]
        subject = [f"s{i % videos % 5}" for i in range(n)]
    else:
        video, frame, subject = [""] * n, [-1] * n, [f"s{i % 6}" for i in range(n)]
    index = pd.DataFrame(
        {
            "id": [f"img/{i}.png" for i in range(n)],
            "subject": subject,
            "video": video,
            "frame": frame,
            "valence": va[:, 0],
            "arousal": va[:, 1],
            "expression": expression,
            "path": [f"/data/img/{i}.png" for i in range(n)],
            "crop": "landmarks",
        },
        columns=list(INDEX_COLUMNS),
    )
    landmarks = rng.uniform(-1, 1, (n, 68, 2)).astype(np.float32)
    return PreparedFaces(folder, size, index, faces, landmarks)


@pytest.fixture
def tiny_sizes():
    """Sizes of a run that takes seconds: 32 px crops, 1/16 of the channels."""
    return TINY_SIZES


@pytest.fixture(name="toy_faces")
def toy_faces_fixture():
    """:func:`toy_faces`, for tests that build their own sets."""
    return toy_faces


@pytest.fixture(scope="session")
def proxy_data(tmp_path_factory):
    """A data folder holding a small AffectNet stand-in under proxy-smoke/."""
    from affect.datasets.proxy import write_proxy

    root = tmp_path_factory.mktemp("data")
    write_proxy("affectnet", root / "proxy-smoke" / "affectnet", scale=0.0001, seed=0)
    return root


@pytest.fixture
def smoke(monkeypatch, proxy_data, tmp_path):
    """$AFFECT_DATA at :func:`proxy_data`, with the prepared-face cache in this test's folder."""
    monkeypatch.setenv("AFFECT_DATA", str(proxy_data))
    monkeypatch.setattr("affect.learning.runs.prepared_root", lambda: tmp_path / "prepared")
    return proxy_data
