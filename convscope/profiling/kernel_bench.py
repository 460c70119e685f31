"""Kernel calibration: time the kernels eager CNNs run, over shapes that cover real models.

``convscope profile --calibrate --kernels`` runs :func:`calibrate_kernels` on the device
it runs on and writes a :class:`~convscope.targets.kernels.KernelModel` (the measured
samples and their provenance) into a target profile.

Shapes come from :mod:`convscope.profiling.kernel_shapes` (a seeded sampler per kernel
family; what a sample's call looks like).

Time. The budget (default :data:`DEFAULT_BUDGET_S`, all of it: setup, the roofline and
the module-call overhead included) is shared between families by fixed weights, the
conv families most (where CNNs spend their time); a family that reaches its most samples
leaves its time to the others. Families are *interleaved*: each next sample goes to the
family furthest behind its share, so that all of them are measured across the whole run
and a machine whose speed drifts (a shared host) biases every family alike instead of
the ones measured during a slow minute. Each sample: two warm-up calls (kernel selection,
caches), then rounds of ``reps`` calls timed one by one (``reps`` makes a round about
:data:`ROUND_S` long, at least 3 calls); a round's value is its lower-quartile call (on a
shared host the calls a neighbour slows down sit above it, so it is the kernel's own time
and repeats from run to run where a median drifts with the host's load). Rounds repeat
until the last two agree within :data:`STABLE_TOLERANCE` (at most :data:`MAX_ROUNDS`); the
sample is the mean of the last two, and a sample whose rounds never agreed is kept and
listed as unstable.

CUDA calls are timed with CUDA events after a synchronize
(:class:`~convscope.profiling.measure.Clock`). CPU calls at one thread are timed by the
calling thread's CPU time (``time.thread_time_ns``: at one thread torch runs every kernel on
the calling thread), which is what a quiet machine's wall clock shows, without the time
other processes take from a shared machine: a wall-clock median hides preemption in short
calls but not in the long ones (a 20 ms call on a loaded 2-core machine is preempted in every
round). CPU calls at several threads are timed by the wall clock. A sample runs as a
layer runs in a model: through its ``torch.nn`` module, with weights cycled through copies
(they come from a far cache level), and writing fresh output buffers (the last outputs are
kept alive), from a C allocator first put where a model's forward leaves it (on CPU:
:func:`settle_allocator`). Everything runs under
``torch.inference_mode``, as ``convscope profile`` runs models. Threads are set for the
run and restored; random inputs come from a forked RNG, so torch's global state is left as
it was.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import nn

from convscope.errors import InputError
from convscope.profiling.calibrate import STABLE_TOLERANCE, Calibration, calibrate
from convscope.profiling.kernel_shapes import PLAN, Call, Ctx, draws
from convscope.profiling.measure import Clock, ProgressFn, check_device, device_name
from convscope.targets.kernels import KernelModel, KernelsError, Provenance

__all__ = [
    "DEFAULT_BUDGET_S",
    "DTYPES",
    "KernelCalibration",
    "bench_session",
    "calibrate_kernels",
    "clock_for",
    "interleave",
    "settle_allocator",
]

#: Default wall-clock budget of a kernel calibration, in seconds (everything included).
DEFAULT_BUDGET_S = 240.0
MAX_ROUNDS = 4
#: Target length of one round of calls.
ROUND_S = 2e-3
#: A call slower than this is timed once per round (two rounds), to keep a sample short.
SLOW_CALL_S = 0.02
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}

#: Outputs a sample keeps alive (twice a core's L2 here): see :class:`_Retain`.
RETAIN_BYTES = 8 * 2**20


# --------------------------------------------------------------------------- timing


class ThreadClock(Clock):
    """CPU time of the calling thread (one-thread CPU runs; see the module docstring)."""

    def time(self, fn: Callable[[], Any]) -> float:
        t0 = time.thread_time_ns()
        fn()
        return (time.thread_time_ns() - t0) / 1e9


@dataclass(frozen=True)
class Sample:
    us: float
    stable: bool


class _Retain:
    """``fn``, keeping its last outputs alive up to :data:`RETAIN_BYTES`: each call then
    writes a fresh buffer, as in a model, where the outputs of the previous layers are still
    alive, instead of the block the allocator just freed (hot in the core's cache)."""

    def __init__(self, fn: Call) -> None:
        self.fn = fn
        self.kept: collections.deque[torch.Tensor] = collections.deque()
        self.bytes = 0

    def __call__(self) -> None:
        out = self.fn()
        if isinstance(out, torch.Tensor):
            self.kept.append(out)
            self.bytes += out.nbytes
            while len(self.kept) > 1 and self.bytes > RETAIN_BYTES:
                self.bytes -= self.kept.popleft().nbytes


#: A block freed once to put the C allocator where a model's forward leaves it (see
#: :func:`settle_allocator`): just under glibc's 32 MiB ceiling of its mmap threshold.
SETTLE_BYTES = 31 * 2**20


def settle_allocator() -> None:
    """Put the process's C allocator in the state a CNN forward leaves it in.

    glibc's ``malloc`` serves a block above its *mmap threshold* (128 KiB at start) by a
    fresh ``mmap``, whose pages fault in on first write, and raises the threshold to the
    size of every such block freed, up to 32 MiB (``mallopt(3)``). A process that has run a
    model's forward once has freed activations of megabytes, so its outputs then come from
    the heap; a fresh process pays the page faults on every output between 128 KiB and
    those sizes, which triples a memory-bound kernel's time (a depthwise 3×3 over a
    64×56² map: 0.87 ms fresh, 0.26 ms after one small CNN's forward, on this project's
    2-core benchmark machine). Freeing one large block first makes the calibration time
    kernels as a model's steady state runs them, whatever ran before in the process.
    Other allocators ignore it; torch's state is untouched."""
    block = torch.empty(SETTLE_BYTES, dtype=torch.uint8)
    del block


def time_call(fn: Call, clock: Clock) -> Sample:
    """One sample of ``fn`` (see the module docstring): rounds until two agree."""
    fn = _Retain(fn)
    fn()
    first = clock.time(fn)
    reps = (
        1 if first > SLOW_CALL_S else int(min(200, max(3, math.ceil(ROUND_S / max(first, 1e-7)))))
    )
    rounds: list[float] = []
    while len(rounds) < MAX_ROUNDS:
        times = sorted(clock.time(fn) for _ in range(reps))
        rounds.append(times[len(times) // 4])
        if len(rounds) >= 2 and _agree(rounds[-2], rounds[-1]):
            break
    stable = len(rounds) >= 2 and _agree(rounds[-2], rounds[-1])
    return Sample(us=(rounds[-2] + rounds[-1]) / 2 * 1e6, stable=stable)


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= STABLE_TOLERANCE * max(a, b)


def module_call_us(clock: Clock, ctx: Ctx) -> Sample:
    """Python cost of one ``nn.Module`` call: a chain of identities, per module."""
    count = 64
    chain = nn.Sequential(*(nn.Identity() for _ in range(count)))
    x = ctx.rand(4)
    s = time_call(lambda: chain(x), clock)
    return Sample(us=s.us / count, stable=s.stable)


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class KernelCalibration:
    """A kernel model measured here, and the roofline measured with it."""

    model: KernelModel
    roofline: Calibration

    def to_profile_yaml(self) -> str:
        """A target profile holding the measured roofline and the kernel model."""
        head = self.roofline.to_profile_yaml().replace(
            "# Use it with --target FILE.yaml (profile --roofline, lint PF001).\n",
            "# Use it with --target FILE.yaml: analyze predicts latency from its kernel model;\n"
            "# profile --roofline and lint PF001 read its roofline (a lower bound).\n",
        )
        return head + self.model.to_yaml()


def calibrate_kernels(
    device: str = "cpu",
    *,
    dtype: str = "float32",
    threads: int | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    families: tuple[str, ...] | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    pool_with: KernelModel | None = None,
) -> KernelCalibration:
    """Time every kernel family on ``device`` within ``budget_s`` seconds (see the module
    docstring); ``families`` limits the run to some (tests).

    ``pool_with``: an earlier calibration of this device (same torch, threads and dtype,
    checked before anything is timed) that this session's samples join: a session draws
    other shapes (its seed is offset by the sessions already pooled), and the model returned
    is fitted on all of them (:meth:`~convscope.targets.kernels.KernelModel.pooled`)."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise InputError(f"the kernel calibration budget must be positive, got {budget_s!r}")
    chosen = families if families is not None else tuple(PLAN)
    unknown = [f for f in chosen if f not in PLAN]
    if unknown:
        raise InputError(f"unknown kernel families: {', '.join(unknown)}")
    dev = check_device(device)
    if pool_with is not None:
        _check_poolable(pool_with.provenance, dev, dtype, threads)
        seed += pool_with.provenance.sessions
    started = time.monotonic()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    ctx = Ctx.on(dev, DTYPES[dtype])
    samples: dict[str, tuple[np.ndarray, np.ndarray, tuple[int, ...]]] = {}
    unstable_total = 0
    with bench_session(dev, threads, seed) as used_threads:
        clock = clock_for(dev, used_threads)
        # The roofline (a lower bound shown beside the prediction): a small share.
        roof_s = min(3.0, budget_s * 0.04)
        roofline = calibrate(
            device, dtype=DTYPES[dtype], budget_s=roof_s, threads=threads, clock=clock
        )
        with torch.inference_mode():
            overhead = module_call_us(clock, ctx)
            left = budget_s - (time.monotonic() - started)
            runs = interleave(chosen, ctx, clock, seed, left, progress)
        for family in chosen:
            rows, times, unstable = runs[family]
            if rows:
                samples[family] = (
                    np.asarray(rows, dtype=np.int64),
                    np.asarray(times, dtype=float),
                    tuple(unstable),
                )
                unstable_total += len(unstable)
    provenance = Provenance(
        device=dev.type,
        device_name=device_name(dev),
        torch=torch.__version__,
        threads=used_threads,
        dtype=dtype,
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        runtime_s=time.monotonic() - started,
        budget_s=budget_s,
        tolerance=STABLE_TOLERANCE,
        samples=sum(len(t) for _, t, _ in samples.values()),
        unstable=unstable_total + (0 if overhead.stable else 1),
        module_call_us=overhead.us,
        load=tuple(float(x) for x in load),
        clock=_clock_name(dev, used_threads),
    )
    model = KernelModel(provenance=provenance, samples=MappingProxyType(samples))
    return KernelCalibration(model if pool_with is None else pool_with.pooled(model), roofline)


@contextlib.contextmanager
def bench_session(dev: torch.device, threads: int | None, seed: int) -> Iterator[int]:
    """Where kernel samples are timed: ``threads`` threads (torch's count when None; the
    count used is yielded), the C allocator settled (CPU), torch's RNG forked and seeded.
    Threads and RNG are restored after: torch's global state is left as it was."""
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        if dev.type == "cpu":
            settle_allocator()
        gpus: list[int] = []
        if dev.type == "cuda":
            gpus = [dev.index if dev.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=gpus):
            torch.manual_seed(seed)
            yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)


def clock_for(dev: torch.device, threads: int) -> Clock:
    """The clock samples on ``dev`` at ``threads`` threads are timed with (see
    :func:`_clock_name`)."""
    return ThreadClock(dev) if _clock_name(dev, threads) == "thread-cpu" else Clock(dev)


def _clock_name(dev: torch.device, threads: int) -> str:
    """How samples are timed: a CPU thread's CPU time at one thread, CUDA events on a GPU,
    else the wall clock (``Provenance.clock``)."""
    if dev.type == "cpu" and threads == 1:
        return "thread-cpu"
    return "cuda-events" if dev.type == "cuda" else "wall"


def _check_poolable(
    earlier: Provenance, dev: torch.device, dtype: str, threads: int | None
) -> None:
    """InputError, before anything is timed, when this session would not measure what
    ``earlier`` measured (every one of :data:`POOLED_SETTINGS`, so that pooling after the
    timing cannot fail)."""
    used = threads if threads is not None else torch.get_num_threads()
    try:
        earlier.check_same(
            device=dev.type,
            device_name=device_name(dev),
            torch=torch.__version__,
            threads=used,
            dtype=dtype,
            clock=_clock_name(dev, used),
            tolerance=STABLE_TOLERANCE,
        )
    except KernelsError as exc:
        raise InputError(str(exc)) from None


@dataclass
class _Run:
    """One family's progress in an interleaved calibration."""

    draws: Iterator[tuple[tuple[int, ...], Call]]
    share: float
    most: int
    spent_s: float = 0.0
    done: bool = False
    rows: list[tuple[int, ...]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    unstable: list[int] = field(default_factory=list)
    seen: set[tuple[int, ...]] = field(default_factory=set)

    def step(self, clock: Clock) -> None:
        """Time the family's next new shape (or finish it when its draws run out)."""
        began = time.monotonic()
        for cols, call in self.draws:
            if cols in self.seen:
                continue
            self.seen.add(cols)
            sample = time_call(call, clock)
            if not sample.stable:
                self.unstable.append(len(self.rows))
            self.rows.append(cols)
            self.times.append(max(sample.us, 1e-3))
            break
        else:
            self.done = True
        self.spent_s += time.monotonic() - began
        if len(self.rows) >= self.most:
            self.done = True


def interleave(
    families: tuple[str, ...],
    ctx: Ctx,
    clock: Clock,
    seed: int,
    budget_s: float,
    progress: ProgressFn | None,
) -> dict[str, tuple[list[tuple[int, ...]], list[float], list[int]]]:
    """Sample every family in turn within ``budget_s``: the next sample goes to the family
    whose time spent is smallest relative to its share (at least one sample each)."""
    runs = {f: _Run(draws(f, ctx, seed), PLAN[f][1], PLAN[f][2]) for f in families}
    start = time.monotonic()
    for run in runs.values():  # one sample each first: every family gets a model
        run.step(clock)
    shown = start
    while (now := time.monotonic()) - start < budget_s:
        open_runs = [(r.spent_s / r.share, f) for f, r in runs.items() if not r.done]
        if not open_runs:
            break
        family = min(open_runs)[1]
        runs[family].step(clock)
        if progress is not None and now - shown > 0.5:
            shown = now
            progress(f"kernels · {family}", min(1.0, (now - start) / budget_s))
    return {f: (r.rows, r.times, r.unstable) for f, r in runs.items()}
