"""AR002 nonlinear-projection."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
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
            if not _residual(flow, node):
                continue  # a separable conv that narrows (a head's branch), no bottleneck
            acts = [
                n
                for n in flow.forward(node, lambda n: n.kind in _THROUGH_NORM)
                if n.kind is ir.OpKind.ACTIVATION
            ]
            if not acts:
                continue
            act = acts[0]
            expansion = _expansion(flow, src)
            if expansion is not None:
                e = flow.conv(expansion)
                assert e is not None
                block = f"expansion `{layer(expansion)}` {e.in_channels}→{e.out_channels}, "
            else:
                block = ""
            yield ctx.finding(
                node,
                f"1×1 projection {a.in_channels}→{a.out_channels} (narrows "
                f"{a.in_channels / a.out_channels:.1f}×, threshold {ratio:g}×) of an inverted "
                f"residual ({block}depthwise `{layer(src)}`, residual add) is followed by an "
                f"activation (`{layer(act)}`, {describe(act)}): the bottleneck should stay linear",
                values={
                    "in_channels": a.in_channels,
                    "out_channels": a.out_channels,
                    "activation": layer(act),
                },
                suggestion="remove the activation after the projection (keep the norm)",
            )


def _expansion(flow: Flow, depthwise: ir.Node) -> ir.Node | None:
    """The 1×1 conv that widened the channels the depthwise conv reads (through norms,
    activations and gates), for the message; None when the block widened otherwise."""
    src = flow.source_through_transparent(depthwise)
    a = flow.conv(src) if src is not None else None
    if src is None or a is None or not a.is_pointwise or a.out_channels <= a.in_channels:
        return None
    return src


def _residual(flow: Flow, projection: ir.Node) -> bool:
    """Whether the projection's output (through its norm and, in the mistake, an
    activation) is added to a shortcut: the residual of an inverted residual block."""
    return any(
        flow.is_merge(n) and n.kind is not ir.OpKind.CAT
        for n in flow.forward(
            projection, lambda n: n.kind in _THROUGH_NORM or flow.is_activation(n)
        )
    )
