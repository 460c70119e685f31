"""convscope._io: outputs are all-or-nothing, and devices stay devices."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from convscope._io import check_output_path, write_atomic
from convscope.errors import ConvscopeError


def test_write_atomic_replaces_a_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_atomic_to_dev_null_keeps_the_device() -> None:
    write_atomic("/dev/null", "ignored")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_write_atomic_to_a_fifo_writes_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomic(fifo, b"abc")
        assert os.read(reader, 10) == b"abc"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_missing_directory_and_directory_target_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConvscopeError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "r.json")
    with pytest.raises(ConvscopeError, match="is a directory"):
        check_output_path(tmp_path)


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.json", "{}")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("old")
        kept.chmod(0o640)
        write_atomic(kept, "new")
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640
    finally:
        os.umask(mask)


def test_a_full_device_names_the_file() -> None:
    with pytest.raises(ConvscopeError, match="cannot write /dev/full: No space left on device"):
        write_atomic("/dev/full", "x" * 10)


def test_a_name_longer_than_the_file_system_allows_is_named_before_work(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 300)
    with pytest.raises(ConvscopeError, match=r"cannot write .*nnnn: File name too long"):
        check_output_path(target)


def test_a_name_near_the_limit_still_gets_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 250 + ".json")  # the temporary name must not exceed 255
    write_atomic(target, "ok")
    assert target.read_text() == "ok"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
