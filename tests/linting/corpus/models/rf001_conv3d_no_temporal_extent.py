"""Action-recognition Conv3d net whose kernels are all 1 frame deep (an inflated 2D net).

Every Conv3d has temporal kernel 1 and no temporal stride, so each output sees one frame of
the 16-frame clip; the temporal mean then averages per-frame features and the model cannot
tell "opening a door" from "closing a door".
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 16, 32, 32)


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(),
    )


class FrameWiseVideoNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 32, 2),
            conv_bn(32, 32, 1),
            conv_bn(32, 64, 2),
            conv_bn(64, 64, 1),
            conv_bn(64, 128, 2),
            conv_bn(128, 128, 1),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3, 4)))
