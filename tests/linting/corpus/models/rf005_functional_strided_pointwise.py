"""A reduction step written with ``F.conv2d(x, w, stride=2)`` on a 1×1 weight in ``forward``.

The root module keeps the projection weight as a bare parameter; the strided 1×1 call reads
one pixel in four of the features it downsamples.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FunctionalReduceNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1), nn.ReLU())
        self.reduce_weight = nn.Parameter(torch.randn(64, 32, 1, 1, generator=g) * 0.2)
        self.body = nn.Sequential(
            nn.Conv2d(64, 64, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 1, 1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.conv2d(self.stem(x), self.reduce_weight, stride=2))  # the mistake
        return self.fc(self.body(x).mean((2, 3)))
