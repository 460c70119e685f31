"""EfficientNet-style blocks with SiLU everywhere and ReLU6 after the depthwise conv, for INT8.

The model targets an edge NPU (``edge-int8``): SiLU cannot be fused into the conv and needs a
lookup table or a float fallback, and ReLU6 after depthwise + BN is the pattern behind
MobileNetV1's 8-bit collapse.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class MBConv(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.expand = nn.Sequential(
            nn.Conv2d(c, 4 * c, 1, bias=False), nn.BatchNorm2d(4 * c), nn.SiLU()
        )
        self.dw = nn.Sequential(
            nn.Conv2d(4 * c, 4 * c, 3, 1, 1, groups=4 * c, bias=False),
            nn.BatchNorm2d(4 * c),
            nn.ReLU6(),
        )
        self.project = nn.Sequential(nn.Conv2d(4 * c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.dw(self.expand(x)))


class SiluEdgeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU()
        )
        self.blocks = nn.Sequential(MBConv(32), MBConv(32))
        self.down = nn.Sequential(
            nn.Conv2d(32, 64, 3, 2, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.SiLU(),
            nn.Conv2d(64, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.SiLU(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.SiLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.down(self.blocks(self.stem(x))).mean((2, 3)))
