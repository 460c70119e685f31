"""Stem of two 1×1 convs on RGB before any spatial conv.

The 3×3 stem conv was "slimmed" into 1×1 convs: both run at the full 32×32 resolution and
see one pixel each, so the two most expensive layers only transform colours.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class PointwiseStemNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 1), conv_bn(32, 32, 1))  # the mistake
        self.body = nn.Sequential(
            conv_bn(32, 64, 3, 2),
            conv_bn(64, 64, 3),
            conv_bn(64, 128, 3, 2),
            conv_bn(128, 128, 3),
            conv_bn(128, 128, 3, 2),
            conv_bn(128, 128, 3),
        )
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)).mean((2, 3)))
