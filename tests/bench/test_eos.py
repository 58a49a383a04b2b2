"""Tests of affect.bench.eos: the optional reference fitter is skipped with a reason."""

from affect.bench import EOS_SHARE_ENV
from affect.bench.eos import eos_fitter


def test_eos_is_skipped_with_a_note_when_its_files_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(EOS_SHARE_ENV, str(tmp_path))  # an empty folder
    fitter, note = eos_fitter(None)
    assert fitter is None
    assert note.startswith("eos skipped")
