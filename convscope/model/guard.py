"""Running the user's model code (import, build, forward) under a leash.

:func:`model_code` wraps every call into code convscope did not write. Inside it:

- ``SystemExit``, ``GeneratorExit`` and any other ``BaseException`` that is not an
  ``Exception`` become :class:`ModelCodeError` (a :class:`ConvscopeError`, exit 2) naming the
  phase, what was running and the file that raised it: a model must not end the process.
- ``KeyboardInterrupt`` raised by the code itself becomes :class:`ModelCodeError` as well;
  a real Ctrl-C (a SIGINT that arrived while the code ran) stays a ``KeyboardInterrupt``.
- With :func:`time_limit` active, each phase gets that many seconds of wall-clock time
  (``SIGALRM``; main thread only) before :class:`ModelTimeoutError` names it.

Nested blocks arm the timer and the SIGINT handler only once, at the outermost level.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from convscope.errors import ConvscopeError, describe

__all__ = [
    "MAX_MODULE_DEPTH",
    "ModelCodeError",
    "ModelTimeoutError",
    "check_module_tree",
    "culprit",
    "interrupted_in",
    "model_code",
    "module_label",
    "time_limit",
]

_PACKAGE = Path(__file__).resolve().parents[1]


class ModelCodeError(ConvscopeError):
    """The model's own code raised something that would end the process."""


class ModelTimeoutError(ModelCodeError):
    """The model's own code ran past ``--timeout``."""


class _Expired(BaseException):
    """Raised by the alarm handler: a BaseException so ``except Exception`` in the model
    cannot swallow it."""


@dataclass
class _State:
    limit: float | None = None
    depth: int = 0
    armed: bool = False
    sigint: bool = False
    last: tuple[str, str] | None = None


_state = _State()


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Give every model-code phase at most ``seconds`` (None: no limit) while active."""
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise ConvscopeError(f"bad time limit {seconds!r}: expected a positive number of seconds")
    previous = _state.limit
    _state.limit = seconds
    try:
        yield
    finally:
        _state.limit = previous


def interrupted_in() -> tuple[str, str] | None:
    """(phase, what) of the model-code block that a real Ctrl-C interrupted, if any."""
    return _state.last if _state.sigint else None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def culprit(exc: BaseException) -> str:
    """`` (FILE line N)``: the innermost frame outside convscope and the standard library."""
    stdlib = Path(traceback.__file__).resolve().parent
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            where = Path(frame.filename).resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if where.is_relative_to(_PACKAGE) or where.is_relative_to(stdlib):
            continue
        if "site-packages" in where.parts and ("torch" in where.parts or "click" in where.parts):
            continue
        found = f" ({frame.filename} line {frame.lineno})"
    return found


@contextlib.contextmanager
def model_code(phase: str, what: str, *, timed: bool = True) -> Iterator[None]:
    """Run the user's code for ``phase`` (import, build, forward...) of ``what``.

    ``timed=False``: an outer block that converts exceptions and handles SIGINT once for a
    loop of timed inner blocks (profiling: the handlers are not swapped per forward)."""
    outer = _state.depth == 0
    _state.depth += 1
    _state.last = (phase, what)
    old_int = old_alarm = None
    on_main = outer and _main_thread()
    if on_main:
        _state.sigint = False

        def on_sigint(signum: int, frame: object) -> None:
            _state.sigint = True
            raise KeyboardInterrupt

        old_int = signal.signal(signal.SIGINT, on_sigint)
    arm = timed and _state.limit is not None and not _state.armed and _main_thread()
    if arm:
        assert _state.limit is not None

        def on_alarm(signum: int, frame: object) -> None:
            raise _Expired

        old_alarm = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _state.limit)
        _state.armed = True
    try:
        yield
    except _Expired:
        raise ModelTimeoutError(
            f"{what}: {phase} did not finish within --timeout {_state.limit:g} s"
        ) from None
    except KeyboardInterrupt as exc:
        if _state.sigint:
            raise
        raise ModelCodeError(
            f"{what}: model code raised {describe(exc)} during {phase}{culprit(exc)}"
        ) from exc
    except Exception:
        raise
    except BaseException as exc:  # SystemExit, GeneratorExit, custom BaseException
        raise ModelCodeError(
            f"{what}: model code raised {describe(exc)} during {phase}{culprit(exc)}"
        ) from exc
    finally:
        if arm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alarm)
            _state.armed = False
        if on_main:
            signal.signal(signal.SIGINT, old_int)
        _state.depth -= 1


def module_label(model: object) -> str:
    """``Net (path/to/model.py)``: what a forward error names."""
    import inspect

    cls = type(model)
    try:
        return f"{cls.__name__} ({inspect.getfile(cls)})"
    except (TypeError, OSError):
        return cls.__name__


# torch walks the module tree recursively (named_modules, state_dict, to): far past this
# depth Python's recursion limit ends the walk with a RecursionError. Real networks nest
# a few dozen levels at most.
MAX_MODULE_DEPTH = 256


def check_module_tree(model: object, what: str) -> None:
    """Refuse a module tree torch itself cannot walk: a module that contains itself (a
    cycle) or one nested deeper than :data:`MAX_MODULE_DEPTH`. Iterative, so the check
    cannot overflow the stack it protects."""
    children = getattr(model, "_modules", None)
    if children is None:
        return
    # (module, path, ids of the modules above it)
    stack: list[tuple[object, str, frozenset[int]]] = [(model, "", frozenset())]
    while stack:
        module, path, above = stack.pop()
        if len(above) > MAX_MODULE_DEPTH:
            raise ConvscopeError(
                f"{what}: modules nest more than {MAX_MODULE_DEPTH} levels deep "
                f"(at '{_short_path(path)}'); torch walks the module tree recursively "
                "and cannot go that deep"
            )
        here = above | {id(module)}
        for name, child in (getattr(module, "_modules", None) or {}).items():
            if child is None:
                continue
            child_path = f"{path}.{name}" if path else name
            if id(child) in here:
                raise ConvscopeError(
                    f"{what}: module '{child_path}' is one of its own ancestors "
                    "(the module tree has a cycle)"
                )
            stack.append((child, child_path, here))


def _short_path(path: str) -> str:
    return path if len(path) <= 60 else f"{path[:28]}...{path[-28:]}"
