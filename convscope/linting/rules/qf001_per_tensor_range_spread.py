"""QF001 per-tensor-range-spread."""

from __future__ import annotations

import math
from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.passes.quant.structure import equalization_text


def _num(x: float | None, digits: int = 2) -> Value:
    if x is None:
        return "n/a"
    return "inf" if math.isinf(x) else round(x, digits)


def _db(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "∞ dB" if math.isinf(x) else f"{x:.1f} dB"


class PerTensorRangeSpread(Rule):
    """## What it does
    Folds each inference BatchNorm into the conv / linear layer before it and flags layers
    whose per-output-channel weight ranges are so uneven that one per-tensor INT8 scale
    starves most channels: ``spread = max_o r_o / median_o r_o > max_spread`` with
    ``r_o = max |W_fold[o]|``. Needs the model's weights.

    ## Why is this bad?
    A per-tensor scale ``s = R / 127`` is set by the largest channel; a channel of range
    ``r`` then spans only ``log2(254 · r / R)`` bits. A spread of 10 leaves the median
    channel 4.7 of 8 bits and costs it about 20 dB of SQNR. Nagel et al. (2019) trace
    MobileNetV2's per-tensor INT8 collapse to exactly this spread after BatchNorm folding
    in its depthwise layers.

    ## Options
    - ``max_spread`` (number, default 10)
    """

    code = "QF001"
    name = "per-tensor-range-spread"
    default_severity = Severity.WARNING
    summary = "Per-channel weight ranges (after BN folding) too uneven for per-tensor INT8"
    measure = ("spread", "higher")
    requires = frozenset({"weights"})
    options = (
        Option(
            "max_spread",
            float,
            10.0,
            "Largest acceptable max/median ratio of the per-output-channel weight ranges "
            "after BatchNorm folding.",
            minimum=1.0,
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        from convscope.passes.quant.measure import report_for_lint

        report = report_for_lint(ctx.analysis, ctx.extras)
        if report is None or report.skipped:
            return
        limit = ctx.option("max_spread")
        bits = report.options.bits
        for lq in report.layers:
            if not lq.spread > limit:
                continue
            folded = " after BatchNorm folding" if lq.fold is not None else ""
            before = ""
            if lq.spread_unfolded is not None and lq.spread_unfolded <= limit:
                before = f" (before folding {lq.spread_unfolded:.1f}×)"
            spread = "∞" if math.isinf(lq.spread) else f"{lq.spread:.1f}×"
            message = (
                f"{lq.description}: per-channel weight ranges{folded} spread {spread}{before} "
                f"(largest {lq.tensor_range:.3g} / median {lq.median_range:.3g}, "
                f"max_spread={limit:g}); under one per-tensor INT{bits} scale the median "
                f"channel keeps {lq.median_bits:.1f} of {bits} bits and the weakest "
                f"{lq.min_bits:.1f}; median channel SQNR "
                f"{_db(lq.median_channel_sqnr_per_tensor_db)} per-tensor vs "
                f"{_db(lq.median_channel_sqnr_per_channel_db)} per-channel (whole tensor "
                f"{_db(lq.sqnr_per_tensor_db)} vs {_db(lq.sqnr_per_channel_db)})"
            )
            tips = ["quantize this layer's weights per output channel"]
            eq = report.equalization_for(lq.path)
            if eq is not None:
                tips.extend(equalization_text(eq, lq.path))
            values: dict[str, Value] = {
                "spread": _num(lq.spread),
                "max_spread": limit,
                "sqnr_per_tensor_db": _num(lq.sqnr_per_tensor_db),
                "sqnr_per_channel_db": _num(lq.sqnr_per_channel_db),
                "median_channel_sqnr_per_tensor_db": _num(lq.median_channel_sqnr_per_tensor_db),
                "median_channel_sqnr_per_channel_db": _num(lq.median_channel_sqnr_per_channel_db),
                "min_bits": _num(lq.min_bits),
                "median_bits": _num(lq.median_bits),
                "channels": lq.out_channels,
                "accumulation": lq.accumulation,
            }
            if lq.fold is not None:
                values["batchnorm"] = lq.fold.bn
            yield ctx.finding(lq.path, message, values=values, suggestion="; ".join(tips))
