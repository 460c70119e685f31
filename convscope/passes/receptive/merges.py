"""Multi-path graphs: elementwise merges, concatenation and the pointwise ops between.

An elementwise merge or a concatenation takes the hull of its inputs' intervals when
their strides agree (for aligned inputs: the largest RF), ``min_size`` is the smallest
input's, and branches whose stride or centre offset differ are reported as
:class:`~convscope.passes.receptive.result.Misalignment` (rule RF004), never an error.
A merge with a global input is global (squeeze-and-excitation gates). Each function
returns the merged state with the misalignments it found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from convscope.ir import graph as ir
from convscope.passes.receptive.layout import (
    MERGED,
    OTHER,
    Layout,
    axis_positions,
    broadcast,
    dim_axis,
)
from convscope.passes.receptive.positions import TOL, AxisPositions, hull
from convscope.passes.receptive.result import Misalignment, NodeRF
from convscope.passes.receptive.state import TensorState, largest, lost

__all__ = ["Merged", "cat", "merge", "pointwise"]

Merged = tuple[TensorState, tuple[Misalignment, ...]]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def merge(
    node: ir.Node | None,
    ins: Sequence[TensorState],
    out_layout: Layout,
    skip_axes: Iterable[int] = (),
    exact: bool = True,
) -> Merged:
    """Elementwise / concat merge; finds misalignments (none when ``node`` is None)."""
    if len(ins) == 1:
        t = ins[0]
        one = TensorState(
            rf=t.rf,
            layout=out_layout,
            jitter=t.jitter,
            approx=t.approx or not exact,
            anchor=t.anchor,
            coarse=t.coarse,
            pos=t.pos,
        )
        return one, ()
    nd = len(ins[0].rf.size)
    out_pos = axis_positions(out_layout, nd)
    skip = set(skip_axes)
    found: list[Misalignment] = []
    base = largest(ins)
    size, mins = list(base.rf.size), list(base.rf.min_size)
    stride, pad = list(base.rf.stride), list(base.rf.padding)
    centres = [base.centre(a) for a in range(nd)]
    coarse = list(base.coarse) if base.coarse else list(base.rf.stride)
    hulls: list[AxisPositions | None] = [None] * nd
    for a in range(nd):
        if a not in out_pos:
            continue
        n_out = out_pos[a][1]
        parts = []
        for t in ins:
            if t.layout is None:
                continue
            pos = axis_positions(t.layout, nd).get(a)
            if pos is not None and pos[1] == n_out and (t.rf.stride[a] > TOL or n_out == 1):
                parts.append(t)  # stride 0: broadcast of one pixel, not a branch
        if not parts:
            continue
        strides = [t.rf.stride[a] for t in parts]
        same_stride = all(_close(s, strides[0]) for s in strides)
        if same_stride:
            lo = min(-t.rf.padding[a] for t in parts)
            hi = max(-t.rf.padding[a] + t.rf.size[a] - 1 for t in parts)
            size[a], pad[a], stride[a] = hi - lo + 1, -lo, strides[0]
            centres[a] = parts[0].centre(a)
            if parts[0].coarse:
                coarse[a] = parts[0].coarse[a]
            hulls[a] = hull([t.pos[a] if t.pos else None for t in parts], n_out)
        else:
            best = max(parts, key=lambda t: t.rf.size[a])
            size[a], pad[a], stride[a] = best.rf.size[a], best.rf.padding[a], best.rf.stride[a]
        if len(parts) > 1 and a not in skip and node is not None:
            offsets = [t.centre(a) for t in parts]
            spread = max(offsets) - min(offsets)
            if not same_stride or spread > TOL * max(1.0, max(abs(o) for o in offsets)):
                found.append(
                    Misalignment(
                        node=node.id,
                        module=node.module,
                        op=node.op,
                        axis=a,
                        kind="offset" if same_stride else "stride",
                        strides=tuple(strides),
                        offsets=tuple(offsets),
                        offset_px=spread,
                        coarse_px=max((t.coarse[a] if t.coarse else t.rf.stride[a]) for t in parts),
                        positions=n_out,
                    )
                )
    rf = NodeRF(
        size=tuple(size),
        min_size=tuple(mins),
        stride=tuple(stride),
        padding=tuple(pad),
        is_global=base.rf.is_global,
    )
    merged = TensorState(
        rf=rf,
        layout=out_layout,
        jitter=base.jitter,
        approx=base.approx or not exact or bool(skip),
        anchor=tuple(c - rf.center_offset(a) for a, c in enumerate(centres)),
        coarse=tuple(coarse),
        pos=tuple(hulls),
    )
    return merged, tuple(found)


def pointwise(
    node: ir.Node,
    ins: Sequence[TensorState],
    shapes: Sequence[Sequence[int]],
    out_shape: Sequence[int],
    *,
    exact: bool,
) -> Merged:
    """An op per position (elementwise, activation, norm...), broadcasting its inputs."""
    lay, changed = broadcast([t.layout for t in ins], shapes, out_shape)
    if lay is None or changed:
        if any(t.layout is None for t in ins) and not changed:
            return lost(ins), ()
        return lost(ins, approx=not exact or changed), ()
    return merge(node, ins, lay, exact=exact)


def cat(
    node: ir.Node,
    ins: Sequence[TensorState],
    shapes: Sequence[Sequence[int]],
    out_shape: Sequence[int],
) -> Merged:
    """``cat`` (along a spatial axis: the hull, flagged approximate) and ``stack``."""
    if any(t.layout is None for t in ins):
        return lost(ins), ()
    ref, ref_shape = ins[0], shapes[0]
    assert ref.layout is not None
    skip: list[int] = []
    if len(out_shape) == len(ref_shape):
        lay = list(ref.layout)
        for d, (m, n) in enumerate(zip(ref_shape, out_shape, strict=True)):
            if m != n:
                ax = dim_axis(ref.layout[d])
                if ax is not None and ax >= 0:
                    skip.append(ax)  # concatenation along a spatial axis
                    lay[d] = ((ax, n),)
                elif ax == MERGED:
                    return lost(ins, approx=True), ()
                else:
                    lay[d] = ((OTHER, n),)
        return merge(node, ins, tuple(lay), skip_axes=skip)
    if len(out_shape) == len(ref_shape) + 1:  # stack
        for d in range(len(out_shape)):
            if tuple(out_shape[:d]) + tuple(out_shape[d + 1 :]) == tuple(ref_shape):
                lay = list(ref.layout)
                lay.insert(d, ((OTHER, out_shape[d]),))
                return merge(node, ins, tuple(lay))
    return lost(ins, approx=True), ()
