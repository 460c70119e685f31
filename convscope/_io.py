"""Atomic output: a report is either written whole or not at all."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from convscope.errors import ConvscopeError


def check_output_path(path: str | Path) -> Path:
    """Fail early (before any work) when the output cannot be written."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        if not parent.is_dir():
            raise ConvscopeError(f"output directory does not exist: {parent}")
        if p.is_dir():
            raise ConvscopeError(f"output path is a directory: {p}")
        _probe_writable(p, parent)
    except OSError as exc:  # a name too long, a read-only or full file system...
        raise ConvscopeError(f"cannot write {p}: {exc.strerror or exc}") from None
    return p


def _probe_writable(p: Path, parent: Path) -> None:
    """Create and remove a file beside ``p``, so a read-only directory fails now, not after
    all the work. A device or FIFO target is written in place and needs no probe."""
    if p.exists() and not p.is_file():
        return
    if len(os.fsencode(p.name)) > os.pathconf(parent, "PC_NAME_MAX"):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    fd, probe = tempfile.mkstemp(prefix=".convscope-", suffix=".probe", dir=parent)
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write to a temporary file in the target directory, then rename over the target.

    A target that exists and is not a regular file (``/dev/null``, a FIFO, ``/dev/stdout``)
    is written directly: renaming over it would replace the device with a file."""
    p = check_output_path(path)
    try:
        _write(p, data)
    except OSError as exc:  # disk full, /dev/full, quota: name the file, not just errno
        raise ConvscopeError(f"cannot write {p}: {exc.strerror or exc}") from None


def _write(p: Path, data: str | bytes) -> None:
    if p.exists() and not p.is_file():
        with open(p, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        return
    # the temporary name must fit NAME_MAX even when the target's name nearly fills it
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:64]}.", suffix=".tmp", dir=p.parent or ".")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.fchmod(fd, _existing_mode(p) or (0o666 & ~_umask()))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _existing_mode(p: Path) -> int | None:
    """The permission bits of the file being replaced, kept across the rename."""
    try:
        return p.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
