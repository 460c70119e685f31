"""(2+1)D depthwise video block with the pointwise conv between spatial and temporal parts lost.

A depthwise 1×3×3 spatial conv feeds a depthwise 3×1×1 temporal conv directly: together they
are one depthwise 3×3×3 filter per channel, and no channel mixing happens until the block's end.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 8, 32, 32)


class SplitDepthwiseBlock(nn.Module):
    def __init__(self, c: int, cout: int) -> None:
        super().__init__()
        self.spatial = nn.Conv3d(c, c, (1, 3, 3), (1, 2, 2), (0, 1, 1), groups=c, bias=False)
        self.bn_s = nn.BatchNorm3d(c)
        self.temporal = nn.Conv3d(c, c, (3, 1, 1), 1, (1, 0, 0), groups=c, bias=False)
        self.bn_t = nn.BatchNorm3d(c)
        self.pw = nn.Conv3d(c, cout, 1, bias=False)
        self.bn_pw = nn.BatchNorm3d(cout)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn_s(self.spatial(x)))
        x = self.act(self.bn_t(self.temporal(x)))  # depthwise straight after depthwise
        return self.act(self.bn_pw(self.pw(x)))


class SplitDepthwiseVideoNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, 64, 3, (1, 2, 2), 1, bias=False), nn.BatchNorm3d(64), nn.ReLU()
        )
        self.blocks = nn.Sequential(
            SplitDepthwiseBlock(64, 128),
            SplitDepthwiseBlock(128, 128),
            SplitDepthwiseBlock(128, 128),
            SplitDepthwiseBlock(128, 128),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean((2, 3, 4)))
