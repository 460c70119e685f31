"""The metrics a comparison reads from both reports (the names ``--fail-on`` accepts).

* the ``totals`` keys: ``params``, ``trainable_params``, ``frozen_params``, ``buffers``,
  ``param_bytes``, ``macs``, ``flops``, ``other_flops``, ``activation_bytes``,
  ``bytes_read``, ``bytes_written``, ``traffic_bytes``, ``peak_activation_bytes``,
  ``fused_traffic_bytes``;
* ``rf`` — the output receptive field (largest side, input pixels) of the
  ``receptive_field`` section;
* ``latency`` — the measured latency of the ``profile`` section (``convscope profile
  --format json``), compared noise-aware with :func:`convscope.profiling.latency_verdict`:
  ``latency:+5%`` fails only when head's p10 exceeds base's p90 by more than 5 %. When the
  reports carry no measured latency but both carry a *predicted* one (the ``latency``
  section that ``convscope analyze --target DEVICE.yaml`` writes with a kernel model),
  ``latency`` gates on that: head's ``predicted_ms`` above base's by more than 5 %;
* ``predicted_latency`` — the predicted end-to-end time only (``latency.predicted_ms``, in
  ms), for a CI job that holds a device's budget without the device: ``+N%``, ``+N`` (ms)
  or a bound ``>N`` (ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "bytes", "px", "ms"]
Number = int | float


@dataclass(frozen=True)
class Metric:
    """A comparable model-level quantity: where it is read from and how it is shown."""

    name: str
    unit: Unit
    description: str
    primary: bool  # shown in the totals table even when not gated


TOTALS: tuple[Metric, ...] = (
    Metric("params", "count", "parameters (unique tensors)", True),
    Metric("trainable_params", "count", "trainable parameters", False),
    Metric("frozen_params", "count", "frozen parameters", False),
    Metric("buffers", "count", "buffer elements", False),
    Metric("param_bytes", "bytes", "bytes of parameters", False),
    Metric("macs", "count", "multiply-accumulates of conv, linear, matmul", True),
    Metric("flops", "count", "FLOPs (2 × MACs)", True),
    Metric("other_flops", "count", "norm, pooling, activation and elementwise work", False),
    Metric("activation_bytes", "bytes", "bytes of layer outputs", False),
    Metric("bytes_read", "bytes", "bytes read (activations + weights)", False),
    Metric("bytes_written", "bytes", "bytes written", False),
    Metric("traffic_bytes", "bytes", "memory traffic (read + written)", True),
    Metric("peak_activation_bytes", "bytes", "peak live activation memory", True),
    Metric("fused_traffic_bytes", "bytes", "memory traffic with conv+norm+act fused", False),
)
RF = Metric("rf", "px", "output receptive field, largest side (input pixels)", True)
LATENCY = Metric(
    "latency",
    "ms",
    "measured latency (profile section), noise-aware gate; else the predicted latency",
    True,
)
PREDICTED_LATENCY = Metric(
    "predicted_latency", "ms", "predicted end-to-end latency (latency section)", True
)

METRICS: tuple[Metric, ...] = (*TOTALS, RF)  # numeric metrics compared as totals
BY_NAME: dict[str, Metric] = {m.name: m for m in (*METRICS, LATENCY, PREDICTED_LATENCY)}


def metric_names() -> tuple[str, ...]:
    """Every name ``--fail-on`` accepts, in display order."""
    return tuple(BY_NAME)
