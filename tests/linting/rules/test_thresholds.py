"""Threshold boundaries: each width, count or fraction option one step below, at and one
step above the value a hand-built model measures.

Every test fixes a model whose measured quantity is known exactly (a channel count, a
receptive field in pixels, a share of channels with a power-of-two denominator, so float
comparisons are exact) and moves one side of the comparison by one unit of that quantity.
The three cases pin the comparison: turning a strict `<` into `<=`, or the threshold into
threshold − 1, changes the verdict of one of them.

Not here: options that are not a width, count or fraction (QF001/QF002 `min_bits` in bits,
HW001 `alignment` a modulus), RF004's `max_stride_ratio`, and the rules that need
calibration data or roofline figures (QF005, PF001).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.rf import with_receptive_field
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import Finding
from convscope.sections import WEIGHTS


def findings(
    model: nn.Module,
    shape: tuple[int, ...],
    code: str,
    options: dict[str, Any] | None = None,
    *,
    target: str = "generic",
    weights: bool = False,
) -> list[Finding]:
    analysis = convscope.analyze(model, shape, name=type(model).__name__)
    settings = Settings(select=(code,), rules={code: options} if options else {}, target=target)
    providers = {WEIGHTS: lambda _a: model} if weights else None
    result = lint(analysis, settings, receptive_field=with_receptive_field, providers=providers)
    assert not result.skipped, result.skipped
    assert all(f.code == code for f in result.findings), result.findings
    return list(result.findings)


# One unit below the measured value, at it, one unit above.
BELOW, AT, ABOVE = -1, 0, 1
STEPS = (BELOW, AT, ABOVE)


# --------------------------------------------------------------------------- DW001


def _depthwise(channels: int, *, mixer: bool = False) -> nn.Module:
    """A stem conv to ``channels``, optionally a non-expanding 1×1, then a depthwise 3×3."""
    layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU()]
    if mixer:
        layers += [nn.Conv2d(channels, channels, 1), nn.ReLU()]
    layers.append(nn.Conv2d(channels, channels, 3, padding=1, groups=channels))
    return nn.Sequential(*layers)


@pytest.mark.parametrize(("target", "minimum"), [("generic", 8), ("edge-int8", 32)])
@pytest.mark.parametrize("step", STEPS)
def test_dw001_min_depthwise_channels_of_the_target(target: str, minimum: int, step: int) -> None:
    """The profile's `min-depthwise-channels`: a depthwise conv over one channel fewer is
    reported, one at the threshold or above is not."""
    channels = minimum + step
    found = findings(_depthwise(channels), (1, 3, 16, 16), "DW001", target=target)
    assert len(found) == (step == BELOW)
    if found:
        assert found[0].values["channels"] == channels
        assert found[0].values["min_channels"] == minimum


@pytest.mark.parametrize("step", STEPS)
def test_dw001_min_channels_option(step: int) -> None:
    found = findings(_depthwise(12), (1, 3, 16, 16), "DW001", {"min_channels": 12 - step})
    assert len(found) == (step == BELOW)  # min_channels 13 > 12 channels: reported


@pytest.mark.parametrize("step", STEPS)
def test_dw001_expansion_below(step: int) -> None:
    """16 channels after a 16 → 16 1×1 (no expansion): checked only below expansion_below."""
    options = {"min_channels": 1, "expansion_below": 16 - step}
    found = findings(_depthwise(16, mixer=True), (1, 3, 16, 16), "DW001", options)
    assert len(found) == (step == BELOW)
    if found:
        assert "no expanding channel mixer" in found[0].message


# --------------------------------------------------------------------------- DW002


class _MlpFreeStage(nn.Module):
    """``blocks`` residual depthwise blocks, x + dw(x), with no channel mixing between."""

    def __init__(self, blocks: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Conv2d(16, 16, 3, padding=1, groups=16) for _ in range(blocks)
        )
        self.head = nn.Conv2d(16, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for dw in self.blocks:
            x = x + dw(x)
        return self.head(x)


@pytest.mark.parametrize("step", STEPS)
def test_dw002_min_chain_after_merge(step: int) -> None:
    """Four blocks: the first depthwise conv is followed by a chain of 3 unmixed ones."""
    options = {"min_chain_after_merge": 3 + step}
    found = findings(_MlpFreeStage(4), (1, 3, 16, 16), "DW002", options)
    assert bool(found) == (step != ABOVE)


# --------------------------------------------------------------------------- DW003


@pytest.mark.parametrize("step", STEPS)
def test_dw003_min_in_channels(step: int) -> None:
    model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Conv2d(3, 24, 1), nn.Conv2d(24, 24, 3))
    options = {"min_in_channels": 24 + step, "min_savings": 0.0, "min_macs_share": 0.0}
    found = findings(model, (1, 3, 16, 16), "DW003", options)
    assert [f.layer for f in found] == (["2"] if step != ABOVE else [])


def _two_dense(kernel: int) -> nn.Module:
    """Two dense 16 → 16 convs; with an odd kernel (padded, same resolution) each holds half
    the MACs."""
    pad = kernel // 2 if kernel % 2 else 0
    return nn.Sequential(
        nn.Conv2d(16, 16, kernel, padding=pad, bias=False),
        nn.Conv2d(16, 16, kernel, padding=pad, bias=False),
    )


@pytest.mark.parametrize("step", STEPS)
def test_dw003_min_macs_share(step: int) -> None:
    options = {"min_macs_share": (32 + step) / 64, "min_savings": 0.0}
    found = findings(_two_dense(3), (1, 16, 8, 8), "DW003", options)
    assert len(found) == (2 if step != ABOVE else 0)


@pytest.mark.parametrize("step", STEPS)
def test_dw003_min_savings(step: int) -> None:
    """16 → 16 4×4: separable MACs are (16 + 16)/256 = 1/8 of dense, savings 14/16."""
    options = {"min_savings": (14 + step) / 16, "min_macs_share": 0.0}
    found = findings(_two_dense(4), (1, 16, 8, 8), "DW003", options)
    assert len(found) == (2 if step != ABOVE else 0)
    if found:
        assert "saves 87.5%" in found[0].message


# --------------------------------------------------------------------------- PF002


@pytest.mark.parametrize("step", STEPS)
def test_pf002_max_share(step: int) -> None:
    """Each of two identical convs holds exactly half the MACs: reported at max_share 1/2."""
    options = {"max_share": (32 + step) / 64, "min_rows": 1}
    found = findings(_two_dense(3), (1, 16, 8, 8), "PF002", options)
    macs = [f for f in found if "of the model's MACs" in f.message]
    assert len(macs) == (2 if step != ABOVE else 0)


@pytest.mark.parametrize("step", STEPS)
def test_pf002_min_rows(step: int) -> None:
    model = _two_dense(3)
    rows = len(convscope.analyze(model, (1, 16, 8, 8)).rows)
    options = {"max_share": 0.0, "min_rows": rows + step}
    found = findings(model, (1, 16, 8, 8), "PF002", options)
    assert bool(found) == (step != ABOVE)


# --------------------------------------------------------------------------- AR002


@pytest.mark.parametrize("step", STEPS)
def test_ar002_min_ratio(step: int) -> None:
    """An inverted residual: 1×1 expansion to 64, a 64-channel depthwise conv, then a 1×1
    projection back to 32 + step channels, an activation and the residual add: narrowing
    exactly min_ratio (2×) counts as a projection."""
    out = 32 + step
    model = _InvertedResidual(out, 64)
    found = findings(model, (1, out, 8, 8), "AR002", {"min_ratio": 2.0})
    assert len(found) == (step != ABOVE)


class _InvertedResidual(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(width, hidden, 1)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.project = nn.Conv2d(hidden, width, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.project(self.dw(self.expand(x))))


# --------------------------------------------------------------------------- RF001


class _Plain(nn.Module):
    """``n`` 3×3 convs (stride 1, padding 1) and a 1×1 head: RF 1 + 2n pixels."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *[nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1) for i in range(n)]
        )
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@pytest.mark.parametrize("step", STEPS)
def test_rf001_min_coverage(step: int) -> None:
    """RF 9 px on a 64-px side: min_coverage of (9 + step)/64 is reported only above."""
    found = findings(_Plain(4), (1, 3, 64, 64), "RF001", {"min_coverage": (9 + step) / 64})
    assert len(found) == (step == ABOVE)
    if found:
        assert found[0].values["rf"] == "9×9"


