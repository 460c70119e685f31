"""What the quantization rules (QF001, QF002) share: the ``weights`` option bound to the
target profile, how a finding words channel indices and shares, and which channels set a
per-tensor range."""

from __future__ import annotations

import math

from convscope.linting.finding import Value
from convscope.linting.rule import Option
from convscope.passes.quant.grid import share_text
from convscope.passes.quant.report import QuantReport
from convscope.passes.quant.weights import LayerQuant

__all__ = [
    "WEIGHTS_KEY",
    "WEIGHT_SCHEMES",
    "indices",
    "range_setters_text",
    "share_text",
    "value",
    "weights_option",
]

#: The target-profile key that says how the deployed runtime scales weights.
WEIGHTS_KEY = "weights"
WEIGHT_SCHEMES = ("per-tensor", "per-channel")


def weights_option() -> Option:
    """The ``weights`` option QF001 and QF002 share, bound to the profile key."""
    return Option("weights", str, "per-tensor", profile_key=WEIGHTS_KEY, choices=WEIGHT_SCHEMES)


def value(x: float | None, digits: int = 3) -> Value:
    """A finding value: rounded, ``"n/a"`` for a missing or NaN figure, ``"inf"`` kept."""
    if x is None or math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else round(x, digits)


def indices(idx: tuple[int, ...] | list[int], limit: int = 6) -> str:
    """Channel indices for a message, the first ``limit`` of them."""
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + ("…" if len(idx) > limit else "")


def range_setters_text(report: QuantReport, lq: LayerQuant) -> str:
    """Which output channels set the per-tensor range: the constant ones among those within
    2× of the largest range when there are any, else the largest channel."""
    setters = lq.range_setters()
    const: set[int] = set()
    if lq.fold is not None:
        o = report.options
        const = set(lq.fold.constant_channels(o.var_eps, o.gamma_eps))
    named = [i for i in setters if i in const]
    if named:
        verb = "sets" if len(named) == 1 else "set"
        word = "channel" if len(named) == 1 else "channels"
        return f"constant {word} {indices(named)} (running_var ≈ 0) {verb} the range"
    top = max(range(lq.out_channels), key=lambda i: lq.channel_ranges[i])
    near = f", {len(setters)} channels within 2× of it" if len(setters) > 1 else ""
    return f"channel {top} sets the range{near}"
