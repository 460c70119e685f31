"""convscope._io: outputs are all-or-nothing, never an input, and devices stay devices."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from convscope import _io
from convscope._io import check_output_dir, check_output_path, write_all, write_atomic
from convscope.errors import ConvscopeError

ROOT = Path(__file__).resolve().parents[1]


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


# --------------------------------------------------------------------------- inputs


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize("how", ["same path", "other spelling", "symlink", "hard link"])
def test_an_output_that_is_an_input_is_refused(how: str, tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text("model = None\n")
    before = _snapshot(model)
    if how == "same path":
        out = model
    elif how == "other spelling":
        (tmp_path / "sub").mkdir()
        out = tmp_path / "sub" / ".." / "net.py"
    elif how == "symlink":
        out = tmp_path / "link.json"
        out.symlink_to(model)
    else:
        out = tmp_path / "hard.json"
        os.link(model, out)
    inputs = [("model file", f"{model}:Net")]  # a spec names its file
    with pytest.raises(ConvscopeError, match=r"is the model file .*net\.py") as info:
        check_output_path(out, inputs)
    assert "\n" not in str(info.value)
    with pytest.raises(ConvscopeError, match="model file"):
        write_atomic(out, "report", inputs)
    assert _snapshot(model) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_inputs_that_name_no_file_are_ignored(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    write_atomic(out, "x", [("model file", "torchvision:resnet18"), ("checkpoint", None)])
    assert out.read_text() == "x"


def test_writing_to_a_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() == "new"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("created.json")
    write_atomic(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "created.json").read_text() == "made"


def test_write_all_stages_every_file_before_renaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while staging the second file leaves neither file (nor a temporary)."""
    first, second = tmp_path / "a.pt2", tmp_path / "a.state_dict.pt"
    first.write_bytes(b"old program")
    before = _snapshot(first)
    real_stage = _io._stage
    calls: list[Path] = []

    def stage(target: Path, raw: bytes) -> str:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_stage(target, raw)

    monkeypatch.setattr(_io, "_stage", stage)
    with pytest.raises(ConvscopeError, match=r"cannot write .*a\.state_dict\.pt: No space left"):
        write_all([(first, b"new"), (second, b"new")])
    assert _snapshot(first) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt2"]


def test_output_dir_checks(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConvscopeError, match="output directory is a file"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(ConvscopeError, match="cannot be created under a file"):
        check_output_dir(tmp_path / "file" / "sub")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_while_writing_removes_the_temporary_and_restores_the_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    seen: list[int] = []

    def previous(signum: int, frame: Any) -> None:
        seen.append(signum)

    def replace(src: str, dst: Any) -> None:  # the signal arrives with the temporary written
        assert Path(src).exists()
        signal.raise_signal(signal.SIGTERM)

    old = signal.signal(signal.SIGTERM, previous)
    try:
        monkeypatch.setattr(_io.os, "replace", replace)
        with pytest.raises(KeyboardInterrupt):
            write_atomic(target, "new")
        assert signal.getsignal(signal.SIGTERM) is previous  # no handler left behind
    finally:
        signal.signal(signal.SIGTERM, old)
    assert seen == [signal.SIGTERM]  # the signal still reached the previous handler
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_sigterm_while_writing_in_a_real_process(tmp_path: Path) -> None:
    """Default SIGTERM disposition: the process dies of the signal, with nothing left."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from convscope import _io
        def replace(src, dst):
            signal.raise_signal(signal.SIGTERM)
        _io.os.replace = replace
        _io.write_atomic({str(tmp_path / "r.json")!r}, "new")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert list(tmp_path.iterdir()) == []


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
