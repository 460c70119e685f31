"""RF005 stride-skips-input."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import input_map, window
from convscope.linting.rules._util import describe, kernel, pct


class StrideSkipsInput(Rule):
    """## What it does
    Reports forward convs and windowed pools whose stride is larger than the span their
    kernel taps cover, so that some input pixels are read by no output (a 1×1 conv with
    stride 2 reads one pixel in four). The skipped fraction is exact for dilated kernels
    too: per axis, the share of residues ``t·d mod s`` that no tap ``t`` reaches. Axes whose
    input is a single pixel are ignored.

    ## Why is this bad?
    The skipped activations were computed (and paid for) by the layers before, then
    thrown away; the layer also aliases, since it subsamples without any low-pass
    filtering. ResNet-D (He et al., "Bag of Tricks", 2019) moves the stride of the
    ResNet downsampling shortcut out of its 1×1 conv for this reason.

    ## Options
    - ``min_skipped_fraction`` (float, default 0.0)
    """

    code = "RF005"
    name = "stride-skips-input"
    default_severity = Severity.WARNING
    summary = "Kernel smaller than its stride: part of the input is never read"
    measure = ("skipped_fraction", "higher")
    options = (
        Option(
            "min_skipped_fraction",
            float,
            0.0,
            "Report layers that skip more than this fraction of their input.",
            minimum=0.0,
            maximum=1.0,
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        limit = ctx.option("min_skipped_fraction")
        flow = ctx.flow
        for node in flow.graph.nodes:
            win = window(node)
            if win is None:
                continue
            k, stride, dilation = win
            fmap = input_map(flow, node, len(k))
            read = Fraction(1)
            for a, (kk, s, d) in enumerate(zip(k, stride, dilation, strict=True)):
                if fmap is not None and fmap[a] <= 1:
                    continue
                read *= read_fraction(kk, s, d)
            skipped = 1 - read
            if skipped <= 0 or float(skipped) <= limit:
                continue
            yield ctx.finding(
                node,
                f"{describe(node)} with stride {kernel(stride)}"
                f"{_dilation(dilation)} reads {read} of its input pixels: "
                f"{skipped} ({pct(float(skipped))}) of the input is never read",
                values={
                    "skipped_fraction": round(float(skipped), 6),
                    "skipped": str(skipped),
                    "stride": kernel(stride),
                    "kernel": kernel(k),
                },
                suggestion=_suggestion(node, stride),
            )


def read_fraction(k: int, s: int, d: int = 1) -> Fraction:
    """Share of input positions along one axis that some tap of a kernel ``k`` with
    dilation ``d`` and stride ``s`` reads (away from the borders)."""
    if s <= 1:
        return Fraction(1)
    return Fraction(len({(t * d) % s for t in range(k)}), s)


def _dilation(dilation: tuple[int, ...]) -> str:
    return f", dilation {kernel(dilation)}" if any(d != 1 for d in dilation) else ""


def _suggestion(node: ir.Node, stride: tuple[int, ...]) -> str:
    s = kernel(stride)
    if node.kind is ir.OpKind.POOL:
        return f"use a pooling window at least as large as the stride ({s})"
    return (
        f"downsample before the conv with a {s} average pool (ResNet-D) and run it at "
        f"stride 1, or use a kernel at least as large as the stride"
    )
