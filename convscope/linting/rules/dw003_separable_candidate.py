"""DW003 separable-candidate."""

from __future__ import annotations

from collections.abc import Iterator

from convscope import formulas as fm
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import count, kernel, pct
from convscope.targets.keys import LATENCY
from convscope.targets.latency import separable_calls


class SeparableCandidate(Rule):
    """Dense k×k conv that a depthwise + pointwise pair would replace with large savings.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "DW003"
    name = "separable-candidate"
    default_severity = Severity.INFO
    summary = "Dense k×k conv that a depthwise + pointwise pair would replace with large savings"
    uses = frozenset({LATENCY})
    options = (
        Option("min_savings", float, 0.5, minimum=0.0, maximum=1.0),
        Option("min_in_channels", int, 16, minimum=1),
        Option("min_macs_share", float, 0.05, minimum=0.0, maximum=1.0),
        Option("min_time_savings", float, 0.0, minimum=0.0, maximum=1.0),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        total = ctx.analysis.totals.macs
        min_savings = ctx.option("min_savings")
        min_share = ctx.option("min_macs_share")
        latency = ctx.section(LATENCY)
        for node, a in ctx.flow.convs():
            if a.groups != 1 or a.transposed or a.is_pointwise or not node.outputs:
                continue
            if a.in_channels < ctx.option("min_in_channels"):
                continue
            out_shape = node.outputs[0].shape
            batch, spatial = out_shape[0], out_shape[2:]
            dense_macs = ctx.analysis.node_cost[node.id].macs
            if dense_macs <= 0 or total <= 0:
                continue
            sep_macs = fm.conv_macs(
                batch, a.in_channels, a.in_channels, a.kernel, spatial, groups=a.in_channels
            ) + fm.conv_macs(batch, a.in_channels, a.out_channels, (1,) * len(a.kernel), spatial)
            savings = 1 - sep_macs / dense_macs
            share = dense_macs / total
            if savings < min_savings or share < min_share:
                continue
            dense_params = fm.conv_params(a.in_channels, a.out_channels, a.kernel, bias=False)
            sep_params = fm.separable_params(a.in_channels, a.out_channels, a.kernel)
            values: dict[str, float | int] = {
                "params_before": dense_params,
                "params_after": sep_params,
                "macs_before": dense_macs,
                "macs_after": sep_macs,
                "savings": round(savings, 4),
                "macs_share": round(share, 4),
            }
            timing = ""
            if latency is not None and latency.kernels is not None:
                # The dense conv's kernel against the pair's two kernels and the call of the
                # container holding them; the norm and activation after it run either way.
                before_us = latency.node_us.get(node.id, 0.0)
                after_us = latency.price_us(separable_calls(ctx.graph, node), module_calls=1)
                time_savings = 1 - after_us / before_us if before_us > 0 else 0.0
                if time_savings <= ctx.option("min_time_savings"):
                    continue  # predicted no faster on this target: not worth suggesting
                model_ms = latency.predicted_ms
                model_after = model_ms + (after_us - before_us) / 1e3
                timing = "; " + latency.change_text(before_us, after_us)
                values |= {
                    "predicted_us_before": round(before_us, 3),
                    "predicted_us_after": round(after_us, 3),
                    "time_savings": round(time_savings, 4),
                    "predicted_model_ms_before": round(model_ms, 4),
                    "predicted_model_ms_after": round(model_after, 4),
                }
            yield ctx.finding(
                node,
                f"dense {kernel(a.kernel)} conv {a.in_channels}→{a.out_channels} holds "
                f"{pct(share)} of the model's MACs; a depthwise {kernel(a.kernel)} + pointwise "
                f"1×1 pair would take params {count(dense_params)} → {count(sep_params)} and "
                f"MACs {count(dense_macs)} → {count(sep_macs)} (saves {pct(savings)}, "
                f"threshold {pct(min_savings)}){timing}",
                values=values,
                suggestion="factorize into a depthwise conv followed by a 1×1 conv and "
                "fine-tune (accuracy is not guaranteed to hold)",
                rewrite=ctx.rewrite_command([node.module]),
            )
