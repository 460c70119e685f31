"""A 1×1 stem whose convs are wrapped with a hand-written Swish.

The stem replaced its 3×3 convs by three 1×1 convs at full resolution, each followed by BN
and ``x * torch.sigmoid(x)``. Writing the activation out does not make the stem see a
neighbourhood: the first spatial conv comes only after three per-pixel colour transforms.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


class PointwiseSwish(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return x * torch.sigmoid(x)


class SwishPointwiseStemNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            PointwiseSwish(3, 16), PointwiseSwish(16, 32), PointwiseSwish(32, 32)
        )
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, 2, 1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(self.stem(x)).mean((2, 3)))
