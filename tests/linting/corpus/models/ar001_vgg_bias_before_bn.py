"""VGG-BN stages built with ``nn.Conv2d``'s default ``bias=True`` in front of BatchNorm.

Every conv's bias is cancelled by the BatchNorm that subtracts the channel mean right after
it: dead parameters, an extra add per output element, and extra tensors to export.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1),  # the mistake: bias=True by default
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class BiasedVggBn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 32),
            conv_bn(32, 64, 2),
            conv_bn(64, 128, 2),
            conv_bn(128, 128, 2),
            conv_bn(128, 128),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3)))
