"""ShuffleNet-style units running their depthwise conv at the 24-channel bottleneck width.

Each unit reduces 96 → 24 with a 1×1 conv and then filters those 24 channels depthwise:
the depthwise conv is both narrow and fed by a narrowing (not expanding) 1×1 conv.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class BottleneckUnit(nn.Module):
    def __init__(self, c: int, mid: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(
            nn.Conv2d(c, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU()
        )
        self.dw = nn.Sequential(
            nn.Conv2d(mid, mid, 3, 1, 1, groups=mid, bias=False), nn.BatchNorm2d(mid)
        )
        self.expand = nn.Sequential(nn.Conv2d(mid, c, 1, bias=False), nn.BatchNorm2d(c))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.expand(self.dw(self.reduce(x))))


class NarrowShuffleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 96, 3, 2, 1, bias=False),
            nn.BatchNorm2d(96),
            nn.ReLU(),
            nn.Conv2d(96, 96, 3, 2, 1, bias=False),
            nn.BatchNorm2d(96),
            nn.ReLU(),
        )
        self.units = nn.Sequential(*[BottleneckUnit(96, 24) for _ in range(3)])
        self.down = nn.Sequential(
            nn.Conv2d(96, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.down(self.units(self.stem(x))).mean((2, 3)))
