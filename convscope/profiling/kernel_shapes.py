"""What a kernel calibration times: per kernel family, a sampler of shapes and the call.

Shapes. Each family has a sampler that draws shapes from the ranges CNNs use — channels
3 to 2048 (multiples of 8 above 16, as designs use), maps 7² to 512², batch 1 to 8,
kernels 1 to 7, stride 1 or 2, token counts of vision transformers — from a numpy
generator seeded by the family's name, so two calibrations time the same shapes in the
same order. A call is capped in work (:data:`MAX_MACS`, :data:`MAX_ELEMENTS`: larger
shapes are shrunk spatially) so that one sample stays short; above the cap the kernel
model prices a call as pieces the samples cover. Seven draws in ten follow a CNN stage
prior (:func:`_stage`: large maps with few channels, small maps with many), so samples are
dense where real layers are; no model's shapes enter it.

A sampler returns a shape's column values (the family's ``columns`` in
:mod:`convscope.targets.kernels`) and the call that runs it the way a layer runs in a
model: through its ``torch.nn`` module, with weights cycled through copies
(:meth:`Ctx.cold`). :mod:`convscope.profiling.kernel_bench` times the calls.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from convscope.targets.kernel_families import ACTIVATIONS, FAMILIES

__all__ = ["MAX_ELEMENTS", "MAX_MACS", "PLAN", "Call", "Ctx", "Sampler", "draws"]

#: Work caps of one call (CPU; CUDA takes 32× more).
MAX_MACS = 3e8
MAX_ELEMENTS = 4e6
#: A GPU's caps are this many times a CPU's (it runs a call of a CPU's cap in microseconds).
CUDA_SCALE = 32.0

Call = Callable[[], Any]
#: Weights of the copies a conv / linear sample cycles through (more than a core's L2).
COLD_BYTES = 32 * 2**20
MAX_COPIES = 32


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
Sampler = Callable[[np.random.Generator, "Ctx"], "tuple[tuple[int, ...], Call] | None"]


@dataclass(frozen=True)
class Ctx:
    device: torch.device
    dtype: torch.dtype
    scale: float  # work cap multiplier (CUDA: larger)

    @classmethod
    def on(cls, device: torch.device, dtype: torch.dtype) -> Ctx:
        """The context of ``device``: a GPU takes :data:`CUDA_SCALE` × the work caps."""
        return cls(device, dtype, CUDA_SCALE if device.type == "cuda" else 1.0)

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
#: Share of conv draws whose input is channels-last.
CHANNELS_LAST_SHARE = 0.2
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


def _numel(rng: np.random.Generator, ctx: Ctx) -> int:
    return int(math.exp(rng.uniform(math.log(64), math.log(ctx.max_elements))))


def _shrink(h: int, work: Callable[[int], float], cap: float, lo: int = 1) -> int | None:
    """The largest side ≤ ``h`` whose work fits ``cap`` (None when even ``lo`` does not)."""
    while h > lo and work(h) > cap:
        h = max(lo, int(h * 0.8))
    return h if work(h) <= cap else None


def _out(h: int, k: int, s: int, pad: int | None = None) -> int:
    """Output side of a conv (padding ``k // 2`` unless given)."""
    return (h + 2 * (k // 2 if pad is None else pad) - k) // s + 1


def _conv_sampler(kind: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
        n = _batch(rng)
        staged = rng.random() < STAGE_PRIOR
        h, c = _stage(rng) if staged else (_side(rng), _channels(rng, 8))
        stride = int(rng.choice((1, 1, 1, 2)))
        pad: int | None = None  # k // 2 unless a patchify conv
        if kind == "dense":
            cout = _stage(rng)[1] if staged else _channels(rng, 8)
            cin = c
            k = int(rng.choice((3, 3, 3, 5, 7)))
            u = rng.random()
            if u < 0.1:  # a stem: RGB at the input resolution
                cin, h, stride = 3, h * (int(rng.choice((2, 4))) if staged else 1), 2
            elif u < 0.2:  # patchify: kernel = stride, no padding (patch embeddings,
                # downsampling between stages); over RGB at the input resolution a third
                # of the time, else onto a map of 7 to 56 patches a side
                k = stride = int(rng.choice((2, 2, 4, 4, 7, 8, 14, 16, 32)))
                if rng.random() < 0.33:
                    cin, h = 3, int(rng.choice(_RESOLUTIONS))
                else:
                    h = k * int(rng.choice((7, 14, 28, 56)))
                pad = 0
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
            # 1×1: the scale branch of re-parameterizable blocks (MobileOne, RepViT) in
            # their training form. PyTorch's CPU path for it costs microseconds per channel
            # (over 100× a 3×3's time per MAC), so its widths and work are capped lower.
            k = int(rng.choice((1, 3, 3, 3, 5, 7)))
            if k == 1:
                cin = min(cin, 1024)
            cout = cin * (2 if rng.random() < 0.1 else 1)
            groups = cin
        else:  # grouped: ResNeXt / RegNet group widths, a few to hundreds of channels
            width = int(rng.choice((4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384)))
            if rng.random() < 0.3:  # widths off the powers of two, multiples of 8
                width = 8 * round(math.exp(rng.uniform(math.log(1), math.log(48))))
            groups = int(rng.choice((2, 2, 4, 8, 16, 32, 64)))
            if rng.random() < 0.3:  # any count (RegNet: channels / group width): 3, 7, 17...
                groups = round(math.exp(rng.uniform(math.log(2), math.log(64))))
            cin = width * groups
            cout = cin * int(rng.choice((1, 1, 1, 2)))  # split attention widens the output
            if cin > 8192:
                return None
            k = 1 if rng.random() < 0.2 else 3  # 1×1: grouped pointwise (ShuffleNet v1)
        per_in = cin // groups
        padding = k // 2 if pad is None else pad

        def macs(side: int) -> float:
            return float(n * cout * per_in * k * k * _out(side, k, stride, padding) ** 2)

        # Depthwise convs and narrow groups run far below peak: a smaller cap keeps calls
        # short.
        cap = ctx.max_macs * (1.0 if kind in ("dense", "pointwise") or per_in >= 64 else 0.2)
        if kind == "depthwise" and k == 1:
            cap = ctx.max_macs * 0.01
        side = _shrink(h, macs, cap, lo=1 if h == 1 else max(k, 2))
        if side is None:
            return None
        x = ctx.rand(n, cin, side, side)
        # Channels-last inputs (a ConvNeXt block's permutes leave its maps so) make PyTorch
        # run another kernel: for depthwise convs it takes half the time or less.
        cl = int(rng.random() < CHANNELS_LAST_SHARE)
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        bias = bool(rng.random() < 0.5)
        ho = _out(side, k, stride, padding)
        cols = (n, cin, cout, groups, k * k, stride, side * side, ho * ho, cl)
        convs = ctx.cold(
            lambda: nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias),
            cout * per_in * k * k * x.element_size(),
        )
        return cols, convs.bind(x)

    return draw


_TOKENS = (1, 2, 4, 8, 49, 64, 196, 197, 256, 577, 784, 3136)


def _linear(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    batched = rng.random() < 0.25
    # Batched: heads × images, or windows × heads × images in windowed attention.
    b = int(rng.choice((2, 4, 8, 12, 16, 24, 48, 96, 192, 384))) if batched else 1
    m = int(rng.choice(_TOKENS)) * (1 if batched else int(rng.choice((1, 1, 2, 8))))
    k = _channels(rng, 16, 8192) if rng.random() < 0.9 else int(rng.choice((9216, 25088)))
    n = _channels(rng, 16, 8192)
    if batched and rng.random() < 0.7:
        d = int(rng.choice((32, 64, 96)))
        # attention scores [b, m, d] @ [b, d, m], or the weighted values [b, m, m] @ [b, m, d]
        k, n = (d, m) if rng.random() < 0.5 else (m, d)
    if b * m * k * n > ctx.max_macs:
        return None
    if batched:  # activations times activations: both warm
        xa, xb = ctx.rand(b, m, k), ctx.rand(b, k, n)
        return (b, m, k, n, 0), lambda: torch.bmm(xa, xb)
    x = ctx.rand(m, k)
    bias = bool(rng.random() < 0.8)
    layers = ctx.cold(lambda: nn.Linear(k, n, bias=bias), k * n * x.element_size())
    return (1, m, k, n, int(bias)), layers.bind(x)


def _attention(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    b = _batch(rng)
    heads = int(rng.choice((1, 3, 4, 6, 8, 12, 16)))
    q = int(rng.choice((49, 64, 196, 197, 256, 577, 784, 1024)))
    d = int(rng.choice((32, 64, 96)))
    if 2 * b * heads * q * q * d > ctx.max_macs:
        return None
    qt, kt, vt = (ctx.rand(b, heads, q, d) for _ in range(3))
    return (b, heads, q, q, d), lambda: F.scaled_dot_product_attention(qt, kt, vt)


def _map_shape(rng: np.random.Generator, ctx: Ctx) -> tuple[int, int, int] | None:
    n = _batch(rng)
    drawn, c = _stage(rng) if rng.random() < STAGE_PRIOR else (_side(rng), _channels(rng))
    side = _shrink(drawn, lambda s: float(n * c * s * s), ctx.max_elements)
    return None if side is None else (n, c, side)


def _norm_batch(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x, bn = ctx.rand(n, c, s, s), ctx.module(nn.BatchNorm2d(c))
    return (n, c, s * s), lambda: bn(x)


def _norm_batch_stats(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    """Batch norm that computes its batch's statistics: a model in training mode, and weight
    standardization, which normalizes a conv's weight viewed as ``[1, cout, cin·k²]``."""
    if rng.random() < 0.4:
        n, c, hw = 1, _channels(rng, 8), _channels(rng, 3, 2048) * int(rng.choice((1, 9)))
        if c * hw > ctx.max_elements:
            return None
        x = ctx.rand(n, c, hw)
    else:
        shape = _map_shape(rng, ctx)
        if shape is None:
            return None
        n, c, s = shape
        hw, x = s * s, ctx.rand(n, c, s, s)
    return (n, c, hw), lambda: F.batch_norm(x, None, None, training=True)


def _norm_group(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x, gn = ctx.rand(n, c, s, s), ctx.module(nn.GroupNorm(math.gcd(c, 32), c))
    return (n, c, s * s), lambda: gn(x)


def _rows(rng: np.random.Generator, ctx: Ctx) -> tuple[int, int] | None:
    cols = _channels(rng, 16, 4096) if rng.random() < 0.7 else int(rng.choice(_TOKENS[4:]))
    rows = int(rng.choice(_TOKENS)) * _batch(rng) * int(rng.choice((1, 1, 4, 12)))
    if rows * cols > ctx.max_elements:
        return None
    return rows, cols


def _norm_layer(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _rows(rng, ctx)
    if shape is None:
        return None
    r, c = shape
    x, ln = ctx.rand(r, c), ctx.module(nn.LayerNorm(c))
    return (r, c), lambda: ln(x)


def _softmax(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _rows(rng, ctx)
    if shape is None:
        return None
    r, c = shape
    x = ctx.rand(r, c)
    return (r, c), lambda: torch.softmax(x, -1)


def _pool(kind: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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
    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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

    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
        numel = _numel(rng, ctx)
        inplace = name in _IN_PLACE and rng.random() < 0.5
        x = ctx.positive(numel) if inplace else ctx.rand(numel)
        if make is None:
            return (numel, 0), lambda: torch.exp(x)
        act = ctx.module(make(inplace))
        return (numel, int(inplace)), lambda: act(x)

    return draw


def _binary(name: str) -> Sampler:
    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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


def _reduce(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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
    def draw(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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


def _cat(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    parts = int(rng.choice((2, 2, 3, 4, 8)))
    if c < parts:
        return None
    xs = [ctx.rand(n, c // parts, s, s) for _ in range(parts)]
    return (n * (c // parts) * parts * s * s, parts), lambda: torch.cat(xs, 1)


def _pad(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x = ctx.rand(n, c, s, s)
    return (n * c * (s + 2) ** 2,), lambda: F.pad(x, (1, 1, 1, 1))


def _copy(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    shape = _map_shape(rng, ctx)
    if shape is None:
        return None
    n, c, s = shape
    x = ctx.rand(n, c, s, s)
    if rng.random() < 0.5:
        return (n * c * s * s, 0), lambda: x.clone()
    xt = x.permute(0, 2, 3, 1)
    return (n * c * s * s, 1), lambda: xt.contiguous()


def _view(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
    numel = _numel(rng, ctx)
    x = ctx.rand(numel)
    return (numel,), lambda: x.view(-1, 1)


def _create(rng: np.random.Generator, ctx: Ctx) -> tuple[tuple[int, ...], Call] | None:
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
    "norm.batch_stats": (_norm_batch_stats, 1, 60),
    "norm.group": (_norm_group, 1, 50),
    "pool.max": (_pool("max"), 2, 150),
    "pool.avg": (_pool("avg"), 1.5, 60),
    "pool.adaptive_avg": (_adaptive("avg"), 1.5, 60),
    "pool.adaptive_max": (_adaptive("max"), 0.5, 30),
    **{
        f"act.{a}": (_activation(a), 1.5 if a in _COMMON_ACTIVATIONS else 0.8, 100)
        for a in ACTIVATIONS
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


def _family_rng(family: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(family.encode()), seed])


def draws(family: str, ctx: Ctx, seed: int) -> Iterator[tuple[tuple[int, ...], Call]]:
    rng = _family_rng(family, seed)
    misses = 0
    while misses < 1000:
        got = PLAN[family][0](rng, ctx)
        if got is None:
            misses += 1
            continue
        yield got
