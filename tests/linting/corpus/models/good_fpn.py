"""Control: FPN over a four-stage backbone: 1×1 laterals, nearest ×2 top-down, 3×3 smoothing.

Every conv uses odd kernels with padding k // 2, so the lateral and upsampled maps share
their pixel centres; the model returns the three pyramid levels.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class Fpn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c2 = down(3, 32)
        self.c3 = down(32, 64)
        self.c4 = down(64, 128)
        self.c5 = down(128, 128)
        self.lat3 = nn.Conv2d(64, 64, 1)
        self.lat4 = nn.Conv2d(128, 64, 1)
        self.lat5 = nn.Conv2d(128, 64, 1)
        self.smooth3 = nn.Conv2d(64, 64, 3, padding=1)
        self.smooth4 = nn.Conv2d(64, 64, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3 = self.c3(self.c2(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.lat5(c5)
        p4 = self.lat4(c4) + F.interpolate(p5, scale_factor=2.0, mode="nearest")
        p3 = self.lat3(c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest")
        return self.smooth3(p3), self.smooth4(p4), p5
