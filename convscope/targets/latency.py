"""Predicted latency of a traced graph on a device with a kernel model.

Eager PyTorch runs every ATen op of the trace as its own kernel, one after another: a
convolution, then its batch norm, then its activation (in place or not), each paying the
dispatcher's per-op overhead, which dominates small layers. So the prediction is

    end to end = Σ over ops of kernel time(op) + module calls × module call overhead

where each op is mapped to a kernel family and its column values (:func:`kernel_call`) and
priced by the family's fitted model (:class:`~convscope.targets.kernels.KernelModel`), and
the module call overhead (the Python cost of one ``nn.Module.__call__``) is calibrated
too. Convs, linears, norms, pools and activations are calibrated through their ``torch.nn``
module, so their samples hold the module's Python call; the overhead counts the other module
calls (containers, blocks, leaves that run functional ops). A layer's prediction is the sum
over its ops; the module call overhead is stated apart, so the layers add up to the
end-to-end figure minus it.

Every op is priced: ops without a family of their own (``erf``, ``nms``, an unknown op)
are priced by a stand-in family and listed in ``approximated``, never dropped. Views cost
their dispatch only. Pure: no torch, no weights, no run of the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from convscope import fmt
from convscope.ir import graph as ir
from convscope.targets.kernel_families import FAMILIES
from convscope.targets.kernels import KernelModel

__all__ = [
    "METHOD",
    "ApproximatedOp",
    "KernelCall",
    "LatencyPrediction",
    "call_us",
    "conv_call",
    "input_copies",
    "kernel_call",
    "predict",
    "separable_calls",
    "spatialize_calls",
]

METHOD = (
    "per-op kernel model: per-family log-space regression on calibrated micro-benchmarks "
    "with a local residual correction, plus module call overhead"
)

# Activation ATen names (in-place suffix stripped) → the family that times them.
_ACTIVATION_FAMILY: Mapping[str, str] = MappingProxyType(
    {
        "relu": "act.relu",
        "relu6": "act.clamp",
        "hardtanh": "act.clamp",
        "clamp": "act.clamp",
        "clamp_min": "act.clamp",
        "clamp_max": "act.clamp",
        "threshold": "act.clamp",
        "silu": "act.silu",
        "gelu": "act.gelu",
        "hardswish": "act.hardswish",
        "hardsigmoid": "act.hardsigmoid",
        "sigmoid": "act.sigmoid",
        "tanh": "act.tanh",
        "leaky_relu": "act.leaky_relu",
        "exp": "act.other",
    }
)
_ADD = frozenset({"add", "sub", "rsub"})
#: Families the calibration times through their torch.nn module (the call is in the sample).
MODULE_FAMILIES = frozenset(
    {
        "conv.dense",
        "conv.pointwise",
        "conv.depthwise",
        "conv.grouped",
        "linear",
        "norm.batch",
        "norm.layer",
        "norm.group",
        "pool.max",
        "pool.avg",
        "pool.adaptive_avg",
        "pool.adaptive_max",
        "reduce",  # global average pooling: a mean over H, W
        *(f"act.{a}" for a in ("relu", "clamp", "silu", "gelu", "hardswish", "hardsigmoid")),
        *(f"act.{a}" for a in ("sigmoid", "tanh", "leaky_relu")),
    }
)
_MUL = frozenset({"mul", "div", "true_divide"})

# A family with no samples in a profile is priced by the next one here, which has the same
# columns; then by "copy" (elements written).
_STAND_IN: Mapping[str, str] = MappingProxyType(
    {
        "conv.grouped": "conv.dense",
        "conv.pointwise": "conv.dense",
        "pool.adaptive_max": "pool.adaptive_avg",
        "pool.avg": "pool.max",
        "norm.group": "norm.batch",
        # Profiles calibrated before the family existed: statistics per group are the
        # closest work they timed.
        "norm.batch_stats": "norm.group",
        "resize.bilinear": "resize.nearest",
    }
)


@dataclass(frozen=True)
class KernelCall:
    """The kernel an op runs as: its family, the family's column values, and whether the
    family is a stand-in for an op that was not calibrated as such."""

    family: str
    columns: tuple[int, ...]
    approximate: bool = False

    def __post_init__(self) -> None:
        want = len(FAMILIES[self.family].columns)
        if len(self.columns) != want:
            raise ValueError(f"{self.family} takes {want} columns, got {self.columns}")


def _packet(op: str) -> str:
    """``"aten.relu_.default"`` → ``"relu_"``; other namespaces keep theirs."""
    parts = op.split(".")
    return parts[1] if parts[0] == "aten" and len(parts) > 1 else op


def _prod(xs: Sequence[int]) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def _out_numel(node: ir.Node) -> int:
    return node.outputs[0].numel if node.outputs else 0


def _in_shape(graph: ir.Graph, node: ir.Node) -> tuple[int, ...]:
    if node.inputs:
        return graph.tensor[node.inputs[0]].shape
    return node.outputs[0].shape if node.outputs else ()


def _map(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(n, c, area)`` of an ``[N, C, *spatial]`` shape (area 1 without spatial dims)."""
    n = shape[0] if len(shape) > 0 else 1
    c = shape[1] if len(shape) > 1 else 1
    return n, c, _prod(shape[2:])


