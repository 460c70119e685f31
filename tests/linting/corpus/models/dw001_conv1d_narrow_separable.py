"""Keyword-spotting net of depthwise-separable Conv1d blocks over 16 channels.

The separable blocks were copied from a 64-channel model and the width cut to 16: each
depthwise 9-tap filter works on one of 16 channels fed by a 16→16 pointwise conv.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 40, 101)


def separable(c: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c, c, 9, stride, 4, groups=c, bias=False),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.Conv1d(c, c, 1, bias=False),
        nn.BatchNorm1d(c),
        nn.ReLU(),
    )


class NarrowSeparableKws(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(40, 16, 5, 1, 2, bias=False), nn.BatchNorm1d(16), nn.ReLU()
        )
        self.blocks = nn.Sequential(
            separable(16, 2), separable(16, 2), separable(16, 2), separable(16, 1)
        )
        self.fc = nn.Linear(16, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean(-1))
