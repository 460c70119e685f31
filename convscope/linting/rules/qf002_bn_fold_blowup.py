"""QF002 bn-fold-blowup."""

from __future__ import annotations

import math
from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext


def _num(x: float, digits: int = 3) -> Value:
    return "inf" if math.isinf(x) else round(x, digits)


def _indices(idx: tuple[int, ...]) -> str:
    shown = ", ".join(str(i) for i in idx[:6])
    return shown + ("…" if len(idx) > 6 else "")


class BnFoldBlowup(Rule):
    """## What it does
    For each inference BatchNorm folded into the conv / linear layer before it, computes
    the fold factors ``f_o = γ_o / sqrt(var_o + eps)`` and flags the BatchNorm when
    ``max |f| / median |f| > max_fold_ratio``, or (with ``flag_dead_channels``) when some
    channels are dead (``|γ| < gamma_eps``) or constant (``running_var < var_eps``). Needs
    the model's weights.

    ## Why is this bad?
    Folding multiplies each output channel's weights by its fold factor. A channel whose
    statistics say it never varies gets ``f = γ / sqrt(eps)`` (≈ 316·γ): its folded weights
    explode and set the per-tensor INT8 scale for every other channel, although the channel
    only ever outputs a constant. Nagel et al. (2019) and Sheng et al. (2018) identify such
    BatchNorm-induced range blow-ups in MobileNet depthwise layers as the cause of their
    8-bit collapse.

    ## Options
    - ``max_fold_ratio`` (number, default 10)
    - ``gamma_eps`` (number, default 1e-6)
    - ``var_eps`` (number, default 1e-8)
    - ``flag_dead_channels`` (bool, default true)
    """

    code = "QF002"
    name = "bn-fold-blowup"
    default_severity = Severity.WARNING
    summary = "BatchNorm fold factors that blow up the folded weight ranges"
    measure = ("ratio", "higher")
    requires = frozenset({"weights"})
    options = (
        Option(
            "max_fold_ratio",
            float,
            10.0,
            "Largest acceptable max/median ratio of the fold factors γ/sqrt(var+eps).",
            minimum=1.0,
        ),
        Option("gamma_eps", float, 1e-6, "|γ| below this marks a dead channel.", minimum=0.0),
        Option(
            "var_eps", float, 1e-8, "running_var below this marks a constant channel.", minimum=0.0
        ),
        Option(
            "flag_dead_channels",
            bool,
            True,
            "Also report BatchNorms with dead or constant channels whatever the ratio.",
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        from convscope.passes.quant.measure import report_for_lint

        report = report_for_lint(ctx.analysis, ctx.extras)
        if report is None or report.skipped:
            return
        limit = ctx.option("max_fold_ratio")
        g_eps, v_eps = ctx.option("gamma_eps"), ctx.option("var_eps")
        for lq in report.layers:
            fold = lq.fold
            if fold is None:
                continue
            dead = fold.dead_channels(g_eps)
            const = fold.constant_channels(v_eps, g_eps)
            ratio = fold.ratio
            too_wide = ratio > limit
            if not (too_wide or (ctx.option("flag_dead_channels") and (dead or const))):
                continue
            ratio_text = "∞" if math.isinf(ratio) else f"{ratio:.1f}"
            parts = [
                f"fold factors γ/√(var+ε) into `{lq.name}` ({lq.description}) span "
                f"{fold.factor_min:.3g}–{fold.factor_max:.3g}, max/median {ratio_text}"
                + (f" > max_fold_ratio={limit:g}" if too_wide else "")
            ]
            if const:
                parts.append(
                    f"{len(const)} constant channel{'s' if len(const) != 1 else ''} "
                    f"(running_var < {v_eps:g}: factor γ/√ε, ε = {fold.eps:g}; "
                    f"channels {_indices(const)})"
                )
            if dead:
                parts.append(
                    f"{len(dead)} dead channel{'s' if len(dead) != 1 else ''} "
                    f"(|γ| < {g_eps:g}; channels {_indices(dead)})"
                )
            if lq.spread_unfolded is not None:
                after = "∞" if math.isinf(lq.spread) else f"{lq.spread:.1f}×"
                parts.append(
                    f"folding takes the weight-range spread from "
                    f"{lq.spread_unfolded:.1f}× to {after}"
                )
            tips = []
            if dead or const:
                tips.append(
                    f"remove the {len(dead) + len(const)} dead/constant channels "
                    "(their output is the constant β: fold it into the next layer's "
                    "bias)"
                )
            tips.append(
                "quantize the folded weights per output channel, which absorbs the fold factors"
            )
            tips.append(
                "if the statistics are stale, re-estimate them on representative data "
                "before folding"
            )
            values: dict[str, Value] = {
                "layer": lq.path,
                "ratio": _num(ratio),
                "max_fold_ratio": limit,
                "factor_min": _num(fold.factor_min, 6),
                "factor_max": _num(fold.factor_max, 6),
                "dead_channels": len(dead),
                "constant_channels": len(const),
                "spread": _num(lq.spread),
            }
            yield ctx.finding(fold.bn, "; ".join(parts), values=values, suggestion="; ".join(tips))
