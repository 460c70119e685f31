"""Per-op arithmetic cost: MACs for contractions, FLOPs for everything else.

Convention: conv, linear/matmul and attention are counted in MACs and
``flops = 2 × macs``; bias additions are not counted. Norms, pooling, activations,
softmax, upsampling and elementwise work are "other FLOPs", kept apart from MACs:

=================  ==============================================================
kind               other FLOPs
=================  ==============================================================
norm (inference)   2 per output element (scale + shift)
norm (statistics)  5 per output element (mean, variance, normalize, scale, shift)
pool               window size per output element
adaptive pool      1 per input element
reduce             1 per input element
activation         1 per output element
elementwise        1 per output element
softmax            5 per element (max, subtract, exp, sum, divide)
upsample           2 × taps per output element (nearest: 0); antialiased: 2 per
                   filter tap of each separable pass (the filter widens with the
                   downscale factor)
fold (col2im)      1 per block tap that lands inside the output (padding taps dropped)
nms                areas, score sort and IoUs (``formulas.nms_flops``), data-dependent
roi_align          8 per bilinear sample and channel + 1 per output, data-dependent
attention          5 per attention score (scale + softmax), beside its MACs
=================  ==============================================================

``mv`` / ``addmv`` / ``dot`` / ``vdot`` are matmuls with ``n = 1``; ``_trilinear``
(``nn.Bilinear``) is one MAC per point of its broadcast product space.

Data-dependent ops (``nms``, ``roi_align``) are priced from the sizes this run produced
(boxes in, boxes kept, regions) and flagged ``data_dependent``: another input, or trained
weights, give another count.

Transposed convolutions count every tap, also those that land in the border that
``padding`` crops (the convention of fvcore and ``FlopCounterMode``, kept so totals agree
with them); ``useful_macs`` is the count without them, set only where it differs.

Views, concatenation, padding, copies, tensor factories and dropout have no arithmetic.
Ops with no formula are marked ``known=False`` and listed, never counted as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from convscope import formulas as fm
from convscope.ir import graph as ir


@dataclass(frozen=True)
class NodeCost:
    macs: int
    other_flops: int
    known: bool
    data_dependent: bool = False  # priced from this run's sizes (boxes kept, regions)
    useful_macs: int | None = None  # MACs without discarded work, where it differs

    @property
    def flops(self) -> int:
        """FLOPs of the contraction part (2 × MACs); other FLOPs are reported separately."""
        return 2 * self.macs


_ZERO = NodeCost(0, 0, True)
_FREE = frozenset(
    {
        ir.OpKind.VIEW,
        ir.OpKind.CAT,
        ir.OpKind.PAD,
        ir.OpKind.COPY,
        ir.OpKind.CREATE,
        ir.OpKind.DROPOUT,
        ir.OpKind.EMBEDDING,
    }
)
_UPSAMPLE_TAPS = {"nearest": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}


def node_cost(graph: ir.Graph, node: ir.Node) -> NodeCost:
    """Cost of one node, from its attrs and tensor shapes."""
    kind, a = node.kind, node.attrs
    out = node.outputs[0] if node.outputs else None
    first_in = graph.tensor[node.inputs[0]] if node.inputs else None
    out_n = out.numel if out else 0
    if kind in _FREE:
        return _ZERO
    if isinstance(a, ir.NmsAttrs):
        return NodeCost(0, fm.nms_flops(a.boxes, a.kept), True, data_dependent=True)
    if isinstance(a, ir.RoiAlignAttrs):
        flops = fm.roi_align_flops(a.channels, fm.prod(a.pooled), a.samples, a.rois)
        return NodeCost(0, flops, True, data_dependent=True)
    if isinstance(a, ir.FoldAttrs) and first_in:
        channels = first_in.shape[-2] // max(1, fm.prod(a.kernel))
        batch = first_in.shape[0] if len(first_in.shape) == 3 else 1
        adds = fm.fold_scatter_adds(
            channels, a.kernel, a.output_size, a.stride, a.padding, a.dilation
        )
        return NodeCost(0, batch * adds, True)
    if kind is ir.OpKind.CONV and isinstance(a, ir.ConvAttrs) and out and first_in:
        if a.transposed:
            macs = fm.conv_transpose_macs(
                first_in.shape[0],
                a.in_channels,
                a.out_channels,
                a.kernel,
                first_in.shape[2:],
                a.groups,
            )
            useful = fm.conv_transpose_useful_macs(
                first_in.shape[0],
                a.in_channels,
                a.out_channels,
                a.kernel,
                first_in.shape[2:],
                out.shape[2:],
                a.stride,
                a.padding,
                a.dilation,
                a.groups,
            )
            return NodeCost(macs, 0, True, useful_macs=useful if useful != macs else None)
        else:
            macs = fm.conv_macs(
                out.shape[0], a.in_channels, a.out_channels, a.kernel, out.shape[2:], a.groups
            )
        return NodeCost(macs, 0, True)
    if kind is ir.OpKind.LINEAR and isinstance(a, ir.LinearAttrs):
        return NodeCost(fm.matmul_macs(a.batch, a.m, a.k, a.n), 0, True)
    if kind is ir.OpKind.ATTENTION and isinstance(a, ir.AttentionAttrs):
        macs = fm.attention_macs(a.batch, a.heads, a.q_len, a.kv_len, a.head_dim, a.v_head_dim)
        return NodeCost(macs, fm.attention_other_flops(a.batch, a.heads, a.q_len, a.kv_len), True)
    if kind is ir.OpKind.NORM and isinstance(a, ir.NormAttrs):
        per = 2 if (a.kind == "batch" and not a.training) else 5
        return NodeCost(0, per * out_n, True)
    if kind is ir.OpKind.POOL and isinstance(a, ir.PoolAttrs):
        return NodeCost(0, fm.pool_flops(out_n, fm.prod(a.kernel)), True)
    if kind in (ir.OpKind.ADAPTIVE_POOL, ir.OpKind.REDUCE):
        return NodeCost(0, first_in.numel if first_in else 0, True)
    if kind in (ir.OpKind.ACTIVATION, ir.OpKind.ELEMENTWISE):
        return NodeCost(0, out_n, True)
    if kind is ir.OpKind.SOFTMAX:
        return NodeCost(0, 5 * out_n, True)
    if kind is ir.OpKind.UPSAMPLE and isinstance(a, ir.UpsampleAttrs):
        if a.antialias and first_in and out and len(out.shape) > 2:
            lead = fm.prod(out.shape[:2])
            interp = 4 if a.mode == "bicubic" else 2
            flops = fm.antialias_flops(lead, first_in.shape[2:], out.shape[2:], interp)
            return NodeCost(0, flops, True)
        return NodeCost(0, 2 * _UPSAMPLE_TAPS.get(a.mode, 4) * out_n, True)
    return NodeCost(0, 0, False)


def cost(graph: ir.Graph) -> Mapping[int, NodeCost]:
    """Node id → cost, for every node of the graph."""
    return MappingProxyType({n.id: node_cost(graph, n) for n in graph.nodes})
