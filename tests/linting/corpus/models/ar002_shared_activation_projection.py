"""Inverted residuals whose projection goes through the activation module every conv shares.

The network holds one ``nn.ReLU6`` instance and calls it after every conv — the expansion,
the depthwise conv and, by mistake, the 96→16 projection too. Sharing the module does not
make the projection linear: the bottleneck is still clipped before the residual add.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class Block(nn.Module):
    def __init__(self, c: int, act: nn.Module, t: int = 6) -> None:
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, t * c, 1, bias=False), nn.BatchNorm2d(t * c))
        self.dw = nn.Sequential(
            nn.Conv2d(t * c, t * c, 3, 1, 1, groups=t * c, bias=False), nn.BatchNorm2d(t * c)
        )
        self.project = nn.Sequential(nn.Conv2d(t * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.dw(self.act(self.expand(x))))
        return x + self.act(self.project(y))  # the mistake: the projection is activated


class SharedActivationNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU6()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.blocks = nn.Sequential(Block(16, self.act), Block(16, self.act))
        self.tail = nn.Sequential(
            nn.Conv2d(16, 64, 3, 2, 1), nn.ReLU(), nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU()
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.tail(self.blocks(self.act(self.stem(x)))).mean((2, 3)))
