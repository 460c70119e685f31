"""Which conv layers a rewrite touches and what it will cost, predicted from an Analysis.

Nothing here needs torch: the plan reads the traced graph (:mod:`convscope.ir.graph`) and the
per-layer rows of an :class:`~convscope.analysis.build.Analysis`, and predicts every number with
the closed forms of :mod:`convscope.formulas`. :mod:`convscope.rewriting.verify` later checks
that the rewritten model, traced again, measures *exactly* these numbers.

Conventions
-----------
* **separable**: a dense conv (``groups == 1``, some kernel side > 1, not transposed) with
  ``C_in → C_out`` and kernel ``K`` (``k² = ∏K``) becomes a depthwise conv ``C_in → m·C_in``
  (kernel ``K``, same stride / padding / dilation, no bias) followed by a pointwise conv
  ``m·C_in → C_out`` (that keeps the original bias). Weights ``k²·C_in·C_out`` become
  ``m·k²·C_in + m·C_in·C_out`` (the usual count, e.g. ``k²·C_in + C_in·C_out`` for m = 1).
* **spatialize** (the fix for "the 1×1 convolution trap"): a pointwise conv gets a
  depthwise 3×3 (``padding 1``, ``groups = C_in``, no bias) in front of it. When the 1×1 conv
  has a stride, the stride moves to the depthwise conv (same output, a quarter of the cost
  at stride 2, and the depthwise filter sees every input pixel). Cost: ``3^d·C_in`` weights.
* **savings** = ``1 − MACs_after / MACs_before`` of that layer (negative: the layer costs
  more). ``min_savings`` is a fraction in ``[0, 1)``; 0 disables the filter.
* Layers are module paths, as in ``analyze``; ``only`` takes fnmatch globs (``*`` also
  matches dots) and a glob that matches a container selects the convs inside it.
* **predicted time** (with a :class:`~convscope.targets.latency.LatencyPrediction` of a
  target's kernel model): a layer's convs as traced before, the convs the rewrite builds
  after (depthwise, pointwise, and the call of the ``Sequential`` holding them), summed over
  the layer's calls; the norm and activation after it run unchanged either way. A separable
  layer predicted no faster is skipped with the reason unless ``allow_slower``; spatialize
  adds a conv by design (it buys receptive field, not time), so its times are stated only.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from convscope import formulas as fm
from convscope.analysis.build import Analysis, LayerRow
from convscope.errors import ConvscopeError
from convscope.ir import graph as ir
from convscope.passes.receptive.result import NodeRF
from convscope.passes.receptive.walk import receptive_field
from convscope.targets.latency import LatencyPrediction, separable_calls, spatialize_calls

__all__ = [
    "CONV_TYPES",
    "MODES",
    "ExportError",
    "LayerPlan",
    "Plan",
    "RewriteError",
    "Skipped",
    "VerificationError",
    "make_plan",
    "split_globs",
]

MODES = ("separable", "spatialize")
# Module classes a rewrite can replace (exact types: subclasses may change the forward).
CONV_TYPES = ("Conv1d", "Conv2d", "Conv3d")
SPATIAL_KERNEL = 3  # the depthwise kernel side spatialize inserts


class RewriteError(ConvscopeError):
    """A rewrite cannot be planned or built (bad selection, nothing to rewrite...)."""


class VerificationError(RewriteError):
    """The rewritten model does not measure what the plan predicted: a convscope bug."""


class ExportError(RewriteError):
    """``torch.export`` refused the rewritten model; nothing was written."""


def fraction_saved(before: int, after: int) -> float:
    """``1 − after / before``; negative when it gets more expensive, 0 when ``before`` is 0."""
    return 1.0 - after / before if before else 0.0


@dataclass(frozen=True)
class LayerPlan:
    """One conv layer to rewrite and its predicted cost before → after.

    ``params_*`` count weights and biases of that layer; ``macs_*`` sum over every call of
    the module (a shared module runs more than once). ``weight_error`` is filled in when
    the rewrite is built: ``‖W − Ŵ‖_F / ‖W‖_F`` of the separable approximation (``None``
    for spatialize, and for ``frozen_spatial`` where the filters are random, not fitted).
    ``rf_*`` are receptive-field sizes (input pixels per axis) of the layer's output, in
    the original and the rewritten model (spatialize only).
    """

    path: str
    mode: str
    conv_type: str
    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    has_bias: bool
    multiplier: int
    calls: int
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    trainable_before: int  # parameters with requires_grad (weights and bias)
    trainable_after: int  # frozen_spatial freezes the depthwise weights
    frozen_spatial: bool = False
    move_stride: bool = False  # spatialize: the 1×1 conv's stride moves to the depthwise
    weight_error: float | None = None
    rf_before: tuple[int, ...] | None = None
    rf_after: tuple[int, ...] | None = None
    rf_stride: tuple[float, ...] | None = None  # effective stride at the layer's input
    # Predicted µs on the target's kernel model (None without one), summed over the calls.
    predicted_us_before: float | None = None
    predicted_us_after: float | None = None

    @property
    def savings(self) -> float:
        """``1 − MACs_after / MACs_before``; negative when the layer gets more expensive."""
        return fraction_saved(self.macs_before, self.macs_after)

    @property
    def param_savings(self) -> float:
        return fraction_saved(self.params_before, self.params_after)

    @property
    def now(self) -> str:
        """The layer as it is, e.g. ``Conv2d 256→256 3×3 /2``."""
        return f"{self.conv_type} {self.in_channels}→{self.out_channels} {_k(self.kernel)}" + (
            f" s{_side(self.stride)}" if any(s != 1 for s in self.stride) else ""
        )

    @property
    def proposed(self) -> str:
        """What it becomes, e.g. ``dw 3×3 (×1) + pw 256→256``."""
        if self.mode == "separable":
            mid = self.in_channels * self.multiplier
            mult = f" ×{self.multiplier}" if self.multiplier != 1 else ""
            frozen = " frozen" if self.frozen_spatial else ""
            return f"dw {_k(self.kernel)}{mult}{frozen} + pw {mid}→{self.out_channels}"
        side = (SPATIAL_KERNEL,) * len(self.kernel)
        frozen = " frozen" if self.frozen_spatial else ""
        stride = f" s{_side(self.stride)}" if self.move_stride else ""
        return f"dw {_k(side)}{stride}{frozen} + {self.conv_type} 1×1"

    @property
    def frozen_params_after(self) -> int:
        return self.params_after - self.trainable_after

    @property
    def rf_gain(self) -> tuple[int, ...] | None:
        if self.rf_before is None or self.rf_after is None:
            return None
        return tuple(a - b for a, b in zip(self.rf_after, self.rf_before, strict=True))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "mode": self.mode,
            "now": self.now,
            "proposed": self.proposed,
            "conv_type": self.conv_type,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel": list(self.kernel),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "bias": self.has_bias,
            "multiplier": self.multiplier,
            "calls": self.calls,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "macs_before": self.macs_before,
            "macs_after": self.macs_after,
            "trainable_before": self.trainable_before,
            "trainable_after": self.trainable_after,
            "savings": self.savings,
            "param_savings": self.param_savings,
            "frozen_spatial": self.frozen_spatial,
            "move_stride": self.move_stride,
            "weight_error": self.weight_error,
            "rf_before": list(self.rf_before) if self.rf_before else None,
            "rf_after": list(self.rf_after) if self.rf_after else None,
            "rf_stride": list(self.rf_stride) if self.rf_stride else None,
        }
        if self.predicted_us_before is not None:  # only with a target's kernel model
            out["predicted_us_before"] = _r(self.predicted_us_before)
            out["predicted_us_after"] = _r(self.predicted_us_after)
        return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


@dataclass(frozen=True)
class Skipped:
    """A conv layer the selection reached but the rewrite leaves alone, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The whole rewrite: selected layers, skipped ones, and whole-model totals."""

    model: str
    mode: str
    multiplier: int
    frozen_spatial: bool
    min_savings: float
    only: tuple[str, ...]
    layers: tuple[LayerPlan, ...]
    skipped: tuple[Skipped, ...]
    params_before: int  # whole model, as analyze measured it
    macs_before: int
    trainable_before: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The target whose kernel model priced the layers, and its end-to-end prediction (ms).
    latency_target: str | None = None
    predicted_ms_before: float | None = None
    allow_slower: bool = False

    @property
    def predicted_ms_after(self) -> float | None:
        """The model's predicted time with every planned layer rewritten."""
        if self.predicted_ms_before is None:
            return None
        delta = sum(
            (p.predicted_us_after or 0.0) - (p.predicted_us_before or 0.0) for p in self.layers
        )
        return self.predicted_ms_before + delta / 1e3

    @property
    def params_after(self) -> int:
        return self.params_before + sum(p.params_after - p.params_before for p in self.layers)

    @property
    def macs_after(self) -> int:
        return self.macs_before + sum(p.macs_after - p.macs_before for p in self.layers)

    @property
    def trainable_after(self) -> int:
        return self.trainable_before + sum(
            p.trainable_after - p.trainable_before for p in self.layers
        )

    @property
    def savings(self) -> float:
        return fraction_saved(self.macs_before, self.macs_after)

    @property
    def param_savings(self) -> float:
        return fraction_saved(self.params_before, self.params_after)

    def with_errors(self, errors: Mapping[str, float | None]) -> Plan:
        """A copy whose layers carry the measured weight approximation errors."""
        layers = tuple(
            replace(p, weight_error=errors.get(p.path, p.weight_error)) for p in self.layers
        )
        return replace(self, layers=layers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "mode": self.mode,
            "multiplier": self.multiplier,
            "frozen_spatial": self.frozen_spatial,
            "min_savings": self.min_savings,
            "only": list(self.only),
            "layers": [p.to_dict() for p in self.layers],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "totals": {
                "params_before": self.params_before,
                "params_after": self.params_after,
                "macs_before": self.macs_before,
                "macs_after": self.macs_after,
                "trainable_before": self.trainable_before,
                "trainable_after": self.trainable_after,
                "savings": self.savings,
                "param_savings": self.param_savings,
                "rewritten_params_before": sum(p.params_before for p in self.layers),
                "rewritten_params_after": sum(p.params_after for p in self.layers),
                "rewritten_macs_before": sum(p.macs_before for p in self.layers),
                "rewritten_macs_after": sum(p.macs_after for p in self.layers),
            },
            "notes": list(self.notes),
        }
        if self.latency_target is not None:  # only with a target's kernel model
            out["totals"]["predicted_ms_before"] = _r(self.predicted_ms_before)
            out["totals"]["predicted_ms_after"] = _r(self.predicted_ms_after)
            out["latency_target"] = self.latency_target
            out["allow_slower"] = self.allow_slower
        return out


