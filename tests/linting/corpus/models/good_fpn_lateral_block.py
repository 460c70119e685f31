"""Control: an FPN whose lateral 1×1 conv and top-down add live in one module per level.

Each ``FpnBlock`` adds a 1×1 lateral conv of an encoder feature (a small receptive field at
stride 4) to the upsampled top-down path, which already sees the whole image: the merge
brings the context, so the 1×1 lateral is where pointwise belongs. The pyramid levels are
then smoothed by 3×3 convs and summed.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class FpnBlock(nn.Module):
    def __init__(self, skip_channels: int, channels: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_channels, channels, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest") + self.skip_conv(skip)


class LateralFpn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c2 = nn.Sequential(stage(3, 32), nn.MaxPool2d(2))
        self.c3 = stage(32, 64)
        self.c4 = stage(64, 128)
        self.c5 = nn.Sequential(stage(128, 128), nn.Conv2d(128, 128, 3, 1, 1), nn.ReLU())
        self.p5 = nn.Conv2d(128, 64, 1)
        self.p4 = FpnBlock(128, 64)
        self.p3 = FpnBlock(64, 64)
        self.p2 = FpnBlock(32, 64)
        self.smooth = nn.ModuleList(nn.Conv2d(64, 32, 3, padding=1) for _ in range(4))
        self.head = nn.Conv2d(32, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c2 = self.c2(x)
        c3 = self.c3(c2)
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.p5(c5)
        p4 = self.p4(p5, c4)
        p3 = self.p3(p4, c3)
        p2 = self.p2(p3, c2)
        out = self.smooth[3](p2)
        for level, p in enumerate((p3, p4, p5)):
            out = out + F.interpolate(self.smooth[level](p), size=p2.shape[-2:], mode="nearest")
        return self.head(out)
