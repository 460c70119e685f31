"""A CNN that falls into "the 1×1 convolution trap" (the name of the write-up "Advanced
Deep Learning Interview Questions #19 — The 1x1 Convolution Trap").

What it illustrates
-------------------
To save parameters and FLOPs, the early 3×3 convolutions of an ordinary stem were swapped for
1×1 convolutions. The stem is a 1×1 conv (3 → 32) followed by a stack of four more 1×1 convs
(32 → 32), all at full 128×128 resolution. Only after those five layers does the first 3×3
conv appear.

What is wrong with it
---------------------
A 1×1 convolution mixes channels but sees no neighbourhood: each output pixel is a small
fully-connected layer applied to a single input pixel. Five 1×1 layers in a row therefore
still have a receptive field of exactly **1×1 pixel** — the network spends its
highest-resolution layers (about three quarters of all activations are produced there)
computing per-pixel colour transforms and cannot detect a single edge, corner or texture there. The
stacked 1×1 convs with ReLUs between them are no more spatially aware than one 1×1 conv; all
spatial reasoning is postponed to coarse feature maps where fine detail has already been
thrown away by the stride-2 convs.

The article's advice: reserve 1×1 convs for places where spatial resolution has already been
reduced, for bottlenecks, or for channel mixing *after* a spatial (3×3 or depthwise) conv.

What convscope should show on it
--------------------------------
* **RF002 early-pointwise** (warning): the run of five pointwise-only layers at 128×128 while
  the receptive field is still 1 pixel, and a whole ``stem`` block without any spatial op.
* The receptive-field column stays at 1 through ``stem`` and only starts to grow in
  ``stage1``.
* ``convscope rewrite examples/onebyone_trap.py --mode spatialize`` proposes the cheap fix:
  put a depthwise 3×3 in front of the early 1×1 convs (or restore a 3×3 stem conv).

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): DW003 ×6, RF001 ×1, RF002 ×1.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 128, 128)

STEM_WIDTH: int = 32
NUM_POINTWISE: int = 4
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


class OneByOneTrapNet(nn.Module):
    """A pointwise-only stem at full resolution, then ordinary 3×3 stages."""

    def __init__(
        self,
        stem_width: int = STEM_WIDTH,
        num_pointwise: int = NUM_POINTWISE,
        num_classes: int = NUM_CLASSES,
    ) -> None:
        super().__init__()
        # The trap: 1×1 "stem" + a stack of 1×1 convs at 128×128, receptive field 1 pixel.
        stem: list[nn.Module] = [ConvBNReLU(3, stem_width, kernel_size=1)]
        stem += [ConvBNReLU(stem_width, stem_width, kernel_size=1) for _ in range(num_pointwise)]
        self.stem = nn.Sequential(*stem)
        # Spatial convs arrive only now, after the resolution is given up step by step.
        self.stage1 = nn.Sequential(
            ConvBNReLU(stem_width, 64, kernel_size=3, stride=2),
            ConvBNReLU(64, 64, kernel_size=3),
        )
        self.stage2 = nn.Sequential(
            ConvBNReLU(64, 128, kernel_size=3, stride=2),
            ConvBNReLU(128, 128, kernel_size=3),
        )
        self.stage3 = nn.Sequential(
            ConvBNReLU(128, 256, kernel_size=3, stride=2),
            ConvBNReLU(256, 256, kernel_size=3),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stage3(self.stage2(self.stage1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def build_model() -> nn.Module:
    """The 1×1-trap network: five pointwise layers at full resolution before any 3×3."""
    return OneByOneTrapNet()
