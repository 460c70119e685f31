"""A small ResNet-18-style classifier (He et al., 2016), torchvision-style layout.

What it illustrates
-------------------
The canonical residual CNN: a 7×7/2 stem conv + BN + ReLU + 3×3/2 max-pool, four stages of
two ``BasicBlock``s each (widths 32, 64, 128, 256), identity shortcuts inside a stage and a
1×1 stride-2 conv + BN *projection* shortcut where a stage halves the resolution, then global
average pooling and a linear classifier.

What convscope should show on it
--------------------------------
* Exact per-layer parameter / MAC counts for a model with residual ``add`` merges and
  functional ops (the ``out + identity`` add is attributed to the block that ran it).
* Receptive-field tracking through a multi-path graph: the main path and the projection
  shortcut of a downsampling block see different RFs; convscope keeps the largest and the
  smallest, and checks that both branches are aligned (same effective stride and centre
  offset) at each ``add`` — they are, so RF004 misaligned-merge stays quiet.
* The 1×1 stride-2 projection shortcuts read only a quarter of their input pixels, but the
  3×3 stride-2 conv of the main branch reads the rest (ResNet-B), so RF005
  stride-skips-input stays quiet: nothing computed is thrown away.
* Every dense 3×3 conv is a separable candidate by MACs (DW003, info).

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): DW003 ×13.
* on ``--target edge-int8``: DW003 ×13.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 224, 224)

WIDTHS: tuple[int, int, int, int] = (32, 64, 128, 256)
BLOCKS_PER_STAGE: int = 2
NUM_CLASSES: int = 10


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 conv + BN layers with a residual connection (ResNet-18/34 block)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(out_ch, out_ch)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            # torchvision-style projection shortcut: 1×1 conv with the block's stride + BN.
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_ch),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem, four stages of ``BasicBlock``s, global average pool, linear head."""

    def __init__(
        self,
        widths: tuple[int, ...] = WIDTHS,
        blocks_per_stage: int = BLOCKS_PER_STAGE,
        num_classes: int = NUM_CLASSES,
    ) -> None:
        super().__init__()
        stem_ch = widths[0]
        self.conv1 = nn.Conv2d(3, stem_ch, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_ch)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        stages: list[nn.Module] = []
        in_ch = stem_ch
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks: list[nn.Module] = [BasicBlock(in_ch, width, stride)]
            blocks += [BasicBlock(width, width) for _ in range(blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def build_model() -> nn.Module:
    """ResNet with widths 32/64/128/256, two BasicBlocks per stage, 10 classes."""
    return ResNet()
