"""Per-layer latency: the self time of every module, from forward pre/post hooks.

Method, and why not ``torch.profiler``
--------------------------------------
Global module hooks (``register_module_forward_pre_hook`` / ``register_module_forward_hook``)
stamp the clock when a module's ``forward`` starts and ends. A module's *total* time is
end − start; its *self* time is its total minus its direct children's totals, so the self
times of all modules add up exactly to the root's total and nothing is counted twice (a
residual block's own ``+``, a model's ``flatten``, land in the block's / model's self time).
Shared modules called several times accumulate their calls.

* On CPU a forward is synchronous, so ``time.perf_counter_ns`` in the hooks is the time
  spent. Each hook costs about a microsecond, which is small against conv kernels of tens
  of microseconds; the overhead lands mostly in the containers' self time (the time
  between a child's end stamp and the next child's start stamp) and is made visible, not
  hidden: the result carries the instrumented run's own total beside the plain median.
* On CUDA a forward only *queues* kernels, so the hooks record CUDA events instead, and the
  durations are read after a synchronize: each event pair is the GPU time of the module.

``torch.profiler`` was the alternative: its operator events are precise, but mapping them
to modules needs ``with_stack``/``with_modules`` (the latter is TorchScript-only), adds
10–20 µs of bookkeeping per ATen op with ``record_shapes`` (more than many depthwise or
activation kernels take at small inputs), and attributes time to ops, not modules. It is
kept for the trace export (:mod:`convscope.profiling.traces`), where events are labelled with
module paths through ``record_function`` in the same hooks.

Instrumented iterations are interleaved with plain ones (one after each timed end-to-end
iteration), so both see the same load from other processes; hooks are registered only
around an instrumented iteration, so plain iterations run with no hook at all. The
unattributed remainder ``e2e median − Σ layer medians`` is always reported: it holds
Python glue in pure containers (``nn.Sequential``), hook overhead (negative) and noise.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convscope.model.modes import global_forward_hooks
from convscope.profiling.measure import Stats, quantiles

__all__ = ["LayerRecorder", "LayerTime", "LayerTimes", "central_iterations", "module_paths"]

METHOD_CPU = "forward hooks, time.perf_counter_ns"
METHOD_CUDA = "forward hooks, CUDA events"


def module_paths(model: nn.Module) -> dict[int, str]:
    """``id(module) → path`` (first path of a shared module; the root is ``""``)."""
    out: dict[int, str] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        out.setdefault(id(m), name)
    return out


@dataclass(frozen=True)
class LayerTime:
    """Self time of one module per forward over the instrumented iterations (seconds).

    ``time_s`` is the attributed time: the mean self time over the *central* iterations
    (those whose whole-forward time lies between the 25th and 75th percentile). Unlike
    per-layer medians these add up to a typical forward: when other processes preempt a
    few layers in every iteration, each layer's own median skips the preemptions and the
    sum of medians under-counts the end-to-end median. ``median_s``, ``p10_s`` and
    ``p90_s`` are the layer's own order statistics over all instrumented iterations.
    """

    path: str
    type_name: str
    leaf: bool
    calls: int  # forward calls per iteration
    time_s: float
    median_s: float
    p10_s: float
    p90_s: float


@dataclass(frozen=True)
class LayerTimes:
    """Per-layer self times of one batch size."""

    batch_size: int
    method: str
    iters: int
    layers: tuple[LayerTime, ...]
    instrumented: Stats  # whole forward with hooks on (root module's total)

    @functools.cached_property
    def _by_path(self) -> dict[str, LayerTime]:
        return {layer.path: layer for layer in self.layers}

    def get(self, path: str) -> LayerTime | None:
        return self._by_path.get(path)

    @property
    def sum_s(self) -> float:
        """Σ of every module's attributed time (leaves, blocks and containers): the mean
        whole-forward time of the central instrumented iterations."""
        return sum(layer.time_s for layer in self.layers)


class _Entry:
    __slots__ = ("end", "parent", "path", "start")

    def __init__(self, path: str, parent: int, start: Any) -> None:
        self.path = path
        self.parent = parent
        self.start = start
        self.end: Any = None


class LayerRecorder:
    """Collects per-module self times over instrumented iterations of one model."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.cuda = device.type == "cuda"
        self.paths = module_paths(model)
        named = dict(model.named_modules())
        self.types = {path: type(m).__name__ for path, m in named.items()}
        self.leaves = {path for path, m in named.items() if next(m.children(), None) is None}
        self._entries: list[_Entry] = []
        self._stack: list[int] = []
        self._samples: list[dict[str, float]] = []
        self._calls: dict[str, int] = {}
        self._totals: list[float] = []

    @property
    def method(self) -> str:
        return METHOD_CUDA if self.cuda else METHOD_CPU

    def _stamp(self) -> Any:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter_ns()

    def _elapsed(self, start: Any, end: Any) -> float:
        if self.cuda:
            return float(start.elapsed_time(end)) / 1e3
        return float(end - start) / 1e9

    def _pre(self, module: nn.Module, args: Any) -> None:
        path = self.paths.get(id(module))
        if path is None:  # not part of this model (or created inside forward)
            return
        parent = self._stack[-1] if self._stack else -1
        self._stack.append(len(self._entries))
        self._entries.append(_Entry(path, parent, None))
        self._entries[-1].start = self._stamp()  # last: hook bookkeeping stays outside

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        stamp = self._stamp()  # first
        if id(module) not in self.paths or not self._stack:
            return
        self._entries[self._stack.pop()].end = stamp

    @contextmanager
    def _hooks(self) -> Iterator[None]:
        with global_forward_hooks(self._pre, self._post):
            yield

    def run(self, fn: Callable[[], Any]) -> None:
        """One instrumented iteration of ``fn`` (a forward of the model)."""
        self._entries = []
        self._stack = []
        if self.cuda:
            torch.cuda.synchronize(self.device)
        with self._hooks():
            fn()
        if self.cuda:
            torch.cuda.synchronize(self.device)
        self._collect()

    def _collect(self) -> None:
        entries = [e for e in self._entries if e.end is not None]
        if len(entries) != len(self._entries):  # an exception skipped a post hook
            return
        totals = [self._elapsed(e.start, e.end) for e in entries]
        child = [0.0] * len(entries)
        for i, e in enumerate(entries):
            if e.parent >= 0:
                child[e.parent] += totals[i]
        sample: dict[str, float] = {}
        calls: dict[str, int] = {}
        for i, e in enumerate(entries):
            sample[e.path] = sample.get(e.path, 0.0) + max(0.0, totals[i] - child[i])
            calls[e.path] = calls.get(e.path, 0) + 1
        roots = [totals[i] for i, e in enumerate(entries) if e.parent < 0]
        self._samples.append(sample)
        self._calls = calls
        self._totals.append(sum(roots))

    def result(self, batch_size: int) -> LayerTimes | None:
        """Median/p10/p90 self time per module over the instrumented iterations."""
        if not self._samples:
            return None
        order: dict[str, None] = {}
        for sample in self._samples:
            order.update(dict.fromkeys(sample))
        central = [self._samples[i] for i in central_iterations(self._totals)]
        layers = []
        for path in order:
            values = [s.get(path, 0.0) for s in self._samples]
            p10, p50, p90 = quantiles(values, (0.1, 0.5, 0.9))
            layers.append(
                LayerTime(
                    path=path,
                    type_name=self.types.get(path, "?"),
                    leaf=path in self.leaves,
                    calls=self._calls.get(path, 0),
                    time_s=sum(s.get(path, 0.0) for s in central) / len(central),
                    median_s=p50,
                    p10_s=p10,
                    p90_s=p90,
                )
            )
        return LayerTimes(
            batch_size=batch_size,
            method=self.method,
            iters=len(self._samples),
            layers=tuple(layers),
            instrumented=Stats.of(self._totals),
        )


def central_iterations(totals: Sequence[float]) -> list[int]:
    """Indices of the iterations whose total lies in the middle half (p25–p75 by rank);
    at least the median iteration."""
    if not totals:
        return []
    ranked = sorted(range(len(totals)), key=lambda i: totals[i])
    n = len(ranked)
    lo = n // 4
    hi = max(lo + 1, n - n // 4)
    return sorted(ranked[lo:hi])
