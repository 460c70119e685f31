"""C3D-style video net: ``nn.Conv3d`` with its default bias, each followed by BatchNorm3d.

The BatchNorm3d subtracts each channel's mean over (T, H, W), which cancels the conv bias.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 8, 32, 32)


def conv_bn(cin: int, cout: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride, 1), nn.BatchNorm3d(cout), nn.ReLU())


class BiasedC3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 32, (1, 2, 2)),
            conv_bn(32, 64, (2, 2, 2)),
            conv_bn(64, 128, (2, 2, 2)),
            conv_bn(128, 128, (1, 1, 1)),
            conv_bn(128, 128, (1, 1, 1)),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3, 4)))
