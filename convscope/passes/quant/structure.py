"""Quantization fragility from the weights alone.

Depthwise-heavy models collapse under per-tensor INT8 because the per-output-channel
weight ranges *after BatchNorm folding* differ by orders of magnitude (Nagel et al. 2019,
"Data-Free Quantization", §3.1; Sheng et al. 2018), not because of their small accumulation
length. This pass measures what that costs, per conv / linear layer: how many channels one
per-tensor scale leaves with too few effective bits.

Formulas (``o`` is an output channel, ``W[o]`` its weights, ``R = max_o r_o``):

* **BatchNorm folding** (inference): a BatchNorm whose input comes straight from a conv or
  linear layer (views aside) that feeds nothing else folds into it with the fold factor
  ``f_o = γ_o / sqrt(var_o + eps)``: ``W_fold[o] = f_o · W[o]`` and
  ``b_fold[o] = (b_o − mean_o) · f_o + β_o`` (``γ = 1, β = 0`` for a non-affine BN,
  ``b = 0`` for a conv without bias). Every figure below is taken on ``W_fold``.
* **channel range** ``r_o = max |W_fold[o]|``; **range spread** ``R / lower-median_o r_o``.
  Every median here is the *lower median*, the ``⌈n/2⌉``-th smallest value: a real
  channel's, never the mean of the two middle ones.
* **per-tensor symmetric INT8**: ``q(w) = s · clamp(round(w / s), −127, 127)`` with one
  scale ``s = R / 127`` (narrow range, zero point 0); **per-channel**: ``s_o = r_o / 127``.
* **effective bits** of output channel ``o`` under the per-tensor scale:
  ``b_o = log2(2 · m_o + 1)`` with ``m_o = max |round(W_fold[o] / s)| = round(r_o / s)``
  (clamped to ``qmax``; rounding half to even, as the fake quantizers do): the log of the
  number of grid levels ``−m_o … m_o`` its weights can take. 0 bits when every weight of
  the channel rounds to zero, ``log2(255) = 7.99`` for the channel that sets ``R``; a
  channel with ``r_o = R / 10`` keeps ``log2(2 · 13 + 1) = 4.75`` bits.
* **starved channels**: output channels with ``b_o < min_bits`` (default 4). Their share is
  a count over real channels, so it sees damage a max/median ratio is blind to: with up to
  half the channels starved the median channel is a healthy one.
* **input-channel bits** of a non-depthwise conv / linear layer under per-output-channel
  scales ``s_o = r_o / qmax``: ``log2(2 · m_i + 1)``, ``m_i = max_o |round(W[o, i] / s_o)|``.
  An input channel whose every weight is small stays starved whatever the output-channel
  scales are: per-channel quantization cannot fix it, cross-layer equalization with the
  layer before can.
* **weight SQNR** (dB) ``= 10 · log10(‖W_fold‖² / ‖W_fold − q(W_fold)‖²)``, with ``q`` the
  per-tensor or per-channel fake quantizer (``torch.fake_quantize_per_tensor_affine`` /
  ``torch.fake_quantize_per_channel_affine``); infinite when quantization is exact. The
  whole-tensor figure is dominated by the largest channels, so the median over channels of
  each channel's own SQNR (``‖W[o]‖² / ‖W[o] − q(W)[o]‖²``) is reported as well.
* **accumulation length** ``prod(kernel) · C_in / groups`` (``K² · C_in / groups``) for a
  conv, the input features for a linear layer: context only.
* **fold-factor ratio** ``max_o |f_o| / lower-median_o |f_o|``: how much the BatchNorm alone
  inflates the largest channels relative to the typical one. Channels with
  ``|γ_o| < gamma_eps`` are *dead* (the BN outputs the constant ``β_o``); channels with
  ``var_o < var_eps`` are *constant* (the layer's output channel did not vary on the data
  the statistics saw, so ``f_o = γ_o / sqrt(eps)`` blows its folded weights up to
  ``1/sqrt(eps) ≈ 316`` times).
* **cross-layer equalization** (Nagel et al. 2019, §4.1) for ``layer 1 → (BN) →
  activation → layer 2``: scaling output channel ``i`` of layer 1 by ``1/s_i`` and input
  channel ``i`` of layer 2 by ``s_i`` leaves the function unchanged for a positively
  homogeneous activation (ReLU, leaky ReLU, PReLU, none; not ReLU6, whose clip point would
  move). With ``r1_i`` the output-channel range of layer 1 and ``r2_i`` the input-channel
  range of layer 2, the ranges become ``r1_i / s_i`` and ``r2_i · s_i``; making them equal
  gives ``s_i = (1 / r2_i) · sqrt(r1_i · r2_i) = sqrt(r1_i / r2_i)`` and both equal
  ``sqrt(r1_i · r2_i)``.

This module never imports torch at import time: the structure (which conv folds which
BatchNorm, which layer pairs can be equalized) is found on the frozen IR, and the numbers
come from :mod:`convscope.passes.quant.numeric`, imported when weights are given. Without weights
the report carries a ``skipped_reason`` and no numbers. Nothing is mutated.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.ir.text import describe, op_name

if TYPE_CHECKING:
    pass

DEFAULT_BN_EPS = 1e-5

K = ir.OpKind
# Ops that scale each channel independently and commute with a positive per-channel scale,
# so a cross-layer-equalization pair may pass through them.
_EQUIVARIANT = frozenset({K.VIEW, K.DROPOUT, K.COPY, K.POOL, K.ADAPTIVE_POOL})


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class QuantOptions:
    """Thresholds of the quantization pass (the lint rules carry their own copies, with the
    same defaults, so ``analyze --quant`` and ``lint`` agree unless a config moves them).

    ``min_bits`` 4 and ``max_starved_share`` 0.05: on trained depthwise-separable CNNs the
    layers whose per-tensor quantization alone moved the logits by 30–170 % had 97–99 % of
    their channels below 4 bits, healthy layers at most 3 %, and 8 of 128 starved channels
    (6 %) already cost 22 % logit error (``benchmarks/quant_trained.py``).
    ``outlier_ratio`` 3.5 at ``outlier_percentile`` 0.975 are the defaults of PyTorch's
    ``torch.ao.quantization`` ModelReport ``OutlierDetector``.
    """

    bits: int = 8
    min_bits: float = 4.0
    max_starved_share: float = 0.05
    gamma_eps: float = 1e-6
    var_eps: float = 1e-8
    outlier_ratio: float = 3.5
    outlier_percentile: float = 0.975

    @property
    def qmax(self) -> int:
        """Largest level of the symmetric narrow-range grid: 127 for 8 bits."""
        return 2 ** (self.bits - 1) - 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "scheme": f"symmetric, levels [-{self.qmax}, {self.qmax}], zero point 0",
            "min_bits": self.min_bits,
            "max_starved_share": self.max_starved_share,
            "gamma_eps": self.gamma_eps,
            "var_eps": self.var_eps,
            "outlier_ratio": self.outlier_ratio,
            "outlier_percentile": self.outlier_percentile,
        }


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class BatchNormSite:
    """A BatchNorm that folds into the layer before it, with the names of its tensors."""

    node: ir.Node
    path: str
    gamma: str | None  # None for a non-affine BatchNorm (γ = 1, β = 0)
    beta: str | None
    mean: str
    var: str


@dataclass(frozen=True)
class LayerSite:
    """A conv or linear layer with a stored weight, and the BatchNorm folded into it."""

    node: ir.Node
    path: str
    kind: str  # "conv" or "linear"
    weight: str
    bias: str | None
    conv: ir.ConvAttrs | None
    out_channels: int
    in_channels: int
    groups: int
    accumulation: int
    description: str
    bn: BatchNormSite | None
    bn_note: str | None  # why a following BatchNorm does not fold, when one exists


@dataclass(frozen=True)
class PairSite:
    """``first → (BN) → activation → second``: a cross-layer-equalization candidate."""

    first: LayerSite
    second: LayerSite
    activation: str  # "none", "relu", "relu6", "leaky_relu", "prelu"

    @property
    def needs_relu(self) -> bool:
        """ReLU6 (a clipped ReLU) is not scale-equivariant: replace it by ReLU first."""
        return self.activation == "relu6"


_HOMOGENEOUS = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "prelu": "prelu",
    "_prelu_kernel": "prelu",
    "hardtanh": "relu6",
    "relu6": "relu6",
}


def _weight_and_bias(
    graph: ir.Graph, node: ir.Node, out_channels: int
) -> tuple[str | None, str | None]:
    weight = bias = None
    for name in node.params:
        owner = graph.param.get(name)
        if owner is None or owner.is_buffer:
            continue
        if weight is None and len(owner.shape) >= 2:
            weight = name
        elif bias is None and owner.shape == (out_channels,):
            bias = name
    return weight, bias


def _bn_site(graph: ir.Graph, node: ir.Node) -> BatchNormSite | str:
    """The tensor names of a BatchNorm node, or why it cannot fold."""
    a = node.attrs
    if not isinstance(a, ir.NormAttrs) or a.kind != "batch":
        return "not a BatchNorm"
    params: list[str] = []
    buffers: list[str] = []
    for name in node.params:
        owner = graph.param.get(name)
        if owner is None:
            continue
        (buffers if owner.is_buffer else params).append(name)
    mean = next((b for b in buffers if b.endswith("running_mean")), None)
    var = next((b for b in buffers if b.endswith("running_var")), None)
    if (mean is None or var is None) and len(buffers) == 2:
        mean, var = buffers
    if mean is None or var is None:
        return "the BatchNorm keeps no running statistics (track_running_stats=False)"
    gamma = next((p for p in params if p.endswith("weight")), None)
    beta = next((p for p in params if p.endswith("bias")), None)
    if (gamma is None or beta is None) and len(params) == 2:
        gamma, beta = params
    return BatchNormSite(node=node, path=node.module, gamma=gamma, beta=beta, mean=mean, var=var)


def find_layers(graph: ir.Graph) -> tuple[tuple[LayerSite, ...], tuple[tuple[str, str], ...]]:
    """Every conv / linear layer that reads a stored weight, with its foldable BatchNorm.

    Returns the sites (first use of each weight, in execution order) and the layers that
    were left out, with the reason.
    """
    flow = Flow(graph)
    bn_for: dict[int, BatchNormSite | str] = {}
    for node in graph.nodes:
        if node.kind is not K.NORM or not isinstance(node.attrs, ir.NormAttrs):
            continue
        if node.attrs.kind != "batch":
            continue
        src = flow.source(node)
        if src is None or src.kind not in (K.CONV, K.LINEAR):
            continue
        site = _bn_site(graph, node)
        if not src.outputs:
            continue
        readers = flow.consumers(src)
        if isinstance(site, BatchNormSite) and (
            [r.id for r in readers] != [node.id] or flow.reaches_output(src)
        ):
            site = "the layer's output is also read by another op, so the BatchNorm cannot fold"
        bn_for.setdefault(src.id, site)

    sites: list[LayerSite] = []
    skipped: list[tuple[str, str]] = []
    seen_weights: set[str] = set()
    for node in graph.nodes:
        a = node.attrs
        if node.kind is K.CONV and isinstance(a, ir.ConvAttrs):
            out_c, in_c, groups = a.out_channels, a.in_channels, a.groups
            acc = math.prod(a.kernel) * (in_c // max(groups, 1))
            conv: ir.ConvAttrs | None = a
            kind = "conv"
        elif node.kind is K.LINEAR and isinstance(a, ir.LinearAttrs) and a.weight:
            out_c, in_c, groups, acc, conv, kind = a.n, a.k, 1, a.k, None, "linear"
        else:
            continue
        path = node.module or "(root)"
        weight, bias = _weight_and_bias(graph, node, out_c)
        if weight is None:
            skipped.append((path, "the weight is computed in forward, not a stored parameter"))
            continue
        owner = graph.param[weight]
        if owner.name in seen_weights:
            continue  # a shared module: its weight is analysed once
        seen_weights.add(owner.name)
        bn = bn_for.get(node.id)
        sites.append(
            LayerSite(
                node=node,
                path=node.module,
                kind=kind,
                weight=weight,
                bias=bias,
                conv=conv,
                out_channels=out_c,
                in_channels=in_c,
                groups=groups,
                accumulation=acc,
                description=describe(node),
                bn=bn if isinstance(bn, BatchNormSite) else None,
                bn_note=bn if isinstance(bn, str) else None,
            )
        )
    return tuple(sites), tuple(skipped)


def find_pairs(graph: ir.Graph, sites: Sequence[LayerSite]) -> tuple[PairSite, ...]:
    """Layer pairs that cross-layer equalization can rescale: ``first`` (and its folded
    BatchNorm) feeds, through at most one positively homogeneous activation (or ReLU6) and
    channel-wise ops (views, dropout, pooling), a single conv / linear ``second`` whose
    input channels are ``first``'s output channels. No intermediate tensor may have a second
    reader or be a model output."""
    flow = Flow(graph)
    by_node = {s.node.id: s for s in sites}
    pairs: list[PairSite] = []
    for first in sites:
        if first.conv is not None and first.conv.transposed:
            continue
        at = first.bn.node if first.bn is not None else first.node
        if not at.outputs:
            continue
        activation = "none"
        second: LayerSite | None = None
        for _ in range(len(graph.nodes)):
            if flow.reaches_output(at):
                break
            readers = flow.consumers(at)
            if len(readers) != 1:
                break
            nxt = readers[0]
            if nxt.kind is K.ACTIVATION:
                kind = _HOMOGENEOUS.get(op_name(nxt).rstrip("_"))
                if kind is None or activation != "none" or not nxt.outputs:
                    break
                activation = kind
                at = nxt
                continue
            if nxt.kind in _EQUIVARIANT and nxt.outputs:
                at = nxt
                continue
            candidate = by_node.get(nxt.id)
            if (
                candidate is not None
                and candidate.in_channels == first.out_channels
                and (candidate.conv is None or not candidate.conv.transposed)
            ):
                second = candidate
            break
        if second is not None:
            pairs.append(PairSite(first=first, second=second, activation=activation))
    return tuple(pairs)


# --------------------------------------------------------------------------- results


def _num(x: float | None, digits: int = 4) -> float | None:
    """JSON-safe rounding: infinities and NaN become null."""
    if x is None or math.isinf(x) or math.isnan(x):
        return None
    return round(float(x), digits)


def lower_median(values: Iterable[float]) -> float:
    """The ``⌈n/2⌉``-th smallest value: always one of ``values`` (nan for none)."""
    vals = sorted(values)
    return vals[(len(vals) - 1) // 2] if vals else math.nan


def level_bits(level: float) -> float:
    """``log2(2 · m + 1)``: the bits of a channel whose weights reach integer level ``m``."""
    return math.log2(2.0 * level + 1.0)


def per_tensor_bits(
    ranges: Sequence[float], bits: int = 8, top: float | None = None
) -> tuple[float, ...]:
    """Effective bits of each channel of range ``r_o`` under one symmetric per-tensor scale
    ``s = R / qmax`` (``R = max r_o`` unless ``top`` is given):
    ``log2(2 · min(qmax, round(r_o / s)) + 1)``. ``max_j |round(w_j / s)|`` equals
    ``round(max_j |w_j| / s)`` because rounding is monotone, so the channel ranges suffice."""
    qmax = 2 ** (bits - 1) - 1
    big = max(ranges, default=0.0) if top is None else top
    if big <= 0:
        return tuple(0.0 for _ in ranges)
    s = big / qmax
    return tuple(level_bits(min(qmax, round(r / s))) for r in ranges)


def below(values: Sequence[float], limit: float) -> tuple[int, ...]:
    """Indices of ``values`` below ``limit``."""
    return tuple(i for i, v in enumerate(values) if v < limit)


def share(count: int, total: int) -> float:
    return count / total if total else 0.0


def share_text(x: float) -> str:
    """A share as a whole percentage, or with one decimal below 1 % (``0.4%``)."""
    return f"{100 * x:.0f}%" if x == 0 or x >= 0.01 else f"{100 * x:.1f}%"


@dataclass(frozen=True)
class FoldStats:
    """The BatchNorm folded into a layer: per-channel γ, var and fold factors."""

    bn: str  # BatchNorm module path
    eps: float
    eps_source: str  # "module" (read from the BatchNorm) or "default" (1e-5 assumed)
    gamma: tuple[float, ...]
    var: tuple[float, ...]
    factors: tuple[float, ...]  # f_o = γ_o / sqrt(var_o + eps)

    @property
    def factor_min(self) -> float:
        return min(abs(f) for f in self.factors)

    @property
    def factor_max(self) -> float:
        return max(abs(f) for f in self.factors)

    @property
    def factor_median(self) -> float:
        """The lower median of ``|f|`` (a real channel's factor)."""
        return lower_median(abs(f) for f in self.factors)

    @property
    def ratio(self) -> float:
        """``max |f| / lower-median |f|`` (infinite when half the factors are 0)."""
        med = self.factor_median
        return self.factor_max / med if med > 0 else math.inf

    def dead_channels(self, gamma_eps: float) -> tuple[int, ...]:
        """Channels with ``|γ| < gamma_eps``: the BatchNorm outputs the constant β."""
        return tuple(i for i, g in enumerate(self.gamma) if abs(g) < gamma_eps)

    def constant_channels(self, var_eps: float, gamma_eps: float) -> tuple[int, ...]:
        """Channels with ``var < var_eps`` (and a live γ): fold factor γ / sqrt(eps)."""
        return tuple(
            i
            for i, (g, v) in enumerate(zip(self.gamma, self.var, strict=True))
            if v < var_eps and abs(g) >= gamma_eps
        )

    def as_dict(self, options: QuantOptions) -> dict[str, Any]:
        dead = self.dead_channels(options.gamma_eps)
        const = self.constant_channels(options.var_eps, options.gamma_eps)
        return {
            "bn": self.bn,
            "eps": self.eps,
            "eps_source": self.eps_source,
            "factor_min": _num(self.factor_min, 6),
            "factor_max": _num(self.factor_max, 6),
            "factor_median": _num(self.factor_median, 6),
            "ratio": _num(self.ratio),
            "dead_channels": len(dead),
            "constant_channels": len(const),
            "dead_indices": list(dead[:32]),
            "constant_indices": list(const[:32]),
        }


@dataclass(frozen=True)
class LayerQuant:
    """Weight-quantization figures of one conv / linear layer (after BatchNorm folding).

    Channel bits are derived from the stored ranges by :func:`per_tensor_bits`, so the
    ``analyze --quant`` table, the JSON report and the QF rules read one computation.
    """

    path: str
    weight: str  # parameter name
    kind: str  # "conv" or "linear"
    description: str
    depthwise: bool
    out_channels: int
    accumulation: int  # prod(kernel) · C_in / groups, or the linear layer's input features
    channel_ranges: tuple[float, ...]  # r_o = max |W_fold[o]|
    tensor_range: float  # R = max_o r_o
    median_range: float  # lower median of r_o
    spread: float  # R / lower-median r_o (inf when it is 0)
    spread_unfolded: float | None  # the same before folding (None when nothing folds)
    sqnr_per_tensor_db: float | None  # None for an all-zero weight
    sqnr_per_channel_db: float | None
    fold: FoldStats | None
    bits: int = 8
    bn_note: str | None = None  # why a following BatchNorm was not folded
    # Median over channels of each channel's own SQNR (the whole-tensor figure is dominated
    # by the largest channels; this one shows what the typical channel keeps).
    median_channel_sqnr_per_tensor_db: float | None = None
    median_channel_sqnr_per_channel_db: float | None = None
    # max |W[o]| before folding (None when nothing folds)
    unfolded_ranges: tuple[float, ...] | None = None
    # Bits of each input channel under per-output-channel scales; None for a depthwise conv
    # (its input channel is its output channel) and a transposed conv.
    input_bits: tuple[float, ...] | None = None

    @property
    def name(self) -> str:
        return self.path or "(root)"

    @property
    def sqnr_gain_db(self) -> float | None:
        """What per-channel quantization gains over per-tensor, in dB."""
        if self.sqnr_per_tensor_db is None or self.sqnr_per_channel_db is None:
            return None
        if math.isinf(self.sqnr_per_channel_db):
            return math.inf
        return self.sqnr_per_channel_db - self.sqnr_per_tensor_db

    # ---------------------------------------------------------------- channel bits

    @property
    def channel_bits(self) -> tuple[float, ...]:
        """Effective bits of each output channel under the per-tensor scale."""
        return per_tensor_bits(self.channel_ranges, self.bits)

    @property
    def unfolded_bits(self) -> tuple[float, ...] | None:
        """The same for the weights before BatchNorm folding."""
        if self.unfolded_ranges is None:
            return None
        return per_tensor_bits(self.unfolded_ranges, self.bits)

    @property
    def min_bits(self) -> float:
        return min(self.channel_bits, default=0.0)

    @property
    def lower_median_bits(self) -> float:
        """Bits of the ``⌈n/2⌉``-th weakest output channel."""
        return lower_median(self.channel_bits)

    def starved(self, min_bits: float) -> tuple[int, ...]:
        """Output channels below ``min_bits`` under the per-tensor scale."""
        return below(self.channel_bits, min_bits)

    def starved_share(self, min_bits: float) -> float:
        return share(len(self.starved(min_bits)), self.out_channels)

    @property
    def zero_bit_channels(self) -> tuple[int, ...]:
        """Output channels whose every weight rounds to zero per tensor."""
        return below(self.channel_bits, 1e-9)

    def input_starved(self, min_bits: float) -> tuple[int, ...]:
        """Input channels below ``min_bits`` even with per-output-channel scales."""
        return below(self.input_bits, min_bits) if self.input_bits is not None else ()

    def input_starved_share(self, min_bits: float) -> float:
        n = len(self.input_bits) if self.input_bits is not None else 0
        return share(len(self.input_starved(min_bits)), n)

    def range_setters(self) -> tuple[int, ...]:
        """Output channels within 2× of the largest range: the ones that set the scale."""
        top = self.tensor_range
        return tuple(i for i, r in enumerate(self.channel_ranges) if top > 0 and r >= top / 2)

    def bits_without(self, channels: Iterable[int]) -> tuple[float, ...]:
        """Output-channel bits when ``channels`` have their folded weights zeroed (their
        output then is the folded bias alone): the scale is set by the others."""
        drop = set(channels)
        kept = [r for i, r in enumerate(self.channel_ranges) if i not in drop]
        top = max(kept, default=0.0)
        return per_tensor_bits(
            [0.0 if i in drop else r for i, r in enumerate(self.channel_ranges)], self.bits, top
        )

    def as_dict(self, options: QuantOptions) -> dict[str, Any]:
        mb = options.min_bits
        unfolded = self.unfolded_bits
        return {
            "weight": self.weight,
            "kind": self.kind,
            "description": self.description,
            "depthwise": self.depthwise,
            "out_channels": self.out_channels,
            "accumulation": self.accumulation,
            "tensor_range": _num(self.tensor_range, 6),
            "median_range": _num(self.median_range, 6),
            "min_range": _num(min(self.channel_ranges), 6),
            "spread": _num(self.spread),
            "spread_unfolded": _num(self.spread_unfolded),
            "min_bits": _num(self.min_bits),
            "lower_median_bits": _num(self.lower_median_bits),
            "starved_channels": len(self.starved(mb)),
            "starved_share": _num(self.starved_share(mb)),
            "zero_bit_channels": len(self.zero_bit_channels),
            "starved_share_unfolded": (
                _num(share(len(below(unfolded, mb)), len(unfolded))) if unfolded else None
            ),
            "input_starved_channels": (
                len(self.input_starved(mb)) if self.input_bits is not None else None
            ),
            "input_starved_share": (
                _num(self.input_starved_share(mb)) if self.input_bits is not None else None
            ),
            "sqnr_per_tensor_db": _num(self.sqnr_per_tensor_db),
            "sqnr_per_channel_db": _num(self.sqnr_per_channel_db),
            "median_channel_sqnr_per_tensor_db": _num(self.median_channel_sqnr_per_tensor_db),
            "median_channel_sqnr_per_channel_db": _num(self.median_channel_sqnr_per_channel_db),
            "starved_flagged": starved_layer(self, options),
            "fold": self.fold.as_dict(options) if self.fold is not None else None,
            "bn_note": self.bn_note,
        }


def starved_layer(lq: LayerQuant, options: QuantOptions, *, per_channel: bool = False) -> bool:
    """QF001's test with the pass options: more than ``max_starved_share`` of the output
    channels (per-tensor targets only) or of the input channels below ``min_bits``."""
    limit, mb = options.max_starved_share, options.min_bits
    if not per_channel and lq.starved_share(mb) > limit:
        return True
    return lq.input_starved_share(mb) > limit


def fold_starves(lq: LayerQuant, options: QuantOptions) -> bool:
    """QF002's test: folding takes the starved share above ``max_starved_share`` from at or
    below it."""
    unfolded = lq.unfolded_bits
    if lq.fold is None or unfolded is None:
        return False
    limit, mb = options.max_starved_share, options.min_bits
    before = share(len(below(unfolded, mb)), len(unfolded))
    return lq.starved_share(mb) > limit >= before


@dataclass(frozen=True)
class Equalization:
    """Cross-layer equalization of a layer pair with ``s_i = sqrt(r1_i / r2_i)``.

    ``*_before`` / ``*_after``: range spread and per-tensor weight SQNR of each layer as
    folded now and after the rescaling. Channels where ``r1_i`` or ``r2_i`` is 0 keep
    ``s_i = 1``.
    """

    first: str
    second: str
    activation: str
    scale_min: float
    scale_max: float
    first_spread_before: float
    first_spread_after: float
    second_spread_before: float
    second_spread_after: float
    first_sqnr_before_db: float | None
    first_sqnr_after_db: float | None
    second_sqnr_before_db: float | None
    second_sqnr_after_db: float | None
    bits: int = 8
    # Output-channel ranges of both layers after the rescaling (bits from per_tensor_bits),
    # and the second layer's input-channel bits under per-output-channel scales after it.
    first_ranges_after: tuple[float, ...] = ()
    second_ranges_after: tuple[float, ...] = ()
    second_input_bits_after: tuple[float, ...] | None = None

    @property
    def needs_relu(self) -> bool:
        return self.activation == "relu6"

    def starved_share_after(self, path: str, min_bits: float) -> float:
        """Share of ``path``'s output channels below ``min_bits`` per tensor after CLE."""
        ranges = self.first_ranges_after if path == self.first else self.second_ranges_after
        return share(len(below(per_tensor_bits(ranges, self.bits), min_bits)), len(ranges))

    def input_starved_share_after(self, min_bits: float) -> float | None:
        """The second layer's input channels below ``min_bits`` per channel after CLE."""
        b = self.second_input_bits_after
        return None if b is None else share(len(below(b, min_bits)), len(b))

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "activation": self.activation,
            "needs_relu": self.needs_relu,
            "scale_min": _num(self.scale_min, 6),
            "scale_max": _num(self.scale_max, 6),
            "first_spread_before": _num(self.first_spread_before),
            "first_spread_after": _num(self.first_spread_after),
            "second_spread_before": _num(self.second_spread_before),
            "second_spread_after": _num(self.second_spread_after),
            "first_sqnr_before_db": _num(self.first_sqnr_before_db),
            "first_sqnr_after_db": _num(self.first_sqnr_after_db),
            "second_sqnr_before_db": _num(self.second_sqnr_before_db),
            "second_sqnr_after_db": _num(self.second_sqnr_after_db),
        }

    def as_dict_at(self, min_bits: float) -> dict[str, Any]:
        d = self.as_dict()
        d["first_starved_share_after"] = _num(self.starved_share_after(self.first, min_bits))
        d["second_starved_share_after"] = _num(self.starved_share_after(self.second, min_bits))
        after = self.input_starved_share_after(min_bits)
        d["second_input_starved_share_after"] = _num(after) if after is not None else None
        return d


