"""Adapters of the dense compute ops: convolution, matrix products, attention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir
from convscope.trace.adapters.args import arg, int_tuple


def _strides_like_channels_last(t: torch.Tensor) -> bool:
    """Whether a 4-d tensor's strides read as channels-last the way PyTorch reads them to
    choose a conv's memory format (``suggest_memory_format``): walking C, W, H, N, each
    stride at least the span of the dims before it; ambiguous cases (size-1 dims with
    equal strides) read as contiguous."""
    if t.dim() != 4 or t.stride(1) == 0:
        return False
    low = 0
    for d in (1, 3, 2, 0):
        size, stride = t.shape[d], t.stride(d)
        if size == 0 or stride < low or (d == 0 and low == t.stride(1)):
            return False
        low = stride * size if size > 1 else stride
    return True


def conv(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    x, w, bias = args[0], args[1], arg(args, kwargs, 2, "bias")
    # PyTorch runs a CPU conv in channels-last when its input or weight reads so, after
    # making the input dense in that layout (a copy when it is not).
    channels_last = _strides_like_channels_last(x) or _strides_like_channels_last(w)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    transposed = bool(arg(args, kwargs, 6, "transposed", False))
    groups = int(arg(args, kwargs, 8, "groups", 1))
    nd = w.dim() - 2
    kernel = tuple(int(k) for k in w.shape[2:])
    # Transposed weights are [C_in, C_out/groups, k...]; forward ones [C_out, C_in/groups, k...].
    out_ch = int(w.shape[1]) * groups if transposed else int(w.shape[0])
    return ir.ConvAttrs(
        in_channels=int(x.shape[1]),
        out_channels=out_ch,
        kernel=kernel,
        stride=int_tuple(arg(args, kwargs, 3, "stride"), nd, 1),
        padding=int_tuple(arg(args, kwargs, 4, "padding"), nd, 0),
        dilation=int_tuple(arg(args, kwargs, 5, "dilation"), nd, 1),
        groups=groups,
        transposed=transposed,
        output_padding=int_tuple(arg(args, kwargs, 7, "output_padding"), nd, 0),
        has_bias=bias is not None,
        channels_last=channels_last,
        input_copy=not x.is_contiguous(memory_format=layout),
    )


def _mm_attrs(a: torch.Tensor, b: torch.Tensor, has_bias: bool) -> ir.LinearAttrs:
    batch = 1
    for s in a.shape[:-2]:
        batch *= int(s)
    return ir.LinearAttrs(
        batch=batch,
        m=int(a.shape[-2]),
        k=int(a.shape[-1]),
        n=int(b.shape[-1]),
        has_bias=has_bias,
        weight=isinstance(b, torch.nn.Parameter) or isinstance(a, torch.nn.Parameter),
    )


def mm(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    return _mm_attrs(args[0], args[1], has_bias=False)


def addmm(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    # addmm(bias, m1, m2) / baddbmm(bias, b1, b2)
    return _mm_attrs(args[1], args[2], has_bias=True)


def mv(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    """``mv(mat, vec)`` / ``addmv(bias, mat, vec)``: ``[m, k] @ [k]``, a matmul with n = 1."""
    mat = args[1] if len(args) > 2 else args[0]
    return ir.LinearAttrs(
        batch=1,
        m=int(mat.shape[0]),
        k=int(mat.shape[1]),
        n=1,
        has_bias=len(args) > 2,
        weight=isinstance(mat, torch.nn.Parameter),
    )


def dot(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    """``dot`` / ``vdot``: ``[k] · [k]``, one MAC per element."""
    return ir.LinearAttrs(batch=1, m=1, k=int(args[0].numel()), n=1, has_bias=False, weight=False)


def trilinear(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim)`` (``nn.Bilinear``): each
    input is unsqueezed at its ``expand`` dims, the three are multiplied over the broadcast
    space and ``sumdim`` is summed out. One MAC per point of that space: for ``Bilinear``
    ``batch·out·in1·in2``, the count of ``x1ᵀ W x2`` done as nested dot products."""
    operands = args[:3]
    full: list[int] = []
    for t, expand in zip(operands, args[3:6], strict=True):
        shape = list(int(s) for s in t.shape)
        for d in sorted(int(e) for e in expand):
            shape.insert(d, 1)
        full = shape if not full else [max(a, b) for a, b in zip(full, shape, strict=True)]
    summed = sorted({int(d) for d in arg(args, kwargs, 6, "sumdim", ())})
    k = 1
    for d in summed:
        k *= full[d]
    rest = 1
    for d, n in enumerate(full):
        if d not in summed:
            rest *= n
    return ir.LinearAttrs(
        batch=rest,
        m=1,
        k=k,
        n=1,
        has_bias=False,
        weight=any(isinstance(t, torch.nn.Parameter) for t in operands),
    )


def attention(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    q, k, v = args[0], args[1], args[2]
    batch = 1
    for s in q.shape[:-3]:
        batch *= int(s)
    heads = int(q.shape[-3]) if q.dim() >= 3 else 1
    return ir.AttentionAttrs(
        batch=batch,
        heads=heads,
        q_len=int(q.shape[-2]),
        kv_len=int(k.shape[-2]),
        head_dim=int(q.shape[-1]),
        v_head_dim=int(v.shape[-1]),
    )
