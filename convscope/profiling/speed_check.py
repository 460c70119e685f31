"""Speed check: how fast this device runs its kernel model's kernels *now*.

A kernel model prices calls at the speed its device had while it was calibrated. A shared
host (a cloud VM with busy neighbours), a laptop on battery or a throttling board can run
the same kernels 1.5× slower an hour later, and a prediction then looks wrong when the
device, not the model, changed. :func:`speed_check` tells the two apart: it times fresh
micro-benchmarks — shapes drawn by the calibration's own samplers with a seed no
calibration session uses, timed the way the calibration timed its samples (same threads,
dtype, clock, interleaving) — and compares each with what the kernel model predicts for it.
The median ratio is the device's speed now relative to the model (1.0: as calibrated;
1.4: kernels take 1.4× their calibrated time).

It runs only micro-benchmarks, never a model: ``convscope profile MODEL --target dev.yaml
--speed-check`` shows a prediction beside the measured time and the speed the device ran
at, and a kernel calibration checks itself with one right after its samples (a host whose
speed drifted during the calibration is then said to be so).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from convscope.errors import InputError
from convscope.profiling.kernel_bench import (
    DTYPES,
    bench_session,
    clock_for,
    interleave,
)
from convscope.profiling.kernel_shapes import PLAN, Ctx
from convscope.profiling.measure import Clock, ProgressFn, check_device, device_name
from convscope.targets.kernels import KernelModel

__all__ = [
    "DEFAULT_SPEED_CHECK_S",
    "DRIFT_TOLERANCE",
    "SPEED_SEED",
    "PredictionCheck",
    "SpeedCheck",
    "speed_check",
]

#: Seconds a speed check takes by default (at least one sample per family: about 100
#: samples in 4.5 s on a 2-core CPU).
DEFAULT_SPEED_CHECK_S = 4.0
#: A check further off 1.0 than this says the device's speed changed. Right after a
#: calibration, checks on a 2-core VM read 0.97–1.12× (fresh shapes against the fit).
DRIFT_TOLERANCE = 0.15
#: The samplers' seed: calibration sessions use 0, 1, 2..., so these shapes are fresh.
SPEED_SEED = 1_000_003


@dataclass(frozen=True)
class SpeedCheck:
    """Measured / predicted time of fresh micro-benchmarks on a kernel model's device."""

    ratio: float  # median over samples: 1.0 runs as calibrated, 1.4 is 1.4× slower
    low: float  # lower and upper quartile of the per-sample ratios
    high: float
    samples: int
    seconds: float
    families: Mapping[str, float] = field(default_factory=dict)  # family → median ratio
    calibrated: str = ""  # the kernel model's provenance, one line

    @property
    def drifted(self) -> bool:
        """Kernels ran more than :data:`DRIFT_TOLERANCE` off their calibrated time."""
        return abs(self.ratio - 1) > DRIFT_TOLERANCE

    @property
    def text(self) -> str:
        """``kernels run at 1.42× their calibrated time (median of 152 fresh
        micro-benchmarks in 4.1 s; quartiles 1.21–1.66×)``."""
        return (
            f"kernels run at {self.ratio:.2f}× their calibrated time (median of "
            f"{self.samples} fresh micro-benchmarks in {self.seconds:.1f} s; quartiles "
            f"{self.low:.2f}–{self.high:.2f}×)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratio": round(self.ratio, 4),
            "quartiles": [round(self.low, 4), round(self.high, 4)],
            "samples": self.samples,
            "seconds": round(self.seconds, 2),
            "families": {k: round(v, 4) for k, v in sorted(self.families.items())},
            "calibration": self.calibrated,
        }


