"""Weight-quantization figures of a layer after BatchNorm folding: the folded BatchNorm's
statistics, each layer's channel ranges and SQNR, the result of cross-layer equalization,
and the QF001 / QF002 tests on them (the formulas are in :mod:`convscope.passes.quant`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from convscope.passes.quant.grid import below, lower_median, per_tensor_bits, rounded, share
from convscope.passes.quant.options import QuantOptions


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
            "factor_min": rounded(self.factor_min, 6),
            "factor_max": rounded(self.factor_max, 6),
            "factor_median": rounded(self.factor_median, 6),
            "ratio": rounded(self.ratio),
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
            "tensor_range": rounded(self.tensor_range, 6),
            "median_range": rounded(self.median_range, 6),
            "min_range": rounded(min(self.channel_ranges), 6),
            "spread": rounded(self.spread),
            "spread_unfolded": rounded(self.spread_unfolded),
            "min_bits": rounded(self.min_bits),
            "lower_median_bits": rounded(self.lower_median_bits),
            "starved_channels": len(self.starved(mb)),
            "starved_share": rounded(self.starved_share(mb)),
            "zero_bit_channels": len(self.zero_bit_channels),
            "starved_share_unfolded": (
                rounded(share(len(below(unfolded, mb)), len(unfolded))) if unfolded else None
            ),
            "input_starved_channels": (
                len(self.input_starved(mb)) if self.input_bits is not None else None
            ),
            "input_starved_share": (
                rounded(self.input_starved_share(mb)) if self.input_bits is not None else None
            ),
            "sqnr_per_tensor_db": rounded(self.sqnr_per_tensor_db),
            "sqnr_per_channel_db": rounded(self.sqnr_per_channel_db),
            "median_channel_sqnr_per_tensor_db": rounded(self.median_channel_sqnr_per_tensor_db),
            "median_channel_sqnr_per_channel_db": rounded(self.median_channel_sqnr_per_channel_db),
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
            "scale_min": rounded(self.scale_min, 6),
            "scale_max": rounded(self.scale_max, 6),
            "first_spread_before": rounded(self.first_spread_before),
            "first_spread_after": rounded(self.first_spread_after),
            "second_spread_before": rounded(self.second_spread_before),
            "second_spread_after": rounded(self.second_spread_after),
            "first_sqnr_before_db": rounded(self.first_sqnr_before_db),
            "first_sqnr_after_db": rounded(self.first_sqnr_after_db),
            "second_sqnr_before_db": rounded(self.second_sqnr_before_db),
            "second_sqnr_after_db": rounded(self.second_sqnr_after_db),
        }

    def as_dict_at(self, min_bits: float) -> dict[str, Any]:
        d = self.as_dict()
        d["first_starved_share_after"] = rounded(self.starved_share_after(self.first, min_bits))
        d["second_starved_share_after"] = rounded(self.starved_share_after(self.second, min_bits))
        after = self.input_starved_share_after(min_bits)
        d["second_input_starved_share_after"] = rounded(after) if after is not None else None
        return d
