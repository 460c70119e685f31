"""ATen op handlers: map an op call to an :class:`~convscope.ir.graph.OpKind` and typed attrs.

Each handler only *adapts arguments* (shapes and flags out of the ATen call) into the
frozen attrs of :mod:`convscope.ir.graph`; all arithmetic lives in :mod:`convscope.formulas`
and the passes. The registry is built once at import, refuses duplicate entries, and is
read-only afterwards (a ``MappingProxyType``).

Ops are keyed by their ATen *packet* name (``"convolution"``, ``"addmm"``), so every
overload of an op shares a handler; ops of other namespaces by ``"namespace.name"``
(``"torchvision.nms"``). An op that is not registered becomes
``OpKind.UNKNOWN``: listed in the report with its count and owning layers, never zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch

from convscope.ir import graph as ir

Handler = Callable[[Sequence[Any], Mapping[str, Any], Sequence[torch.Tensor]], ir.Attrs]


def _no_attrs(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    return ir.NoAttrs()


def _arg(
    args: Sequence[Any], kwargs: Mapping[str, Any], index: int, name: str, default: Any = None
) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _tuple(value: Any, n: int, default: int) -> tuple[int, ...]:
    """Expand an int / short list to ``n`` ints (ATen passes ``[]`` for "same as kernel")."""
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        return (value,) * n
    vals = tuple(int(v) for v in value)
    if not vals:
        return (default,) * n
    if len(vals) == 1:
        return vals * n
    return vals


def _conv(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    x, w, bias = args[0], args[1], _arg(args, kwargs, 2, "bias")
    transposed = bool(_arg(args, kwargs, 6, "transposed", False))
    groups = int(_arg(args, kwargs, 8, "groups", 1))
    nd = w.dim() - 2
    kernel = tuple(int(k) for k in w.shape[2:])
    # Transposed weights are [C_in, C_out/groups, k...]; forward ones [C_out, C_in/groups, k...].
    out_ch = int(w.shape[1]) * groups if transposed else int(w.shape[0])
    return ir.ConvAttrs(
        in_channels=int(x.shape[1]),
        out_channels=out_ch,
        kernel=kernel,
        stride=_tuple(_arg(args, kwargs, 3, "stride"), nd, 1),
        padding=_tuple(_arg(args, kwargs, 4, "padding"), nd, 0),
        dilation=_tuple(_arg(args, kwargs, 5, "dilation"), nd, 1),
        groups=groups,
        transposed=transposed,
        output_padding=_tuple(_arg(args, kwargs, 7, "output_padding"), nd, 0),
        has_bias=bias is not None,
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


def _mm(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    return _mm_attrs(args[0], args[1], has_bias=False)


def _addmm(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    # addmm(bias, m1, m2) / baddbmm(bias, b1, b2)
    return _mm_attrs(args[1], args[2], has_bias=True)


def _mv(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
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


def _dot(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    """``dot`` / ``vdot``: ``[k] · [k]``, one MAC per element."""
    return ir.LinearAttrs(batch=1, m=1, k=int(args[0].numel()), n=1, has_bias=False, weight=False)


def _trilinear(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``_trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim)`` (``nn.Bilinear``): each
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
    summed = sorted({int(d) for d in _arg(args, kwargs, 6, "sumdim", ())})
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


def _col2im(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    out_size = tuple(int(s) for s in _arg(args, kwargs, 1, "output_size"))
    nd = len(out_size)
    return ir.FoldAttrs(
        output_size=out_size,
        kernel=_tuple(_arg(args, kwargs, 2, "kernel_size"), nd, 1),
        dilation=_tuple(_arg(args, kwargs, 3, "dilation"), nd, 1),
        padding=_tuple(_arg(args, kwargs, 4, "padding"), nd, 0),
        stride=_tuple(_arg(args, kwargs, 5, "stride"), nd, 1),
    )


def _nms(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    """``torchvision::nms(boxes [N, 4], scores [N], iou)`` → kept indices ``[K]``."""
    return ir.NmsAttrs(boxes=int(args[0].shape[0]), kept=int(outs[0].shape[0]) if outs else 0)


def _roi_align(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``torchvision::roi_align(input, rois [K, 5], scale, ph, pw, sampling_ratio, aligned)``.

    A positive ``sampling_ratio`` r takes r × r samples per bin. A non-positive one is
    adaptive, ``⌈roi_h/ph⌉ × ⌈roi_w/pw⌉`` per region: read from the boxes when they hold
    real values (the CPU trace), else 1 per bin (the least the kernel does)."""
    x, rois = args[0], args[1]
    ph, pw = int(args[3]), int(args[4])
    ratio = int(_arg(args, kwargs, 5, "sampling_ratio", -1))
    n = int(rois.shape[0])
    if ratio > 0:
        samples = n * ratio * ratio
    elif n and rois.device.type != "meta":
        aligned = bool(_arg(args, kwargs, 6, "aligned", False))
        boxes = rois[:, 1:5].detach().double() * float(args[2])
        low = 0.0 if aligned else 1.0  # unaligned regions are at least 1 × 1
        h = (boxes[:, 3] - boxes[:, 1]).clamp(min=low)
        w = (boxes[:, 2] - boxes[:, 0]).clamp(min=low)
        per = torch.ceil(h / ph).clamp(min=1) * torch.ceil(w / pw).clamp(min=1)
        samples = int(per.sum())
    else:
        samples = n
    return ir.RoiAlignAttrs(rois=n, channels=int(x.shape[1]), pooled=(ph, pw), samples=samples)


