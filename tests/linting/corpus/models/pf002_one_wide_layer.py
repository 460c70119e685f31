"""Lightweight net with one 3×3 conv at 256 channels on the full 32×32 map.

A "capacity boost" layer was added early, at full resolution: it holds most of the model's
MACs and activation memory while every other layer is small.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class OneWideLayerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, 32)
        self.boost = conv_bn(32, 256)  # the hotspot
        self.tail = nn.Sequential(
            conv_bn(256, 32, 2), conv_bn(32, 64, 2), conv_bn(64, 64, 2), conv_bn(64, 64)
        )
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.tail(self.boost(self.stem(x))).mean((2, 3)))
