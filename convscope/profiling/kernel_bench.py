"""Kernel calibration: time the kernels eager CNNs run, over shapes that cover real models.

``convscope profile --calibrate --kernels`` runs :func:`calibrate_kernels` on the device
it runs on and writes a :class:`~convscope.targets.kernels.KernelModel` (the measured
samples and their provenance) into a target profile.

Shapes. Each family has a sampler that draws shapes from the ranges CNNs use — channels
3 to 2048 (multiples of 8 above 16, as designs use), maps 7² to 512², batch 1 to 8,
kernels 1 to 7, stride 1 or 2, token counts of vision transformers — from a numpy
generator seeded by the family's name, so two calibrations time the same shapes in the
same order. A call is capped in work (:data:`MAX_MACS`, :data:`MAX_ELEMENTS`: larger
shapes are shrunk spatially) so that one sample stays short; the fit extrapolates in log
space above the cap, where time is proportional to work.

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
kept alive). Everything runs under
``torch.inference_mode``, as ``convscope profile`` runs models. Threads are set for the
run and restored; random inputs come from a forked RNG, so torch's global state is left as
it was.
"""

from __future__ import annotations

import collections
import datetime
import math
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import InputError
from convscope.profiling.calibrate import STABLE_TOLERANCE, Calibration, calibrate
from convscope.profiling.measure import Clock, ProgressFn, check_device, device_name
from convscope.targets.kernels import FAMILIES, KernelModel, Provenance

__all__ = [
    "DEFAULT_BUDGET_S",
    "DTYPES",
    "KernelCalibration",
    "calibrate_kernels",
]

#: Default wall-clock budget of a kernel calibration, in seconds (everything included).
DEFAULT_BUDGET_S = 240.0
MAX_ROUNDS = 4
#: Target length of one round of calls.
ROUND_S = 2e-3
#: Work caps of one call (CPU; CUDA takes 32× more).
MAX_MACS = 3e8
MAX_ELEMENTS = 4e6
#: A call slower than this is timed once per round (two rounds), to keep a sample short.
SLOW_CALL_S = 0.02
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}

Call = Callable[[], Any]
#: Weights of the copies a conv / linear sample cycles through (more than a core's L2).
COLD_BYTES = 32 * 2**20
MAX_COPIES = 32
#: Outputs a sample keeps alive (twice a core's L2 here): see :class:`_Retain`.
RETAIN_BYTES = 8 * 2**20


class _Cycle:
    """Modules taken in turn: ``bind(x)`` gives the call that runs the next one on ``x``."""

    def __init__(self, modules: list[nn.Module]) -> None:
        self.modules = modules
        self.index = 0

    def bind(self, *xs: torch.Tensor) -> Call:
        def call() -> Any:
            self.index = (self.index + 1) % len(self.modules)
            return self.modules[self.index](*xs)

        return call


# A sampler draws one shape: (column values, the call to time); None to skip the draw.
Sampler = Callable[[np.random.Generator, "_Ctx"], "tuple[tuple[int, ...], Call] | None"]


@dataclass(frozen=True)
class _Ctx:
    device: torch.device
    dtype: torch.dtype
    scale: float  # work cap multiplier (CUDA: larger)

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, device=self.device, dtype=self.dtype) * 2 - 1

    def positive(self, *shape: int) -> torch.Tensor:
        """Inputs that in-place activations keep away from denormals (3 ≤ x < 4)."""
        return torch.rand(shape, device=self.device, dtype=self.dtype) + 3

    def module(self, m: nn.Module) -> nn.Module:
        """``m`` as a model holds it: on the device, in the dtype, in eval mode."""
        return m.to(self.device, self.dtype).eval()

    def cold(self, make: Callable[[], nn.Module], weight_bytes: int) -> _Cycle:
        """``make()``-built modules called in turn, enough copies that their weights add up
        to :data:`COLD_BYTES`: in a model a layer's weights were last touched a forward ago,
        so they come from a far cache level, not the core's own."""
        copies = max(1, min(MAX_COPIES, math.ceil(COLD_BYTES / max(weight_bytes, 1))))
        return _Cycle([self.module(make()) for _ in range(copies)])

    @property
    def max_macs(self) -> float:
        return MAX_MACS * self.scale

    @property
    def max_elements(self) -> float:
        return MAX_ELEMENTS * self.scale


