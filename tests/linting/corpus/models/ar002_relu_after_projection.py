"""MobileNetV2 blocks with a ReLU6 left after the narrow projection (copy of the conv_bn helper).

The 1×1 projection narrows 192 → 32 and then goes through BN + ReLU6, zeroing part of the
low-dimensional bottleneck that MobileNetV2 keeps linear on purpose.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn_relu(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    def __init__(self, c: int, t: int = 6) -> None:
        super().__init__()
        self.block = nn.Sequential(
            conv_bn_relu(c, t * c, 1),
            conv_bn_relu(t * c, t * c, 3, groups=t * c),
            conv_bn_relu(t * c, c, 1),  # the mistake: the projection has a ReLU6
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ReluProjectionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 32, 3, 2)
        self.blocks = nn.Sequential(InvertedResidual(32), InvertedResidual(32))
        self.tail = nn.Sequential(
            conv_bn_relu(32, 64, 3, 2), conv_bn_relu(64, 128, 3, 2), conv_bn_relu(128, 128, 3)
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.tail(self.blocks(self.stem(x))).mean((2, 3)))
