"""AR002 nonlinear-projection."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe, layer

_THROUGH_NORM = frozenset({ir.OpKind.NORM, ir.OpKind.VIEW, ir.OpKind.DROPOUT})


class NonlinearProjection(Rule):
    """Activation after the narrow 1×1 projection of an inverted residual.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "AR002"
    name = "nonlinear-projection"
    default_severity = Severity.WARNING
    summary = "Activation after the narrow 1×1 projection of an inverted residual"
    options = (Option("min_ratio", float, 2.0, minimum=1.0),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        ratio = ctx.option("min_ratio")
        for node, a in flow.convs():
            if not a.is_pointwise or a.transposed or a.out_channels * ratio > a.in_channels:
                continue
            src = flow.source_through_transparent(node)
            if src is None or not flow.is_depthwise(src):
                continue
            acts = [
                n
                for n in flow.forward(node, lambda n: n.kind in _THROUGH_NORM)
                if n.kind is ir.OpKind.ACTIVATION
            ]
            if not acts:
                continue
            act = acts[0]
            yield ctx.finding(
                node,
                f"1×1 projection {a.in_channels}→{a.out_channels} (narrows "
                f"{a.in_channels / a.out_channels:.1f}×, threshold {ratio:g}×) after "
                f"depthwise `{layer(src)}` is followed by an activation (`{layer(act)}`, "
                f"{describe(act)}): the bottleneck should stay linear",
                values={
                    "in_channels": a.in_channels,
                    "out_channels": a.out_channels,
                    "activation": layer(act),
                },
                suggestion="remove the activation after the projection (keep the norm)",
            )
