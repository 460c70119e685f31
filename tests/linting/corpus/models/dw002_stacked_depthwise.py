"""Separable block where the pointwise conv between two depthwise convs was deleted.

``dw_a`` → BN → ReLU → ``dw_b``: two depthwise 3×3 convs in a row are one 5×5 depthwise
filter per channel; the channels only meet at the block's final 1×1 conv.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class DoubleDepthwiseBlock(nn.Module):
    def __init__(self, c: int, cout: int, stride: int) -> None:
        super().__init__()
        self.dw_a = nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)
        self.bn_a = nn.BatchNorm2d(c)
        self.dw_b = nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False)  # no 1×1 before it
        self.bn_b = nn.BatchNorm2d(c)
        self.pw = nn.Conv2d(c, cout, 1, bias=False)
        self.bn_pw = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn_a(self.dw_a(x)))
        x = self.act(self.bn_b(self.dw_b(x)))
        return self.act(self.bn_pw(self.pw(x)))


class DoubleDepthwiseNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.blocks = nn.Sequential(
            DoubleDepthwiseBlock(64, 128, 2),
            DoubleDepthwiseBlock(128, 128, 2),
            DoubleDepthwiseBlock(128, 256, 1),
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))
