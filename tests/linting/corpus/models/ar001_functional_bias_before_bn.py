"""Stem written as ``F.conv2d(x, w, b)`` followed by an ``nn.BatchNorm2d``.

The stem keeps its own weight and bias parameters and calls ``F.conv2d`` with both; the
BatchNorm after it cancels the bias, as with a module conv.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FunctionalStem(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(torch.randn(32, 3, 3, 3, generator=g) * 0.2)
        self.bias = nn.Parameter(torch.zeros(32))  # cancelled by the BatchNorm
        self.bn = nn.BatchNorm2d(32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(F.conv2d(x, self.weight, self.bias, stride=2, padding=1)))


class FunctionalStemNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = FunctionalStem()
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 3, 2, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(self.stem(x)).mean((2, 3)))
