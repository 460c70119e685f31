"""forward raises an exception whose __str__ itself raises."""

import torch
from torch import nn


class Weird(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot describe myself")


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise Weird()


INPUT_SHAPE = (1, 3, 16, 16)
