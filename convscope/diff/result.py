"""The comparison of two reports: its sides, model-level and latency deltas, and the
per-layer alignment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from convscope.diff.metrics import Metric, Number


@dataclass(frozen=True)
class Side:
    """One side of the comparison: where it came from and what was analyzed."""

    label: str  # the file name or model spec the user gave
    model: str
    inputs: tuple[tuple[int, ...], ...]
    dtype: str | None
    trace_mode: str | None


@dataclass(frozen=True)
class MetricDelta:
    """A model-level metric on both sides; ``None`` where a side lacks it."""

    metric: Metric
    base: Number | None
    head: Number | None

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def delta(self) -> Number | None:
        if self.base is None or self.head is None:
            return None
        return self.head - self.base

    @property
    def relative(self) -> float | None:
        """``(head − base) / base``; ``None`` when a side is missing or base is 0."""
        d = self.delta
        if d is None or not self.base:
            return None
        return d / self.base


@dataclass(frozen=True)
class LatencyStats:
    """One batch size's latency summary (``profile.batches[i]`` of a report)."""

    batch_size: int
    median_ms: float
    p10_ms: float
    p90_ms: float

    def as_mapping(self) -> dict[str, float]:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms}


@dataclass(frozen=True)
class LatencyDelta:
    """Latency at the same batch size on both sides, with the default-threshold verdict."""

    base: LatencyStats
    head: LatencyStats
    base_device: str | None
    head_device: str | None
    verdict: Literal["regressed", "improved", "unchanged"]  # at the default 5 %

    @property
    def batch_size(self) -> int:
        return self.base.batch_size

    @property
    def delta_ms(self) -> float:
        return self.head.median_ms - self.base.median_ms

    @property
    def relative(self) -> float | None:
        return self.delta_ms / self.base.median_ms if self.base.median_ms else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``diff --format json`` and the comparison page share it)."""
        return {
            "batch_size": self.batch_size,
            "base": self.base.as_mapping(),
            "head": self.head.as_mapping(),
            "base_device": self.base_device,
            "head_device": self.head_device,
            "delta_ms": round(self.delta_ms, 6),
            "verdict": self.verdict,
        }


FieldValue = int | float | str | tuple[int, ...] | None


@dataclass(frozen=True)
class PredictedDelta:
    """The predicted end-to-end latency of both sides (``latency.predicted_ms``, from a
    target's kernel model: deterministic, so compared as plain numbers)."""

    base_ms: float
    head_ms: float
    base_target: str | None
    head_target: str | None

    @property
    def delta_ms(self) -> float:
        return self.head_ms - self.base_ms

    @property
    def relative(self) -> float | None:
        return self.delta_ms / self.base_ms if self.base_ms else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_ms": round(self.base_ms, 6),
            "head_ms": round(self.head_ms, 6),
            "base_target": self.base_target,
            "head_target": self.head_target,
            "delta_ms": round(self.delta_ms, 6),
        }


@dataclass(frozen=True)
class FieldDelta:
    """One per-layer field on both sides (``None`` on the side that lacks the layer)."""

    name: str
    base: FieldValue
    head: FieldValue

    @property
    def changed(self) -> bool:
        return self.base != self.head

    @property
    def delta(self) -> Number | None:
        """Numeric difference (a missing side counts as 0); ``None`` for non-numbers."""
        b, h = self.base, self.head
        if isinstance(b, str | tuple) or isinstance(h, str | tuple):
            return None
        return (h or 0) - (b or 0)


# Compared per layer. Receptive fields are compared only for the whole model (``rf``):
# one added layer changes the RF of every layer after it, which is not a change of theirs.
LAYER_FIELDS = (
    "type",
    "output_shape",
    "params",
    "macs",
    "flops",
    "activation_bytes",
    "traffic_bytes",
)


@dataclass(frozen=True)
class LayerDelta:
    """A layer matched by module path: added, removed, changed, or (only in the full
    alignment of :func:`align_layers`, never in :attr:`Diff.layers`) the same."""

    path: str
    status: Literal["added", "removed", "changed", "same"]
    fields: tuple[FieldDelta, ...]  # every field of LAYER_FIELDS, in that order

    def field(self, name: str) -> FieldDelta:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def changed_fields(self) -> tuple[FieldDelta, ...]:
        return tuple(f for f in self.fields if f.changed)

    @property
    def type_name(self) -> str:
        f = self.field("type")
        return str(f.head if f.head is not None else f.base)


@dataclass(frozen=True)
class Diff:
    """The comparison of two reports; thresholds are evaluated by :func:`check`."""

    base: Side
    head: Side
    totals: tuple[MetricDelta, ...]
    latency: LatencyDelta | None
    aligned: tuple[LayerDelta, ...]  # every layer of either side (:func:`align_layers`)
    notes: tuple[str, ...]
    predicted: PredictedDelta | None = None  # both sides' predicted latency
    predicted_missing: str | None = None  # why it is None: which side lacks it

    @property
    def layers(self) -> tuple[LayerDelta, ...]:
        """The added / removed / changed layers, in model order."""
        return tuple(layer for layer in self.aligned if layer.status != "same")

    @property
    def unchanged_layers(self) -> int:
        return len(self.aligned) - len(self.layers)

    def total(self, name: str) -> MetricDelta:
        for t in self.totals:
            if t.name == name:
                return t
        raise KeyError(name)

    def count(self, status: str) -> int:
        return sum(1 for layer in self.layers if layer.status == status)
