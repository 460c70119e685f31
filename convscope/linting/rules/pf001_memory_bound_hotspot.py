"""PF001 memory-bound-hotspot."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import duration, nbytes, pct
from convscope.targets.keys import LATENCY, ROOFLINE
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
    uses = frozenset({LATENCY})
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
        limit = ctx.option("min_share")
        ridge = params.ridge_point
        # The roofline says which layers are memory-bound; their share of the time is the
        # kernel model's prediction when the target has one, else the roofline's bound.
        latency = ctx.section(LATENCY)
        if latency is None:
            total_ms = report.predicted_s * 1e3
            layer_ms = {x.path: x.predicted_s * 1e3 for x in report.layers}
            what = "predicted latency"
        else:
            total_ms = latency.predicted_ms
            layer_ms = {r.path: latency.nodes_ms(r.nodes) or 0.0 for r in rows}
            what = f"predicted time on {latency.target}"
        shares = {p: ms / total_ms if total_ms > 0 else 0.0 for p, ms in layer_ms.items()}
        hits = [x for x in report.layers if x.bound == "memory" and shares[x.path] >= limit]
        for layer in sorted(hits, key=lambda x: (-shares[x.path], x.path)):
            share = shares[layer.path]
            yield ctx.finding(
                layer.path,
                f"{layer.path or '(root)'} ({layer.type_name}) is memory-bound on "
                f"{params.name} (intensity {layer.intensity:.3g} FLOP/B < ridge point "
                f"{ridge:.3g} FLOP/B) and takes {pct(share)} of the {what} "
                f"({duration(layer_ms[layer.path])} of {duration(total_ms)}, "
                f"{nbytes(layer.nbytes)} moved); threshold {pct(limit)}",
                values={
                    "predicted_share": round(share, 4),
                    "intensity": round(layer.intensity, 4),
                    "ridge_point": round(ridge, 4),
                    "bytes": layer.nbytes,
                    "flops": layer.flops,
                },
                suggestion="move fewer bytes rather than fewer MACs: fuse it with its "
                "neighbours (conv + norm + activation), use a lower-precision "
                "dtype, or shrink the activation it reads or writes",
            )
