"""Spatial vs channel mixing ("Rethinking the Role of Spatial Mixing", arXiv 2503.16760).

Every op is classed by what it mixes:

* **spatial**: across positions only — depthwise convs with a kernel larger than 1,
  pooling, upsampling, attention and activation-by-activation matmuls (token mixing);
* **channel**: across channels only — 1×1 convs (incl. grouped) and linear layers;
* **both**: dense or grouped k×k convs;
* **other**: norms, activations, elementwise, views.

The profile is the share of parameters and MACs in each class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from convscope.ir import graph as ir

_SPATIAL_KINDS = frozenset(
    {ir.OpKind.POOL, ir.OpKind.ADAPTIVE_POOL, ir.OpKind.UPSAMPLE, ir.OpKind.ATTENTION}
)


def classify(node: ir.Node) -> ir.MixingClass:
    a = node.attrs
    if node.kind is ir.OpKind.CONV and isinstance(a, ir.ConvAttrs):
        if a.is_pointwise:
            return ir.MixingClass.CHANNEL
        per_group_in = a.in_channels // a.groups
        return ir.MixingClass.SPATIAL if per_group_in == 1 else ir.MixingClass.BOTH
    if node.kind is ir.OpKind.LINEAR and isinstance(a, ir.LinearAttrs):
        return ir.MixingClass.CHANNEL if a.weight else ir.MixingClass.SPATIAL
    if node.kind in _SPATIAL_KINDS:
        return ir.MixingClass.SPATIAL
    return ir.MixingClass.OTHER


def mixing(graph: ir.Graph) -> Mapping[int, ir.MixingClass]:
    """Node id → mixing class."""
    return MappingProxyType({n.id: classify(n) for n in graph.nodes})


def combine(classes: Iterable[ir.MixingClass]) -> ir.MixingClass:
    """The class of a layer from its ops: spatial + channel make both."""
    found = set(classes) - {ir.MixingClass.OTHER}
    if not found:
        return ir.MixingClass.OTHER
    if ir.MixingClass.BOTH in found or found == {ir.MixingClass.SPATIAL, ir.MixingClass.CHANNEL}:
        return ir.MixingClass.BOTH
    return found.pop()
