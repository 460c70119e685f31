"""Merges: hulls of aligned branches, misalignments (RF004's data), global gates."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.analysis.rf import receptive_field

Check = Callable[..., None]  # the conftest fixture


class TwoBranch(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module, cat: bool = False) -> None:
        super().__init__()
        self.a, self.b, self.cat = a, b, cat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cat:
            return torch.cat([self.a(x), self.b(x)], 1)
        return self.a(x) + self.b(x)


def test_residual_add_aligned(check: Check) -> None:
    rf = receptive_field(TwoBranch(nn.Conv2d(2, 2, 3, padding=1), nn.Identity()), (1, 2, 16, 16))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1), min_size=(1, 1))
    assert rf.misalignments == ()
    # strided: 3x3/2 p1 and 1x1/2 have the same centres
    rf = receptive_field(TwoBranch(nn.Conv2d(2, 2, 3, 2, 1), nn.Conv2d(2, 2, 1, 2)), (1, 2, 16, 16))
    assert rf.misalignments == ()
    check(rf.output, (3, 3), (2, 2), (1, 1), min_size=(1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("cat", [False, True])
def test_merge_misaligned_offset(cat: bool, check: Check) -> None:
    # 3x3/2 p1: pixel 0 sees [−1, 1] (centre 0); 2x2/2 avg pool sees [0, 1] (centre 0.5)
    m = TwoBranch(nn.Conv2d(2, 2, 3, 2, 1), nn.AvgPool2d(2), cat=cat)
    rf = receptive_field(m, (1, 2, 16, 16))
    assert rf.output is not None
    check(rf.output, (3, 3), (2, 2), (1, 1), min_size=(2, 2))  # hull of [−1,1] and [0,1]
    mis = rf.misalignments
    assert {x.axis for x in mis} == {0, 1}
    assert all(x.kind == "offset" and x.offset_px == pytest.approx(0.5) for x in mis)
    assert mis[0].offsets == pytest.approx((0.0, 0.5))
    assert mis[0].strides == (2, 2)


def test_merge_hull_of_misaligned_branches(check: Check) -> None:
    # a: 3x3 p0 → pixel 0 sees [0, 2] (centre 1). b: shift the input by one pixel with an
    # explicit pad (1 before, −1 after: same size), then 3x3 p0 → pixel 0 sees [−1, 1].
    # The hull [−1, 2] is 4 pixels wide; the centres differ by 1 pixel.
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3)
            self.b = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(F.pad(x, (1, -1, 1, -1)))

    rf = receptive_field(M(), (1, 1, 12, 10))
    assert rf.output is not None
    check(rf.output, (4, 4), (1, 1), (1, 1), min_size=(3, 3))
    assert [m.offset_px for m in rf.misalignments] == [1.0, 1.0]


def test_merge_stride_mismatch() -> None:
    # 16 → 8 both ways: 3x3/2 p1 (S 2) and a 9x9/1 conv (S 1)
    rf = receptive_field(TwoBranch(nn.Conv2d(1, 1, 3, 2, 1), nn.Conv2d(1, 1, 9)), (1, 1, 16, 16))
    assert {x.kind for x in rf.misalignments} == {"stride"}
    assert rf.output is not None and rf.output.size == (9, 9)  # the larger branch


class ResNetDStem(nn.Module):
    """Stem to stride 4 (torchvision-like: 7x7/2 p3 + max pool 3/2 p1, centre 0), then a
    ResNet-D downsampling block: main 1x1 → 3x3/2 p1 → 1x1; shortcut 2x2/2 avg pool → 1x1."""

    def __init__(self, d: bool = True) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
        self.main = nn.Sequential(nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 16, 1))
        if d:
            self.short = nn.Sequential(
                nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), nn.Conv2d(8, 16, 1)
            )
        else:  # torchvision ResNet (v1.5): strided 1x1
            self.short = nn.Sequential(nn.Conv2d(8, 16, 1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return torch.relu(self.main(x) + self.short(x))


def test_resnet_d_shortcut_misaligned_by_two_pixels() -> None:
    # Block input: S = 4, pixel centres at 4i. Main 3x3/2 p1: output j centred on input
    # pixel 2j → 8j. Avg pool 2x2/2: centred between 2j and 2j + 1 → 8j + 0.5·4 = 8j + 2.
    rf = receptive_field(ResNetDStem(), (1, 3, 64, 64))
    mis = rf.misalignments
    assert len(mis) == 2 and {m.axis for m in mis} == {0, 1}
    for m in mis:
        assert m.kind == "offset"
        assert m.module == ""
        assert m.offset_px == pytest.approx(2.0)
        assert m.strides == (8, 8)
    # torchvision's strided 1x1 shortcut is aligned (and skips 3/4 of its input: RF005)
    assert receptive_field(ResNetDStem(d=False), (1, 3, 64, 64)).misalignments == ()


def test_squeeze_excitation_is_global_and_keeps_growing() -> None:
    import torchvision

    rf = receptive_field(torchvision.models.mobilenet_v3_small(), (1, 3, 224, 224))
    first_se = rf.per_layer["features.1.block.1"]
    assert first_se.is_global
    assert rf.per_layer["features.12"].size[0] > first_se.size[0]
