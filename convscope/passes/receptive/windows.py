"""Window ops on ``[N, C, *spatial]`` tensors: one step per spatial dim.

Convolutions (forward and transposed), pooling, adaptive pooling, explicit padding,
upsampling and pixel (un)shuffle. Each builds its per-axis
:class:`~convscope.passes.receptive.steps.Step` list and :func:`spatial` applies them
through the input's layout. Adaptive / global pooling to 1 makes the RF global; the sizes
keep the local (window) geometry that led there.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.ir import graph as ir
from convscope.passes.receptive import steps
from convscope.passes.receptive.layout import MERGED, OTHER, Dim, dim_axis, has_spatial
from convscope.passes.receptive.state import Accumulator, TensorState, derive, largest, lost
from convscope.passes.receptive.steps import Step

__all__ = ["adaptive", "conv", "pad", "pixel_shuffle", "pool", "spatial", "upsample"]


def spatial(
    t: TensorState,
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    per_dim: Sequence[Step],
    *,
    mixes_channels: bool,
) -> TensorState:
    """Apply per-dim steps to dims 2.. of a ``[N, C, *spatial]`` op input."""
    layout = t.layout
    if layout is None:
        return t
    if len(layout) != len(per_dim) + 2 or len(out_shape) != len(layout):
        return lost([t], approx=True)
    acc = Accumulator(t)
    out: list[Dim] = [layout[0] if out_shape[0] == in_shape[0] else ((OTHER, out_shape[0]),)]
    if mixes_channels and has_spatial(layout[1]):
        acc.is_global = True  # channels hold flattened spatial positions: mixed
    if mixes_channels or out_shape[1] != in_shape[1]:
        out.append(((OTHER, out_shape[1]),))
    else:
        out.append(layout[1])
    for q, st in enumerate(per_dim):
        d = q + 2
        axis = dim_axis(layout[d])
        moves = st.m != 0 or st.q != 1 or st.lo0 != 0
        if axis is None:
            if in_shape[d] != out_shape[d] or moves:
                # A window over a dim the layout lost track of (size-1 dims squeezed
                # ambiguously, the axis parked in the batch dim) may be a spatial axis:
                # the positions of every axis not in a window dim are no longer known.
                tracked = {dim_axis(dim) for dim in layout[2:]}
                for gone in range(len(acc.pos)):
                    if gone not in tracked and acc.pos[gone] is not None:
                        acc.pos[gone] = None
                        acc.approx = True
            out.append(((OTHER, out_shape[d]),))
        elif axis == MERGED:
            if not moves and in_shape[d] == out_shape[d]:
                out.append(layout[d])
            else:
                return lost([t], approx=False)
        else:
            acc.step(axis, st, n_in=in_shape[d], n_out=out_shape[d])
            out.append(((axis, out_shape[d]),))
    return acc.freeze(tuple(out))


def conv(
    a: ir.ConvAttrs,
    ins: Sequence[TensorState],
    shapes: Sequence[Sequence[int]],
    out_shape: Sequence[int],
) -> TensorState:
    per_dim: list[Step] = []
    for i, kk in enumerate(a.kernel):
        s, p, d = a.stride[i], a.padding[i], a.dilation[i]
        if a.transposed:
            per_dim.append(steps.transposed(kk, s, p, d, out_shape[i + 2]))
        else:
            per_dim.append(steps.window(kk, s, p, d))
    mixes = not (a.groups == a.in_channels and a.groups > 1)
    t = spatial(ins[0], shapes[0], out_shape, per_dim, mixes_channels=mixes)
    if len(ins) > 1:  # weights computed from the image (dynamic filters): global
        t = derive(largest([t, *ins[1:]]), layout=t.layout, is_global=True)
    return t


def pool(
    a: ir.PoolAttrs, t: TensorState, in_shape: Sequence[int], out_shape: Sequence[int]
) -> TensorState:
    per_dim = [
        steps.window(kk, s, p, d)
        for kk, s, p, d in zip(a.kernel, a.stride, a.padding, a.dilation, strict=True)
    ]
    return spatial(t, in_shape, out_shape, per_dim, mixes_channels=False)


def pad(
    a: ir.PadAttrs, t: TensorState, in_shape: Sequence[int], out_shape: Sequence[int]
) -> TensorState:
    per_dim = [steps.pad(before) for before, _ in a.pads]
    return spatial(t, in_shape, out_shape, per_dim, mixes_channels=False)


def adaptive(t: TensorState, in_shape: Sequence[int], out_shape: Sequence[int]) -> TensorState:
    if t.layout is None:
        return t
    spatial_in = in_shape[2:]
    spatial_out = out_shape[2:]
    if (
        len(spatial_in) == len(spatial_out)
        and all(o == 1 for o in spatial_out)
        and any(i > 1 for i in spatial_in)
    ):
        lay = tuple(t.layout[:2]) + tuple(
            ((ax, 1),) if (ax := dim_axis(dim)) is not None and ax >= 0 else ((OTHER, 1),)
            for dim in t.layout[2:]
        )
        return derive(t, layout=lay, is_global=True)
    per_dim = [steps.adaptive(i, o) for i, o in zip(spatial_in, spatial_out, strict=True)]
    return spatial(t, in_shape, out_shape, per_dim, mixes_channels=False)


def upsample(
    packet: str,
    a: ir.UpsampleAttrs,
    t: TensorState,
    in_shape: Sequence[int],
    out_shape: Sequence[int],
) -> TensorState:
    """``packet``: the ATen op's name, which tells the nearest-exact and antialiased
    variants apart."""
    mode = a.mode
    if mode == "nearest" and "exact" in packet:
        mode = "nearest-exact"
    aa = packet.endswith("_aa")
    per_dim = [
        steps.resample(mode, i, o, a.align_corners, aa)
        for i, o in zip(in_shape[2:], out_shape[2:], strict=True)
    ]
    return spatial(t, in_shape, out_shape, per_dim, mixes_channels=False)


def pixel_shuffle(
    packet: str, t: TensorState, in_shape: Sequence[int], out_shape: Sequence[int]
) -> TensorState | None:
    """``pixel_shuffle`` / ``pixel_unshuffle`` (None when the shapes do not fit one)."""
    if t.layout is None or len(in_shape) < 4 or len(out_shape) != len(in_shape):
        return None
    per_dim: list[Step] = []
    for d in range(2, len(in_shape)):
        if d < len(in_shape) - 2:
            per_dim.append(steps.IDENTITY)
        elif packet == "pixel_shuffle":
            per_dim.append(steps.pixel_shuffle(out_shape[d] // max(in_shape[d], 1), out_shape[d]))
        else:
            per_dim.append(steps.pixel_unshuffle(in_shape[d] // max(out_shape[d], 1)))
    return spatial(t, in_shape, out_shape, per_dim, mixes_channels=True)
