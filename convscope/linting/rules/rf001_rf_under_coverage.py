"""RF001 rf-under-coverage."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import axes, input_rf, receptive_field
from convscope.linting.rules._util import pct
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import ReceptiveField


class RFUnderCoverage(Rule):
    """Final receptive field (largest over paths) smaller than the input side.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "RF001"
    name = "rf-under-coverage"
    default_severity = Severity.WARNING
    summary = "Final receptive field (largest over paths) smaller than the input side"
    measure = ("coverage", "lower")
    scope = "model"  # about the whole network, reported at its widest spatial layer
    requires = frozenset({RECEPTIVE_FIELD})
    options = (
        Option("min_coverage", float, 0.8, minimum=0.0, maximum=1.0),
        Option("global_mixing_covers", bool, True),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        out = rf.output
        if out is None or not rf.input_size:
            return
        if ctx.option("global_mixing_covers") and _mixes_globally(ctx.flow, rf):
            return
        need = ctx.option("min_coverage")
        sides = rf.input_size
        cover = tuple(s / i if i else 1.0 for s, i in zip(out.size, sides, strict=False))
        short = [a for a, c in enumerate(cover) if c < need - 1e-9]
        if not short:
            return
        last = _widest_spatial(ctx.flow, rf)
        where = last.module if last is not None else ""
        tail = ", then global pooling" if out.is_global else ""
        share = "×".join(pct(min(1.0, c)) for c in cover)
        yield ctx.finding(
            where,
            f"the output's receptive field is {axes(out.size)} input pixels (largest over "
            f"paths{tail}): it covers {share} of the {axes(sides)} input, below "
            f"min_coverage={pct(need)}",
            values={
                "rf": axes(out.size),
                "input": axes(sides),
                "coverage": round(min(cover), 4),
                "min_coverage": need,
            },
            suggestion="grow the receptive field: more or larger (or dilated) spatial "
            "layers, or downsample earlier so later 3×3 convs reach further",
        )


def _mixes_globally(flow: Flow, rf: ReceptiveField) -> bool:
    """Attention, a token-mixing matmul, or a linear layer that turns a local RF global."""
    for node in flow.graph.nodes:
        if node.kind is ir.OpKind.ATTENTION:
            return True
        if node.kind is not ir.OpKind.LINEAR:
            continue
        out = rf.per_node.get(node.id)
        if out is None or not out.is_global:
            continue
        if flow.linear(node) is None:  # activation-by-activation matmul
            return True
        before = input_rf(rf, flow, node)
        if before is not None and not before.is_global:  # flatten + linear over positions
            return True
    return False


def _widest_spatial(flow: Flow, rf: ReceptiveField) -> ir.Node | None:
    """The spatial layer (k×k conv or pool) with the largest receptive field; the last one
    in execution order among equals."""
    best: ir.Node | None = None
    best_area = -1.0
    for node in flow.graph.nodes:
        out = rf.per_node.get(node.id)
        if out is None or not flow.is_spatial(node):
            continue
        area = 1.0
        for s in out.size:
            area *= s
        if area >= best_area:
            best, best_area = node, area
    return best