# --------------------------------------------------------------------------- shape draws


def _channels(rng: np.random.Generator, lo: int = 3, hi: int = 2048) -> int:
    """Log-uniform in [lo, hi]; above 16 mostly a multiple of 8, as designs use (a quarter
    are not: width multipliers and make-divisible rules leave such counts too)."""
    c = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if c < 16 or rng.random() < 0.25:
        return max(lo, round(c))
    return int(max(16, round(c / 8) * 8))


_SIDES = (7, 14, 28, 56, 112, 224)


def _side(rng: np.random.Generator, lo: int = 7, hi: int = 512) -> int:
    if rng.random() < 0.6:
        return int(rng.choice([s for s in _SIDES if lo <= s <= hi]))
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))))


#: Share of conv and map draws from the CNN stage prior (:func:`_stage`); the rest are
#: drawn from the broad ranges, so designs off the beaten path stay covered.
STAGE_PRIOR = 0.7
#: Input resolutions of CNNs (classification, detection backbones, larger test sizes).
_RESOLUTIONS = (224, 224, 224, 160, 192, 240, 256, 288, 299, 320, 384, 512)


def _stage(rng: np.random.Generator) -> tuple[int, int]:
    """A map side and a channel count paired as CNN stages pair them: stage ``s`` (1 to 5)
    of an input resolution has a map ``resolution / 2^s`` on a side and channels
    log-uniform in ``[4·2^s, 128·2^s]`` (capped at 2560): narrow and large early, wide
    and small late. Real layers concentrate there; calibrating where they are makes the
    fit accurate where it is used (no model's shapes enter it, only this prior)."""
    res = int(rng.choice(_RESOLUTIONS))
    s = int(rng.integers(1, 6))
    side = -(-res // 2**s)
    lo, hi = 4 * 2**s, min(128 * 2**s, 2560)
    return side, _channels(rng, lo, hi)


def _stage_width(rng: np.random.Generator, side: int) -> int:
    """Another channel count of the stage whose maps have this side."""
    s = max(1, min(5, round(math.log2(max(224 / max(side, 1), 2)))))
    return _channels(rng, 4 * 2**s, min(128 * 2**s, 2560))


def _batch(rng: np.random.Generator) -> int:
    return int(rng.choice((1, 1, 1, 2, 4, 8)))


def _numel(rng: np.random.Generator, ctx: _Ctx) -> int:
    return int(math.exp(rng.uniform(math.log(64), math.log(ctx.max_elements))))


def _shrink(h: int, work: Callable[[int], float], cap: float, lo: int = 1) -> int | None:
    """The largest side ≤ ``h`` whose work fits ``cap`` (None when even ``lo`` does not)."""
    while h > lo and work(h) > cap:
        h = max(lo, int(h * 0.8))
    return h if work(h) <= cap else None


def _out(h: int, k: int, s: int) -> int:
    return (h + 2 * (k // 2) - k) // s + 1


def _conv_sampler(kind: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        n = _batch(rng)
        staged = rng.random() < STAGE_PRIOR
        h, c = _stage(rng) if staged else (_side(rng), _channels(rng, 8))
        stride = int(rng.choice((1, 1, 1, 2)))
        if kind == "dense":
            cout = _stage(rng)[1] if staged else _channels(rng, 8)
            cin = c
            k = int(rng.choice((3, 3, 3, 5, 7)))
            if rng.random() < 0.1:  # a stem: RGB at the input resolution
                cin, h, stride = 3, h * (int(rng.choice((2, 4))) if staged else 1), 2
            groups = 1
        elif kind == "pointwise":
            # The other side of a 1×1 is another width of the same stage (expansion,
            # projection, bottleneck): drawn from the same stage's range.
            cin, k, groups = c, 1, 1
            cout = _channels(rng, 8) if not staged else _stage_width(rng, h)
            stride = 1 if rng.random() < 0.9 else 2
            if rng.random() < 0.2:  # on a pooled 1×1 map: squeeze-excitation, conv heads
                h, stride = 1, 1
        elif kind == "depthwise":
            # Depthwise convs run on expanded widths (up to 6× a stage's channels).
            cin = c * (int(rng.choice((1, 2, 3, 4, 6))) if staged else 1)
            cin = min(cin, 3840)
            if rng.random() < 0.1:  # over an RGB input, as factorizing a stem makes one
                cin, h = 3, int(rng.choice(_RESOLUTIONS))
            cout = cin * (2 if rng.random() < 0.1 else 1)
            k = int(rng.choice((3, 3, 5, 7)))
            groups = cin
        else:  # grouped: ResNeXt / RegNet group widths
            width = int(rng.choice((4, 8, 16, 24, 32, 48, 64, 128)))
            groups = int(rng.choice((2, 2, 4, 8, 16, 32, 64)))
            cin = width * groups
            cout = cin * int(rng.choice((1, 1, 1, 2)))  # split attention widens the output
            if cin > 4096:
                return None
            k = 3
        per_in = cin // groups

        def macs(side: int) -> float:
            return float(n * cout * per_in * k * k * _out(side, k, stride) ** 2)

        # Depthwise and grouped convs run far below peak: a smaller cap keeps calls short.
        cap = ctx.max_macs * (1.0 if kind in ("dense", "pointwise") else 0.2)
        side = _shrink(h, macs, cap, lo=1 if h == 1 else max(k, 2))
        if side is None:
            return None
        x = ctx.rand(n, cin, side, side)
        bias = bool(rng.random() < 0.5)
        ho = _out(side, k, stride)
        cols = (n, cin, cout, groups, k * k, stride, side * side, ho * ho)
        convs = ctx.cold(
            lambda: nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=bias),
            cout * per_in * k * k * x.element_size(),
        )
        return cols, convs.bind(x)

    return draw


_TOKENS = (1, 2, 4, 8, 49, 64, 196, 197, 256, 577, 784, 3136)


def _linear(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    batched = rng.random() < 0.25
    b = int(rng.choice((2, 4, 8, 12, 16, 24, 48))) if batched else 1
    m = int(rng.choice(_TOKENS)) * (1 if batched else int(rng.choice((1, 1, 2, 8))))
    k = _channels(rng, 16, 4096) if rng.random() < 0.9 else int(rng.choice((9216, 25088)))
    n = _channels(rng, 16, 4096)
    if batched and rng.random() < 0.7:  # attention scores: [b, m, d] @ [b, d, m]
        k = int(rng.choice((32, 64, 96)))
        n = m
    if b * m * k * n > ctx.max_macs:
        return None
    if batched:  # activations times activations: both warm
        xa, xb = ctx.rand(b, m, k), ctx.rand(b, k, n)
        return (b, m, k, n, 0), lambda: torch.bmm(xa, xb)
    x = ctx.rand(m, k)
    bias = bool(rng.random() < 0.8)
    layers = ctx.cold(lambda: nn.Linear(k, n, bias=bias), k * n * x.element_size())
    return (1, m, k, n, int(bias)), layers.bind(x)


def _attention(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    b = _batch(rng)
    heads = int(rng.choice((1, 3, 4, 6, 8, 12, 16)))
    q = int(rng.choice((49, 64, 196, 197, 256, 577, 784, 1024)))
    d = int(rng.choice((32, 64, 96)))
    if 2 * b * heads * q * q * d > ctx.max_macs:
        return None
    qt, kt, vt = (ctx.rand(b, heads, q, d) for _ in range(3))
    return (b, heads, q, q, d), lambda: F.scaled_dot_product_attention(qt, kt, vt)


def _map_shape(rng: np.random.Generator, ctx: _Ctx) -> tuple[int, int, int] | None:
    n = _batch(rng)
    drawn, c = _stage(rng) if rng.random() < STAGE_PRIOR else (_side(rng), _channels(rng))
    side = _shrink(drawn, lambda s: float(n * c * s * s), ctx.max_elements)
    return None if side is None else (n, c, side)


def _norm_batch(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x, bn = ctx.rand(n, c, s, s), ctx.module(nn.BatchNorm2d(c))
    return (n, c, s * s), lambda: bn(x)


def _norm_group(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x, gn = ctx.rand(n, c, s, s), ctx.module(nn.GroupNorm(math.gcd(c, 32), c))
    return (n, c, s * s), lambda: gn(x)


def _rows(rng: np.random.Generator, ctx: _Ctx) -> tuple[int, int] | None:
    cols = _channels(rng, 16, 4096) if rng.random() < 0.7 else int(rng.choice(_TOKENS[4:]))
    rows = int(rng.choice(_TOKENS)) * _batch(rng) * int(rng.choice((1, 1, 4, 12)))
    if rows * cols > ctx.max_elements:
        return None
    return rows, cols


def _norm_layer(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _rows(rng, ctx)
    if shape is None:
        return None
    r, c = shape
    x, ln = ctx.rand(r, c), ctx.module(nn.LayerNorm(c))
    return (r, c), lambda: ln(x)


def _softmax(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _rows(rng, ctx)
    if shape is None:
        return None
    r, c = shape
    x = ctx.rand(r, c)
    return (r, c), lambda: torch.softmax(x, -1)


def _pool(kind: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        shape = _map_shape(rng, ctx)
        if shape is None:
            return None
        n, c, s = shape
        k = int(rng.choice((2, 3, 3, 5)))
        stride = int(rng.choice((1, 2, 2))) if k != 2 else 2
        if s < k or n * c * s * s * k * k > ctx.max_elements * 4:
            return None
        x = ctx.rand(n, c, s, s)
        pad = k // 2 if k != 2 else 0
        ho = (s + 2 * pad - k) // stride + 1
        cols = (n, c, s * s, k * k, stride, ho * ho)
        pool = ctx.module(
            nn.MaxPool2d(k, stride, pad) if kind == "max" else nn.AvgPool2d(k, stride, pad)
        )
        return cols, lambda: pool(x)

    return draw


def _adaptive(kind: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        shape = _map_shape(rng, ctx)
        if shape is None:
            return None
        n, c, s = shape
        out = 1 if rng.random() < 0.7 else min(s, int(rng.choice((2, 4, 7))))
        x = ctx.rand(n, c, s, s)
        pool = ctx.module(nn.AdaptiveMaxPool2d(out) if kind == "max" else nn.AdaptiveAvgPool2d(out))
        return (n, c, s * s, out * out), lambda: pool(x)

    return draw


_ACTIVATION_MODULES: dict[str, Callable[[bool], nn.Module] | None] = {
    "relu": lambda inplace: nn.ReLU(inplace),
    "clamp": lambda inplace: nn.ReLU6(inplace),
    "silu": lambda inplace: nn.SiLU(inplace),
    "gelu": lambda inplace: nn.GELU(),
    "hardswish": lambda inplace: nn.Hardswish(inplace),
    "hardsigmoid": lambda inplace: nn.Hardsigmoid(inplace),
    "sigmoid": lambda inplace: nn.Sigmoid(),
    "tanh": lambda inplace: nn.Tanh(),
    "leaky_relu": lambda inplace: nn.LeakyReLU(0.01, inplace),
    "other": None,  # exp: a transcendental per element, called as a function
}
# Activations whose module has an in-place form (the others are timed plainly only).
_IN_PLACE = frozenset({"relu", "clamp", "silu", "hardswish", "hardsigmoid", "leaky_relu"})


def _activation(name: str) -> Sampler:
    make = _ACTIVATION_MODULES[name]

    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        numel = _numel(rng, ctx)
        inplace = name in _IN_PLACE and rng.random() < 0.5
        x = ctx.positive(numel) if inplace else ctx.rand(numel)
        if make is None:
            return (numel, 0), lambda: torch.exp(x)
        act = ctx.module(make(inplace))
        return (numel, int(inplace)), lambda: act(x)

    return draw


def _binary(name: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        shape = _map_shape(rng, ctx)
        if shape is None:
            return None
        n, c, s = shape
        x = ctx.positive(n, c, s, s)
        pick = rng.random()
        y: torch.Tensor | float
        if pick < 0.6:
            y, other = ctx.positive(n, c, s, s) * 0 + 1, n * c * s * s
        elif pick < 0.85:
            y, other = ctx.positive(n, c, 1, 1) * 0 + 1, n * c
        else:
            y, other = 1.0, 1
        numel = n * c * s * s
        inplace = rng.random() < 0.5
        op = torch.add if name == "add" else torch.mul
        if inplace:
            fn = x.add_ if name == "add" else x.mul_
            return (numel, other, 1), lambda: fn(y)
        return (numel, other, 0), lambda: op(x, y)

    return draw


def _reduce(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x = ctx.rand(n, c, s, s)
    if rng.random() < 0.7:  # global average pooling, as models call it (mean over H, W)
        pool = ctx.module(nn.AdaptiveAvgPool2d(1))
        return (n * c * s * s, n * c), lambda: pool(x)
    return (n * c * s * s, n * s * s), lambda: x.mean(1, keepdim=True)


def _resize(mode: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
        n, c = _batch(rng), _channels(rng)
        factor = int(rng.choice((2, 2, 4))) if rng.random() < 0.8 else 0
        side = _shrink(
            _side(rng, 7, 256), lambda s: float(n * c * (s * max(factor, 1)) ** 2), ctx.max_elements
        )
        if side is None:
            return None
        out = side * factor if factor else max(1, int(side * rng.uniform(0.3, 3.0)))
        x = ctx.rand(n, c, side, side)
        if mode == "nearest":
            return (n, c, side * side, out * out), lambda: F.interpolate(x, size=out)
        return (n, c, side * side, out * out), lambda: F.interpolate(
            x, size=out, mode="bilinear", align_corners=False
        )

    return draw


def _cat(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    parts = int(rng.choice((2, 2, 3, 4, 8)))
    if c < parts:
        return None
    xs = [ctx.rand(n, c // parts, s, s) for _ in range(parts)]
    return (n * (c // parts) * parts * s * s, parts), lambda: torch.cat(xs, 1)


def _pad(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x = ctx.rand(n, c, s, s)
    return (n * c * (s + 2) ** 2,), lambda: F.pad(x, (1, 1, 1, 1))


def _copy(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x = ctx.rand(n, c, s, s)
    if rng.random() < 0.5:
        return (n * c * s * s, 0), lambda: x.clone()
    xt = x.permute(0, 2, 3, 1)
    return (n * c * s * s, 1), lambda: xt.contiguous()


def _view(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    numel = _numel(rng, ctx)
    x = ctx.rand(numel)
    return (numel,), lambda: x.view(-1, 1)


def _create(rng: np.random.Generator, ctx: _Ctx) -> tuple[tuple[int, ...], Call] | None:
    numel = int(math.exp(rng.uniform(0, math.log(1e5))))
    dev, dt = ctx.device, ctx.dtype
    return (numel,), lambda: torch.empty(numel, device=dev, dtype=dt)


_COMMON_ACTIVATIONS = ("relu", "silu", "hardswish", "gelu")
#: family → (sampler, share of the budget, most samples).
PLAN: dict[str, tuple[Sampler, float, int]] = {
    "conv.dense": (_conv_sampler("dense"), 18, 1200),
    "conv.pointwise": (_conv_sampler("pointwise"), 14, 1200),
    "conv.depthwise": (_conv_sampler("depthwise"), 9, 800),
    "conv.grouped": (_conv_sampler("grouped"), 5, 400),
    "linear": (_linear, 7, 400),
    "attention": (_attention, 2, 80),
    "norm.batch": (_norm_batch, 4, 250),
    "norm.layer": (_norm_layer, 2, 80),
    "norm.group": (_norm_group, 1, 50),
    "pool.max": (_pool("max"), 2, 150),
    "pool.avg": (_pool("avg"), 1.5, 60),
    "pool.adaptive_avg": (_adaptive("avg"), 1.5, 60),
    "pool.adaptive_max": (_adaptive("max"), 0.5, 30),
    **{
        f"act.{a}": (_activation(a), 1.5 if a in _COMMON_ACTIVATIONS else 0.8, 100)
        for a in (
            "relu",
            "clamp",
            "silu",
            "gelu",
            "hardswish",
            "hardsigmoid",
            "sigmoid",
            "tanh",
            "leaky_relu",
            "other",
        )
    },
    "ew.add": (_binary("add"), 3, 200),
    "ew.mul": (_binary("mul"), 2, 100),
    "reduce": (_reduce, 1.5, 60),
    "softmax": (_softmax, 1, 50),
    "resize.nearest": (_resize("nearest"), 1, 40),
    "resize.bilinear": (_resize("bilinear"), 1, 40),
    "cat": (_cat, 1.5, 60),
    "pad": (_pad, 0.8, 30),
    "copy": (_copy, 1.5, 60),
    "view": (_view, 0.3, 20),
    "create": (_create, 0.3, 20),
}
assert set(PLAN) == set(FAMILIES), "every kernel family has a sampler"


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


def module_call_us(clock: Clock, ctx: _Ctx) -> Sample:
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


def _family_rng(family: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(family.encode()), seed])


def _draws(
    family: str, sampler: Sampler, ctx: _Ctx, seed: int
) -> Iterator[tuple[tuple[int, ...], Call]]:
    rng = _family_rng(family, seed)
    misses = 0
    while misses < 1000:
        got = sampler(rng, ctx)
        if got is None:
            misses += 1
            continue
        yield got


def calibrate_kernels(
    device: str = "cpu",
    *,
    dtype: str = "float32",
    threads: int | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    families: tuple[str, ...] | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> KernelCalibration:
    """Time every kernel family on ``device`` within ``budget_s`` seconds (see the module
    docstring); ``families`` limits the run to some (tests)."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise InputError(f"the kernel calibration budget must be positive, got {budget_s!r}")
    chosen = families if families is not None else tuple(PLAN)
    unknown = [f for f in chosen if f not in PLAN]
    if unknown:
        raise InputError(f"unknown kernel families: {', '.join(unknown)}")
    dev = check_device(device)
    started = time.monotonic()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    ctx = _Ctx(dev, DTYPES[dtype], 32.0 if dev.type == "cuda" else 1.0)
    samples: dict[str, tuple[np.ndarray, np.ndarray, tuple[int, ...]]] = {}
    unstable_total = 0
    try:
        used_threads = torch.get_num_threads()
        one_thread = dev.type == "cpu" and used_threads == 1
        clock = ThreadClock(dev) if one_thread else Clock(dev)
        clock_name = "thread-cpu" if one_thread else "cuda-events" if dev.type == "cuda" else "wall"
        gpus: list[int] = []
        if dev.type == "cuda":
            gpus = [dev.index if dev.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=gpus):
            torch.manual_seed(seed)
            # The roofline (a lower bound shown beside the prediction): a small share.
            roof_s = min(3.0, budget_s * 0.04)
            roofline = calibrate(
                device, dtype=DTYPES[dtype], budget_s=roof_s, threads=threads, clock=clock
            )
            with torch.inference_mode():
                overhead = module_call_us(clock, ctx)
                left = budget_s - (time.monotonic() - started)
                runs = _interleave(chosen, ctx, clock, seed, left, progress)
                for family in chosen:
                    rows, times, unstable = runs[family]
                    if rows:
                        samples[family] = (
                            np.asarray(rows, dtype=np.int64),
                            np.asarray(times, dtype=float),
                            tuple(unstable),
                        )
                        unstable_total += len(unstable)
    finally:
        torch.set_num_threads(old_threads)
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
        clock=clock_name,
    )
    return KernelCalibration(
        KernelModel(provenance=provenance, samples=MappingProxyType(samples)), roofline
    )


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


def _interleave(
    families: tuple[str, ...],
    ctx: _Ctx,
    clock: Clock,
    seed: int,
    budget_s: float,
    progress: ProgressFn | None,
) -> dict[str, tuple[list[tuple[int, ...]], list[float], list[int]]]:
    """Sample every family in turn within ``budget_s``: the next sample goes to the family
    whose time spent is smallest relative to its share (at least one sample each)."""
    runs = {f: _Run(_draws(f, PLAN[f][0], ctx, seed), PLAN[f][1], PLAN[f][2]) for f in families}
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