def _operand_sizes(graph: ir.Graph, node: ir.Node) -> list[int]:
    sizes = [graph.tensor[t].numel for t in node.inputs if t in graph.tensor]
    sizes += [graph.param[p].numel for p in node.params if p in graph.param]
    return sizes


def conv_call(
    n: int,
    cin: int,
    cout: int,
    groups: int,
    kernel: Sequence[int],
    stride: Sequence[int],
    hwin: int,
    hwout: int,
    *,
    channels_last: bool = False,
    approximate: bool = False,
) -> KernelCall:
    """The kernel call of a 2-d forward conv of these sizes (``hwin`` / ``hwout``: map
    areas) in this layout, existing or hypothetical (a rewrite's convs before they are
    built)."""
    if groups == 1:
        family = "conv.pointwise" if all(k == 1 for k in kernel) else "conv.dense"
    elif groups == cin:
        family = "conv.depthwise"
    else:
        family = "conv.grouped"
    cols = (
        n,
        cin,
        cout,
        groups,
        _prod(kernel),
        max(stride, default=1),
        hwin,
        hwout,
        int(channels_last),
    )
    return KernelCall(family, cols, approximate=approximate)


def _conv(graph: ir.Graph, node: ir.Node, a: ir.ConvAttrs) -> KernelCall:
    n, cin, hwin = _map(_in_shape(graph, node))
    _, cout, hwout = _map(node.outputs[0].shape)
    # Transposed, dilated or 1-d / 3-d convs are priced as the 2-d forward conv of their size.
    odd = a.transposed or any(d != 1 for d in a.dilation) or len(a.kernel) != 2
    return conv_call(
        n,
        cin,
        cout,
        a.groups,
        a.kernel,
        a.stride,
        hwin,
        hwout,
        channels_last=a.channels_last,
        approximate=odd,
    )


def input_copies(graph: ir.Graph, node: ir.Node) -> tuple[KernelCall, ...]:
    """Kernels an op runs inside it before its own: a conv whose input is not dense in
    the layout it runs in (a transposed view of tokens, a batch-1 view whose strides read
    as neither layout) first copies the input into it, a strided gather that can take
    longer than the conv."""
    a = node.attrs
    if node.kind is ir.OpKind.CONV and isinstance(a, ir.ConvAttrs) and a.input_copy:
        return (KernelCall("copy", (max(_prod(_in_shape(graph, node)), 1), 1)),)
    return ()


