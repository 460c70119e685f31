"""Depthwise BatchNorm after ReLU6 clipping where 56 of 96 channels are nearly constant.

Most depthwise channels saturated during training, so their running variance is ~1e-6 and
their fold factor ~300×; the 40 healthy channels end up 300× below the per-tensor range and
all their folded weights round to zero in INT8 (MobileNetV1's 8-bit collapse). Statistics are
set in ``__init__`` from a fixed generator.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class MostlyConstantDepthwiseNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()
        )
        self.expand = nn.Sequential(
            nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96), nn.ReLU6()
        )
        self.dw = nn.Conv2d(96, 96, 3, 1, 1, groups=96, bias=False)
        self.dw_bn = nn.BatchNorm2d(96)
        self.project = nn.Sequential(nn.Conv2d(96, 32, 1, bias=False), nn.BatchNorm2d(32))
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 3, 2, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU6(),
            nn.Conv2d(64, 128, 3, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU6(),
            nn.Conv2d(128, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU6(),
        )
        self.fc = nn.Linear(128, 10)
        g = torch.Generator().manual_seed(4)
        with torch.no_grad():
            for m in self.modules():  # seeded init and ordinary statistics, no global RNG
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    bound = m.weight[0].numel() ** -0.5
                    m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
                elif isinstance(m, nn.BatchNorm2d):
                    c = m.num_features
                    m.weight.copy_(0.8 + 0.4 * torch.rand(c, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            constant = torch.randperm(96, generator=g)[:56]
            self.dw_bn.running_var[constant] = 1e-6 * (1 + torch.rand(56, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = torch.nn.functional.relu6(self.dw_bn(self.dw(self.expand(x))))
        x = x + self.project(y)
        return self.fc(self.body(x).mean((2, 3)))
