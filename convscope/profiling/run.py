"""Latency profiling: end-to-end and per-layer times, memory, traces and the roofline.

Library use::

    from convscope.profiling.run import profile, with_profile
    result = profile(model, (1, 3, 224, 224), batch_sizes=(1, 8), min_time=1.0)
    report = with_profile(convscope.analyze(model, (1, 3, 224, 224)), result)

:func:`profile` measures (see :mod:`~convscope.profiling.measure` for the timing loop,
:mod:`~convscope.profiling.layers` for per-layer self times, :mod:`~convscope.profiling.traces`
for trace export); :func:`with_profile` attaches the result to an
:class:`~convscope.analysis.build.Analysis` as its ``PROFILE`` section — a :class:`ProfileSection`
whose ``summary_dict()`` / ``layer_dict(path)`` become the ``profile`` section of the JSON
report and the per-layer ``profile`` objects (median_ms, share, predicted_ms, bound,
achieved). :mod:`~convscope.targets.roofline` is pure and importable without torch.

Latency gate for ``diff`` (noise-aware): with each side's p10/p90 in the JSON, head
*regresses* only when ``head.p10 > base.p90 × (1 + pct)`` — even head's fast runs are
slower than base's slow runs by more than ``pct`` — and *improves* only when
``head.p90 < base.p10 × (1 − pct)``. See :func:`latency_verdict`. Default ``pct`` 5 %.

This package module is callable (``convscope.profiling(model, ...)`` works whether the name
resolves to the package or to the :func:`profile` function).
"""

from __future__ import annotations

import functools
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from convscope.analysis.run import as_inputs
from convscope.errors import InputError, describe
from convscope.model.guard import ModelCodeError, model_code, module_label
from convscope.model.state import keeps_global_state
from convscope.profiling import layers as layers_mod
from convscope.profiling import measure, traces
from convscope.profiling.keys import PROFILE
from convscope.profiling.reliability import ACHIEVED_LIMIT, assess
from convscope.profiling.speed_check import PredictionCheck
from convscope.targets import roofline as roofline_mod

if TYPE_CHECKING:
    from torch import nn

    from convscope.analysis.build import Analysis
    from convscope.model.arguments import ModelInputs
    from convscope.profiling.calibrate import Calibration
    from convscope.profiling.layers import LayerTimes
    from convscope.profiling.measure import BatchResult, ProgressFn
    from convscope.profiling.reliability import Reliability
    from convscope.profiling.traces import TraceFiles
    from convscope.targets.roofline import RooflineParams, RooflineReport

__all__ = [
    "DEFAULT_GATE_PCT",
    "THREADS_PER_CPU",
    "ProfileResult",
    "ProfileSection",
    "available_memory",
    "check_memory",
    "estimate_bytes",
    "latency_verdict",
    "max_threads",
    "profile",
    "with_profile",
]

DEFAULT_GATE_PCT = 0.05
GATE_RULE = (
    "regressed iff head.p10_ms > base.p90_ms * (1 + pct); improved iff "
    "head.p90_ms < base.p10_ms * (1 - pct)"
)


@dataclass(frozen=True)
class ProfileResult:
    """Everything one :func:`profile` call measured."""

    model: str
    device: str
    device_name: str
    torch_version: str
    threads: int
    channels_last: bool
    dtype: str
    warmup: int
    min_time: float
    max_iters: int | None
    batches: tuple[BatchResult, ...]
    layers: LayerTimes | None  # per-layer self times at batches[0]
    trace: TraceFiles | None
    conv_input_channels_last: bool | None  # first conv's input layout, observed in the run
    conv_weight_channels_last: bool | None
    model_copied: bool  # the run used a copy (device move / channels_last)

    def batch(self, size: int) -> BatchResult:
        for b in self.batches:
            if b.batch_size == size:
                return b
        raise KeyError(size)

    @property
    def e2e_median_s(self) -> float:
        """End-to-end median of the first batch size (the one timed per layer)."""
        return self.batches[0].stats.median_s


def latency_verdict(
    base: Mapping[str, float], head: Mapping[str, float], pct: float = DEFAULT_GATE_PCT
) -> Literal["regressed", "improved", "unchanged"]:
    """Noise-aware comparison of two latency summaries with ``p10_ms`` and ``p90_ms`` keys
    (a ``profile.batches[i]`` entry of the JSON report): see the module docstring."""
    if head["p10_ms"] > base["p90_ms"] * (1.0 + pct):
        return "regressed"
    if head["p90_ms"] < base["p10_ms"] * (1.0 - pct):
        return "improved"
    return "unchanged"


