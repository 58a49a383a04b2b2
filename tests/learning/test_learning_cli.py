"""The learning subcommands of the command line: affect prepare, train, evaluate; one-line errors."""

import pandas as pd
import torch

from affect import cli
from affect.learning.networks import AFFECT_NETWORKS


def _run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_line_error(capsys, *argv):
    quiet = ("--quiet",) if argv[0] in ("train", "prepare") else ()
    status, _, err = _run(capsys, *argv, *quiet)
    assert status == 1 and err.count("\n") == 1 and err.startswith("affect: error: "), err
    return err


def test_the_command_line_lists_every_network():
    assert cli.NETWORKS == AFFECT_NETWORKS


def test_train_then_evaluate_a_smoke_run(smoke, tmp_path, capsys):
    run = tmp_path / "run"
    status, out, _ = _run(
        capsys, "train", "vggface", "--database", "affectnet", "--profile", "smoke", "--quiet", "-o", str(run)
    )
    assert status == 0 and "ccc_mean" in out and "from scratch" in out
    assert (run / "predictions.csv").is_file() and (run / "scores.csv").is_file()
    status, out, _ = _run(capsys, "evaluate", str(run), "--bootstrap", "20")
    assert status == 0 and "95 % bootstrap" in out
    status, out, _ = _run(capsys, "prepare", "--database", "affectnet", "--profile", "smoke", "--quiet")
    assert status == 0 and out.count("faces of 32 px") == 3


def test_a_missing_database_folder(smoke, tmp_path, capsys):
    err = _one_line_error(
        capsys, "train", "vggface", "--database", "rafdb", "--profile", "smoke", "-o", str(tmp_path / "run")
    )
    assert "proxy-smoke/rafdb: database folder not found" in err


def test_an_augmented_manifest_pointing_at_missing_images(smoke, tmp_path, capsys):
    from affect.augmentation.manifest import MANIFEST_COLUMNS, write_manifest

    built = tmp_path / "built"
    row = dict(
        output="gone.png",
        source="x.jpg",
        subject="",
        sequence="",
        valence=0.5,
        arousal=0.1,
        expression=None,
        va_class=1,
        identity_distance=0.3,
    )
    write_manifest(pd.DataFrame([row], columns=list(MANIFEST_COLUMNS)), built / "manifest.csv")
    err = _one_line_error(
        capsys,
        "train",
        "vggface",
        "--database",
        "affectnet",
        "--profile",
        "smoke",
        "--augmented",
        str(built),
        "-o",
        str(tmp_path / "run"),
    )
    assert "built/manifest.csv: 1 synthesized images are missing (first: " in err and "gone.png" in err


def test_a_checkpoint_of_another_network_or_task(smoke, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert (
        _run(
            capsys,
            "train",
            "vggface",
            "--database",
            "affectnet",
            "--profile",
            "smoke",
            "--quiet",
            "--no-evaluate",
            "-o",
            run,
        )[0]
        == 0
    )
    err = _one_line_error(capsys, "train", "alexnet", "--database", "affectnet", "--profile", "smoke", "-o", run)
    assert "last.ckpt: checkpoint of vggface/va, not alexnet/va" in err
    err = _one_line_error(
        capsys, "train", "vggface", "--database", "affectnet", "--profile", "smoke", "--task", "expression", "-o", run
    )
    assert "checkpoint of vggface/va, not vggface/expression" in err


def test_weights_whose_keys_do_not_fit(smoke, tmp_path, capsys):
    weights = tmp_path / "someone_elses.pth"
    torch.save({"encoder.0.weight": torch.zeros(3, 3)}, weights)
    err = _one_line_error(
        capsys,
        "train",
        "vggface",
        "--database",
        "affectnet",
        "--profile",
        "smoke",
        "--weights",
        str(weights),
        "-o",
        str(tmp_path / "run"),
    )
    assert "someone_elses.pth: key 'encoder.0.weight'" in err


def test_evaluate_a_folder_that_is_not_a_run(tmp_path, capsys):
    err = _one_line_error(capsys, "evaluate", str(tmp_path))
    assert "run.json: not found" in err


def _train_argv(out, *extra):
    return ("train", "vggface", "--database", "affectnet", "--profile", "smoke", *extra, "-o", str(out))


def test_train_on_a_gpu_this_machine_lacks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = _one_line_error(capsys, *_train_argv(tmp_path / "run", "--device", "cuda"))
    assert "device: expected auto or cpu on this machine (no CUDA GPU is visible to torch), got cuda" in err
    assert not (tmp_path / "run").exists()


def test_train_into_an_output_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "run"
    blocker.write_text("x")
    err = _one_line_error(capsys, *_train_argv(blocker))
    assert f"{blocker}: cannot write (it is a file, not a folder)" in err


def test_train_into_a_read_only_folder(tmp_path, capsys, monkeypatch):
    import os
    from pathlib import Path

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access  # root ignores permissions: stand in for a read-only folder
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    err = _one_line_error(capsys, *_train_argv(locked / "run"))
    assert f"{locked / 'run'}: cannot write ({locked} is not writable)" in err


def test_a_read_only_data_folder_is_named_before_any_crop(smoke, tmp_path, capsys, monkeypatch):
    import os
    from pathlib import Path

    prepared = tmp_path / "prepared"
    prepared.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != prepared and real_access(p, mode))
    err = _one_line_error(capsys, "prepare", "--database", "affectnet", "--profile", "smoke")
    assert f"cannot write ({prepared} is not writable)" in err


def test_an_empty_or_truncated_last_checkpoint_is_named(smoke, tmp_path, capsys):
    run = tmp_path / "run"
    assert _run(capsys, *_train_argv(run, "--quiet", "--no-evaluate"))[0] == 0
    last = run / "checkpoints" / "last.ckpt"
    whole = last.read_bytes()
    last.write_bytes(whole[: len(whole) // 2])
    err = _one_line_error(capsys, *_train_argv(run))
    assert f"{last}: not a checkpoint of this kit (truncated or another format" in err
    last.write_bytes(b"")
    assert f"{last}: empty file" in _one_line_error(capsys, *_train_argv(run))


def test_evaluate_with_no_bootstrap_resample(tmp_path, capsys):
    err = _one_line_error(capsys, "evaluate", str(tmp_path), "--bootstrap", "0")
    assert "--bootstrap: expected at least 1 resample, got 0" in err


def test_evaluate_a_garbled_run_record(tmp_path, capsys):
    (tmp_path / "run.json").write_text('{"network": "vggface", ')
    err = _one_line_error(capsys, "evaluate", str(tmp_path))
    assert f"{tmp_path / 'run.json'}: not a run record of 'affect train' (" in err
    (tmp_path / "run.json").write_text('{"network": "vggface"}')
    assert "run.json: not a run record of 'affect train' (" in _one_line_error(capsys, "evaluate", str(tmp_path))


def test_a_second_train_into_a_run_folder_being_written_fails_at_once(tmp_path, capsys):
    import os

    from affect.files import folder_lock
    from affect.learning.runs import RUN_LOCK

    run = tmp_path / "run"
    with folder_lock(run, RUN_LOCK, "affect train"):  # the first train, still writing
        err = _one_line_error(capsys, *_train_argv(run))
    assert f"{run} is being written by another affect train (pid {os.getpid()})" in err
    assert sorted(p.name for p in run.iterdir()) == [RUN_LOCK]
