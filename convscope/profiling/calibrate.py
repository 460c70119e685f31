"""Measure this machine's roofline: peak GEMM FLOP/s and memory bandwidth.

* **Peak compute**: square ``torch.matmul(a, b, out=c)`` in the model dtype (fp32 by
  default). The size doubles from 256 until one product takes ≥ 50 ms (cap 4096 on CPU,
  8192 on CUDA) so the GEMM is compute-bound; then products repeat for half the time
  budget and the *best* rate ``2·n³ / t`` is kept (the peak the hardware reached, not the
  average under interference from other processes).
* **Bandwidth**: ``dst.copy_(src)`` of a buffer far larger than the last-level cache
  (128 MiB on CPU, 1 GiB on CUDA), repeated for the other half of the budget; the best
  rate ``2·bytes / t`` (every byte read once and written once) is kept. A copy reaches
  less than a STREAM triad on some CPUs; it is what convolution layers do (read
  activations, write activations), which is the point of the figure.

Stability: the pair of measurements is one *round*. Rounds repeat until the last two agree
within :data:`STABLE_TOLERANCE` on both figures (at least two rounds, at most
:data:`MAX_ROUNDS`, so up to twice the budget); the best of all rounds is kept, and a
calibration whose rounds never agreed says so (``stable: false``) instead of passing one
lucky or unlucky round off as the machine's roofline.

CPU uses ``torch.get_num_threads()`` threads (settable); CUDA is timed with events after a
synchronize. :meth:`Calibration.to_profile_yaml` writes the numbers as a target profile
that ``--target machine.yaml`` reads back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from convscope.profiling.measure import (
    Clock,
    ProgressFn,
    check_device,
    device_context,
    device_name,
)
from convscope.targets.roofline import RooflineParams

__all__ = ["MAX_ROUNDS", "STABLE_TOLERANCE", "Calibration", "calibrate", "rounds_agree"]

#: Two rounds agree when each figure differs by at most this share of the larger one.
STABLE_TOLERANCE = 0.10
MAX_ROUNDS = 4

_MIN_GEMM_S = 0.05
_MAX_N = {"cpu": 4096, "cuda": 8192}
_COPY_BYTES = {"cpu": 128 * 2**20, "cuda": 2**30}


@dataclass(frozen=True)
class Calibration:
    """Peak figures measured on one device."""

    device: str
    device_name: str
    threads: int
    dtype: str
    peak_flops: float  # FLOP/s
    bandwidth: float  # bytes/s
    gemm_n: int
    gemm_runs: int
    copy_bytes: int
    copy_runs: int
    seconds: float
    torch_version: str
    rounds: tuple[tuple[float, float], ...] = ()  # (FLOP/s, bytes/s) of every round
    stable: bool = True  # the last two rounds agreed within STABLE_TOLERANCE

    @property
    def ridge_point(self) -> float:
        return self.peak_flops / self.bandwidth

    @property
    def source(self) -> str:
        return (
            f"convscope profile --calibrate on {self.device_name}, {self.threads} "
            f"thread(s), torch {self.torch_version}: best {self.dtype} GEMM "
            f"{self.gemm_n}^3 of {self.gemm_runs}, best copy of "
            f"{self.copy_bytes // 2**20} MiB of {self.copy_runs}, "
            f"{len(self.rounds)} round(s), {'stable' if self.stable else 'NOT stable'}"
        )

    def params(self) -> RooflineParams:
        return RooflineParams(
            self.peak_flops,
            self.bandwidth,
            name="calibrated",
            source=self.source,
            device=self.device.split(":")[0],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "device_name": self.device_name,
            "threads": self.threads,
            "dtype": self.dtype,
            "peak_flops": self.peak_flops,
            "bandwidth": self.bandwidth,
            "ridge_point": round(self.ridge_point, 3),
            "gemm_n": self.gemm_n,
            "gemm_runs": self.gemm_runs,
            "copy_bytes": self.copy_bytes,
            "copy_runs": self.copy_runs,
            "seconds": round(self.seconds, 3),
            "rounds": [{"peak_flops": f, "bandwidth": b} for f, b in self.rounds],
            "stable": self.stable,
            "tolerance": STABLE_TOLERANCE,
            "torch": self.torch_version,
            "source": self.source,
        }

    def to_profile_yaml(self) -> str:
        """A target profile (``rules/profiles`` format) holding the measured roofline."""
        source = self.source.replace('"', "'")
        return (
            "# Target profile written by `convscope profile --calibrate`.\n"
            "# Use it with --target FILE.yaml (profile --roofline, lint PF001).\n"
            f'description: "Measured roofline of {self.device_name} '
            f'({self.device}, {self.threads} thread(s), {self.dtype})."\n'
            f"device: {self.device.split(':')[0]}\n"
            "int8: false\n"
            "roofline:\n"
            f"  peak-flops: {self.peak_flops:.4e}  # FLOP/s\n"
            f"  bandwidth: {self.bandwidth:.4e}  # bytes/s\n"
            f'  source: "{source}"\n'
        )


def _best_rate(
    run: Callable[[], None], clock: Clock, work: float, budget_s: float, min_runs: int = 2
) -> tuple[float, int]:
    """Best ``work / time`` over repeated runs for ``budget_s`` seconds (≥ ``min_runs``)."""
    best = 0.0
    runs = 0
    start = time.monotonic()
    while runs < min_runs or time.monotonic() - start < budget_s:
        dt = clock.time(run)
        runs += 1
        if dt > 0:
            best = max(best, work / dt)
    return best, runs


def rounds_agree(
    rounds: Sequence[tuple[float, float]], tolerance: float = STABLE_TOLERANCE
) -> bool:
    """Whether the last two rounds agree within ``tolerance`` on every figure."""
    if len(rounds) < 2:
        return False
    a, b = rounds[-2], rounds[-1]
    return all(abs(x - y) <= tolerance * max(x, y) for x, y in zip(a, b, strict=True))


def calibrate(
    device: str = "cpu",
    *,
    dtype: torch.dtype = torch.float32,
    budget_s: float = 3.0,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    clock: Clock | None = None,
) -> Calibration:
    """Measure peak GEMM FLOP/s and copy bandwidth: rounds of ``budget_s / 2`` seconds,
    repeated until two consecutive rounds agree (see the module docstring). ``clock``
    times the calls (default: the device's, :class:`Clock`)."""
    dev = check_device(device)
    clock = clock if clock is not None else Clock(dev)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    started = time.monotonic()
    try:
        with device_context(dev), torch.inference_mode():
            # GEMM: grow n until one product is long enough to be compute-bound.
            n = 256
            while True:
                a = torch.randn(n, n, device=dev, dtype=dtype)
                b_ = torch.randn(n, n, device=dev, dtype=dtype)
                c = torch.empty(n, n, device=dev, dtype=dtype)

                def gemm(a: torch.Tensor = a, b: torch.Tensor = b_, c: torch.Tensor = c) -> None:
                    torch.matmul(a, b, out=c)

                gemm()  # warm-up (first call picks the kernel)
                dt = clock.time(gemm)
                if dt >= _MIN_GEMM_S or n >= _MAX_N[dev.type]:
                    break
                n *= 2
            nbytes = _COPY_BYTES[dev.type]
            elems = nbytes // 4
            src = torch.ones(elems, device=dev, dtype=torch.float32)
            dst = torch.empty_like(src)

            def copy(src: torch.Tensor = src, dst: torch.Tensor = dst) -> None:
                dst.copy_(src)

            copy()
            rounds: list[tuple[float, float]] = []
            gemm_runs = copy_runs = 0
            # Each round splits budget/2 between GEMM and copy: two rounds take the budget.
            while len(rounds) < MAX_ROUNDS and not rounds_agree(rounds):
                if progress is not None:
                    progress(f"calibrate · round {len(rounds) + 1}", 0.0)
                f, runs = _best_rate(gemm, clock, 2.0 * n**3, budget_s / 4)
                gemm_runs += runs
                if progress is not None:
                    progress(f"calibrate · round {len(rounds) + 1}", 0.5)
                b, runs = _best_rate(copy, clock, 2.0 * elems * 4, budget_s / 4)
                copy_runs += runs
                rounds.append((f, b))
                if progress is not None:
                    progress(f"calibrate · round {len(rounds)}", 1.0)
            del a, b_, c, src, dst
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
    return Calibration(
        device=str(dev),
        device_name=device_name(dev),
        threads=used,
        dtype=str(dtype).removeprefix("torch."),
        peak_flops=max(f for f, _ in rounds),
        bandwidth=max(b for _, b in rounds),
        gemm_n=n,
        gemm_runs=gemm_runs,
        copy_bytes=elems * 4,
        copy_runs=copy_runs,
        seconds=time.monotonic() - started,
        torch_version=torch.__version__,
        rounds=tuple(rounds),
        stable=rounds_agree(rounds),
    )
