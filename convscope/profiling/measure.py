"""End-to-end latency: preparing the model and inputs, the timing loop, statistics, memory.

How a batch size is timed (:func:`time_batch`):

1. ``warmup`` untimed iterations (oneDNN/cuDNN pick and cache their kernels here).
2. Timed iterations until their summed time reaches ``min_time`` seconds and at least
   :data:`MIN_ITERS` ran, or ``max_iters`` ran, whichever comes first.
3. Median, p10, p90 (linear interpolation between order statistics), spread
   ``(p90 - p10) / median`` and throughput ``batch / median``.

CPU iterations are timed with ``time.perf_counter_ns`` (a CPU forward is synchronous).
CUDA iterations are timed with CUDA events recorded on the current stream after a
``torch.cuda.synchronize()``, so each sample is the GPU time of one whole forward with
nothing queued before it. Everything runs under ``torch.inference_mode()`` with the model in
eval mode; the train/eval flag of every module is restored afterwards.

Memory: on CUDA, ``torch.cuda.max_memory_allocated`` after resetting the peak statistics;
on CPU, the growth of the process's resident set during the run: the peak RSS (``VmHWM``
in ``/proc/self/status``, reset beforehand by writing ``5`` to ``/proc/self/clear_refs``)
minus the RSS before. Where the peak cannot be reset, ``ru_maxrss`` (the process's lifetime
peak) is used and the result says so.

Page faults: on CPU, the process's minor page faults (``getrusage``'s ``ru_minflt``) during
each timed forward, reported as the median per forward. A forward that faults is given
fresh pages by the C allocator every time (glibc's ``malloc`` serves large blocks by
``mmap`` or from a heap it trims back): each fault costs microseconds that no kernel pays
and that a kernel model's prediction therefore leaves out.
"""

from __future__ import annotations

import contextlib
import copy
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

try:  # POSIX only: absent on Windows, where page faults are not counted
    import resource
except ImportError:  # pragma: no cover - not on the platforms CI runs
    resource = None  # type: ignore[assignment]

from convscope.errors import ConvscopeError, InputError, describe
from convscope.model.arguments import ModelInputs
from convscope.model.modes import eval_mode

__all__ = [
    "MIN_ITERS",
    "BatchResult",
    "MemoryResult",
    "ProgressFn",
    "Stats",
    "check_device",
    "device_context",
    "device_name",
    "eval_mode",
    "make_inputs",
    "minor_faults",
    "prepare_model",
    "quantiles",
    "time_batch",
]

#: Fewest timed iterations per batch size, unless ``max_iters`` is smaller.
MIN_ITERS = 3

#: ``progress(label, fraction)``: called while measuring, ``fraction`` in [0, 1].
ProgressFn = Callable[[str, float], None]


class DeviceError(ConvscopeError):
    """The requested device is not available on this machine."""


# --------------------------------------------------------------------------- statistics


def quantiles(samples: Sequence[float], qs: Sequence[float]) -> list[float]:
    """Quantiles by linear interpolation between order statistics (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    data = sorted(samples)
    n = len(data)
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        out.append(data[lo] + (data[hi] - data[lo]) * (pos - lo))
    return out


@dataclass(frozen=True)
class Stats:
    """Summary of timed samples, in seconds."""

    iters: int
    median_s: float
    p10_s: float
    p90_s: float
    mean_s: float
    min_s: float
    max_s: float
    total_s: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        p10, p50, p90 = quantiles(samples, (0.1, 0.5, 0.9))
        return cls(
            iters=len(samples),
            median_s=p50,
            p10_s=p10,
            p90_s=p90,
            mean_s=statistics.fmean(samples),
            min_s=min(samples),
            max_s=max(samples),
            total_s=sum(samples),
        )

    @property
    def spread(self) -> float:
        """``(p90 - p10) / median``: the relative width of the middle 80 % of samples."""
        return (self.p90_s - self.p10_s) / self.median_s if self.median_s > 0 else 0.0


@dataclass(frozen=True)
class MemoryResult:
    """Memory measured while one batch size ran.

    ``method``: ``"cuda-max-allocated"``, ``"rss-vmhwm"`` (peak reset before the run) or
    ``"rss-maxrss"`` (process lifetime peak: an upper bound of the run's own peak).
    ``growth_bytes`` is ``peak_bytes - before_bytes`` (never negative).
    """

    method: str
    before_bytes: int
    peak_bytes: int

    @property
    def growth_bytes(self) -> int:
        return max(0, self.peak_bytes - self.before_bytes)

    @property
    def label(self) -> str:
        """What ``growth_bytes`` is, in the words every output uses for "peak memory"."""
        if self.method.startswith("cuda"):
            return "peak CUDA allocation growth during the timed runs"
        if self.method == "rss-maxrss":
            return "peak RSS growth during the timed runs (lifetime peak: an upper bound)"
        return "peak RSS growth during the timed runs"


@dataclass(frozen=True)
class BatchResult:
    """End-to-end latency of one batch size."""

    batch_size: int
    stats: Stats
    memory: MemoryResult | None
    input_shapes: tuple[tuple[int, ...], ...]
    # Median minor page faults of the process per timed forward (CPU; None where not counted).
    page_faults: float | None = None

    @property
    def throughput(self) -> float:
        """Images (samples) per second at the median latency."""
        return self.batch_size / self.stats.median_s if self.stats.median_s > 0 else 0.0


# --------------------------------------------------------------------------- device, model


def check_device(device: str) -> torch.device:
    """Validate ``cpu`` / ``cuda`` / ``cuda:N``; one-line error when CUDA is missing."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"unknown device '{device}' (use cpu or cuda)") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                "--device cuda: CUDA is not available on this machine "
                f"(torch {torch.__version__}, "
                f"built with CUDA {torch.version.cuda or 'none'})"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {device}: only {torch.cuda.device_count()} CUDA device(s) present"
            )
    elif dev.type != "cpu":
        raise DeviceError(f"unsupported profiling device '{device}' (use cpu or cuda)")
    return dev