# --------------------------------------------------------------------------- measuring


# More threads than cores only oversubscribe; far more cannot even start (libgomp aborts
# near 20,000 and torch crashes at 100,000 on a 2-core machine). Four per core leaves room
# for hyper-threads and for measuring oversubscription itself.
THREADS_PER_CPU = 4


def max_threads() -> int:
    """The largest ``threads`` a run accepts: :data:`THREADS_PER_CPU` per CPU."""
    return THREADS_PER_CPU * (os.cpu_count() or 1)


def estimate_bytes(analysis: Analysis, batch_sizes: Sequence[int | None]) -> dict[int, int]:
    """Bytes a forward at each batch size needs at least: inputs and every activation
    (scaled from the analysed batch) plus the weights once. A lower bound, so a run it
    rejects could never fit."""

    base = _analysed_batch(analysis)
    inputs = 0
    for spec in analysis.graph.inputs:
        dtype = getattr(torch, spec.dtype.removeprefix("torch."), torch.float32)
        inputs += spec.numel * torch.empty((), dtype=dtype).element_size()
    # the peak of live activations already counts the inputs while they are alive
    per_batch = max(int(analysis.totals.peak_activation_bytes), inputs)
    out: dict[int, int] = {}
    for size in batch_sizes:
        bs = base if size is None else size
        out[bs] = int(analysis.totals.param_bytes) + per_batch * bs // max(base, 1)
    return out


def _analysed_batch(analysis: Analysis) -> int:
    shapes = [s for s in analysis.input_shapes if s]
    return int(shapes[0][0]) if shapes else 1


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (MemAvailable), else the
    free physical pages; None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(analysis: Analysis, batch_sizes: Sequence[int | None]) -> None:
    """Refuse, before anything is allocated, batch sizes whose forward cannot fit in RAM."""

    available = available_memory()
    if available is None:
        return
    for bs, need in sorted(estimate_bytes(analysis, batch_sizes).items()):
        if need > available:
            raise InputError(
                f"batch size {bs} needs at least {_gib(need)} (inputs, activations and "
                f"weights) but only {_gib(available)} of memory is available"
            )


def _check_input_memory(model: nn.Module, inputs: ModelInputs, sizes: Sequence[int | None]) -> None:
    """The library's own floor, for callers without an analysis: the inputs of each batch
    size plus the weights must fit before ``torch.randn`` allocates them."""

    available = available_memory()
    if available is None:
        return
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    for size in sizes:
        need = weights
        for t in inputs.values():
            if isinstance(t, torch.Tensor):
                per_sample = t[0].numel() if t.dim() and t.shape[0] else t.numel()
                rows = size if size is not None and t.dim() else (t.shape[0] if t.dim() else 1)
                need += per_sample * rows * t.element_size()
        if need > available:
            raise InputError(
                f"batch size {size} needs at least {_gib(need)} for its inputs and weights "
                f"but only {_gib(available)} of memory is available"
            )


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


