"""AR001 conv-bias-before-norm."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe, layer


class ConvBiasBeforeNorm(Rule):
    """Conv with a bias feeding a norm over the same channels (the bias is cancelled).

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "AR001"
    name = "conv-bias-before-norm"
    default_severity = Severity.INFO  # wasted parameters, harmless to accuracy
    summary = "Conv with a bias feeding a norm over the same channels (the bias is cancelled)"
    options = (Option("norm_kinds", list, ["batch", "group"], choices=("batch", "group")),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        kinds = set(ctx.option("norm_kinds"))
        flow = ctx.flow
        for node, a in flow.convs():
            if not a.has_bias:
                continue
            consumers = flow.consumers(node)
            if not consumers or not all(_cancels(c, a.out_channels, kinds) for c in consumers):
                continue
            norms = ", ".join(f"`{layer(c)}` ({describe(c)})" for c in consumers[:3])
            yield ctx.finding(
                node,
                f"{describe(node)} has a bias, but its output only feeds {norms}, which "
                f"subtracts the per-channel mean: the {a.out_channels} bias values are "
                "cancelled",
                values={"bias_params": a.out_channels, "norm": layer(consumers[0])},
                suggestion="create the conv with bias=False",
            )


def _cancels(node: ir.Node, channels: int, kinds: set[str]) -> bool:
    a = node.attrs
    if node.kind is not ir.OpKind.NORM or not isinstance(a, ir.NormAttrs) or a.kind not in kinds:
        return False
    if not node.outputs or len(node.outputs[0].shape) < 2 or node.outputs[0].shape[1] != channels:
        return False
    if a.kind == "group":
        # native_group_norm returns (out, mean [N, G], rstd [N, G]): cancelled when G == C.
        stats = node.outputs[1].shape if len(node.outputs) > 1 else ()
        return len(stats) == 2 and stats[1] == channels
    return True
