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


def test_check_writable_refuses_folders_files_in_the_way_and_passes_new_paths(tmp_path):
    from affect.files import check_writable

    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"folder: cannot write \(it is a folder\)"):
        check_writable(tmp_path / "folder")
    with pytest.raises(ValueError, match=r"cannot write \(.*file is a file, not a folder\)"):
        check_writable(tmp_path / "file" / "a" / "b.png")
    with pytest.raises(ValueError, match=r"file: cannot write \(it is a file, not a folder\)"):
        check_writable(tmp_path / "file", folder=True)
    assert check_writable(tmp_path / "new" / "deeper" / "x.png") == tmp_path / "new" / "deeper" / "x.png"
    assert check_writable(tmp_path / "folder", folder=True) == tmp_path / "folder"
    assert not (tmp_path / "new").exists()  # a check creates nothing


@pytest.mark.parametrize("content", [b"", b"plain text", b"PK\x03\x04 cut short"])
def test_read_npz_gives_one_line_for_files_that_are_not_npz(tmp_path, content):
    from affect.files import read_npz

    (tmp_path / "x.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"x\.npz: not a test file \(") as error:
        read_npz(tmp_path / "x.npz", ("a",), "a test file")
    assert "\n" not in str(error.value)
