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


class UnproductiveLayer(Rule):
    """## What it does
    Reports convs and windowed pools (1) whose input already sees the whole image: the
    receptive field of their input (along the shortest path by default, option
    ``rf_path``) is at least the input size on every axis; or (2, ``check_kernel``) whose
    input feature map is no larger than their (dilated) kernel on every axis, for kernels
    larger than 1×1. 1×1 convs on a 1×1 map (squeeze-excitation on pooled features) are
    not reported.

    ## Why is this bad?
    Richter et al. (2021) show that layers after the "border layer", whose receptive field
    exceeds the image, cannot extract new spatial context and barely change accuracy when
    removed: they cost compute without being productive. A k×k kernel on a map no larger
    than k mostly multiplies padding.

    ## Options
    - ``rf_path`` (``shortest`` or ``longest``, default ``shortest``)
    - ``check_kernel`` (bool, default true)
    """

    code = "RF003"
    name = "unproductive-layer"
    default_severity = Severity.INFO
    summary = (
        "Layer whose input already sees the whole image or whose map is no larger than its kernel"
    )
    requires = frozenset({"receptive_field"})
    options = (
        Option(
            "rf_path",
            str,
            "shortest",
            "Which receptive field of the layer's input must "
            "cover the image: along the shortest path (every path sees it all) or the "
            "longest.",
            choices=("shortest", "longest"),
        ),
        Option(
            "check_kernel",
            bool,
            True,
            "Also report k×k layers (k > 1) whose input map "
            "is no larger than the kernel on every axis.",
        ),
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
            if fmap is not None and max(k_eff) == 1 and max(fmap) == 1:
                continue  # a 1×1 op on a pooled vector (squeeze-excitation): not spatial
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
                suggestion=_suggestion(node),
            )


def _suggestion(node: ir.Node) -> str:
    what = "pool" if node.kind is ir.OpKind.POOL else "layer"
    return (
        f"remove the {what} or move it to a higher resolution (later downsampling), "
        f"or train at a larger input size"
    )
