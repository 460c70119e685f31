"""A module registered as its own child."""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.me = self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


INPUT_SHAPE = (1, 3, 16, 16)
