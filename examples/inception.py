"""A small Inception-style classifier (Szegedy et al., GoogLeNet, 2015) for 96×96 inputs.

What it illustrates
-------------------
Multi-branch blocks whose outputs are concatenated along channels. A stem (3×3/2 conv,
3×3 conv, 3×3/2 max-pool) is followed by two Inception blocks separated by a 3×3/2 max-pool.
Each block has four parallel branches:

1. a 1×1 conv;
2. a 1×1 reduction → 3×3 conv;
3. a 1×1 reduction → 5×5 conv (first block) or → two stacked 3×3 convs (second block, the
   Inception-v2 factorisation with the same receptive field);
4. a 3×3 stride-1 max-pool → 1×1 projection.

Global average pooling and a linear layer form the head.

What convscope should show on it
--------------------------------
* Receptive fields on a ``cat`` merge whose branches have different RFs (1×1 branch: no
  growth; 5×5 branch: the most growth); convscope keeps the largest and tracks the smallest.
  All branches share the same effective stride and centre offset, so RF004
  misaligned-merge stays quiet.
* Per-branch cost: the 1×1 reductions make the 3×3/5×5 branches cheap (DW003
  separable-candidate may still point at the dense 3×3/5×5 convs).
* Max-pool treated as a spatial op for the receptive field but as "other ops" for MACs.

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): DW003 ×4, PF002 ×1, RF001 ×1.
* on ``--target edge-int8``: DW003 ×4, HW001 ×3, PF002 ×1, RF001 ×1.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 96, 96)

NUM_CLASSES: int = 10


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) + BatchNorm + ReLU with "same"-style padding for odd kernels."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(
                in_ch,
                out_ch,
                kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                bias=False,
            ),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated along the channel axis."""

    def __init__(
        self,
        in_ch: int,
        ch1x1: int,
        ch3x3_reduce: int,
        ch3x3: int,
        ch5x5_reduce: int,
        ch5x5: int,
        pool_proj: int,
        factorize_5x5: bool = False,
    ) -> None:
        super().__init__()
        self.branch1 = ConvBNReLU(in_ch, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            ConvBNReLU(in_ch, ch3x3_reduce, kernel_size=1),
            ConvBNReLU(ch3x3_reduce, ch3x3, kernel_size=3),
        )
        if factorize_5x5:
            # Two stacked 3×3 convs: same 5×5 receptive field, fewer weights.
            self.branch3 = nn.Sequential(
                ConvBNReLU(in_ch, ch5x5_reduce, kernel_size=1),
                ConvBNReLU(ch5x5_reduce, ch5x5, kernel_size=3),
                ConvBNReLU(ch5x5, ch5x5, kernel_size=3),
            )
        else:
            self.branch3 = nn.Sequential(
                ConvBNReLU(in_ch, ch5x5_reduce, kernel_size=1),
                ConvBNReLU(ch5x5_reduce, ch5x5, kernel_size=5),
            )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            ConvBNReLU(in_ch, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)


class InceptionNet(nn.Module):
    """Stem, two Inception blocks, global average pool, linear head."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            ConvBNReLU(3, 32, kernel_size=3, stride=2),  # 96 → 48
            ConvBNReLU(32, 64, kernel_size=3),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 48 → 24
        )
        self.block1 = InceptionBlock(64, 32, 32, 48, 16, 16, 16)  # → 112 channels
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # 24 → 12
        self.block2 = InceptionBlock(
            self.block1.out_channels, 64, 64, 96, 16, 32, 32, factorize_5x5=True
        )  # → 224 channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.block2.out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(self.stem(x))
        x = self.block2(self.pool(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def build_model() -> nn.Module:
    """Inception-style net with a 5×5 block and a factorised (two 3×3) block, 10 classes."""
    return InceptionNet()
