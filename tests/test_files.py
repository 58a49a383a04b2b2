"""Atomic writes leave either the old file or the whole new one."""

import pytest

from affect.files import atomic_path, atomic_write, atomic_write_text


def test_text_is_written_and_no_temporary_file_remains(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "héllo")
    assert path.read_text(encoding="utf-8") == "héllo"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")

    def broken(stream):
        stream.write(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_atomic_path_gives_a_temporary_with_the_same_suffix(tmp_path):
    seen = []
    atomic_path(tmp_path / "clip.gif", lambda temporary: seen.append(temporary) or open(temporary, "w").write("x"))
    assert seen[0].endswith(".gif") and (tmp_path / "clip.gif").read_text() == "x"
