import os

import pytest

from skage.io import atomic_write


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text("old,complete\n")
    with pytest.raises(OSError, match="disk full"):
        with atomic_write(path) as f:
            f.write("new,half")
            raise OSError(28, "disk full")
    assert path.read_text() == "old,complete\n"
    assert _leftovers(tmp_path) == []


def test_a_complete_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text("old\n")
    with atomic_write(path, newline="") as f:
        f.write("input,age\r\na.jpg,31.5\r\n")
        assert path.read_text() == "old\n"  # nothing visible before the rename
    assert path.read_bytes() == b"input,age\r\na.jpg,31.5\r\n"
    assert _leftovers(tmp_path) == []


def test_two_writers_never_mix(tmp_path):
    path = tmp_path / "ages.csv"
    with atomic_write(path) as first, atomic_write(path) as second:
        first.write("first\n" * 1000)
        second.write("second\n" * 10)
    assert path.read_text() == "first\n" * 1000  # the last rename wins, whole


def test_binary_mode_and_a_bad_mode(tmp_path):
    with atomic_write(tmp_path / "a.png", "wb") as f:
        f.write(b"\x89PNG")
    assert (tmp_path / "a.png").read_bytes() == b"\x89PNG"
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "b", "a"):
            pass


def test_a_full_disk_error_names_the_file_not_the_temporary_one(tmp_path):
    path = tmp_path / "ages.csv"
    with pytest.raises(OSError) as info:
        with atomic_write(path) as f:
            f.write("half")
            raise OSError(28, "No space left on device")  # write() errors name no file
    assert info.value.filename == str(path) and str(path) in str(info.value) and ".tmp" not in str(info.value)
