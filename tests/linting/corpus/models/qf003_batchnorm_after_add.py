"""Residual blocks that normalise after the addition: ReLU(BN(x + conv(x))).

The BatchNorm reads the sum of the shortcut and the branch, not a conv output, so it
cannot be folded into either; every block keeps a standalone BatchNorm at inference.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class PostAddNormBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn_out = nn.BatchNorm2d(c)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.bn1(self.conv1(x))))
        return self.act(self.bn_out(x + y))  # the mistake: BN after the add


class PostAddNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.block1 = PostAddNormBlock(64)
        self.down = nn.Sequential(
            nn.Conv2d(64, 128, 3, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU()
        )
        self.block2 = PostAddNormBlock(128)
        self.block3 = PostAddNormBlock(128)
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.down(self.block1(self.stem(x)))))
        return self.fc(x.mean((2, 3)))
