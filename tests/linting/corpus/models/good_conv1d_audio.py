"""Control: keyword spotter over 40-bin MFCC frames: 5-tap Conv1d stages with stride 2.

Temporal convs from the first layer, BatchNorm after bias-free convs, global average pooling
over a receptive field that covers the whole 101-frame clip.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 40, 101)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, 5, stride, 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU()
    )


class AudioCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(40, 64),
            conv_bn(64, 64, 2),
            conv_bn(64, 128),
            conv_bn(128, 128, 2),
            conv_bn(128, 128),
            conv_bn(128, 128, 2),
            conv_bn(128, 128),
            conv_bn(128, 128),
        )
        self.fc = nn.Linear(128, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(-1))
