"""QF005 activation-outliers."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.passes.keys import CALIBRATION


class ActivationOutliers(Rule):
    """Activation channels whose max is far above their 97.5th percentile.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "QF005"
    name = "activation-outliers"
    default_severity = Severity.OFF
    enabled_severity = Severity.WARNING
    summary = "Activation channels whose max is far above their 97.5th percentile"
    measure = ("worst_ratio", "higher")
    requires = frozenset({CALIBRATION})
    options = (
        Option("max_ratio", float, 3.5, minimum=1.0),
        Option("min_channels", int, 1, minimum=1),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.need(CALIBRATION)
        limit = ctx.option("max_ratio")
        pct = f"P{100 * stats.percentile:g}"
        note = " (random calibration data: this only tests the mechanics)" if stats.random else ""
        for la in stats.layers:
            outliers = la.outlier_channels(limit)
            if len(outliers) < ctx.option("min_channels"):
                continue
            worst = max(r for r in la.outlier_ratios if r is not None)
            shown = ", ".join(str(i) for i in outliers[:6]) + ("…" if len(outliers) > 6 else "")
            message = (
                f"{len(outliers)} of {la.channels} output channels have "
                f"max|x| / {pct}(|x|) > {limit:g} (worst {worst:.1f}; channels "
                f"{shown}) on {stats.source}{note}"
            )
            values: dict[str, Value] = {
                "outlier_channels": len(outliers),
                "channels": la.channels,
                "max_ratio": limit,
                "worst_ratio": round(worst, 3),
                "percentile": stats.percentile,
                "random_calibration": stats.random,
            }
            yield ctx.finding(
                la.path,
                message,
                values=values,
                suggestion="calibrate this activation with a percentile or MSE-based observer "
                "(e.g. torch.ao.quantization HistogramObserver) instead of min-max, "
                "or keep it in higher precision; a bounded activation trained in "
                "(clipping) removes the outliers at the source",
            )