@keeps_global_state
def profile(
    model: nn.Module,
    inputs: Any = None,
    *,
    device: str = "cpu",
    batch_sizes: Sequence[int] | None = (1,),
    threads: int | None = None,
    channels_last: bool = False,
    min_time: float = 1.0,
    max_iters: int | None = None,
    warmup: int = 3,
    trace_dir: str | None = None,
    per_layer: bool = True,
    name: str | None = None,
    progress: ProgressFn | None = None,
    quiet: bool = True,
) -> ProfileResult:
    """Measure the latency of ``model`` on ``inputs``.

    ``inputs``: a tensor, tensors, a shape or shapes (as :func:`convscope.analyze`; meta
    tensors and shapes become ``torch.randn``). Dimension 0 of every input is set to each of
    ``batch_sizes`` in turn (None: the inputs as given). Per batch size: ``warmup``
    iterations, then timed ones until ``min_time`` seconds (or ``max_iters``). With
    ``per_layer``, the first batch size also gets per-layer self times (instrumented
    iterations interleaved with the timed ones). ``threads`` sets ``torch.set_num_threads``
    for the run (restored after). ``trace_dir`` writes ``trace.json`` (Chrome/Perfetto)
    and ``tb/`` (TensorBoard) there.

    The user's model is run as is, in eval mode under ``torch.inference_mode()``, and every
    module's train/eval flag is restored; moving it to CUDA or channels_last works on a
    deep copy. ``device="cuda"`` without CUDA raises a one-line :class:`ConvscopeError`.
    """

    dev = measure.check_device(device)
    if not math.isfinite(min_time) or min_time < 0:
        raise InputError(f"min_time must be a finite, non-negative number, got {min_time!r}")
    if threads is not None and not 1 <= threads <= max_threads():
        raise InputError(f"threads must be between 1 and {max_threads()}, got {threads}")
    sizes: list[int | None] = list(batch_sizes) if batch_sizes else [None]
    if any(b is not None and b < 1 for b in sizes):
        raise InputError(f"batch sizes must be positive, got {list(batch_sizes or ())}")
    base_inputs = as_inputs(inputs)
    _check_input_memory(model, base_inputs, sizes)
    work, copied = measure.prepare_model(model, dev, channels_last)
    label_of_model = module_label(model)
    clock = measure.Clock(dev)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    results: list[BatchResult] = []
    layer_times: LayerTimes | None = None
    trace_files: TraceFiles | None = None
    conv_in: bool | None = None
    conv_w: bool | None = None
    try:
        used_threads = torch.get_num_threads()
        with (
            model_code("forward", label_of_model, timed=False),
            measure.device_context(dev),
            measure.eval_mode(work),
            torch.inference_mode(),
        ):
            for index, size in enumerate(sizes):
                xs = measure.make_inputs(base_inputs, size, dev, channels_last)
                shapes = measure.input_shapes(xs)
                bs = size if size is not None else (shapes[0][0] if shapes and shapes[0] else 1)
                label = f"batch {bs}"

                def forward(xs: ModelInputs = xs) -> Any:
                    with model_code("forward", label_of_model):
                        return xs.call(work)

                probe = measure.MemoryProbe(dev)
                probe.start()  # before the first forward at this size: its peak counts
                if index == 0:
                    try:
                        conv_in, conv_w = _conv_layout(work, forward)
                    except ModelCodeError:  # exit, interrupt or timeout: never retried or hidden
                        raise
                    except Exception as exc:  # the user's model on the user's inputs
                        raise InputError(
                            f"running the model on inputs {list(shapes)} failed: "
                            f"{describe(exc, 200)}"
                        ) from exc
                recorder = layers_mod.LayerRecorder(work, dev) if per_layer and index == 0 else None
                after_each = (
                    functools.partial(recorder.run, forward) if recorder is not None else None
                )
                faults: list[int] = []
                samples = measure.time_batch(
                    forward,
                    clock,
                    warmup=warmup,
                    min_time=min_time,
                    max_iters=max_iters,
                    after_each=after_each,
                    progress=progress,
                    label=label,
                    faults=None if dev.type == "cuda" else faults,
                )
                memory = probe.stop()
                per_forward = statistics.median(faults) if faults else None
                results.append(
                    measure.BatchResult(
                        bs, measure.Stats.of(samples), memory, shapes, page_faults=per_forward
                    )
                )
                if recorder is not None:
                    layer_times = recorder.result(bs)
                if trace_dir is not None and index == 0:
                    if progress is not None:
                        progress("trace", 0.0)
                    trace_files = traces.capture(forward, work, trace_dir, device=dev, quiet=quiet)
                    if progress is not None:
                        progress("trace", 1.0)
    finally:
        torch.set_num_threads(old_threads)
    param = next(iter(work.parameters()), None)
    return ProfileResult(
        model=name or type(model).__name__,
        device=str(dev),
        device_name=measure.device_name(dev),
        torch_version=torch.__version__,
        threads=used_threads,
        channels_last=channels_last,
        dtype=str(param.dtype).removeprefix("torch.") if param is not None else "float32",
        warmup=warmup,
        min_time=min_time,
        max_iters=max_iters,
        batches=tuple(results),
        layers=layer_times,
        trace=trace_files,
        conv_input_channels_last=conv_in,
        conv_weight_channels_last=conv_w,
        model_copied=copied,
    )


