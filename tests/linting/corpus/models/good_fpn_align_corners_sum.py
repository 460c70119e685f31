"""Control: FPN segmentation head that brings every level to stride 4 by repeated ×2
bilinear upsampling with ``align_corners=True``, then sums the levels.

Each ×2 corner-aligned resize stretches its map slightly (from an 8×8 map at 128×128 the
stride becomes 32·7/15 instead of 16), so the summed levels have different effective
strides, yet none drifts more than half a pixel of the coarse map it came from — at
128×128 as at 160×160 or 256×256.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class SegmentationBlock(nn.Module):
    """3×3 conv + ×2 corner-aligned upsampling, ``ups`` times (smp-style)."""

    def __init__(self, cin: int, cout: int, ups: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            conv_bn(cin if i == 0 else cout, cout, 3) for i in range(max(ups, 1))
        )
        self.ups = ups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < self.ups:
                x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        return x


class AlignCornersFpn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c2 = nn.Sequential(conv_bn(3, 32, 3, 2), conv_bn(32, 32, 3, 2))
        self.c3 = conv_bn(32, 64, 3, 2)
        self.c4 = conv_bn(64, 64, 3, 2)
        self.c5 = conv_bn(64, 64, 3, 2)
        self.lat = nn.ModuleList([nn.Conv2d(32, 64, 1), nn.Conv2d(64, 64, 1), nn.Conv2d(64, 64, 1)])
        self.seg = nn.ModuleList(SegmentationBlock(64, 32, ups) for ups in (0, 1, 2, 3))
        self.head = nn.Conv2d(32, 5, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c2 = self.c2(x)
        c3 = self.c3(c2)
        c4 = self.c4(c3)
        p5 = self.c5(c4)
        p4 = self.lat[2](c4) + F.interpolate(p5, scale_factor=2.0, mode="nearest")
        p3 = self.lat[1](c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest")
        p2 = self.lat[0](c2) + F.interpolate(p3, scale_factor=2.0, mode="nearest")
        levels = [seg(p) for seg, p in zip(self.seg, (p2, p3, p4, p5), strict=True)]
        return self.head(sum(levels[1:], levels[0]))
