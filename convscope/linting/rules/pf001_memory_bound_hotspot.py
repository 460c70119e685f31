"""PF001 memory-bound-hotspot."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import nbytes, pct
from convscope.targets.keys import ROOFLINE
from convscope.targets.roofline import estimate


class MemoryBoundHotspot(Rule):
    """Memory-bound layer (below the roofline ridge point) dominating predicted latency.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "PF001"
    name = "memory-bound-hotspot"
    default_severity = Severity.INFO
    summary = "Memory-bound layer (below the roofline ridge point) dominating predicted latency"
    measure = ("predicted_share", "higher")
    requires = frozenset({ROOFLINE})
    options = (
        Option("min_share", float, 0.1, minimum=0.0, maximum=1.0),
        Option("min_rows", int, 4, minimum=1),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        params = ctx.need(ROOFLINE)
        rows = ctx.analysis.rows
        if len(rows) < ctx.option("min_rows"):
            return
        report = estimate(rows, params)
        total = report.predicted_s
        limit = ctx.option("min_share")
        ridge = params.ridge_point
        for layer in report.hotspots(min_share=limit, bound="memory"):
            yield ctx.finding(
                layer.path,
                f"{layer.path or '(root)'} ({layer.type_name}) is memory-bound on "
                f"{params.name} (intensity {layer.intensity:.3g} FLOP/B < ridge point "
                f"{ridge:.3g} FLOP/B) and takes {pct(layer.predicted_share)} of the "
                f"predicted latency ({_ms(layer.predicted_s)} of {_ms(total)}, "
                f"{nbytes(layer.nbytes)} moved); threshold {pct(limit)}",
                values={
                    "predicted_share": round(layer.predicted_share, 4),
                    "intensity": round(layer.intensity, 4),
                    "ridge_point": round(ridge, 4),
                    "bytes": layer.nbytes,
                    "flops": layer.flops,
                },
                suggestion="move fewer bytes rather than fewer MACs: fuse it with its "
                "neighbours (conv + norm + activation), use a lower-precision "
                "dtype, or shrink the activation it reads or writes",
            )


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms >= 0.01 else f"{seconds * 1e6:.3g} µs"
