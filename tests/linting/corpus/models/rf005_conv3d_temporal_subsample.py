"""Video net that halves the frame rate with a 1×1×1 Conv3d of temporal stride 2.

The projection ``Conv3d(64, 128, 1, stride=(2, 1, 1))`` drops every second frame's features
after two 3×3×3 layers computed them, with no temporal window in parallel.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 16, 32, 32)


def conv_bn(cin: int, cout: int, stride: tuple[int, int, int] = (1, 1, 1)) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.ReLU()
    )


class FrameDroppingNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, (1, 2, 2)), conv_bn(32, 64, (1, 2, 2)))
        self.temporal_down = nn.Conv3d(64, 128, 1, stride=(2, 1, 1), bias=False)  # the mistake
        self.body = nn.Sequential(
            conv_bn(128, 128, (2, 2, 2)), conv_bn(128, 128), conv_bn(128, 128, (2, 2, 2))
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(self.temporal_down(self.stem(x)))
        return self.fc(x.mean((2, 3, 4)))
