"""Tiny mobile net whose first separable block runs its depthwise conv over 8 channels.

A width multiplier of 0.25 shrank the stem to 8 channels; the depthwise 3×3 after it has
72 weights in all, and the block has almost no capacity at the highest resolution.
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


class NarrowMobileNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        )
        self.block1 = separable(8, 64)  # the mistake: depthwise over 8 channels
        self.block2 = separable(64, 128, 2)
        self.block3 = separable(128, 128)
        self.block4 = separable(128, 256, 2)
        self.block5 = separable(256, 256)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(self.stem(x))))
        return self.fc(self.block5(self.block4(x)).mean((2, 3)))
