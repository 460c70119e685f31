"""The immutable graph that every pass reads.

A :class:`Graph` is what :mod:`convscope.trace.recorder` records from one run of a model: the
ATen ops in execution order (:class:`Node`), the tensors flowing between them
(:class:`TensorSpec`, identified by integer ids), the parameters and buffers, and the
module tree. Nothing here holds a torch object, so a graph can be pickled, compared and
inspected without torch's state, and passes cannot mutate the model through it.

Passes dispatch on :class:`OpKind` and on the type of ``Node.attrs`` (``ConvAttrs``,
``PoolAttrs``, ...), never on module class names: ``Node.module_type`` is for display only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

# Bytes per element for the dtypes a CNN meets. Unknown dtypes price at 4 bytes.
DTYPE_BYTES: Mapping[str, int] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "complex64": 8,
    "complex128": 16,
}


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a dtype name such as ``"float32"``."""
    return DTYPE_BYTES.get(dtype, 4)


class OpKind(enum.Enum):
    """What an op does, as far as cost, memory and receptive field care."""

    CONV = "conv"  # convolution, incl. grouped, depthwise, dilated, transposed
    LINEAR = (
        "linear"  # addmm / mm / bmm / matmul / einsum: a contraction with weights or activations
    )
    ATTENTION = "attention"  # fused scaled-dot-product attention
    NORM = "norm"  # batch / layer / group / instance norm
    POOL = "pool"  # windowed max / avg pooling
    ADAPTIVE_POOL = "adaptive_pool"  # adaptive or global pooling
    ACTIVATION = "activation"  # pointwise nonlinearity
    ELEMENTWISE = "elementwise"  # add, mul, ... (a merge when it has two activation inputs)
    REDUCE = "reduce"  # mean / sum / amax over dims (e.g. global average via mean)
    SOFTMAX = "softmax"
    UPSAMPLE = "upsample"  # nearest / bilinear / ... interpolation
    PAD = "pad"  # explicit constant / reflect / replicate padding
    CAT = "cat"  # concatenation (a merge); copies memory, no arithmetic
    VIEW = "view"  # reshape, permute, slice, expand...: free
    COPY = "copy"  # clone, contiguous, dtype / layout conversion: moves bytes, no arithmetic
    CREATE = "create"  # tensor factories (zeros, arange...): no inputs from the graph
    EMBEDDING = "embedding"  # table lookups
    DROPOUT = "dropout"
    UNKNOWN = "unknown"  # no formula: listed, never silently zero


class MixingClass(enum.Enum):
    """How a layer mixes information ("Rethinking the Role of Spatial Mixing", arXiv 2503.16760)."""

    SPATIAL = "spatial"  # across positions only (depthwise conv, pooling, attention)
    CHANNEL = "channel"  # across channels only (1×1 conv, linear)
    BOTH = "both"  # dense k×k conv
    OTHER = "other"  # neither (norms, activations, elementwise, views)


@dataclass(frozen=True)
class TensorSpec:
    """A tensor flowing through the graph. ``id`` is unique within one graph."""

    id: int
    shape: tuple[int, ...]
    dtype: str
    # For views: the id of the tensor whose storage this one aliases (itself otherwise).
    storage: int

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * dtype_bytes(self.dtype)


@dataclass(frozen=True)
class ConvAttrs:
    """A convolution. Spatial tuples have one entry per spatial axis (1, 2 or 3)."""

    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    transposed: bool
    output_padding: tuple[int, ...]
    has_bias: bool
    # How the kernel runs, read from its operands' strides as PyTorch reads them: in
    # channels-last when the input or the weight is laid out so (a ConvNeXt block's
    # permutes leave its activations so); ``input_copy`` when the input is not dense in
    # that layout (a transposed view of tokens), so the conv first copies it.
    channels_last: bool = False
    input_copy: bool = False

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels

    @property
    def is_pointwise(self) -> bool:
        return all(k == 1 for k in self.kernel)


@dataclass(frozen=True)
class PoolAttrs:
    """Windowed pooling (``kind`` is ``"max"``, ``"avg"`` or ``"lp"``)."""

    kind: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool


@dataclass(frozen=True)
class AdaptivePoolAttrs:
    kind: str  # "max" or "avg"
    output_size: tuple[int, ...]


@dataclass(frozen=True)
class LinearAttrs:
    """A contraction ``[batch..., m, k] @ [k, n]``.

    ``weight`` is True when one operand is a parameter (a layer, not token mixing).
    """

    batch: int
    m: int
    k: int
    n: int
    has_bias: bool
    weight: bool


@dataclass(frozen=True)
class AttentionAttrs:
    batch: int
    heads: int
    q_len: int
    kv_len: int
    head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class NormAttrs:
    kind: str  # "batch", "layer", "group", "instance"
    affine: bool
    training: bool


@dataclass(frozen=True)
class UpsampleAttrs:
    mode: str  # "nearest", "bilinear", "bicubic", "trilinear", "linear"
    scale: tuple[float, ...]  # output size / input size, per spatial axis
    align_corners: bool
    antialias: bool = False  # ``_upsample_*_aa``: the filter widens with the downscale factor


@dataclass(frozen=True)
class PadAttrs:
    # (before, after) per spatial axis, in axis order (H then W for 2-d).
    pads: tuple[tuple[int, int], ...]
    mode: str


@dataclass(frozen=True)
class ReduceAttrs:
    dims: tuple[int, ...]  # normalized (non-negative) dims of the input that are reduced
    keepdim: bool


