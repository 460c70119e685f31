"""DW002 depthwise-without-mixing."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe, kernel, layer


class DepthwiseWithoutMixing(Rule):
    """Depthwise conv whose output reaches the next spatial op unmixed (docs: the README)."""

    code = "DW002"
    name = "depthwise-without-mixing"
    default_severity = Severity.WARNING
    summary = "Depthwise conv not followed by channel mixing before the next spatial op"
    options = (Option("min_chain_after_merge", int, 3, minimum=1),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        for node in flow.nodes(flow.is_depthwise):
            offender = _first_unmixed(flow, node, ctx.option("min_chain_after_merge"))
            if offender is None:
                continue
            a = flow.conv(node)
            k = kernel(a.kernel) if a else "?"
            reached = f"`{layer(offender)}` ({describe(offender)})"
            yield ctx.finding(
                node,
                f"depthwise {k} conv output reaches the next spatial op, {reached}, with no "
                "channel-mixing op (1×1 conv, dense conv or linear) on any path before it",
                values={"reaches": layer(offender), "reached_op": describe(offender)},
                suggestion="add a 1×1 (pointwise) conv after the depthwise conv (or after the "
                "merge it feeds), before the next spatial op",
            )


def _first_unmixed(flow: Flow, node: ir.Node, chain: int) -> ir.Node | None:
    """The first spatial op that ``node``'s output reaches with no channel mixing on any
    path into it, or None.

    Straight from one spatial op to the next (norms, activations, views in between) is the
    mistake itself: a depthwise-separable block without its pointwise half. Paths through
    merges count as well, and one mixing path into a spatial op is enough (RepVGG/MobileOne
    branches: a 1×1 beside an identity; a residual block whose body mixes). Through merges
    only a chain of ``chain`` spatial ops crossed one after another without mixing is
    reported (a ConvNeXt stage that lost its MLPs); shorter chains are designs: FastViT's
    token mixer then its depthwise FFN, GhostNet's strided blocks, EdgeNeXt's hierarchical
    depthwise splits.
    """
    arrivals = _arrivals(flow, node)
    for target in sorted(arrivals, key=lambda n: n.id):
        ways = arrivals[target]
        if any(mixed for mixed, _ in ways):
            continue
        if all(merged for _, merged in ways) and _unmixed_depth(flow, target, chain) < chain:
            continue
        return target
    return None


def _unmixed_depth(flow: Flow, node: ir.Node, limit: int) -> int:
    """How many spatial ops in a row, starting at ``node``, pass their output on unmixed
    (at least 1: ``node`` itself), up to ``limit``."""
    if limit <= 1:
        return 1
    best = 1
    for target, ways in _arrivals(flow, node).items():
        if not any(mixed for mixed, _ in ways):
            best = max(best, 1 + _unmixed_depth(flow, target, limit - 1))
            if best >= limit:
                break
    return best


def _arrivals(flow: Flow, node: ir.Node) -> dict[ir.Node, set[tuple[bool, bool]]]:
    """Each first spatial op downstream of ``node`` → the ways paths arrive there:
    (crossed a channel mixer, crossed a merge). Paths may also cross one other spatial op
    on their way (a residual block's body: its depthwise conv, then its 1×1s, then the add
    into the next block), so that a block whose body mixes counts as mixing. Walks through
    transparent ops, merges, mixers and spatial ops; other ops (attention, unknown) end a
    path."""
    first: set[ir.Node] = set()
    ways: dict[ir.Node, set[tuple[bool, bool]]] = {}
    seen: set[tuple[int, bool, bool, int]] = set()
    stack = [(t.id, False, False, 0) for t in node.outputs]
    while stack:
        tensor, mixed, merged, crossed = stack.pop()
        for c in flow.graph.consumers.get(tensor, ()):
            spatial = flow.is_spatial(c) and not flow.is_channel_mixing(c)
            if spatial:
                ways.setdefault(c, set()).add((mixed, merged))
                if crossed == 0:
                    first.add(c)
                if crossed == 1:
                    continue
            elif not (flow.is_channel_mixing(c) or flow.is_transparent(c) or flow.is_merge(c)):
                continue
            state = (
                mixed or flow.is_channel_mixing(c),
                merged or flow.is_merge(c),
                crossed + spatial,
            )
            if (c.id, *state) in seen:
                continue
            seen.add((c.id, *state))
            stack.extend((t.id, *state) for t in c.outputs)
    return {n: ways[n] for n in first}
