"""ConvNeXt block with its pointwise MLP removed "to save FLOPs": x + LN(dwconv7×7(x)).

The residual stream only ever receives per-channel filtered copies of itself: the blocks
mix no channels at all, and the stage is a stack of independent per-channel filters.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


class DepthwiseOnlyBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.GroupNorm(1, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.dwconv(x))  # the pointwise MLP was removed


class MlpFreeConvNeXt(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 96, 4, stride=4)
        self.stage1 = nn.Sequential(*[DepthwiseOnlyBlock(96) for _ in range(3)])
        self.down = nn.Conv2d(96, 192, 2, stride=2)
        self.stage2 = nn.Sequential(*[DepthwiseOnlyBlock(192) for _ in range(3)])
        self.head = nn.Linear(192, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.head(x.mean((2, 3)))
