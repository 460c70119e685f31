"""forward raises a BaseException subclass that is not an Exception."""

import torch
from torch import nn


class Abort(BaseException):
    pass


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise Abort("stop the world")


INPUT_SHAPE = (1, 3, 16, 16)
