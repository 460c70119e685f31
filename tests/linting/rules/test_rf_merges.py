"""How the RF rules judge merges on published designs' building blocks: hand-written
activations are no merges (RF002), a merge is judged by the input that carries the
context (RF002), and resized branches are judged by how far their features drift apart
over the whole map, the same at every input size (RF004)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convscope
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.passes.receptive.result import Misalignment


def run(model: nn.Module, side: int, code: str, options: dict[str, Any] | None = None):
    analysis = convscope.analyze(model, (1, 3, side, side), name=type(model).__name__)
    settings = Settings(select=(code,), rules={code: options} if options else {})
    result = lint(analysis, settings, receptive_field=with_receptive_field)
    assert not result.skipped, result.skipped
    return list(result.findings)


# --------------------------------------------------------------------------- RF002


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class ConvBnAct(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, act: Any, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ExpandBlocks(nn.Module):
    """Stem 3×3/2, then inverted residuals whose 1×1 expansion is a ``ConvBnAct`` wrapper
    (MixNet's ``exp_conv``) at stride 2 and 4, where the receptive field is still small."""

    def __init__(self, act: Any) -> None:
        super().__init__()
        self.stem = ConvBnAct(3, 16, 3, act, 2)
        layers = []
        for cin, cout, stride in ((16, 24, 2), (24, 24, 1)):
            layers.append(
                nn.ModuleDict(
                    {
                        "exp_conv": ConvBnAct(cin, 6 * cin, 1, act),
                        "dw_conv": ConvBnAct(6 * cin, 6 * cin, 3, act, stride, 6 * cin),
                        "proj": nn.Conv2d(6 * cin, cout, 1),
                    }
                )
            )
        self.blocks = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.blocks:
            y = b["proj"](b["dw_conv"](b["exp_conv"](x)))
            x = x + y if x.shape == y.shape else y
        return x


def test_rf002_a_hand_written_swish_reads_like_nn_silu() -> None:
    # the 1×1 expansion wrapper is one layer either way, not a block without a spatial op
    assert run(ExpandBlocks(nn.SiLU()), 128, "RF002") == []
    assert run(ExpandBlocks(swish), 128, "RF002") == []


class PointwiseStem(nn.Module):
    def __init__(self, act: Any) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            ConvBnAct(3, 16, 1, act), ConvBnAct(16, 32, 1, act), ConvBnAct(32, 32, 1, act)
        )
        self.body = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(x))


@pytest.mark.parametrize("act", [nn.SiLU(), swish], ids=["nn.SiLU", "by hand"])
def test_rf002_a_pointwise_stem_with_a_hand_written_swish_is_still_the_trap(act: Any) -> None:
    [f] = run(PointwiseStem(act), 64, "RF002")
    assert f.layer == "stem"
    assert "3 1×1 convs in a row (`stem.0.conv` … `stem.2.conv`)" in f.message