@dataclass(frozen=True)
class ViewAttrs:
    """Shape-only ops. ``flattens_spatial`` marks views that merge spatial axes into one;
    ``order`` (for permutations: ``permute``, ``transpose``...) gives, for each output dim,
    the input dim it is, so that dims of equal size are not mistaken for each other."""

    flattens_spatial: bool
    order: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SliceAttrs:
    """``x[..., start:end:step]`` along ``dim`` (normalized, non-negative)."""

    dim: int
    step: int


@dataclass(frozen=True)
class FoldAttrs:
    """``col2im`` (``nn.Fold``): blocks of ``kernel`` taps scatter-added into ``output_size``."""

    output_size: tuple[int, ...]
    kernel: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True)
class NmsAttrs:
    """Non-maximum suppression over ``boxes`` boxes of which ``kept`` survived this run.

    Data-dependent: the work depends on which boxes overlap, not only on shapes."""

    boxes: int
    kept: int


@dataclass(frozen=True)
class RoiAlignAttrs:
    """``roi_align``: ``rois`` regions, each pooled to ``pooled`` bins of ``channels`` maps.

    ``samples``: bilinear samples per bin summed over the regions (``rois · ratio²``, or,
    for an adaptive ratio, what this run's boxes asked for); data-dependent."""

    rois: int
    channels: int
    pooled: tuple[int, ...]
    samples: int


@dataclass(frozen=True)
class NoAttrs:
    pass


Attrs = (
    ConvAttrs
    | PoolAttrs
    | AdaptivePoolAttrs
    | LinearAttrs
    | AttentionAttrs
    | NormAttrs
    | UpsampleAttrs
    | PadAttrs
    | ReduceAttrs
    | ViewAttrs
    | SliceAttrs
    | FoldAttrs
    | NmsAttrs
    | RoiAlignAttrs
    | NoAttrs
)


@dataclass(frozen=True)
class Node:
    """One ATen op call, in execution order."""

    id: int
    op: str  # ATen overload name, e.g. "aten.convolution.default"
    kind: OpKind
    attrs: Attrs
    inputs: tuple[
        int, ...
    ]  # tensor ids of activation inputs (producers in the graph or graph inputs)
    params: tuple[
        str, ...
    ]  # names of parameters / buffers this op read (e.g. "layer1.0.conv1.weight")
    outputs: tuple[TensorSpec, ...]
    module: str  # path of the leaf module whose forward ran this op ("" = the root module)
    module_type: str  # class name of that module, for display only
    call_index: int = (
        0  # which call of ``module`` this op belongs to (shared modules run more than once)
    )
    # (file, line) of the user's call for layer-less ops (``F.conv2d`` in a forward), else None
    call_site: tuple[str, int] | None = None


@dataclass(frozen=True)
class TensorOwner:
    """A parameter or buffer, counted once however many names point at it."""

    name: str  # canonical (first) name
    aliases: tuple[str, ...]  # other names of the same tensor (tied weights, shared modules)
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    is_buffer: bool
    module: str  # path of the module that holds it under ``name``

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * dtype_bytes(self.dtype)


@dataclass(frozen=True)
class ModuleInfo:
    path: str  # "" for the root
    type_name: str
    is_leaf: bool
    calls: int  # how many times its forward ran during the trace


@dataclass(frozen=True)
class Graph:
    """A traced model. All collections are tuples; lookups are cached properties."""

    nodes: tuple[Node, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[int, ...]  # tensor ids of the model's outputs
    tensors: tuple[TensorSpec, ...]  # every tensor: graph inputs, constants and op outputs
    params: tuple[TensorOwner, ...]  # parameters and buffers, deduplicated
    modules: tuple[ModuleInfo, ...]
    mode: str  # "meta" or "cpu" (the device the trace ran on)
    fallback_reason: str | None = None  # why meta tracing failed, when mode is "cpu"
    model_type: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def tensor(self) -> Mapping[int, TensorSpec]:
        return {t.id: t for t in self.tensors}

    @cached_property
    def producer(self) -> Mapping[int, Node]:
        """The node that produced each tensor id (graph inputs and constants have none)."""
        return {t.id: n for n in self.nodes for t in n.outputs}

    @cached_property
    def consumers(self) -> Mapping[int, tuple[Node, ...]]:
        out: dict[int, list[Node]] = {}
        for n in self.nodes:
            for t in dict.fromkeys(n.inputs):
                out.setdefault(t, []).append(n)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def param(self) -> Mapping[str, TensorOwner]:
        """Every name (canonical or alias) of a parameter or buffer → its owner record."""
        out: dict[str, TensorOwner] = {}
        for p in self.params:
            out[p.name] = p
            for a in p.aliases:
                out[a] = p
        return out

    @cached_property
    def module(self) -> Mapping[str, ModuleInfo]:
        return {m.path: m for m in self.modules}

    def predecessors(self, node: Node) -> Iterator[Node]:
        """Producer nodes of ``node``'s activation inputs, in input order."""
        for t in node.inputs:
            p = self.producer.get(t)
            if p is not None:
                yield p

    def successors(self, node: Node) -> Iterator[Node]:
        seen: set[int] = set()
        for t in node.outputs:
            for c in self.consumers.get(t.id, ()):
                if c.id not in seen:
                    seen.add(c.id)
                    yield c

    @cached_property
    def input_spatial(self) -> tuple[int, ...]:
        """Spatial size of the first graph input (dims after N, C), or () when it has none."""
        if not self.inputs:
            return ()
        return self.inputs[0].shape[2:]
