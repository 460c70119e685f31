"""forward calls sys.exit(0): the process must not end with success."""

import sys

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.exit(0)


INPUT_SHAPE = (1, 3, 16, 16)
