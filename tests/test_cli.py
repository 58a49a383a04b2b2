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
