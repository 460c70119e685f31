"""Calibration figures: activation ranges, outlier ratios and output SQNR per layer."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from convscope.passes.quant.grid import rounded


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
            "range_max": rounded(max(self.channel_ranges), 6) if self.channel_ranges else None,
            "range_min": rounded(min(self.channel_ranges), 6) if self.channel_ranges else None,
            "range_spread": rounded(self.range_spread),
            "max_outlier_ratio": rounded(self.max_ratio),
            "outlier_channels": len(self.outlier_channels(threshold)),
            "zero_channels": self.zero_channels,
            "output_sqnr_db": rounded(self.output_sqnr_db),
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
