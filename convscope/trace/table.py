"""The ATen op table: every op the recorder knows, with its kind and argument adapter.

Ops are keyed by their ATen *packet* name (``"convolution"``, ``"addmm"``), so every
overload of an op shares a handler; ops of other namespaces by ``"namespace.name"``
(``"torchvision.nms"``). Built once at import by :class:`~convscope.trace.registry.OpTable`
(which refuses duplicate entries) and read-only afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping

from convscope.ir import graph as ir
from convscope.trace.adapters import dense, detection, shape, spatial
from convscope.trace.adapters.args import Handler
from convscope.trace.registry import OpTable


def _entries() -> Mapping[str, tuple[ir.OpKind, Handler]]:
    builder = OpTable()
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
        dense.conv,
    )
    add(ir.OpKind.LINEAR, ["mm", "bmm"], dense.mm)
    add(ir.OpKind.LINEAR, ["addmm", "baddbmm"], dense.addmm)
    add(ir.OpKind.LINEAR, ["mv", "addmv"], dense.mv)
    add(ir.OpKind.LINEAR, ["dot", "vdot"], dense.dot)
    add(ir.OpKind.LINEAR, ["_trilinear"], dense.trilinear)
    add(
        ir.OpKind.ATTENTION,
        [
            "_scaled_dot_product_flash_attention_for_cpu",
            "_scaled_dot_product_flash_attention",
            "_scaled_dot_product_efficient_attention",
            "_scaled_dot_product_cudnn_attention",
            "_scaled_dot_product_fused_attention_overrideable",
        ],
        dense.attention,
    )
    add(
        ir.OpKind.NORM,
        ["native_batch_norm", "_native_batch_norm_legit"],
        spatial.norm("batch", 5, 1),
    )
    add(
        ir.OpKind.NORM,
        ["_native_batch_norm_legit_no_training", "cudnn_batch_norm", "miopen_batch_norm"],
        spatial.norm("batch", None, 1),
    )
    add(ir.OpKind.NORM, ["native_layer_norm"], spatial.norm("layer", None, 2))
    add(ir.OpKind.NORM, ["native_group_norm"], spatial.norm("group", None, 1))
    add(ir.OpKind.NORM, ["_fused_rms_norm"], spatial.norm("rms", None, 2))
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
        spatial.pool("max", True),
    )
    add(ir.OpKind.POOL, ["avg_pool1d", "avg_pool2d", "avg_pool3d"], spatial.pool("avg", False))
    add(
        ir.OpKind.ADAPTIVE_POOL,
        ["_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_avg_pool1d"],
        spatial.adaptive_pool("avg"),
    )
    add(
        ir.OpKind.ADAPTIVE_POOL,
        ["adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d"],
        spatial.adaptive_pool("max"),
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
        shape.reduce,
    )
    # Selections: compare along one dim that stays in the output (detection post-processing).
    add(ir.OpKind.REDUCE, ["topk", "sort", "argsort", "kthvalue", "msort"], shape.select)
    # scans: one op per element along ``dim``, priced like a reduction over it
    add(ir.OpKind.REDUCE, ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"], shape.select)
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
    add(ir.OpKind.ELEMENTWISE, ["col2im"], spatial.col2im)
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
        spatial.upsample("nearest"),
    )
    add(ir.OpKind.UPSAMPLE, ["upsample_linear1d"], spatial.upsample("linear"))
    add(ir.OpKind.UPSAMPLE, ["upsample_bilinear2d"], spatial.upsample("bilinear"))
    add(
        ir.OpKind.UPSAMPLE,
        ["_upsample_bilinear2d_aa"],
        spatial.upsample("bilinear", antialias=True),
    )
    add(ir.OpKind.UPSAMPLE, ["upsample_bicubic2d"], spatial.upsample("bicubic"))
    add(ir.OpKind.UPSAMPLE, ["_upsample_bicubic2d_aa"], spatial.upsample("bicubic", antialias=True))
    add(ir.OpKind.UPSAMPLE, ["upsample_trilinear3d"], spatial.upsample("trilinear"))
    add(
        ir.OpKind.UPSAMPLE,
        [
            "grid_sampler_2d",
            "grid_sampler_3d",
            "_grid_sampler_2d_cpu_fallback",
            "cudnn_grid_sampler",
        ],
        spatial.grid_sample,
    )
    add(ir.OpKind.PAD, ["constant_pad_nd"], spatial.constant_pad)
    add(
        ir.OpKind.PAD,
        ["reflection_pad1d", "reflection_pad2d", "reflection_pad3d"],
        spatial.pad_mode("reflect"),
    )
    add(
        ir.OpKind.PAD,
        ["replication_pad1d", "replication_pad2d", "replication_pad3d"],
        spatial.pad_mode("replicate"),
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
        shape.view,
    )
    add(ir.OpKind.VIEW, ["slice"], shape.slice_)
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
    add(ir.OpKind.REDUCE, ["torchvision.nms"], detection.nms)
    add(ir.OpKind.POOL, ["torchvision.roi_align"], detection.roi_align)
    return builder.freeze()


#: ATen packet name → (kind, argument adapter). Read-only.
REGISTRY: Mapping[str, tuple[ir.OpKind, Handler]] = _entries()
