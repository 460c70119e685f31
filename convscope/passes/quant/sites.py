"""Where the quantization figures are taken, found on the frozen IR without torch: the
conv / linear layers with a stored weight, the BatchNorm that folds into each, and the layer
pairs cross-layer equalization can rescale."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.ir.text import describe, op_name

K = ir.OpKind
# Ops that scale each channel independently and commute with a positive per-channel scale,
# so a cross-layer-equalization pair may pass through them.
_EQUIVARIANT = frozenset({K.VIEW, K.DROPOUT, K.COPY, K.POOL, K.ADAPTIVE_POOL})


@dataclass(frozen=True)
class BatchNormSite:
    """A BatchNorm that folds into the layer before it, with the names of its tensors."""

    node: ir.Node
    path: str
    gamma: str | None  # None for a non-affine BatchNorm (γ = 1, β = 0)
    beta: str | None
    mean: str
    var: str


@dataclass(frozen=True)
class LayerSite:
    """A conv or linear layer with a stored weight, and the BatchNorm folded into it."""

    node: ir.Node
    path: str
    kind: str  # "conv" or "linear"
    weight: str
    bias: str | None
    conv: ir.ConvAttrs | None
    out_channels: int
    in_channels: int
    groups: int
    accumulation: int
    description: str
    bn: BatchNormSite | None
    bn_note: str | None  # why a following BatchNorm does not fold, when one exists


@dataclass(frozen=True)
class PairSite:
    """``first → (BN) → activation → second``: a cross-layer-equalization candidate."""

    first: LayerSite
    second: LayerSite
    activation: str  # "none", "relu", "relu6", "leaky_relu", "prelu"

    @property
    def needs_relu(self) -> bool:
        """ReLU6 (a clipped ReLU) is not scale-equivariant: replace it by ReLU first."""
        return self.activation == "relu6"


_HOMOGENEOUS = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "prelu": "prelu",
    "_prelu_kernel": "prelu",
    "hardtanh": "relu6",
    "relu6": "relu6",
}


def _weight_and_bias(
    graph: ir.Graph, node: ir.Node, out_channels: int
) -> tuple[str | None, str | None]:
    weight = bias = None
    for name in node.params:
        owner = graph.param.get(name)
        if owner is None or owner.is_buffer:
            continue
        if weight is None and len(owner.shape) >= 2:
            weight = name
        elif bias is None and owner.shape == (out_channels,):
            bias = name
    return weight, bias


def _bn_site(graph: ir.Graph, node: ir.Node) -> BatchNormSite | str:
    """The tensor names of a BatchNorm node, or why it cannot fold."""
    a = node.attrs
    if not isinstance(a, ir.NormAttrs) or a.kind != "batch":
        return "not a BatchNorm"
    params: list[str] = []
    buffers: list[str] = []
    for name in node.params:
        owner = graph.param.get(name)
        if owner is None:
            continue
        (buffers if owner.is_buffer else params).append(name)
    mean = next((b for b in buffers if b.endswith("running_mean")), None)
    var = next((b for b in buffers if b.endswith("running_var")), None)
    if (mean is None or var is None) and len(buffers) == 2:
        mean, var = buffers
    if mean is None or var is None:
        return "the BatchNorm keeps no running statistics (track_running_stats=False)"
    gamma = next((p for p in params if p.endswith("weight")), None)
    beta = next((p for p in params if p.endswith("bias")), None)
    if (gamma is None or beta is None) and len(params) == 2:
        gamma, beta = params
    return BatchNormSite(node=node, path=node.module, gamma=gamma, beta=beta, mean=mean, var=var)


def find_layers(graph: ir.Graph) -> tuple[tuple[LayerSite, ...], tuple[tuple[str, str], ...]]:
    """Every conv / linear layer that reads a stored weight, with its foldable BatchNorm.

    Returns the sites (first use of each weight, in execution order) and the layers that
    were left out, with the reason.
    """
    flow = Flow(graph)
    bn_for: dict[int, BatchNormSite | str] = {}
    for node in graph.nodes:
        if node.kind is not K.NORM or not isinstance(node.attrs, ir.NormAttrs):
            continue
        if node.attrs.kind != "batch":
            continue
        src = flow.source(node)
        if src is None or src.kind not in (K.CONV, K.LINEAR):
            continue
        site = _bn_site(graph, node)
        if not src.outputs:
            continue
        readers = flow.consumers(src)
        if isinstance(site, BatchNormSite) and (
            [r.id for r in readers] != [node.id] or flow.reaches_output(src)
        ):
            site = "the layer's output is also read by another op, so the BatchNorm cannot fold"
        bn_for.setdefault(src.id, site)

    sites: list[LayerSite] = []
    skipped: list[tuple[str, str]] = []
    seen_weights: set[str] = set()
    for node in graph.nodes:
        a = node.attrs
        if node.kind is K.CONV and isinstance(a, ir.ConvAttrs):
            out_c, in_c, groups = a.out_channels, a.in_channels, a.groups
            acc = math.prod(a.kernel) * (in_c // max(groups, 1))
            conv: ir.ConvAttrs | None = a
            kind = "conv"
        elif node.kind is K.LINEAR and isinstance(a, ir.LinearAttrs) and a.weight:
            out_c, in_c, groups, acc, conv, kind = a.n, a.k, 1, a.k, None, "linear"
        else:
            continue
        path = node.module or "(root)"
        weight, bias = _weight_and_bias(graph, node, out_c)
        if weight is None:
            skipped.append((path, "the weight is computed in forward, not a stored parameter"))
            continue
        owner = graph.param[weight]
        if owner.name in seen_weights:
            continue  # a shared module: its weight is analysed once
        seen_weights.add(owner.name)
        bn = bn_for.get(node.id)
        sites.append(
            LayerSite(
                node=node,
                path=node.module,
                kind=kind,
                weight=weight,
                bias=bias,
                conv=conv,
                out_channels=out_c,
                in_channels=in_c,
                groups=groups,
                accumulation=acc,
                description=describe(node),
                bn=bn if isinstance(bn, BatchNormSite) else None,
                bn_note=bn if isinstance(bn, str) else None,
            )
        )
    return tuple(sites), tuple(skipped)


def find_pairs(graph: ir.Graph, sites: Sequence[LayerSite]) -> tuple[PairSite, ...]:
    """Layer pairs that cross-layer equalization can rescale: ``first`` (and its folded
    BatchNorm) feeds, through at most one positively homogeneous activation (or ReLU6) and
    channel-wise ops (views, dropout, pooling), a single conv / linear ``second`` whose
    input channels are ``first``'s output channels. No intermediate tensor may have a second
    reader or be a model output."""
    flow = Flow(graph)
    by_node = {s.node.id: s for s in sites}
    pairs: list[PairSite] = []
    for first in sites:
        if first.conv is not None and first.conv.transposed:
            continue
        at = first.bn.node if first.bn is not None else first.node
        if not at.outputs:
            continue
        activation = "none"
        second: LayerSite | None = None
        for _ in range(len(graph.nodes)):
            if flow.reaches_output(at):
                break
            readers = flow.consumers(at)
            if len(readers) != 1:
                break
            nxt = readers[0]
            if nxt.kind is K.ACTIVATION:
                kind = _HOMOGENEOUS.get(op_name(nxt).rstrip("_"))
                if kind is None or activation != "none" or not nxt.outputs:
                    break
                activation = kind
                at = nxt
                continue
            if nxt.kind in _EQUIVARIANT and nxt.outputs:
                at = nxt
                continue
            candidate = by_node.get(nxt.id)
            if (
                candidate is not None
                and candidate.in_channels == first.out_channels
                and (candidate.conv is None or not candidate.conv.transposed)
            ):
                second = candidate
            break
        if second is not None:
            pairs.append(PairSite(first=first, second=second, activation=activation))
    return tuple(pairs)
