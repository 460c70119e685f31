"""Downsampling by strided slicing ``x[:, :, ::2, ::2]`` (a "free" space-to-depth half).

Keeping every second row and column drops three quarters of the activations the previous
conv just computed, with no low-pass filter; it is a stride-2 1×1 "conv" in disguise.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class SlicingDownsampleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(conv_bn(3, 32), conv_bn(32, 32))
        self.stage2 = nn.Sequential(conv_bn(32, 64), conv_bn(64, 64))
        self.stage3 = nn.Sequential(conv_bn(64, 128, 2), conv_bn(128, 128), conv_bn(128, 128, 2))
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage1(x)[:, :, ::2, ::2]  # the mistake
        x = self.stage2(x)[:, :, ::2, ::2]  # and again
        return self.fc(self.stage3(x).mean((2, 3)))