def _conv_layout(model: nn.Module, forward: Any) -> tuple[bool | None, bool | None]:
    """Run ``forward`` once and report whether the first 2-D conv's input and weight are
    channels_last (strictly: not also plain contiguous). Doubles as a warm-up iteration."""

    seen: list[tuple[bool, bool]] = []

    def strict_cl(t: torch.Tensor) -> bool:
        return (
            t.dim() == 4
            and t.is_contiguous(memory_format=torch.channels_last)
            and not t.is_contiguous()
        )

    def pre(module: nn.Module, args: Any) -> None:
        if (
            not seen
            and isinstance(module, nn.Conv2d)
            and args
            and isinstance(args[0], torch.Tensor)
            and args[0].dim() == 4
        ):
            seen.append((strict_cl(args[0]), strict_cl(module.weight)))

    ours = {id(m) for m in model.modules()}

    def pre_ours(module: nn.Module, args: Any) -> None:
        if id(module) in ours:
            pre(module, args)

    # A global hook: nothing is registered on the user's modules.
    handle = nn.modules.module.register_module_forward_pre_hook(pre_ours)
    try:
        forward()
    finally:
        handle.remove()
    return seen[0] if seen else (None, None)


# --------------------------------------------------------------------------- JSON section


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e3, 6)


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


