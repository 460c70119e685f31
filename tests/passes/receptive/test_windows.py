"""Window ops (conv, transposed conv, pooling, padding, upsampling) against hand-computed RFs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.analysis.rf import receptive_field

Check = Callable[..., None]  # the conftest fixture


def test_single_conv(check: Check) -> None:
    rf = receptive_field(nn.Conv2d(3, 4, 3, padding=1), (1, 3, 32, 32))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1))
    assert rf.output.center_offset(0) == 0
    assert rf.input_size == (32, 32)
    assert not rf.output.is_global


def test_two_convs_and_stride(check: Check) -> None:
    # conv 3x3/2 p1: r 3, S 2, P 1; then conv 3x3/1 p1: r 3 + 2·2 = 7, S 2, P 1 + 1·2 = 3
    m = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 1, 1))
    rf = receptive_field(m, (1, 3, 32, 32))
    check(rf.per_layer["0"], (3, 3), (2, 2), (1, 1))
    check(rf.per_layer["1"], (7, 7), (2, 2), (3, 3))
    assert rf.per_layer["1"].center_offset(1) == 0


def test_dilation(check: Check) -> None:
    # k_eff = 2·(3 − 1) + 1 = 5
    m = nn.Sequential(nn.Conv2d(1, 1, 3, padding=2, dilation=2), nn.Conv2d(1, 1, 3, padding=1))
    rf = receptive_field(m, (1, 1, 20, 20))
    check(rf.per_layer["0"], (5, 5), (1, 1), (2, 2))
    check(rf.per_layer["1"], (7, 7), (1, 1), (3, 3))


def test_asymmetric_kernel_stride_padding(check: Check) -> None:
    m = nn.Sequential(
        nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(0, 2)), nn.Conv2d(2, 2, 3, padding=1)
    )
    rf = receptive_field(m, (1, 1, 20, 30))
    check(rf.per_layer["0"], (3, 5), (1, 2), (0, 2))
    assert rf.per_layer["0"].center_offset(0) == 1  # no padding: centre moves inwards
    assert rf.per_layer["0"].center_offset(1) == 0
    # (3 + 2·1, 5 + 2·2), padding (0 + 1·1, 2 + 1·2)
    check(rf.per_layer["1"], (5, 9), (1, 2), (1, 4))


def test_pooling_ceil_mode_same_geometry(check: Check) -> None:
    for ceil in (False, True):
        m = nn.Sequential(
            nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(3, 2, 1, ceil_mode=ceil), nn.AvgPool2d(2)
        )
        rf = receptive_field(m, (1, 1, 33, 33))
        check(rf.per_layer["1"], (5, 5), (2, 2), (2, 2))
        check(rf.per_layer["2"], (7, 7), (4, 4), (2, 2))  # 5 + 1·2; P unchanged (p = 0)


class PadNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 2, 3, 4)))  # W: 1 before, H: 3 before


def test_pad_op_adds_before_padding(check: Check) -> None:
    rf = receptive_field(PadNet(), (1, 1, 16, 16))
    check(rf.per_layer["conv"], (3, 3), (1, 1), (3, 1))


def test_transposed_conv(check: Check) -> None:
    # conv 3x3/2 p1 → (3, 2, 1); transposed k4 s2 p1: every output pixel reads 2 inputs
    # (ceil(4/2)), so r' = 3 + 1·2 = 5, S' = 1; centre of output j is at (j + p − 1.5)/2 in
    # layer-input pixels → image centre −0.5 + j → P' = 2 + 0.5 = 2.5. Phases put the true
    # centre at j ± 0.5: tolerance S/4 = 0.5.
    m = nn.Sequential(nn.Conv2d(1, 1, 3, 2, 1), nn.ConvTranspose2d(1, 1, 4, 2, 1))
    rf = receptive_field(m, (1, 1, 16, 16))
    check(rf.per_layer["1"], (5, 5), (1, 1), (2.5, 2.5))
    assert rf.layer_tolerance["1"] == pytest.approx((0.5, 0.5))
    # k3 s2 p1: 1 or 2 inputs depending on the phase → max ceil(3/2) = 2, S = 1/2
    rf = receptive_field(nn.ConvTranspose2d(1, 1, 3, 2, 1, output_padding=1), (1, 1, 8, 8))
    check(rf.per_layer[""], (2, 2), (0.5, 0.5), (0.5, 0.5))
    # k2 s2: each output reads exactly one input
    rf = receptive_field(nn.ConvTranspose2d(1, 1, 2, 2), (1, 1, 8, 8))
    check(rf.per_layer[""], (1, 1), (0.5, 0.5), (0.25, 0.25))


class Up(nn.Module):
    def __init__(self, mode: str, align: bool | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, 2, 1)
        self.mode, self.align = mode, align

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), scale_factor=2, mode=self.mode, align_corners=self.align)


def test_upsample_nearest_and_bilinear(check: Check) -> None:
    # from (3, 2, 1): nearest keeps r, S = 2/2; centre of output 0 moves by 2·(0.25 − 0.5)
    rf = receptive_field(Up("nearest"), (1, 1, 16, 16))
    check(rf.output, (3, 3), (1, 1), (1.5, 1.5))  # type: ignore[arg-type]
    # bilinear (align_corners False) reads 2 pixels: r = 3 + 1·2 = 5
    rf = receptive_field(Up("bilinear", False), (1, 1, 16, 16))
    check(rf.output, (5, 5), (1, 1), (2.5, 2.5))  # type: ignore[arg-type]
    # bicubic reads 4: r = 3 + 3·2 = 9
    rf = receptive_field(Up("bicubic", False), (1, 1, 16, 16))
    assert rf.output is not None and rf.output.size == (9, 9)


def test_upsample_fractional_stride(check: Check) -> None:
    rf = receptive_field(nn.Upsample(scale_factor=2, mode="nearest"), (1, 1, 8, 8))
    check(rf.output, (1, 1), (0.5, 0.5), (0.25, 0.25))  # type: ignore[arg-type]
    rf = receptive_field(nn.Upsample(scale_factor=4, mode="bilinear"), (1, 1, 8, 8))
    assert rf.output is not None and rf.output.stride == (0.25, 0.25)


def test_1d_and_3d(check: Check) -> None:
    rf = receptive_field(nn.Sequential(nn.Conv1d(1, 2, 5, 2, 2), nn.Conv1d(2, 2, 3)), (1, 1, 40))
    assert rf.input_size == (40,)
    check(rf.output, (9,), (2,), (2,))  # type: ignore[arg-type]
    rf = receptive_field(nn.Conv3d(1, 1, (3, 5, 5), (1, 2, 2), (1, 2, 2)), (1, 1, 8, 16, 16))
    check(rf.output, (3, 5, 5), (1, 2, 2), (1, 2, 2))  # type: ignore[arg-type]
