"""Errors that reach the user as one line and exit code 2.

Every failure caused by bad input (a model spec that cannot be loaded, a wrong input
shape, a malformed config, an unknown rule code) is raised as :class:`ConvscopeError`
with a message that names the problem. The CLI prints ``error: <message>`` and exits 2;
only ``--debug`` shows the traceback.
"""

from __future__ import annotations

__all__ = [
    "ConvscopeError",
    "InputError",
    "ModelLoadError",
    "TraceError",
    "UnsupportedOpError",
    "describe",
    "first_line",
]

_MAX_LINE = 300


class ConvscopeError(Exception):
    """A user-facing error: bad model, bad input, bad config. Exit code 2."""

    exit_code = 2


class ModelLoadError(ConvscopeError):
    """The MODEL spec could not be turned into a module."""


class InputError(ConvscopeError):
    """The example inputs are malformed or do not fit the model."""


class TraceError(ConvscopeError):
    """The model could not be run on its example inputs."""


class UnsupportedOpError(ConvscopeError):
    """``--strict`` was given and the graph holds ops without a cost formula."""


# --------------------------------------------------------------------------- one line


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first non-empty line of ``str(exc)``, at most ``limit`` characters if given.

    The exception may come from a user's model, whose ``__str__`` can itself raise: that
    gives a placeholder, never a second exception while the first is being reported.
    """
    try:
        text = str(exc)
    except BaseException:
        return f"<{type(exc).__name__} whose str() raised>"
    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    return first if limit is None or len(first) <= limit else first[: limit - 3] + "..."


def describe(exc: BaseException, limit: int = _MAX_LINE) -> str:
    """The exception as one short phrase: ``ValueError: first line``, ``SystemExit(3)``,
    ``SyntaxError: invalid syntax (line 4)``; never a traceback."""
    name = type(exc).__name__
    if isinstance(exc, SystemExit) and not isinstance(exc.code, str):
        return f"{name}({exc.code!r})"
    if isinstance(exc, SyntaxError) and exc.msg:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        text = f"{exc.msg}{where}"
    else:
        text = first_line(exc, limit)
    out = f"{name}: {text}" if text else name
    return out if len(out) <= limit else out[: limit - 3] + "..."
