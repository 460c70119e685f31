"""RF003 unproductive-layer."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import (
    axes,
    effective_kernel,
    input_map,
    input_rf,
    receptive_field,
    window,
)
from convscope.linting.rules._util import describe
from convscope.passes.keys import RECEPTIVE_FIELD


class UnproductiveLayer(Rule):
    """See the README (docs: the README in the rule catalog)."""

    code = "RF003"
    name = "unproductive-layer"
    default_severity = Severity.INFO
    summary = (
        "Layer whose input already sees the whole image or whose map is no larger than its kernel"
    )
    requires = frozenset({RECEPTIVE_FIELD})
    options = (
        Option("rf_path", str, "shortest", choices=("shortest", "longest")),
        Option("check_kernel", bool, True),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        sides = rf.input_size
        if not sides:
            return
        flow = ctx.flow
        shortest = ctx.option("rf_path") == "shortest"
        for node in flow.graph.nodes:
            win = window(node)
            if win is None:
                continue
            kernel, _, dilation = win
            k_eff = effective_kernel(kernel, dilation)
            fmap = input_map(flow, node, len(kernel))
            if max(k_eff) == 1:
                continue  # a 1×1 conv mixes channels, not space: context is not its job
            parts: list[str] = []
            values: dict[str, Value] = {}
            before = input_rf(rf, flow, node)
            if before is not None and len(before.size) == len(sides):
                seen = before.min_size if shortest else before.size
                if all(r >= s for r, s in zip(seen, sides, strict=True)):
                    path = "shortest" if shortest else "longest"
                    parts.append(
                        f"its input already sees the whole {axes(sides)} input "
                        f"(receptive field {axes(seen)} along the {path} path)"
                    )
                    values["input_rf"] = axes(seen)
            if (
                ctx.option("check_kernel")
                and fmap is not None
                and max(k_eff) > 1
                and all(m <= k for m, k in zip(fmap, k_eff, strict=True))
            ):
                size = axes(kernel) + (
                    f" kernel dilated to {axes(k_eff)}" if k_eff != tuple(kernel) else " kernel"
                )
                parts.append(
                    f"its {axes(fmap)} input map is no larger than its {size}, so "
                    f"most taps read padding"
                )
                values["feature_map"] = axes(fmap)
            if not parts:
                continue
            yield ctx.finding(
                node,
                f"{describe(node)}: {'; and '.join(parts)}",
                values=values,
                suggestion=_suggestion(node, "input_rf" in values),
            )


def _suggestion(node: ir.Node, sees_all: bool) -> str:
    if node.kind is ir.OpKind.POOL:
        return "drop the pool or move it before the receptive field covers the input"
    if sees_all:
        return (
            "a spatial kernel adds no context here: a 1×1 conv (or a smaller kernel) does "
            "the same channel work for less, or train at a larger input size"
        )
    return (
        "most taps read zero padding at this resolution: a smaller kernel computes nearly "
        "the same for less, or downsample later"
    )
