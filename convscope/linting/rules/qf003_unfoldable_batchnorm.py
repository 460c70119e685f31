"""QF003 unfoldable-batchnorm."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Rule, RuleContext
from convscope.linting.rules._util import describe, layer, op_name


class UnfoldableBatchNorm(Rule):
    """Inference BatchNorm that no deployment fold removes (docs: the README)."""

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
                if _folds_otherwise(flow, node, src):
                    continue
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


# How many ops the identity-branch walk visits at most (a block's branches, not the model).
_MAX_WALK = 64


def _folds_otherwise(flow: Flow, bn: ir.Node, src: ir.Node) -> bool:
    """BatchNorms that deployment removes although no conv directly precedes them:

    * a concat whose every input comes from a conv or linear layer (through views): the
      BatchNorm folds channel group by channel group (MixNet's mixed kernels);
    * followed directly by a linear layer or an unpadded 1×1 conv that reads nothing else:
      it folds forward into that layer's weights and bias (LeViT's head);
    * the identity branch of a reparameterizable block (RepVGG, MobileOne, FastViT): it is
      added to conv branches that read the same input, and reparameterization turns it
      into a 1×1 conv folded into them.
    """
    if src.kind is ir.OpKind.CAT and src.inputs:
        producers = [flow.graph.producer.get(t) for t in src.inputs]
        if all(
            p is not None and _through_views(flow, p).kind in (ir.OpKind.CONV, ir.OpKind.LINEAR)
            for p in producers
        ):
            return True
    after = flow.consumers(bn)
    if len(after) == 1 and _folds_forward_into(flow, after[0]):
        return True
    return _identity_branch(flow, bn)


def _through_views(flow: Flow, node: ir.Node) -> ir.Node:
    return flow.source(node) or node if node.kind is ir.OpKind.VIEW else node


def _folds_forward_into(flow: Flow, node: ir.Node) -> bool:
    if flow.linear(node) is not None:
        return True
    conv = flow.conv(node)
    return (
        conv is not None
        and conv.is_pointwise
        and not any(conv.padding)
        and conv.groups == 1
        and not conv.transposed
    )


def _identity_branch(flow: Flow, bn: ir.Node) -> bool:
    """True when a merge adds ``bn``'s output to a conv branch that reads ``bn``'s input.

    The BatchNorm may reach the merge through ``0 + bn(x)`` (a block with no conv branch,
    FastViT's RepMixer norm), and the other operand may itself be a sum of branches
    (MobileOne accumulates ``out += branch(x)``), so the walks pass through adds, norms and
    views until they meet the merge and the convs."""
    source = flow.main_input(bn)

    def is_add(n: ir.Node) -> bool:  # a gate ``x * s`` between branches does not fold
        return n.kind is ir.OpKind.ELEMENTWISE and op_name(n).rstrip("_") == "add"

    def to_merge(n: ir.Node) -> bool:  # ``0 + bn(x)`` (a block without a conv) and views
        return n.kind is ir.OpKind.VIEW or (is_add(n) and not flow.is_merge(n))

    for merge in flow.forward(bn, to_merge):
        if not flow.is_merge(merge):
            continue
        stack = list(merge.inputs)
        seen: set[int] = set()
        while stack and len(seen) < _MAX_WALK:
            producer = flow.graph.producer.get(stack.pop())
            if producer is None or producer.id in seen or producer.id == bn.id:
                continue
            seen.add(producer.id)
            if producer.kind is ir.OpKind.CONV:
                if flow.main_input(producer) == source:
                    return True
            elif is_add(producer) or producer.kind in (ir.OpKind.NORM, ir.OpKind.VIEW):
                stack.extend(producer.inputs)
    return False