def speed_check(
    model: KernelModel,
    *,
    budget_s: float = DEFAULT_SPEED_CHECK_S,
    seed: int = SPEED_SEED,
    clock: Clock | None = None,
    progress: ProgressFn | None = None,
) -> SpeedCheck:
    """Time fresh micro-benchmarks of ``model``'s families for about ``budget_s`` seconds
    on its device, at its threads and dtype, and compare them with its predictions (see
    the module docstring). An :class:`InputError` when this machine is not the model's
    device (a speed check compares a device with its own calibration)."""
    prov = model.provenance
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise InputError(f"the speed check's budget must be positive, got {budget_s!r}")
    dev = check_device(prov.device)
    here = device_name(dev)
    if here != prov.device_name:
        raise InputError(
            f"the kernel model was calibrated on {prov.device_name}, this is {here}: a "
            "speed check compares a device with its own calibration"
        )
    families = tuple(f for f in PLAN if f in model.families)
    ctx = Ctx.on(dev, DTYPES[prov.dtype])
    started = time.monotonic()
    with bench_session(dev, prov.threads, seed) as used, torch.inference_mode():
        runs = interleave(families, ctx, clock or clock_for(dev, used), seed, budget_s, progress)
    seconds = time.monotonic() - started  # the timing only (the model's first fit is not)
    ratios: list[float] = []
    by_family: dict[str, float] = {}
    for family, (rows, times, _) in runs.items():
        if not rows:
            continue
        mine = np.asarray(times) / model.predict_us(family, rows)
        ratios.extend(float(r) for r in mine)
        by_family[family] = float(np.median(mine))
    if not ratios:
        raise InputError("the speed check timed no kernel: give it a larger budget")
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return SpeedCheck(
        ratio=statistics.median(ratios),
        low=q[0],
        high=q[2],
        samples=len(ratios),
        seconds=seconds,
        families=MappingProxyType(by_family),
        calibrated=prov.text,
    )


@dataclass(frozen=True)
class PredictionCheck:
    """A kernel model's end-to-end prediction beside the time ``convscope profile``
    measured for the same model and batch size, with the device's speed at the time when
    a speed check ran (:class:`SpeedCheck`)."""

    target: str
    predicted_ms: float
    batch: int
    device: str  # the kernel model's device type and threads, to say when a run differs
    threads: int
    speed: SpeedCheck | None = None

    def comparable(self, device: str, threads: int) -> str | None:
        """Why a run on ``device`` at ``threads`` threads does not measure what the model
        predicts; None when it does."""
        if device.split(":")[0] != self.device:
            return f"the kernel model is of {self.device}, the run was on {device}"
        if threads != self.threads:
            return (
                f"the kernel model was calibrated at {self.threads} thread(s), the run used "
                f"{threads} (pass --threads {self.threads})"
            )
        return None

    @property
    def at_checked_speed_ms(self) -> float | None:
        """The prediction at the speed the speed check measured (None without one)."""
        return None if self.speed is None else self.predicted_ms * self.speed.ratio

    def error(self, measured_ms: float | None, *, checked: bool = False) -> float | None:
        """predicted / measured − 1, of the prediction as made or (``checked``) at the
        checked speed; None without a measured time (or a speed check)."""
        predicted = self.at_checked_speed_ms if checked else self.predicted_ms
        return None if not measured_ms or predicted is None else predicted / measured_ms - 1

    def to_dict(self, measured_ms: float | None, device: str, threads: int) -> dict[str, Any]:
        """The JSON object, ``error`` as predicted / measured − 1."""
        at_speed = self.at_checked_speed_ms
        return {
            "target": self.target,
            "batch": self.batch,
            "predicted_ms": round(self.predicted_ms, 6),
            "measured_ms": None if measured_ms is None else round(measured_ms, 6),
            "error": _rounded(self.error(measured_ms)),
            "not_comparable": self.comparable(device, threads),
            "speed_check": None if self.speed is None else self.speed.to_dict(),
            "predicted_at_checked_speed_ms": None if at_speed is None else round(at_speed, 6),
            "error_at_checked_speed": _rounded(self.error(measured_ms, checked=True)),
        }


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
