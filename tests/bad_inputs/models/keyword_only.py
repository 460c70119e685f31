"""A model whose forward takes a keyword-only mask that no input gives."""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 16, 16)


class Masked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, *, mask: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * mask
