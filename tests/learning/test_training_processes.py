"""Training in several processes (DDP): the batch split, one-line errors, and a 2-process CPU run."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect.learning import data, training
from affect.profiles import TrainingSizes

ROOT = Path(__file__).resolve().parents[2]
# Measured on the smoke run below: predictions differ by at most 4.6e-4 and the test scores
# (CCC, MSE) by at most 3e-4 between 1 and 2 processes. Not only reduction order: on the CPU
# each process normalises its half of the batch (SyncBatchNorm needs a GPU) and draws its own
# dropout masks. Ten times the measured difference leaves room for other CPUs and BLAS builds.
TOLERANCE = 5e-3


def test_the_processes_together_load_the_one_process_batches(monkeypatch):
    one = list(data.EpochShuffle(37, seed=3))
    shares = []
    for rank in range(2):
        monkeypatch.setattr(data, "_processes", lambda rank=rank: (rank, 2))
        sampler = data.EpochShuffle(37, seed=3)
        shares.append(list(sampler))
        assert len(sampler) == 18
    for k in range(37 // 8):  # a global batch of 8 is 4 per process
        together = shares[0][4 * k : 4 * k + 4] + shares[1][4 * k : 4 * k + 4]
        assert sorted(together) == sorted(one[8 * k : 8 * k + 8])


@pytest.mark.parametrize(
    ("devices", "strategy", "num_nodes", "message"),
    [
        (0, "ddp", 1, "devices: expected a whole number of processes of at least 1, got 0"),
        (2, "fsdp", 1, "strategy: expected one of 'auto', 'ddp', 'ddp_spawn', got 'fsdp'"),
        (2, "auto", 1, "strategy: expected ddp or ddp_spawn for 2 processes per node on 1 node(s), got 'auto'"),
        (1, "ddp", 0, "num_nodes: expected a whole number of machines of at least 1, got 0"),
    ],
)
def test_bad_process_counts_are_one_line_errors(devices, strategy, num_nodes, message):
    with pytest.raises(ValueError) as error:
        training.check_processes(devices, strategy, num_nodes)
    assert str(error.value) == message


def test_a_batch_that_the_processes_cannot_share():
    sizes = TrainingSizes(
        32, 32, 0.1, 4, 8, 1, batch_size=16, clips_per_batch=4, max_epochs=1, patience=1, learning_rate=1e-3
    )
    assert training._per_process(sizes, 4).batch_size == 4
    with pytest.raises(
        ValueError, match=r"^devices: expected a number of processes that divides .*batch_size \(16\), got 3"
    ):
        training._per_process(sizes, 3)


def _train(tmp_path, run, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AFFECT_DATA": str(tmp_path / "data")}
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK", "WORLD_SIZE"):
        env.pop(name, None)
    argv = ["train", "vggface", "--database", "affectnet", "--profile", "smoke", "--device", "cpu", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "affect.cli", *argv, "-o", str(tmp_path / run), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_two_cpu_processes_train_like_one(tmp_path):
    from affect.datasets.proxy import write_proxy

    write_proxy("affectnet", tmp_path / "data" / "proxy-smoke" / "affectnet", scale=0.0001, seed=0)
    _train(tmp_path, "one")
    out = _train(tmp_path, "two", "--devices", "2", "--strategy", "ddp")
    assert out.count("predictions.csv") == 1 and out.count("trained vggface") == 1  # rank 0 alone reports
    one, two = (pd.read_csv(tmp_path / run / "predictions.csv") for run in ("one", "two"))
    assert two["id"].is_unique and list(two["id"]) == list(one["id"])  # every test face once
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    columns = ["valence_pred", "arousal_pred"]
    assert np.abs(one[columns].to_numpy() - two[columns].to_numpy()).max() < TOLERANCE
    scores = [pd.read_csv(tmp_path / run / "scores.csv").set_index("criterion")["value"] for run in ("one", "two")]
    for criterion in ("ccc_mean", "mse_mean"):
        assert abs(scores[0][criterion] - scores[1][criterion]) < TOLERANCE
