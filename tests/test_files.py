"""Atomic writes leave either the old file or the whole new one."""

import errno
import os
import stat
from pathlib import Path

import pytest

from affect.augmentation.output_folder import _TEMPORARY
from affect.files import atomic_path, atomic_write, atomic_write_bytes, atomic_write_text, folder_lock


class FullDisk:
    """Stands in for ``open`` in affect.files: every write fails as on a full disk (errno 28)."""

    def __init__(self, file, mode="r", *args, **kwargs):
        if isinstance(file, int):
            os.close(file)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


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


def test_bytes_are_written_in_a_new_folder_with_the_umask_and_no_temporary(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write_bytes(tmp_path / "a" / "b" / "face.jpg", b"\xff\xd8jpeg")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"\xff\xd8jpeg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["face.jpg"]


def test_a_failed_bytes_write_keeps_the_old_file_and_names_temporaries_as_builds_find_them(tmp_path, monkeypatch):
    path = tmp_path / "face.jpg"
    path.write_bytes(b"old")
    temporaries = []

    def refuse(source, target):
        temporaries.append(os.path.basename(source))
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["face.jpg"]
    assert _TEMPORARY.fullmatch(temporaries[0]), temporaries


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


def test_a_stored_path_is_relative_to_its_folder_and_reads_back_where_the_folder_moved(tmp_path):
    from affect.files import relative_path, stored_path

    assert relative_path(tmp_path / "reports" / "runs" / "a.csv", tmp_path / "reports") == "runs/a.csv"
    assert relative_path(tmp_path / "data" / "x.jpg", tmp_path / "reports" / "run") == "../../data/x.jpg"
    assert stored_path("../../data/x.jpg", tmp_path / "reports" / "run") == tmp_path / "data" / "x.jpg"
    assert stored_path("runs/a.csv", tmp_path / "moved") == tmp_path / "moved" / "runs" / "a.csv"
    assert stored_path("/old/absolute/a.csv", tmp_path) == Path("/old/absolute/a.csv")


def test_folder_lock_refuses_a_second_writer_and_names_it(tmp_path):
    with folder_lock(tmp_path / "out", ".job.lock", "job"):
        with pytest.raises(ValueError, match=rf"out is being written by another job \(pid {os.getpid()}\)"):
            with folder_lock(tmp_path / "out", ".job.lock", "job"):
                pass
    with folder_lock(tmp_path / "out", ".job.lock", "job", shared=True):
        with folder_lock(tmp_path / "out", ".job.lock", "job", shared=True):
            pass


@pytest.mark.parametrize("writer", [atomic_write_bytes, lambda path, data: atomic_write(path, lambda s: s.write(data))])
def test_a_full_disk_names_the_folder_and_leaves_no_file(tmp_path, monkeypatch, writer):
    import affect.files

    monkeypatch.setattr(affect.files, "open", FullDisk, raising=False)
    with pytest.raises(OSError) as caught:
        writer(tmp_path / "out" / "face.png", b"pixels")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "out")
    assert caught.value.strerror.startswith("disk full")
    assert list((tmp_path / "out").iterdir()) == []
