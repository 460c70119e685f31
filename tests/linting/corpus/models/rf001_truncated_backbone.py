"""Classifier whose backbone was cut after two stages to fit a latency budget, run at 128×128.

With only two stride-2 stages the final features see 19×19 pixels; the global average pool
then averages local texture detectors and no unit can relate the two ends of an object.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class TruncatedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(conv_bn(3, 32, 2), conv_bn(32, 32))
        self.stage2 = nn.Sequential(conv_bn(32, 64, 2), conv_bn(64, 64))
        # stage3 and stage4 were removed
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 100)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stage2(self.stage1(x))).flatten(1))
