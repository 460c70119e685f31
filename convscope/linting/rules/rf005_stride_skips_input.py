"""RF005 stride-skips-input."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import input_map, window
from convscope.linting.rules._util import describe, kernel, pct


class StrideSkipsInput(Rule):
    """Kernel smaller than its stride: part of the input is never read.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "RF005"
    name = "stride-skips-input"
    default_severity = Severity.WARNING
    summary = "Kernel smaller than its stride: part of the input is never read"
    measure = ("skipped_fraction", "higher")
    options = (Option("min_skipped_fraction", float, 0.0, minimum=0.0, maximum=1.0),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        limit = ctx.option("min_skipped_fraction")
        flow = ctx.flow
        for node in flow.graph.nodes:
            found = _skipping(flow, node)
            if found is None:
                continue
            source, read, stride, k = found
            skipped = 1 - read
            if skipped <= 0 or float(skipped) <= limit:
                continue
            if source is not None and _parallel_branch_reads_all(flow, node, source):
                continue  # e.g. a ResNet shortcut beside a 3×3/s2 branch: nothing is lost
            what = (
                f"strided slice {kernel(stride)}"
                if k is None
                else f"{describe(node)} with stride {kernel(stride)}{_dilation(_dil(node))}"
            )
            yield ctx.finding(
                node,
                f"{what} reads {read} of its input pixels: "
                f"{skipped} ({pct(float(skipped))}) of the input is never read, "
                "and no parallel branch of the same merge reads it",
                values={
                    "skipped_fraction": round(float(skipped), 6),
                    "skipped": str(skipped),
                    "stride": kernel(stride),
                    "kernel": kernel(k) if k is not None else "slice",
                },
                suggestion=_suggestion(node, stride),
            )


Skip = tuple[int | None, Fraction, tuple[int, ...], tuple[int, ...] | None]


def _skipping(flow: Flow, node: ir.Node) -> Skip | None:
    """(input tensor, fraction of its pixels read, stride, kernel) of a conv or pool whose
    stride outruns its taps, or of the last of a chain of strided spatial slices (kernel
    None); None for every other node."""
    win = window(node)
    if win is not None:
        k, stride, dilation = win
        fmap = input_map(flow, node, len(k))
        read = Fraction(1)
        for a, (kk, s, d) in enumerate(zip(k, stride, dilation, strict=True)):
            if fmap is None or fmap[a] > 1:
                read *= read_fraction(kk, s, d)
        return flow.main_input(node), read, stride, k
    direct = (c for t in node.outputs for c in flow.graph.consumers.get(t.id, ()))
    if not _strided_slice(flow, node) or any(_strided_slice(flow, c) for c in direct):
        return None  # report a chain of slices (x[:, :, ::2, ::2]) once, at its end
    steps: list[int] = []
    chain = node
    while True:
        assert isinstance(chain.attrs, ir.SliceAttrs)
        steps.append(chain.attrs.step)
        producer = flow.graph.producer.get(flow.main_input(chain) or -1)
        if producer is None or not _strided_slice(flow, producer):
            break
        chain = producer
    if not _slices_width(flow, node):
        return None  # a channels-last map, or token rows: not a subsampled NCHW map
    if any(_phases_cover(flow, n) for n in (node, chain)):
        return None  # x[..., 0::2] beside x[..., 1::2]: space-to-depth or an interleave
    read = Fraction(1)
    for step in steps:
        read /= step
    return flow.main_input(chain), read, tuple(reversed(steps)), None


def _phases_cover(flow: Flow, node: ir.Node) -> bool:
    """Whether the slice's input is also sliced by as many other slices of the same step
    along the same axis as there are phases, so that together they read every pixel."""
    a = node.attrs
    tensor = flow.main_input(node)
    if not isinstance(a, ir.SliceAttrs) or tensor is None:
        return False
    same = [
        c
        for c in flow.graph.consumers.get(tensor, ())
        if isinstance(c.attrs, ir.SliceAttrs) and c.attrs.dim == a.dim and c.attrs.step == a.step
    ]
    return len(same) >= a.step


def _slices_width(flow: Flow, node: ir.Node) -> bool:
    """A chain ending in a slice of the last axis: the width of an ``[N, C, H, W]`` map. A
    channels-last map (Swin's patch merging, LeViT's subsampled queries) keeps its channels
    last and is sliced on other axes."""
    a = node.attrs
    tensor = flow.main_input(node)
    spec = flow.graph.tensor.get(tensor) if tensor is not None else None
    return isinstance(a, ir.SliceAttrs) and spec is not None and a.dim == len(spec.shape) - 1


def _strided_slice(flow: Flow, node: ir.Node) -> bool:
    """A slice with step > 1 along a spatial axis (dims after N, C) longer than one pixel."""
    a = node.attrs
    if not isinstance(a, ir.SliceAttrs) or a.step <= 1 or a.dim < 2:
        return False
    tensor = flow.main_input(node)
    spec = flow.graph.tensor.get(tensor) if tensor is not None else None
    return spec is not None and len(spec.shape) >= 3 and spec.shape[a.dim] > 1


def _parallel_branch_reads_all(flow: Flow, node: ir.Node, source: int) -> bool:
    """True when ``node``'s output reaches a merge (through norms, activations, views)
    another input of which reads every pixel of ``source``: the pixels ``node`` skips are
    not lost to the model, as in a ResNet-B shortcut beside its 3×3 stride-2 branch."""
    memo: dict[int, bool] = {}
    own = {t.id for t in node.outputs}
    # ``0 + branch`` (a branch sum that starts from zero) is a gate: look past it too
    for merge in flow.forward(node, lambda n: n.kind in _THROUGH or flow.is_gate(n)):
        if not flow.is_merge(merge):
            continue
        for tensor in dict.fromkeys(merge.inputs):
            if tensor in own or _fed_by(flow, tensor, node, set()):
                continue
            if _reads_all(flow, tensor, source, memo, 0):
                return True
    return False


_THROUGH = frozenset(
    {ir.OpKind.NORM, ir.OpKind.ACTIVATION, ir.OpKind.VIEW, ir.OpKind.COPY, ir.OpKind.DROPOUT}
)
_MAX_NODES = 20_000  # a bound keeps a pathological graph cheap


def _fed_by(flow: Flow, tensor: int, node: ir.Node, seen: set[int]) -> bool:
    """Whether ``tensor`` is computed from ``node``'s output (the same branch)."""
    stack = [tensor]
    while stack and len(seen) <= _MAX_NODES:
        producer = flow.graph.producer.get(stack.pop())
        if producer is None or producer.id in seen:
            continue
        if producer.id == node.id:
            return True
        seen.add(producer.id)
        stack.extend(producer.inputs)
    return False


def _reads_all(flow: Flow, tensor: int, source: int, memo: dict[int, bool], depth: int) -> bool:
    """Whether some path from ``source`` to ``tensor`` reads every pixel of ``source``: a
    walk back from ``tensor`` through producers that skip nothing reaches ``source``."""
    seen: set[int] = set()
    stack = [tensor]
    while stack and len(seen) <= _MAX_NODES:
        t = stack.pop()
        if t == source:
            return True
        if t in seen:
            continue
        seen.add(t)
        producer = flow.graph.producer.get(t)
        if producer is None:
            continue
        skip = _skipping(flow, producer)
        if skip is not None and skip[1] < 1:
            continue
        stack.extend(producer.inputs)
    return False


def _dil(node: ir.Node) -> tuple[int, ...]:
    win = window(node)
    return win[2] if win is not None else ()


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
    if isinstance(node.attrs, ir.SliceAttrs):
        return (
            f"downsample with a {s} average pool or a strided conv whose kernel covers the "
            "stride, or keep the skipped pixels (space-to-depth) instead of dropping them"
        )
    return (
        f"downsample before the conv with a {s} average pool (ResNet-D) and run it at "
        f"stride 1, or use a kernel at least as large as the stride"
    )
