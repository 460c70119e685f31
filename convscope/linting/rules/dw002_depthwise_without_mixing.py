"""DW002 depthwise-without-mixing."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Rule, RuleContext
from convscope.linting.rules._util import describe, kernel, layer


class DepthwiseWithoutMixing(Rule):
    """## What it does
    Follows the output of every depthwise convolution forward (through norms, activations,
    views and gates) and flags it when it reaches another spatial op (a k×k conv or a pool)
    or a merge (residual add, concatenation) before any channel-mixing op (1×1 conv, dense
    conv, linear layer).

    ## Why is this bad?
    A depthwise conv filters each channel on its own. Without a pointwise conv after it the
    channels never exchange information: two depthwise convs in a row are one larger
    depthwise filter, and adding an unmixed depthwise output to a residual stream leaves
    the block without any channel mixing at all. Separable convolutions are a depthwise
    *and* a pointwise conv.

    ## Options
    None.
    """

    code = "DW002"
    name = "depthwise-without-mixing"
    default_severity = Severity.WARNING
    summary = "Depthwise conv not followed by channel mixing before the next spatial op or merge"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        for node in flow.nodes(flow.is_depthwise):
            offender = _first_unmixed(flow, node)
            if offender is None:
                continue
            a = flow.conv(node)
            k = kernel(a.kernel) if a else "?"
            if flow.is_merge(offender):
                reached = f"a merge ({describe(offender)}) in `{layer(offender)}`"
            else:
                reached = f"`{layer(offender)}` ({describe(offender)})"
            yield ctx.finding(
                node,
                f"depthwise {k} conv output reaches {reached} without passing through a "
                "channel-mixing op (1×1 conv, dense conv or linear)",
                values={"reaches": layer(offender), "reached_op": describe(offender)},
                suggestion="add a 1×1 (pointwise) conv after the depthwise conv, before the "
                "next spatial op or merge",
            )


def _first_unmixed(flow: Flow, node: ir.Node) -> ir.Node | None:
    """The first spatial op or merge reached from ``node`` without channel mixing, if any."""

    def through(n: ir.Node) -> bool:
        return (
            flow.is_transparent(n)
            and not flow.is_channel_mixing(n)
            and not flow.is_spatial(n)
            and not flow.is_merge(n)
        )

    hits = [
        n
        for n in flow.forward(node, through)
        if not flow.is_channel_mixing(n) and (flow.is_spatial(n) or flow.is_merge(n))
    ]
    return min(hits, key=lambda n: n.id) if hits else None