# --------------------------------------------------------------------------- helpers


def _k(values: Sequence[int]) -> str:
    return "×".join(str(v) for v in values)


def _side(values: Sequence[int]) -> str:
    """``(2, 2)`` → ``"2"``, ``(2, 1)`` → ``"2×1"``."""
    return str(values[0]) if len(set(values)) == 1 else _k(values)


def split_globs(only: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"a.*,b"`` or ``["a.*", "b"]`` → ``("a.*", "b")``; commas separate globs too."""
    if only is None:
        return ()
    items = [only] if isinstance(only, str) else list(only)
    out: list[str] = []
    for item in items:
        out.extend(g.strip() for g in str(item).split(",") if g.strip())
    return tuple(dict.fromkeys(out))


def _matches(path: str, glob: str) -> bool:
    """``path`` or one of its ancestors matches ``glob`` (fnmatch, case-sensitive)."""
    parts = path.split(".") if path else [""]
    return any(fnmatch.fnmatchcase(".".join(parts[:i]), glob) for i in range(1, len(parts) + 1))


@dataclass(frozen=True)
class _ConvLayer:
    row: LayerRow
    nodes: tuple[ir.Node, ...]  # the row's conv nodes (one per call)
    attrs: ir.ConvAttrs


def _conv_layers(analysis: Analysis) -> list[_ConvLayer]:
    """Rows that run at least one convolution, in execution order of their first conv."""
    by_id = {n.id: n for n in analysis.graph.nodes}
    out: list[_ConvLayer] = []
    for row in analysis.rows:
        convs = tuple(
            by_id[i]
            for i in row.nodes
            if by_id[i].kind is ir.OpKind.CONV and isinstance(by_id[i].attrs, ir.ConvAttrs)
        )
        if convs:
            attrs = convs[0].attrs
            assert isinstance(attrs, ir.ConvAttrs)
            out.append(_ConvLayer(row, convs, attrs))
    out.sort(key=lambda c: c.nodes[0].id)
    return out


def _batch_spatial(shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    return shape[0], shape[2:]


def _ineligible(layer: _ConvLayer, analysis: Analysis, mode: str) -> str | None:
    """Why this conv layer cannot be rewritten in ``mode`` (None when it can)."""
    row, a = layer.row, layer.attrs
    if row.type_name not in CONV_TYPES:
        return f"{row.type_name} is not a plain Conv1d/Conv2d/Conv3d module"
    if any(n.attrs != a for n in layer.nodes):
        return "its calls use different convolution settings"
    if not row.path:
        return "the model itself is the conv (wrap it in a module to rewrite it)"
    name = f"{row.path}.weight"
    weight = analysis.graph.param.get(name)
    if weight is None or not all(weight.name in n.params for n in layer.nodes):
        return "its weight is not a parameter of the module"
    if weight.name != name or weight.aliases:
        return "its weight is shared with another module"
    expected = fm.conv_params(a.in_channels, a.out_channels, a.kernel, a.groups, a.has_bias)
    if row.params != expected:
        return "the module holds parameters besides the conv's weight and bias"
    if a.transposed:
        return "transposed conv"
    if mode == "separable":
        if a.groups != 1:
            kind = "depthwise" if a.is_depthwise else f"grouped (groups={a.groups})"
            return f"already {kind}"
        if a.is_pointwise:
            return "pointwise (1×1): nothing spatial to factor (see --mode spatialize)"
    else:
        if not a.is_pointwise:
            return f"not a 1×1 conv (kernel {_k(a.kernel)})"
        if any(p != 0 for p in a.padding):
            return "1×1 conv with padding"
    return None


def _trainable(analysis: Analysis, path: str, name: str) -> bool:
    owner = analysis.graph.param.get(f"{path}.{name}")
    return owner is not None and owner.trainable


def _separable_layer(
    analysis: Analysis, layer: _ConvLayer, multiplier: int, frozen: bool
) -> LayerPlan:
    a, row = layer.attrs, layer.row
    mid = a.in_channels * multiplier
    ones = (1,) * len(a.kernel)
    macs_before = macs_after = 0
    for n in layer.nodes:
        batch, spatial = _batch_spatial(n.outputs[0].shape)
        macs_before += fm.conv_macs(batch, a.in_channels, a.out_channels, a.kernel, spatial, 1)
        macs_after += fm.conv_macs(batch, a.in_channels, mid, a.kernel, spatial, a.in_channels)
        macs_after += fm.conv_macs(batch, mid, a.out_channels, ones, spatial, 1)
    bias = a.out_channels if a.has_bias else 0
    dense = fm.conv_params(a.in_channels, a.out_channels, a.kernel, 1, bias=False)
    dw = fm.conv_params(a.in_channels, mid, a.kernel, a.in_channels, bias=False)
    pw = fm.conv_params(mid, a.out_channels, ones, 1, bias=False)
    w_train = _trainable(analysis, row.path, "weight")
    b_train = bias if _trainable(analysis, row.path, "bias") else 0
    return LayerPlan(
        path=row.path,
        mode="separable",
        conv_type=row.type_name,
        in_channels=a.in_channels,
        out_channels=a.out_channels,
        kernel=a.kernel,
        stride=a.stride,
        padding=a.padding,
        dilation=a.dilation,
        has_bias=a.has_bias,
        multiplier=multiplier,
        calls=len(layer.nodes),
        params_before=dense + bias,
        params_after=fm.separable_params(a.in_channels, a.out_channels, a.kernel, multiplier)
        + bias,
        macs_before=macs_before,
        macs_after=macs_after,
        trainable_before=(dense if w_train else 0) + b_train,
        trainable_after=(((0 if frozen else dw) + pw) if w_train else 0) + b_train,
        frozen_spatial=frozen,
    )


def _spatialize_layer(analysis: Analysis, layer: _ConvLayer, frozen: bool) -> LayerPlan:
    a, row = layer.attrs, layer.row
    side = (SPATIAL_KERNEL,) * len(a.kernel)
    macs_before = macs_extra = 0
    for n in layer.nodes:
        batch, spatial = _batch_spatial(n.outputs[0].shape)
        macs_before += fm.conv_macs(
            batch, a.in_channels, a.out_channels, a.kernel, spatial, a.groups
        )
        # The depthwise conv (padding 1, the 1×1 conv's stride) has the 1×1 conv's output size.
        macs_extra += fm.conv_macs(
            batch, a.in_channels, a.in_channels, side, spatial, a.in_channels
        )
    weight = fm.conv_params(a.in_channels, a.out_channels, a.kernel, a.groups, bias=False)
    bias = a.out_channels if a.has_bias else 0
    dw = fm.conv_params(a.in_channels, a.in_channels, side, a.in_channels, bias=False)
    trainable = (weight if _trainable(analysis, row.path, "weight") else 0) + (
        bias if _trainable(analysis, row.path, "bias") else 0
    )
    return LayerPlan(
        path=row.path,
        mode="spatialize",
        conv_type=row.type_name,
        in_channels=a.in_channels,
        out_channels=a.out_channels,
        kernel=a.kernel,
        stride=a.stride,
        padding=a.padding,
        dilation=a.dilation,
        has_bias=a.has_bias,
        multiplier=1,
        calls=len(layer.nodes),
        params_before=weight + bias,
        params_after=weight + bias + dw,
        macs_before=macs_before,
        macs_after=macs_before + macs_extra,
        trainable_before=trainable,
        trainable_after=trainable + (0 if frozen else dw),
        frozen_spatial=frozen,
        move_stride=any(s != 1 for s in a.stride),
    )


def _before_first_spatial(analysis: Analysis, layers: Sequence[_ConvLayer]) -> set[str]:
    """Paths of the 1×1 convs that run before the first op with a spatial extent."""
    first = None
    for n in analysis.graph.nodes:
        a = n.attrs
        if (isinstance(a, ir.ConvAttrs) and not a.is_pointwise) or (
            isinstance(a, ir.PoolAttrs) and any(k > 1 for k in a.kernel)
        ):
            first = n.id
            break
    return {
        layer.row.path
        for layer in layers
        if layer.attrs.is_pointwise and (first is None or layer.nodes[0].id < first)
    }


# --------------------------------------------------------------------------- receptive field


def _grown(graph: ir.Graph, nodes: Iterable[int], side: int) -> ir.Graph:
    """``graph`` with the given 1×1 convs widened to ``side``×``side`` (same padding).

    For the receptive field, a stride-1 depthwise k×k in front of a 1×1 conv, or one that
    takes over the 1×1's stride, is exactly the 1×1 grown to k×k: both add ``(k − 1)·S_in``
    and then multiply the stride by ``s``; output sizes are unchanged for odd k. So the
    rewritten model's RF comes from the one receptive-field pass, run on this graph.
    """
    chosen = set(nodes)
    new_nodes = []
    for n in graph.nodes:
        a = n.attrs
        if n.id in chosen and isinstance(a, ir.ConvAttrs):
            grown = replace(
                a,
                kernel=(side,) * len(a.kernel),
                padding=tuple(p + side // 2 for p in a.padding),
            )
            n = replace(n, attrs=grown)
        new_nodes.append(n)
    return replace(graph, nodes=tuple(new_nodes))


def _sizes(rf: NodeRF) -> tuple[int, ...]:
    return tuple(round(s) for s in rf.size)


def _with_rf(
    analysis: Analysis, layers: list[LayerPlan], convs: Mapping[str, _ConvLayer]
) -> list[LayerPlan]:
    """``layers`` with the RF of each layer's output before and after spatialize."""
    graph = analysis.graph
    calls = [n.id for p in layers for n in convs[p.path].nodes]
    before = receptive_field(graph)
    after = receptive_field(_grown(graph, calls, SPATIAL_KERNEL))
    out = []
    for p in layers:
        node = convs[p.path].nodes[0]
        rb, ra = before.per_layer.get(p.path), after.per_layer.get(p.path)
        at_input = before.per_tensor.get(node.inputs[0]) if node.inputs else None
        out.append(
            replace(
                p,
                rf_before=_sizes(rb) if rb is not None else None,
                rf_after=_sizes(ra) if ra is not None else None,
                rf_stride=tuple(float(s) for s in at_input.stride) if at_input else None,
            )
        )
    return out


# --------------------------------------------------------------------------- predicted time


def _priced(
    p: LayerPlan, layer: _ConvLayer, graph: ir.Graph, latency: LatencyPrediction
) -> LayerPlan:
    """``p`` with the predicted time of its convs before and after the rewrite."""
    before = sum(latency.node_us.get(n.id, 0.0) for n in layer.nodes)
    after = 0.0
    for n in layer.nodes:
        calls = (
            separable_calls(graph, n, p.multiplier)
            if p.mode == "separable"
            else spatialize_calls(graph, n, SPATIAL_KERNEL)
        )
        after += latency.price_us(calls, module_calls=1)  # + the Sequential holding them
    return replace(p, predicted_us_before=before, predicted_us_after=after)


def slower_reason(p: LayerPlan, latency: LatencyPrediction) -> str:
    """Why a separable layer is not planned: its predicted times, the model's, and how to
    plan it anyway."""
    before, after = p.predicted_us_before or 0.0, p.predicted_us_after or 0.0
    return (
        f"no faster than the dense conv, {latency.change_text(before, after)}; "
        "--allow-slower plans it anyway"
    )


# --------------------------------------------------------------------------- entry point


def make_plan(
    analysis: Analysis,
    *,
    mode: str = "separable",
    only: str | Iterable[str] | None = None,
    multiplier: int = 1,
    min_savings: float = 0.0,
    frozen_spatial: bool = False,
    layers: Iterable[str] | None = None,
    latency: LatencyPrediction | None = None,
    allow_slower: bool = False,
) -> Plan:
    """Select the conv layers to rewrite and predict their cost.

    ``only``: fnmatch globs on module paths (a string may hold several, comma-separated);
    every glob must match some layer. ``layers``: exact paths (e.g. from DW003 findings),
    combined with ``only`` when both are given. Without either, separable mode considers
    every conv and spatialize the 1×1 convs that run before the first spatial op.
    ``latency`` (a prediction carrying its kernel model) prices every layer before and
    after; a separable layer predicted no faster is skipped with the reason, selected or
    not, unless ``allow_slower``. Raises :class:`RewriteError` when a glob matches nothing
    or no layer is left to rewrite (the message gives the skipped layers' reasons).
    """
    if latency is not None and latency.kernels is None:
        raise RewriteError("the latency prediction carries no kernel model to price a rewrite")
    if mode not in MODES:
        raise RewriteError(f"unknown rewrite mode '{mode}' (use {' or '.join(MODES)})")
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) or multiplier < 1:
        raise RewriteError(f"multiplier must be a positive integer, got {multiplier!r}")
    if mode == "spatialize" and multiplier != 1:
        raise RewriteError("--multiplier applies to separable mode only")
    if not 0.0 <= min_savings < 1.0:
        raise RewriteError(f"min_savings must be a fraction in [0, 1), got {min_savings}")
    globs = split_globs(only)
    exact = tuple(dict.fromkeys(layers)) if layers is not None else None

    paths = [r.path for r in analysis.rows] + [m.path for m in analysis.graph.modules]
    for g in globs:
        if not any(_matches(p, g) for p in paths if p):
            raise RewriteError(
                f"no layer matches '{g}' (module paths look like '{_example_path(analysis)}')"
            )
    if exact is not None:
        unknown = [p for p in exact if p not in paths]
        if unknown:
            raise RewriteError(f"no layer named '{unknown[0]}' in {analysis.model}")

    convs = _conv_layers(analysis)
    if globs or exact is not None:

        def chosen(path: str) -> bool:
            by_glob = not globs or any(_matches(path, g) for g in globs)
            return by_glob and (exact is None or path in exact)

        reached = [c for c in convs if chosen(c.row.path)]
        implicit = False
    elif mode == "spatialize":
        early = _before_first_spatial(analysis, convs)
        reached = [c for c in convs if c.row.path in early]
        implicit = True
    else:
        reached, implicit = convs, True

    planned: list[LayerPlan] = []
    skipped: list[Skipped] = []
    for c in reached:
        reason = _ineligible(c, analysis, mode)
        if reason is not None:
            # Without a selection, depthwise and 1×1 convs are simply not candidates.
            if not (
                implicit and mode == "separable" and (c.attrs.is_pointwise or c.attrs.groups > 1)
            ):
                skipped.append(Skipped(c.row.path, reason))
            continue
        p = (
            _separable_layer(analysis, c, multiplier, frozen_spatial)
            if mode == "separable"
            else _spatialize_layer(analysis, c, frozen_spatial)
        )
        if mode == "separable" and min_savings > 0 and p.savings < min_savings:
            skipped.append(
                Skipped(
                    c.row.path,
                    f"saves {100 * p.savings:.1f}% of its MACs, "
                    f"below --min-savings {100 * min_savings:g}%",
                )
            )
            continue
        if latency is not None:
            p = _priced(p, c, analysis.graph, latency)
            slower = (p.predicted_us_after or 0.0) >= (p.predicted_us_before or 0.0)
            if mode == "separable" and slower and not allow_slower:
                skipped.append(Skipped(c.row.path, slower_reason(p, latency)))
                continue
        planned.append(p)

    if not planned:
        raise RewriteError(_nothing_message(analysis, mode, globs, reached, skipped))

    if mode == "spatialize":
        planned = _with_rf(analysis, planned, {c.row.path: c for c in reached})

    notes: list[str] = []
    if frozen_spatial:
        notes.append(
            "frozen spatial filters: depthwise weights are random (kaiming normal) and "
            "frozen (requires_grad=False), the 'channels-only' recipe; the pointwise "
            "weights start fresh, so the model must be trained again"
        )
    elif mode == "spatialize":
        notes.append(
            "the depthwise 3×3 starts as the identity (centre tap 1): the model "
            "computes the same function until it is trained"
        )
    t = analysis.totals
    return Plan(
        model=analysis.model,
        mode=mode,
        multiplier=multiplier,
        frozen_spatial=frozen_spatial,
        min_savings=min_savings,
        only=globs,
        layers=tuple(planned),
        skipped=tuple(skipped),
        params_before=t.params,
        macs_before=t.macs,
        trainable_before=t.trainable_params,
        notes=tuple(notes),
        latency_target=latency.target if latency is not None else None,
        predicted_ms_before=latency.predicted_ms if latency is not None else None,
        allow_slower=allow_slower,
    )


def _example_path(analysis: Analysis) -> str:
    for r in analysis.rows:
        if r.path and r.type_name in CONV_TYPES:
            return r.path
    return next((r.path for r in analysis.rows if r.path), "(root)")


def _nothing_message(
    analysis: Analysis,
    mode: str,
    globs: Sequence[str],
    reached: Sequence[_ConvLayer],
    skipped: Sequence[Skipped],
) -> str:
    where = f" matching {', '.join(repr(g) for g in globs)}" if globs else ""
    if not reached:
        what = "dense conv" if mode == "separable" else "1×1 conv"
        return f"no layer to rewrite: no {what}{where} in {analysis.model}"
    first = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
    more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"no layer to rewrite{where}: {first}{more}"