def _attention(
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


def _norm(kind: str, training_index: int | None, weight_index: int) -> Handler:
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


def _pool(kind: str, has_dilation: bool) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        x = args[0]
        nd = len(args[1]) if isinstance(args[1], (list, tuple)) else x.dim() - 2
        kernel = _tuple(args[1], nd, 1)
        stride = _tuple(_arg(args, kwargs, 2, "stride"), nd, 0)
        stride = tuple(s if s else k for s, k in zip(stride, kernel, strict=True))
        padding = _tuple(_arg(args, kwargs, 3, "padding"), nd, 0)
        if has_dilation:
            dilation = _tuple(_arg(args, kwargs, 4, "dilation"), nd, 1)
            ceil = bool(_arg(args, kwargs, 5, "ceil_mode", False))
        else:
            dilation = (1,) * nd
            ceil = bool(_arg(args, kwargs, 4, "ceil_mode", False))
        return ir.PoolAttrs(
            kind=kind,
            kernel=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil,
        )

    return handler


def _adaptive(kind: str) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        return ir.AdaptivePoolAttrs(kind=kind, output_size=tuple(int(s) for s in outs[0].shape[2:]))

    return handler


def _upsample(mode: str, antialias: bool = False) -> Handler:
    def handler(
        args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
    ) -> ir.Attrs:
        x, y = args[0], outs[0]
        scale = tuple(int(o) / int(i) for i, o in zip(x.shape[2:], y.shape[2:], strict=True))
        align = any(a is True for a in args[2:4]) or bool(kwargs.get("align_corners", False))
        return ir.UpsampleAttrs(mode=mode, scale=scale, align_corners=align, antialias=antialias)

    return handler


def _constant_pad(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    return _pads(args[0], args[1], "constant")


def _pad_mode(mode: str) -> Handler:
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


def _reduce(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """Reductions, by argument *name* (``classify`` binds every argument to its schema name):
    positions differ between overloads (``var(x, dim, unbiased, keepdim)``,
    ``linalg_vector_norm(x, ord, dim, keepdim)``, ``norm(x, p, dim, keepdim)``).

    An overload without a ``dim`` argument reduces every dim (``sum(x)``, ``max(x)``),
    except the binary ones (``max(x, other)``), which are elementwise: no dim reduced.
    """
    x = args[0]
    ndim = x.dim() if isinstance(x, torch.Tensor) else 0
    if "dim" not in kwargs:
        dims = () if "other" in kwargs else tuple(range(ndim))
    else:
        dims = _dims(kwargs.get("dim"), ndim)
    return ir.ReduceAttrs(dims=dims, keepdim=bool(kwargs.get("keepdim", False)))


def _dims(value: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` as sorted non-negative ints; ``None`` / ``[]`` mean every dim."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return tuple(range(ndim))
    raw = [value] if isinstance(value, int) else list(value)
    return tuple(sorted({int(d) % max(ndim, 1) for d in raw}))


def _select(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``topk`` / ``sort`` / ``argsort`` / ``kthvalue``...: compare along one dim (default the
    last), which stays in the output; priced like a reduction over it."""
    x = args[0]
    ndim = x.dim() if isinstance(x, torch.Tensor) else 0
    dim = kwargs.get("dim", -1)
    return ir.ReduceAttrs(dims=_dims(-1 if dim is None else dim, ndim), keepdim=True)


def _grid_sample(
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


def _view(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
    if x is None or not outs:
        return ir.ViewAttrs(flattens_spatial=False)
    y = outs[0]
    # A view that turns [N, C, H, W] into fewer dims merges spatial axes (flatten, tokens).
    return ir.ViewAttrs(flattens_spatial=x.dim() >= 3 and y.dim() < x.dim(), order=_order(x, y))


def _order(x: torch.Tensor, y: torch.Tensor) -> tuple[int, ...] | None:
    """For a view that only reorders dims, the input dim behind each output dim, read off
    the strides (a permutation moves sizes and strides together); None otherwise, or when
    two dims of the same size and stride cannot be told apart (only size-1 dims may)."""
    if x.dim() != y.dim() or x.dim() < 2 or sorted(x.shape) != sorted(y.shape):
        return None
    if tuple(x.shape) == tuple(y.shape) and x.stride() == y.stride():
        return None  # not a reordering (or one that changes nothing)
    used: set[int] = set()
    order = []
    for n, s in zip(y.shape, y.stride(), strict=True):
        same = [d for d in range(x.dim()) if d not in used and x.shape[d] == n]
        match = [d for d in same if x.stride(d) == s or n == 1]
        if not match or (len(match) > 1 and n != 1):
            return None
        used.add(match[0])
        order.append(match[0])
    return tuple(order)


def _slice(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    # aten.slice.Tensor(self, dim=0, start=None, end=None, step=1)
    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
    dim = int(args[1]) if len(args) > 1 else int(kwargs.get("dim", 0))
    step = args[4] if len(args) > 4 else kwargs.get("step", 1)
    if x is not None and x.dim() > 0:
        dim %= x.dim()
    return ir.SliceAttrs(dim=dim, step=int(step) if isinstance(step, int) else 1)


class _TableBuilder:
    """Collects entries once; a second entry for the same op is a bug, not an override."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[ir.OpKind, Handler]] = {}

    def add(self, kind: ir.OpKind, names: Sequence[str], handler: Handler = _no_attrs) -> None:
        for name in names:
            if name in self.table:
                raise ValueError(f"duplicate op handler for aten.{name}")
            self.table[name] = (kind, handler)

    def freeze(self) -> Mapping[str, tuple[ir.OpKind, Handler]]:
        return MappingProxyType(dict(self.table))


def _build() -> Mapping[str, tuple[ir.OpKind, Handler]]:
    builder = _TableBuilder()
    add = builder.add

    add(
        ir.OpKind.CONV,
        [
            "convolution",
            "_convolution",
            "convolution_overrideable",
            "mkldnn_convolution",
            "_slow_conv2d_forward",
            "slow_conv3d_forward",
            "slow_conv_transpose2d",
            "slow_conv_transpose3d",
        ],
        _conv,
    )
    add(ir.OpKind.LINEAR, ["mm", "bmm"], _mm)
    add(ir.OpKind.LINEAR, ["addmm", "baddbmm"], _addmm)
    add(ir.OpKind.LINEAR, ["mv", "addmv"], _mv)
    add(ir.OpKind.LINEAR, ["dot", "vdot"], _dot)
    add(ir.OpKind.LINEAR, ["_trilinear"], _trilinear)
    add(
        ir.OpKind.ATTENTION,
        [
            "_scaled_dot_product_flash_attention_for_cpu",
            "_scaled_dot_product_flash_attention",
            "_scaled_dot_product_efficient_attention",
            "_scaled_dot_product_cudnn_attention",
            "_scaled_dot_product_fused_attention_overrideable",
        ],
        _attention,
    )
    add(ir.OpKind.NORM, ["native_batch_norm", "_native_batch_norm_legit"], _norm("batch", 5, 1))
    add(
        ir.OpKind.NORM,
        ["_native_batch_norm_legit_no_training", "cudnn_batch_norm", "miopen_batch_norm"],
        _norm("batch", None, 1),
    )
    add(ir.OpKind.NORM, ["native_layer_norm"], _norm("layer", None, 2))
    add(ir.OpKind.NORM, ["native_group_norm"], _norm("group", None, 1))
    add(ir.OpKind.NORM, ["_fused_rms_norm"], _norm("rms", None, 2))
    add(
        ir.OpKind.POOL,
        [
            "max_pool2d_with_indices",
            "max_pool3d_with_indices",
            "max_pool1d_with_indices",
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
        ],
        _pool("max", True),
    )
    add(ir.OpKind.POOL, ["avg_pool1d", "avg_pool2d", "avg_pool3d"], _pool("avg", False))
    add(
        ir.OpKind.ADAPTIVE_POOL,
        ["_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_avg_pool1d"],
        _adaptive("avg"),
    )
    add(
        ir.OpKind.ADAPTIVE_POOL,
        ["adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d"],
        _adaptive("max"),
    )
    add(
        ir.OpKind.REDUCE,
        [
            "mean",
            "sum",
            "amax",
            "amin",
            "var",
            "std",
            "var_mean",
            "max",
            "min",
            "logsumexp",
            "norm",
            "linalg_vector_norm",
            "prod",
            "argmax",
            "argmin",
            "any",
            "all",
            "median",
            "nanmedian",
            "nanmean",
            "nansum",
            "_unique2",
            "_unique",
            "unique_dim",
            "unique_consecutive",
        ],
        _reduce,
    )
    # Selections: compare along one dim that stays in the output (detection post-processing).
    add(ir.OpKind.REDUCE, ["topk", "sort", "argsort", "kthvalue", "msort"], _select)
    # scans: one op per element along ``dim``, priced like a reduction over it
    add(ir.OpKind.REDUCE, ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"], _select)
    add(ir.OpKind.SOFTMAX, ["_softmax", "_safe_softmax", "_log_softmax", "softmax", "log_softmax"])
    add(
        ir.OpKind.ACTIVATION,
        [
            "relu",
            "relu_",
            "relu6",
            "hardtanh",
            "hardtanh_",
            "gelu",
            "gelu_",
            "silu",
            "silu_",
            "sigmoid",
            "sigmoid_",
            "tanh",
            "tanh_",
            "hardswish",
            "hardswish_",
            "hardsigmoid",
            "hardsigmoid_",
            "leaky_relu",
            "leaky_relu_",
            "elu",
            "elu_",
            "selu",
            "celu",
            "mish",
            "mish_",
            "softplus",
            "_prelu_kernel",
            "prelu",
            "rrelu_with_noise",
            "threshold",
            "threshold_",
            "clamp",
            "clamp_",
            "clamp_min",
            "clamp_min_",
            "clamp_max",
            "clamp_max_",
            "glu",
            "log_sigmoid_forward",
            "erf",
            "exp",
            "exp_",
            "log",
            "sqrt",
            "rsqrt",
            "reciprocal",
            "abs",
            "neg",
            "sign",
            "pow",
            "pow_",
            "square",
            "sin",
            "cos",
            "floor",
            "ceil",
            "round",
            "trunc",
            "erfinv",
            "sgn",
            "logit",
            "expm1",
            "log1p",
            "log2",
            "log10",
            "exp2",
            "tan",
            "atan",
            "asin",
            "acos",
            "sinh",
            "cosh",
            "asinh",
            "acosh",
            "atanh",
            "erfc",
            "frac",
            "nan_to_num",
            "hardshrink",
            "softshrink",
            "isnan",
            "isinf",
            "isfinite",
            "bitwise_not",
        ],
    )
    add(
        ir.OpKind.ELEMENTWISE,
        [
            "add",
            "add_",
            "sub",
            "sub_",
            "rsub",
            "mul",
            "mul_",
            "div",
            "div_",
            "maximum",
            "minimum",
            "where",
            "lerp",
            "addcmul",
            "addcdiv",
            "fmod",
            "remainder",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "logical_and",
            "logical_or",
            "logical_not",
            "bitwise_and",
            "bitwise_or",
            "masked_fill",
            "masked_fill_",
            "floor_divide",
            "atan2",
            "hypot",
            "xlogy",
            "copysign",
            "bitwise_xor",
            "logical_xor",
            "fmax",
            "fmin",
            "heaviside",
            "true_divide",
            # Scatters that add into their destination.
            "scatter_add",
            "scatter_add_",
            "scatter_reduce",
            "index_add",
            "index_add_",
        ],
    )
    add(ir.OpKind.ELEMENTWISE, ["col2im"], _col2im)
    add(
        ir.OpKind.UPSAMPLE,
        [
            "upsample_nearest1d",
            "upsample_nearest2d",
            "upsample_nearest3d",
            "_upsample_nearest_exact1d",
            "_upsample_nearest_exact2d",
            "_upsample_nearest_exact3d",
        ],
        _upsample("nearest"),
    )
    add(ir.OpKind.UPSAMPLE, ["upsample_linear1d"], _upsample("linear"))
    add(ir.OpKind.UPSAMPLE, ["upsample_bilinear2d"], _upsample("bilinear"))
    add(ir.OpKind.UPSAMPLE, ["_upsample_bilinear2d_aa"], _upsample("bilinear", antialias=True))
    add(ir.OpKind.UPSAMPLE, ["upsample_bicubic2d"], _upsample("bicubic"))
    add(ir.OpKind.UPSAMPLE, ["_upsample_bicubic2d_aa"], _upsample("bicubic", antialias=True))
    add(ir.OpKind.UPSAMPLE, ["upsample_trilinear3d"], _upsample("trilinear"))
    add(
        ir.OpKind.UPSAMPLE,
        [
            "grid_sampler_2d",
            "grid_sampler_3d",
            "_grid_sampler_2d_cpu_fallback",
            "cudnn_grid_sampler",
        ],
        _grid_sample,
    )
    add(ir.OpKind.PAD, ["constant_pad_nd"], _constant_pad)
    add(
        ir.OpKind.PAD,
        ["reflection_pad1d", "reflection_pad2d", "reflection_pad3d"],
        _pad_mode("reflect"),
    )
    add(
        ir.OpKind.PAD,
        ["replication_pad1d", "replication_pad2d", "replication_pad3d"],
        _pad_mode("replicate"),
    )
    add(ir.OpKind.CAT, ["cat", "stack"])
    add(
        ir.OpKind.VIEW,
        [
            "view",
            "_unsafe_view",
            "reshape",
            "_reshape_alias",
            "permute",
            "transpose",
            "t",
            "expand",
            "unsqueeze",
            "squeeze",
            "select",
            "split",
            "split_with_sizes",
            "unsafe_split",
            "unsafe_split_with_sizes",
            "unsafe_chunk",
            "unbind",
            "narrow",
            "as_strided",
            "alias",
            "detach",
            "diagonal",
            "unfold",
            "lift_fresh",
            "view_as",
            "expand_as",
            "movedim",
            "flatten",
            "chunk",
            "unflatten",
            "view_as_real",
            "view_as_complex",
            "_local_scalar_dense",
            "as_strided_",
            "transpose_",
            "unsqueeze_",
            "squeeze_",
            "t_",
            "detach_",
            "resize_",
            "set_",
            "_nested_view_from_buffer",
            "swapaxes",
            "swapdims",
            "indices",
        ],
        _view,
    )
    add(ir.OpKind.VIEW, ["slice"], _slice)
    add(
        ir.OpKind.COPY,
        [
            "clone",
            "_to_copy",
            "copy",
            "copy_",
            "contiguous",
            "_to_dense",
            "fill",
            "fill_",
            "zero_",
            "lift_fresh_copy",
            "roll",
            "flip",
            "repeat",
            "pixel_shuffle",
            "pixel_unshuffle",
            "channel_shuffle",
            "native_channel_shuffle",
            "index_select",
            "gather",
            "index",
            "_unsafe_index",
            "tril",
            "triu",
            # Data movement without arithmetic: gathers, scatters, index extraction.
            "nonzero",
            "index_put",
            "index_put_",
            "_index_put_impl_",
            "_unsafe_index_put",
            "scatter",
            "scatter_",
            "index_copy",
            "index_fill",
            "masked_scatter",
            "masked_select",
            "take",
            "im2col",
            "repeat_interleave",
        ],
    )
    add(
        ir.OpKind.CREATE,
        [
            "empty",
            "empty_like",
            "empty_strided",
            "zeros",
            "zeros_like",
            "ones",
            "ones_like",
            "full",
            "full_like",
            "arange",
            "linspace",
            "scalar_tensor",
            "rand",
            "randn",
            "rand_like",
            "randn_like",
            "randint",
            "bernoulli",
            "bernoulli_",
            "normal",
            "normal_",
            "uniform_",
            "eye",
            "new_empty",
            "new_zeros",
            "new_ones",
            "new_full",
            "new_empty_strided",
            "_efficientzerotensor",
            "randperm",
            "tril_indices",
            "triu_indices",
        ],
    )
    add(ir.OpKind.EMBEDDING, ["embedding"])
    add(ir.OpKind.DROPOUT, ["native_dropout", "dropout", "feature_dropout"])
    # torchvision's detection ops, keyed "namespace.name" (aten ops are keyed by bare name).
    # Both are data-dependent: priced from the sizes this run produced.
    add(ir.OpKind.REDUCE, ["torchvision.nms"], _nms)
    add(ir.OpKind.POOL, ["torchvision.roi_align"], _roi_align)
    return builder.freeze()


#: ATen packet name → (kind, argument adapter). Read-only.
REGISTRY: Mapping[str, tuple[ir.OpKind, Handler]] = _build()


def _bind(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument of the call under its schema name (positional ones included)."""
    named = dict(kwargs)
    schema = getattr(func, "_schema", None)
    if schema is not None:
        for arg, value in zip(schema.arguments, args, strict=False):
            named.setdefault(arg.name, value)
    return named


def key(func: Any) -> str:
    """Registry key of an op: its packet name for ``aten``, ``namespace.name`` otherwise."""
    packet = func._overloadpacket.__name__
    namespace = getattr(func, "namespace", "aten")
    return packet if namespace == "aten" else f"{namespace}.{packet}"


def classify(
    func: Any, args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> tuple[ir.OpKind, ir.Attrs]:
    """Kind and attrs of one ATen call; unregistered ops are ``UNKNOWN`` with no attrs.

    Handlers see the positional arguments and every argument by schema name. A handler
    that cannot make sense of an unusual overload must not abort the trace: the op is then
    reported as ``UNKNOWN`` (listed, never silently zero).
    """
    entry = REGISTRY.get(key(func))
    if entry is None:
        return ir.OpKind.UNKNOWN, ir.NoAttrs()
    kind, handler = entry
    try:
        return kind, handler(args, _bind(func, args, kwargs), outs)
    except Exception:  # an adapter bug or an overload it does not know: unknown, not a crash
        return ir.OpKind.UNKNOWN, ir.NoAttrs()
