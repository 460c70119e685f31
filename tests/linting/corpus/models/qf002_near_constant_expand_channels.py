"""Expansion BatchNorm with six channels whose running variance collapsed to 1e-6.

Those channels were almost constant on the data the statistics came from; folding divides
their weights by sqrt(var + eps) ≈ 3.3e-3, inflating them ~300× over the other 90 channels
of the 1×1 conv. Statistics are set in ``__init__`` from a fixed generator.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class CollapsedVarianceNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
        )
        self.expand = nn.Conv2d(32, 96, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(96)
        self.dw = nn.Sequential(
            nn.Conv2d(96, 96, 3, 1, 1, groups=96, bias=False), nn.BatchNorm2d(96), nn.ReLU()
        )
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
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for m in self.modules():  # seeded init and ordinary statistics, no global RNG
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    bound = m.weight[0].numel() ** -0.5
                    m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
                elif isinstance(m, nn.BatchNorm2d):
                    c = m.num_features
                    m.weight.copy_(0.8 + 0.4 * torch.rand(c, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            collapsed = torch.randperm(96, generator=g)[:6]
            self.expand_bn.running_var[collapsed] = 1e-6  # the damage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.dw(self.expand_bn(self.expand(x)).relu())
        x = x + self.project(y)
        return self.fc(self.body(x).mean((2, 3)))