@dataclass(frozen=True)
class LayerActivation:
    """Calibration figures at one layer's output.

    ``channel_ranges``: ``max |x|`` per channel over all batches. The outlier ratio of a
    channel is ``max |x| / P(|x|)`` with ``P`` the ``percentile`` quantile, computed per
    batch and averaged over the batches where ``P > 0`` (PyTorch ModelReport's
    ``OutlierDetector`` compares the same ratio with 3.5 at the 97.5th percentile);
    channels whose ``P`` is 0 in every batch are ``zero_channels`` and never outliers.
    ``output_sqnr_db``: SQNR of this layer's output (after its folded BatchNorm) when only
    this layer's weights are fake-quantized per tensor (folded weights, ``s = R / 127``).
    """

    path: str
    observed_at: str  # module whose output was recorded for the SQNR
    channels: int
    channel_ranges: tuple[float, ...]
    outlier_ratios: tuple[float | None, ...]  # None where P is 0 in every batch
    output_sqnr_db: float | None

    @property
    def range_spread(self) -> float:
        rs = [r for r in self.channel_ranges]
        med = float(statistics.median(rs)) if rs else 0.0
        return max(rs) / med if med > 0 else math.inf

    @property
    def max_ratio(self) -> float | None:
        vals = [r for r in self.outlier_ratios if r is not None]
        return max(vals) if vals else None

    def outlier_channels(self, threshold: float) -> tuple[int, ...]:
        return tuple(
            i for i, r in enumerate(self.outlier_ratios) if r is not None and r > threshold
        )

    @property
    def zero_channels(self) -> int:
        return sum(1 for r in self.outlier_ratios if r is None)

    def as_dict(self, threshold: float) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "range_max": _num(max(self.channel_ranges), 6) if self.channel_ranges else None,
            "range_min": _num(min(self.channel_ranges), 6) if self.channel_ranges else None,
            "range_spread": _num(self.range_spread),
            "max_outlier_ratio": _num(self.max_ratio),
            "outlier_channels": len(self.outlier_channels(threshold)),
            "zero_channels": self.zero_channels,
            "output_sqnr_db": _num(self.output_sqnr_db),
            "observed_at": self.observed_at,
        }


