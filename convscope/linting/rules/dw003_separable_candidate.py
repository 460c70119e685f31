"""DW003 separable-candidate."""

from __future__ import annotations

from collections.abc import Iterator

from convscope import formulas as fm
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import count, kernel, pct


class SeparableCandidate(Rule):
    """Dense k×k conv that a depthwise + pointwise pair would replace with large savings.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "DW003"
    name = "separable-candidate"
    default_severity = Severity.INFO
    summary = "Dense k×k conv that a depthwise + pointwise pair would replace with large savings"
    options = (
        Option("min_savings", float, 0.5, minimum=0.0, maximum=1.0),
        Option("min_in_channels", int, 16, minimum=1),
        Option("min_macs_share", float, 0.05, minimum=0.0, maximum=1.0),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        total = ctx.analysis.totals.macs
        min_savings = ctx.option("min_savings")
        min_share = ctx.option("min_macs_share")
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
            yield ctx.finding(
                node,
                f"dense {kernel(a.kernel)} conv {a.in_channels}→{a.out_channels} holds "
                f"{pct(share)} of the model's MACs; a depthwise {kernel(a.kernel)} + pointwise "
                f"1×1 pair would take params {count(dense_params)} → {count(sep_params)} and "
                f"MACs {count(dense_macs)} → {count(sep_macs)} (saves {pct(savings)}, "
                f"threshold {pct(min_savings)})",
                values={
                    "params_before": dense_params,
                    "params_after": sep_params,
                    "macs_before": dense_macs,
                    "macs_after": sep_macs,
                    "savings": round(savings, 4),
                    "macs_share": round(share, 4),
                },
                suggestion="factorize into a depthwise conv followed by a 1×1 conv and "
                "fine-tune (accuracy is not guaranteed to hold)",
                rewrite=ctx.rewrite_command([node.module]),
            )
