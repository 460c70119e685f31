"""Depthwise conv where 40 of 96 channels (42%) have filters 100× smaller than the rest.

The small channels carry low-amplitude features that the next 1×1 conv amplifies, so they
matter, but one per-tensor INT8 scale set by the 56 large channels leaves them about one
quantization step: ~40% of their weights round to zero and the rest to ±1 step. Weights are
set in ``__init__`` from a fixed generator.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class ManyDeadChannelsNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
        )
        self.expand = nn.Sequential(nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96), nn.ReLU())
        self.dw = nn.Conv2d(96, 96, 3, 1, 1, groups=96, bias=False)
        self.dw_bn = nn.BatchNorm2d(96)
        self.project = nn.Sequential(nn.Conv2d(96, 32, 1, bias=False), nn.BatchNorm2d(32))
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
        )
        self.fc = nn.Linear(128, 10)
        g = torch.Generator().manual_seed(2)
        with torch.no_grad():
            for m in self.modules():  # seeded uniform init, no global RNG
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    bound = m.weight[0].numel() ** -0.5
                    m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
            small = torch.randperm(96, generator=g)[:40]
            self.dw.weight[small] *= 0.01  # the damage: 42% of the channels
            self.project[0].weight[:, small] *= 100.0  # ... which the projection amplifies

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.dw_bn(self.dw(self.expand(x))).relu()
        x = x + self.project(y)
        return self.fc(self.body(x).mean((2, 3)))
