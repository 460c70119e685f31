"""Atomic output: a report is either written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from convscope.errors import ConvscopeError


def check_output_path(path: str | Path) -> Path:
    """Fail early (before any work) when the output cannot be written."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ConvscopeError(f"output directory does not exist: {parent}")
    if p.is_dir():
        raise ConvscopeError(f"output path is a directory: {p}")
    return p


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write to a temporary file in the target directory, then rename over the target.

    A target that exists and is not a regular file (``/dev/null``, a FIFO, ``/dev/stdout``)
    is written directly: renaming over it would replace the device with a file."""
    p = check_output_path(path)
    if p.exists() and not p.is_file():
        with open(p, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
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
