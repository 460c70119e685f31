"""Views: reshapes, permutes, slices, splits and dims added or dropped, followed through
the layout (:mod:`~convscope.passes.receptive.layout`).

A view that keeps every element only moves atoms between dims; one that cuts a spatial
axis apart loses the structure (global, conservatively). A slice of a spatial axis is a
step: at its known offset for ``split`` / ``chunk``, else a guessed crop (approximate).
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.passes.receptive import steps
from convscope.passes.receptive.layout import (
    MERGED,
    OTHER,
    PERMUTES,
    SPLITS,
    Dim,
    dim_axis,
    numel,
    permute,
    reshape,
    subsequence,
)
from convscope.passes.receptive.state import Accumulator, TensorState, derive, lost

__all__ = ["view"]


def view(
    packet: str,
    order: tuple[int, ...] | None,
    t: TensorState,
    in_shape: tuple[int, ...],
    out_shapes: Sequence[tuple[int, ...]],
) -> list[TensorState]:
    """The outputs of view op ``packet`` (its ATen name); ``order``: a permute's dim
    order, when the IR knows it."""
    if t.layout is None:
        return [t]
    outs: list[TensorState] = []
    offset = 0
    for shape in out_shapes:
        start = offset if packet in SPLITS else None
        outs.append(_one(packet, t, in_shape, shape, start, order))
        if packet in SPLITS:
            diff = [d for d, (m, n) in enumerate(zip(in_shape, shape, strict=False)) if m != n]
            if diff:
                offset += shape[diff[0]]
    return outs


def _one(
    packet: str,
    t: TensorState,
    in_shape: tuple[int, ...],
    shape: tuple[int, ...],
    start: int | None,
    order: tuple[int, ...] | None,
) -> TensorState:
    layout = t.layout
    assert layout is not None
    if shape == in_shape and packet not in PERMUTES:
        return derive(t, keep_layout=True)
    if packet in PERMUTES and order is not None and len(order) == len(layout):
        return derive(t, layout=tuple(layout[d] for d in order))
    if packet in PERMUTES:
        lay = permute(layout, in_shape, shape)
        if lay is not None:
            return derive(t, layout=lay)
    if numel(shape) == numel(in_shape):
        lay = reshape(layout, shape)
        return derive(t, layout=lay) if lay is not None else lost([t])
    if len(shape) == len(in_shape):
        acc = Accumulator(t)
        new: list[Dim] = []
        for d, (m, n) in enumerate(zip(in_shape, shape, strict=True)):
            if m == n:
                new.append(layout[d])
                continue
            ax = dim_axis(layout[d])
            if ax is None or m == 1:
                new.append(((OTHER, n),))
            elif ax == MERGED:
                return lost([t])
            else:
                if start is not None:
                    acc.step(ax, steps.offset(start), n_in=m, n_out=n)
                else:
                    acc.step(ax, steps.crop(m, n), n_in=m, n_out=n)
                    acc.approx = True
                new.append(((ax, n),))
        return acc.freeze(tuple(new))
    lay = subsequence(layout, in_shape, shape)
    return derive(t, layout=lay) if lay is not None else lost([t])