def separable_calls(graph: ir.Graph, node: ir.Node, multiplier: int = 1) -> tuple[KernelCall, ...]:
    """The calls a dense conv op becomes when factorized: the copy of its input when the
    conv copied it (:func:`input_copies`: the depthwise conv reads the same input), then
    depthwise ``C_in → m·C_in`` with the conv's kernel and stride, then pointwise
    ``m·C_in → C_out`` on the output map."""
    a = node.attrs
    if not isinstance(a, ir.ConvAttrs):
        raise ValueError(f"{node.op} is not a convolution")
    n, cin, hwin = _map(_in_shape(graph, node))
    _, cout, hwout = _map(node.outputs[0].shape)
    mid = cin * multiplier
    odd = any(d != 1 for d in a.dilation) or len(a.kernel) != 2
    ones = (1,) * len(a.kernel)
    cl = a.channels_last  # the rewritten convs run in the layout the conv ran in
    return (
        *input_copies(graph, node),
        conv_call(
            n, cin, mid, cin, a.kernel, a.stride, hwin, hwout, channels_last=cl, approximate=odd
        ),
        conv_call(n, mid, cout, 1, ones, ones, hwout, hwout, channels_last=cl, approximate=odd),
    )


def spatialize_calls(graph: ir.Graph, node: ir.Node, side: int) -> tuple[KernelCall, ...]:
    """The calls a 1×1 conv op becomes with a depthwise ``side``×``side`` in front of it
    (the depthwise takes the 1×1 conv's stride and its input copy, if any; the 1×1 conv then
    runs at stride 1)."""
    a = node.attrs
    if not isinstance(a, ir.ConvAttrs):
        raise ValueError(f"{node.op} is not a convolution")
    n, cin, hwin = _map(_in_shape(graph, node))
    _, cout, hwout = _map(node.outputs[0].shape)
    odd = len(a.kernel) != 2
    square = (side,) * len(a.kernel)
    ones = (1,) * len(a.kernel)
    cl = a.channels_last
    return (
        *input_copies(graph, node),
        conv_call(
            n, cin, cin, cin, square, a.stride, hwin, hwout, channels_last=cl, approximate=odd
        ),
        conv_call(
            n, cin, cout, a.groups, ones, ones, hwout, hwout, channels_last=cl, approximate=odd
        ),
    )


