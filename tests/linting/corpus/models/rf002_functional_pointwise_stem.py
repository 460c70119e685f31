"""The pointwise stem again, written with ``F.conv2d`` in the model's own ``forward``.

Three 1×1 weights held as parameters of the root module mix RGB per pixel at full
resolution before the first 3×3 conv; the weights live in the parent, not in a conv module.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FunctionalStemNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(32, 3, 1, 1, generator=g) * 0.5)
        self.w2 = nn.Parameter(torch.randn(32, 32, 1, 1, generator=g) * 0.2)
        self.w3 = nn.Parameter(torch.randn(32, 32, 1, 1, generator=g) * 0.2)
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 3, 2, 1),
            nn.ReLU(),
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
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.conv2d(x, self.w1))
        x = F.relu(F.conv2d(x, self.w2))
        x = F.relu(F.conv2d(x, self.w3))
        return self.head(self.body(x).mean((2, 3)))
