"""QF003 unfoldable-batchnorm."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Rule, RuleContext
from convscope.linting.rules._util import describe, layer


class UnfoldableBatchNorm(Rule):
    """## What it does
    Flags inference BatchNorm layers (running statistics) whose input is not produced
    directly by a conv or linear layer (views aside), or whose producing conv/linear output
    is also read by another op.

    ## Why is this bad?
    Deployment tool chains fold an inference BatchNorm into the weights and bias of the
    conv before it, so it costs nothing and is quantized together with the conv. A
    BatchNorm after an activation, a pool or a merge (pre-activation blocks, DenseNet) cannot
    fold: it stays a separate scale-and-shift op that needs its own quantization parameters
    and memory pass. When the conv output feeds another branch as well, folding would
    change what that branch sees.

    ## Options
    None.
    """

    code = "QF003"
    name = "unfoldable-batchnorm"
    default_severity = Severity.WARNING
    summary = "BatchNorm not directly after a conv/linear, so it cannot be folded"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        for node in ctx.graph.nodes:
            a = node.attrs
            if node.kind is not ir.OpKind.NORM or not isinstance(a, ir.NormAttrs):
                continue
            if a.kind != "batch" or a.training:  # batch statistics at inference: not a BN fold
                continue
            src = flow.source(node)
            if src is None:
                yield ctx.finding(
                    node,
                    "BatchNorm normalizes the model input: there is no conv "
                    "or linear layer to fold it into",
                    values={"producer": "input"},
                    suggestion="fold the normalization into the input "
                    "preprocessing or move the BatchNorm after the "
                    "first conv",
                )
                continue
            if src.kind not in (ir.OpKind.CONV, ir.OpKind.LINEAR):
                yield ctx.finding(
                    node,
                    f"BatchNorm input comes from `{layer(src)}` ({describe(src)}), not "
                    "from a conv or linear layer, so it cannot be folded",
                    values={"producer": layer(src), "producer_op": describe(src)},
                    suggestion="reorder to conv → BatchNorm → activation, or drop the BatchNorm",
                )
                continue
            others = [c for c in flow.consumers(src) if c.id != node.id]
            if others:
                names = ", ".join(f"`{layer(c)}` ({describe(c)})" for c in others[:3])
                yield ctx.finding(
                    node,
                    f"the output of `{layer(src)}` ({describe(src)}) is also read by "
                    f"{names}, so folding the BatchNorm into it would change that branch",
                    values={"producer": layer(src), "other_consumers": len(others)},
                    suggestion="take the other branch from the BatchNorm output, or give it "
                    "its own conv",
                )