def device_context(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """Make ``device`` the current CUDA device (events and streams follow it); no-op on CPU."""
    if device.type == "cuda" and device.index is not None:
        return torch.cuda.device(device)
    return contextlib.nullcontext()


def device_name(device: torch.device) -> str:
    """A human name for the device: the GPU's name, or the CPU model and core count."""
    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    name = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    name = name or platform.processor() or platform.machine() or "cpu"
    return f"{name} ({os.cpu_count() or '?'} logical cores)"


def _tensors(model: nn.Module) -> list[torch.Tensor]:
    return [*model.parameters(), *model.buffers()]


def prepare_model(
    model: nn.Module, device: torch.device, channels_last: bool
) -> tuple[nn.Module, bool]:
    """The module to run and whether it is a copy.

    The user's module is used as is when it already lives on ``device`` and no layout
    change is asked for; moving it to another device or to channels_last happens on a
    ``copy.deepcopy``, so the caller's object never changes.
    """
    tensors = _tensors(model)
    if any(t.is_meta for t in tensors):
        raise InputError(
            "the model has meta (unallocated) weights; profiling needs a real "
            "model (load it with device='cpu')"
        )
    on_device = all(t.device.type == device.type for t in tensors)
    if on_device and not channels_last:
        return model, False
    try:
        work = copy.deepcopy(model)
    except Exception as exc:  # user modules can hold anything
        raise ConvscopeError(
            f"cannot copy the model to move it to {device} / channels_last: {describe(exc)}"
        ) from exc
    work = work.to(device)
    if channels_last:
        work = work.to(memory_format=torch.channels_last)
    return work, True


def make_inputs(
    inputs: ModelInputs,
    batch_size: int | None,
    device: torch.device,
    channels_last: bool = False,
    seed: int = 0,
) -> ModelInputs:
    """Real input tensors for one batch size.

    Dimension 0 of every tensor becomes ``batch_size`` (None keeps the shapes). Meta tensors
    (shapes only) become ``torch.randn`` (floating) or zeros (integer, bool) of that shape;
    real tensors keep their values, cycled along dimension 0 to the new batch size.
    4-D floating tensors are made channels_last when asked. Non-tensors pass through.
    """
    gen = torch.Generator().manual_seed(seed)

    def make(t: Any) -> Any:
        if not isinstance(t, torch.Tensor):
            return t
        shape = list(t.shape)
        if batch_size is not None and shape:
            shape[0] = batch_size
        if t.is_meta:
            if t.dtype.is_floating_point or t.dtype.is_complex:
                real = torch.randn(shape, generator=gen, dtype=t.dtype)
            else:
                real = torch.zeros(shape, dtype=t.dtype)
        elif list(t.shape) == shape:
            real = t.detach()
        else:
            if t.shape[0] == 0:
                raise InputError("cannot resize an input with an empty batch dimension")
            index = torch.arange(shape[0], device=t.device) % t.shape[0]
            real = t.detach().index_select(0, index)
        real = real.to(device)
        if channels_last and real.dim() == 4 and real.dtype.is_floating_point:
            real = real.contiguous(memory_format=torch.channels_last)
        return real

    return inputs.map(make)


def input_shapes(inputs: ModelInputs) -> tuple[tuple[int, ...], ...]:
    return tuple(
        tuple(int(d) for d in t.shape) for t in inputs.values() if isinstance(t, torch.Tensor)
    )


# --------------------------------------------------------------------------- clocks


class Clock:
    """Times one call of a function, in seconds; CPU wall time by default."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def time(self, fn: Callable[[], Any]) -> float:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) / 1e3
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) / 1e9


# --------------------------------------------------------------------------- memory


_STATUS_RE = re.compile(r"^(VmRSS|VmHWM):\s+(\d+)\s+kB", re.MULTILINE)


def _proc_status() -> dict[str, int] | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return None
    values = {k: int(v) * 1024 for k, v in _STATUS_RE.findall(text)}
    return values if "VmRSS" in values else None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    scale = 1 if platform.system() == "Darwin" else 1024  # bytes on macOS, KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


class MemoryProbe:
    """Peak memory of a block of work: CUDA allocator peak or CPU resident-set growth."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.method = ""
        self.before = 0

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.method = "cuda-max-allocated"
            self.before = int(torch.cuda.memory_allocated(self.device))
            return
        reset = _reset_peak_rss()
        status = _proc_status()
        if status is not None:
            self.before = status["VmRSS"]
            self.method = "rss-vmhwm" if reset and "VmHWM" in status else "rss-maxrss"
        else:
            self.before = _maxrss_bytes() or 0
            self.method = "rss-maxrss"

    def stop(self) -> MemoryResult | None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = int(torch.cuda.max_memory_allocated(self.device))
            return MemoryResult(self.method, self.before, peak)
        if self.method == "rss-vmhwm":
            status = _proc_status()
            if status is not None and "VmHWM" in status:
                return MemoryResult(self.method, self.before, status["VmHWM"])
        maxrss = _maxrss_bytes()
        if maxrss is None:
            return None
        return MemoryResult("rss-maxrss", self.before, maxrss)


# --------------------------------------------------------------------------- timing loop


def minor_faults() -> int | None:
    """The process's minor page faults so far (None where ``getrusage`` is missing)."""
    if resource is None:
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def time_batch(
    fn: Callable[[], Any],
    clock: Clock,
    *,
    warmup: int = 3,
    min_time: float = 1.0,
    max_iters: int | None = None,
    after_each: Callable[[], None] | None = None,
    progress: ProgressFn | None = None,
    label: str = "timing",
    faults: list[int] | None = None,
) -> list[float]:
    """Warm up, then time ``fn`` until ``min_time`` seconds of samples and
    :data:`MIN_ITERS` samples, or ``max_iters`` samples. Returns the samples in seconds.

    ``after_each`` runs (untimed) after every timed iteration: the per-layer pass uses it
    to interleave one instrumented iteration with each plain one, so both see the same
    machine state (load from other processes, clocks, caches). ``faults``, when given,
    receives the process's minor page faults during each timed iteration (counted outside
    the timed span; nothing is appended where they cannot be counted).
    """
    if max_iters is not None and max_iters < 1:
        raise InputError("max_iters must be at least 1")
    for i in range(max(0, warmup)):
        fn()
        if progress is not None:
            progress(f"warm-up · {label}", (i + 1) / max(1, warmup))
    clock.sync()
    least = MIN_ITERS if max_iters is None else min(MIN_ITERS, max_iters)
    samples: list[float] = []
    spent = 0.0
    last_report = 0.0
    while True:
        before = minor_faults() if faults is not None else None
        dt = clock.time(fn)
        after = minor_faults() if before is not None else None
        if faults is not None and before is not None and after is not None:
            faults.append(after - before)
        samples.append(dt)
        spent += dt
        if after_each is not None:
            after_each()
        done_time = spent >= min_time
        if (max_iters is not None and len(samples) >= max_iters) or (
            done_time and len(samples) >= least
        ):
            break
        if progress is not None and time.monotonic() - last_report > 0.1:
            last_report = time.monotonic()
            by_time = spent / min_time if min_time > 0 else 1.0
            by_count = len(samples) / max_iters if max_iters else 0.0
            progress(label, min(1.0, max(by_time, by_count)))
    if progress is not None:
        progress(label, 1.0)
    return samples
