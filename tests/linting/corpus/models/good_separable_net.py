"""Control: MobileNetV1-style depthwise-separable stack at 64-256 channels.

Each depthwise 3×3 conv (≥ 64 channels) is followed by BN, ReLU and a pointwise 1×1 conv
that mixes the channels before the next spatial op.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class SeparableNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.blocks = nn.Sequential(
            separable(64, 128),
            separable(128, 128, 2),
            separable(128, 256),
            separable(256, 256, 2),
            separable(256, 256),
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))
