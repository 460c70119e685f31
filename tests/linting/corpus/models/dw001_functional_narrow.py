"""A narrow depthwise conv written as ``F.conv2d(..., groups=16)`` in the root ``forward``.

The model holds the 16-channel depthwise filter as a bare parameter; the depthwise step runs
over 16 channels right after the 3→16 stem, with no expanding 1×1 conv in front.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FunctionalNarrowNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        )
        self.dw_weight = nn.Parameter(torch.randn(16, 1, 3, 3, generator=g) * 0.3)
        self.pw = nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
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
        x = F.relu(F.conv2d(x, self.dw_weight, padding=1, groups=16))  # the mistake
        return self.fc(self.body(self.pw(x)).mean((2, 3)))
