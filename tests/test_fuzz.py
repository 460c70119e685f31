"""Fuzzing ``analyze`` with random CNNs (hypothesis, bounded and derandomized).

A small builder in this file draws a random network layer by layer — convolutions of every
kind (grouped, depthwise, dilated, strided, transposed, functional ``F.convNd``), max/avg
pooling, residual adds, channel concatenations, upsampling, BatchNorm, ReLU, ``F.normalize``
and an optional global-pool + linear head — in 1-d, 2-d or 3-d. While drawing, it computes
the expected output shape and MACs of every layer with its *own* formulas (below, not
convscope's).

Each network is then analyzed on meta and must:

* not crash, and produce the output shape the oracle predicts;
* have MACs equal to the oracle's and to ``FlopCounterMode`` / 2 on meta;
* have rows that sum to the totals (params, MACs, other FLOPs, bytes);
* have params equal to ``sum(p.numel())``;
* lint without raising;
* (2-d, real weights) have analytic receptive fields equal to the empirical ones measured
  by back-propagating one output pixel (:func:`convscope.checks.rf_verify.verify_rf`).

The budget is bounded (``max_examples``) and ``derandomize=True`` makes CI reproducible.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from convscope import analyze
from convscope.analysis.rf import with_receptive_field
from convscope.checks.rf_verify import verify_rf
from convscope.ir import graph as ir
from convscope.linting.engine import lint
from convscope.model.state import seeded

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

# --------------------------------------------------------------------------- the oracle
# Independent re-statements of PyTorch's shape rules and the MAC convention (one MAC per
# multiply-accumulate of conv / linear, bias not counted).


def out_conv(size: int, k: int, s: int, p: int, d: int) -> int:
    return math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1


def out_conv_t(size: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def out_pool(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil else math.floor(span / s)) + 1
    if ceil and (out - 1) * s >= size + p:  # the last window may not start in the padding
        out -= 1
    return out


def macs_conv(
    n: int, cin: int, cout: int, groups: int, kernel: Sequence[int], out: Sequence[int]
) -> int:
    return n * cout * math.prod(out) * (cin // groups) * math.prod(kernel)


def macs_conv_t(
    n: int, cin: int, cout: int, groups: int, kernel: Sequence[int], inp: Sequence[int]
) -> int:
    # Each input element scatters through a (cout/groups)·∏k kernel.
    return n * cin * math.prod(inp) * (cout // groups) * math.prod(kernel)


# --------------------------------------------------------------------------- the builder


@dataclass
class Shape:
    n: int
    c: int
    spatial: tuple[int, ...]

    @property
    def nd(self) -> int:
        return len(self.spatial)


@dataclass
class Built:
    """A network under construction: its modules and the oracle's running totals."""

    steps: list[nn.Module] = field(default_factory=list)
    macs: int = 0
    log: list[str] = field(default_factory=list)


CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
ADAPTIVE = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
FCONV: dict[int, Callable[..., torch.Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
UPSAMPLE_MODES = {
    1: ("nearest", "linear"),
    2: ("nearest", "bilinear", "bicubic"),
    3: ("nearest", "trilinear"),
}


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Concat(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], dim=1)


class FunctionalConv(nn.Module):
    """``F.convNd`` on a raw parameter: a functional call that forward hooks cannot see."""

    def __init__(self, cin: int, cout: int, k: int, nd: int, stride: int, groups: int) -> None:
        super().__init__()
        # Drawn values, not torch.empty: uninitialised memory may hold NaN, which no analysis
        # reads but which makes "the weights are unchanged" and gradient checks flaky.
        self.weight = nn.Parameter(torch.randn(cout, cin // groups, *(k,) * nd))
        self.stride, self.groups, self.nd = stride, groups, nd

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return FCONV[self.nd](x, self.weight, None, self.stride, 0, 1, self.groups)


class L2Norm(nn.Module):
    """``F.normalize`` over channels (SSD's L2Norm, Swin-V2's cosine attention): a
    ``linalg_vector_norm`` whose ``dim`` is its third argument."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1)


class Head(nn.Module):
    def __init__(self, channels: int, classes: int, nd: int) -> None:
        super().__init__()
        self.pool = ADAPTIVE[nd](1)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(x), 1))


def draw_conv(
    data: st.DataObject, shape: Shape, b: Built, *, same: bool = False, stride: int | None = None
) -> tuple[nn.Module, Shape]:
    """A forward conv (grouped/depthwise/dilated/strided). ``same``: keep the spatial size
    for stride 1 (odd kernel, padding d·(k−1)/2)."""
    nd = shape.nd
    cin = shape.c
    groups = data.draw(st.sampled_from(divisors(cin)), label="groups")
    depthwise = groups == cin and cin > 1
    mult = data.draw(st.integers(1, 3 if depthwise else max(1, 12 // groups)), label="mult")
    cout = groups * mult
    k = data.draw(st.sampled_from([1, 3, 5]) if same else st.integers(1, 5), label="k")
    d = data.draw(st.integers(1, 3), label="dilation")
    s = stride if stride is not None else data.draw(st.integers(1, 3), label="stride")
    p = d * (k - 1) // 2 if same else data.draw(st.integers(0, 2), label="padding")
    out = tuple(out_conv(size, k, s, p, d) for size in shape.spatial)
    if min(out) < 1:
        k, d, p = 1, 1, 0
        out = tuple(out_conv(size, k, s, p, d) for size in shape.spatial)
    bias = data.draw(st.booleans(), label="bias")
    conv = CONV[nd](cin, cout, k, stride=s, padding=p, dilation=d, groups=groups, bias=bias)
    b.macs += macs_conv(shape.n, cin, cout, groups, (k,) * nd, out)
    b.log.append(f"conv{nd}d {cin}->{cout} k{k} s{s} p{p} d{d} g{groups} -> {out}")
    return conv, Shape(shape.n, cout, out)


def draw_conv_t(data: st.DataObject, shape: Shape, b: Built) -> tuple[nn.Module, Shape]:
    nd = shape.nd
    cin = shape.c
    groups = data.draw(st.sampled_from(divisors(cin)), label="groups_t")
    cout = groups * data.draw(st.integers(1, max(1, 8 // groups)), label="mult_t")
    k = data.draw(st.integers(1, 4), label="k_t")
    s = data.draw(st.integers(1, 3), label="stride_t")
    d = data.draw(st.integers(1, 2), label="dilation_t")
    p = data.draw(st.integers(0, (d * (k - 1)) // 2), label="padding_t")
    op = data.draw(st.integers(0, max(s, d) - 1), label="output_padding")
    out = tuple(out_conv_t(size, k, s, p, d, op) for size in shape.spatial)
    if min(out) < 1 or max(out) > 64:
        return nn.Identity(), shape
    conv = CONV_T[nd](
        cin,
        cout,
        k,
        stride=s,
        padding=p,
        output_padding=op,
        groups=groups,
        dilation=d,
        bias=data.draw(st.booleans(), label="bias_t"),
    )
    b.macs += macs_conv_t(shape.n, cin, cout, groups, (k,) * nd, shape.spatial)
    b.log.append(f"convT{nd}d {cin}->{cout} k{k} s{s} p{p} d{d} op{op} g{groups} -> {out}")
    return conv, Shape(shape.n, cout, out)


def draw_pool(data: st.DataObject, shape: Shape, b: Built) -> tuple[nn.Module, Shape]:
    nd = shape.nd
    kind = data.draw(st.sampled_from(["max", "avg"]), label="pool")
    k = data.draw(st.integers(1, 3), label="pool_k")
    s = data.draw(st.integers(1, 3), label="pool_s")
    p = data.draw(st.integers(0, k // 2), label="pool_p")
    ceil = data.draw(st.booleans(), label="ceil")
    d = data.draw(st.integers(1, 2), label="pool_d") if kind == "max" else 1
    out = tuple(out_pool(size, k, s, p, d, ceil) for size in shape.spatial)
    # avg_pool3d refuses inputs smaller than the kernel even with padding: stay clear.
    if min(out) < 1 or min(shape.spatial) < d * (k - 1) + 1:
        return nn.Identity(), shape
    pool: nn.Module
    if kind == "max":
        pool = MAXPOOL[nd](k, s, p, dilation=d, ceil_mode=ceil)
    else:
        pool = AVGPOOL[nd](k, s, p, ceil_mode=ceil)
    b.log.append(f"{kind}pool k{k} s{s} p{p} d{d} ceil={ceil} -> {out}")
    return pool, Shape(shape.n, shape.c, out)


def draw_block(data: st.DataObject, shape: Shape, b: Built) -> Shape:
    nd = shape.nd
    kind = data.draw(
        st.sampled_from(
            [
                "conv",
                "conv",
                "conv_t",
                "pool",
                "residual",
                "concat",
                "upsample",
                "functional",
                "bn_relu",
                "normalize",
            ]
        ),
        label="block",
    )
    module: nn.Module
    if kind == "conv":
        module, new = draw_conv(data, shape, b)
    elif kind == "conv_t":
        module, new = draw_conv_t(data, shape, b)
    elif kind == "pool":
        module, new = draw_pool(data, shape, b)
    elif kind == "residual":
        # conv(same) [→ BN → ReLU] → conv(same) back to the input channels, plus identity.
        first, mid = draw_conv(data, shape, b, same=True, stride=1)
        layers: list[nn.Module] = [first, BN[nd](mid.c), nn.ReLU()]
        k = data.draw(st.sampled_from([1, 3]), label="res_k")
        layers.append(CONV[nd](mid.c, shape.c, k, padding=k // 2, bias=False))
        b.macs += macs_conv(shape.n, mid.c, shape.c, 1, (k,) * nd, shape.spatial)
        b.log.append(f"residual back {mid.c}->{shape.c} k{k}")
        module, new = Residual(nn.Sequential(*layers)), shape
    elif kind == "concat":
        s = data.draw(st.integers(1, 2), label="cat_stride")
        first, sa = draw_conv(data, shape, b, same=True, stride=s)
        second, sb = draw_conv(data, shape, b, same=True, stride=s)
        assert sa.spatial == sb.spatial
        module, new = Concat(first, second), Shape(shape.n, sa.c + sb.c, sa.spatial)
    elif kind == "upsample":
        mode = data.draw(st.sampled_from(UPSAMPLE_MODES[nd]), label="up_mode")
        if max(shape.spatial) > 24:
            return shape
        module = nn.Upsample(scale_factor=2, mode=mode)
        new = Shape(shape.n, shape.c, tuple(2 * s for s in shape.spatial))
        b.log.append(f"upsample {mode} -> {new.spatial}")
    elif kind == "functional":
        groups = data.draw(st.sampled_from(divisors(shape.c)), label="f_groups")
        cout = groups * data.draw(st.integers(1, 3), label="f_mult")
        k = data.draw(st.integers(1, 3), label="f_k")
        s = data.draw(st.integers(1, 2), label="f_s")
        if min(shape.spatial) < k:
            return shape
        module = FunctionalConv(shape.c, cout, k, nd, s, groups)
        out = tuple(out_conv(size, k, s, 0, 1) for size in shape.spatial)
        b.macs += macs_conv(shape.n, shape.c, cout, groups, (k,) * nd, out)
        b.log.append(f"F.conv{nd}d {shape.c}->{cout} k{k} s{s} g{groups} -> {out}")
        new = Shape(shape.n, cout, out)
    elif kind == "normalize":
        module, new = L2Norm(), shape
    else:
        module, new = nn.Sequential(BN[nd](shape.c), nn.ReLU(inplace=True)), shape
    b.steps.append(module)
    return new


def draw_network(data: st.DataObject, nd: int) -> tuple[nn.Module, Shape, Shape, Built]:
    lo, hi = (4, 10) if nd == 3 else (8, 24)
    shape = Shape(
        n=data.draw(st.integers(1, 2), label="batch"),
        c=data.draw(st.integers(1, 6), label="channels"),
        spatial=tuple(data.draw(st.integers(lo, hi), label="size") for _ in range(nd)),
    )
    first = shape
    b = Built()
    # The layers' initial weights come from torch's RNG: drawn here, so an example is the
    # same network whatever ran before it in the process (and a failure replays).
    with seeded(data.draw(st.integers(0, 2**32 - 1), label="weights seed")):
        for _ in range(data.draw(st.integers(1, 6), label="depth")):
            shape = draw_block(data, shape, b)
    if data.draw(st.booleans(), label="head"):
        classes = data.draw(st.integers(1, 10), label="classes")
        b.steps.append(Head(shape.c, classes, nd))
        b.macs += shape.n * shape.c * classes
        b.log.append(f"head {shape.c}->{classes}")
        shape = Shape(shape.n, classes, ())
    return nn.Sequential(*b.steps), first, shape, b


# --------------------------------------------------------------------------- checks


def flop_counter(model: nn.Module, x: torch.Tensor) -> int:
    """torch's own count, on a meta copy (a real-weight model is left as it is)."""
    if any(not p.is_meta for p in model.parameters()):
        model = copy.deepcopy(model).to("meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def check(model: nn.Module, first: Shape, last: Shape, b: Built) -> None:
    why = "\n".join(b.log)
    x = torch.empty(first.n, first.c, *first.spatial, device="meta")
    model.eval()
    a = analyze(model, x)
    expected_out = (last.n, last.c, *last.spatial)
    assert a.output_shapes == (expected_out,), why
    assert a.totals.macs == b.macs, why
    assert flop_counter(model, x) == 2 * b.macs, why
    assert a.totals.params == sum(p.numel() for p in model.parameters()), why
    t = a.totals
    for name in (
        "params",
        "trainable_params",
        "buffers",
        "macs",
        "other_flops",
        "activation_bytes",
        "bytes_read",
        "bytes_written",
    ):
        assert sum(getattr(r, name) for r in a.rows) == getattr(t, name), (name, why)
    assert not a.unknown, (a.unknown, why)
    lint(a, receptive_field=with_receptive_field)  # must not raise


@FUZZ
@given(st.data())
def test_random_2d_cnns(data: st.DataObject) -> None:
    with torch.device("meta"):
        model, first, last, b = draw_network(data, 2)
    check(model, first, last, b)


@settings(FUZZ, max_examples=50)
@given(st.data(), st.sampled_from([1, 3]))
def test_random_1d_and_3d_cnns(data: st.DataObject, nd: int) -> None:
    with torch.device("meta"):
        model, first, last, b = draw_network(data, nd)
    check(model, first, last, b)


@settings(FUZZ, max_examples=20)
@given(st.data())
def test_random_cnn_with_real_weights(data: st.DataObject) -> None:
    """A CPU model (meta stand-ins inside the tracer) gives the same counts, untouched."""
    model, first, last, b = draw_network(data, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    check(model, first, last, b)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_oracle_matches_known_cases() -> None:
    """The oracle itself, on hand-checked numbers (so a wrong oracle cannot agree with a
    wrong analysis)."""
    assert out_conv(224, 7, 2, 3, 1) == 112
    assert out_conv(10, 3, 1, 2, 2) == 10
    assert out_conv_t(7, 4, 2, 1, 1, 0) == 14
    assert out_pool(112, 3, 2, 1, 1, False) == 56
    assert out_pool(5, 2, 2, 0, 1, True) == 3
    assert out_pool(4, 3, 2, 1, 1, True) == 3
    assert out_pool(5, 2, 2, 1, 1, True) == 3  # the window starting in the padding drops
    assert macs_conv(1, 64, 128, 1, (3, 3), (56, 56)) == 231_211_008
    assert macs_conv_t(1, 16, 8, 1, (4, 4), (7, 7)) == 16 * 49 * 8 * 16


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_builder_produces_the_predicted_shape(nd: int) -> None:
    """The oracle's shape rules agree with torch on a fixed deep network of every kind."""
    shape = Shape(1, 4, (16,) * nd)
    b = Built()
    steps: list[nn.Module] = [
        CONV[nd](4, 8, 3, stride=2, padding=1, dilation=2, groups=4),
        CONV_T[nd](8, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        MAXPOOL[nd](3, 2, 1, dilation=2, ceil_mode=True),
    ]
    spatial = shape.spatial
    spatial = tuple(out_conv(s, 3, 2, 1, 2) for s in spatial)
    b.macs += macs_conv(1, 4, 8, 4, (3,) * nd, spatial)
    before = spatial
    spatial = tuple(out_conv_t(s, 3, 2, 1, 1, 1) for s in spatial)
    b.macs += macs_conv_t(1, 8, 6, 2, (3,) * nd, before)
    spatial = tuple(out_pool(s, 3, 2, 1, 2, True) for s in spatial)
    model = nn.Sequential(*steps)
    check(model, shape, Shape(1, 6, spatial), b)
    assert model(torch.zeros(1, 4, *(16,) * nd)).shape[2:] == spatial


def skips_pixels(a: Any) -> bool:
    """Whether a conv / pool's taps miss some phases of its stride (a 1×1 stride-2 conv,
    what RF005 flags; a kernel-1 stride-2 transposed conv).

    Then the exact input support of a pixel has holes that reach the image edge (the
    last rows are never read, or a transposed conv's pixel reads only inserted zeros),
    while the analytic RF is the Distill bounding interval, which includes them. The
    bounding box of the gradient and the interval differ by construction, so such
    networks are not compared here."""
    for n in a.graph.nodes:
        at = n.attrs
        if isinstance(at, (ir.ConvAttrs, ir.PoolAttrs)):
            for k, s, d in zip(at.kernel, at.stride, at.dilation, strict=True):
                if len({(j * d) % s for j in range(k)}) < s:
                    return True
    return False


@settings(FUZZ, max_examples=20)
@given(st.data())
def test_random_cnn_rf_matches_empirical(data: st.DataObject) -> None:
    """Analytic RF of every layer = the input support of one back-propagated pixel."""
    model, first, _, b = draw_network(data, 2)
    shape = (first.n, first.c, *first.spatial)
    a = analyze(model.eval(), shape)
    assume(not skips_pixels(a))
    # F.normalize is scale-invariant: over one channel it is the constant 1, so its gradient
    # vanishes and the gradient method cannot see through it (rf_verify documents this).
    assume(not any(isinstance(m, L2Norm) for m in model.modules()))
    res = verify_rf(model, shape, a)
    assert res.checks, "\n".join(b.log)
    assert res.all_agree, res.render() + "\n" + "\n".join(b.log)
