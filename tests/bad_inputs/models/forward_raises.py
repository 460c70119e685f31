"""forward raises inside a nested layer: the message must name that layer."""

import torch
from torch import nn


class Exploding(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("kaboom in the head")


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.head = nn.Sequential(nn.ReLU(), Exploding())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stem(x))


INPUT_SHAPE = (1, 3, 16, 16)
