"""Output files: never one of the run's inputs, written whole or not at all.

Every writer goes through :func:`check_output_path` (also called by :func:`write_atomic`):
an output that is — by path, through a symlink or as a hard link (same ``st_dev`` and
``st_ino``) — one of the run's inputs is refused, so a report can never replace the model,
checkpoint, config or data it was computed from. Files are written to a temporary file in
the target's directory and renamed over the target; writing to a symlink writes the file it
points to and keeps the link. A SIGTERM while writing removes the temporary files, like
Ctrl-C does, and then terminates the process as the signal would have.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from convscope.errors import ConvscopeError

#: ``(what, path)`` pairs naming a run's inputs, e.g. ``("checkpoint", "net.pt")``. A MODEL
#: spec such as ``net.py:Net`` counts as its file; entries that name no file are ignored.
Inputs = Iterable[tuple[str, "str | Path | None"]]


def check_output_path(path: str | Path, inputs: Inputs = ()) -> Path:
    """Fail early (before any work) when the output cannot, or must not, be written."""
    p = Path(path)
    try:
        target = _writable_target(p)
    except OSError as exc:  # a name too long, a read-only or full file system...
        raise ConvscopeError(f"cannot write {p}: {exc.strerror or exc}") from None
    if target is None:  # /dev/null, a FIFO: written in place, never an input
        return p
    for what, source in _input_files(inputs):
        if _same_file(target, source):
            raise ConvscopeError(f"output {p} is the {what} {source}; choose another output path")
    return p


def _writable_target(p: Path) -> Path | None:
    """The file a write to ``p`` replaces (through a symlink), checked writable; None for a
    device or FIFO, which is written in place."""
    if p.is_dir():
        raise ConvscopeError(f"output path is a directory: {p}")
    if _is_special(p):
        return None
    target = _target(p)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConvscopeError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConvscopeError(f"output directory is not writable: {parent}")
    _probe_writable(target, parent)
    return target


def _probe_writable(p: Path, parent: Path) -> None:
    """Create and remove a file beside ``p``, so a read-only file system fails now (root
    passes ``os.access`` there), not after all the work."""
    if len(os.fsencode(p.name)) > os.pathconf(parent, "PC_NAME_MAX"):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    fd, probe = tempfile.mkstemp(prefix=".convscope-", suffix=".probe", dir=parent)
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: str | Path, data: str | bytes, inputs: Inputs = ()) -> None:
    """Write one file whole (temporary file + rename), after :func:`check_output_path`."""
    write_all([(path, data)], inputs)


def write_all(files: Sequence[tuple[str | Path, str | bytes]], inputs: Inputs = ()) -> None:
    """Write several files as one step: every file is staged before any is renamed into
    place, so a failure (a full disk, a signal) while staging leaves none of them."""
    inputs = list(inputs)
    checked = [(check_output_path(p, inputs), d) for p, d in files]
    temps: list[tuple[str, Path]] = []
    current = checked[0][0] if checked else Path()
    with _terminate_cleanly():
        try:
            for p, data in checked:
                current = p
                raw = data.encode("utf-8") if isinstance(data, str) else data
                if _is_special(p):
                    with open(p, "wb") as fh:
                        fh.write(raw)
                    continue
                target = _target(p)
                temps.append((_stage(target, raw), target))
            for tmp, target in temps:
                current = target
                os.replace(tmp, target)
        except OSError as exc:
            raise ConvscopeError(f"cannot write {current}: {exc.strerror or exc}") from exc
        finally:
            for tmp, _ in temps:
                Path(tmp).unlink(missing_ok=True)


def _stage(target: Path, raw: bytes) -> str:
    # the temporary name must fit NAME_MAX even when the target's name nearly fills it
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:64]}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.fchmod(fd, _existing_mode(target) or (0o666 & ~_umask()))
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _is_special(p: Path) -> bool:
    return p.exists() and not p.is_file() and not p.is_dir()


def _target(p: Path) -> Path:
    """The file a write to ``p`` changes: a symlink's (final) target, else ``p``."""
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _input_files(inputs: Inputs) -> Iterator[tuple[str, Path]]:
    for what, value in inputs:
        if value is None or str(value) == "":
            continue
        text = str(value)
        for candidate in (text, text.rsplit(":", 1)[0] if ":" in text else None):
            if candidate and Path(candidate).expanduser().is_file():
                yield what, Path(candidate).expanduser()
                break


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:  # the output does not exist yet: it cannot be a link to the input
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_output_dir(path: str | Path) -> Path:
    """Fail early when ``path`` cannot become (or is not) a writable directory."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConvscopeError(f"output directory is a file: {p}")
    existing = next((d for d in (p, *p.absolute().parents) if d.exists()), Path("/"))
    if not existing.is_dir():
        raise ConvscopeError(f"output directory cannot be created under a file: {existing}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConvscopeError(f"output directory is not writable: {existing}")
    return p


class _Terminated(BaseException):
    """Raised by the SIGTERM handler so that ``finally`` blocks remove temporary files."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While writing, turn SIGTERM into an exception; restore the previous handler after.

    Once the temporary files are gone the signal is re-raised under the previous handler,
    so the process still ends as SIGTERM says (or the caller's own handler runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_IGN, None):  # ignored by the parent, or set outside Python
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> Any:
        raise _Terminated

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
        raise KeyboardInterrupt from None  # the previous handler returned: report it
    finally:
        signal.signal(signal.SIGTERM, previous)


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
