"""A width multiplier of 0.35 applied without rounding to a multiple of 8 (GPU fp16 target).

``int(64 * 0.35) = 22``, ``int(128 * 0.35) = 44``, ``int(256 * 0.35) = 89``: none of these
widths lets cuDNN use fp16 tensor cores without padding every channel tile.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
WIDTH = 0.35


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class UnroundedWidthNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        c1, c2, c3 = (int(c * WIDTH) for c in (64, 128, 256))  # 22, 44, 89: the mistake
        self.features = nn.Sequential(
            conv_bn(3, c1, 2),
            conv_bn(c1, c2, 2),
            conv_bn(c2, c3, 2),
            conv_bn(c3, c3),
            conv_bn(c3, c3),
        )
        self.fc = nn.Linear(c3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3)))
