"""Numeric option types shared by every command: finite, in range, checked before any work.

``click.FloatRange`` lets ``nan`` through (every comparison with it is false) and accepts
``inf``; ``int`` accepts a seed no generator can take. These types reject both with one
line naming the flag, so a bad number never reaches a loop or an allocation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# torch.manual_seed takes any value in [-2**63, 2**64): a wider one raises deep inside.
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1
# A day: longer timings or limits are typos, and far longer ones overflow timers.
MAX_SECONDS = 86_400.0


class FiniteFloat(click.ParamType):
    """A finite float in ``[lo, hi]`` (``hi_open``: strictly below ``hi``)."""

    name = "number"

    def __init__(
        self, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
    ) -> None:
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open

    def _range(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{left}{self.lo:g}, {self.hi:g}{right}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"'{value}' is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"'{value}' is not a finite number", param, ctx)
        below = number <= self.lo if self.lo_open else number < self.lo
        above = number >= self.hi if self.hi_open else number > self.hi
        if below or above:
            self.fail(f"{value} is not in the range {self._range()}", param, ctx)
        return number


class BoundedInt(click.ParamType):
    """An integer in ``[lo, hi]``; ``hi`` may be computed when the value is parsed."""

    name = "integer"

    def __init__(self, lo: int, hi: int | Callable[[], int], *, why: str = "") -> None:
        self.lo, self.hi, self.why = lo, hi, why

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"'{value}' is not an integer", param, ctx)
        hi = self.hi() if callable(self.hi) else self.hi
        if not self.lo <= number <= hi:
            why = f" ({self.why})" if self.why else ""
            self.fail(f"{value} is not in the range [{self.lo}, {hi}]{why}", param, ctx)
        return number


def _max_threads() -> int:
    from convscope import api

    return api.max_threads()


SECONDS = FiniteFloat(0.0, MAX_SECONDS)
POSITIVE_SECONDS = FiniteFloat(0.0, MAX_SECONDS, lo_open=True)
SEED = BoundedInt(SEED_MIN, SEED_MAX, why="a 64-bit seed")
THREADS = BoundedInt(1, _max_threads, why="4 per CPU of this machine")
# Loop counts: a billion iterations is already days of work.
ITERATIONS = BoundedInt(0, 10**9)
POSITIVE_ITERATIONS = BoundedInt(1, 10**9)
FRACTION = FiniteFloat(0.0, 1.0, hi_open=True)
# A depthwise conv with m×C channels: past 64 it is no longer a cheaper layer.
MULTIPLIER = BoundedInt(1, 64, why="a depth multiplier")


def timeout_option(fn: F) -> F:
    """``--timeout SECONDS``: bound each phase of the model's own code (import, build,
    forward); :func:`convscope.cli.app.handle_errors` applies it."""
    return click.option(
        "--timeout",
        type=POSITIVE_SECONDS,
        metavar="SECONDS",
        help="Give up (exit 2) when the model's own code (import, build, one forward) "
        "runs longer than this.",
    )(fn)


def weights_options(fn: F) -> F:
    """``--weights CKPT`` and the ``--trust-pickle`` opt-in, for every command that loads a
    MODEL (checkpoints and ``.pt2`` archives never unpickle code without it)."""
    fn = click.option(
        "--trust-pickle",
        is_flag=True,
        help="Allow pickled code in --weights and .pt2 models (unsafe).",
    )(fn)
    return click.option(
        "--weights", type=click.Path(), help="State dict to load (weights_only=True)."
    )(fn)


class OutputPath(click.Path):
    """A file to write: like ``click.Path`` but an empty name is an error, not stdout."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty file name (omit the option to write to stdout)", param, ctx)
        return super().convert(value, param, ctx)


OUTPUT = OutputPath(dir_okay=False)
OUTPUT_DIR = OutputPath(file_okay=False)
