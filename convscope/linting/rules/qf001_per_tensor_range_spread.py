"""QF001 per-tensor-range-spread."""

from __future__ import annotations

import math
from collections.abc import Iterator

from convscope.analysis.sections import QUANT
from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.passes.quant.structure import (
    LayerQuant,
    QuantReport,
    equalization_text,
    share,
)

#: The target-profile key that says how the deployed runtime scales weights.
WEIGHTS_KEY = "weights"
WEIGHT_SCHEMES = ("per-tensor", "per-channel")


def weights_option() -> Option:
    """The ``weights`` option QF001 and QF002 share, bound to the profile key."""
    return Option(
        "weights",
        str,
        "per-tensor",
        "How the target quantizes weights: 'per-tensor' (one scale per layer) or "
        "'per-channel' (one scale per output channel).",
        profile_key=WEIGHTS_KEY,
        choices=WEIGHT_SCHEMES,
    )


def _num(x: float | None, digits: int = 3) -> Value:
    if x is None or math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else round(x, digits)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x == 0 or x >= 0.01 else f"{100 * x:.1f}%"


def _indices(idx: tuple[int, ...] | list[int], limit: int = 6) -> str:
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
        return f"constant {word} {_indices(named)} (running_var ≈ 0) {verb} the range"
    top = max(range(lq.out_channels), key=lambda i: lq.channel_ranges[i])
    near = f", {len(setters)} channels within 2× of it" if len(setters) > 1 else ""
    return f"channel {top} sets the range{near}"


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
        Option(
            "min_bits",
            float,
            4.0,
            "A channel with fewer effective bits log2(2·m+1) than this is starved.",
            minimum=0.0,
            maximum=8.0,
        ),
        Option(
            "max_starved_share",
            float,
            0.05,
            "Largest acceptable share of starved output (or input) channels in a layer.",
            minimum=0.0,
            maximum=1.0,
        ),
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
                    f"({_pct(out_share)}) keep fewer than {mb:g} of {bits} bits under one "
                    f"per-tensor INT{bits} scale{folded}, {zero} ({_pct(zero / lq.out_channels)}) "
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
                    f"({_pct(in_share)}) keep fewer than {mb:g} bits even with "
                    f"per-output-channel scales (every weight that reads them is small: "
                    f"channels {_indices(in_starved)}); per-channel quantization cannot fix "
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
                "starved_share": _num(out_share),
                "zero_bit_channels": len(lq.zero_bit_channels),
                "lower_median_bits": _num(lq.lower_median_bits),
                "min_channel_bits": _num(lq.min_bits),
                "input_starved_channels": len(in_starved),
                "input_starved_share": _num(in_share),
                "min_bits": mb,
                "max_starved_share": limit,
                "weights": ctx.option("weights"),
                "spread": _num(lq.spread),
                "sqnr_per_tensor_db": _num(lq.sqnr_per_tensor_db),
                "sqnr_per_channel_db": _num(lq.sqnr_per_channel_db),
                "channels": lq.out_channels,
            }
            if eq is not None:
                values["cle_scale_min"] = _num(eq.scale_min, 4)
                values["cle_scale_max"] = _num(eq.scale_max, 4)
                values["starved_share_after_cle"] = _num(eq.starved_share_after(lq.path, mb))
            if lq.fold is not None:
                values["batchnorm"] = lq.fold.bn
            yield ctx.finding(lq.path, "; ".join(parts), values=values, suggestion="; ".join(tips))


def _db(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "∞ dB" if math.isinf(x) else f"{x:.1f} dB"
