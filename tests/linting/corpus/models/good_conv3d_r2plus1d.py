"""Control: R(2+1)D-style video net: dense 1×3×3 spatial then 3×1×1 temporal convs.

Both factors mix channels, strides are taken by 3-tap kernels, and the output's receptive
field covers all 8 frames and the 32×32 crop.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 8, 32, 32)


class R2Plus1d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.spatial = nn.Conv3d(cin, cout, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
        self.bn_s = nn.BatchNorm3d(cout)
        self.temporal = nn.Conv3d(cout, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False)
        self.bn_t = nn.BatchNorm3d(cout)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn_s(self.spatial(x)))
        return self.act(self.bn_t(self.temporal(x)))


class VideoNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            R2Plus1d(3, 32, 1),
            R2Plus1d(32, 64, 2),
            R2Plus1d(64, 128, 2),
            R2Plus1d(128, 128, 2),
            R2Plus1d(128, 128, 1),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(x).mean((2, 3, 4)))
