"""Reparameterizable blocks written the way MobileOne and FastViT write them.

Each block sums its branches into an accumulator (``out = 0 + scale(x)``, then
``out += conv_k(x)``, then ``out += identity(x)``), and the RepMixer-style token mixer
subtracts a conv-free block (``0 + bn(x)``) from a conv block. At deployment every block
is reparameterized into one conv, so the identity BatchNorms fold.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 16, 16)


def conv_bn(c: int, k: int, groups: int) -> nn.Sequential:
    conv = nn.Conv2d(c, c, k, padding=k // 2, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c))


class RepBlock(nn.Module):
    def __init__(self, c: int, groups: int, branches: int = 2, convs: bool = True) -> None:
        super().__init__()
        self.identity = nn.BatchNorm2d(c)
        self.scale = conv_bn(c, 1, groups) if convs else None
        self.kxk = nn.ModuleList(conv_bn(c, 3, groups) for _ in range(branches if convs else 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor | int = 0
        if self.scale is not None:
            out = out + self.scale(x)
        for branch in self.kxk:
            out += branch(x)
        out += self.identity(x)
        assert isinstance(out, torch.Tensor)
        return out


class Mixer(nn.Module):
    """``x + (mixer(x) − norm(x))``: norm is a block with the identity BatchNorm only."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.mixer = RepBlock(c, groups=c, branches=1)
        self.norm = RepBlock(c, groups=c, convs=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.mixer(x) - self.norm(x))


class RepNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),  # the stem has no identity
            nn.BatchNorm2d(32),
            nn.ReLU(),
            RepBlock(32, groups=32),
            nn.ReLU(),
            RepBlock(32, groups=1),
            nn.ReLU(),
            Mixer(32),
            nn.Conv2d(32, 64, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        )
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x).mean((2, 3)))