RANDOM_NOTE = (
    "random N(0,1) calibration data only tests the mechanics: activation ranges, "
    "outliers and output SQNR on it say nothing about real inputs"
)


@dataclass(frozen=True)
class ActivationStats:
    """What :func:`convscope.passes.quant.numeric.calibrate` measured on calibration batches."""

    source: str
    random: bool
    batches: int
    samples: int
    percentile: float
    outlier_ratio: float
    layers: tuple[LayerActivation, ...]
    unobserved: tuple[tuple[str, str], ...] = ()  # (layer, why no hook could observe it)

    @property
    def note(self) -> str | None:
        return RANDOM_NOTE if self.random else None

    def layer(self, path: str) -> LayerActivation | None:
        for la in self.layers:
            if la.path == path:
                return la
        return None

    def summary_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "random": self.random,
            "note": self.note,
            "batches": self.batches,
            "samples": self.samples,
            "percentile": self.percentile,
            "outlier_ratio": self.outlier_ratio,
            "layers_with_outliers": [
                la.path for la in self.layers if la.outlier_channels(self.outlier_ratio)
            ],
            "unobserved": [{"layer": p, "reason": r} for p, r in self.unobserved],
        }


@dataclass(frozen=True)
class QuantReport:
    """The ``QUANT`` section of an analysis (``quant`` in the JSON document)."""

    model: str
    options: QuantOptions = field(default_factory=QuantOptions)
    layers: tuple[LayerQuant, ...] = ()
    equalizations: tuple[Equalization, ...] = ()
    unsupported: tuple[tuple[str, str], ...] = ()  # (layer, reason it was left out)
    activations: ActivationStats | None = None
    skipped_reason: str | None = None

    # ---------------------------------------------------------------- queries

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None

    def layer(self, path: str) -> LayerQuant | None:
        for lq in self.layers:
            if lq.path == path:
                return lq
        return None

    def starved_flagged(self, *, per_channel: bool = False) -> tuple[LayerQuant, ...]:
        """Layers that fail QF001's test at the pass options (see :func:`starved_layer`)."""
        return tuple(
            lq for lq in self.layers if starved_layer(lq, self.options, per_channel=per_channel)
        )

    def fold_flagged(self) -> tuple[LayerQuant, ...]:
        """Layers whose BatchNorm has dead / constant channels or whose folding starves
        channels (QF002's tests at the pass options)."""
        o = self.options
        return tuple(
            lq
            for lq in self.layers
            if lq.fold is not None
            and (
                fold_starves(lq, o)
                or lq.fold.dead_channels(o.gamma_eps)
                or lq.fold.constant_channels(o.var_eps, o.gamma_eps)
            )
        )

    def equalization_for(self, path: str, *, as_second: bool = False) -> Equalization | None:
        """The pair in which ``path`` is the first layer, else the one where it is second
        (the other way round with ``as_second``: an input-channel problem is fixed with
        the layer before)."""
        order = ("second", "first") if as_second else ("first", "second")
        for side in order:
            found = next((e for e in self.equalizations if getattr(e, side) == path), None)
            if found is not None:
                return found
        return None

    def suggestions(self, lq: LayerQuant) -> tuple[str, ...]:
        """Concrete fixes for one layer, most effective first; empty when nothing is wrong."""
        o = self.options
        mb, limit = o.min_bits, o.max_starved_share
        out: list[str] = []
        out_bad = lq.starved_share(mb) > limit
        in_bad = lq.input_starved_share(mb) > limit
        if out_bad:
            pt, pc = lq.sqnr_per_tensor_db, lq.sqnr_per_channel_db
            gain = f" (weight SQNR {_db(pt)} → {_db(pc)})" if pt is not None else ""
            out.append(f"quantize the weights per output channel{gain}")
        if out_bad or in_bad:
            eq = self.equalization_for(lq.path, as_second=in_bad and not out_bad)
            if eq is not None:
                out.extend(equalization_text(eq, lq.path, mb))
            else:
                out.append(
                    "no cross-layer equalization partner (the layer does not feed, or is not "
                    "fed by, a single conv/linear through a ReLU-like activation)"
                )
        if lq.fold is not None:
            dead = lq.fold.dead_channels(o.gamma_eps)
            const = lq.fold.constant_channels(o.var_eps, o.gamma_eps)
            if dead or const:
                n = len(dead) + len(const)
                idx = ", ".join(str(i) for i in sorted(dead + const)[:8])
                more = "…" if n > 8 else ""
                out.append(
                    f"zero the folded weights of {n} dead/constant channel"
                    f"{'s' if n != 1 else ''} ({idx}{more}) and keep their folded bias: "
                    "their output is constant, and their folded weights only widen the range"
                )
        return tuple(out)

    # ---------------------------------------------------------------- JSON / text

    def summary_dict(self) -> dict[str, Any]:
        """Top-level ``quant`` section of the JSON report."""
        o = self.options
        d: dict[str, Any] = {
            "status": "skipped" if self.skipped else "ok",
            "skipped_reason": self.skipped_reason,
            "options": o.as_dict(),
        }
        if self.skipped:
            return d
        pt = [lq.sqnr_per_tensor_db for lq in self.layers if lq.sqnr_per_tensor_db is not None]
        pc = [lq.sqnr_per_channel_db for lq in self.layers if lq.sqnr_per_channel_db is not None]
        d.update(
            {
                "layers": len(self.layers),
                "starved_flagged": [lq.path for lq in self.starved_flagged()],
                "fold_flagged": [lq.path for lq in self.fold_flagged()],
                "sqnr_per_tensor_db": _stats(pt),
                "sqnr_per_channel_db": _stats(pc),
                "worst": _worst(self.layers, o.min_bits),
                "equalization": [e.as_dict_at(o.min_bits) for e in self.equalizations],
                "unsupported": [{"layer": p, "reason": r} for p, r in self.unsupported],
                "calibration": (
                    self.activations.summary_dict() if self.activations is not None else None
                ),
            }
        )
        return d

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        """Per-layer ``quant`` key: the layer's figures and suggestions; a folded
        BatchNorm gets ``{"folded_into": layer}``."""
        if self.skipped:
            return None
        matches = [lq for lq in self.layers if lq.path == path]
        if not matches:
            host = next(
                (lq for lq in self.layers if lq.fold is not None and lq.fold.bn == path), None
            )
            return {"folded_into": host.path} if host is not None else None
        lq = matches[0]
        d = lq.as_dict(self.options)
        d["suggestions"] = list(self.suggestions(lq))
        if len(matches) > 1:
            d["other_weights"] = [m.weight for m in matches[1:]]
        if self.activations is not None:
            la = self.activations.layer(path)
            if la is not None:
                d["activation"] = la.as_dict(self.activations.outlier_ratio)
        return d

    def summary_text(self) -> str:
        """A few plain lines for terminals and logs."""
        if self.skipped:
            return f"quantization analysis skipped: {self.skipped_reason}"
        o = self.options
        n = len(self.layers)
        flagged = self.starved_flagged()
        dw = [lq for lq in self.layers if lq.depthwise]
        dw_flagged = [lq for lq in flagged if lq.depthwise]
        pt = [
            v
            for v in (lq.sqnr_per_tensor_db for lq in self.layers)
            if v is not None and not math.isinf(v)
        ]
        pc = [
            v
            for v in (lq.sqnr_per_channel_db for lq in self.layers)
            if v is not None and not math.isinf(v)
        ]
        lines = [
            f"INT{o.bits} weights ({n} layers, BatchNorm folded): {len(flagged)} with more "
            f"than {share_text(o.max_starved_share)} of their channels below {o.min_bits:g} bits "
            "(output channels per tensor, input channels per channel)"
            + (f" ({len(dw_flagged)} of {len(dw)} depthwise)" if dw else ""),
        ]
        if pt and pc:
            lines.append(
                f"median weight SQNR {statistics.median(pt):.1f} dB per-tensor vs "
                f"{statistics.median(pc):.1f} dB per-channel (layers quantized "
                f"exactly left out); worst per-tensor {min(pt):.1f} dB"
            )
        folds = self.fold_flagged()
        if folds:
            verb = "blows" if len(folds) == 1 else "blow"
            lines.append(
                f"{len(folds)} BatchNorm fold{'s' if len(folds) != 1 else ''} {verb} "
                "up weight ranges (folding starves channels, or dead/constant channels)"
            )
        if self.unsupported:
            lines.append(
                f"{len(self.unsupported)} layer(s) left out: "
                + "; ".join(f"{p}: {r}" for p, r in self.unsupported[:3])
            )
        acts = self.activations
        if acts is not None:
            with_out = [la for la in acts.layers if la.outlier_channels(acts.outlier_ratio)]
            lines.append(
                f"calibration ({acts.source}): {len(with_out)} of {len(acts.layers)} "
                f"layers have channels with max/P{100 * acts.percentile:g} > "
                f"{acts.outlier_ratio:g}"
            )
            if acts.note:
                lines.append(f"note: {acts.note}")
        return "\n".join(lines)