# --------------------------------------------------------------------------- RF002


class _LateOneByOne(nn.Module):
    """3×3 stem (RF 3 px, stride ``stride``), then ``n`` 1×1 convs at that resolution."""

    def __init__(self, n: int, stride: int = 1) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=stride, padding=1)
        self.mix = nn.Sequential(*[nn.Conv2d(16, 16, 1) for _ in range(n)])
        self.head = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mix(self.stem(x)))


@pytest.mark.parametrize("step", STEPS)
def test_rf002_min_run(step: int) -> None:
    found = findings(_LateOneByOne(3), (1, 3, 64, 64), "RF002", {"min_run": 3 + step})
    assert bool(found) == (step != ABOVE)


@pytest.mark.parametrize("step", STEPS)
def test_rf002_max_rf_fraction(step: int) -> None:
    """The 1×1 convs see 3 px of 64: small while 3 ≤ max_rf_fraction · 64."""
    options = {"max_rf_fraction": (3 + step) / 64}
    found = findings(_LateOneByOne(3), (1, 3, 64, 64), "RF002", options)
    assert bool(found) == (step != BELOW)


@pytest.mark.parametrize("step", STEPS)
def test_rf002_min_resolution_fraction(step: int) -> None:
    """A stride-2 stem leaves a 32-px map of a 64-px input: early while 32 ≥ fraction · 64."""
    options = {"min_resolution_fraction": (32 + step) / 64, "max_rf_fraction": 0.5}
    found = findings(_LateOneByOne(3, stride=2), (1, 3, 64, 64), "RF002", options)
    assert bool(found) == (step != ABOVE)


