"""QF001 per-tensor-range-spread."""

from __future__ import annotations

import math
from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._quant import (
    indices,
    range_setters_text,
    share_text,
    value,
    weights_option,
)
from convscope.passes.keys import QUANT
from convscope.passes.quant.grid import share
from convscope.passes.quant.report import equalization_text


class PerTensorRangeSpread(Rule):
    """Channels starved of INT8 levels by a per-tensor weight scale (after BN folding).

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "QF001"
    name = "per-tensor-range-spread"
    default_severity = Severity.WARNING
    summary = "Channels starved of INT8 levels by a per-tensor weight scale (after BN folding)"
    requires = frozenset({QUANT})
    options = (
        Option("min_bits", float, 4.0, minimum=0.0, maximum=8.0),
        Option("max_starved_share", float, 0.05, minimum=0.0, maximum=1.0),
        weights_option(),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        report = ctx.need(QUANT)
        if report.skipped:
            return
        mb, limit = ctx.option("min_bits"), ctx.option("max_starved_share")
        per_channel = ctx.option("weights") == "per-channel"
        bits = report.options.bits
        for lq in report.layers:
            starved = lq.starved(mb)
            out_share = share(len(starved), lq.out_channels)
            out_bad = not per_channel and out_share > limit
            in_starved = lq.input_starved(mb)
            in_total = len(lq.input_bits) if lq.input_bits is not None else 0
            in_share = share(len(in_starved), in_total)
            in_bad = in_share > limit
            if not (out_bad or in_bad):
                continue
            parts: list[str] = []
            tips: list[str] = []
            if out_bad:
                folded = " after BatchNorm folding" if lq.fold is not None else ""
                zero = len(lq.zero_bit_channels)
                spread = "∞" if math.isinf(lq.spread) else f"{lq.spread:.1f}×"
                parts.append(
                    f"{lq.description}: {len(starved)} of {lq.out_channels} output channels "
                    f"({share_text(out_share)}) keep fewer than {mb:g} of {bits} bits under one "
                    f"per-tensor INT{bits} scale{folded}, {zero} "
                    f"({share_text(zero / lq.out_channels)}) "
                    f"round to 0 bits (max_starved_share={limit:g}); the lower-median channel "
                    f"keeps {lq.lower_median_bits:.1f} bits; {range_setters_text(report, lq)} "
                    f"(max/lower-median range spread {spread}); weight SQNR "
                    f"{_db(lq.sqnr_per_tensor_db)} per-tensor vs "
                    f"{_db(lq.sqnr_per_channel_db)} per-channel"
                )
                tips.append("quantize this layer's weights per output channel")
            if in_bad:
                lead = "" if parts else f"{lq.description}: "
                parts.append(
                    f"{lead}{len(in_starved)} of {in_total} input channels "
                    f"({share_text(in_share)}) keep fewer than {mb:g} bits even with "
                    f"per-output-channel scales (every weight that reads them is small: "
                    f"channels {indices(in_starved)}); per-channel quantization cannot fix "
                    "this"
                )
            eq = report.equalization_for(lq.path, as_second=in_bad and not out_bad)
            if eq is not None:
                tips.extend(equalization_text(eq, lq.path, mb))
            elif in_bad:
                tips.append(
                    "rescale the channels with the layer before (cross-layer equalization); "
                    "convscope found no equalizable pair here (it needs a single conv/linear "
                    "feeding this layer through a ReLU-like activation)"
                )
            values: dict[str, Value] = {
                "starved_channels": len(starved),
                "starved_share": value(out_share),
                "zero_bit_channels": len(lq.zero_bit_channels),
                "lower_median_bits": value(lq.lower_median_bits),
                "min_channel_bits": value(lq.min_bits),
                "input_starved_channels": len(in_starved),
                "input_starved_share": value(in_share),
                "min_bits": mb,
                "max_starved_share": limit,
                "weights": ctx.option("weights"),
                "spread": value(lq.spread),
                "sqnr_per_tensor_db": value(lq.sqnr_per_tensor_db),
                "sqnr_per_channel_db": value(lq.sqnr_per_channel_db),
                "channels": lq.out_channels,
            }
            if eq is not None:
                values["cle_scale_min"] = value(eq.scale_min, 4)
                values["cle_scale_max"] = value(eq.scale_max, 4)
                values["starved_share_after_cle"] = value(eq.starved_share_after(lq.path, mb))
            if lq.fold is not None:
                values["batchnorm"] = lq.fold.bn
            yield ctx.finding(lq.path, "; ".join(parts), values=values, suggestion="; ".join(tips))


def _db(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "∞ dB" if math.isinf(x) else f"{x:.1f} dB"
