"""Receptive-field helpers shared by the RF rules (no torch).

The rules read :class:`~convscope.passes.receptive.result.ReceptiveField` with
``ctx.need(RECEPTIVE_FIELD)`` (rules declare ``requires = frozenset({RECEPTIVE_FIELD})``)
and the tensor shapes of the frozen graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.rule import RuleContext
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import NodeRF, ReceptiveField


def receptive_field(ctx: RuleContext) -> ReceptiveField:
    """The receptive-field analysis the engine provided for this rule."""
    return ctx.need(RECEPTIVE_FIELD)


def input_rf(rf: ReceptiveField, flow: Flow, node: ir.Node) -> NodeRF | None:
    """The receptive field of ``node``'s main input (None when the pass has none)."""
    tensor = flow.main_input(node)
    return rf.per_tensor.get(tensor) if tensor is not None else None


def input_map(flow: Flow, node: ir.Node, rank: int) -> tuple[int, ...] | None:
    """The last ``rank`` dims (the spatial size) of ``node``'s main input."""
    tensor = flow.main_input(node)
    spec = flow.graph.tensor.get(tensor) if tensor is not None else None
    if spec is None or rank <= 0 or len(spec.shape) < rank + 1:
        return None
    return tuple(spec.shape[-rank:])


def window(node: ir.Node) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """(kernel, stride, dilation) of a forward conv or a windowed pool, else None."""
    a = node.attrs
    if node.kind is ir.OpKind.CONV and isinstance(a, ir.ConvAttrs) and not a.transposed:
        return a.kernel, a.stride, a.dilation
    if node.kind is ir.OpKind.POOL and isinstance(a, ir.PoolAttrs):
        return a.kernel, a.stride, a.dilation
    return None


def effective_kernel(kernel: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    """``d·(k − 1) + 1`` per axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))


def px(value: float) -> str:
    """A pixel count: ``43`` or ``2.5``."""
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.3g}"


def axes(values: Sequence[float]) -> str:
    """``43×43`` (one entry per spatial axis)."""
    return "×".join(px(v) for v in values)
