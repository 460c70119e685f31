"""Quantization fragility on trained weights: do QF001/QF002 flag the layers that lose accuracy?

Trains small depthwise-separable CNNs on scikit-learn's bundled 8×8 digits (upsampled to
16×16, fixed seeded split, CPU), folds BatchNorm, and measures with PyTorch's own fake
quantization (``torch.fake_quantize_per_tensor_affine`` / ``..._per_channel_affine``):

* accuracy in fp32, with all weights INT8 per tensor / per channel (activations fp32, and
  activations INT8 per tensor with min-max ranges calibrated on the training set);
* per layer: the accuracy drop and logit error when only that layer's folded weights are
  quantized per tensor, beside weight-only metrics a lint rule can compute (effective bits,
  share of channels rounding to zero, max/median range spread, BN fold-factor ratio);
* cross-layer equalization (Nagel et al. 2019) over the whole ReLU chain, and per-tensor
  accuracy after it;
* what ``convscope lint MODEL --weights CKPT`` flags (QF001 / QF002) on ``--target
  edge-int8`` (per-tensor weights) and on the same target with ``weights: per-channel``,
  beside the max/median tests the rules used before (recomputed here: "before").

Three recipes are trained (one clean, two that leave dead ReLU channels); a fourth variant
is the clean model with a function-preserving rescale *injected* (labelled so everywhere),
plus a sweep of how many channels it touches, to show where max/median tests go blind and
what convscope's QF001 reports at each point.

``python benchmarks/quant_trained.py [--threads 1] [--no-write] [--json FILE]``: a few minutes
on one thread; rewrites the ``## Quantization findings on trained weights`` section of
``benchmarks/RESULTS.md``. Needs the ``bench`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_quant import Scheme, fake_quant_weight
from results_file import RESULTS, write_section

SECTION = "## Quantization findings on trained weights"
REPO = Path(__file__).resolve().parent.parent
Axis = Literal["out", "in"]
BN_EPS = 1e-5


# --------------------------------------------------------------------------- liftable metric
# Pure functions of a weight tensor (output channels on dim 0); no convscope imports, so the
# lint rule can take them over as they are.


def channel_levels(
    weight: Tensor,
    scheme: Scheme = "per-tensor",
    bits: int = 8,
    axis: Axis = "out",
    groups: int = 1,
) -> Tensor:
    """Largest integer level each channel reaches under symmetric narrow-range quantization
    (levels ±qmax, zero point 0) of ``weight`` (``[C_out, C_in / groups, ...]``):
    ``q = round(W[o, j] / s_o)`` with ``s_o = R / qmax`` (``R = max |W|``) per tensor or
    ``s_o = max |W[o]| / qmax`` per output channel; rounding is torch's (half to even), as
    in the fake quantizers. ``axis="out"``: ``m_o = max_j |q[o, j]|`` per output channel;
    ``axis="in"``: ``m_i = max_o |q[o, i]|`` per input channel ``i = g · C_in/groups + j``
    (a depthwise conv's input channel is its output channel)."""
    qmax = 2 ** (bits - 1) - 1
    w = weight.detach().to(torch.float64).reshape(weight.shape[0], weight.shape[1], -1)
    ranges = w.abs().amax(dim=(1, 2))
    top = ranges if scheme == "per-channel" else ranges.max().expand_as(ranges)
    scale = torch.where(top > 0, top / qmax, torch.ones_like(top))
    q = torch.round(w / scale[:, None, None]).abs().clamp(max=qmax)
    if axis == "out":
        return q.amax(dim=(1, 2))
    c_out, cig = w.shape[0], w.shape[1]
    return q.reshape(groups, c_out // groups, cig, -1).amax(dim=(1, 3)).reshape(-1)


def channel_effective_bits(
    weight: Tensor,
    scheme: Scheme = "per-tensor",
    bits: int = 8,
    axis: Axis = "out",
    groups: int = 1,
) -> Tensor:
    """Effective bits per channel: ``log2(2 · m + 1)``, the log of the number of grid
    levels ``−m … m`` the channel's weights can take (``m`` from :func:`channel_levels`).
    0 exactly when every weight of the channel rounds to zero; ``log2(255) = 7.99`` for the
    channel that sets an INT8 per-tensor scale (and for every non-zero output channel per
    channel)."""
    return torch.log2(2.0 * channel_levels(weight, scheme, bits, axis, groups) + 1.0)


def share_below_bits(
    weight: Tensor,
    n_bits: float,
    scheme: Scheme = "per-tensor",
    bits: int = 8,
    axis: Axis = "out",
    groups: int = 1,
) -> float:
    """Share of channels with fewer than ``n_bits`` effective bits: the empirical
    distribution function of the channels' bits at ``n_bits``, a count over real channels
    (no interpolation). ``n_bits`` just above 0 gives the share that rounds to all zeros."""
    eff = channel_effective_bits(weight, scheme, bits, axis, groups)
    return float((eff < n_bits).sum()) / max(1, eff.numel())


def order_statistic(values: Tensor, q: float) -> float:
    """The ``ceil(q · n)``-th smallest value (q in (0, 1]): always one of ``values``, unlike
    an interpolated quantile (the "median" of an even count is a mean of two channels).
    ``order_statistic(bits, q) < N`` ⟺ ``share_below_bits(..., N) ≥ q``."""
    flat = values.detach().reshape(-1).sort().values
    k = min(flat.numel(), max(1, math.ceil(q * flat.numel())))
    return float(flat[k - 1])


def _check_metric() -> None:
    """Hand-worked case: ranges 1, 1/100, 1/1000 under s = 1/127 reach levels 127, 1, 0."""
    w = torch.tensor([[1.0, -0.5], [0.01, 0.0], [-0.001, 0.0]])
    bits = channel_effective_bits(w)
    assert torch.allclose(bits, torch.log2(torch.tensor([255.0, 3.0, 1.0], dtype=bits.dtype)))
    assert share_below_bits(w, 1e-9) == 1 / 3 and share_below_bits(w, 4.0) == 2 / 3
    assert share_below_bits(w, 4.0, "per-channel") == 0.0
    assert share_below_bits(w.t(), 4.0, axis="in") == 2 / 3  # columns of the transpose
    assert order_statistic(bits, 0.5) == float(bits[1])  # a real channel, not a mean


def spread_max_over_median(ranges: Tensor) -> float:
    """``max r / median r`` with the median QF001 / QF002 used before (mean of the two
    middle values): the "before" tests."""
    med = float(torch.quantile(ranges.to(torch.float64), 0.5))
    top = float(ranges.max())
    return top / med if med > 0 else (math.inf if top > 0 else 1.0)


# --------------------------------------------------------------------------- data and model


@dataclass(frozen=True)
class Data:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def load_digits(seed: int = 0, test_share: float = 0.2) -> Data:
    """sklearn's 1,797 8×8 digits in [0, 1], bilinearly upsampled to 16×16; a seeded split."""
    from sklearn.datasets import load_digits as sk_digits

    raw = sk_digits()
    x = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)
    y = torch.tensor(raw.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = round(test_share * len(y))
    test, train = perm[:n_test], perm[n_test:]
    return Data(x[train], y[train], x[test], y[test])


WIDTHS = (32, 64, 96, 128, 128)
STRIDES = (1, 2, 1, 2, 1)


class Separable(nn.Module):
    """Depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False)
        self.dw_bn = nn.BatchNorm2d(c_in, eps=BN_EPS)
        self.dw_act = nn.ReLU()
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.pw_act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.dw_act(self.dw_bn(self.dw(x)))
        return self.pw_act(self.pw_bn(self.pw(x)))


class DigitsNet(nn.Module):
    """Stem 3×3 conv + BN + ReLU, separable blocks, global average pool, linear."""

    def __init__(
        self, widths: Sequence[int] = WIDTHS, strides: Sequence[int] = STRIDES, classes: int = 10
    ) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0], eps=BN_EPS)
        self.stem_act = nn.ReLU()
        pairs = zip(widths[:-1], widths[1:], strides[1:], strict=True)
        self.blocks = nn.Sequential(*(Separable(a, b, s) for a, b, s in pairs))
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.stem_act(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Recipe:
    """How one model variant is trained (all seeded, CPU)."""

    name: str
    summary: str
    optimizer: Literal["sgd", "adam"]
    lr: float
    weight_decay: float  # on conv / linear weights; never on BN γ, β
    depthwise_decay: bool
    epochs: int
    batch_size: int = 32
    seed: int = 0


RECIPES = (
    Recipe(
        "standard",
        "SGD (Nesterov, momentum 0.9), peak lr 0.05, weight decay 5e-4 on "
        "every conv / linear weight",
        "sgd",
        0.05,
        5e-4,
        True,
        20,
    ),
    Recipe(
        "sgd-high-lr",
        "SGD (Nesterov, momentum 0.9), peak lr 0.5, no weight decay",
        "sgd",
        0.5,
        0.0,
        False,
        20,
    ),
    Recipe("adam-high-lr", "Adam, peak lr 0.02, no weight decay", "adam", 0.02, 0.0, False, 20),
)


@dataclass(frozen=True)
class Injection:
    """A function-preserving rescale of a trained model (labelled *injected* wherever it is
    reported): output channels ``idx`` of ``blocks[block].dw`` are divided by ``factor``
    (through their BatchNorm's γ and β) and the matching input columns of
    ``blocks[block].pw`` multiplied by it. ReLU is positively homogeneous, so the fp32
    function is unchanged; it is the inverse of cross-layer equalization, a flat direction
    of the loss that training without weight decay is free to drift along."""

    base: str = "standard"
    block: int = 3
    share: float = 0.5  # of the depthwise channels
    factor: float = 500.0
    seed: int = 0


def _param_groups(model: nn.Module, recipe: Recipe) -> list[dict[str, Any]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        is_weight = name.endswith("weight") and p.dim() > 1
        is_dw = ".dw." in name
        (decay if is_weight and (recipe.depthwise_decay or not is_dw) else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": recipe.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def train(recipe: Recipe, data: Data) -> tuple[DigitsNet, float]:
    """Train one variant; returns the model in eval mode and the wall time in seconds."""
    torch.manual_seed(recipe.seed)  # init; the batch order uses its own generator
    model = DigitsNet()
    groups = _param_groups(model, recipe)
    opt: torch.optim.Optimizer = (
        torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True)
        if recipe.optimizer == "sgd"
        else torch.optim.Adam(groups, lr=recipe.lr)
    )
    steps_per_epoch = math.ceil(len(data.y_train) / recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch, pct_start=0.15
    )
    gen = torch.Generator().manual_seed(recipe.seed + 1)
    start = time.perf_counter()
    model.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(data.y_train), generator=gen)
        for idx in order.split(recipe.batch_size):
            # Light augmentation: random ±1 pixel shifts (keeps 16×16).
            x = _shift(data.x_train[idx], gen)
            loss = F.cross_entropy(model(x), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval(), time.perf_counter() - start


def inject(model: DigitsNet, spec: Injection) -> tuple[DigitsNet, str]:
    """A rescaled deep copy of ``model`` (see :class:`Injection`) and its description."""
    out = copy.deepcopy(model)
    blk = out.blocks[spec.block]
    assert isinstance(blk, Separable)
    n = blk.dw.out_channels
    k = round(spec.share * n)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(spec.seed))[:k]
    with torch.no_grad():
        blk.dw_bn.weight[idx] /= spec.factor
        blk.dw_bn.bias[idx] /= spec.factor
        blk.pw.weight[:, idx] *= spec.factor
    text = (
        f"**injected**: the trained `{spec.base}` model with {k} of the {n} output "
        f"channels of `blocks.{spec.block}.dw` divided by {spec.factor:g} (γ and β of its "
        f"BatchNorm) and the matching input channels of `blocks.{spec.block}.pw` "
        f"multiplied by {spec.factor:g}: the same fp32 function (ReLU is positively "
        "homogeneous), the inverse of cross-layer equalization"
    )
    return out, text


def _shift(x: Tensor, gen: torch.Generator) -> Tensor:
    dy, dx = (int(v) for v in torch.randint(-1, 2, (2,), generator=gen))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


# --------------------------------------------------------------------------- folded network


@dataclass(frozen=True)
class Layer:
    """One conv / linear layer with its BatchNorm folded in (``W_f = f · W``,
    ``b_f = β − f · mean``, ``f = γ / sqrt(var + eps)``); ReLU after every conv."""

    name: str
    kind: Literal["stem", "dw", "pw", "fc"]
    weight: Tensor
    bias: Tensor
    stride: int = 1
    groups: int = 1
    fold: Tensor | None = None  # the fold factors f, for the QF002 metric
    raw: Tensor | None = None  # the unfolded weight
    var: Tensor | None = None  # BatchNorm running_var: ≈ 0 marks a constant channel


def fold_model(model: DigitsNet) -> list[Layer]:
    """The model as a chain of folded layers, float32 as a deployed model stores them."""

    def folded(
        name: str, kind: Literal["stem", "dw", "pw"], conv: nn.Conv2d, bn: nn.BatchNorm2d
    ) -> Layer:
        assert bn.running_var is not None and bn.running_mean is not None
        var, mean = bn.running_var.double(), bn.running_mean.double()
        f = bn.weight.detach().double() / torch.sqrt(var + bn.eps)
        w = conv.weight.detach().double() * f.view(-1, 1, 1, 1)
        b = bn.bias.detach().double() - f * mean
        return Layer(
            name,
            kind,
            w.float(),
            b.float(),
            conv.stride[0],
            conv.groups,
            f.float(),
            conv.weight.detach().clone(),
            var.float(),
        )

    layers = [folded("stem", "stem", model.stem, model.stem_bn)]
    for i, blk in enumerate(model.blocks):
        assert isinstance(blk, Separable)
        layers.append(folded(f"blocks.{i}.dw", "dw", blk.dw, blk.dw_bn))
        layers.append(folded(f"blocks.{i}.pw", "pw", blk.pw, blk.pw_bn))
    fc = model.fc
    layers.append(
        Layer(
            "fc",
            "fc",
            fc.weight.detach().clone(),
            fc.bias.detach().clone(),
            raw=fc.weight.detach().clone(),
        )
    )
    return layers


def fake_quant_act(x: Tensor, top: float, bits: int = 8) -> Tensor:
    """Unsigned per-tensor activation fake quantization: every layer input here is ≥ 0
    (digits in [0, 1], ReLU outputs, their mean), so the calibrated range [0, top] maps to
    levels 0…255 with zero point 0 (what an asymmetric quint8 min-max observer gives)."""
    levels = 2**bits - 1
    return x if top <= 0 else torch.fake_quantize_per_tensor_affine(x, top / levels, 0, 0, levels)


def forward(
    layers: Sequence[Layer],
    x: Tensor,
    act_ranges: dict[str, float] | None = None,
    record: dict[str, float] | None = None,
) -> Tensor:
    """Run the folded chain. ``act_ranges``: fake-quantize each layer's input with that
    range; ``record``: collect each layer's max input (min-max calibration)."""
    for layer in layers:
        if layer.kind == "fc" and x.dim() == 4:
            x = x.mean((2, 3))  # global average pool
        if record is not None:
            record[layer.name] = max(record.get(layer.name, 0.0), float(x.max()))
        if act_ranges is not None:
            x = fake_quant_act(x, act_ranges[layer.name])
        if layer.kind == "fc":
            return F.linear(x, layer.weight, layer.bias)
        pad = layer.weight.shape[-1] // 2
        x = F.relu(F.conv2d(x, layer.weight, layer.bias, layer.stride, pad, 1, layer.groups))
    raise ValueError("the chain has no final linear layer")


def calibrate(layers: Sequence[Layer], x: Tensor) -> dict[str, float]:
    ranges: dict[str, float] = {}
    with torch.no_grad():
        for batch in x.split(256):
            forward(layers, batch, record=ranges)
    return ranges


def quantized(layers: Sequence[Layer], scheme: Scheme, only: str | None = None) -> list[Layer]:
    """Copies of ``layers`` with the weights of every layer (or of ``only``) fake-quantized."""
    return [
        replace(la, weight=fake_quant_weight(la.weight, scheme)) if only in (None, la.name) else la
        for la in layers
    ]


def zero_constant_channels(layers: Sequence[Layer], var_eps: float = 1e-8) -> list[Layer]:
    """QF002's fix without pruning: a channel whose running_var is ~0 never varied on the
    training data (its input is a dead ReLU), so its output is its bias; zeroing its folded
    weights keeps that output and stops them from setting the per-tensor scale."""
    out = []
    for la in layers:
        if la.var is None or not bool((la.var < var_eps).any()):
            out.append(la)
            continue
        keep = (la.var >= var_eps).to(la.weight.dtype).view(-1, *[1] * (la.weight.dim() - 1))
        out.append(replace(la, weight=la.weight * keep))
    return out


@dataclass(frozen=True)
class Score:
    accuracy: float
    logit_error: float  # ‖Δ logits‖ / ‖logits‖ against the fp32 folded model


def score(
    layers: Sequence[Layer],
    data: Data,
    reference: Tensor,
    act_ranges: dict[str, float] | None = None,
) -> Score:
    with torch.no_grad():
        logits = forward(layers, data.x_test, act_ranges)
    acc = float((logits.argmax(1) == data.y_test).float().mean())
    err = float((logits - reference).norm() / reference.norm())
    return Score(acc, err)


# --------------------------------------------------------------------------- equalization


def _out_ranges(layer: Layer) -> Tensor:
    return layer.weight.reshape(layer.weight.shape[0], -1).abs().amax(dim=1)


def _in_ranges(layer: Layer) -> Tensor:
    """Range per input channel: a depthwise filter reads only its own channel."""
    if layer.groups > 1:
        return _out_ranges(layer)
    w = layer.weight.reshape(layer.weight.shape[0], layer.weight.shape[1], -1)
    return w.abs().amax(dim=(0, 2))


def equalize(
    layers: Sequence[Layer], sweeps: int = 30, pairs: Sequence[int] | None = None
) -> tuple[list[Layer], dict[str, Tensor]]:
    """Cross-layer equalization over every consecutive pair of the ReLU chain.

    For ``L1 → ReLU → L2`` (the global mean pool before ``fc`` is linear), dividing output
    channel ``i`` of L1 (weights and bias) by ``s_i > 0`` and multiplying input channel
    ``i`` of L2 by ``s_i`` leaves the function unchanged, since ``relu(z / s) = relu(z) / s``.
    The ranges become ``r1_i / s_i`` and ``r2_i · s_i``; Nagel et al. (2019, §4.1) show
    the per-tensor precision of the pair is best when they are equal, so
    ``s_i = sqrt(r1_i · r2_i) / r2_i = sqrt(r1_i / r2_i)``, both ranges ``sqrt(r1_i · r2_i)``.
    Each layer sits in two pairs, so the pairs are swept until the scales settle.
    ``pairs`` (indices k of the pairs ``layers[k] → layers[k + 1]``) restricts it to those.
    Returns the new chain and, per first layer, the product of its scales over all sweeps.
    """
    out = list(layers)
    total = {la.name: torch.ones(la.weight.shape[0]) for la in out[:-1]}
    for _ in range(sweeps):
        moved = 0.0
        for k in range(len(out) - 1) if pairs is None else pairs:
            l1, l2 = out[k], out[k + 1]
            r1, r2 = _out_ranges(l1), _in_ranges(l2)
            ok = (r1 > 0) & (r2 > 0)
            s = torch.where(ok, torch.sqrt(r1 / torch.where(ok, r2, 1.0)), 1.0)
            total[l1.name] = total[l1.name] * s
            shape2 = (
                (-1,) + (1,) * (l2.weight.dim() - 1)
                if l2.groups > 1
                else (1, -1) + (1,) * (l2.weight.dim() - 2)
            )
            out[k] = replace(
                l1, weight=l1.weight / s.view(-1, *[1] * (l1.weight.dim() - 1)), bias=l1.bias / s
            )
            out[k + 1] = replace(l2, weight=l2.weight * s.view(shape2))
            moved = max(moved, float(s.log().abs().max()))
        if moved < 1e-4:
            break
    return out, total


# --------------------------------------------------------------------------- per-layer rows


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    channels: int
    drop_pt: float  # accuracy drop (points) with only this layer's weights per tensor
    logit_error_pt: float
    drop_pc: float
    logit_error_pc: float
    zero_share: float  # channels whose weights all round to 0 per tensor
    below4_share: float
    min_bits: float
    lower_median_bits: float
    spread: float  # max / median (interpolated) of the folded channel ranges
    spread_raw: float  # the same before folding
    fold_ratio: float | None  # max |f| / median |f|
    constant: int  # channels with running_var < 1e-8 (QF002's constant channels)
    q25_bits: float  # the ⌈n/4⌉-th smallest channel's effective bits
    in_below4_pt: float  # input channels below 4 bits, per-tensor scale
    in_below4_pc: float  # input channels below 4 bits, per-output-channel scales
    sqnr_pt_db: float
    sqnr_pc_db: float

    @property
    def fragile(self) -> bool:
        """Quantizing this layer alone per tensor moves the logits by ≥ FRAGILE_ERROR."""
        return self.logit_error_pt >= FRAGILE_ERROR

    @property
    def proposed(self) -> bool:
        """QF001's test recomputed from this file's metric (per-tensor target): more than
        PROPOSED_SHARE of the output channels, or of the input channels under
        per-output-channel scales, keep fewer than PROPOSED_BITS."""
        return self.below4_share > PROPOSED_SHARE or self.in_below4_pc > PROPOSED_SHARE

    @property
    def proposed_pc(self) -> bool:
        """What stays of it on a per-channel target: the input-channel test."""
        return self.in_below4_pc > PROPOSED_SHARE

    @property
    def before_qf001(self) -> bool:
        """QF001 before: max/median range spread > 10."""
        return self.spread > 10.0

    @property
    def before_qf002(self) -> bool:
        """QF002 before: fold-factor max/median > 10, or constant channels."""
        return (self.fold_ratio or 0.0) > 10.0 or self.constant > 0


#: Logit error (%) that marks a layer as fragile: healthy layers stay below 2%.
FRAGILE_ERROR = 5.0
#: QF001's defaults: flag when more than PROPOSED_SHARE of the channels keep < PROPOSED_BITS.
PROPOSED_BITS = 4.0
PROPOSED_SHARE = 0.05


def _sqnr_db(w: Tensor, q: Tensor) -> float:
    noise = float((w - q).pow(2).sum())
    return math.inf if noise == 0 else 10 * math.log10(float(w.pow(2).sum()) / noise)


def layer_rows(
    layers: Sequence[Layer], data: Data, reference: Tensor, base_acc: float
) -> list[LayerRow]:
    rows = []
    for la in layers:
        pt = score(quantized(layers, "per-tensor", la.name), data, reference)
        pc = score(quantized(layers, "per-channel", la.name), data, reference)
        bits = channel_effective_bits(la.weight)
        ranges = _out_ranges(la)
        raw_ranges = (
            la.raw.reshape(la.raw.shape[0], -1).abs().amax(dim=1) if la.raw is not None else ranges
        )
        fold = None if la.fold is None else spread_max_over_median(la.fold.abs())
        rows.append(
            LayerRow(
                name=la.name,
                kind=la.kind,
                channels=la.weight.shape[0],
                drop_pt=100 * (base_acc - pt.accuracy),
                logit_error_pt=100 * pt.logit_error,
                drop_pc=100 * (base_acc - pc.accuracy),
                logit_error_pc=100 * pc.logit_error,
                zero_share=share_below_bits(la.weight, 1e-9),
                below4_share=share_below_bits(la.weight, 4.0),
                min_bits=float(bits.min()),
                lower_median_bits=order_statistic(bits, 0.5),
                spread=spread_max_over_median(ranges),
                spread_raw=spread_max_over_median(raw_ranges),
                fold_ratio=fold,
                constant=0 if la.var is None else int((la.var < 1e-8).sum()),
                q25_bits=order_statistic(bits, 0.25),
                in_below4_pt=share_below_bits(
                    la.weight, 4.0, "per-tensor", axis="in", groups=la.groups
                ),
                in_below4_pc=share_below_bits(
                    la.weight, 4.0, "per-channel", axis="in", groups=la.groups
                ),
                sqnr_pt_db=_sqnr_db(la.weight, fake_quant_weight(la.weight, "per-tensor")),
                sqnr_pc_db=_sqnr_db(la.weight, fake_quant_weight(la.weight, "per-channel")),
            )
        )
    return rows


# --------------------------------------------------------------------------- convscope lint

MODEL_FILE = '''"""DigitsNet of benchmarks/quant_trained.py, for `convscope lint --weights`."""
import sys

sys.path.insert(0, {folder!r})
from quant_trained import DigitsNet  # noqa: E402

INPUT_SHAPE = (1, 1, 16, 16)


def build_model():
    return DigitsNet()
'''


#: edge-int8 with per-channel weight scales, for `--target FILE`.
PER_CHANNEL_PROFILE = """description: edge-int8 with per-channel weight scales (benchmark)
int8: true
weights: per-channel
"""


def lint_findings(
    model: DigitsNet, workdir: Path, tag: str, target: str = "edge-int8"
) -> list[dict[str, Any]]:
    """QF001 / QF002 findings of ``convscope lint MODEL --weights CKPT --target TARGET
    --format json``, run as a user would (a fresh process). ``target="per-channel"``: a
    profile file with ``weights: per-channel``."""
    model_py = workdir / "digits_model.py"
    model_py.write_text(MODEL_FILE.format(folder=str(Path(__file__).resolve().parent)))
    ckpt = workdir / f"{tag}.pt"
    torch.save(model.state_dict(), ckpt)
    if target == "per-channel":
        profile = workdir / "per-channel.yaml"
        profile.write_text(PER_CHANNEL_PROFILE)
        target = str(profile)
    cmd = [
        sys.executable,
        "-m",
        "convscope",
        "lint",
        str(model_py),
        "--weights",
        str(ckpt),
        "--target",
        target,
        "--format",
        "json",
        "--exit-zero",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False, env=_env())
    if proc.returncode != 0:
        raise RuntimeError(f"convscope lint failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return [f for f in _all_findings(report) if str(f.get("code", "")).startswith("QF00")]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _all_findings(report: Any) -> list[dict[str, Any]]:
    """Every finding object in the JSON report, wherever the schema nests them."""
    if isinstance(report, dict):
        if "code" in report and "message" in report:
            return [report]
        return [f for v in report.values() for f in _all_findings(v)]
    if isinstance(report, list):
        return [f for v in report for f in _all_findings(v)]
    return []


# --------------------------------------------------------------------------- one variant


@dataclass
class Variant:
    name: str
    summary: str
    train_s: float | None  # None for an injected variant (no training of its own)
    accuracy: dict[str, Score] = field(default_factory=dict)
    rows: list[LayerRow] = field(default_factory=list)
    cle_rows: list[LayerRow] = field(default_factory=list)
    cle_check: float = 0.0  # max |Δ logits| / max |logit| after CLE, fp32
    cle_scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    pair_below4: dict[str, float] = field(default_factory=dict)  # after one-pass pair CLE
    findings: list[dict[str, Any]] = field(default_factory=list)
    findings_pc: list[dict[str, Any]] = field(default_factory=list)  # per-channel target

    def flagged(self, code: str, per_channel: bool = False) -> list[str]:
        """Layers a QF finding of ``code`` points at (QF002 names the BatchNorm's layer)."""
        out = []
        for f in self.findings_pc if per_channel else self.findings:
            if f.get("code") == code:
                values = f.get("values") or {}
                layer = str(values.get("layer") if code == "QF002" else f.get("layer"))
                out.append(layer + (" (info)" if f.get("severity") == "info" else ""))
        return out

    def disagreements(self) -> list[str]:
        """Layers where convscope's QF001 (edge-int8) and this file's share metric differ,
        or where the finding's starved-channel count is not the one measured here."""
        rows = {r.name: r for r in self.rows}
        lint = {str(f.get("layer")): f for f in self.findings if f.get("code") == "QF001"}
        out = [n for n, r in rows.items() if r.proposed != (n in lint)]
        for name, f in lint.items():
            row = rows.get(name)
            got = (f.get("values") or {}).get("starved_channels")
            if row is not None and got != round(row.below4_share * row.channels):
                out.append(f"{name} (starved {got} vs {row.below4_share * row.channels:.0f})")
        return out


def run_variant(
    name: str, summary: str, model: DigitsNet, train_s: float | None, data: Data, workdir: Path
) -> Variant:
    v = Variant(name, summary, train_s)
    layers = fold_model(model)
    with torch.no_grad():
        ref = forward(layers, data.x_test)
        unfolded = model(data.x_test)
    assert float((unfolded - ref).abs().max()) < 1e-4 * float(ref.abs().max()), "bad fold"
    eq, scales = equalize(layers)
    eq_pairs, _ = equalize(
        layers, sweeps=1, pairs=[k for k, la in enumerate(layers) if la.kind == "dw"]
    )
    acts, acts_eq = calibrate(layers, data.x_train), calibrate(eq, data.x_train)
    zeroed = zero_constant_channels(layers)
    v.accuracy = {
        "fp32": score(layers, data, ref),
        "W8 per-tensor, A fp32": score(quantized(layers, "per-tensor"), data, ref),
        "W8 per-channel, A fp32": score(quantized(layers, "per-channel"), data, ref),
        "W8 per-tensor after CLE, A fp32": score(quantized(eq, "per-tensor"), data, ref),
        "W8 per-tensor after one-pass CLE of each dw → pw pair only, A fp32": score(
            quantized(eq_pairs, "per-tensor"), data, ref
        ),
        "W8 per-tensor, constant channels zeroed, A fp32": score(
            quantized(zeroed, "per-tensor"), data, ref
        ),
        "W8A8 per-tensor": score(quantized(layers, "per-tensor"), data, ref, acts),
        "W8A8 per-channel": score(quantized(layers, "per-channel"), data, ref, acts),
        "W8A8 per-tensor after CLE": score(quantized(eq, "per-tensor"), data, ref, acts_eq),
    }
    with torch.no_grad():
        out_eq = forward(eq, data.x_test)
    v.cle_check = float((out_eq - ref).abs().max() / ref.abs().max())
    v.cle_scales = {k: (float(s.min()), float(s.max())) for k, s in scales.items()}
    v.pair_below4 = {la.name: share_below_bits(la.weight, 4.0) for la in eq_pairs}
    base = v.accuracy["fp32"].accuracy
    v.rows = layer_rows(layers, data, ref, base)
    v.cle_rows = layer_rows(eq, data, ref, base)
    v.findings = lint_findings(model, workdir, name)
    v.findings_pc = lint_findings(model, workdir, name, "per-channel")
    return v


def run_all(
    recipes: Sequence[Recipe], injection: Injection | None, data: Data, workdir: Path
) -> tuple[list[Variant], list[DoseRow]]:
    variants, trained, dose = [], {}, []
    for r in recipes:
        model, secs = train(r, data)
        trained[r.name] = model
        print(f"trained {r.name} in {secs:.1f} s", file=sys.stderr)
        variants.append(
            run_variant(r.name, f"{r.summary}, {r.epochs} epochs", model, secs, data, workdir)
        )
    if injection is not None and injection.base in trained:
        model, text = inject(trained[injection.base], injection)
        variants.append(run_variant(f"{injection.base}+injected", text, model, None, data, workdir))
        dose = dose_response(trained[injection.base], data, injection)
    return variants, dose


@dataclass(frozen=True)
class DoseRow:
    """One point of the injected-share sweep (only the rescaled depthwise conv quantized)."""

    rescaled: int  # channels divided by the factor
    zero_share: float
    below4_share: float
    spread: float
    fold_ratio: float
    drop_pt: float
    logit_error_pt: float
    qf001_now: bool  # convscope's QF001 (edge-int8) flags the depthwise conv
    qf002_now: bool  # convscope's QF002 flags its BatchNorm

    @property
    def qf001(self) -> bool:  # QF001 before, recomputed: spread > max_spread = 10
        return self.spread > 10.0

    @property
    def qf002(self) -> bool:  # QF002's ratio test before (no dead / constant channels here)
        return self.fold_ratio > 10.0


def convscope_flags(model: DigitsNet, layer: str) -> tuple[bool, bool]:
    """Whether convscope's QF001 / QF002 (``--target edge-int8``, run in process: the sweep
    has too many points for a process each) flag ``layer``."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from convscope import api

    analysis = api.analyze(model, torch.zeros(1, 1, 16, 16))
    settings = api.Settings(select=("QF001", "QF002"), target="edge-int8")
    found = api.lint(analysis, settings, providers={api.WEIGHTS: lambda _a: model}).findings
    qf001 = any(f.code == "QF001" and f.layer == layer for f in found)
    qf002 = any(f.code == "QF002" and f.values.get("layer") == layer for f in found)
    return qf001, qf002


#: Rescaled channels of the 128 in the sweep: 40–50 % is the reported blind spot.
SWEEP_CHANNELS = (1, 2, 4, 8, 16, 32, 51, 58, 64, 70, 96)


def dose_response(model: DigitsNet, data: Data, spec: Injection) -> list[DoseRow]:
    """How the depthwise conv's per-tensor damage and the rules' verdicts change with the
    share of injected small channels: the max/median tests of before (recomputed here) and
    convscope's QF001 / QF002 now."""
    rows = []
    name = f"blocks.{spec.block}.dw"
    blk = model.blocks[spec.block]
    assert isinstance(blk, Separable)
    for count in SWEEP_CHANNELS:
        rescaled, _ = inject(model, replace(spec, share=count / blk.dw.out_channels))
        layers = fold_model(rescaled)
        with torch.no_grad():
            ref = forward(layers, data.x_test)
        base = score(layers, data, ref).accuracy
        hit = score(quantized(layers, "per-tensor", name), data, ref)
        dw = next(la for la in layers if la.name == name)
        assert dw.fold is not None
        now = convscope_flags(rescaled, name)
        rows.append(
            DoseRow(
                count,
                share_below_bits(dw.weight, 1e-9),
                share_below_bits(dw.weight, 4.0),
                spread_max_over_median(_out_ranges(dw)),
                spread_max_over_median(dw.fold.abs()),
                100 * (base - hit.accuracy),
                100 * hit.logit_error,
                *now,
            )
        )
    return rows


# --------------------------------------------------------------------------- report


def _f(x: float | None, fmt: str = ".1f") -> str:
    if x is None:
        return "–"
    return "∞" if math.isinf(x) else format(x, fmt)


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "none"


def render(
    variants: Sequence[Variant],
    dose: Sequence[DoseRow],
    threads: int,
    total_s: float,
    load: tuple[str, str],
) -> str:
    lines = [SECTION, ""]
    lines.append(
        f"Generated by `benchmarks/quant_trained.py` on {dt.date.today().isoformat()}. "
        f"Machine: {platform.processor() or platform.machine()}, {threads} thread(s), Python "
        f"{platform.python_version()}, torch {torch.__version__}; whole run {total_s:.0f} s "
        f"(load average before / after: {load[0]} / {load[1]}; the numbers do not depend "
        "on it: training is seeded and deterministic on the CPU at a given thread count)."
    )
    lines += ["", _method_text(), "", *_summary_table(variants), ""]
    for v in variants:
        lines += _variant_text(v)
    if dose:
        lines += _dose_text(dose)
    return "\n".join(lines) + "\n"


def _dose_text(dose: Sequence[DoseRow]) -> list[str]:
    spec = Injection()
    out = [
        f"### Injected share sweep (`{spec.base}` model, `blocks.{spec.block}.dw`)",
        "",
        f"The injection above with a varying share of the 128 depthwise channels divided by "
        f"{spec.factor:g}; only `blocks.{spec.block}.dw` is quantized (per tensor), so the "
        "pointwise conv that absorbed the factor does not enter. *Before*: the max/median "
        "tests QF001 / QF002 used (spread > 10, fold ratio > 10), recomputed; *now*: what "
        "convscope's QF001 / QF002 report on `--target edge-int8` for this depthwise conv "
        "(the rescale sits in the BatchNorm's γ, so it is folding that starves the "
        "channels: QF002 reports that).",
        "",
        "| channels rescaled (of 128) | 0-bit ch | < 4-bit ch | spread | fold | drop pt | "
        "logit err pt | QF001 before | QF002 before | QF001 now | QF002 now |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: | :---: | :---: |",
    ]
    yes = {True: "yes", False: "–"}
    out += [
        f"| {d.rescaled} | {100 * d.zero_share:.1f}% | {100 * d.below4_share:.0f}% "
        f"| {_f(d.spread)}× | {_f(d.fold_ratio)}× | {d.drop_pt:+.2f} | "
        f"{d.logit_error_pt:.1f}% | {yes[d.qf001]} | {yes[d.qf002]} | {yes[d.qf001_now]} | "
        f"{yes[d.qf002_now]} |"
        for d in dose
    ]
    out.append("")
    return out


def _method_text() -> str:
    return (
        "Data: scikit-learn's bundled 8×8 digits (1,797 images) upsampled to 16×16, seeded "
        "80/20 split (1,437 train / 360 test: one test image is 0.28 points). Model: 3×3 stem "
        f"conv + BN + ReLU, {len(WIDTHS) - 1} separable blocks (depthwise 3×3 + BN + ReLU, "
        f"pointwise 1×1 + BN + ReLU; widths {', '.join(map(str, WIDTHS))}, strides "
        f"{', '.join(map(str, STRIDES[1:]))}), global average pool, linear; batch 32, "
        "one-cycle schedule, ±1 pixel random shifts, seeded. BatchNorm is folded "
        "(`W·γ/√(var+ε)`), then weights are fake-quantized with "
        "`torch.fake_quantize_per_tensor_affine` / `torch.fake_quantize_per_channel_affine`: "
        "symmetric INT8, levels ±127, zero point 0. Activations (every layer input, all ≥ 0) "
        "stay fp32 or are fake-quantized per tensor to 0…255 with min-max ranges calibrated "
        "on the training set. Logit error: ‖Δlogits‖ / ‖logits‖ against the folded fp32 "
        "model on the test set. Effective bits of an output channel o under a per-tensor "
        "scale s = max|W| / 127: `log2(2·m_o + 1)` with `m_o = max|round(W[o]/s)|` (0 bits: "
        "every weight of the channel rounds to zero; the largest channel has 7.99). "
        '"q25 / lower-median bits": the ⌈n/4⌉-th / ⌈n/2⌉-th smallest channel\'s bits (real '
        'channels, no interpolation); "spread" is the max/median of the folded channel '
        "ranges QF001 tested before (median of an even count = mean of the two middle "
        'ones), "raw" the same before folding; "fold" is the max/median of |γ|/√(var+ε) '
        'QF002 tested before; "const": '
        "channels with running_var < 1e-8. CLE: `s_i = sqrt(r1_i / r2_i)` swept over every "
        "consecutive pair of the ReLU chain (stem → dw → pw → … → fc) until the scales "
        f"settle. A layer is *fragile* when quantizing it alone per tensor moves the logits "
        f"by ≥ {FRAGILE_ERROR:g}% (pt: per tensor, pc: per channel). QF001 now flags a layer "
        f"when more than {100 * PROPOSED_SHARE:g}% of its output channels keep "
        f"< {PROPOSED_BITS:g} bits under the per-tensor scale (per-tensor targets only), or "
        f"more than {100 * PROPOSED_SHARE:g}% of its input channels under the "
        "per-output-channel scales (an input channel's bits: `log2(2·m_i + 1)`, "
        "`m_i = max_o |round(W[o, i] / s_o)|`); QF002 flags a BatchNorm whose folding "
        "takes that output share above 5% (per-tensor targets), or that has constant / "
        "dead channels (info on a per-channel target)."
    )


def _summary_table(variants: Sequence[Variant]) -> list[str]:
    out = [
        "Accuracy (the fixes the findings suggest: per-channel scales, CLE, zeroing the "
        "folded weights of constant channels):",
        "",
        "| variant | fp32 | W8 per-tensor | W8 per-channel | W8 per-tensor after CLE | "
        "W8 per-tensor, constant ch zeroed | W8A8 per-tensor / per-channel / CLE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in variants:
        a = {k: f"{100 * s.accuracy:.1f}%" for k, s in v.accuracy.items()}
        out.append(
            f"| `{v.name}` | {a['fp32']} | {a['W8 per-tensor, A fp32']} | "
            f"{a['W8 per-channel, A fp32']} | {a['W8 per-tensor after CLE, A fp32']} | "
            f"{a['W8 per-tensor, constant channels zeroed, A fp32']} | "
            f"{a['W8A8 per-tensor']} / {a['W8A8 per-channel']} / "
            f"{a['W8A8 per-tensor after CLE']} |"
        )
    out += [
        "",
        "Findings before (the max/median tests, recomputed) and now (`convscope lint "
        "--weights`, QF002 named by its layer) against the fragile layers; last column, a "
        "consistency check of the rule against this file's own copy of its metric (not an "
        "accuracy figure): whether convscope's QF001 flags exactly the layers this file's "
        "share metric selects, with the same starved-channel counts:",
        "",
        "| variant | fragile (pt) | before QF001 | before QF002 | now QF001 (edge-int8) | "
        "now QF002 (edge-int8) | fragile (pc) | now QF001 (per-channel) | "
        "now QF002 (per-channel) | QF001 consistent with own metric copy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | :---: |",
    ]
    for v in variants:
        fragile = [r.name for r in v.rows if r.fragile]
        fragile_pc = [r.name for r in v.rows if r.logit_error_pc >= FRAGILE_ERROR]
        before1 = [r.name for r in v.rows if r.before_qf001]
        before2 = [r.name for r in v.rows if r.before_qf002]
        differ = v.disagreements()
        out.append(
            f"| `{v.name}` | {_names(fragile)} | {_names(before1)} | {_names(before2)} | "
            f"{_names(v.flagged('QF001'))} | {_names(v.flagged('QF002'))} | "
            f"{_names(fragile_pc)} | {_names(v.flagged('QF001', True))} | "
            f"{_names(v.flagged('QF002', True))} | "
            f"{'yes' if not differ else 'no: ' + ', '.join(differ)} |"
        )
    return out


def _variant_text(v: Variant) -> list[str]:
    trained = f"Trained in {v.train_s:.1f} s. " if v.train_s is not None else ""
    out = [
        f"### Variant `{v.name}`",
        "",
        f"{v.summary}.",
        "",
        f"{trained}CLE leaves the fp32 logits unchanged to {v.cle_check:.1e} "
        "(max |Δ| / max |logit|).",
        "",
        "| weights / activations | test accuracy | logit error |",
        "| --- | ---: | ---: |",
    ]
    out += [
        f"| {k} | {100 * s.accuracy:.2f}% | {100 * s.logit_error:.2f}% |"
        for k, s in v.accuracy.items()
    ]
    out += [
        "",
        "Per layer, only that layer's folded weights quantized (activations fp32); "
        "drops in accuracy points against fp32; QF: what `convscope lint --weights "
        "--target edge-int8` reports there (pc: on the per-channel target).",
        "",
        "| layer | ch | drop pt | logit err pt | drop / logit err pc | 0-bit ch | "
        "< 4-bit ch | < 4-bit in-ch pt / pc | min / q25 / lower-median bits | "
        "spread (raw) | fold | const | SQNR pt / pc | QF |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    out += [_row_text(v, row) for row in v.rows]
    out += [
        "",
        "After CLE over the whole chain (per-tensor, one layer at a time); last column: the "
        "same share after the one-pass CLE of each dw → pw pair alone (QF001's suggestion):",
        "",
        "| layer | drop pt | logit err pt | 0-bit ch | < 4-bit ch | spread | "
        "CLE scales s of its output channels (min–max) | < 4-bit ch, pair CLE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in v.cle_rows:
        lo, hi = v.cle_scales.get(row.name, (1.0, 1.0))
        scales = f"{lo:.3g}–{hi:.3g}" if row.name in v.cle_scales else "–"
        out.append(
            f"| `{row.name}` | {row.drop_pt:+.2f} | {row.logit_error_pt:.2f}% | "
            f"{100 * row.zero_share:.0f}% | {100 * row.below4_share:.0f}% | "
            f"{_f(row.spread)}× | {scales} | {100 * v.pair_below4.get(row.name, 0.0):.0f}% |"
        )
    out += ["", "convscope findings (QF001 / QF002, `--target edge-int8`):", ""]
    out += [
        f"- {f['code']} `{f.get('layer')}`: {f['message']} — fix: {f.get('suggestion')}"
        for f in v.findings
    ] or ["- none"]
    out += ["", "On the per-channel target (`weights: per-channel`):", ""]
    out += [
        f"- {f['code']} ({f.get('severity')}) `{f.get('layer')}`: {f['message']}"
        for f in v.findings_pc
    ] or ["- none"]
    out.append("")
    return out


def _row_text(v: Variant, row: LayerRow) -> str:
    codes = [c for c in ("QF001", "QF002") if row.name in v.flagged(c)]
    codes += [
        f"pc: {c}" + (" (info)" if f"{row.name} (info)" in v.flagged(c, True) else "")
        for c in ("QF001", "QF002")
        if row.name in v.flagged(c, True) or f"{row.name} (info)" in v.flagged(c, True)
    ]
    return (
        f"| `{row.name}` | {row.channels} | {row.drop_pt:+.2f} | {row.logit_error_pt:.2f}% "
        f"| {row.drop_pc:+.2f} / {row.logit_error_pc:.2f}% | {100 * row.zero_share:.0f}% | "
        f"{100 * row.below4_share:.0f}% | {100 * row.in_below4_pt:.0f}% / "
        f"{100 * row.in_below4_pc:.0f}% | {row.min_bits:.1f} / {row.q25_bits:.1f} / "
        f"{row.lower_median_bits:.1f} | {_f(row.spread)}× ({_f(row.spread_raw)}×) | "
        f"{_f(row.fold_ratio)}× | {row.constant} | "
        f"{_f(row.sqnr_pt_db)} / {_f(row.sqnr_pc_db)} dB | {', '.join(codes) or '–'} |"
    )


def _as_json(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    return [
        {
            "variant": v.name,
            "summary": v.summary,
            "train_s": v.train_s,
            "cle_check": v.cle_check,
            "accuracy": {k: vars(s) for k, s in v.accuracy.items()},
            "layers": [vars(r) for r in v.rows],
            "layers_after_cle": [vars(r) for r in v.cle_rows],
            "cle_scales": v.cle_scales,
            "findings": v.findings,
            "findings_per_channel": v.findings_pc,
        }
        for v in variants
    ]


def _dose_json(dose: Sequence[DoseRow]) -> list[dict[str, Any]]:
    return [vars(d) for d in dose]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is fastest for this tiny model on a busy box)",
    )
    parser.add_argument("--recipes", default=",".join(r.name for r in RECIPES))
    parser.add_argument(
        "--no-inject",
        action="store_true",
        help="skip the injected (function-preserving rescale) variant",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--json", type=Path, default=None, help="also dump raw numbers here")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _check_metric()
    chosen = [r for r in RECIPES if r.name in args.recipes.split(",")]
    start, load_before = time.perf_counter(), _load()
    data = load_digits()
    with tempfile.TemporaryDirectory() as tmp:
        variants, dose = run_all(chosen, None if args.no_inject else Injection(), data, Path(tmp))
    total = time.perf_counter() - start
    section = render(variants, dose, args.threads, total, (load_before, _load()))
    print(section)
    if args.json is not None:
        raw = {"variants": _as_json(variants), "share_sweep": _dose_json(dose)}
        args.json.write_text(json.dumps(raw, indent=1, default=str))
    if not args.no_write:
        write_section(section, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