# --------------------------------------------------------------------------- RF004


class _ShiftedResidual(nn.Module):
    """An unpadded 3×3 conv re-padded by 2 on one side: its window centres sit 1 px off
    the identity's (stride 1, so 1 px is one pixel of the merged map)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return x + nn.functional.pad(self.conv(x), (2, 0, 2, 0))


@pytest.mark.parametrize("step", STEPS)
def test_rf004_min_offset_fraction(step: int) -> None:
    """Offset 1 px: min_offset_fraction (4 + step)/4 is reported only below 1."""
    options = {"min_offset_fraction": (4 + step) / 4}
    found = findings(_ShiftedResidual(), (1, 3, 32, 32), "RF004", options)
    assert len(found) == (step == BELOW)
    if found:
        assert found[0].values["offset_px"] == 1


# --------------------------------------------------------------------------- RF005


@pytest.mark.parametrize("step", STEPS)
def test_rf005_min_skipped_fraction(step: int) -> None:
    """A 1×1 stride-2 conv leaves 3/4 of its input unread: reported while 3/4 exceeds
    min_skipped_fraction, set to (12 + step)/16."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 1, stride=2))
    options = {"min_skipped_fraction": (12 + step) / 16}
    found = findings(model, (1, 3, 32, 32), "RF005", options)
    assert len(found) == (step == BELOW)


# --------------------------------------------------------------------------- QF001


def _starved_depthwise(starved: int) -> nn.Module:
    """A 32-channel depthwise conv, ``starved`` of its channels 500× smaller (0 bits under
    the per-tensor scale the others set)."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32))
    with torch.no_grad():
        net[0].weight.copy_(0.5 + torch.rand(net[0].weight.shape, generator=g))
        net[0].weight[:starved] /= 500.0
    return net.eval()


@pytest.mark.parametrize("step", STEPS)
def test_qf001_max_starved_share(step: int) -> None:
    """4 of 32 channels starved (12.5 %): reported while that share exceeds the limit."""
    options = {"max_starved_share": (4 + step) / 32}
    found = findings(_starved_depthwise(4), (1, 32, 8, 8), "QF001", options, weights=True)
    assert len(found) == (step == BELOW)
    if found:
        assert found[0].values["starved_channels"] == 4


# --------------------------------------------------------------------------- QF002


def _fold_starved(starved: int) -> nn.Module:
    """A 32-channel depthwise conv with even weights and a BatchNorm whose γ is 500× smaller
    on ``starved`` channels: folding, not the conv, starves them."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.BatchNorm2d(32))
    with torch.no_grad():
        net[0].weight.copy_(0.5 + torch.rand(net[0].weight.shape, generator=g))
        net[1].weight.fill_(1.0)
        net[1].weight[:starved] /= 500.0
    return net.eval()


@pytest.mark.parametrize("step", STEPS)
def test_qf002_max_starved_share(step: int) -> None:
    """Folding takes 0 of 32 starved channels to 4 (12.5 %): reported above the limit."""
    options = {"max_starved_share": (4 + step) / 32}
    found = findings(_fold_starved(4), (1, 32, 8, 8), "QF002", options, weights=True)
    assert len(found) == (step == BELOW)
    if found:
        assert "from 0 to 4 of 32" in found[0].message