def equalization_text(eq: Equalization, path: str, min_bits: float = 4.0) -> list[str]:
    """Suggestion lines for a cross-layer-equalization pair, seen from layer ``path``: the
    range of the scales and the share of ``path``'s channels below ``min_bits`` after it."""
    out: list[str] = []
    if eq.needs_relu:
        out.append(
            f"replace the ReLU6 between `{eq.first}` and `{eq.second}` by ReLU before "
            "equalizing (rescaling a channel moves ReLU6's clip point)"
        )
    after = f"{share_text(eq.starved_share_after(path, min_bits))} of this layer's output channels"
    in_after = eq.input_starved_share_after(min_bits) if path == eq.second else None
    if in_after is not None:
        after += f" and {share_text(in_after)} of its input channels"
    out.append(
        f"cross-layer equalization of `{eq.first}` → `{eq.second}` with "
        f"s_i = sqrt(r1_i / r2_i) in [{eq.scale_min:.3g}, {eq.scale_max:.3g}] leaves "
        f"{after} below {min_bits:g} bits"
    )
    return out


def _x(v: float) -> str:
    return "∞" if math.isinf(v) else f"{v:.1f}×"


def _db(v: float | None) -> str:
    if v is None:
        return "n/a"
    return "∞ dB" if math.isinf(v) else f"{v:.1f} dB"


def _stats(values: Sequence[float]) -> dict[str, float | None] | None:
    finite = [v for v in values if not math.isinf(v)]
    if not finite:
        return None
    return {
        "min": _num(min(finite)),
        "median": _num(float(statistics.median(finite))),
        "max": _num(max(finite)),
    }


def _worst(layers: Iterable[LayerQuant], min_bits: float) -> dict[str, Any] | None:
    worst = max(layers, key=lambda lq: (lq.starved_share(min_bits), lq.spread), default=None)
    if worst is None:
        return None
    return {
        "layer": worst.path,
        "starved_share": _num(worst.starved_share(min_bits)),
        "spread": _num(worst.spread),
        "sqnr_per_tensor_db": _num(worst.sqnr_per_tensor_db),
        "sqnr_per_channel_db": _num(worst.sqnr_per_channel_db),
    }


# --------------------------------------------------------------------------- the pass


def skipped(model: str, reason: str, options: QuantOptions | None = None) -> QuantReport:
    """A report that says why nothing was measured (never invented numbers)."""
    return QuantReport(model=model, options=options or QuantOptions(), skipped_reason=reason)
