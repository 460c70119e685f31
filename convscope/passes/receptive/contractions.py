"""Ops that reduce or contract along dims: reductions, scans, linear layers, matmuls and
attention.

A reduction over every spatial axis present, a linear layer or matmul that contracts a
spatial axis (flatten + linear), attention and activation-by-activation matmuls (token
mixing) make the RF global (the sizes keep the local geometry that led there); a
reduction over some spatial axes is a window over the whole of each.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.ir import graph as ir
from convscope.passes.receptive import steps
from convscope.passes.receptive.layout import (
    MERGED,
    OTHER,
    Dim,
    Layout,
    axis_positions,
    bmm,
    dim_axis,
    fit_rank,
    has_spatial,
)
from convscope.passes.receptive.state import Accumulator, TensorState, derive, largest, lost

__all__ = ["attention", "linear", "reduce", "scan"]


def attention(
    ins: Sequence[TensorState], shapes: Sequence[Sequence[int]], out_shape: Sequence[int]
) -> TensorState:
    """Every query reads every key: global, the layout kept when the shape is."""
    lay = ins[0].layout if tuple(shapes[0]) == tuple(out_shape) else None
    return derive(largest(ins), layout=lay, is_global=True)


def reduce(
    a: ir.ReduceAttrs,
    t: TensorState,
    in_shape: Sequence[int],
    out_shapes: Sequence[tuple[int, ...]],
) -> TensorState:
    layout = t.layout
    if layout is None:
        return t
    dims = set(a.dims)
    if out_shapes and tuple(out_shapes[0]) == tuple(in_shape):
        return scan(dims, t, in_shape)
    pooled: list[tuple[int, int]] = []  # (axis, size) reduced away
    merged = False
    for d in dims:
        if d < len(layout) and has_spatial(layout[d]):
            ax = dim_axis(layout[d])
            if ax is None or ax == MERGED:
                merged = True
            else:
                pooled.append((ax, in_shape[d]))
    nd = len(t.rf.size)
    present = [ax for ax, (_, n) in axis_positions(layout, nd).items() if n > 1]
    new: list[Dim] = []
    for d, atoms in enumerate(layout):
        if d in dims:
            if a.keepdim:
                ax = dim_axis(atoms)
                new.append(((ax, 1),) if ax is not None and ax >= 0 else ((OTHER, 1),))
        else:
            new.append(atoms)
    out_layout: Layout | None = tuple(new)
    if out_shapes and out_layout is not None and len(out_layout) != len(out_shapes[0]):
        out_layout = fit_rank(out_layout, out_shapes[0], None)
    if merged or (pooled and {ax for ax, _ in pooled} >= set(present)):
        return derive(t, layout=out_layout, is_global=True)
    acc = Accumulator(t)
    for ax, n in pooled:
        acc.step(ax, steps.whole_axis(n), n_in=n, n_out=1)
    return acc.freeze(out_layout)


def scan(dims: set[int], t: TensorState, in_shape: Sequence[int]) -> TensorState:
    """A size-preserving reduction (cumsum / cummax scans, sort), bounded by the window
    that holds both kinds (:func:`steps.scan`) and flagged approximate."""
    layout = t.layout
    assert layout is not None
    acc = Accumulator(t)
    acc.approx = True
    for d in dims:
        if d < len(layout) and has_spatial(layout[d]):
            ax = dim_axis(layout[d])
            if ax is None or ax == MERGED:
                return derive(t, keep_layout=True, is_global=True, approx=True)
            acc.step(ax, steps.scan(in_shape[d]), n_in=in_shape[d], n_out=in_shape[d])
    return acc.freeze(layout)


def linear(
    a: ir.LinearAttrs,
    ins: Sequence[TensorState],
    shapes: Sequence[Sequence[int]],
    out_shape: Sequence[int],
) -> TensorState:
    if len(ins) >= 2:  # activation × activation: token mixing / attention scores
        rows_cols = bmm(ins[0].layout, ins[1].layout, out_shape)
        return derive(largest(ins), layout=rows_cols, is_global=True)
    t, shape = ins[0], shapes[0]
    if t.layout is None or not shape:
        return t
    if shape[-1] == a.k:
        cd = len(shape) - 1
    elif len(shape) >= 2 and shape[-2] == a.k:
        cd = len(shape) - 2
    else:
        return lost([t], approx=True)
    if len(out_shape) != len(shape):
        return lost([t], approx=True)
    glob = has_spatial(t.layout[cd])
    lay = list(t.layout)
    lay[cd] = ((OTHER, out_shape[cd]),)
    for d in range(len(lay)):
        if d != cd and out_shape[d] != shape[d]:
            lay[d] = ((OTHER, out_shape[d]),)
    return derive(t, layout=tuple(lay), is_global=True if glob else None)
