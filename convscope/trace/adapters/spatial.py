"""Adapters of the spatial ops: normalization, pooling, resampling, padding, col2im."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir
from convscope.trace.adapters.args import Handler, arg, int_tuple


def norm(kind: str, training_index: int | None, weight_index: int) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        training = (
            bool(args[training_index])
            if training_index is not None and len(args) > training_index
            else False
        )
        weight = args[weight_index] if len(args) > weight_index else None
        return ir.NormAttrs(kind=kind, affine=weight is not None, training=training)

    return handler


def pool(kind: str, has_dilation: bool) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        x = args[0]
        nd = len(args[1]) if isinstance(args[1], (list, tuple)) else x.dim() - 2
        kernel = int_tuple(args[1], nd, 1)
        stride = int_tuple(arg(args, kwargs, 2, "stride"), nd, 0)
        stride = tuple(s if s else k for s, k in zip(stride, kernel, strict=True))
        padding = int_tuple(arg(args, kwargs, 3, "padding"), nd, 0)
        if has_dilation:
            dilation = int_tuple(arg(args, kwargs, 4, "dilation"), nd, 1)
            ceil = bool(arg(args, kwargs, 5, "ceil_mode", False))
        else:
            dilation = (1,) * nd
            ceil = bool(arg(args, kwargs, 4, "ceil_mode", False))
        return ir.PoolAttrs(
            kind=kind,
            kernel=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil,
        )

    return handler


def adaptive_pool(kind: str) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        return ir.AdaptivePoolAttrs(kind=kind, output_size=tuple(int(s) for s in outs[0].shape[2:]))

    return handler


def upsample(mode: str, antialias: bool = False) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        x, y = args[0], outs[0]
        scale = tuple(int(o) / int(i) for i, o in zip(x.shape[2:], y.shape[2:], strict=True))
        align = any(a is True for a in args[2:4]) or bool(kwargs.get("align_corners", False))
        return ir.UpsampleAttrs(mode=mode, scale=scale, align_corners=align, antialias=antialias)

    return handler


def constant_pad(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    return _pads(args[0], args[1], "constant")


def pad_mode(mode: str) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        return _pads(args[0], args[1], mode)

    return handler


def _pads(x: torch.Tensor, pad: Sequence[int], mode: str) -> ir.PadAttrs:
    # F.pad order is last axis first: (left, right, top, bottom, ...). Report spatial axes
    # (dims after N, C) in axis order; pads on N or C leave spatial axes untouched.
    pad = [int(p) for p in pad]
    spatial = x.dim() - 2
    per_axis: list[tuple[int, int]] = [(0, 0)] * max(spatial, 0)
    for i in range(len(pad) // 2):
        axis = x.dim() - 1 - i - 2  # spatial index
        if 0 <= axis < spatial:
            per_axis[axis] = (pad[2 * i], pad[2 * i + 1])
    return ir.PadAttrs(pads=tuple(per_axis), mode=mode)


def col2im(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    out_size = tuple(int(s) for s in arg(args, kwargs, 1, "output_size"))
    nd = len(out_size)
    return ir.FoldAttrs(
        output_size=out_size,
        kernel=int_tuple(arg(args, kwargs, 2, "kernel_size"), nd, 1),
        dilation=int_tuple(arg(args, kwargs, 3, "dilation"), nd, 1),
        padding=int_tuple(arg(args, kwargs, 4, "padding"), nd, 0),
        stride=int_tuple(arg(args, kwargs, 5, "stride"), nd, 1),
    )


def grid_sample(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``grid_sampler_2d/3d``: interpolation at positions read from a grid tensor; priced as
    the resampling it is (taps per output element by mode)."""
    x, y = args[0], outs[0]
    modes = {0: "bilinear" if x.dim() == 4 else "trilinear", 1: "nearest", 2: "bicubic"}
    mode = modes.get(int(kwargs.get("interpolation_mode", 0)), "bilinear")
    scale = tuple(int(o) / int(i) for i, o in zip(x.shape[2:], y.shape[2:], strict=True))
    return ir.UpsampleAttrs(
        mode=mode, scale=scale, align_corners=bool(kwargs.get("align_corners", False))
    )
