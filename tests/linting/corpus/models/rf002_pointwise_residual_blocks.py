"""Residual "bottleneck" blocks whose 3×3 conv was turned into a 1×1 conv.

Each block is 1×1 reduce → 1×1 (was 3×3) → 1×1 expand plus the identity: three blocks at
full 32×32 resolution right after a single 3×3 stem conv, so the receptive field stays at
3×3 pixels for nine layers.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class FlatBottleneck(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.reduce = conv_bn(c, c // 4, 1)
        self.middle = conv_bn(c // 4, c // 4, 1)  # the mistake: was a 3×3 conv
        self.expand = nn.Sequential(nn.Conv2d(c // 4, c, 1, bias=False), nn.BatchNorm2d(c))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.expand(self.middle(self.reduce(x))))


class FlatBottleneckNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, 64, 3)
        self.blocks = nn.Sequential(FlatBottleneck(64), FlatBottleneck(64), FlatBottleneck(64))
        self.body = nn.Sequential(
            conv_bn(64, 64, 3, 2),
            conv_bn(64, 128, 3, 2),
            conv_bn(128, 128, 3, 2),
            conv_bn(128, 128, 3),
        )
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.blocks(self.stem(x))).mean((2, 3)))
