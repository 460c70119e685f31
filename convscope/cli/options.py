"""What the commands share: option types and option declarations.

The types are finite, in range and checked before any work. ``click.FloatRange`` lets
``nan`` through (every comparison with it is false) and accepts ``inf``; ``int`` accepts a
seed no generator can take. These types reject both with one line naming the flag, so a
bad number never reaches a loop or an allocation.

The declarations: every option that more than one command takes is declared here once,
as a decorator factory (``@options.input_option()``), so its name, type, default and help
text are the same wherever it appears.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
# Folding depth: module trees are never a million levels deep.
DEPTH = BoundedInt(0, 10**6)


class OutputPath(click.Path):
    """A file to write: like ``click.Path`` but an empty name is an error, not stdout."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty file name (omit the option to write to stdout)", param, ctx)
        return super().convert(value, param, ctx)


OUTPUT = OutputPath(dir_okay=False)
OUTPUT_DIR = OutputPath(file_okay=False)


# One declaration per option that several commands share, help text written once. A
# command adds a nuance (a sentence appended to the shared help) through the factory's
# parameter, never by declaring the option again; tests/cli/test_options.py checks that
# every shared option reads the same in every command.


def _help(text: str, nuance: str) -> str:
    return f"{text} {nuance}" if nuance else text


def debug_option() -> Callable[[F], F]:
    """``--debug``: :func:`convscope.cli.app.handle_errors` prints the traceback too."""
    return click.option("--debug", is_flag=True, help="Show tracebacks for errors.")


def timeout_option() -> Callable[[F], F]:
    """``--timeout SECONDS``: bound each phase of the model's own code (import, build,
    forward); :func:`convscope.cli.app.handle_errors` applies it."""
    return click.option(
        "--timeout",
        type=POSITIVE_SECONDS,
        metavar="SECONDS",
        help="Give up (exit 2) when the model's own code (import, build, one forward) "
        "runs longer than this.",
    )


def input_option(nuance: str = "") -> Callable[[F], F]:
    """``-i/--input SHAPE`` or ``NAME=SHAPE`` (repeatable) into the ``inputs`` parameter."""
    return click.option(
        "-i",
        "--input",
        "inputs",
        multiple=True,
        metavar="SHAPE",
        help=_help(
            "Input shape such as 1,3,224,224, or NAME=SHAPE for a keyword input "
            "(pixel_values=1,3,224,224); repeat for several inputs.",
            nuance,
        ),
    )


def trust_pickle_option() -> Callable[[F], F]:
    """``--trust-pickle``: checkpoints and ``.pt2`` archives never unpickle code without it."""
    return click.option(
        "--trust-pickle",
        is_flag=True,
        help="Allow pickled code in checkpoints and .pt2 models (unsafe).",
    )


def weights_options(nuance: str = "") -> Callable[[F], F]:
    """``--weights`` and the :func:`trust_pickle_option` opt-in, for every command that
    loads a MODEL."""
    weights = click.option(
        "--weights",
        type=click.Path(),
        help=_help("State dict to load (weights_only=True).", nuance),
    )

    def decorate(fn: F) -> F:
        return weights(trust_pickle_option()(fn))

    return decorate


def format_option(
    choices: Sequence[str], default: str | None, *, default_text: str | None = None
) -> Callable[[F], F]:
    """``--format`` into the ``fmt`` parameter, among the command's own formats;
    ``default=None`` with ``default_text`` for a command that picks the format itself."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True if default_text is None else default_text,
        help="Output format.",
    )


def output_option(nuance: str = "") -> Callable[[F], F]:
    """``-o/--output FILE``: the report goes there (atomically) instead of stdout."""
    return click.option(
        "-o",
        "--output",
        type=OUTPUT,
        help=_help("Write to FILE instead of stdout.", nuance),
    )


def config_option() -> Callable[[F], F]:
    """``--config FILE``: the lint configuration, discovered when not given."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        help="Config file (default: convscope.yaml, .convscope.yaml or pyproject.toml "
        "[tool.convscope] in this directory or a parent).",
    )


def target_option(nuance: str = "") -> Callable[[F], F]:
    """``--target PROFILE``: a hardware target profile, by name or ``.yaml`` file."""
    return click.option(
        "--target",
        metavar="PROFILE",
        help=_help(
            "Target profile: generic, gpu-fp16, edge-int8 or a .yaml file "
            "(`convscope config --targets` lists them).",
            nuance,
        ),
    )


def trace_device_option() -> Callable[[F], F]:
    """``--device meta|cpu``: the tensors a static analysis traces on."""
    return click.option(
        "--device",
        type=click.Choice(("meta", "cpu")),
        default="meta",
        show_default=True,
        help="Trace on meta tensors (no memory) or real CPU tensors.",
    )


def calibration_option() -> Callable[[F], F]:
    """``--calibration DATA``: batches for activation statistics."""
    return click.option(
        "--calibration",
        metavar="DATA",
        help="Calibration batches for activation statistics: a saved tensor file, or 'random'.",
    )


def depth_option() -> Callable[[F], F]:
    """``--depth N``: fold the layer rows of a rendered analysis."""
    return click.option(
        "--depth", type=DEPTH, help="Fold layer rows deeper than N into their parent."
    )


def erf_option() -> Callable[[F], F]:
    """``--erf``: measure the effective receptive field."""
    return click.option(
        "--erf", is_flag=True, help="Measure the effective receptive field (Luo et al.)."
    )


def seed_option() -> Callable[[F], F]:
    """``--seed``: every random draw of the command (weights, inputs, filters)."""
    return click.option(
        "--seed",
        type=SEED,
        default=0,
        show_default=True,
        help="Seed for random weights and inputs.",
    )


def exit_zero_option() -> Callable[[F], F]:
    """``--exit-zero``: report a failed gate without failing the run."""
    return click.option(
        "--exit-zero",
        is_flag=True,
        help="Exit 0 even when the gate fails (an error still exits 2).",
    )


def min_time_option() -> Callable[[F], F]:
    """``--min-time SECONDS`` of timed iterations."""
    return click.option(
        "--min-time",
        type=SECONDS,
        default=1.0,
        show_default=True,
        help="Seconds of timed iterations per batch size (when profiling).",
    )


def calibrate_time_option(default: float) -> Callable[[F], F]:
    """``--calibrate-time SECONDS``: the budget of a roofline calibration."""
    return click.option(
        "--calibrate-time",
        type=SECONDS,
        default=default,
        show_default=True,
        help="Seconds for two --calibrate rounds (more rounds, up to twice that, until stable).",
    )
