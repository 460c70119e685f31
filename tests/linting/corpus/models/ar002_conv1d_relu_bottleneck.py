"""1D inverted residuals for audio whose projection conv is followed by a ReLU.

The 1×1 Conv1d narrows 256 → 64 after the depthwise conv and the block then applies ReLU
before the residual add, so the linear bottleneck is not linear.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 64, 128)


class AudioInvertedResidual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.expand = nn.Sequential(
            nn.Conv1d(c, 4 * c, 1, bias=False), nn.BatchNorm1d(4 * c), nn.ReLU()
        )
        self.dw = nn.Sequential(
            nn.Conv1d(4 * c, 4 * c, 5, 1, 2, groups=4 * c, bias=False),
            nn.BatchNorm1d(4 * c),
            nn.ReLU(),
        )
        self.project = nn.Conv1d(4 * c, c, 1, bias=False)
        self.bn = nn.BatchNorm1d(c)
        self.act = nn.ReLU()  # the mistake

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.bn(self.project(self.dw(self.expand(x)))))


class ReluBottleneckAudioNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(AudioInvertedResidual(64), AudioInvertedResidual(64))
        self.down = nn.Sequential(
            *[
                nn.Sequential(nn.Conv1d(64, 64, 5, 2, 2, bias=False), nn.BatchNorm1d(64), nn.ReLU())
                for _ in range(5)
            ]
        )
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.down(self.blocks(x)).mean(-1))