def kernel_call(graph: ir.Graph, node: ir.Node) -> KernelCall:
    """The kernel family and column values of one op (a stand-in family, flagged
    ``approximate``, for ops that have no family of their own)."""
    kind, a = node.kind, node.attrs
    name = _packet(node.op)
    base = name.rstrip("_")
    inplace = int(name.endswith("_") and not name.startswith("_"))
    numel = _out_numel(node)
    K = ir.OpKind
    if kind is K.CONV and isinstance(a, ir.ConvAttrs):
        return _conv(graph, node, a)
    if kind is K.LINEAR and isinstance(a, ir.LinearAttrs):
        return KernelCall("linear", (a.batch, a.m, a.k, a.n, int(a.has_bias)))
    if kind is K.ATTENTION and isinstance(a, ir.AttentionAttrs):
        return KernelCall("attention", (a.batch, a.heads, a.q_len, a.kv_len, a.head_dim))
    if kind is K.NORM and isinstance(a, ir.NormAttrs):
        # A norm keeps its input's shape; the output is the operand to read it from (the
        # first input may be a weight or a parameter-derived view, as in weight
        # standardization, which batch-normalizes a conv's weights).
        shape = node.outputs[0].shape if node.outputs else _in_shape(graph, node)
        if a.kind == "batch" and a.training:
            # Batch statistics, then normalization: several passes, not an eval batch
            # norm's one scaled pass.
            return KernelCall("norm.batch_stats", _map(shape))
        if a.kind == "batch":
            return KernelCall("norm.batch", _map(shape))
        if a.kind in ("layer", "rms"):
            width = shape[-1] if shape else 1
            return KernelCall("norm.layer", (max(_prod(shape) // max(width, 1), 1), width))
        return KernelCall("norm.group", _map(shape))
    if kind is K.POOL and isinstance(a, ir.PoolAttrs):
        n, c, hwin = _map(_in_shape(graph, node))
        _, _, hwout = _map(node.outputs[0].shape)
        cols = (n, c, hwin, _prod(a.kernel), max(a.stride, default=1), hwout)
        if a.kind == "max":
            return KernelCall("pool.max", cols, approximate=len(a.kernel) != 2)
        return KernelCall("pool.avg", cols, approximate=a.kind != "avg" or len(a.kernel) != 2)
    if kind is K.ADAPTIVE_POOL and isinstance(a, ir.AdaptivePoolAttrs):
        n, c, hwin = _map(_in_shape(graph, node))
        family = "pool.adaptive_max" if a.kind == "max" else "pool.adaptive_avg"
        return KernelCall(family, (n, c, hwin, _prod(a.output_size)))
    if kind is K.ACTIVATION:
        act = _ACTIVATION_FAMILY.get(base)
        return KernelCall(act or "act.other", (numel, inplace), approximate=act is None)
    if kind is K.ELEMENTWISE and not isinstance(a, ir.FoldAttrs):
        sizes = _operand_sizes(graph, node)
        other = min(sizes) if len(sizes) > 1 else 1
        family = "ew.add" if base in _ADD else "ew.mul"
        return KernelCall(
            family, (numel, max(other, 1), inplace), approximate=base not in _ADD | _MUL
        )
    if kind is K.REDUCE and isinstance(a, ir.ReduceAttrs):
        return KernelCall("reduce", (_prod(_in_shape(graph, node)), max(numel, 1)))
    if kind is K.SOFTMAX:
        shape = _in_shape(graph, node)
        width = shape[-1] if shape else 1
        return KernelCall("softmax", (max(_prod(shape) // max(width, 1), 1), width))
    if kind is K.UPSAMPLE and isinstance(a, ir.UpsampleAttrs):
        n, c, hwin = _map(_in_shape(graph, node))
        _, _, hwout = _map(node.outputs[0].shape)
        family = "resize.nearest" if a.mode == "nearest" else "resize.bilinear"
        exact = a.mode in ("nearest", "bilinear") and not a.antialias
        return KernelCall(family, (n, c, hwin, hwout), approximate=not exact)
    if kind is K.PAD:
        return KernelCall("pad", (numel,))
    if kind is K.CAT:
        return KernelCall("cat", (numel, max(len(node.inputs), 1)))
    if kind is K.VIEW:
        return KernelCall("view", (numel,))
    if kind is K.CREATE:
        return KernelCall("create", (numel,))
    if kind is K.COPY and base in ("clone", "contiguous", "_to_copy", "copy"):
        producer = graph.producer.get(node.inputs[0]) if node.inputs else None
        strided = int(
            producer is not None
            and isinstance(producer.attrs, ir.ViewAttrs)
            and producer.attrs.order is not None
        )
        return KernelCall("copy", (numel, strided))
    if kind is K.DROPOUT:
        return KernelCall("view", (numel,), approximate=True)
    # Gathers, scatters, fold, embedding, NMS, RoI align, unknown ops: bytes moved.
    return KernelCall("copy", (max(numel, 1), 0), approximate=True)


@dataclass(frozen=True)
class ApproximatedOp:
    """Ops priced by a family that is not theirs (listed, never silently dropped)."""

    op: str
    count: int
    family: str  # the family that priced them
    layers: tuple[str, ...]


@dataclass(frozen=True)
class LatencyPrediction:
    """Predicted latency of one analysed graph on one target's kernel model (ms)."""

    target: str
    method: str
    calibration: str  # the kernel model's provenance, one line
    device: str
    threads: int
    dtype: str
    batch: int
    kernel_ms: float  # Σ over ops
    module_calls: int
    module_call_us: float
    layer_ms: Mapping[str, float]  # layer path → Σ over its ops
    layer_ops: Mapping[str, int]
    family_ms: Mapping[str, float]  # family → Σ over its ops
    approximated: tuple[ApproximatedOp, ...] = ()
    # node id → µs of its kernels (a conv's input copy included, as in its layer's time)
    node_us: Mapping[int, float] = field(default_factory=dict)
    # The roofline beside the prediction: a lower bound, None without roofline figures.
    roofline_ms: float | None = None
    roofline_layer_ms: Mapping[str, float] = field(default_factory=dict)
    roofline_source: str | None = None
    # The kernel model that priced it, to price hypothetical calls alike (not in the JSON).
    kernels: KernelModel | None = field(default=None, compare=False, repr=False)

    def price_us(self, calls: Sequence[KernelCall], module_calls: int = 0) -> float:
        """Predicted µs of hypothetical kernel calls plus ``module_calls`` module calls on
        the same kernel model (a rewrite's new convs and the container that holds them)."""
        if self.kernels is None:
            raise ValueError("this prediction carries no kernel model")
        return sum(call_us(self.kernels, c) for c in calls) + module_calls * self.module_call_us

    def change_text(self, before_us: float, after_us: float) -> str:
        """A rewrite's predicted effect, as DW003 and ``rewrite`` state it: ``predicted on
        dev: 0.188 ms → 0.241 ms (+28.2%), model 5.87 ms → 5.93 ms (+0.9%)``."""
        model = self.predicted_ms
        after = model + (after_us - before_us) / 1e3
        return (
            f"predicted on {self.target}: {_duration(before_us / 1e3)} → "
            f"{_duration(after_us / 1e3)} ({_change(before_us, after_us)}), model "
            f"{_duration(model)} → {_duration(after)} ({_change(model, after)})"
        )

    @property
    def overhead_ms(self) -> float:
        """Module call overhead: the part of the prediction no layer holds."""
        return self.module_calls * self.module_call_us / 1e3

    @property
    def predicted_ms(self) -> float:
        """End to end: the layers' sum plus the module call overhead."""
        return self.kernel_ms + self.overhead_ms

    def layer_predicted_ms(self, path: str) -> float | None:
        return self.layer_ms.get(path)

    def nodes_ms(self, nodes: Sequence[int]) -> float | None:
        """Σ over these ops (a table row's, folded or not); None when none is priced."""
        times = [self.node_us[n] for n in nodes if n in self.node_us]
        return sum(times) / 1e3 if times else None

    def summary_text(self) -> str:
        roof = (
            f"; roofline lower bound {self.roofline_ms:.3g} ms"
            if self.roofline_ms is not None
            else ""
        )
        return (
            f"{self.predicted_ms:.3g} ms predicted at batch {self.batch} on {self.target} "
            f"({self.device}, {self.threads} thread(s), {self.dtype}; kernels "
            f"{self.kernel_ms:.3g} ms + module calls {self.overhead_ms:.3g} ms){roof}"
        )

    def summary_dict(self) -> dict[str, Any]:
        return {
            "predicted_ms": _r(self.predicted_ms),
            "kernel_ms": _r(self.kernel_ms),
            "module_call_overhead_ms": _r(self.overhead_ms),
            "module_calls": self.module_calls,
            "batch": self.batch,
            "method": self.method,
            "target": self.target,
            "calibration": self.calibration,
            "device": self.device,
            "threads": self.threads,
            "dtype": self.dtype,
            "roofline_lower_bound_ms": _r(self.roofline_ms),
            "roofline_source": self.roofline_source,
            "families_ms": {k: _r(v) for k, v in sorted(self.family_ms.items())},
            "approximated_ops": [
                {"op": a.op, "count": a.count, "priced_as": a.family, "layers": list(a.layers)}
                for a in self.approximated
            ],
        }

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        ms = self.layer_ms.get(path)
        if ms is None:
            return None
        return {
            "predicted_ms": _r(ms),
            "ops": self.layer_ops.get(path, 0),
            "roofline_lower_bound_ms": _r(self.roofline_layer_ms.get(path)),
        }


def _duration(ms: float) -> str:
    return f"{ms:.3g} ms" if ms >= 0.01 else f"{ms * 1e3:.3g} µs"


def _change(before: float, after: float) -> str:
    return fmt.signed_percent(after / before - 1) if before else "n/a"


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _family_for(model: KernelModel, family: str) -> str | None:
    seen = family
    while seen not in model.families:
        nxt = _STAND_IN.get(seen)
        if nxt is None:
            nxt = "act.relu" if seen.startswith("act.") and seen != "act.relu" else "copy"
        if nxt == seen:
            return None
        seen = nxt
    return seen


def _columns_for(call: KernelCall, family: str, node: ir.Node) -> tuple[int, ...]:
    """``call``'s columns for the family that prices it: the same when a stand-in shares
    the layout (``_STAND_IN``, ``act.*``), elements written for ``copy``."""
    if FAMILIES[family].columns == FAMILIES[call.family].columns:
        return call.columns
    return (max(_out_numel(node), 1), 0)


def call_us(model: KernelModel, call: KernelCall) -> float:
    """Predicted µs of one kernel call (a hypothetical one too: a rewrite's depthwise and
    pointwise convs before they exist), by its family or the family standing in for it;
    0.0 when the profile has neither."""
    family = _family_for(model, call.family)
    if family is None:
        return 0.0
    if FAMILIES[family].columns == FAMILIES[call.family].columns:
        columns = call.columns
    else:  # "copy": elements written, taken as the first column (numel) where there is one
        columns = (max(call.columns[0], 1), 0)
    return float(model.predict_us(family, [columns])[0])


def predict(graph: ir.Graph, model: KernelModel, target: str = "custom") -> LatencyPrediction:
    """Every op's predicted time on ``model``'s device, summed per layer and end to end."""
    calls: list[tuple[ir.Node, KernelCall, str | None]] = []
    for node in graph.nodes:
        for call in (*input_copies(graph, node), kernel_call(graph, node)):
            calls.append((node, call, _family_for(model, call.family)))
    # One vectorized prediction per family (the fit is evaluated once per family).
    by_family: dict[str, list[int]] = {}
    rows: dict[str, list[tuple[int, ...]]] = {}
    for i, (node, call, family) in enumerate(calls):
        if family is None:
            continue
        by_family.setdefault(family, []).append(i)
        rows.setdefault(family, []).append(_columns_for(call, family, node))
    us = [0.0] * len(calls)
    for family, idx in by_family.items():
        for i, t in zip(idx, model.predict_us(family, rows[family]), strict=True):
            us[i] = float(t) if math.isfinite(t) else 0.0
    layer_ms: dict[str, float] = {}
    layer_ops: dict[str, int] = {}
    node_us: dict[int, float] = {}  # an op's kernels: its input copies and its own
    family_ms: dict[str, float] = {}
    approx: dict[tuple[str, str], list[str]] = {}
    for (node, call, family), t in zip(calls, us, strict=True):
        node_us[node.id] = node_us.get(node.id, 0.0) + t
        layer_ms[node.module] = layer_ms.get(node.module, 0.0) + t / 1e3
        layer_ops[node.module] = layer_ops.get(node.module, 0) + 1
        key = family or "(none)"
        family_ms[key] = family_ms.get(key, 0.0) + t / 1e3
        if call.approximate or family != call.family:
            approx.setdefault((node.op, key), []).append(node.module or "(root)")
    # A leaf module whose kernel was calibrated through its torch.nn module (conv, linear,
    # norm, pooling, activation) has its call in the sample; every other call is overhead.
    inside = {
        node.module
        for node, call, _ in calls
        if call.family in MODULE_FAMILIES
        and (not isinstance(node.attrs, ir.LinearAttrs) or node.attrs.weight)
    }
    module_calls = sum(m.calls for m in graph.modules if not (m.is_leaf and m.path in inside))
    first = graph.inputs[0].shape if graph.inputs else ()
    prov = model.provenance
    return LatencyPrediction(
        target=target,
        method=METHOD,
        calibration=prov.text,
        device=prov.device,
        threads=prov.threads,
        dtype=prov.dtype,
        batch=int(first[0]) if first else 1,
        kernel_ms=sum(us) / 1e3,
        module_calls=module_calls,
        module_call_us=prov.module_call_us,
        layer_ms=MappingProxyType(layer_ms),
        layer_ops=MappingProxyType(layer_ops),
        family_ms=MappingProxyType(family_ms),
        approximated=tuple(
            ApproximatedOp(op, len(layers), fam, tuple(dict.fromkeys(layers)))
            for (op, fam), layers in sorted(approx.items())
        ),
        node_us=MappingProxyType(node_us),
        kernels=model,
    )
