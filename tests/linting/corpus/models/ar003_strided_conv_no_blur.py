"""Classifier that downsamples with plain stride-2 3×3 convs and max-pools after the stem.

Each stage subsamples without a low-pass filter, so a one-pixel shift of the input changes
the features (AR003 is opt-in: the case selects it explicitly).
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class AliasingNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 2), conv_bn(32, 32))
        self.stage2 = nn.Sequential(conv_bn(32, 64, 2), conv_bn(64, 64))  # aliased stride
        self.pool = nn.MaxPool2d(2)  # aliased pool
        self.stage3 = nn.Sequential(conv_bn(64, 128), conv_bn(128, 128, 2), conv_bn(128, 128))
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stage2(self.stem(x)))
        return self.fc(self.stage3(x).mean((2, 3)))