@dataclass(frozen=True)
class ProfileSection:
    """The ``PROFILE`` section of an analysis: measured latency beside the static analysis.

    ``paths`` are the analysis rows the per-layer times are attributed to; the remainder
    (``e2e median − Σ row medians``) is reported, never folded into a layer.
    """

    result: ProfileResult
    paths: tuple[str, ...]
    roofline: RooflineReport | None = None
    analytic_peak_bytes: int | None = None
    analytic_batch: int | None = None
    calibration: Calibration | None = None  # when the roofline was measured here
    # A kernel model's prediction of the first batch size (profile --target DEVICE.yaml).
    prediction: PredictionCheck | None = None

    @functools.cached_property
    def reliability(self) -> Reliability:
        """The profiler's verdict on its own numbers (:mod:`convscope.profiling.reliability`)."""

        r = self.result
        remainder = self.remainder_s
        e2e = r.e2e_median_s
        roof = self.roofline
        return assess(
            spreads={b.batch_size: b.stats.spread for b in r.batches},
            unattributed_share=remainder / e2e if remainder is not None and e2e else None,
            achieved={x.path: x.achieved for x in roof.layers} if roof is not None else None,
            measured_device=r.device,
            roof_device=roof.params.device if roof is not None else None,
            roof_name=roof.params.name if roof is not None else None,
            calibration_stable=self.calibration.stable if self.calibration else None,
        )

    # -- reconciliation -----------------------------------------------------------------
    @property
    def layers_sum_s(self) -> float | None:
        times = self.result.layers
        if times is None:
            return None
        wanted = set(self.paths)
        return sum(layer.time_s for layer in times.layers if layer.path in wanted)

    @property
    def remainder_s(self) -> float | None:
        total = self.layers_sum_s
        return None if total is None else self.result.e2e_median_s - total

    def layer_seconds(self) -> dict[str, float]:
        times = self.result.layers
        if times is None:
            return {}
        wanted = set(self.paths)
        return {x.path: x.time_s for x in times.layers if x.path in wanted}

    # -- Section protocol ----------------------------------------------------------------
    def summary_dict(self) -> dict[str, Any]:
        r = self.result
        e2e = r.e2e_median_s
        times = r.layers
        layers: dict[str, Any] | None = None
        if times is not None:
            remainder = self.remainder_s
            layers = {
                "batch_size": times.batch_size,
                "method": times.method,
                "iters": times.iters,
                "e2e_median_ms": _ms(e2e),
                "layers_sum_ms": _ms(self.layers_sum_s),
                "remainder_ms": _ms(remainder),
                "remainder_share": _r(remainder / e2e if remainder is not None and e2e else None),
                "instrumented_median_ms": _ms(times.instrumented.median_s),
                "all_modules_sum_ms": _ms(times.sum_s),
            }
        roof: dict[str, Any] | None = None
        if self.roofline is not None:
            p = self.roofline.params
            roof = {
                "target": p.name,
                "peak_flops": p.peak_flops,
                "bandwidth": p.bandwidth,
                "ridge_point": _r(p.ridge_point, 3),
                "source": p.source,
                "predicted_ms": _ms(self.roofline.predicted_s),
                "measured_ms": _ms(self.roofline.measured_s),
                "achieved": _r(self.roofline.achieved),
                "memory_bound_share": _r(self.roofline.bound_share("memory")),
                "device": p.device,
            }
        return {
            "reliability": self.reliability.to_dict(),
            "device": r.device,
            "device_name": r.device_name,
            "torch": r.torch_version,
            "threads": r.threads,
            "channels_last": r.channels_last,
            "dtype": r.dtype,
            "settings": {"warmup": r.warmup, "min_time_s": r.min_time, "max_iters": r.max_iters},
            "batches": [
                {
                    "batch_size": b.batch_size,
                    "input_shapes": [list(s) for s in b.input_shapes],
                    "iters": b.stats.iters,
                    "median_ms": _ms(b.stats.median_s),
                    "p10_ms": _ms(b.stats.p10_s),
                    "p90_ms": _ms(b.stats.p90_s),
                    "mean_ms": _ms(b.stats.mean_s),
                    "min_ms": _ms(b.stats.min_s),
                    "spread": _r(b.stats.spread),
                    "throughput_ips": _r(b.throughput, 3),
                    "page_faults": b.page_faults,
                    "memory": None
                    if b.memory is None
                    else {
                        "method": b.memory.method,
                        "label": b.memory.label,
                        "before_bytes": b.memory.before_bytes,
                        "peak_bytes": b.memory.peak_bytes,
                        "growth_bytes": b.memory.growth_bytes,
                    },
                }
                for b in r.batches
            ],
            "layers": layers,
            "memory": {
                "analytic_peak_activation_bytes": self.analytic_peak_bytes,
                "analytic_batch_size": self.analytic_batch,
            },
            "roofline": roof,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "prediction": self._prediction_dict(),
            "latency_gate": {"rule": GATE_RULE, "default_pct": DEFAULT_GATE_PCT},
            "trace": r.trace.to_dict() if r.trace is not None else None,
            "channels_last_observed": {
                "conv_input": r.conv_input_channels_last,
                "conv_weight": r.conv_weight_channels_last,
            },
        }

    def measured_ms(self, batch: int) -> float | None:
        """The end-to-end median at ``batch`` (ms), None when it was not timed."""
        for b in self.result.batches:
            if b.batch_size == batch:
                return b.stats.median_s * 1e3
        return None

    def _prediction_dict(self) -> dict[str, Any] | None:
        p = self.prediction
        if p is None:
            return None
        return p.to_dict(self.measured_ms(p.batch), self.result.device, self.result.threads)

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        times = self.result.layers
        measured = times.get(path) if times is not None and path in self.paths else None
        roof = self.roofline.layer(path) if self.roofline is not None else None
        if measured is None and roof is None:
            return None
        e2e = self.result.e2e_median_s
        d: dict[str, Any] = {}
        if measured is not None:
            d.update(
                {
                    "ms": _ms(measured.time_s),
                    "median_ms": _ms(measured.median_s),
                    "p10_ms": _ms(measured.p10_s),
                    "p90_ms": _ms(measured.p90_s),
                    "share": _r(measured.time_s / e2e if e2e else None),
                    "calls": measured.calls,
                }
            )
        if roof is not None:
            d.update(
                {
                    "predicted_ms": _ms(roof.predicted_s),
                    "bound": roof.bound,
                    "achieved": _r(roof.achieved),
                    "over_roof": roof.achieved is not None and roof.achieved > ACHIEVED_LIMIT,
                }
            )
        return d


def with_profile(
    analysis: Analysis,
    result: ProfileResult,
    roofline: RooflineParams | None = None,
    calibration: Calibration | None = None,
    prediction: PredictionCheck | None = None,
) -> Analysis:
    """A copy of ``analysis`` with the ``PROFILE`` section set (``analysis`` is unchanged).

    Per-layer times are attributed to the analysis rows (leaf modules and blocks that run
    functional ops); ``roofline`` adds predicted time, bound and achieved fraction per row.
    The analytic peak activation memory is the analysis's (at its own input shapes).
    """

    paths = tuple(r.path for r in analysis.rows)
    section = ProfileSection(
        result=result,
        paths=paths,
        analytic_peak_bytes=analysis.totals.peak_activation_bytes,
        analytic_batch=analysis.input_shapes[0][0]
        if analysis.input_shapes and analysis.input_shapes[0]
        else None,
        calibration=calibration,
        prediction=prediction,
    )
    if roofline is not None:
        section = replace(
            section,
            roofline=roofline_mod.estimate(
                analysis.rows, roofline, section.layer_seconds() or None
            ),
        )
    return analysis.with_section(PROFILE, section)


# --------------------------------------------------------------------------- callable module
