"""PF002 cost-hotspot."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import count, duration, nbytes, pct
from convscope.targets.keys import LATENCY


class CostHotspot(Rule):
    """One layer holding a large share of total MACs or activation memory.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "PF002"
    name = "cost-hotspot"
    default_severity = Severity.INFO
    summary = "One layer holding a large share of total MACs or activation memory"
    uses = frozenset({LATENCY})
    options = (
        Option("max_share", float, 0.25, minimum=0.0, maximum=1.0),
        Option("min_rows", int, 4, minimum=1),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        a = ctx.analysis
        if len(a.rows) < ctx.option("min_rows"):
            return
        limit = ctx.option("max_share")
        total_macs, total_act = a.totals.macs, a.totals.activation_bytes
        # With a kernel model, cost is the predicted time on the target, not MACs.
        latency = ctx.section(LATENCY)
        total_ms = latency.predicted_ms if latency is not None else 0.0
        for row in a.rows:
            mac_share = row.macs / total_macs if total_macs else 0.0
            act_share = row.activation_bytes / total_act if total_act else 0.0
            parts = []
            values: dict[str, float | int] = {}
            if latency is not None:
                row_ms = latency.nodes_ms(row.nodes) or 0.0
                time_share = row_ms / total_ms if total_ms > 0 else 0.0
                values = {"time_share": round(time_share, 4), "predicted_ms": round(row_ms, 6)}
                if time_share >= limit:
                    parts.append(
                        f"{pct(time_share)} of the predicted time on {latency.target} "
                        f"({duration(row_ms)} of {duration(total_ms)})"
                    )
            elif mac_share >= limit:
                parts.append(
                    f"{pct(mac_share)} of the model's MACs ({count(row.macs)} of "
                    f"{count(total_macs)})"
                )
            if act_share >= limit:
                parts.append(
                    f"{pct(act_share)} of its activation memory "
                    f"({nbytes(row.activation_bytes)} of {nbytes(total_act)})"
                )
            if not parts:
                continue
            # A module run several times (one ReLU reused in a block) is one layer to change,
            # so its calls are judged together, and the message says they are summed.
            summed = f", summed over its {row.calls} calls" if row.calls > 1 else ""
            yield ctx.finding(
                row.path,
                f"{row.name} ({row.type_name}) holds {' and '.join(parts)}{summed}; "
                f"threshold {pct(limit)}",
                values={
                    "macs_share": round(mac_share, 4),
                    "activation_share": round(act_share, 4),
                    "macs": row.macs,
                    "activation_bytes": row.activation_bytes,
                    **values,
                    **({"calls": row.calls} if row.calls > 1 else {}),
                },
                suggestion="check whether this layer can be made cheaper (fewer channels, a "
                "separable or strided version, earlier downsampling)",
            )
