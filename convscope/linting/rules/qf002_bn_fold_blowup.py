"""QF002 bn-fold-blowup."""

from __future__ import annotations

import dataclasses
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
from convscope.passes.quant.grid import below, share


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class BnFoldBlowup(Rule):
    """BatchNorm folding that starves channels of INT8 levels (or dead/constant channels).

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "QF002"
    name = "bn-fold-blowup"
    default_severity = Severity.WARNING
    summary = "BatchNorm folding that starves channels of INT8 levels (or dead/constant channels)"
    requires = frozenset({QUANT})
    options = (
        Option("min_bits", float, 4.0, minimum=0.0, maximum=8.0),
        Option("max_starved_share", float, 0.05, minimum=0.0, maximum=1.0),
        Option("gamma_eps", float, 1e-6, minimum=0.0),
        Option("var_eps", float, 1e-8, minimum=0.0),
        Option("flag_dead_channels", bool, True),
        weights_option(),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        report = ctx.need(QUANT)
        if report.skipped:
            return
        mb, limit = ctx.option("min_bits"), ctx.option("max_starved_share")
        g_eps, v_eps = ctx.option("gamma_eps"), ctx.option("var_eps")
        per_channel = ctx.option("weights") == "per-channel"
        for lq in report.layers:
            fold, unfolded = lq.fold, lq.unfolded_bits
            if fold is None or unfolded is None:
                continue
            dead = fold.dead_channels(g_eps)
            const = fold.constant_channels(v_eps, g_eps)
            n = lq.out_channels
            after = lq.starved(mb)
            before = below(unfolded, mb)
            starves = share(len(after), n) > limit >= share(len(before), n)
            flag_odd = ctx.option("flag_dead_channels") and bool(dead or const)
            if per_channel:  # per-channel scales absorb the fold factors
                starves = False
            if not (starves or flag_odd):
                continue
            ratio = fold.ratio
            ratio_text = "∞" if math.isinf(ratio) else f"{ratio:.1f}"
            parts = [
                f"fold factors γ/√(var+ε) into `{lq.name}` ({lq.description}) span "
                f"{fold.factor_min:.3g}–{fold.factor_max:.3g} (max/lower-median {ratio_text})"
            ]
            if not per_channel:
                parts.append(
                    f"folding takes the output channels below {mb:g} bits under one "
                    f"per-tensor INT{lq.bits} scale from {len(before)} to {len(after)} of {n} "
                    f"({share_text(share(len(before), n))} → {share_text(share(len(after), n))}, "
                    f"max_starved_share={limit:g}; {len(lq.zero_bit_channels)} at 0 bits)"
                )
            const_setters = tuple(i for i in lq.range_setters() if i in set(const))
            if const:
                setting = ""
                if const_setters and not per_channel:
                    setting = (
                        "; it sets the per-tensor range"
                        if len(const) == 1
                        else f"; {len(const_setters)} of them set the per-tensor range"
                    )
                parts.append(
                    f"{_plural(len(const), 'constant channel')} (running_var < {v_eps:g}: "
                    f"factor γ/√ε, ε = {fold.eps:g}; channels {indices(const)}){setting}"
                )
            if not const_setters and not per_channel:
                parts.append(range_setters_text(report, lq))
            if dead:
                parts.append(
                    f"{_plural(len(dead), 'dead channel')} (|γ| < {g_eps:g}; "
                    f"channels {indices(dead)})"
                )
            tips = []
            if const and not per_channel:
                rest = lq.bits_without(const)
                left = share(len(below(rest, mb)), n - len(const))
                tips.append(
                    f"zero the folded weights of the {_plural(len(const), 'constant channel')} "
                    f"and keep {'its' if len(const) == 1 else 'their'} folded bias (the "
                    "channel outputs that constant anyway): "
                    f"the other channels then set the per-tensor range and {share_text(left)} of "
                    f"them stay below {mb:g} bits"
                )
            elif const or dead:
                tips.append(
                    f"remove the {len(dead) + len(const)} dead/constant channels (their output "
                    "is constant: fold it into the next layer's bias)"
                )
            if not per_channel:
                tips.append(
                    "quantize the folded weights per output channel, which absorbs the fold factors"
                )
            tips.append(
                "if the statistics are stale, re-estimate them on representative data "
                "before folding"
            )
            values: dict[str, Value] = {
                "layer": lq.path,
                "ratio": value(ratio),
                "factor_min": value(fold.factor_min, 6),
                "factor_max": value(fold.factor_max, 6),
                "dead_channels": len(dead),
                "constant_channels": len(const),
                "constant_range_setters": len(const_setters),
                "starved_channels": len(after),
                "starved_share": value(share(len(after), n)),
                "starved_share_unfolded": value(share(len(before), n)),
                "min_bits": mb,
                "max_starved_share": limit,
                "weights": ctx.option("weights"),
            }
            f = ctx.finding(fold.bn, "; ".join(parts), values=values, suggestion="; ".join(tips))
            if per_channel:
                # Per-channel scales absorb the fold factors: visible, not blocking.
                f = dataclasses.replace(f, severity=Severity.INFO)
            yield f
