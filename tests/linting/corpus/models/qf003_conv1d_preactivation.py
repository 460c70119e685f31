"""Pre-activation 1D ResNet for ECG signals: BN → ReLU → conv in every block.

Each BatchNorm reads the residual stream (an add, or the raw input for the first one),
never a conv output, so none of them folds; an INT8 deployment keeps them all as separate
requantized ops.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 12, 1024)


class PreActBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm1d(c)
        self.conv1 = nn.Conv1d(c, c, 7, padding=3, bias=False)
        self.bn2 = nn.BatchNorm1d(c)
        self.conv2 = nn.Conv1d(c, c, 7, padding=3, bias=False)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.act(self.bn1(x)))
        return x + self.conv2(self.act(self.bn2(y)))


class PreActEcgNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm1d(12)  # normalises the raw leads
        self.stem = nn.Conv1d(12, 64, 15, stride=4, padding=7, bias=False)
        self.blocks = nn.Sequential(*[PreActBlock(64) for _ in range(3)])
        self.down = nn.Sequential(
            *[
                nn.Sequential(nn.Conv1d(64, 64, 7, 2, 3, bias=False), nn.BatchNorm1d(64), nn.ReLU())
                for _ in range(6)
            ]
        )
        self.fc = nn.Linear(64, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(self.input_bn(x)))
        return self.fc(self.down(x).mean(-1))
