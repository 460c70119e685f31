"""The roofline model, per layer: pure arithmetic, no torch.

A layer doing ``F`` floating-point operations and moving ``B`` bytes cannot run faster than
``max(F / peak_flops, B / bandwidth)`` on a machine with that peak compute (FLOP/s) and
memory bandwidth (bytes/s). Whichever term is larger *bounds* the layer: it is
**compute-bound** when its arithmetic intensity ``F / B`` is at or above the machine's
ridge point ``peak_flops / bandwidth``, **memory-bound** below it. The bound is a lower
bound: the *achieved fraction* ``predicted / measured`` says how close a real run came to
the roofline (1.0 = at the roof; small values = framework overhead, poor kernels, or a
machine slower than the figures say).

``F`` is ``2·MACs + other FLOPs`` (norm, activation, pooling, elementwise work) and ``B``
is the layer's memory traffic (bytes read + bytes written) from ``convscope analyze``,
both taken from the analysis rows. Nothing here imports torch, so lint rules (PF001
memory-bound-hotspot) can use :func:`estimate` on a static analysis without measuring.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Bound = Literal["compute", "memory", "none"]

__all__ = [
    "Bound",
    "LayerRoofline",
    "RooflineParams",
    "RooflineReport",
    "achieved_fraction",
    "bound_of",
    "estimate",
    "predicted_time",
]


@dataclass(frozen=True)
class RooflineParams:
    """Peak compute in FLOP/s and memory bandwidth in bytes/s of one machine."""

    peak_flops: float
    bandwidth: float
    name: str = "custom"  # the target profile or "calibrated"
    source: str | None = None  # where the figures come from
    device: str | None = None  # "cpu" / "cuda" when known: measurements elsewhere are flagged

    def __post_init__(self) -> None:
        for label, value in (("peak_flops", self.peak_flops), ("bandwidth", self.bandwidth)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"roofline {label} must be a positive number, got {value!r}")

    @property
    def ridge_point(self) -> float:
        """Arithmetic intensity (FLOPs per byte) above which a kernel is compute-bound."""
        return self.peak_flops / self.bandwidth


class CostRow(Protocol):
    """What :func:`estimate` reads from a layer (``convscope.analysis.build.LayerRow`` fits)."""

    @property
    def path(self) -> str: ...

    @property
    def type_name(self) -> str: ...

    @property
    def flops(self) -> int: ...

    @property
    def other_flops(self) -> int: ...

    @property
    def traffic(self) -> int: ...


def predicted_time(flops: float, nbytes: float, params: RooflineParams) -> float:
    """Lower-bound time in seconds: ``max(flops / peak_flops, bytes / bandwidth)``."""
    if flops < 0 or nbytes < 0:
        raise ValueError("flops and bytes must be non-negative")
    return max(flops / params.peak_flops, nbytes / params.bandwidth)


def bound_of(flops: float, nbytes: float, params: RooflineParams) -> Bound:
    """``"compute"`` when the intensity ``flops / bytes`` is at or above the ridge point,
    ``"memory"`` below it, ``"none"`` for a layer that neither computes nor moves data.

    Compared as times (``flops / peak >= bytes / bandwidth``), which is the same test
    without dividing by zero traffic.
    """
    if flops <= 0 and nbytes <= 0:
        return "none"
    return "compute" if flops / params.peak_flops >= nbytes / params.bandwidth else "memory"


def achieved_fraction(predicted_s: float, measured_s: float | None) -> float | None:
    """``predicted / measured``: the share of the roofline a measurement reached (None
    without a positive measurement)."""
    if measured_s is None or measured_s <= 0:
        return None
    return predicted_s / measured_s


@dataclass(frozen=True)
class LayerRoofline:
    """One layer placed on the roofline; times in seconds."""

    path: str
    type_name: str
    flops: int  # 2·MACs + other FLOPs
    nbytes: int  # bytes read + bytes written
    compute_s: float  # flops / peak_flops
    memory_s: float  # bytes / bandwidth
    bound: Bound
    predicted_share: float  # of the whole model's predicted time
    measured_s: float | None = None
    measured_share: float | None = None  # of the sum of measured layer times

    @property
    def predicted_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def intensity(self) -> float:
        """FLOPs per byte (``inf`` for compute without traffic, 0 for no work)."""
        if self.nbytes == 0:
            return math.inf if self.flops else 0.0
        return self.flops / self.nbytes

    @property
    def achieved(self) -> float | None:
        return achieved_fraction(self.predicted_s, self.measured_s)


@dataclass(frozen=True)
class RooflineReport:
    """Every layer on the roofline of one machine, plus whole-model sums."""

    params: RooflineParams
    layers: tuple[LayerRoofline, ...]

    @property
    def predicted_s(self) -> float:
        """Sum of the per-layer lower bounds (layers run one after another)."""
        return sum(layer.predicted_s for layer in self.layers)

    @property
    def measured_s(self) -> float | None:
        """Sum of the measured times of the layers that have one (None if none has)."""
        measured = [layer.measured_s for layer in self.layers if layer.measured_s is not None]
        return sum(measured) if measured else None

    @property
    def achieved(self) -> float | None:
        """Predicted over measured for the measured layers as a whole."""
        measured = [layer for layer in self.layers if layer.measured_s is not None]
        if not measured:
            return None
        return achieved_fraction(
            sum(layer.predicted_s for layer in measured),
            sum(layer.measured_s or 0.0 for layer in measured),
        )

    @functools.cached_property
    def _by_path(self) -> dict[str, LayerRoofline]:
        out: dict[str, LayerRoofline] = {}
        for layer in self.layers:
            out.setdefault(layer.path, layer)
        return out

    def layer(self, path: str) -> LayerRoofline | None:
        return self._by_path.get(path)

    def bound_share(self, bound: Bound, *, measured: bool = False) -> float:
        """Share of predicted (or measured) time spent in layers of one bound."""
        if measured:
            total = self.measured_s or 0.0
            part = sum(x.measured_s or 0.0 for x in self.layers if x.bound == bound)
        else:
            total = self.predicted_s
            part = sum(x.predicted_s for x in self.layers if x.bound == bound)
        return part / total if total > 0 else 0.0

    def hotspots(self, min_share: float = 0.1, bound: Bound = "memory") -> list[LayerRoofline]:
        """Layers of ``bound`` holding at least ``min_share`` of the predicted latency,
        largest first — what rule PF001 memory-bound-hotspot reports."""
        hits = [x for x in self.layers if x.bound == bound and x.predicted_share >= min_share]
        return sorted(hits, key=lambda x: (-x.predicted_share, x.path))


def estimate(
    rows: Iterable[CostRow],
    params: RooflineParams,
    measured_s: Mapping[str, float] | None = None,
) -> RooflineReport:
    """Place every row on the roofline of ``params``.

    ``measured_s`` maps a layer path to its measured (self) time in seconds; rows without
    one get ``measured_s=None``. Rows are kept in the order given.
    """
    items: Sequence[CostRow] = list(rows)
    measured = dict(measured_s or {})
    raw = []
    for r in items:
        flops = int(r.flops) + int(r.other_flops)
        nbytes = int(r.traffic)
        raw.append((r, flops, nbytes, flops / params.peak_flops, nbytes / params.bandwidth))
    total = sum(max(c, m) for _, _, _, c, m in raw)
    paths = {r.path for r in items}
    measured_total = sum(v for p, v in measured.items() if p in paths)
    layers = []
    for r, flops, nbytes, compute_s, memory_s in raw:
        m = measured.get(r.path)
        layers.append(
            LayerRoofline(
                path=r.path,
                type_name=r.type_name,
                flops=flops,
                nbytes=nbytes,
                compute_s=compute_s,
                memory_s=memory_s,
                bound=bound_of(flops, nbytes, params),
                predicted_share=max(compute_s, memory_s) / total if total > 0 else 0.0,
                measured_s=m,
                measured_share=(m / measured_total)
                if m is not None and measured_total > 0
                else None,
            )
        )
    return RooflineReport(params=params, layers=tuple(layers))
