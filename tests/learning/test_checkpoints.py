"""Tests for affect.learning.checkpoints and its callers: no torch file or cache runs code when read."""

import io
import json
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch

from affect import cli
from affect.learning.checkpoints import read_torch_file
from affect.learning.gans.training import load_generator
from affect.learning.prepared import load_prepared
from affect.learning.runs import RUN_FILE
from affect.learning.training import fit, load_module


class _Trap:
    """Rebuilding it (unpickling) creates ``marker``: the proof that a file ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious_torch_file(path, marker, **extra):
    buffer = io.BytesIO()
    torch.save({"state_dict": _Trap(marker), "hyper_parameters": {}, **extra}, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("saver", ["torch", "pickle"])
def test_a_torch_file_holding_code_is_refused_unread(tmp_path, saver):
    marker, path = tmp_path / "marker", tmp_path / "file.pt"
    if saver == "torch":
        _malicious_torch_file(path, marker)
    else:
        path.write_bytes(pickle.dumps({"state_dict": _Trap(marker)}))
    with pytest.raises(ValueError) as error:
        read_torch_file(path, "a checkpoint of this kit")
    assert "file.pt: not a checkpoint of this kit (it holds objects other than tensors" in _one_line(error)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "empty file"), (b"PK\x03\x04 cut short", "not a checkpoint of this kit (truncated or another format")],
)
def test_an_empty_or_truncated_torch_file_is_named_in_one_line(tmp_path, content, problem):
    path = tmp_path / "last.ckpt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        read_torch_file(path, "a checkpoint of this kit")
    assert _one_line(error).startswith(f"{path}: {problem}")


def test_resuming_from_a_last_checkpoint_holding_code_runs_none(tmp_path, tiny_sizes, toy_faces):
    marker, run = tmp_path / "marker", tmp_path / "run"
    _malicious_torch_file(run / "checkpoints" / "last.ckpt", marker)
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    with pytest.raises(ValueError) as error:
        fit("vggface", "va", train, val, replace(tiny_sizes, max_epochs=1), run)
    assert "last.ckpt: not a checkpoint of this kit" in _one_line(error)
    assert not marker.exists()


def test_fine_tuning_from_a_checkpoint_holding_code_runs_none(tmp_path, tiny_sizes, toy_faces):
    marker = tmp_path / "marker"
    initial = _malicious_torch_file(tmp_path / "other" / "checkpoints" / "best.ckpt", marker)
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    with pytest.raises(ValueError, match="best.ckpt: not a checkpoint of this kit"):
        fit("vggface", "va", train, val, replace(tiny_sizes, max_epochs=1), tmp_path / "run", initial=initial)
    assert not marker.exists()


def test_a_truncated_best_checkpoint_is_named(tmp_path, tiny_sizes, toy_faces):
    train, val = toy_faces(tmp_path, 32), toy_faces(tmp_path, 16, seed=1)
    fit("vggface", "va", train, val, replace(tiny_sizes, max_epochs=1), tmp_path / "run")
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    assert load_module(best).hparams.network == "vggface"
    best.write_bytes(best.read_bytes()[: best.stat().st_size // 2])
    with pytest.raises(ValueError) as error:
        load_module(best)
    assert _one_line(error).startswith(f"{best}: not a checkpoint of this kit (truncated")


def test_evaluate_on_a_best_checkpoint_holding_code_runs_none(tmp_path, capsys):
    marker, run = tmp_path / "marker", tmp_path / "run"
    _malicious_torch_file(run / "checkpoints" / "best.ckpt", marker)
    record = dict(
        run_dir=str(run), network="vggface", task="va", database="affectnet", data_source="proxy",
        profile="smoke", classes=[], sizes={}, seed=0, fold=None, pretrained="from scratch",
        augmented=None, on_the_fly=False, prepared={"test": str(tmp_path / "prepared")},
    )  # fmt: skip
    (run / RUN_FILE).write_text(json.dumps(record))
    assert cli.main(["evaluate", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "best.ckpt: not a checkpoint of this kit" in err
    assert not marker.exists()


def test_a_generator_file_holding_code_runs_none(tmp_path):
    marker = tmp_path / "marker"
    path = _malicious_torch_file(tmp_path / "generator.pt", marker, record=_Trap(marker))
    with pytest.raises(ValueError) as error:
        load_generator(path)
    assert "generator.pt: not a generator file of this kit (it holds objects" in _one_line(error)
    assert not marker.exists()


@pytest.mark.parametrize("array", ["faces.npy", "landmarks.npy"])
def test_a_prepared_cache_holding_code_runs_none(tmp_path, array):
    marker, folder = tmp_path / "marker", tmp_path / "cache"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"size": 8}))
    (folder / "index.csv").write_text("id,path\n")
    np.save(folder / "faces.npy", np.zeros((0, 8, 8, 3), np.uint8))
    np.save(folder / "landmarks.npy", np.zeros((0, 68, 2), np.float32))
    np.save(folder / array, np.array([_Trap(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError) as error:
        load_prepared(folder)
    assert _one_line(error).startswith(f"{folder}: not a prepared-faces cache")
    assert not marker.exists()
