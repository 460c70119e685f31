"""Residual "local smoothing" step written as ``x + F.conv2d(x, w, groups=C)`` in ``forward``.

The root module adds a depthwise-filtered copy of the features back to them with no
pointwise conv: the merge receives an unmixed depthwise output.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FunctionalDepthwiseResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 64, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        )
        self.smooth_weight = nn.Parameter(torch.randn(64, 1, 3, 3, generator=g) * 0.3)
        self.body = nn.Sequential(
            nn.Conv2d(64, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + F.conv2d(x, self.smooth_weight, padding=1, groups=64)  # the mistake
        return self.fc(self.body(x).mean((2, 3)))