class LateralBlock(nn.Module):
    """``upsample(top) + skip_conv(skip)``: an FPN level in one module."""

    def __init__(self) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(16, 16, 1)

    def forward(self, top: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.interpolate(top, scale_factor=2.0, mode="nearest") + self.skip_conv(skip)


class Fpn(nn.Module):
    """A stride-4 skip (RF 7 px) and a top path at stride 8: deep (RF beyond the image) or
    one more 2×2 pool (RF 11 px, as local as the skip)."""

    def __init__(self, deep: bool) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU()
        )
        convs = [nn.Conv2d(16, 16, 3, padding=2, dilation=2) for _ in range(8)] if deep else []
        # (the pool reads a copy: a pool reading the lateral's own input would make the
        # lateral a 1×1 branch beside a spatial one, which RF002 never reports)
        self.top = nn.Sequential(nn.Hardtanh(-6.0, 6.0), nn.MaxPool2d(2), *convs)
        self.p2 = LateralBlock()
        self.head = nn.Conv2d(16, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        return self.head(self.p2(self.top(skip), skip))


def test_rf002_a_lateral_next_to_a_whole_image_top_down_path_is_not_early() -> None:
    rf = receptive_field(Fpn(deep=True), (1, 3, 128, 128))
    assert rf.output is not None and rf.output.size[0] > 128  # the top path sees it all
    assert run(Fpn(deep=True), 128, "RF002") == []
    # the same module merging two local maps is a residual block without a spatial op
    [f] = run(Fpn(deep=False), 128, "RF002")
    assert f.layer == "p2" and "`add` merges" in f.message


# --------------------------------------------------------------------------- RF004


def test_shift_and_stretch_by_hand() -> None:
    # branch a: centres 0, 4, 8, ..., 32; branch b: 2, 5, 8, ..., 26 over 9 pixels
    m = Misalignment(
        node=0, module="", op="add", axis=0, kind="stride", strides=(4.0, 3.0),
        offsets=(0.0, 2.0), offset_px=2.0, coarse_px=4.0, positions=9,
    )  # fmt: skip
    assert m.shift_px == 2.0  # pixel 4: 16 vs 14
    assert m.stretch_px == 8.0  # the grids span 32 and 24 input pixels
    same = Misalignment(0, "", "add", 0, "offset", (4.0, 4.0), (0.0, 2.0), 2.0, 4.0, 9)
    assert (same.shift_px, same.stretch_px) == (2.0, 0.0)  # equal strides: the offset


class Pyramid(nn.Module):
    """Stride-8 features, pooled to 2×2 / 3×3 / 6×6 bins, resized back corner-aligned."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.enc(x)
        size = x.shape[-2:]
        levels = [
            F.interpolate(F.adaptive_avg_pool2d(x, s), size, mode="bilinear", align_corners=True)
            for s in (2, 3, 6)
        ]
        return torch.cat([*levels, x], 1)


@pytest.mark.parametrize("side", [96, 128, 192, 256])
def test_rf004_corner_aligned_resizes_are_quiet_at_every_size(side: int) -> None:
    rf = receptive_field(Pyramid(), (1, 3, side, side))
    [cat_h] = [m for m in rf.misalignments if m.axis == 0]
    assert cat_h.kind == "stride" and cat_h.positions == side // 8
    # the 2×2 bins' grid spans (2 − 1)·side/2 input pixels, the stride-8 map's
    # (side/8 − 1)·8: they differ by side/2 − 8 < side/2, one bin; both centred
    assert cat_h.coarse_px == side / 2
    assert cat_h.stretch_px == pytest.approx(side / 2 - 8)
    assert cat_h.shift_px <= 0.5 * cat_h.coarse_px
    assert run(Pyramid(), side, "RF004") == []


class Decoder(nn.Module):
    """A stride-16 map upsampled ×4 corner-aligned and concatenated with stride-4
    features (DeepLabV3+): the grids start on the same pixel and the coarse one ends
    12 px short, three quarters of its pixel: a stretch, by construction."""

    def __init__(self) -> None:
        super().__init__()
        self.low = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1))
        self.high = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low(x)
        up = F.interpolate(self.high(low), scale_factor=4.0, mode="bilinear", align_corners=True)
        return torch.cat([up, low], 1)


@pytest.mark.parametrize("side", [128, 256, 512])
def test_rf004_a_corner_aligned_x4_upsampling_is_a_stretch_under_one_pixel(side: int) -> None:
    rf = receptive_field(Decoder(), (1, 3, side, side))
    [m] = [m for m in rf.misalignments if m.axis == 0]
    assert m.stretch_px == pytest.approx(12.0)  # 16 − 4, at every size
    assert m.shift_px == pytest.approx(6.0)
    assert run(Decoder(), side, "RF004") == []


class Stretched(nn.Module):
    """A stride-16 map cropped by two unpadded 3×3 convs, stretched onto the stride-4 skip."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1))
        self.deep = nn.Sequential(
            nn.Conv2d(8, 8, 3, 2, 1),
            nn.Conv2d(8, 8, 3, 2, 1),
            nn.Conv2d(8, 8, 3),
            nn.Conv2d(8, 8, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(x)
        return skip + F.interpolate(self.deep(skip), size=skip.shape[-2:], mode="bilinear")


@pytest.mark.parametrize("side", [128, 256])
def test_rf004_a_stretched_crop_drifts_beyond_a_coarse_pixel(side: int) -> None:
    [f] = run(Stretched(), side, "RF004")
    assert f.values["kind"] == "stride"
    assert float(f.values["stretch_px"]) > 16  # more than a stride-16 pixel
    assert "their grids stretch" in f.message and "on H and W" in f.message
