"""example_inputs() returns a dict whose key is not an argument name."""

import torch
from torch import nn


def example_inputs() -> dict[object, torch.Tensor]:
    return {1: torch.zeros(1, 3, 8, 8)}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
