"""Mobile backbone with 24/40/80-channel stages (EfficientNet-B0 widths) on an INT8 NPU.

The edge target wants multiples of 32; 24, 40 and 80 leave a partly empty channel tile in
every conv of those stages.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class OddWidthEdgeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 32, 2),
            conv_bn(32, 24),
            conv_bn(24, 40, 2),
            conv_bn(40, 80, 2),
            conv_bn(80, 128),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3)))
