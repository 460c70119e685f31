"""DenseNet-style transition written as a single strided 1×1 conv (no pooling, no branch).

``Conv2d(128, 64, 1, stride=2)`` reads one pixel in four: three quarters of the dense
block's output, computed at full cost, is thrown away, and nothing in parallel reads it.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class StridedTransitionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, 64, 3, 2)
        self.block1 = nn.Sequential(conv_bn(64, 128), conv_bn(128, 128))
        self.transition = nn.Conv2d(128, 64, 1, stride=2, bias=False)  # the mistake
        self.block2 = nn.Sequential(
            conv_bn(64, 128), conv_bn(128, 128, 3, 2), conv_bn(128, 128), conv_bn(128, 128)
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.transition(self.block1(self.stem(x)))
        return self.fc(self.block2(x).mean((2, 3)))
